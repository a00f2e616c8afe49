/*-------------------------------------------------------------------------
 *
 * graph.h
 *	  The revision graph: ids, parents, depends_on and branch labels, and
 *	  the questions every later step asks of it.  Pure C (see mg_core.h).
 *
 *-------------------------------------------------------------------------
 */
#ifndef MG_GRAPH_H
#define MG_GRAPH_H

#include "mg_core.h"

#define MG_ID_MAXLEN 64

/* One registered revision. */
typedef struct MgRev
{
	char	   *id;
	char	   *message;		/* may be NULL */
	mg_int64	seq;			/* registration order */
	int			nparents;
	char	  **parent_ids;
	int		   *parents;		/* resolved indexes, -1 when unknown */
	int			ndeps;
	char	  **dep_ids;
	int		   *deps;			/* resolved indexes (an id or a label's
								 * revision), -1 when unknown */
	int			nlabels;
	char	  **labels;			/* labels this revision declares */
	bool		applied;
} MgRev;

/* String -> index hash table (open addressing). */
typedef struct MgHash
{
	int			cap;			/* power of two, 0 when empty */
	int			used;
	const char **keys;
	int		   *vals;
} MgHash;

typedef struct MgGraph
{
	int			n;
	int			cap;
	MgRev	   *revs;			/* in registration order (seq ascending) */
	MgHash		ids;
	MgHash		labels;			/* label -> first declaring revision */
	MgHash		unresolved;		/* names referenced but not registered */
	int			dup_label_rev;	/* a revision re-declaring a label, or -1 */
	char	   *dup_label;
	bool		added_was_referenced;	/* set by mg_graph_add */

	/* derived data, rebuilt by mg_graph_prepare() when stale */
	bool		prepared;
	bool		valid;
	MgError		invalid;		/* why the graph is unusable, if !valid */
	int		   *child_off;		/* children through down_revision (CSR) */
	int		   *child;
	int		   *dep_off;		/* children through parents or depends_on */
	int		   *dep_child;
	MgIntList	heads;			/* no child through down_revision */
	MgIntList	real_heads;		/* no child through parents or depends_on */
	MgIntList	bases;			/* no parents */
} MgGraph;

extern MgGraph *mg_graph_create(int capacity_hint);
extern int	mg_graph_add(MgGraph *g, const char *id, const char *message,
						 mg_int64 seq,
						 const char *const *parents, int nparents,
						 const char *const *deps, int ndeps,
						 const char *const *labels, int nlabels);
extern int	mg_graph_find(const MgGraph *g, const char *id);
extern int	mg_graph_find_label(MgGraph *g, const char *label);
extern bool mg_graph_prepare(MgGraph *g, MgError *err);
extern bool mg_graph_would_cycle(MgGraph *g, int idx, MgError *err);

/* hash helpers, also used by the catalog layer */
extern void mg_hash_put(MgHash *h, const char *key, int val);
extern int	mg_hash_get(const MgHash *h, const char *key);
extern void mg_hash_remove(MgHash *h, const char *key);

/*
 * Traversals.  "mark" is an array of g->n chars; each function sets
 * mark[i] = 1 for every reached revision (the seeds included) and leaves
 * other entries alone, so callers can accumulate.
 */
extern void mg_ancestors(const MgGraph *g, const int *seeds, int nseeds,
						 bool with_deps, char *mark);
extern void mg_descendants(const MgGraph *g, const int *seeds, int nseeds,
						   bool with_deps, char *mark);

/* Topological order of the marked revisions, parents first, ties by seq. */
extern void mg_topo_order(const MgGraph *g, const char *mark, MgIntList *out);

/* Applied revisions not implied by another applied revision. */
extern void mg_current(const MgGraph *g, MgIntList *out);

/* Mark the revisions that carry the labels declared by label_rev. */
extern void mg_label_members(const MgGraph *g, int label_rev, char *mark);

extern char *mg_names(const MgGraph *g, const MgIntList *l);
extern bool mg_valid_id(const char *id, MgError *err, const char *what);
extern bool mg_reserved_name(const char *id);
extern bool mg_is_merge(const MgGraph *g, int idx);
extern int	mg_nchildren(const MgGraph *g, int idx);

#endif							/* MG_GRAPH_H */
