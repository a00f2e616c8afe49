/*-------------------------------------------------------------------------
 *
 * target.h
 *	  The target grammar (head, heads, base, ids and prefixes, label@head,
 *	  rev@head, +N, -N, X+N, X-N, label@+N, label@-N) resolved against a
 *	  prepared graph and the current revisions, as Alembic 1.8 does.
 *	  Pure C (see mg_core.h).
 *
 *-------------------------------------------------------------------------
 */
#ifndef MG_TARGET_H
#define MG_TARGET_H

#include "graph.h"

/* Values that stand where a revision index would. */
#define MG_NONE (-1)			/* no revision: below every base */
#define MG_BASE (-2)			/* a walk down that stopped at base */

/* What a target names, as Alembic's get_revisions() answers. */
extern bool mg_get_revisions(MgGraph *g, const char *target, MgIntList *out,
							 MgError *err);

/* A target that must name at most one revision (MG_NONE for base). */
extern bool mg_get_revision(MgGraph *g, const char *target, int *out,
							MgError *err);

/* The revision a label (or id, or id prefix) qualifier stands for. */
extern bool mg_resolve_branch(MgGraph *g, const char *label, int *out,
							  MgError *err);

/* Revisions of "in" that share lineage with the revisions "against" names. */
extern bool mg_filter_for_lineage(MgGraph *g, const MgIntList *in,
								  const char *against, bool with_deps,
								  MgIntList *out, MgError *err);

/* Upgrade destinations of a target, relative ones counted from current. */
extern bool mg_upgrade_targets(MgGraph *g, const MgIntList *current,
							   const char *target, MgIntList *out,
							   MgError *err);

extern bool mg_upgrade_targets_ex(MgGraph *g, const MgIntList *current,
								  const char *target, bool clamp,
								  MgIntList *out, MgError *err);

/* Downgrade destination of a target: a branch qualifier and a revision. */
extern bool mg_downgrade_target(MgGraph *g, const MgIntList *current,
								const char *target, char **label,
								int *rev, MgError *err);

/*
 * What a target stands for in plan(): the upgrade destinations, except for
 * -N and label@-N, which count down from the current revisions.
 */
extern bool mg_resolve_target(MgGraph *g, const MgIntList *current,
							  const char *target, MgIntList *out,
							  MgError *err);

#endif							/* MG_TARGET_H */
