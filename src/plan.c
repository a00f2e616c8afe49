/*-------------------------------------------------------------------------
 *
 * plan.c
 *	  Ordered steps for upgrade and downgrade, the effect of stamp, and
 *	  history ranges, following Alembic 1.8's rules
 *	  (_collect_upgrade_revisions, _collect_downgrade_revisions,
 *	  _stamp_revs) on an applied set that is closed under ancestry.
 *
 * Pure C: no SPI, no catalog access, no ereport (see mg_core.h).
 *
 *-------------------------------------------------------------------------
 */
#include "plan.h"

#include <stdio.h>

/*
 * reject_off_graph: a relative target that walked off the graph names no
 * revision to upgrade to.
 */
static bool
reject_off_graph(const MgIntList *targets, const char *target, MgError *err)
{
	for (int i = 0; i < targets->n; i++)
		if (targets->v[i] < 0)
			return mg_fail(err, MG_ERR_RANGE, NULL,
						   "Count fewer steps, or name the revision.",
						   "relative target \"%s\" walks past %s", target,
						   targets->v[i] == MG_BASE ? "base" : "the end of the graph");
	return true;
}

/*
 * check_overlap: no requested revision may be an ancestor of another one.
 */
static bool
check_overlap(MgGraph *g, const MgIntList *targets, MgError *err)
{
	if (targets->n < 2)
		return true;
	for (int i = 0; i < targets->n; i++)
	{
		char	   *mark = mg_alloc(g->n ? g->n : 1);

		mg_ancestors(g, &targets->v[i], 1, true, mark);
		for (int j = 0; j < targets->n; j++)
			if (j != i && targets->v[j] != targets->v[i] && mark[targets->v[j]])
				return mg_fail(err, MG_ERR_AMBIGUOUS, NULL,
							   "Name only the newer of the two revisions.",
							   "requested revision \"%s\" overlaps with requested revision \"%s\", its ancestor",
							   g->revs[targets->v[i]].id, g->revs[targets->v[j]].id);
	}
	return true;
}

/*
 * mg_plan_upgrade: every unapplied revision among the targets and their
 * ancestors (parents and depends_on), in topological order.
 */
bool
mg_plan_upgrade(MgGraph *g, const char *target, MgIntList *steps, MgError *err)
{
	MgIntList	current = {0};
	MgIntList	targets = {0};
	char	   *mark;

	mg_current(g, &current);
	if (!mg_upgrade_targets(g, &current, target, &targets, err))
		return false;
	if (!reject_off_graph(&targets, target, err))
		return false;
	if (!check_overlap(g, &targets, err))
		return false;
	mark = mg_alloc(g->n ? g->n : 1);
	mg_ancestors(g, targets.v, targets.n, true, mark);
	for (int i = 0; i < g->n; i++)
		if (g->revs[i].applied)
			mark[i] = 0;
	mg_topo_order(g, mark, steps);
	return true;
}

/*
 * mg_plan_downgrade: keep the target, unapply what descends from it (and
 * whatever depends on an unapplied revision), children first.  A branch
 * qualifier limits the removal to the child of the target that leads to
 * the qualifier's revision.
 */
bool
mg_plan_downgrade(MgGraph *g, const char *target, MgIntList *steps,
				  MgError *err)
{
	MgIntList	current = {0};
	MgIntList	roots = {0};
	MgIntList	order = {0};
	char	   *label = NULL;
	int			trev;
	char	   *mark;
	bool		any = false;

	mg_current(g, &current);
	if (!mg_downgrade_target(g, &current, target, &label, &trev, err))
		return false;
	if (trev == MG_BASE)
		trev = MG_NONE;

	if (trev == MG_NONE)
		roots = g->bases;
	else
		for (int k = g->child_off[trev]; k < g->child_off[trev + 1]; k++)
			mg_list_push(&roots, g->child[k]);

	if (label)
	{
		int			brev;

		/* an unknown qualifier is an error even where it would not matter */
		if (!mg_resolve_branch(g, label, &brev, err))
			return false;
	}
	if (label && roots.n > 1)
	{
		int			brev;
		char	   *anc = mg_alloc(g->n ? g->n : 1);
		MgIntList	kept = {0};

		if (!mg_resolve_branch(g, label, &brev, err))
			return false;
		mg_ancestors(g, &brev, 1, false, anc);
		for (int i = 0; i < roots.n; i++)
			if (anc[roots.v[i]])
				mg_list_push(&kept, roots.v[i]);
		if (kept.n == 0)
			return mg_fail(err, MG_ERR_STATE, NULL,
						   "The qualifier before \"@\" must lie above the target on one of its branches.",
						   "downgrade target \"%s\" is not valid from the current revisions",
						   target);
		roots = kept;
	}

	mark = mg_alloc(g->n ? g->n : 1);
	mg_descendants(g, roots.v, roots.n, true, mark);
	for (int i = 0; i < g->n; i++)
	{
		if (!g->revs[i].applied)
			mark[i] = 0;
		any = any || mark[i];
	}
	if (trev != MG_NONE && !any && !mg_list_contains(&current, trev))
	{
		char		detail[MG_MSG_LEN];

		snprintf(detail, sizeof(detail),
				 "A downgrade keeps its target and unapplies what was applied above it; the current revisions are: %s.",
				 current.n ? mg_names(g, &current) : "none");
		return mg_fail(err, MG_ERR_STATE, detail,
					   g->revs[trev].applied ? "Name a target below the current revisions of that branch." :
					   "See migrate.current(); a downgrade target must be applied.",
					   g->revs[trev].applied ?
					   "downgrade target \"%s\" has nothing applied above it on that branch" :
					   "downgrade target \"%s\" is not applied",
					   g->revs[trev].id);
	}
	mg_topo_order(g, mark, &order);
	for (int i = order.n - 1; i >= 0; i--)
		mg_list_push(steps, order.v[i]);
	return true;
}

/*
 * mg_plan_stamp: the applied set after moving the recorded state to each
 * target as upgrade or downgrade would (Alembic's _stamp_revs applied to
 * the current revisions), without running anything.
 */
bool
mg_plan_stamp(MgGraph *g, const char *const *targets, int ntargets,
			  bool purge, char *new_applied, MgError *err)
{
	MgIntList	heads = {0};
	MgIntList	filtered = {0};
	MgIntList	dests = {0};
	char	   *present = mg_alloc(g->n ? g->n : 1);
	MgIntList	final = {0};

	if (!purge)
		mg_current(g, &heads);
	for (int i = 0; i < heads.n; i++)
		present[heads.v[i]] = 1;

	for (int t = 0; t < ntargets; t++)
	{
		MgIntList	f = {0};

		if (targets[t] == NULL || targets[t][0] == '\0')
			continue;
		if (!mg_filter_for_lineage(g, &heads, targets[t], true, &f, err))
			return false;
		for (int i = 0; i < f.n; i++)
			if (!mg_list_contains(&filtered, f.v[i]))
				mg_list_push(&filtered, f.v[i]);
	}
	for (int t = 0; t < ntargets; t++)
		if (!mg_get_revisions(g, targets[t] ? targets[t] : "base", &dests, err))
			return false;
	if (dests.n == 0)
		mg_list_push(&dests, MG_NONE);

	for (int d = 0; d < dests.n; d++)
	{
		int			dest = dests.v[d];

		if (dest == MG_BASE)
			return mg_fail(err, MG_ERR_RANGE, NULL,
						   "To record that nothing is applied, stamp 'base'.",
						   "relative stamp target walks down to base");
		if (dest < 0)
		{
			/* base: delete the branches of the selected heads */
			for (int i = 0; i < filtered.n; i++)
				present[filtered.v[i]] = 0;
			continue;
		}
		if (mg_list_contains(&filtered, dest))
			continue;
		{
			char	   *desc = mg_alloc(g->n ? g->n : 1);
			char	   *anc = mg_alloc(g->n ? g->n : 1);
			bool		above = false,
						below = false;

			mg_descendants(g, &dest, 1, true, desc);
			mg_ancestors(g, &dest, 1, true, anc);
			for (int i = 0; i < filtered.n; i++)
			{
				above = above || desc[filtered.v[i]];
				below = below || anc[filtered.v[i]];
			}

			/*
			 * Alembic replaces every selected head here, also those on other
			 * branches (stamping "heads" from {d1, c2} would leave only d2);
			 * only the heads the move passes through are replaced here, so no
			 * applied branch is silently dropped.
			 */
			for (int i = 0; i < filtered.n; i++)
				if (above ? desc[filtered.v[i]] : (below && anc[filtered.v[i]]))
					present[filtered.v[i]] = 0;
			present[dest] = 1;
		}
	}
	for (int i = 0; i < g->n; i++)
		if (present[i])
			mg_list_push(&final, i);
	memset(new_applied, 0, g->n);
	mg_ancestors(g, final.v, final.n, true, new_applied);
	return true;
}

/*
 * branch_filter: for a history range whose lower end is qualified
 * ("label@..."), mark the revisions of that branch, as Alembic's
 * _collect_upgrade_revisions keeps only targets carrying the label.  A
 * revision id used as the qualifier stands for the one branch it is on.
 */
static bool
branch_filter(MgGraph *g, const char *branch, char *mark, MgError *err)
{
	int			lrev = mg_graph_find_label(g, branch);

	if (lrev < 0)
	{
		int			rev = mg_graph_find(g, branch);
		int			found = -1,
					nfound = 0;
		char	   *m = mg_alloc(g->n ? g->n : 1);

		if (rev < 0)
			return mg_fail(err, MG_ERR_UNDEFINED,
						   "The qualifier of a range's lower end is a branch label or a revision id.",
						   NULL, "no such branch: \"%s\"", branch);
		for (int r = 0; r < g->n; r++)
		{
			if (g->revs[r].nlabels == 0)
				continue;
			memset(m, 0, g->n);
			mg_label_members(g, r, m);
			if (m[rev])
			{
				found = r;
				nfound += g->revs[r].nlabels;
			}
		}
		if (nfound != 1)
			return mg_fail(err, MG_ERR_AMBIGUOUS, NULL,
						   "Qualify the range with a branch label instead.",
						   "revision \"%s\" is on %d labelled branches, so it cannot stand for one",
						   branch, nfound);
		lrev = found;
	}
	mg_label_members(g, lrev, mark);
	return true;
}

/*
 * mg_history_range: the revisions of a history range "A:B" (either side
 * may be empty: from the bases, up to the heads), both ends included, as
 * "alembic history -r A:B" lists them: the ancestors of B (which may be
 * relative to A, as in A:A+2) that descend from A; with A qualified by a
 * branch (label@base:), only B's on that branch.  Newest first.
 */
bool
mg_history_range(MgGraph *g, const char *range, MgIntList *out, MgError *err)
{
	const char *colon = range ? strchr(range, ':') : NULL;
	char	   *lower = NULL;
	const char *upper = NULL;
	MgIntList	lo = {0},
				up = {0},
				order = {0};
	char	   *req = mg_alloc(g->n ? g->n : 1);

	if (range != NULL && colon == NULL)
		return mg_fail(err, MG_ERR_SYNTAX,
					   "A range is A:B, :B or A:, where A and B are targets.",
					   NULL, "history range \"%s\" has no \":\"", range);
	if (colon != NULL)
	{
		if (strchr(colon + 1, ':') != NULL)
			return mg_fail(err, MG_ERR_SYNTAX,
						   "A range is A:B, :B or A:, where A and B are targets.",
						   NULL, "history range \"%s\" has more than one \":\"", range);
		if (colon > range)
			lower = mg_strndup(range, colon - range);
		if (colon[1] != '\0')
			upper = colon + 1;
	}
	if (lower && !mg_get_revisions(g, lower, &lo, err))
		return false;
	if (!reject_off_graph(&lo, lower ? lower : "", err) ||
		!check_overlap(g, &lo, err))
		return false;
	if (!mg_upgrade_targets_ex(g, &lo, upper ? upper : "heads", true, &up, err))
		return false;
	if (!reject_off_graph(&up, upper ? upper : "heads", err))
		return false;
	if (lower && strchr(lower, '@') != NULL)
	{
		char	   *branch = mg_strndup(lower, strchr(lower, '@') - lower);
		char	   *mark = mg_alloc(g->n ? g->n : 1);
		MgIntList	kept = {0};

		if (!branch_filter(g, branch, mark, err))
			return false;
		for (int i = 0; i < up.n; i++)
			if (mark[up.v[i]])
				mg_list_push(&kept, up.v[i]);
		up = kept;
	}
	if (!check_overlap(g, &up, err))
		return false;
	mg_ancestors(g, up.v, up.n, true, req);
	if (lo.n > 0)
	{
		char	   *below = mg_alloc(g->n ? g->n : 1);
		char	   *desc = mg_alloc(g->n ? g->n : 1);

		for (int i = 0; i < lo.n; i++)
			if (!req[lo.v[i]])
				return mg_fail(err, MG_ERR_STATE, NULL,
							   "The lower end of a range must be an ancestor of the upper end.",
							   "revision \"%s\" is not an ancestor of \"%s\"",
							   g->revs[lo.v[i]].id, upper ? upper : "heads");
		mg_ancestors(g, lo.v, lo.n, true, below);
		mg_descendants(g, lo.v, lo.n, false, desc);
		for (int i = 0; i < lo.n; i++)
			below[lo.v[i]] = 0; /* the lower end itself is included */
		for (int i = 0; i < g->n; i++)
			req[i] = req[i] && !below[i] && desc[i];
	}
	mg_topo_order(g, req, &order);
	for (int i = order.n - 1; i >= 0; i--)
		mg_list_push(out, order.v[i]);
	return true;
}
