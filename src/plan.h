/*-------------------------------------------------------------------------
 *
 * plan.h
 *	  From the applied set and a target to ordered steps: what upgrade,
 *	  downgrade and stamp would do, and which revisions a history range
 *	  covers.  Pure C (see mg_core.h).
 *
 *-------------------------------------------------------------------------
 */
#ifndef MG_PLAN_H
#define MG_PLAN_H

#include "target.h"

/* Revisions to apply for target, parents and dependencies first. */
extern bool mg_plan_upgrade(MgGraph *g, const char *target, MgIntList *steps,
							MgError *err);

/* Revisions to unapply for target, children and dependents first. */
extern bool mg_plan_downgrade(MgGraph *g, const char *target,
							  MgIntList *steps, MgError *err);

/*
 * The applied set after stamping the targets in turn (purge: starting from
 * nothing).  new_applied is an array of g->n chars, filled with 0 or 1.
 */
extern bool mg_plan_stamp(MgGraph *g, const char *const *targets, int ntargets,
						  bool purge, char *new_applied, MgError *err);

/* Revisions of a history range "A:B" (either side may be empty), newest first. */
extern bool mg_history_range(MgGraph *g, const char *range, MgIntList *out,
							 MgError *err);

#endif							/* MG_PLAN_H */
