/*-------------------------------------------------------------------------
 *
 * fuzz_common.c
 *	  Shared parts of the fuzz targets: the allocation tracker, the graph
 *	  notation reader, and the property checks run on every answer of the
 *	  core (see fuzz_common.h).
 *
 * A violated property calls fz_fail(), which aborts: libFuzzer (or the
 * fallback driver) then reports the input as a crash, exactly like a
 * sanitizer finding.
 *
 *-------------------------------------------------------------------------
 */
#include "fuzz_common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Allocation tracker                                                  */
/* ------------------------------------------------------------------ */

/*
 * Live blocks are kept in an open-addressing set of pointers, outside the
 * blocks themselves: a header in front of each block would hide an
 * underflow (mark[-1]) from AddressSanitizer.  The blocks of the current
 * input are also listed in allocation order, so that fz_reset() visits
 * only them; a generation number empties the set in constant time.
 */
typedef struct FzSlot
{
	void	   *ptr;
	uint32_t	gen;			/* the slot is in use only in this generation */
	uint32_t	pos;			/* index in fz_blocks; UINT32_MAX: deleted */
} FzSlot;

static FzSlot *fz_slots = NULL;
static size_t fz_cap = 0;		/* power of two */
static size_t fz_used = 0;		/* slots in use this generation, deleted ones too */
static uint32_t fz_gen = 1;
static void **fz_blocks = NULL; /* this input's blocks; NULL once freed */
static size_t fz_nblocks = 0;
static size_t fz_blocks_cap = 0;

/*
 * fz_hash_ptr: a well-mixed hash of a pointer value.
 */
static size_t
fz_hash_ptr(const void *p)
{
	uint64_t	x = (uint64_t) (uintptr_t) p;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (size_t) x;
}

static void fz_slot_put(void *p, uint32_t pos);

/*
 * fz_rehash: a table with room for four times the live blocks (deleted
 * slots go).
 */
static void
fz_rehash(void)
{
	size_t		want = 1024;
	size_t		live = 0;

	for (size_t i = 0; i < fz_nblocks; i++)
		live += fz_blocks[i] != NULL;
	while (want < live * 4)
		want *= 2;
	free(fz_slots);
	fz_slots = calloc(want, sizeof(FzSlot));
	if (fz_slots == NULL)
		abort();
	fz_cap = want;
	fz_used = 0;
	fz_gen = 1;
	for (size_t i = 0; i < fz_nblocks; i++)
		if (fz_blocks[i] != NULL)
			fz_slot_put(fz_blocks[i], (uint32_t) i);
}

/*
 * fz_slot_put: enter p (at position pos of fz_blocks) into the set.
 */
static void
fz_slot_put(void *p, uint32_t pos)
{
	size_t		i;

	if ((fz_used + 1) * 2 > fz_cap)
		fz_rehash();
	i = fz_hash_ptr(p) & (fz_cap - 1);
	while (fz_slots[i].gen == fz_gen)
		i = (i + 1) & (fz_cap - 1);
	fz_slots[i].ptr = p;
	fz_slots[i].gen = fz_gen;
	fz_slots[i].pos = pos;
	fz_used++;
}

/*
 * fz_track_add: remember a new block.
 */
static void
fz_track_add(void *p)
{
	if (fz_nblocks == fz_blocks_cap)
	{
		fz_blocks_cap = fz_blocks_cap ? fz_blocks_cap * 2 : 4096;
		fz_blocks = realloc(fz_blocks, fz_blocks_cap * sizeof(void *));
		if (fz_blocks == NULL)
			abort();
	}
	fz_blocks[fz_nblocks] = p;
	fz_slot_put(p, (uint32_t) fz_nblocks);
	fz_nblocks++;
}

/*
 * fz_track_del: forget a block; freeing a block the core never allocated
 * (or freed already) is a bug of its own.
 */
static void
fz_track_del(void *p)
{
	size_t		i;

	if (fz_cap == 0)
		fz_fail("free of an unknown pointer %p", p);
	i = fz_hash_ptr(p) & (fz_cap - 1);
	for (;;)
	{
		if (fz_slots[i].gen != fz_gen)
			fz_fail("free of an unknown pointer %p", p);
		if (fz_slots[i].ptr == p && fz_slots[i].pos != UINT32_MAX)
			break;
		i = (i + 1) & (fz_cap - 1);
	}
	fz_blocks[fz_slots[i].pos] = NULL;
	fz_slots[i].pos = UINT32_MAX;
}

/*
 * fz_calloc, fz_realloc, fz_free: the C-heap calls of mg_core.c, on the
 * real heap (so AddressSanitizer guards every block), remembered.
 */
void *
fz_calloc(size_t nmemb, size_t size)
{
	void	   *p = calloc(nmemb, size);

	if (p != NULL)
		fz_track_add(p);
	return p;
}

void *
fz_realloc(void *ptr, size_t size)
{
	void	   *p;

	if (ptr == NULL)
		return fz_calloc(1, size);
	fz_track_del(ptr);
	p = realloc(ptr, size);
	if (p == NULL)
		abort();
	fz_track_add(p);
	return p;
}

void
fz_free(void *ptr)
{
	if (ptr == NULL)
		return;
	fz_track_del(ptr);
	free(ptr);
}

/*
 * fz_reset: free every block of this input that is still allocated.
 */
void
fz_reset(void)
{
	for (size_t i = 0; i < fz_nblocks; i++)
		free(fz_blocks[i]);
	fz_nblocks = 0;
	fz_used = 0;
	if (++fz_gen == 0)
	{
		/* after 2^32 generations: really empty the table */
		if (fz_cap > 0)
			memset(fz_slots, 0, fz_cap * sizeof(FzSlot));
		fz_gen = 1;
	}
}

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

/*
 * fz_fail: report a broken property and abort, so that the input is
 * reported as a crash.
 */
void
fz_fail(const char *fmt,...)
{
	va_list		ap;

	fprintf(stderr, "pg_migrate fuzz: property violated: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

/*
 * fz_cstring: the input as a C string (cut at its first NUL, if any).
 */
char *
fz_cstring(const uint8_t *data, size_t size)
{
	char	   *s = malloc(size + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/*
 * fz_split: the pieces of s between the separators (empty pieces kept, so
 * "a,,b" has three), at most max; an empty s has none.  The pieces point
 * into s, which is modified.
 */
static int
fz_split(char *s, char sep, char **out, int max)
{
	int			n = 0;

	if (*s == '\0')
		return 0;
	for (;;)
	{
		char	   *next = strchr(s, sep);

		if (n == max)
			break;
		out[n++] = s;
		if (next == NULL)
			break;
		*next = '\0';
		s = next + 1;
	}
	return n;
}

/* ------------------------------------------------------------------ */
/* Graph notation                                                      */
/* ------------------------------------------------------------------ */

#define FZ_MAX_NAMES 32

/*
 * fz_add_entry: add one "id[:parents] [+deps] [@labels] [message]" entry.
 */
static void
fz_add_entry(MgGraph *g, char *entry)
{
	char	   *tok[8];
	int			ntok = 0;
	char	   *p = entry;
	char	   *parents[FZ_MAX_NAMES],
			   *deps[FZ_MAX_NAMES],
			   *labels[FZ_MAX_NAMES];
	int			np = 0,
				nd = 0,
				nl = 0;
	char	   *message = NULL;
	char	   *colon;
	int			idx;

	/* whitespace-separated tokens */
	while (*p && ntok < 8)
	{
		while (*p == ' ' || *p == '\t' || *p == '\r')
			*p++ = '\0';
		if (*p == '\0')
			break;
		tok[ntok++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\r')
			p++;
	}
	if (ntok == 0)
		return;
	if (strcmp(tok[0], "!") == 0)
	{
		MgError		err;

		memset(&err, 0, sizeof(err));
		if (!mg_graph_prepare(g, &err))
			fz_check_error(&err);
		return;
	}
	colon = strchr(tok[0], ':');
	if (colon != NULL)
	{
		*colon = '\0';
		np = fz_split(colon + 1, ',', parents, FZ_MAX_NAMES);
	}
	for (int i = 1; i < ntok; i++)
	{
		if (tok[i][0] == '+' && nd == 0)
			nd = fz_split(tok[i] + 1, ',', deps, FZ_MAX_NAMES);
		else if (tok[i][0] == '@' && nl == 0)
			nl = fz_split(tok[i] + 1, ',', labels, FZ_MAX_NAMES);
		else if (message == NULL)
			message = tok[i];
	}
	if (mg_graph_find(g, tok[0]) >= 0)
		return;					/* the catalog's primary key */
	idx = mg_graph_add(g, tok[0], message, (mg_int64) g->n + 1,
					   (const char *const *) parents, np,
					   (const char *const *) deps, nd,
					   (const char *const *) labels, nl);
	if (idx != g->n - 1 || strcmp(g->revs[idx].id, tok[0]) != 0 ||
		mg_graph_find(g, tok[0]) != idx)
		fz_fail("mg_graph_add returned %d for \"%s\"", idx, tok[0]);
	/* what migrate.revision() does after adding to the cached graph */
	if (g->added_was_referenced)
	{
		MgError		err;

		memset(&err, 0, sizeof(err));
		if (mg_graph_would_cycle(g, idx, &err))
			fz_check_error(&err);
	}
}

/*
 * fz_build_graph: a graph from the notation described in fuzz_common.h.
 */
MgGraph *
fz_build_graph(const char *spec, int max_revs)
{
	MgGraph    *g = mg_graph_create(0);
	char	   *work = mg_strdup(spec);
	char	   *p = work;

	while (*p && g->n < max_revs)
	{
		size_t		len = strcspn(p, ";\n");
		char		save = p[len];

		p[len] = '\0';
		fz_add_entry(g, p);
		if (save == '\0')
			break;
		p += len + 1;
	}
	return g;
}

/*
 * fz_set_applied: the named revisions and their ancestors applied, the
 * others not.
 */
void
fz_set_applied(MgGraph *g, const char *ids)
{
	char	   *work = mg_strdup(ids);
	char	   *mark = mg_alloc(g->n ? g->n : 1);
	MgIntList	seeds = {0};
	char	   *tok[FZ_MAX_NAMES];
	int			n = fz_split(work, ' ', tok, FZ_MAX_NAMES);

	for (int i = 0; i < n; i++)
	{
		int			x = mg_graph_find(g, tok[i]);

		if (x >= 0)
			mg_list_push(&seeds, x);
	}
	mg_ancestors(g, seeds.v, seeds.n, true, mark);
	for (int i = 0; i < g->n; i++)
		g->revs[i].applied = mark[i] != 0;
}

/* ------------------------------------------------------------------ */
/* Properties                                                          */
/* ------------------------------------------------------------------ */

/* number of links (parents, then depends_on) of revision r */
#define FZ_NLINKS(r) ((r)->nparents + (r)->ndeps)
#define FZ_LINK(r, k) ((k) < (r)->nparents ? (r)->parents[k] : (r)->deps[(k) - (r)->nparents])

/*
 * fz_check_error: a failure has a class and a message, and its texts fit
 * their buffers.
 */
void
fz_check_error(const MgError *err)
{
	if (err->code == MG_OK)
		fz_fail("a failing call left the error code MG_OK");
	if (memchr(err->message, '\0', MG_MSG_LEN) == NULL ||
		memchr(err->detail, '\0', MG_MSG_LEN) == NULL ||
		memchr(err->hint, '\0', MG_MSG_LEN) == NULL)
		fz_fail("an error text is not NUL-terminated");
	if (err->message[0] == '\0')
		fz_fail("an error without a message (code %d)", (int) err->code);
}

/*
 * fz_check_list: every entry is a revision index, or (when allowed) one of
 * MG_NONE and MG_BASE.
 */
static void
fz_check_list(const MgGraph *g, const MgIntList *l, bool allow_symbols,
			  const char *what)
{
	if (l->n < 0 || (l->n > 0 && l->v == NULL))
		fz_fail("%s: broken list", what);
	for (int i = 0; i < l->n; i++)
	{
		int			x = l->v[i];

		if (x >= g->n || (x < 0 && !(allow_symbols && (x == MG_NONE || x == MG_BASE))))
			fz_fail("%s: entry %d is %d (graph of %d)", what, i, x, g->n);
	}
}

/* fz_check_distinct: no revision twice in the list */
static void
fz_check_distinct(const MgGraph *g, const MgIntList *l, const char *what)
{
	char	   *seen = mg_alloc(g->n ? g->n : 1);

	for (int i = 0; i < l->n; i++)
	{
		if (l->v[i] < 0)
			continue;
		if (seen[l->v[i]])
			fz_fail("%s: revision \"%s\" listed twice", what, g->revs[l->v[i]].id);
		seen[l->v[i]] = 1;
	}
}

/* fz_check_closed: every parent and dependency of a marked revision is marked */
static void
fz_check_closed(const MgGraph *g, const char *mark, const char *what)
{
	for (int i = 0; i < g->n; i++)
	{
		const MgRev *r = &g->revs[i];

		if (!mark[i])
			continue;
		for (int k = 0; k < FZ_NLINKS(r); k++)
			if (!mark[FZ_LINK(r, k)])
				fz_fail("%s: \"%s\" is kept but its ancestor \"%s\" is not",
						what, r->id, g->revs[FZ_LINK(r, k)].id);
	}
}

/*
 * fz_check_upgrade_steps: distinct unapplied revisions, each after its
 * parents and dependencies (which are applied or earlier steps).
 */
static void
fz_check_upgrade_steps(const MgGraph *g, const MgIntList *steps)
{
	char	   *have = mg_alloc(g->n ? g->n : 1);

	fz_check_list(g, steps, false, "upgrade plan");
	fz_check_distinct(g, steps, "upgrade plan");
	for (int i = 0; i < g->n; i++)
		have[i] = g->revs[i].applied;
	for (int s = 0; s < steps->n; s++)
	{
		const MgRev *r = &g->revs[steps->v[s]];

		if (r->applied)
			fz_fail("upgrade plan: \"%s\" is applied already", r->id);
		for (int k = 0; k < FZ_NLINKS(r); k++)
			if (!have[FZ_LINK(r, k)])
				fz_fail("upgrade plan: \"%s\" comes before its ancestor \"%s\"",
						r->id, g->revs[FZ_LINK(r, k)].id);
		have[steps->v[s]] = 1;
	}
}

/*
 * fz_check_downgrade_steps: distinct applied revisions, each removed only
 * once nothing applied depends on it any more.
 */
static void
fz_check_downgrade_steps(const MgGraph *g, const MgIntList *steps)
{
	char	   *have = mg_alloc(g->n ? g->n : 1);

	fz_check_list(g, steps, false, "downgrade plan");
	fz_check_distinct(g, steps, "downgrade plan");
	for (int i = 0; i < g->n; i++)
		have[i] = g->revs[i].applied;
	for (int s = 0; s < steps->n; s++)
	{
		int			x = steps->v[s];

		if (!g->revs[x].applied)
			fz_fail("downgrade plan: \"%s\" is not applied", g->revs[x].id);
		for (int k = g->dep_off[x]; k < g->dep_off[x + 1]; k++)
			if (have[g->dep_child[k]])
				fz_fail("downgrade plan: \"%s\" is removed before \"%s\", which depends on it",
						g->revs[x].id, g->revs[g->dep_child[k]].id);
		have[x] = 0;
	}
	fz_check_closed(g, have, "after the downgrade plan");
}

/*
 * fz_check_graph: what a prepared, valid graph must satisfy.
 */
void
fz_check_graph(MgGraph *g)
{
	char	   *all = mg_alloc(g->n ? g->n : 1);
	char	   *pos_set = mg_alloc(g->n ? g->n : 1);
	MgIntList	order = {0};
	MgIntList	cur = {0};
	MgError		err;

	/* a topological order of everything: each revision once, after its links */
	memset(all, 1, g->n);
	mg_topo_order(g, all, &order);
	if (order.n != g->n)
		fz_fail("topological order has %d of %d revisions", order.n, g->n);
	fz_check_list(g, &order, false, "topological order");
	fz_check_distinct(g, &order, "topological order");
	for (int s = 0; s < order.n; s++)
	{
		const MgRev *r = &g->revs[order.v[s]];

		for (int k = 0; k < FZ_NLINKS(r); k++)
			if (!pos_set[FZ_LINK(r, k)])
				fz_fail("topological order: \"%s\" before its ancestor \"%s\"",
						r->id, g->revs[FZ_LINK(r, k)].id);
		pos_set[order.v[s]] = 1;
	}

	/* heads, real heads and bases are what their definitions say */
	fz_check_list(g, &g->heads, false, "heads");
	fz_check_list(g, &g->real_heads, false, "real heads");
	fz_check_list(g, &g->bases, false, "bases");
	for (int i = 0, nh = 0, nr = 0, nb = 0; i < g->n; i++)
	{
		bool		is_head = g->child_off[i + 1] == g->child_off[i];
		bool		is_real = g->dep_off[i + 1] == g->dep_off[i];
		bool		is_base = g->revs[i].nparents == 0;

		if (is_head != mg_list_contains(&g->heads, i) ||
			is_real != mg_list_contains(&g->real_heads, i) ||
			is_base != mg_list_contains(&g->bases, i))
			fz_fail("heads/bases disagree with the children of \"%s\"", g->revs[i].id);
		nh += is_head;
		nr += is_real;
		nb += is_base;
		if (i == g->n - 1 &&
			(nh != g->heads.n || nr != g->real_heads.n || nb != g->bases.n))
			fz_fail("heads/bases listed twice");
		(void) mg_nchildren(g, i);
		(void) mg_is_merge(g, i);
	}
	if (g->n > 0 && (g->heads.n == 0 || g->bases.n == 0))
		fz_fail("a non-empty acyclic graph without heads or bases");

	/* a valid graph has no cycle through any revision */
	for (int i = 0; i < g->n; i++)
	{
		memset(&err, 0, sizeof(err));
		if (mg_graph_would_cycle(g, i, &err))
			fz_fail("valid graph, but a cycle through \"%s\": %s", g->revs[i].id, err.message);
	}

	/* current: applied, and implied by no applied revision */
	mg_current(g, &cur);
	fz_check_list(g, &cur, false, "current");
	for (int i = 0; i < cur.n; i++)
	{
		int			x = cur.v[i];

		if (!g->revs[x].applied)
			fz_fail("current: \"%s\" is not applied", g->revs[x].id);
		for (int k = g->dep_off[x]; k < g->dep_off[x + 1]; k++)
			if (g->revs[g->dep_child[k]].applied)
				fz_fail("current: \"%s\" has an applied child", g->revs[x].id);
	}
	(void) mg_names(g, &cur);
	(void) mg_names(g, &g->heads);

	/* branch membership of every labelled revision includes it */
	for (int i = 0; i < g->n; i++)
		if (g->revs[i].nlabels > 0)
		{
			char	   *mark = mg_alloc(g->n);

			mg_label_members(g, i, mark);
			if (!mark[i])
				fz_fail("label members of \"%s\" leave it out", g->revs[i].id);
		}
}

/*
 * fz_stamp: mg_plan_stamp with the given targets; the new applied set must
 * be closed under ancestry.
 */
static void
fz_stamp(MgGraph *g, const char *const *targets, int n, bool purge)
{
	char	   *na = mg_alloc(g->n ? g->n : 1);
	MgError		err;

	memset(&err, 0, sizeof(err));
	if (mg_plan_stamp(g, targets, n, purge, na, &err))
		fz_check_closed(g, na, "stamp");
	else
		fz_check_error(&err);
}

/*
 * fz_history: mg_history_range on a range; the answer lists distinct
 * revisions.
 */
static void
fz_history(MgGraph *g, const char *range)
{
	MgIntList	out = {0};
	MgError		err;

	memset(&err, 0, sizeof(err));
	if (mg_history_range(g, range, &out, &err))
	{
		fz_check_list(g, &out, false, "history");
		fz_check_distinct(g, &out, "history");
	}
	else
		fz_check_error(&err);
}

/*
 * fz_exercise_target: every entry point of target.c and plan.c on one
 * string, each answer checked.
 */
void
fz_exercise_target(MgGraph *g, const char *t)
{
	MgIntList	cur = {0};
	MgIntList	out;
	MgError		err;
	int			rev;
	char	   *label;
	size_t		tlen = strlen(t);
	char	   *buf = mg_alloc(tlen + 16);

	mg_current(g, &cur);

#define FZ_CALL(expr, ok_block) \
	do { \
		memset(&out, 0, sizeof(out)); \
		memset(&err, 0, sizeof(err)); \
		if (expr) { ok_block; } else fz_check_error(&err); \
	} while (0)

	FZ_CALL(mg_get_revisions(g, t, &out, &err),
			fz_check_list(g, &out, true, "get_revisions"));
	rev = 12345;
	FZ_CALL(mg_get_revision(g, t, &rev, &err),
			if (rev >= g->n || rev < MG_BASE)
			fz_fail("get_revision gave %d", rev));
	rev = 12345;
	FZ_CALL(mg_resolve_branch(g, t, &rev, &err),
			if (rev < 0 || rev >= g->n)
			fz_fail("resolve_branch gave %d", rev));
	for (int wd = 0; wd < 2; wd++)
	{
		FZ_CALL(mg_filter_for_lineage(g, &g->heads, t, wd, &out, &err),
				fz_check_list(g, &out, false, "filter_for_lineage");
				for (int i = 0; i < out.n; i++)
				if (!mg_list_contains(&g->heads, out.v[i]))
				fz_fail("filter_for_lineage added a revision"));
		FZ_CALL(mg_filter_for_lineage(g, &cur, t, wd, &out, &err),
				fz_check_list(g, &out, false, "filter_for_lineage"));
	}
	FZ_CALL(mg_upgrade_targets(g, &cur, t, &out, &err),
			fz_check_list(g, &out, true, "upgrade_targets"));
	FZ_CALL(mg_upgrade_targets_ex(g, &cur, t, true, &out, &err),
			fz_check_list(g, &out, true, "upgrade_targets_ex"));
	rev = 12345;
	label = NULL;
	FZ_CALL(mg_downgrade_target(g, &cur, t, &label, &rev, &err),
			if (rev >= g->n || rev < MG_BASE)
			fz_fail("downgrade_target gave %d", rev));
	FZ_CALL(mg_resolve_target(g, &cur, t, &out, &err),
			fz_check_list(g, &out, true, "resolve_target"));
	FZ_CALL(mg_plan_upgrade(g, t, &out, &err),
			fz_check_upgrade_steps(g, &out));
	FZ_CALL(mg_plan_downgrade(g, t, &out, &err),
			fz_check_downgrade_steps(g, &out));
#undef FZ_CALL

	/* stamp: alone, with purge, and together with other targets */
	{
		const char *one[1] = {t};
		const char *two[2] = {t, "heads"};
		const char *three[3] = {"base", t, NULL};

		fz_stamp(g, one, 1, false);
		fz_stamp(g, one, 1, true);
		fz_stamp(g, two, 2, false);
		fz_stamp(g, three, 3, true);
	}

	/* history: the string as a range, and as either end of one */
	fz_history(g, t);
	fz_history(g, NULL);
	snprintf(buf, tlen + 16, "%s:", t);
	fz_history(g, buf);
	snprintf(buf, tlen + 16, ":%s", t);
	fz_history(g, buf);
	snprintf(buf, tlen + 16, "%s:heads", t);
	fz_history(g, buf);
}
