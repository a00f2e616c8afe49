/*-------------------------------------------------------------------------
 *
 * fuzz_target.c
 *	  Fuzz target: the target grammar (head, heads, base, ids and prefixes,
 *	  label@head, rev@head, +N, -N, X+N, X-N, label@+N, label@-N, ranges
 *	  A:B) resolved against fixed, realistic graphs.
 *
 * The whole input, up to a NUL byte, is one target string, as a user would
 * pass it to migrate.resolve(), plan(), upgrade(), downgrade(), stamp() or
 * history().  It goes through every entry point of target.c and plan.c on
 * each graph below, with several applied sets; each successful answer is
 * checked (indexes in range, plans in dependency order, applied sets closed
 * under ancestry; see fuzz_common.c).
 *
 *-------------------------------------------------------------------------
 */
#include "fuzz_common.h"

#include <stdlib.h>
#include <string.h>

typedef struct FzCase
{
	const char *graph;
	const char *applied[4];		/* NULL-terminated */
} FzCase;

static const FzCase cases[] = {
	/* nothing registered */
	{"", {"", NULL}},
	/* Alembic's branch graph: a -> b -> (c1 -> d1, c2 -> d2), labelled */
	{"a; b:a; c1:b @c1branch; c2:b @c2branch; d1:c1; d2:c2",
	{"", "b", "d1 c2", "d1 d2"}},
	/* a merge, and a second root that depends on the first line */
	{"a; b:a; c:a; m:b,c; n:m; x @other; y:x +b; z:y +m",
	{"", "m", "n z", NULL}},
	/* the model registry shape: generated ids, labels, a merge, depends_on on a label */
	{"1a2b3c4d5e6f; 7a8b9c0d1e2f:1a2b3c4d5e6f @models; feature_sets:1a2b3c4d5e6f @features; "
		"fs_v2:feature_sets; 0c0ffee0merge:7a8b9c0d1e2f,fs_v2; training:0c0ffee0merge +features; "
		"predictions:training; side @side_branch; side_2:side +predictions",
	{"", "fs_v2 7a8b9c0d1e2f", "predictions", "side_2"}},
	/* ids that look like numbers and prefixes that collide */
	{"20240101; 20240102:20240101; 2147483648:20240102; 1a2b3c4d:2147483648; "
		"1a2b9999:1a2b3c4d @feature; abcd1234:1a2b9999 @abcdlabel",
	{"", "20240102", "abcd1234", NULL}},
};

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * LLVMFuzzerTestOneInput: one input, as libFuzzer (or driver.c) calls it;
 * everything it allocated is freed before it returns.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *target;

	/* a target is a line of text; longer inputs add nothing but time */
	if (size > 256)
		return 0;
	target = fz_cstring(data, size);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
	{
		MgGraph    *g = fz_build_graph(cases[c].graph, 64);
		MgError		err;

		memset(&err, 0, sizeof(err));
		if (!mg_graph_prepare(g, &err))
			fz_fail("fixed graph %zu does not prepare: %s", c, err.message);
		for (int a = 0; a < 4 && cases[c].applied[a] != NULL; a++)
		{
			fz_set_applied(g, cases[c].applied[a]);
			fz_exercise_target(g, target);
		}
		fz_reset();
	}
	free(target);
	return 0;
}
