/*-------------------------------------------------------------------------
 *
 * graph.c
 *	  The revision graph: a hash table of ids and labels, adjacency arrays
 *	  in both directions, heads and bases, cycle detection, ancestors and
 *	  descendants, and a deterministic topological order.
 *
 * Pure C: no SPI, no catalog access, no ereport (see mg_core.h).  The
 * graph is built by appending revisions in registration order; derived
 * data (children arrays, heads, validity) is rebuilt in linear time by
 * mg_graph_prepare() whenever a revision was added since the last call.
 *
 *-------------------------------------------------------------------------
 */
#include "graph.h"

#include <stdio.h>

static bool mg_hash_has(const MgHash *h, const char *key);

/*
 * mg_hash_string: FNV-1a hash of a NUL-terminated string.
 */
static unsigned int
mg_hash_string(const char *s)
{
	unsigned int h = 2166136261u;

	for (; *s; s++)
	{
		h ^= (unsigned char) *s;
		h *= 16777619u;
	}
	return h;
}

/*
 * mg_hash_grow: double the table (or create it) and reinsert the keys.
 */
static void
mg_hash_grow(MgHash *h)
{
	int			oldcap = h->cap;
	const char **oldkeys = h->keys;
	int		   *oldvals = h->vals;

	h->cap = oldcap ? oldcap * 2 : 64;
	h->keys = mg_alloc(sizeof(char *) * h->cap);
	h->vals = mg_alloc(sizeof(int) * h->cap);
	h->used = 0;
	for (int i = 0; i < oldcap; i++)
		if (oldkeys[i] != NULL)
			mg_hash_put(h, oldkeys[i], oldvals[i]);
}

/*
 * mg_hash_put: set key -> val.  The key string is not copied: it must live
 * as long as the table (it always points into a revision).
 */
void
mg_hash_put(MgHash *h, const char *key, int val)
{
	unsigned int i;

	if ((h->used + 1) * 2 > h->cap)
		mg_hash_grow(h);
	i = mg_hash_string(key) & (h->cap - 1);
	while (h->keys[i] != NULL)
	{
		if (strcmp(h->keys[i], key) == 0)
		{
			h->vals[i] = val;
			return;
		}
		i = (i + 1) & (h->cap - 1);
	}
	h->keys[i] = key;
	h->vals[i] = val;
	h->used++;
}

/*
 * mg_hash_get: the value stored for key, or -1.
 */
int
mg_hash_get(const MgHash *h, const char *key)
{
	unsigned int i;

	if (h->cap == 0)
		return -1;
	i = mg_hash_string(key) & (h->cap - 1);
	while (h->keys[i] != NULL)
	{
		if (strcmp(h->keys[i], key) == 0)
			return h->vals[i];
		i = (i + 1) & (h->cap - 1);
	}
	return -1;
}

/*
 * mg_hash_has: is key present?
 */
static bool
mg_hash_has(const MgHash *h, const char *key)
{
	return mg_hash_get(h, key) >= 0;
}

/*
 * mg_hash_remove: delete key if present (backward-shift deletion keeps the
 * probe sequences intact).
 */
void
mg_hash_remove(MgHash *h, const char *key)
{
	unsigned int i,
				j;

	if (h->cap == 0)
		return;
	i = mg_hash_string(key) & (h->cap - 1);
	while (h->keys[i] != NULL && strcmp(h->keys[i], key) != 0)
		i = (i + 1) & (h->cap - 1);
	if (h->keys[i] == NULL)
		return;
	h->keys[i] = NULL;
	h->used--;
	j = i;
	for (;;)
	{
		unsigned int k;

		j = (j + 1) & (h->cap - 1);
		if (h->keys[j] == NULL)
			break;
		k = mg_hash_string(h->keys[j]) & (h->cap - 1);
		/* move the entry back unless its home lies cyclically in (i, j] */
		if ((i <= j) ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		h->keys[i] = h->keys[j];
		h->vals[i] = h->vals[j];
		h->keys[j] = NULL;
		i = j;
	}
}

/*
 * mg_graph_create: an empty graph with room for capacity_hint revisions.
 */
MgGraph *
mg_graph_create(int capacity_hint)
{
	MgGraph    *g = mg_alloc(sizeof(MgGraph));

	g->cap = capacity_hint > 16 ? capacity_hint : 16;
	g->revs = mg_alloc(sizeof(MgRev) * g->cap);
	g->dup_label_rev = -1;
	return g;
}

/*
 * mg_copy_names: copy an array of strings.
 */
static char **
mg_copy_names(const char *const *names, int n)
{
	char	  **out;

	if (n == 0)
		return NULL;
	out = mg_alloc(sizeof(char *) * n);
	for (int i = 0; i < n; i++)
		out[i] = mg_strdup(names[i]);
	return out;
}

/*
 * mg_graph_add: append a revision (registration order) and return its
 * index.  Names are not resolved here, since parents may be registered
 * later; mg_graph_prepare() resolves and validates.  Sets
 * g->added_was_referenced when an existing revision already named the new
 * id or one of its labels, the only case in which the new revision can
 * close a cycle.
 */
int
mg_graph_add(MgGraph *g, const char *id, const char *message, mg_int64 seq,
			 const char *const *parents, int nparents,
			 const char *const *deps, int ndeps,
			 const char *const *labels, int nlabels)
{
	MgRev	   *r;
	int			idx;

	if (g->n >= g->cap)
	{
		int			newcap = g->cap * 2;

		g->revs = mg_realloc(g->revs, sizeof(MgRev) * g->cap,
							 sizeof(MgRev) * newcap);
		g->cap = newcap;
	}
	idx = g->n++;
	r = &g->revs[idx];
	r->id = mg_strdup(id);
	r->message = message ? mg_strdup(message) : NULL;
	r->seq = seq;
	r->nparents = nparents;
	r->parent_ids = mg_copy_names(parents, nparents);
	r->parents = mg_alloc(sizeof(int) * (nparents ? nparents : 1));
	r->ndeps = ndeps;
	r->dep_ids = mg_copy_names(deps, ndeps);
	r->deps = mg_alloc(sizeof(int) * (ndeps ? ndeps : 1));
	r->nlabels = nlabels;
	r->labels = mg_copy_names(labels, nlabels);
	r->applied = false;

	g->added_was_referenced = false;
	mg_hash_put(&g->ids, r->id, idx);
	if (mg_hash_has(&g->unresolved, r->id))
	{
		mg_hash_remove(&g->unresolved, r->id);
		g->added_was_referenced = true;
	}
	for (int i = 0; i < nlabels; i++)
	{
		if (mg_hash_has(&g->labels, r->labels[i]))
		{
			if (g->dup_label_rev < 0)
			{
				g->dup_label_rev = idx;
				g->dup_label = r->labels[i];
			}
		}
		else
			mg_hash_put(&g->labels, r->labels[i], idx);
		if (mg_hash_has(&g->unresolved, r->labels[i]))
		{
			mg_hash_remove(&g->unresolved, r->labels[i]);
			g->added_was_referenced = true;
		}
	}
	for (int i = 0; i < nparents; i++)
		if (!mg_hash_has(&g->ids, r->parent_ids[i]))
			mg_hash_put(&g->unresolved, r->parent_ids[i], idx);
	for (int i = 0; i < ndeps; i++)
		if (!mg_hash_has(&g->ids, r->dep_ids[i]) &&
			!mg_hash_has(&g->labels, r->dep_ids[i]))
			mg_hash_put(&g->unresolved, r->dep_ids[i], idx);
	g->prepared = false;
	return idx;
}

/*
 * mg_graph_find: index of the revision with this exact id, or -1.
 */
int
mg_graph_find(const MgGraph *g, const char *id)
{
	return mg_hash_get(&g->ids, id);
}

/*
 * mg_graph_find_label: index of the revision declaring this label, or -1.
 */
int
mg_graph_find_label(MgGraph *g, const char *label)
{
	return mg_hash_get(&g->labels, label);
}

/*
 * mg_resolve_dep: a depends_on entry names a revision id or a branch label
 * (then it means the revision that declares the label).
 */
static int
mg_resolve_dep(const MgGraph *g, const char *name)
{
	int			i = mg_hash_get(&g->ids, name);

	if (i >= 0)
		return i;
	return mg_hash_get(&g->labels, name);
}

/*
 * mg_list_ids: "a, b, c" for up to max revisions of the list, then "...".
 */
static void
mg_list_ids(const MgGraph *g, const int *idx, int n, int max, MgBuf *b)
{
	for (int i = 0; i < n && i < max; i++)
	{
		if (i > 0)
			mg_buf_append(b, ", ");
		mg_buf_append(b, g->revs[idx[i]].id);
	}
	if (n > max)
		mg_buf_append(b, ", ...");
}

/*
 * mg_build_csr: children arrays in compressed form.  When with_deps is set,
 * a revision is also a child of what it depends on (each edge once).
 */
static void
mg_build_csr(MgGraph *g, bool with_deps, int **off_out, int **child_out)
{
	int			n = g->n;
	int		   *off = mg_alloc(sizeof(int) * (n + 1));
	int		   *fill = mg_alloc(sizeof(int) * (n + 1));
	int		   *child;
	int			total = 0;

	for (int pass = 0; pass < 2; pass++)
	{
		for (int i = 0; i < n; i++)
		{
			MgRev	   *r = &g->revs[i];
			int			nlinks = r->nparents + (with_deps ? r->ndeps : 0);

			for (int k = 0; k < nlinks; k++)
			{
				int			p = k < r->nparents ? r->parents[k] : r->deps[k - r->nparents];
				bool		dup = false;

				if (p < 0)
					continue;
				for (int m = 0; m < k && !dup; m++)
				{
					int			q = m < r->nparents ? r->parents[m] : r->deps[m - r->nparents];

					dup = (q == p);
				}
				if (dup)
					continue;
				if (pass == 0)
					off[p + 1]++;
				else
					child[fill[p]++] = i;
			}
		}
		if (pass == 0)
		{
			for (int i = 0; i < n; i++)
				off[i + 1] += off[i];
			total = off[n];
			child = mg_alloc(sizeof(int) * (total ? total : 1));
			memcpy(fill, off, sizeof(int) * (n + 1));
		}
	}
	mg_free(fill);
	*off_out = off;
	*child_out = child;
}

/*
 * mg_kahn_leftover: run Kahn's algorithm over parent edges (and dependency
 * edges when with_deps); mark in "left" the revisions on or between
 * cycles, and return how many there are.
 */
static int
mg_kahn_leftover(const MgGraph *g, bool with_deps, char *left)
{
	int			n = g->n;
	const int  *off = with_deps ? g->dep_off : g->child_off;
	const int  *child = with_deps ? g->dep_child : g->child;
	int		   *indeg = mg_alloc(sizeof(int) * (n ? n : 1));
	int		   *outdeg = mg_alloc(sizeof(int) * (n ? n : 1));
	int		   *queue = mg_alloc(sizeof(int) * (n ? n : 1));
	int			qh = 0,
				qt = 0,
				nleft = 0;

	for (int p = 0; p < n; p++)
		for (int k = off[p]; k < off[p + 1]; k++)
			indeg[child[k]]++;
	for (int i = 0; i < n; i++)
		if (indeg[i] == 0)
			queue[qt++] = i;
	while (qh < qt)
	{
		int			p = queue[qh++];

		for (int k = off[p]; k < off[p + 1]; k++)
			if (--indeg[child[k]] == 0)
				queue[qt++] = child[k];
	}
	if (qt == n)
	{
		mg_free(indeg);
		mg_free(outdeg);
		mg_free(queue);
		return 0;
	}

	/* peel off revisions that merely descend from a cycle */
	for (int i = 0; i < n; i++)
		left[i] = indeg[i] > 0;
	for (int p = 0; p < n; p++)
		if (left[p])
			for (int k = off[p]; k < off[p + 1]; k++)
				if (left[child[k]])
					outdeg[p]++;
	qh = qt = 0;
	for (int i = 0; i < n; i++)
		if (left[i] && outdeg[i] == 0)
			queue[qt++] = i;
	while (qh < qt)
	{
		const MgRev *r = &g->revs[queue[qh]];
		int			nlinks = r->nparents + (with_deps ? r->ndeps : 0);

		left[queue[qh++]] = 0;
		for (int k = 0; k < nlinks; k++)
		{
			int			p = k < r->nparents ? r->parents[k] : r->deps[k - r->nparents];
			bool		dup = false;

			/* each edge counts once, as in mg_build_csr */
			for (int m = 0; m < k && !dup; m++)
				dup = p == (m < r->nparents ? r->parents[m] : r->deps[m - r->nparents]);
			if (!dup && p >= 0 && left[p] && --outdeg[p] == 0)
				queue[qt++] = p;
		}
	}
	for (int i = 0; i < n; i++)
		nleft += left[i];
	mg_free(indeg);
	mg_free(outdeg);
	mg_free(queue);
	return nleft;
}

/*
 * mg_cycle_error: describe the revisions marked in "left".
 */
static bool
mg_cycle_error(MgGraph *g, const char *left, bool dependency, MgError *err)
{
	MgIntList	l = {0};
	MgBuf		b;

	for (int i = 0; i < g->n; i++)
		if (left[i])
			mg_list_push(&l, i);
	mg_buf_init(&b);
	mg_list_ids(g, l.v, l.n, 20, &b);
	return mg_fail(err, MG_ERR_CYCLE,
				   dependency ?
				   "Following depends_on together with down_revision leads from one of these revisions back to itself." :
				   "Following down_revision leads from one of these revisions back to itself.",
				   "Re-register one of these revisions with a down_revision (or depends_on) that does not create a loop.",
				   "%s detected among revisions %s",
				   dependency ? "dependency cycle" : "cycle", b.data);
}

/*
 * mg_graph_prepare: resolve names, validate, and rebuild derived data.
 * Returns false (with the reason in *err) when the graph cannot be used:
 * a label declared twice, an id equal to a label, an unknown parent or
 * depends_on, or a cycle.  The verdict is kept until the next change.
 */
bool
mg_graph_prepare(MgGraph *g, MgError *err)
{
	int			n = g->n;
	char	   *left;

	if (g->prepared)
	{
		if (!g->valid)
			*err = g->invalid;
		return g->valid;
	}
	g->prepared = true;
	g->valid = false;
	memset(&g->invalid, 0, sizeof(MgError));

	if (g->dup_label_rev >= 0)
	{
		int			first = mg_hash_get(&g->labels, g->dup_label);

		mg_fail(&g->invalid, MG_ERR_DUPLICATE,
				"A branch label may be declared by one revision only.",
				"Re-register one of the two revisions with another branch label.",
				"branch label \"%s\" is declared by both revision \"%s\" and revision \"%s\"",
				g->dup_label, g->revs[first].id, g->revs[g->dup_label_rev].id);
		*err = g->invalid;
		return false;
	}
	for (int i = 0; i < n; i++)
	{
		MgRev	   *r = &g->revs[i];

		for (int k = 0; k < r->nlabels; k++)
		{
			int			j = mg_hash_get(&g->ids, r->labels[k]);

			if (j >= 0)
			{
				mg_fail(&g->invalid, MG_ERR_DUPLICATE,
						"Targets name revisions and branches alike, so a label may not equal a revision id.",
						"Re-register the revision with another branch label.",
						"branch label \"%s\" of revision \"%s\" is also the id of revision \"%s\"",
						r->labels[k], r->id, g->revs[j].id);
				*err = g->invalid;
				return false;
			}
		}
	}
	for (int i = 0; i < n; i++)
	{
		MgRev	   *r = &g->revs[i];

		for (int k = 0; k < r->nparents; k++)
		{
			r->parents[k] = mg_hash_get(&g->ids, r->parent_ids[k]);
			if (r->parents[k] < 0)
			{
				mg_fail(&g->invalid, MG_ERR_DANGLING,
						"Revisions may be registered in any order, but every parent must be registered before the graph is used.",
						"Register the missing revision, or re-register the child with the right down_revision.",
						"revision \"%s\" names parent \"%s\", which is not registered",
						r->id, r->parent_ids[k]);
				*err = g->invalid;
				return false;
			}
		}
		for (int k = 0; k < r->ndeps; k++)
		{
			r->deps[k] = mg_resolve_dep(g, r->dep_ids[k]);
			if (r->deps[k] < 0)
			{
				mg_fail(&g->invalid, MG_ERR_DANGLING,
						"depends_on names a revision id or a branch label.",
						"Register the missing revision, or re-register the revision with the right depends_on.",
						"revision \"%s\" depends on \"%s\", which is neither a registered revision nor a branch label",
						r->id, r->dep_ids[k]);
				*err = g->invalid;
				return false;
			}
		}
	}

	mg_free(g->child_off);
	mg_free(g->child);
	mg_free(g->dep_off);
	mg_free(g->dep_child);
	g->child_off = g->child = g->dep_off = g->dep_child = NULL;
	mg_build_csr(g, false, &g->child_off, &g->child);
	mg_build_csr(g, true, &g->dep_off, &g->dep_child);

	left = mg_alloc(n ? n : 1);
	g->heads.n = g->real_heads.n = g->bases.n = 0;
	if (mg_kahn_leftover(g, false, left) > 0)
	{
		mg_cycle_error(g, left, false, &g->invalid);
		*err = g->invalid;
		return false;
	}
	if (mg_kahn_leftover(g, true, left) > 0)
	{
		mg_cycle_error(g, left, true, &g->invalid);
		*err = g->invalid;
		return false;
	}

	mg_free(left);
	for (int i = 0; i < n; i++)
	{
		if (g->child_off[i + 1] == g->child_off[i])
			mg_list_push(&g->heads, i);
		if (g->dep_off[i + 1] == g->dep_off[i])
			mg_list_push(&g->real_heads, i);
		if (g->revs[i].nparents == 0)
			mg_list_push(&g->bases, i);
	}
	g->valid = true;
	return true;
}

/*
 * mg_graph_would_cycle: after adding revision idx, does it lie on a cycle
 * through parents and resolvable depends_on?  Only names that are already
 * registered are followed.
 */
bool
mg_graph_would_cycle(MgGraph *g, int idx, MgError *err)
{
	char	   *seen = mg_alloc(g->n ? g->n : 1);
	MgIntList	stack = {0};
	MgIntList	path = {0};
	int		   *from = mg_alloc(sizeof(int) * (g->n ? g->n : 1));

	mg_list_push(&stack, idx);
	from[idx] = -1;
	seen[idx] = 1;
	while (stack.n > 0)
	{
		int			cur = stack.v[--stack.n];
		MgRev	   *r = &g->revs[cur];

		for (int k = 0; k < r->nparents + r->ndeps; k++)
		{
			const char *name = k < r->nparents ? r->parent_ids[k] :
			r->dep_ids[k - r->nparents];
			int			p = k < r->nparents ? mg_hash_get(&g->ids, name) :
			mg_resolve_dep(g, name);

			if (p < 0)
				continue;
			if (p == idx)
			{
				MgBuf		b;

				/* rebuild the loop from idx down to cur, then back to idx */
				for (int c = cur; c >= 0; c = from[c])
					mg_list_push(&path, c);
				mg_buf_init(&b);
				for (int i = path.n - 1; i >= 0; i--)
				{
					mg_buf_append(&b, g->revs[path.v[i]].id);
					mg_buf_append(&b, " -> ");
				}
				mg_buf_append(&b, g->revs[idx].id);
				return !mg_fail(err, MG_ERR_CYCLE,
								"Each arrow leads from a revision to one of its parents or dependencies.",
								"Give the revision a down_revision (or depends_on) that does not lead back to it.",
								"registering revision \"%s\" would create a cycle: %s",
								g->revs[idx].id, b.data);
			}
			if (!seen[p])
			{
				seen[p] = 1;
				from[p] = cur;
				mg_list_push(&stack, p);
			}
		}
	}
	return false;
}

/*
 * mg_ancestors: mark the seeds and everything reachable through parents
 * (and depends_on when with_deps).  Requires a prepared graph.
 */
void
mg_ancestors(const MgGraph *g, const int *seeds, int nseeds, bool with_deps,
			 char *mark)
{
	int		   *stack = mg_alloc(sizeof(int) * (g->n ? g->n : 1));
	char	   *seen = mg_alloc(g->n ? g->n : 1);
	int			sp = 0;

	for (int i = 0; i < nseeds; i++)
		if (seeds[i] >= 0 && !seen[seeds[i]])
		{
			seen[seeds[i]] = 1;
			stack[sp++] = seeds[i];
		}
	while (sp > 0)
	{
		const MgRev *r = &g->revs[stack[--sp]];
		int			nlinks = r->nparents + (with_deps ? r->ndeps : 0);

		mark[r - g->revs] = 1;
		for (int k = 0; k < nlinks; k++)
		{
			int			p = k < r->nparents ? r->parents[k] : r->deps[k - r->nparents];

			if (p >= 0 && !seen[p])
			{
				seen[p] = 1;
				stack[sp++] = p;
			}
		}
	}
}

/*
 * mg_descendants: mark the seeds and everything reachable through children
 * (and dependents when with_deps).  Requires a prepared graph.
 */
void
mg_descendants(const MgGraph *g, const int *seeds, int nseeds, bool with_deps,
			   char *mark)
{
	const int  *off = with_deps ? g->dep_off : g->child_off;
	const int  *child = with_deps ? g->dep_child : g->child;
	int		   *stack = mg_alloc(sizeof(int) * (g->n ? g->n : 1));
	char	   *seen = mg_alloc(g->n ? g->n : 1);
	int			sp = 0;

	for (int i = 0; i < nseeds; i++)
		if (seeds[i] >= 0 && !seen[seeds[i]])
		{
			seen[seeds[i]] = 1;
			stack[sp++] = seeds[i];
		}
	while (sp > 0)
	{
		int			cur = stack[--sp];

		mark[cur] = 1;
		for (int k = off[cur]; k < off[cur + 1]; k++)
			if (!seen[child[k]])
			{
				seen[child[k]] = 1;
				stack[sp++] = child[k];
			}
	}
}

/*
 * Binary min-heap of revision indexes; index order is registration order.
 */
static void
mg_heap_push(int *heap, int *size, int x)
{
	int			i = (*size)++;

	heap[i] = x;
	while (i > 0 && heap[(i - 1) / 2] > heap[i])
	{
		int			t = heap[i];

		heap[i] = heap[(i - 1) / 2];
		heap[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
}

static int
mg_heap_pop(int *heap, int *size)
{
	int			top = heap[0];
	int			i = 0;

	heap[0] = heap[--(*size)];
	for (;;)
	{
		int			l = 2 * i + 1,
					r = l + 1,
					m = i;

		if (l < *size && heap[l] < heap[m])
			m = l;
		if (r < *size && heap[r] < heap[m])
			m = r;
		if (m == i)
			break;
		heap[m] ^= heap[i];
		heap[i] ^= heap[m];
		heap[m] ^= heap[i];
		i = m;
	}
	return top;
}

/*
 * mg_topo_order: the marked revisions in topological order (parents and
 * depends_on before the revision), ties broken by registration order.
 */
void
mg_topo_order(const MgGraph *g, const char *mark, MgIntList *out)
{
	int			n = g->n;
	int		   *indeg = mg_alloc(sizeof(int) * (n ? n : 1));
	int		   *heap = mg_alloc(sizeof(int) * (n ? n : 1));
	int			hsize = 0;

	for (int p = 0; p < n; p++)
		if (mark[p])
			for (int k = g->dep_off[p]; k < g->dep_off[p + 1]; k++)
				if (mark[g->dep_child[k]])
					indeg[g->dep_child[k]]++;
	for (int i = 0; i < n; i++)
		if (mark[i] && indeg[i] == 0)
			mg_heap_push(heap, &hsize, i);
	while (hsize > 0)
	{
		int			p = mg_heap_pop(heap, &hsize);

		mg_list_push(out, p);
		for (int k = g->dep_off[p]; k < g->dep_off[p + 1]; k++)
		{
			int			c = g->dep_child[k];

			if (mark[c] && --indeg[c] == 0)
				mg_heap_push(heap, &hsize, c);
		}
	}
}

/*
 * mg_current: applied revisions that no applied revision names as parent
 * or dependency, in registration order.
 */
void
mg_current(const MgGraph *g, MgIntList *out)
{
	for (int i = 0; i < g->n; i++)
	{
		bool		implied = false;

		if (!g->revs[i].applied)
			continue;
		for (int k = g->dep_off[i]; k < g->dep_off[i + 1] && !implied; k++)
			implied = g->revs[g->dep_child[k]].applied;
		if (!implied)
			mg_list_push(out, i);
	}
}

/*
 * mg_is_merge: does the revision have two or more parents?
 */
bool
mg_is_merge(const MgGraph *g, int idx)
{
	return g->revs[idx].nparents > 1;
}

/*
 * mg_nchildren: number of children through down_revision.
 */
int
mg_nchildren(const MgGraph *g, int idx)
{
	return g->child_off[idx + 1] - g->child_off[idx];
}

/*
 * mg_label_members: mark the revisions that carry the branch labels
 * declared by label_rev, as Alembic assigns them: the declaring revision,
 * everything above it through down_revision, and the plain chain below the
 * last of those until a branch point (counting dependents) or a merge.
 * Alembic takes "the last of those" from a depth-first walk over a set;
 * we walk children in registration order, which is one of its outcomes.
 */
void
mg_label_members(const MgGraph *g, int label_rev, char *mark)
{
	int		   *stack = mg_alloc(sizeof(int) * (g->n ? g->n : 1));
	char	   *seen = mg_alloc(g->n ? g->n : 1);
	int			sp = 0,
				last = label_rev;

	stack[sp++] = label_rev;
	while (sp > 0)
	{
		int			cur = stack[--sp];

		if (seen[cur])
			continue;
		seen[cur] = 1;
		mark[cur] = 1;
		last = cur;
		for (int k = g->child_off[cur]; k < g->child_off[cur + 1]; k++)
			stack[sp++] = g->child[k];
	}
	for (int cur = last; cur >= 0;)
	{
		const MgRev *r = &g->revs[cur];

		if (g->dep_off[cur + 1] - g->dep_off[cur] > 1 || r->nparents > 1)
			break;
		mark[cur] = 1;
		cur = r->nparents == 1 ? r->parents[0] : -1;
	}
}

/*
 * mg_names: "a, b, c" for up to 10 revisions of a list, then "..."; a
 * negative entry (below every base) reads "base".
 */
char *
mg_names(const MgGraph *g, const MgIntList *l)
{
	MgBuf		b;

	mg_buf_init(&b);
	for (int i = 0; i < l->n && i < 10; i++)
	{
		if (i > 0)
			mg_buf_append(&b, ", ");
		mg_buf_append(&b, l->v[i] >= 0 ? g->revs[l->v[i]].id : "base");
	}
	if (l->n > 10)
		mg_buf_append(&b, ", ...");
	return b.data;
}

/*
 * mg_reserved_name: names the target grammar gives a meaning of its own.
 */
bool
mg_reserved_name(const char *id)
{
	return strcmp(id, "head") == 0 || strcmp(id, "heads") == 0 ||
		strcmp(id, "base") == 0;
}

/*
 * mg_valid_id: is this a well-formed revision id or branch label:
 * [A-Za-z0-9_]{1,64} and not a reserved word?  "what" names the thing in
 * the message ("revision id", "branch label", ...).
 */
bool
mg_valid_id(const char *id, MgError *err, const char *what)
{
	size_t		len = strlen(id);

	if (len == 0)
		return mg_fail(err, MG_ERR_NAME,
					   "Ids and labels are 1 to 64 characters from A-Z, a-z, 0-9 and _.",
					   NULL, "%s must not be empty", what);
	if (len > MG_ID_MAXLEN)
		return mg_fail(err, MG_ERR_NAME,
					   "Ids and labels are 1 to 64 characters from A-Z, a-z, 0-9 and _.",
					   "Use a shorter name.",
					   "%s \"%.64s...\" is longer than 64 characters", what, id);
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_'))
		{
			char		detail[256];

			if (c == '@' || c == '+' || c == '-' || c == ':')
				snprintf(detail, sizeof(detail),
						 "The character \"%c\" belongs to the target grammar (label@head, +1, -1, A:B).", c);
			else
				snprintf(detail, sizeof(detail),
						 "Ids and labels are 1 to 64 characters from A-Z, a-z, 0-9 and _.");
			return mg_fail(err, MG_ERR_NAME, detail,
						   "Use only letters, digits and underscores.",
						   "%s \"%.100s\" contains a character that is not allowed", what, id);
		}
	}
	if (mg_reserved_name(id))
		return mg_fail(err, MG_ERR_NAME,
					   "head, heads and base are targets of their own.",
					   "Choose another name.",
					   "%s \"%s\" is a reserved word", what, id);
	return true;
}
