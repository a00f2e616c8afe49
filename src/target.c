/*-------------------------------------------------------------------------
 *
 * target.c
 *	  The target grammar, resolved against a prepared graph.
 *
 * The rules are Alembic 1.8's (alembic/script/revision.py): symbolic names
 * (head, heads, base), exact ids and branch labels, unique prefixes of more
 * than three characters, a qualifier before "@" that limits a name to one
 * branch, and relative moves (+N, -N, X+N, X-N, label@+N, label@-N) that
 * walk the graph one parent or child at a time and stop with an error at
 * a branch point or merge.  Where pg_migrate deliberately differs (a
 * relative target must be the whole string; -N from several current heads
 * is an error rather than a warning), README.md says so.
 *
 * Pure C: no SPI, no catalog access, no ereport (see mg_core.h).
 *
 *-------------------------------------------------------------------------
 */
#include "target.h"

#include <stdio.h>
#include <limits.h>

/* A name split into ids and an optional branch qualifier. */
typedef struct MgRrn
{
	char	   *label;			/* qualifier before '@', NULL if none */
	const char *raw;			/* a single name still to look up, or NULL */
	MgIntList	ids;			/* already resolved revisions (head/heads) */
} MgRrn;

static bool revision_for_ident(MgGraph *g, const char *ident,
							   const char *check_branch, int *out,
							   MgError *err);
static bool get_current_head(MgGraph *g, const char *label, int *out,
							 MgError *err);

/*
 * multiple_heads: the error for "head" (or label@head) with several heads.
 */
static bool
multiple_heads(MgGraph *g, const MgIntList *heads, const char *arg,
			   MgError *err)
{
	char		detail[MG_MSG_LEN];

	snprintf(detail, sizeof(detail), "The heads are: %s.", mg_names(g, heads));
	return mg_fail(err, MG_ERR_AMBIGUOUS, detail,
				   "Use \"heads\" for all of them, \"label@head\" for the head of one branch, or a revision id.",
				   "target \"%s\" names several heads", arg);
}

/*
 * check_qualifier: the part before '@' must name something: it may not be
 * empty or one of the words head, heads and base.
 */
static bool
check_qualifier(const char *label, size_t len, const char *target,
				MgError *err)
{
	if (len == 0)
		return mg_fail(err, MG_ERR_SYNTAX,
					   "Before \"@\" comes a branch label or a revision id, as in features@head.",
					   NULL, "empty branch qualifier in target \"%s\"", target);
	if ((len == 4 && strncmp(label, "head", 4) == 0) ||
		(len == 5 && strncmp(label, "heads", 5) == 0) ||
		(len == 4 && strncmp(label, "base", 4) == 0))
		return mg_fail(err, MG_ERR_SYNTAX,
					   "Before \"@\" comes a branch label or a revision id, as in features@head.",
					   NULL, "\"%.*s\" cannot qualify a target, in \"%s\"",
					   (int) len, label, target);
	return true;
}

/*
 * rrn: Alembic's _resolve_revision_number.  Splits off a qualifier at the
 * first '@' and expands "heads", "head" and "base".
 */
static bool
rrn(MgGraph *g, const char *target, MgRrn *r, MgError *err)
{
	const char *at;
	const char *id = target;

	memset(r, 0, sizeof(MgRrn));
	if (target == NULL)
		return true;
	at = strchr(target, '@');
	if (at != NULL)
	{
		if (!check_qualifier(target, at - target, target, err))
			return false;
		r->label = mg_strndup(target, at - target);
		id = at + 1;
	}
	if (strcmp(id, "heads") == 0)
	{
		if (r->label)
			return mg_filter_for_lineage(g, &g->heads, r->label, false,
										 &r->ids, err);
		for (int i = 0; i < g->real_heads.n; i++)
			mg_list_push(&r->ids, g->real_heads.v[i]);
		return true;
	}
	if (strcmp(id, "head") == 0)
	{
		int			h;

		if (!get_current_head(g, r->label, &h, err))
			return false;
		if (h >= 0)
			mg_list_push(&r->ids, h);
		return true;
	}
	if (strcmp(id, "base") == 0)
		return true;
	r->raw = id;
	return true;
}

/*
 * lineage_mark: mark everything that shares lineage with revision idx: its
 * ancestors and its descendants (through depends_on too when with_deps).
 */
static void
lineage_mark(const MgGraph *g, int idx, bool with_deps, char *mark)
{
	mg_ancestors(g, &idx, 1, with_deps, mark);
	mg_descendants(g, &idx, 1, with_deps, mark);
}

/*
 * mg_filter_for_lineage: keep the revisions of "in" that are an ancestor
 * or a descendant of (or equal to) a revision that "against" names.  An
 * "against" that names nothing (base) keeps everything.
 */
bool
mg_filter_for_lineage(MgGraph *g, const MgIntList *in, const char *against,
					  bool with_deps, MgIntList *out, MgError *err)
{
	MgRrn		r;
	MgIntList	shares = {0};
	char	   *mark;

	if (!rrn(g, against, &r, err))
		return false;
	if (in->n == 0)
		return true;			/* names are resolved only to test members */
	if (r.label)
	{
		int			x;

		if (!revision_for_ident(g, r.label, NULL, &x, err))
			return false;
		mg_list_push(&shares, x);
	}
	if (r.raw)
	{
		int			x;

		if (!revision_for_ident(g, r.raw, NULL, &x, err))
			return false;
		mg_list_push(&shares, x);
	}
	for (int i = 0; i < r.ids.n; i++)
		mg_list_push(&shares, r.ids.v[i]);

	if (shares.n == 0)
	{
		for (int i = 0; i < in->n; i++)
			mg_list_push(out, in->v[i]);
		return true;
	}
	mark = mg_alloc(g->n ? g->n : 1);
	for (int i = 0; i < shares.n; i++)
		if (shares.v[i] >= 0)
			lineage_mark(g, shares.v[i], with_deps, mark);
	for (int i = 0; i < in->n; i++)
		if (in->v[i] >= 0 && mark[in->v[i]])
			mg_list_push(out, in->v[i]);
	return true;
}

/*
 * exact_key: an id or a branch label, exactly.
 */
static int
exact_key(MgGraph *g, const char *name)
{
	int			i = mg_graph_find(g, name);

	return i >= 0 ? i : mg_graph_find_label(g, name);
}

/*
 * mg_resolve_branch: the revision a qualifier stands for: a label's
 * revision, a revision id, or a unique id prefix.
 */
bool
mg_resolve_branch(MgGraph *g, const char *label, int *out, MgError *err)
{
	int			i = exact_key(g, label);
	MgError		inner;

	if (i >= 0)
	{
		*out = i;
		return true;
	}
	if (!revision_for_ident(g, label, NULL, out, &inner))
		return mg_fail(err, MG_ERR_UNDEFINED,
					   "A qualifier before \"@\" is a branch label, a revision id or a unique id prefix.",
					   "See migrate.history() for the labels and ids.",
					   "no such branch: \"%s\"", label);
	return true;
}

/*
 * revision_for_ident: Alembic's _revision_for_ident.  An exact id or label,
 * else a unique prefix among ids and labels longer than three characters;
 * with check_branch, the result must share lineage with that branch.
 * ident NULL means base (MG_NONE).
 */
static bool
revision_for_ident(MgGraph *g, const char *ident, const char *check_branch,
				   int *out, MgError *err)
{
	int			branch_rev = MG_NONE;
	int			rev;

	if (check_branch && *check_branch)
	{
		if (!mg_resolve_branch(g, check_branch, &branch_rev, err))
			return false;
	}
	else
		check_branch = NULL;

	if (ident == NULL)
	{
		*out = MG_NONE;
		return true;
	}
	rev = exact_key(g, ident);
	if (rev < 0)
	{
		size_t		plen = strlen(ident);
		MgIntList	cand = {0};
		MgIntList	keys_rev = {0};
		MgBuf		names;
		int			ncand = 0;

		mg_buf_init(&names);
		if (plen == 0)
			return mg_fail(err, MG_ERR_SYNTAX,
						   "A target is head, heads, base, a revision id or prefix, label@head, label@base, or a relative move such as +1 or -1.",
						   NULL, "empty revision name in target");
		/* candidates: ids, then labels, longer than 3 characters */
		for (int pass = 0; pass < 2; pass++)
		{
			for (int i = 0; i < g->n; i++)
			{
				MgRev	   *r = &g->revs[i];
				int			nk = pass == 0 ? 1 : r->nlabels;

				for (int k = 0; k < nk; k++)
				{
					const char *key = pass == 0 ? r->id : r->labels[k];

					if (strlen(key) > 3 && strncmp(key, ident, plen) == 0)
					{
						if (pass == 1 && mg_graph_find_label(g, key) != i)
							continue;	/* a duplicate declaration */
						mg_list_push(&cand, i);
						mg_list_push(&keys_rev, pass);
					}
				}
			}
		}
		if (check_branch && cand.n > 0)
		{
			MgIntList	kept = {0};
			char	   *mark = mg_alloc(g->n ? g->n : 1);

			lineage_mark(g, branch_rev, false, mark);
			for (int i = 0; i < cand.n; i++)
				if (mark[cand.v[i]])
					mg_list_push(&kept, cand.v[i]);
			cand = kept;
		}
		ncand = cand.n;
		if (ncand == 0)
		{
			if (plen < 4)
				return mg_fail(err, MG_ERR_UNDEFINED,
							   "A prefix matches only ids and labels of four or more characters.",
							   "Give the whole id, or at least four characters of it.",
							   "no revision or branch \"%s\"", ident);
			/* ids and labels have at most 64 characters: clip longer names */
			if (strlen(ident) > 64)
			{
				int			clip = 64;

				/* never cut a UTF-8 character in two */
				while (clip > 0 && (((unsigned char) ident[clip]) & 0xC0) == 0x80)
					clip--;
				return mg_fail(err, MG_ERR_UNDEFINED,
							   "Revision ids and branch labels have at most 64 characters.",
							   "See migrate.history() for the registered revisions.",
							   "no revision or branch \"%.*s...\" (%d bytes)",
							   clip, ident, (int) strlen(ident));
			}
			return mg_fail(err, MG_ERR_UNDEFINED, NULL,
						   "See migrate.history() for the registered revisions.",
						   "no revision or branch \"%s\"", ident);
		}
		if (ncand > 1)
		{
			char		detail[MG_MSG_LEN];

			for (int i = 0; i < ncand && i < 10; i++)
			{
				if (i > 0)
					mg_buf_append(&names, ", ");
				mg_buf_append(&names, g->revs[cand.v[i]].id);
			}
			if (ncand > 10)
				mg_buf_append(&names, ", ...");
			snprintf(detail, sizeof(detail), "Candidates: %s.", names.data);
			return mg_fail(err, MG_ERR_AMBIGUOUS, detail,
						   "Give more characters of the id.",
						   "revision prefix \"%s\" is ambiguous", ident);
		}
		rev = cand.v[0];
	}
	if (check_branch)
	{
		char	   *mark = mg_alloc(g->n ? g->n : 1);

		lineage_mark(g, branch_rev, false, mark);
		if (!mark[rev])
			return mg_fail(err, MG_ERR_UNDEFINED,
						   "A revision belongs to a branch when it is an ancestor or a descendant of the branch's revision.",
						   NULL,
						   "revision \"%s\" is not a member of branch \"%s\"",
						   g->revs[rev].id, check_branch);
	}
	*out = rev;
	return true;
}

/*
 * get_current_head: the single head (through down_revision) of the graph,
 * or of one branch; MG_NONE for an empty graph.
 */
static bool
get_current_head(MgGraph *g, const char *label, int *out, MgError *err)
{
	MgIntList	heads = {0};

	if (label)
	{
		if (!mg_filter_for_lineage(g, &g->heads, label, false, &heads, err))
			return false;
	}
	else
		heads = g->heads;
	if (heads.n > 1)
	{
		char		arg[MG_ID_MAXLEN * 4 + 16];

		snprintf(arg, sizeof(arg), "%s%shead", label ? label : "",
				 label ? "@" : "");
		return multiple_heads(g, &heads, arg, err);
	}
	*out = heads.n ? heads.v[0] : MG_NONE;
	return true;
}

/*
 * parse_int: a whole string of an optional sign and digits, into *out.
 * Returns 0 when it is not such a string (an unsigned number too large for
 * an int is a name, as ids may be long timestamps), -1 when it is a
 * negative number out of range.
 */
static int
parse_int(const char *s, long *out)
{
	const char *p = s;
	long		v = 0;
	bool		neg = false;

	if (*p == '+' || *p == '-')
		neg = (*p++ == '-');
	if (*p < '0' || *p > '9')
		return 0;
	for (; *p >= '0' && *p <= '9'; p++)
	{
		if (v > (INT_MAX - (*p - '0')) / 10)
		{
			/* a long all-digit name (a timestamp id) is a name */
			if (!neg)
				return 0;
			while (*p >= '0' && *p <= '9')
				p++;
			return *p == '\0' ? -1 : 0;
		}
		v = v * 10 + (*p - '0');
	}
	if (*p != '\0')
		return 0;
	*out = neg ? -v : v;
	return 1;
}

static bool walk(MgGraph *g, int start, long steps, const char *label,
				 bool clamp, int *out, MgError *err);

/*
 * get_qualified_revision: mg_get_revision of "label@symbol", or of symbol
 * alone when there is no label.
 */
static bool
get_qualified_revision(MgGraph *g, const char *label, const char *symbol,
					   int *out, MgError *err)
{
	char	   *q;

	if (label == NULL)
		return mg_get_revision(g, symbol, out, err);
	q = mg_alloc(strlen(label) + strlen(symbol) + 2);
	sprintf(q, "%s@%s", label, symbol);
	return mg_get_revision(g, q, out, err);
}

/*
 * mg_get_revisions: Alembic's get_revisions: what a target names.  The
 * list may hold MG_NONE or MG_BASE where a relative name walks off the
 * graph.
 */
bool
mg_get_revisions(MgGraph *g, const char *target, MgIntList *out, MgError *err)
{
	MgRrn		r;

	if (!rrn(g, target, &r, err))
		return false;
	if (r.raw)
	{
		long		v;
		int			rc = parse_int(r.raw, &v);

		if (rc < 0)
			return mg_fail(err, MG_ERR_RANGE, NULL,
						   "Relative steps are counted with numbers below 2147483648.",
						   "relative step in \"%s\" is out of range", target);
		if (rc > 0 && v < 0)
		{
			/* label@-n: walk down from the heads carrying the label */
			MgIntList	heads = {0};
			char	   *mark = NULL;

			if (r.label)
			{
				int			lrev = mg_graph_find_label(g, r.label);

				mark = mg_alloc(g->n ? g->n : 1);
				if (lrev >= 0)
					mg_label_members(g, lrev, mark);
			}
			for (int i = 0; i < g->real_heads.n; i++)
				if (mark == NULL || mark[g->real_heads.v[i]])
					mg_list_push(&heads, g->real_heads.v[i]);
			for (int i = 0; i < heads.n; i++)
			{
				int			w;

				if (!walk(g, heads.v[i], v, NULL, false, &w, err))
					return false;
				mg_list_push(out, w);
			}
			return true;
		}
		{
			int			x;

			if (!revision_for_ident(g, r.raw, r.label, &x, err))
				return false;
			mg_list_push(out, x);
			return true;
		}
	}
	for (int i = 0; i < r.ids.n; i++)
	{
		int			x;

		if (!revision_for_ident(g, g->revs[r.ids.v[i]].id, r.label, &x, err))
			return false;
		mg_list_push(out, x);
	}
	return true;
}

/*
 * mg_get_revision: Alembic's get_revision: a target naming at most one
 * revision.
 */
bool
mg_get_revision(MgGraph *g, const char *target, int *out, MgError *err)
{
	MgRrn		r;

	if (!rrn(g, target, &r, err))
		return false;
	if (r.ids.n > 1)
		return multiple_heads(g, &r.ids, target, err);
	if (r.raw)
		return revision_for_ident(g, r.raw, r.label, out, err);
	return revision_for_ident(g, r.ids.n ? g->revs[r.ids.v[0]].id : NULL,
							  r.label, out, err);
}

/*
 * walk: move |steps| revisions up (steps > 0, children, optionally only
 * along one branch) or down (steps < 0, parents).  Going past the ends
 * gives MG_NONE, or with clamp stops at the last revision reached; a
 * branch point or merge on the way is an error.
 */
static bool
walk(MgGraph *g, int start, long steps, const char *label, bool clamp,
	 int *out, MgError *err)
{
	int			cur = start;
	long		nsteps = steps < 0 ? -steps : steps;

	for (long s = 0; s < nsteps; s++)
	{
		MgIntList	children = {0};

		if (steps > 0)
		{
			MgIntList	up = {0};

			if (cur == MG_BASE)
				return mg_fail(err, MG_ERR_RANGE, NULL, NULL,
							   "cannot walk up from below base");
			if (cur == MG_NONE)
				up = g->bases;
			else
				for (int k = g->child_off[cur]; k < g->child_off[cur + 1]; k++)
					mg_list_push(&up, g->child[k]);
			if (label)
			{
				if (!mg_filter_for_lineage(g, &up, label, false, &children, err))
					return false;
			}
			else
				children = up;
		}
		else
		{
			if (cur == MG_BASE)
				;				/* nothing below base */
			else if (cur == MG_NONE)
				children = g->heads;
			else
			{
				const MgRev *r = &g->revs[cur];

				for (int k = 0; k < r->nparents; k++)
					mg_list_push(&children, r->parents[k]);
				if (children.n == 0)
					mg_list_push(&children, MG_BASE);
			}
		}
		if (children.n == 0)
		{
			*out = clamp ? cur : MG_NONE;
			return true;
		}
		if (children.n > 1)
		{
			char		detail[MG_MSG_LEN];

			snprintf(detail, sizeof(detail), "It has several %s: %s.",
					 steps > 0 ? "children" : "parents",
					 mg_names(g, &children));
			if (cur < 0)
				return mg_fail(err, MG_ERR_AMBIGUOUS, detail,
							   "Name the branch (label@+1) or the revision itself.",
							   "relative step %s from base is ambiguous",
							   steps > 0 ? "up" : "down");
			return mg_fail(err, MG_ERR_AMBIGUOUS, detail,
						   "Name the branch (label@+1) or the revision itself.",
						   "relative step %s from revision \"%s\" is ambiguous",
						   steps > 0 ? "up" : "down", g->revs[cur].id);
		}
		cur = children.v[0];
	}
	*out = cur;
	return true;
}

/*
 * match_relative: does the target have the form [label@][symbol](+|-)N?
 * The whole string must match.  Returns 1 on a match (label and symbol
 * NULL when absent), 0 when not relative, -1 when N is out of range.
 */
static int
match_relative(const char *target, char **label, char **symbol, long *rel)
{
	size_t		len = strlen(target);

	for (size_t start = 0; start <= len; start++)
	{
		const char *rest;
		const char *p;
		const char *sign;
		long		v = 0;

		/* either no label (start 0) or a non-empty label ending in '@' */
		if (start > 0 && (start < 2 || target[start - 1] != '@'))
			continue;
		rest = target + start;
		p = rest;
		while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			   (*p >= '0' && *p <= '9') || *p == '_')
			p++;
		if (*p != '+' && *p != '-')
			continue;
		sign = p++;
		if (*p < '0' || *p > '9')
			continue;
		for (; *p >= '0' && *p <= '9'; p++)
		{
			if (v > (INT_MAX - (*p - '0')) / 10)
				return -1;
			v = v * 10 + (*p - '0');
		}
		if (*p != '\0')
			continue;
		*label = start > 0 ? mg_strndup(target, start - 1) : NULL;
		*symbol = sign > rest ? mg_strndup(rest, sign - rest) : NULL;
		*rel = *sign == '-' ? -v : v;
		return 1;
	}
	return 0;
}

/*
 * relative_error: "+N" or "-N" that cannot be satisfied.
 */
static bool
relative_error(MgError *err, const char *target, long rel)
{
	if (rel == 0)
		return mg_fail(err, MG_ERR_RANGE, NULL,
					   "A relative target moves at least one revision: +1, -1, rev+1, label@-1.",
					   "relative target \"%s\" moves zero steps", target);
	return mg_fail(err, MG_ERR_RANGE, NULL,
				   rel >= 0 ?
				   "Relative upgrades count from the current revisions: +1, +2, or label@+1 for one branch." :
				   "Relative downgrades count from the current revisions: -1, -2, or label@-1 for one branch.",
				   "relative target \"%s\" does not produce %ld migration%s",
				   target, rel < 0 ? -rel : rel, (rel == 1 || rel == -1) ? "" : "s");
}

/*
 * ancestors_list: the revisions of seeds and all their ancestors.
 */
static void
ancestors_list(MgGraph *g, const MgIntList *seeds, MgIntList *out)
{
	char	   *mark = mg_alloc(g->n ? g->n : 1);

	mg_ancestors(g, seeds->v, seeds->n, true, mark);
	for (int i = 0; i < g->n; i++)
		if (mark[i])
			mg_list_push(out, i);
}

/*
 * normalized_down: parents plus those dependencies that no proper ancestor
 * (through parents) already depends on -- Alembic's
 * _normalized_down_revisions.
 */
static void
normalized_down(MgGraph *g, int idx, MgIntList *out)
{
	const MgRev *r = &g->revs[idx];

	for (int k = 0; k < r->nparents; k++)
		if (!mg_list_contains(out, r->parents[k]))
			mg_list_push(out, r->parents[k]);
	if (r->ndeps > 0)
	{
		char	   *mark = mg_alloc(g->n ? g->n : 1);
		char	   *covered = mg_alloc(g->n ? g->n : 1);

		mg_ancestors(g, &idx, 1, false, mark);
		for (int i = 0; i < g->n; i++)
			if (mark[i] && i != idx)
				for (int k = 0; k < g->revs[i].ndeps; k++)
					covered[g->revs[i].deps[k]] = 1;
		for (int k = 0; k < r->ndeps; k++)
			if (!covered[r->deps[k]] && !mg_list_contains(out, r->deps[k]))
				mg_list_push(out, r->deps[k]);
	}
}

/*
 * mg_upgrade_targets: Alembic's _parse_upgrade_target.
 */
bool
mg_upgrade_targets(MgGraph *g, const MgIntList *current, const char *target,
				   MgIntList *out, MgError *err)
{
	return mg_upgrade_targets_ex(g, current, target, false, out, err);
}

/*
 * mg_upgrade_targets_ex: the same; with clamp, a relative walk that would
 * go past the end of the graph stops there (Alembic's history ranges).
 */
bool
mg_upgrade_targets_ex(MgGraph *g, const MgIntList *current,
					  const char *target, bool clamp, MgIntList *out,
					  MgError *err)
{
	char	   *label = NULL,
			   *symbol = NULL;
	long		rel = 0;
	int			m = match_relative(target, &label, &symbol, &rel);
	int			w;

	if (m < 0)
		return mg_fail(err, MG_ERR_RANGE, NULL,
					   "Relative steps are counted with numbers below 2147483648.",
					   "relative step in \"%s\" is out of range", target);
	if (m == 0)
		return mg_get_revisions(g, target, out, err);
	if (label && !check_qualifier(label, strlen(label), target, err))
		return false;

	if (rel > 0)
	{
		if (symbol == NULL)
		{
			MgIntList	start = {0};

			if (current->n == 0)
				mg_list_push(&start, MG_NONE);
			else
				for (int i = 0; i < current->n; i++)
					mg_list_push(&start, current->v[i]);
			if (label)
			{
				MgIntList	on_branch = {0};

				if (!mg_filter_for_lineage(g, current, label, false,
										   &on_branch, err))
					return false;
				if (on_branch.n == 0)
				{
					/* the branch is not current: its highest applied tip */
					MgIntList	anc = {0};
					MgIntList	active = {0};
					MgIntList	tips = {0};
					MgIntList	downs = {0};

					ancestors_list(g, current, &anc);
					if (!mg_filter_for_lineage(g, &anc, label, false,
											   &active, err))
						return false;
					for (int i = 0; i < active.n; i++)
						normalized_down(g, active.v[i], &downs);
					for (int i = 0; i < active.n; i++)
						if (!mg_list_contains(&downs, active.v[i]))
							mg_list_push(&tips, active.v[i]);
					if (tips.n == 0)
						mg_list_push(&tips, MG_NONE);
					on_branch = tips;
				}
				start = on_branch;
			}
			if (start.n > 1)
			{
				char		detail[MG_MSG_LEN];

				snprintf(detail, sizeof(detail),
						 "The current revisions are: %s.", mg_names(g, &start));
				return mg_fail(err, MG_ERR_AMBIGUOUS, detail,
							   "Name the branch (label@+1) or count from a revision (rev+1).",
							   "relative upgrade \"%s\" is ambiguous from several current revisions",
							   target);
			}
			if (!walk(g, start.v[0], rel, label, clamp, &w, err))
				return false;
			if (w == MG_NONE)
				return relative_error(err, target, rel);
			mg_list_push(out, w);
			return true;
		}
		else
		{
			int			s;

			if (!mg_get_revision(g, symbol, &s, err))
				return false;
			if (!walk(g, s, rel, label, clamp, &w, err))
				return false;
			mg_list_push(out, w);
			return true;
		}
	}
	if (symbol == NULL)
		return relative_error(err, target, rel);
	{
		int			s;

		if (!get_qualified_revision(g, label, symbol, &s, err))
			return false;
		if (!walk(g, s, rel, NULL, clamp, &w, err))
			return false;
		mg_list_push(out, w);
		return true;
	}
}

/*
 * mg_downgrade_target: Alembic's _parse_downgrade_target.  *label is the
 * branch qualifier (or NULL), *rev the revision to keep (MG_NONE for base,
 * MG_BASE when a walk stopped at base).
 */
bool
mg_downgrade_target(MgGraph *g, const MgIntList *current, const char *target,
					char **label, int *rev, MgError *err)
{
	char	   *symbol = NULL;
	long		rel = 0;
	int			m;

	*label = NULL;
	*rev = MG_NONE;
	if (target == NULL)
		return true;
	m = match_relative(target, label, &symbol, &rel);
	if (m < 0)
		return mg_fail(err, MG_ERR_RANGE, NULL,
					   "Relative steps are counted with numbers below 2147483648.",
					   "relative step in \"%s\" is out of range", target);
	if (m > 0 && *label && !check_qualifier(*label, strlen(*label), target, err))
		return false;
	if (m > 0)
	{
		if (rel >= 0)
		{
			int			s;

			if (symbol == NULL)
				return relative_error(err, target, rel);
			if (!mg_get_revision(g, symbol, &s, err))
				return false;
			if (!walk(g, s, rel, *label, false, rev, err))
				return false;
			if (*rev == MG_NONE)
				return mg_fail(err, MG_ERR_RANGE, NULL, NULL,
							   "relative target \"%s\" walks past the heads", target);
			return true;
		}
		else
		{
			bool		relative_to_current = (symbol == NULL);
			int			s;

			if (relative_to_current)
			{
				if (*label)
				{
					MgIntList	syms = {0};

					if (!mg_filter_for_lineage(g, current, *label, false,
											   &syms, err))
						return false;
					if (syms.n == 0)
					{
						/* heads that are current only through a dependency */
						MgIntList	all = {0};
						char	   *mark = mg_alloc(g->n ? g->n : 1);

						mg_ancestors(g, current->v, current->n, true, mark);
						for (int i = 0; i < g->n; i++)
						{
							bool		has_child = false;

							if (!mark[i])
								continue;
							for (int k = g->child_off[i]; k < g->child_off[i + 1]; k++)
								if (mark[g->child[k]])
									has_child = true;
							if (!has_child)
								mg_list_push(&all, i);
						}
						if (!mg_filter_for_lineage(g, &all, *label, false,
												   &syms, err))
							return false;
					}
					if (syms.n != 1)
					{
						if (syms.n == 0)
							return relative_error(err, target, rel);
						return mg_fail(err, MG_ERR_AMBIGUOUS, NULL,
									   "Name the revision to count from (rev-1).",
									   "relative downgrade \"%s\" is ambiguous: branch \"%s\" has several current revisions",
									   target, *label);
					}
					symbol = g->revs[syms.v[0]].id;
				}
				else
				{
					if (current->n == 0)
						return relative_error(err, target, rel);
					if (current->n > 1)
					{
						char		detail[MG_MSG_LEN];

						snprintf(detail, sizeof(detail),
								 "The current revisions are: %s.",
								 mg_names(g, current));
						return mg_fail(err, MG_ERR_AMBIGUOUS, detail,
									   "Name the branch (label@-1) or count from a revision (rev-1).",
									   "relative downgrade \"%s\" is ambiguous from several current revisions",
									   target);
					}
					symbol = g->revs[current->v[0]].id;
					*label = symbol;
				}
			}
			if (!get_qualified_revision(g, *label, symbol, &s, err))
				return false;
			if (!walk(g, s, rel, NULL, false, rev, err))
				return false;
			if (*rev == MG_NONE)
			{
				if (relative_to_current)
					return relative_error(err, target, rel);
				return mg_fail(err, MG_ERR_RANGE, NULL, NULL,
							   "relative target \"%s\" walks past base", target);
			}
			return true;
		}
	}
	/* absolute: qualifier before the last '@' */
	{
		const char *at = strrchr(target, '@');

		if (at != NULL)
		{
			if (!check_qualifier(target, at - target, target, err))
				return false;
			*label = mg_strndup(target, at - target);
		}
		return mg_get_revision(g, at ? at + 1 : target, rev, err);
	}
}

/*
 * mg_resolve_target: the revisions a target names, with relative forms
 * resolved as plan() resolves them.  A walk that ends exactly at base names
 * nothing; one that goes further is an error.
 */
bool
mg_resolve_target(MgGraph *g, const MgIntList *current, const char *target,
				  MgIntList *out, MgError *err)
{
	char	   *label = NULL,
			   *symbol = NULL;
	long		rel = 0;
	int			m = match_relative(target, &label, &symbol, &rel);
	MgIntList	res = {0};

	if (m < 0)
		return mg_fail(err, MG_ERR_RANGE, NULL,
					   "Relative steps are counted with numbers below 2147483648.",
					   "relative step in \"%s\" is out of range", target);
	if (m == 0)
		return mg_get_revisions(g, target, out, err);
	if (symbol == NULL && rel < 0)
	{
		char	   *dlabel;
		int			rev;

		if (!mg_downgrade_target(g, current, target, &dlabel, &rev, err))
			return false;
		if (rev >= 0)
			mg_list_push(out, rev);
		return true;
	}
	if (!mg_upgrade_targets(g, current, target, &res, err))
		return false;
	for (int i = 0; i < res.n; i++)
	{
		if (res.v[i] == MG_NONE)
			return mg_fail(err, MG_ERR_RANGE, NULL,
						   "Count fewer steps, or name the revision.",
						   "relative target \"%s\" walks past %s", target,
						   rel < 0 ? "base" : "the end of the graph");
		if (res.v[i] >= 0)
			mg_list_push(out, res.v[i]);
	}
	return true;
}
