/*-------------------------------------------------------------------------
 *
 * fuzz_graph.c
 *	  Fuzz target: the graph builder.  A graph is built from the input
 *	  (ids, parents, depends_on, labels, in any order, with dangling names,
 *	  cycles and duplicate labels), prepared, and when valid, queried:
 *	  heads, bases, current, topological order, branch membership, then
 *	  every target entry point on the targets the input names.
 *
 * Input (text; see the seed corpus):
 *
 *	   revision entries, one per line or ';'-separated (fuzz_common.h)
 *	   %%
 *	   ids to mark applied, with their ancestors (one line)
 *	   target
 *	   target ...
 *
 * Without a "%%" line nothing is applied and a few standard targets are
 * used.  The ids of the first revisions are tried as targets too.
 *
 *-------------------------------------------------------------------------
 */
#include "fuzz_common.h"

#include <stdlib.h>
#include <string.h>

#define MAX_REVS 200
#define MAX_TARGETS 12

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * LLVMFuzzerTestOneInput: one input, as libFuzzer (or driver.c) calls it;
 * everything it allocated is freed before it returns.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *input = fz_cstring(data, size);
	char	   *sep = strstr(input, "%%");
	const char *applied = "";
	const char *targets[MAX_TARGETS];
	int			ntargets = 0;
	MgGraph    *g;
	MgError		err;
	bool		valid;

	if (sep != NULL)
	{
		char	   *p;

		*sep = '\0';
		p = strchr(sep + 2, '\n');
		if (p != NULL)
		{
			char	   *nl;

			applied = ++p;
			nl = strchr(p, '\n');
			while (nl != NULL && ntargets < MAX_TARGETS)
			{
				*nl = '\0';
				p = nl + 1;
				nl = strchr(p, '\n');
				targets[ntargets++] = p;
			}
		}
	}
	if (ntargets == 0)
	{
		targets[ntargets++] = "heads";
		targets[ntargets++] = "head";
		targets[ntargets++] = "-1";
		targets[ntargets++] = "+1";
	}

	g = fz_build_graph(input, MAX_REVS);
	memset(&err, 0, sizeof(err));
	valid = mg_graph_prepare(g, &err);
	if (!valid)
	{
		fz_check_error(&err);
		/* a cycle is found by the registration check too */
		if (err.code == MG_ERR_CYCLE)
		{
			bool		found = false;

			for (int i = 0; i < g->n && !found; i++)
			{
				MgError		e2;

				memset(&e2, 0, sizeof(e2));
				found = mg_graph_would_cycle(g, i, &e2);
			}
			if (!found)
				fz_fail("prepare found a cycle that no revision lies on: %s", err.message);
		}
		else
			for (int i = 0; i < g->n; i++)
			{
				MgError		e2;

				memset(&e2, 0, sizeof(e2));
				if (mg_graph_would_cycle(g, i, &e2))
					fz_check_error(&e2);
			}
		/* the verdict is kept until the next change */
		memset(&err, 0, sizeof(err));
		if (mg_graph_prepare(g, &err))
			fz_fail("an invalid graph became valid without a change");
	}
	else
	{
		fz_set_applied(g, applied);
		fz_check_graph(g);
		for (int t = 0; t < ntargets; t++)
			fz_exercise_target(g, targets[t]);
		for (int i = 0; i < g->n && i < 3; i++)
			fz_exercise_target(g, g->revs[i].id);
	}
	free(input);
	fz_reset();
	return 0;
}
