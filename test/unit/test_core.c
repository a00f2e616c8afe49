/*-------------------------------------------------------------------------
 *
 * test_core.c
 *	  Unit tests of pg_migrate's pure core (mg_core.c, graph.c, target.c,
 *	  plan.c) and lock retry policy (retry_policy.c) built with
 *	  -DMG_STANDALONE, printing TAP.
 *
 * Expected answers for targets, plans and stamps come from Alembic 1.8.1
 * (python3-alembic on Debian), see ref_alembic.py next to this file, except
 * where pg_migrate deliberately differs (a relative target must be the
 * whole string; "-1" from several current revisions is an error).
 *
 * Graphs are written as a small spec, one revision per ';'-separated
 * entry, in registration order:
 *
 *     "a; b:a; c1:b @c1branch; m:b,c1; y:x +b,c1branch"
 *
 * "id" or "id:parent1,parent2", then "+dep1,dep2" for depends_on and
 * "@label1,label2" for branch labels.  Lists of revisions are compared as
 * space-separated ids in the order the core returns them (its order is
 * deterministic: registration order among independent revisions); an
 * expected "ERR:CODE" or "ERR:CODE~text" matches an error of that class
 * whose message (or detail, or hint) contains text.
 *
 *-------------------------------------------------------------------------
 */
#include "mg_core.h"
#include "graph.h"
#include "target.h"
#include "plan.h"
#include "retry_policy.h"

#include <stdarg.h>
#include <stdio.h>

/*
 * Leaks are by design in standalone builds (nothing is freed), so keep
 * LeakSanitizer quiet when the driver is built with -fsanitize=address;
 * without it this function is simply never called.
 */
const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
	return "detect_leaks=0:abort_on_error=0";
}

/* ------------------------------------------------------------------ */
/* TAP                                                                */
/* ------------------------------------------------------------------ */

static int	ntests = 0;
static int	nfailed = 0;

/*
 * TAP output is collected here and printed after the plan ("1..N") once
 * every test has run, so that the plan comes first without a hand-kept
 * count.
 */
static char *tap_buf = NULL;
static size_t tap_len = 0,
			tap_cap = 0;

static void
tap_out(const char *s)
{
	size_t		n = strlen(s);

	if (tap_len + n + 1 > tap_cap)
	{
		tap_cap = (tap_len + n + 1) * 2;
		tap_buf = realloc(tap_buf, tap_cap);
		if (!tap_buf)
			abort();
	}
	memcpy(tap_buf + tap_len, s, n + 1);
	tap_len += n;
}

static void
tap_flush(void)
{
	if (tap_buf)
		fputs(tap_buf, stdout);
	tap_len = 0;
	if (tap_buf)
		tap_buf[0] = '\0';
	fflush(stdout);
}

static void
diag(const char *fmt,...)
{
	char		buf[8192];
	va_list		ap;
	char	   *line;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* every line of a diagnostic starts with "# " */
	line = buf;
	for (;;)
	{
		char	   *nl = strchr(line, '\n');

		if (nl)
			*nl = '\0';
		tap_out("#   ");
		tap_out(line);
		tap_out("\n");
		if (!nl)
			break;
		line = nl + 1;
	}
}

static bool
ok(bool cond, const char *fmt,...)
{
	char		name[1024];
	char		line[1200];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	/* '#' would start a TAP directive in the description */
	for (char *p = name; *p; p++)
		if (*p == '#' || *p == '\n')
			*p = '%';
	ntests++;
	if (!cond)
		nfailed++;
	snprintf(line, sizeof(line), "%sok %d - %s\n", cond ? "" : "not ", ntests, name);
	tap_out(line);
	return cond;
}

static void
bail(const char *fmt,...)
{
	char		buf[2048];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	tap_flush();
	printf("Bail out! %s\n", buf);
	exit(2);
}

/* ------------------------------------------------------------------ */
/* Results as strings                                                  */
/* ------------------------------------------------------------------ */

static const char *
code_name(MgErrCode c)
{
	switch (c)
	{
		case MG_OK:
			return "OK";
		case MG_ERR_UNDEFINED:
			return "UNDEFINED";
		case MG_ERR_AMBIGUOUS:
			return "AMBIGUOUS";
		case MG_ERR_SYNTAX:
			return "SYNTAX";
		case MG_ERR_RANGE:
			return "RANGE";
		case MG_ERR_DANGLING:
			return "DANGLING";
		case MG_ERR_CYCLE:
			return "CYCLE";
		case MG_ERR_DUPLICATE:
			return "DUPLICATE";
		case MG_ERR_STATE:
			return "STATE";
		case MG_ERR_NAME:
			return "NAME";
		case MG_ERR_INVALID:
			return "INVALID";
	}
	return "?";
}

static char *
sdup(const char *s)
{
	char	   *p = malloc(strlen(s) + 1);

	if (!p)
		abort();
	strcpy(p, s);
	return p;
}

static char *
fmt(const char *f,...)
{
	char		buf[8192];
	va_list		ap;

	va_start(ap, f);
	vsnprintf(buf, sizeof(buf), f, ap);
	va_end(ap);
	return sdup(buf);
}

static const char *
rev_name(const MgGraph *g, int i)
{
	if (i == MG_NONE)
		return "<none>";
	if (i == MG_BASE)
		return "<base>";
	if (i < 0 || i >= g->n)
		return "<bad-index>";
	return g->revs[i].id;
}

/* "a b c": the list in its order */
static char *
names(const MgGraph *g, const MgIntList *l)
{
	MgBuf		b;

	mg_buf_init(&b);
	for (int i = 0; i < l->n; i++)
	{
		if (i > 0)
			mg_buf_append(&b, " ");
		mg_buf_append(&b, rev_name(g, l->v[i]));
	}
	return b.data;
}

/* "a b c": the marked revisions in registration order */
static char *
mark_names(const MgGraph *g, const char *mark)
{
	MgIntList	l = {0};

	for (int i = 0; i < g->n; i++)
		if (mark[i])
			mg_list_push(&l, i);
	return names(g, &l);
}

/* the revisions currently marked applied */
static char *
applied_names(const MgGraph *g)
{
	char	   *m = mg_alloc(g->n ? g->n : 1);

	for (int i = 0; i < g->n; i++)
		m[i] = g->revs[i].applied;
	return mark_names(g, m);
}

static char *
err_string(const MgError *e)
{
	return fmt("ERR:%s|%s|%s|%s", code_name(e->code), e->message, e->detail,
			   e->hint);
}

/*
 * Does "got" match "expected"?  Lists compare exactly; "ERR:CODE" matches
 * any error of that class, "ERR:CODE~text" also needs text somewhere in
 * the message, detail or hint.
 */
static bool
matches(const char *got, const char *expected)
{
	const char *tilde;
	size_t		codelen;

	if (strncmp(expected, "ERR:", 4) != 0)
		return strcmp(got, expected) == 0;
	tilde = strchr(expected, '~');
	codelen = tilde ? (size_t) (tilde - expected) : strlen(expected);
	if (strncmp(got, expected, codelen) != 0 || got[codelen] != '|')
		return false;
	return tilde == NULL || strstr(got + codelen, tilde + 1) != NULL;
}

static bool
is(const char *got, const char *expected, const char *fmtstr,...)
{
	char		name[1024];
	va_list		ap;
	bool		r;

	va_start(ap, fmtstr);
	vsnprintf(name, sizeof(name), fmtstr, ap);
	va_end(ap);
	r = ok(matches(got, expected), "%s", name);
	if (!r)
	{
		diag("     got: '%s'", got);
		diag("expected: '%s'", expected);
	}
	return r;
}

static bool
is_int(long got, long expected, const char *fmtstr,...)
{
	char		name[1024];
	va_list		ap;
	bool		r;

	va_start(ap, fmtstr);
	vsnprintf(name, sizeof(name), fmtstr, ap);
	va_end(ap);
	r = ok(got == expected, "%s", name);
	if (!r)
		diag("got %ld, expected %ld", got, expected);
	return r;
}

/* ------------------------------------------------------------------ */
/* Building graphs                                                     */
/* ------------------------------------------------------------------ */

/* split s at any of seps into at most max non-empty copies */
static int
split(const char *s, const char *seps, char **out, int max)
{
	int			n = 0;
	const char *p = s;

	while (*p)
	{
		size_t		len;

		p += strspn(p, seps);
		len = strcspn(p, seps);
		if (len == 0)
			break;
		if (n == max)
			bail("spec too long: %s", s);
		out[n] = malloc(len + 1);
		memcpy(out[n], p, len);
		out[n][len] = '\0';
		n++;
		p += len;
	}
	return n;
}

/* add one "id:p1,p2 +d1,d2 @l1,l2" entry; returns its index */
static int
add_entry(MgGraph *g, const char *entry)
{
	char	   *tok[16];
	char	   *idpart[2];
	char	   *parents[16],
			   *deps[16],
			   *labels[16];
	int			np = 0,
				nd = 0,
				nl = 0;
	int			ntok = split(entry, " \t", tok, 16);
	char	   *colon;

	if (ntok == 0)
		bail("empty graph entry");
	colon = strchr(tok[0], ':');
	if (colon)
	{
		*colon = '\0';
		np = split(colon + 1, ",", parents, 16);
	}
	idpart[0] = tok[0];
	for (int i = 1; i < ntok; i++)
	{
		if (tok[i][0] == '+')
			nd += split(tok[i] + 1, ",", deps + nd, 16 - nd);
		else if (tok[i][0] == '@')
			nl += split(tok[i] + 1, ",", labels + nl, 16 - nl);
		else
			bail("bad graph token '%s'", tok[i]);
	}
	return mg_graph_add(g, idpart[0], NULL, g->n + 1,
						(const char *const *) parents, np,
						(const char *const *) deps, nd,
						(const char *const *) labels, nl);
}

/* add the revisions of a spec, without preparing */
static MgGraph *
build_raw(const char *spec)
{
	MgGraph    *g = mg_graph_create(0);
	char	   *entries[256];
	int			n = split(spec, ";", entries, 256);

	for (int i = 0; i < n; i++)
		add_entry(g, entries[i]);
	return g;
}

/* a graph that must be valid */
static MgGraph *
build(const char *spec)
{
	MgGraph    *g = build_raw(spec);
	MgError		e = {0};

	if (!mg_graph_prepare(g, &e))
		bail("graph '%s' does not prepare: %s", spec, e.message);
	return g;
}

static int
ix(const MgGraph *g, const char *id)
{
	int			i = mg_graph_find(g, id);

	if (i < 0)
		bail("no revision '%s' in test graph", id);
	return i;
}

/* mark the space-separated revisions and all their ancestors applied */
static void
set_applied(MgGraph *g, const char *revs)
{
	char	   *mark = mg_alloc(g->n ? g->n : 1);
	char	   *tok[64];
	int			n = split(revs, " ", tok, 64);
	int			seeds[64];

	for (int i = 0; i < n; i++)
		seeds[i] = ix(g, tok[i]);
	mg_ancestors(g, seeds, n, true, mark);
	for (int i = 0; i < g->n; i++)
		g->revs[i].applied = mark[i] != 0;
}

/* ------------------------------------------------------------------ */
/* Calls returning strings                                             */
/* ------------------------------------------------------------------ */

static char *
prepare_result(MgGraph *g)
{
	MgError		e = {0};

	if (!mg_graph_prepare(g, &e))
		return err_string(&e);
	return sdup("OK");
}

static char *
get_revisions(MgGraph *g, const char *target)
{
	MgIntList	out = {0};
	MgError		e = {0};

	if (!mg_get_revisions(g, target, &out, &e))
		return err_string(&e);
	return names(g, &out);
}

static char *
upgrade_targets(MgGraph *g, const char *applied, const char *target)
{
	MgIntList	cur = {0};
	MgIntList	out = {0};
	MgError		e = {0};

	set_applied(g, applied);
	mg_current(g, &cur);
	if (!mg_upgrade_targets(g, &cur, target, &out, &e))
		return err_string(&e);
	return names(g, &out);
}

/* "label rev": the qualifier ("-" when none) and the revision to keep */
static char *
downgrade_target(MgGraph *g, const char *applied, const char *target)
{
	MgIntList	cur = {0};
	MgError		e = {0};
	char	   *label = NULL;
	int			rev = 12345;

	set_applied(g, applied);
	mg_current(g, &cur);
	if (!mg_downgrade_target(g, &cur, target, &label, &rev, &e))
		return err_string(&e);
	return fmt("%s %s", label ? label : "-", rev_name(g, rev));
}

static char *
plan_upgrade(MgGraph *g, const char *applied, const char *target)
{
	MgIntList	out = {0};
	MgError		e = {0};

	set_applied(g, applied);
	if (!mg_plan_upgrade(g, target, &out, &e))
		return err_string(&e);
	return names(g, &out);
}

static char *
plan_downgrade(MgGraph *g, const char *applied, const char *target)
{
	MgIntList	out = {0};
	MgError		e = {0};

	set_applied(g, applied);
	if (!mg_plan_downgrade(g, target, &out, &e))
		return err_string(&e);
	return names(g, &out);
}

/* the applied set after stamp, as ids in registration order */
static char *
plan_stamp(MgGraph *g, const char *applied, const char *targets, bool purge)
{
	char	   *tok[16];
	int			n = split(targets, " ", tok, 16);
	char	   *na = mg_alloc(g->n ? g->n : 1);
	MgError		e = {0};

	set_applied(g, applied);
	if (!mg_plan_stamp(g, (const char *const *) tok, n, purge, na, &e))
		return err_string(&e);
	return mark_names(g, na);
}

static char *
history(MgGraph *g, const char *range)
{
	MgIntList	out = {0};
	MgError		e = {0};

	if (!mg_history_range(g, range, &out, &e))
		return err_string(&e);
	return names(g, &out);
}

/* is the list in an order where every parent/dependency comes first? */
static bool
parents_first(const MgGraph *g, const MgIntList *l)
{
	int		   *pos = malloc(sizeof(int) * (g->n ? g->n : 1));
	bool		good = true;

	for (int i = 0; i < g->n; i++)
		pos[i] = -1;
	for (int i = 0; i < l->n; i++)
		pos[l->v[i]] = i;
	for (int i = 0; i < l->n; i++)
	{
		const MgRev *r = &g->revs[l->v[i]];

		for (int k = 0; k < r->nparents; k++)
			if (pos[r->parents[k]] >= i)
				good = false;
		for (int k = 0; k < r->ndeps; k++)
			if (pos[r->deps[k]] >= i)
				good = false;
	}
	free(pos);
	return good;
}

/* ------------------------------------------------------------------ */
/* Graphs used by several groups                                       */
/* ------------------------------------------------------------------ */

/* Alembic's branch graph: a -> b -> (c1 -> d1, c2 -> d2) */
#define G_BRANCH "a; b:a; c1:b @c1branch; c2:b @c2branch; d1:c1; d2:c2"
#define G_CHAIN "a; b:a; c:b; d:c; e:d"
#define G_MERGE "a; b:a; c:a; m:b,c; n:m"
/* y depends on b, across two independent roots */
#define G_DEP "a; b:a; x; y:x +b"
/* Alembic's DependsOnBranchTestOne-like graph of test_stamp_across_dependency */
#define G_STAMPDEP "a1; b1:a1; c1:b1; a2; b2:a2; c2:b2 +c1; d1:c1; e1:d1; f1:e1"
/* ids for prefix matching */
#define G_PREFIX "1a2b3c4d; 1a2b9999:1a2b3c4d; 5e6f7a8b:1a2b9999 @feature; " \
	"xyz:5e6f7a8b; abcd1234:xyz @abcdlabel"

/* ------------------------------------------------------------------ */
/* Hash table                                                          */
/* ------------------------------------------------------------------ */

/* the table's own hash (FNV-1a), to build keys that collide on purpose */
static unsigned int
fnv1a(const char *s)
{
	unsigned int h = 2166136261u;

	for (; *s; s++)
	{
		h ^= (unsigned char) *s;
		h *= 16777619u;
	}
	return h;
}

/* keys whose home bucket in a 64-slot table is "home", fresh each call */
static int	key_counter = 0;

static char *
key_with_home(int home)
{
	for (;;)
	{
		char	   *k = fmt("k%d", key_counter++);

		if ((int) (fnv1a(k) & 63) == home)
			return k;
		free(k);
	}
}

static void
test_hash(void)
{
	MgHash		h = {0};
	char	   *keys[2000];
	bool		all;
	int			used_before;

	ok(mg_hash_get(&h, "nothing") == -1, "hash: get from an empty table is -1");
	mg_hash_remove(&h, "nothing");
	ok(h.cap == 0 && h.used == 0, "hash: remove from an empty table is a no-op");

	for (int i = 0; i < 2000; i++)
	{
		keys[i] = fmt("key_%d", i);
		mg_hash_put(&h, keys[i], i * 7);
	}
	all = true;
	for (int i = 0; i < 2000; i++)
		if (mg_hash_get(&h, keys[i]) != i * 7)
		{
			all = false;
			diag("key_%d -> %d", i, mg_hash_get(&h, keys[i]));
			break;
		}
	ok(all, "hash: 2000 keys put, all found with their values");
	ok(h.used == 2000 && h.cap >= 4000 && (h.cap & (h.cap - 1)) == 0,
	   "hash: used counts keys, capacity a power of two at most half full");
	{
		/* a different pointer with the same text must find the entry */
		char		probe[32];

		snprintf(probe, sizeof(probe), "key_%d", 1234);
		is_int(mg_hash_get(&h, probe), 1234 * 7, "hash: lookup compares strings, not pointers");
	}
	ok(mg_hash_get(&h, "key_2000") == -1 && mg_hash_get(&h, "") == -1,
	   "hash: absent keys give -1");

	used_before = h.used;
	mg_hash_put(&h, keys[5], 99);
	ok(mg_hash_get(&h, keys[5]) == 99 && h.used == used_before,
	   "hash: put of an existing key replaces its value");

	for (int i = 0; i < 2000; i += 3)
		mg_hash_remove(&h, keys[i]);
	all = true;
	for (int i = 0; i < 2000; i++)
	{
		int			want = i % 3 == 0 ? -1 : (i == 5 ? 99 : i * 7);

		if (mg_hash_get(&h, keys[i]) != want)
		{
			all = false;
			diag("after removals key_%d -> %d, want %d", i, mg_hash_get(&h, keys[i]), want);
			break;
		}
	}
	ok(all && h.used == 2000 - 667,
	   "hash: removing every third key keeps the others reachable");

	used_before = h.used;
	mg_hash_remove(&h, "key_0");
	mg_hash_remove(&h, "never_there");
	ok(h.used == used_before, "hash: removing an absent key changes nothing");

	for (int i = 0; i < 2000; i += 3)
		mg_hash_put(&h, keys[i], -5 - i);
	all = true;
	for (int i = 0; i < 2000; i += 3)
		if (mg_hash_get(&h, keys[i]) != -5 - i)
			all = false;
	ok(all && h.used == 2000, "hash: removed keys can be put again");

	/*
	 * Removal chains: in a 64-slot table, crowd the buckets at the end so
	 * that probe sequences wrap around to slot 0, then delete from the
	 * middle, the start and the end of the chains.
	 */
	{
		MgHash		c = {0};
		char	   *ck[20];
		int			homes[20] = {61, 61, 62, 62, 62, 63, 63, 0, 0, 61, 1, 63, 2, 62, 0,
		61, 3, 63, 1, 0};
		bool		present[20];
		int			order[20] = {2, 0, 7, 13, 5, 19, 1, 11, 9, 3, 17, 14, 6, 4, 8, 10, 12, 15,
		16, 18};
		bool		chain_ok = true;

		for (int i = 0; i < 20; i++)
		{
			ck[i] = key_with_home(homes[i]);
			mg_hash_put(&c, ck[i], i);
			present[i] = true;
		}
		ok(c.cap == 64, "hash: 20 keys fit a 64-slot table (collision test setup)");
		for (int r = 0; r < 20 && chain_ok; r++)
		{
			mg_hash_remove(&c, ck[order[r]]);
			present[order[r]] = false;
			for (int i = 0; i < 20; i++)
				if (mg_hash_get(&c, ck[i]) != (present[i] ? i : -1))
				{
					chain_ok = false;
					diag("after removing %d keys, key %d (home %d) -> %d",
						 r + 1, i, homes[i], mg_hash_get(&c, ck[i]));
					break;
				}
			if (c.used != 19 - r)
				chain_ok = false;
		}
		ok(chain_ok, "hash: deletions in colliding, wrapping probe chains keep every other key reachable");
		for (int i = 0; i < 64; i++)
			if (c.keys[i] != NULL)
				chain_ok = false;
		ok(chain_ok, "hash: a table emptied by removals has no slot left occupied");
	}

	/* random operations against a plain array */
	{
		MgHash		r = {0};
		char	   *rk[300];
		int			ref[300];
		unsigned int seed = 12345;
		bool		good = true;
		int			nref = 0;

		for (int i = 0; i < 300; i++)
		{
			rk[i] = fmt("r%d", i);
			ref[i] = -1;
		}
		for (int op = 0; op < 50000 && good; op++)
		{
			int			k;

			seed = seed * 1103515245u + 12345u;
			k = (seed >> 8) % 300;
			if ((seed >> 20) % 3 == 0)
			{
				if (ref[k] >= 0)
					nref--;
				mg_hash_remove(&r, rk[k]);
				ref[k] = -1;
			}
			else
			{
				if (ref[k] < 0)
					nref++;
				mg_hash_put(&r, rk[k], op);
				ref[k] = op;
			}
			if (mg_hash_get(&r, rk[k]) != ref[k] || r.used != nref)
				good = false;
			if (op % 997 == 0)
				for (int i = 0; i < 300; i++)
					if (mg_hash_get(&r, rk[i]) != ref[i])
						good = false;
		}
		ok(good, "hash: 50000 random puts and removes agree with a reference array");
	}
}

/* ------------------------------------------------------------------ */
/* mg_valid_id                                                         */
/* ------------------------------------------------------------------ */

static char *
valid_id(const char *id)
{
	MgError		e = {0};

	if (!mg_valid_id(id, &e, "revision id"))
		return err_string(&e);
	return sdup("OK");
}

static void
test_valid_id(void)
{
	char		id64[65],
				id65[66];
	const char *bad_chars[] = {"@", "+", "-", ":", " "};

	memset(id64, 'a', 64);
	id64[64] = '\0';
	memset(id65, 'a', 65);
	id65[65] = '\0';

	is(valid_id("ae1027a6acf"), "OK", "valid_id: hex id");
	is(valid_id("Add_Users_2024"), "OK", "valid_id: letters, digits, underscore");
	is(valid_id("_"), "OK", "valid_id: a single underscore");
	is(valid_id(""), "ERR:NAME~must not be empty", "valid_id: empty is rejected");
	is(valid_id(id64), "OK", "valid_id: 64 characters is the maximum");
	is(valid_id(id65), "ERR:NAME~longer than 64", "valid_id: 65 characters is too long");
	for (int i = 0; i < 5; i++)
	{
		char		id[16];

		snprintf(id, sizeof(id), "ab%scd", bad_chars[i]);
		is(valid_id(id), "ERR:NAME~not allowed", "valid_id: '%s' is rejected", id);
	}
	is(valid_id("a@b"), "ERR:NAME~target grammar", "valid_id: '@' detail explains the target grammar");
	is(valid_id("caf\xc3\xa9"), "ERR:NAME~not allowed", "valid_id: UTF-8 letters are rejected");
	is(valid_id("\xe2\x80\x8b"), "ERR:NAME~not allowed", "valid_id: a zero-width space is rejected");
	is(valid_id("head"), "ERR:NAME~reserved", "valid_id: 'head' is reserved");
	is(valid_id("heads"), "ERR:NAME~reserved", "valid_id: 'heads' is reserved");
	is(valid_id("base"), "ERR:NAME~reserved", "valid_id: 'base' is reserved");
	is(valid_id("headsup"), "OK", "valid_id: a word starting with 'heads' is fine");
	{
		MgError		e = {0};

		mg_valid_id("x y", &e, "branch label");
		ok(strstr(e.message, "branch label") != NULL,
		   "valid_id: the message names what was checked");
	}
}

/* ------------------------------------------------------------------ */
/* mg_graph_prepare                                                    */
/* ------------------------------------------------------------------ */

static void
test_prepare(void)
{
	MgGraph    *g;
	char	   *r;

	g = build(G_CHAIN);
	is(names(g, &g->heads), "e", "prepare chain: heads");
	is(fmt("%s|%s", names(g, &g->real_heads), names(g, &g->bases)), "e|a",
	   "prepare chain: real_heads and bases");

	g = build(G_BRANCH);
	is(fmt("%s|%s|%s", names(g, &g->heads), names(g, &g->real_heads), names(g, &g->bases)),
	   "d1 d2|d1 d2|a", "prepare branches: heads|real_heads|bases");
	is_int(mg_nchildren(g, ix(g, "b")), 2, "prepare branches: b has two children");

	g = build(G_MERGE);
	is(fmt("%s|%s|%s", names(g, &g->heads), names(g, &g->real_heads), names(g, &g->bases)),
	   "n|n|a", "prepare merge: heads|real_heads|bases");
	ok(mg_is_merge(g, ix(g, "m")) && !mg_is_merge(g, ix(g, "n")),
	   "prepare merge: m is a merge, n is not");

	g = build("a; b; m:a,b");
	is(fmt("%s|%s", names(g, &g->heads), names(g, &g->bases)), "m|a b",
	   "prepare two bases merged: heads|bases");

	g = build(G_DEP);
	is(fmt("%s|%s|%s", names(g, &g->heads), names(g, &g->real_heads), names(g, &g->bases)),
	   "b y|y|a x", "prepare depends_on: b is a head but not a real head");

	g = build("a; b:a @lab; x +lab; c:b");
	is(rev_name(g, g->revs[ix(g, "x")].deps[0]), "b",
	   "prepare: depends_on a branch label means the declaring revision");
	is(fmt("%s|%s", names(g, &g->heads), names(g, &g->real_heads)), "x c|x c",
	   "prepare: depends_on a label's revision that has children");

	/* registration order independent of graph order */
	g = build("c:b; b:a; a");
	is(fmt("%s|%s", names(g, &g->heads), names(g, &g->bases)), "c|a",
	   "prepare: children registered before their parents");

	/* errors */
	r = prepare_result(build_raw("a; b:a; c:zz"));
	is(r, "ERR:DANGLING~names parent \"zz\"", "prepare: unknown parent is DANGLING");
	is(r, "ERR:DANGLING~revision \"c\"", "prepare: unknown parent message names the child");
	is(prepare_result(build_raw("a; b:a +nope")), "ERR:DANGLING~depends on \"nope\"",
	   "prepare: unknown depends_on is DANGLING");
	is(prepare_result(build_raw("a @lab; b:a @lab")),
	   "ERR:DUPLICATE~branch label \"lab\" is declared by both revision \"a\" and revision \"b\"",
	   "prepare: a label declared twice is DUPLICATE");
	is(prepare_result(build_raw("a; b:a @a")),
	   "ERR:DUPLICATE~is also the id of revision \"a\"",
	   "prepare: a label equal to an id is DUPLICATE");
	is(prepare_result(build_raw("x @a; a")),
	   "ERR:DUPLICATE~is also the id of revision \"a\"",
	   "prepare: a label equal to a later id is DUPLICATE");

	r = prepare_result(build_raw("r; a:b,r; b:a; c:a; d:c"));
	is(r, "ERR:CYCLE~cycle detected among revisions a, b|",
	   "prepare: cycle of 2 names exactly its members (not r, c, d)");

	r = prepare_result(build_raw("r; p1:p5,r; p2:p1; p3:p2; p4:p3; p5:p4; k1:p3; k2:k1"));
	is(r, "ERR:CYCLE~cycle detected among revisions p1, p2, p3, p4, p5|",
	   "prepare: cycle of 5 names its members and not its descendants k1, k2");
	ok(strstr(r, "dependency") == NULL, "prepare: a parent cycle is not called a dependency cycle");

	is(prepare_result(build_raw("a:a")), "ERR:CYCLE~among revisions a|",
	   "prepare: a self-parent is a cycle");

	/* a -> b -> c through parents, a depends on c */
	r = prepare_result(build_raw("a +c; b:a; c:b; d:c"));
	is(r, "ERR:CYCLE~dependency cycle detected among revisions a, b, c|",
	   "prepare: a cycle through depends_on is a dependency cycle, without d");
	is(prepare_result(build_raw("a; b:a +b")), "ERR:CYCLE~dependency cycle",
	   "prepare: a revision depending on itself is a dependency cycle");

	/*
	 * BUG (graph.c, mg_kahn_leftover): r links to p twice (as parent and as
	 * depends_on); the peeling loop decrements p's out-degree once per link
	 * while the CSR counted the edge once, so p and q are peeled off and the
	 * dependency cycle p -> q -> p goes unreported.
	 */
	is(prepare_result(build_raw("p +q; q:p; r:p +p")), "ERR:CYCLE~dependency cycle",
	   "prepare: dependency cycle found when a child links twice to a cycle member (KNOWN BUG)");
	is(prepare_result(build_raw("p +q; q:p; r:p")), "ERR:CYCLE~dependency cycle",
	   "prepare: the same dependency cycle without the double link");

	/* verdicts are cached until the next change */
	g = build_raw("a; b:a; c:zz");
	prepare_result(g);
	is(prepare_result(g), "ERR:DANGLING~zz", "prepare: a second call repeats the error");
	add_entry(g, "zz:a");
	is(prepare_result(g), "OK", "prepare: registering the missing parent makes the graph valid");
	is(names(g, &g->heads), "b c", "prepare: heads rebuilt after the graph changed");
}

/* ------------------------------------------------------------------ */
/* mg_graph_would_cycle                                                */
/* ------------------------------------------------------------------ */

static void
test_would_cycle(void)
{
	MgGraph    *g = build_raw("b:a; c:b");
	MgError		e = {0};
	int			idx;
	bool		cyc;

	idx = add_entry(g, "d:c");
	ok(!g->added_was_referenced && !mg_graph_would_cycle(g, idx, &e),
	   "would_cycle: a new head closes no loop");

	idx = add_entry(g, "a:c");
	ok(g->added_was_referenced, "would_cycle: adding a referenced id sets added_was_referenced");
	cyc = mg_graph_would_cycle(g, idx, &e);
	ok(cyc && e.code == MG_ERR_CYCLE, "would_cycle: a -> c -> b -> a is detected");
	is(e.message, "registering revision \"a\" would create a cycle: a -> c -> b -> a",
	   "would_cycle: the message shows the loop");

	g = build_raw("x; y:x +lab");
	idx = add_entry(g, "z:y @lab");
	memset(&e, 0, sizeof(e));
	ok(mg_graph_would_cycle(g, idx, &e) && strstr(e.message, "z -> y -> z") != NULL,
	   "would_cycle: a loop closed through a depends_on label");

	g = build_raw("x");
	idx = add_entry(g, "s:s");
	memset(&e, 0, sizeof(e));
	ok(mg_graph_would_cycle(g, idx, &e) && strstr(e.message, "s -> s") != NULL,
	   "would_cycle: a self-parent");
}

/* ------------------------------------------------------------------ */
/* mg_topo_order, mg_current, traversals                               */
/* ------------------------------------------------------------------ */

static void
test_topo_current(void)
{
	MgGraph    *g;
	char	   *mark;
	MgIntList	out = {0};

	/* a forest: r1 and r2 are roots; ties go to the lower index */
	g = build("r1; r2; x:r2; y:r1; z:x,y; w:r1; u");
	mark = mg_alloc(g->n);
	memset(mark, 1, g->n);
	mg_topo_order(g, mark, &out);
	is(names(g, &out), "r1 r2 x y z w u", "topo: forest in registration order where parents allow");
	ok(parents_first(g, &out), "topo: every parent precedes its child");

	g = build("c:b; b:a; d; a");
	mark = mg_alloc(g->n);
	memset(mark, 1, g->n);
	out.n = 0;
	mg_topo_order(g, mark, &out);
	is(names(g, &out), "d a b c", "topo: parents first even when registered after their children");

	g = build(G_DEP);
	mark = mg_alloc(g->n);
	memset(mark, 1, g->n);
	mark[ix(g, "a")] = 0;
	out.n = 0;
	mg_topo_order(g, mark, &out);
	is(names(g, &out), "b x y", "topo: only marked revisions; depends_on orders b before y");

	g = build("x; y:x +b; a; b:a");
	mark = mg_alloc(g->n);
	memset(mark, 1, g->n);
	out.n = 0;
	mg_topo_order(g, mark, &out);
	is(names(g, &out), "x a b y", "topo: a dependency registered later still comes first");

	/* mg_current */
	g = build(G_DEP);
	set_applied(g, "y");
	out.n = 0;
	mg_current(g, &out);
	is(names(g, &out), "y", "current: b is applied but y depends on it, so only y is current");
	set_applied(g, "b x");
	out.n = 0;
	mg_current(g, &out);
	is(names(g, &out), "b x", "current: without the dependent, both heads are current");

	g = build("a; b:a; c:b; x:a +c");
	set_applied(g, "x");
	is(applied_names(g), "a b c x", "current setup: applying x applies its dependency chain");
	out.n = 0;
	mg_current(g, &out);
	is(names(g, &out), "x", "current: a dependency on another branch's tip is not current");

	g = build(G_BRANCH);
	set_applied(g, "d1 c2");
	out.n = 0;
	mg_current(g, &out);
	is(names(g, &out), "c2 d1", "current: {d1, c2} in registration order");

	/* traversals with and without depends_on */
	g = build(G_DEP);
	mark = mg_alloc(g->n);
	{
		int			s = ix(g, "b");

		mg_descendants(g, &s, 1, false, mark);
		is(mark_names(g, mark), "b", "descendants of b without depends_on");
		mg_descendants(g, &s, 1, true, mark);
		is(mark_names(g, mark), "b y", "descendants of b with depends_on");
		memset(mark, 0, g->n);
		s = ix(g, "y");
		mg_ancestors(g, &s, 1, false, mark);
		is(mark_names(g, mark), "x y", "ancestors of y without depends_on");
		mg_ancestors(g, &s, 1, true, mark);
		is(mark_names(g, mark), "a b x y", "ancestors of y with depends_on");
	}
}

/* ------------------------------------------------------------------ */
/* Target grammar                                                      */
/* ------------------------------------------------------------------ */

static void
test_targets(void)
{
	MgGraph    *g;

	/* ids, prefixes, labels (answers from Alembic's get_revisions) */
	g = build(G_PREFIX);
	is(get_revisions(g, "head"), "abcd1234", "resolve: head");
	is(get_revisions(g, "heads"), "abcd1234", "resolve: heads");
	is(get_revisions(g, "base"), "", "resolve: base names no revision");
	is(get_revisions(g, "1a2b9999"), "1a2b9999", "resolve: full id");
	is(get_revisions(g, "1a2b3"), "1a2b3c4d", "resolve: unique prefix");
	is(get_revisions(g, "5e6f"), "5e6f7a8b", "resolve: unique 4-character prefix");
	is(get_revisions(g, "5e6"), "5e6f7a8b",
	   "resolve: a 3-character prefix of a long id matches (Alembic: only candidates need > 3 chars)");
	is(get_revisions(g, "1a2b"), "ERR:AMBIGUOUS~Candidates: 1a2b3c4d, 1a2b9999",
	   "resolve: ambiguous prefix lists its candidates");
	is(get_revisions(g, "xyz"), "xyz", "resolve: a 3-character id matches exactly");
	is(get_revisions(g, "xy"), "ERR:UNDEFINED~four or more characters",
	   "resolve: a prefix of an id of 3 characters or less does not match");
	is(get_revisions(g, "zzzz"), "ERR:UNDEFINED~no revision or branch \"zzzz\"",
	   "resolve: unknown id");
	is(get_revisions(g, "feature"), "5e6f7a8b", "resolve: a label names its revision");
	is(get_revisions(g, "feat"), "5e6f7a8b", "resolve: a label prefix");
	is(get_revisions(g, "abcd"), "ERR:AMBIGUOUS",
	   "resolve: id prefix and label prefix of the same revision are two candidates (as Alembic)");
	is(get_revisions(g, "feature@head"), "abcd1234", "resolve: label@head");
	is(get_revisions(g, "feature@base"), "", "resolve: label@base names no revision");
	is(get_revisions(g, "1a2b9999@xyz"), "xyz", "resolve: rev@rev qualifies by lineage");
	is(get_revisions(g, "feature@1a2b"), "ERR:AMBIGUOUS",
	   "resolve: a qualifier does not disambiguate ancestors");

	g = build(G_BRANCH);
	is(get_revisions(g, "head"), "ERR:AMBIGUOUS~names several heads", "resolve: head with two heads");
	is(get_revisions(g, "heads"), "d1 d2", "resolve: heads with two heads");
	is(get_revisions(g, "c1branch@head"), "d1", "resolve: label@head on a branch");
	is(get_revisions(g, "c1@head"), "d1", "resolve: rev@head");
	is(get_revisions(g, "b@head"), "ERR:AMBIGUOUS", "resolve: rev@head below a branch point");
	is(get_revisions(g, "c2branch@c2"), "c2", "resolve: label@rev on the branch");
	is(get_revisions(g, "c1branch@d2"), "ERR:UNDEFINED~not a member of branch",
	   "resolve: label@rev off the branch");
	is(get_revisions(g, "-1"), "c1 c2", "resolve: -1 walks down from every head");
	is(get_revisions(g, "c1branch@-1"), "c1", "resolve: label@-1 walks down from the branch head");
	is(get_revisions(g, "nobranch@head"), "ERR:UNDEFINED", "resolve: unknown label");

	/*
	 * BUG (target.c, mg_get_revisions/parse_int): an all-digit id longer
	 * than INT_MAX (timestamp ids like 202311251351) is parsed as a
	 * relative step and rejected as "out of range"; Alembic resolves it.
	 */
	g = build("202311251351; 202311251352:202311251351");
	is(get_revisions(g, "202311251351"), "202311251351",
	   "resolve: an all-digit id beyond INT_MAX (KNOWN BUG)");
	is(get_revisions(g, "2023112513"), "ERR:AMBIGUOUS",
	   "resolve: an all-digit prefix within int range is a prefix");
	is(downgrade_target(g, "202311251352", "202311251351"), "- 202311251351",
	   "downgrade target: an all-digit id beyond INT_MAX (mg_get_revision does not parse numbers)");
	g = build("1234567890; 1234567891:1234567890");
	is(get_revisions(g, "1234567890"), "1234567890", "resolve: an all-digit id within int range");

	/* relative upgrade targets on a chain */
	g = build(G_CHAIN);
	is(upgrade_targets(g, "b", "+1"), "c", "upgrade target: +1 from b");
	is(upgrade_targets(g, "b", "+2"), "d", "upgrade target: +2 from b");
	is(upgrade_targets(g, "b", "+4"), "ERR:RANGE~does not produce 4 migrations",
	   "upgrade target: +N past the heads");
	is(upgrade_targets(g, "b", "+0"), "ERR:RANGE~zero steps", "upgrade target: +0 is an error");
	is(upgrade_targets(g, "b", "-1"), "ERR:RANGE", "upgrade target: -1 is an error");
	is(upgrade_targets(g, "b", "c+1"), "d", "upgrade target: X+N");
	is(upgrade_targets(g, "b", "e-2"), "c", "upgrade target: X-N");
	is(upgrade_targets(g, "b", "+99999999999"), "ERR:RANGE~out of range",
	   "upgrade target: a huge step is a range error, not an overflow");
	is(upgrade_targets(g, "b", "b+99999999999"), "ERR:RANGE~out of range",
	   "upgrade target: X plus a huge step");
	is(upgrade_targets(g, "b", "+2147483647"), "ERR:RANGE",
	   "upgrade target: INT_MAX steps walks off the heads");
	is(upgrade_targets(g, "a", "base+1"), "a", "upgrade target: base+1");

	g = build("abcd; efgh:abcd; ijkl:efgh");
	is(upgrade_targets(g, "abcd", "abcd+1"), "efgh", "upgrade target: 4-char id plus one");
	is(upgrade_targets(g, "abcd", "abcd+1x"), "ERR:UNDEFINED",
	   "upgrade target: trailing garbage makes abcd+1x no relative target (Alembic ignores it)");
	is(upgrade_targets(g, "abcd", "+1x"), "ERR:UNDEFINED", "upgrade target: +1x is not relative");
	is(upgrade_targets(g, "abcd", "+"), "ERR:UNDEFINED", "upgrade target: a bare sign");

	/* branch graph */
	g = build(G_BRANCH);
	is(upgrade_targets(g, "d1 c2", "+1"), "ERR:AMBIGUOUS~several current revisions",
	   "upgrade target: +1 from two current revisions");
	is(upgrade_targets(g, "d1 c2", "c2branch@+1"), "d2", "upgrade target: label@+1");
	is(upgrade_targets(g, "d1 c2", "c1branch@+1"), "ERR:RANGE",
	   "upgrade target: label@+1 from the branch's head");
	is(upgrade_targets(g, "c1", "c2branch@+1"), "c2",
	   "upgrade target: label@+1 for a branch not yet applied starts at its root");
	is(upgrade_targets(g, "b", "+1"), "ERR:AMBIGUOUS~several children: c1, c2",
	   "upgrade target: +1 at a branch point is an ambiguous walk");
	is(upgrade_targets(g, "b", "b+1"), "ERR:AMBIGUOUS~several children",
	   "upgrade target: X+1 at a branch point");
	is(upgrade_targets(g, "b", "c1branch@b+1"), "c1",
	   "upgrade target: label@X+1 follows the branch at a branch point");
	is(upgrade_targets(g, "d1 c2", "d2-2"), "b", "upgrade target: X-N on a branch");

	/* downgrade targets */
	is(downgrade_target(g, "d1 c2", "c2branch@-1"), "c2branch b", "downgrade target: label@-1");
	is(downgrade_target(g, "d1 c2", "c1branch@-1"), "c1branch c1",
	   "downgrade target: label@-1 on the other branch");
	is(downgrade_target(g, "d1 c2", "c1branch@base"), "c1branch <none>",
	   "downgrade target: label@base keeps its qualifier");
	is(downgrade_target(g, "d1 c2", "base"), "- <none>", "downgrade target: base");
	is(downgrade_target(g, "d1 c2", "c1branch@b+1"), "c1branch c1",
	   "downgrade target: label@X+1");
	is(downgrade_target(g, "d1 c2", "-1"), "ERR:AMBIGUOUS~several current revisions",
	   "downgrade target: -1 from several current revisions is an error (Alembic warns)");
	is(downgrade_target(g, "d1 c2", "+1"), "ERR:RANGE", "downgrade target: +1");
	g = build(G_CHAIN);
	is(downgrade_target(g, "d", "-1"), "d c", "downgrade target: -1 from one current revision");
	is(downgrade_target(g, "d", "-4"), "d <base>", "downgrade target: -N down to base");
	is(downgrade_target(g, "d", "-5"), "ERR:RANGE", "downgrade target: -5 past base");
	is(downgrade_target(g, "d", "b-5"), "ERR:RANGE~walks past base", "downgrade target: X-N past base");
	is(downgrade_target(g, "d", "-99999999999"), "ERR:RANGE~out of range",
	   "downgrade target: huge negative step");
	is(downgrade_target(g, "", "-1"), "ERR:RANGE", "downgrade target: -1 with nothing applied");
}

/* mg_resolve_target: what resolve() shows, relative forms as plan() */
static char *
resolve_target(MgGraph *g, const char *applied, const char *target)
{
	MgIntList	cur = {0};
	MgIntList	out = {0};
	MgError		e = {0};

	set_applied(g, applied);
	mg_current(g, &cur);
	if (!mg_resolve_target(g, &cur, target, &out, &e))
		return err_string(&e);
	return names(g, &out);
}

static void
test_resolve_target(void)
{
	MgGraph    *g = build(G_CHAIN);

	is(resolve_target(g, "d", "-1"), "c", "resolve_target: -1 counts down from current");
	is(resolve_target(g, "d", "-4"), "", "resolve_target: a walk ending at base names nothing");
	is(resolve_target(g, "d", "-5"), "ERR:RANGE", "resolve_target: a walk past base");
	is(resolve_target(g, "b", "+2"), "d", "resolve_target: +2 counts up from current");
	is(resolve_target(g, "b", "a+9"), "ERR:RANGE~walks past the end", "resolve_target: X+N past the heads");
	is(resolve_target(g, "b", "heads"), "e", "resolve_target: absolute targets as get_revisions");
	g = build(G_BRANCH);
	is(resolve_target(g, "d1 c2", "c2branch@-1"), "b", "resolve_target: label@-1");
	is(resolve_target(g, "d1 c2", "-1"), "ERR:AMBIGUOUS", "resolve_target: -1 from two current revisions");
}

/* ------------------------------------------------------------------ */
/* Plans                                                               */
/* ------------------------------------------------------------------ */

static void
test_plan_upgrade(void)
{
	MgGraph    *g = build(G_BRANCH);
	MgIntList	steps = {0};
	MgError		e = {0};

	/* from {d1, c2} (answers: Alembic iterate_revisions as sets) */
	is(plan_upgrade(g, "d1 c2", "heads"), "d2", "upgrade {d1,c2} heads");
	is(plan_upgrade(g, "d1 c2", "head"), "ERR:AMBIGUOUS", "upgrade {d1,c2} head: several heads");
	is(plan_upgrade(g, "d1 c2", "c2branch@head"), "d2", "upgrade {d1,c2} c2branch@head");
	is(plan_upgrade(g, "d1 c2", "c1branch@head"), "", "upgrade {d1,c2} c1branch@head: nothing to do");
	is(plan_upgrade(g, "d1 c2", "c2branch@+1"), "d2", "upgrade {d1,c2} c2branch@+1");
	is(plan_upgrade(g, "d1 c2", "c2branch@+2"), "ERR:RANGE", "upgrade {d1,c2} c2branch@+2");
	is(plan_upgrade(g, "d1 c2", "c2+1"), "d2", "upgrade {d1,c2} c2+1");
	is(plan_upgrade(g, "d1 c2", "a+2"), "ERR:AMBIGUOUS~several children", "upgrade {d1,c2} a+2: ambiguous walk at b");
	is(plan_upgrade(g, "d1 c2", "base+2"), "", "upgrade {d1,c2} base+2: b is applied");
	is(plan_upgrade(g, "d1 c2", "-1"), "ERR:RANGE", "upgrade {d1,c2} -1");

	/* from nothing */
	is(plan_upgrade(g, "", "heads"), "a b c1 c2 d1 d2", "upgrade {} heads, registration order");
	is(plan_upgrade(g, "", "c1branch@head"), "a b c1 d1", "upgrade {} c1branch@head");
	is(plan_upgrade(g, "", "d2"), "a b c2 d2", "upgrade {} d2");
	is(plan_upgrade(g, "", "c2branch@+1"), "a", "upgrade {} c2branch@+1 starts from base");
	is(plan_upgrade(g, "", "c2branch@+3"), "a b c2", "upgrade {} c2branch@+3");
	is(plan_upgrade(g, "", "+3"), "ERR:AMBIGUOUS", "upgrade {} +3 crosses the branch point");
	is(plan_upgrade(g, "c1", "c2branch@+2"), "c2 d2", "upgrade {c1} c2branch@+2");
	is(plan_upgrade(g, "c1", "+1"), "d1", "upgrade {c1} +1");

	g = build(G_CHAIN);
	is(plan_upgrade(g, "b", "+3"), "c d e", "upgrade chain {b} +3");
	is(plan_upgrade(g, "b", "a+9"), "ERR:RANGE", "upgrade chain {b} a+9 walks off the heads");
	is(plan_upgrade(g, "", "+5"), "a b c d e", "upgrade chain {} +5");
	is(plan_upgrade(g, "", "base+3"), "a b c", "upgrade chain {} base+3");

	g = build(G_MERGE);
	is(plan_upgrade(g, "a", "heads"), "b c m n", "upgrade merge {a} heads");
	is(plan_upgrade(g, "a", "b+1"), "b c m", "upgrade merge {a} b+1 pulls in the other parent");

	g = build(G_DEP);
	is(plan_upgrade(g, "", "y"), "a b x y", "upgrade depends_on {} y pulls in the dependency");
	is(plan_upgrade(g, "", "heads"), "a b x y", "upgrade depends_on {} heads");
	is(plan_upgrade(g, "", "head"), "ERR:AMBIGUOUS", "upgrade depends_on {} head (b and y are heads)");
	is(plan_upgrade(g, "b", "y"), "x y", "upgrade depends_on {b} y");

	g = build("x; y:x +b; a; b:a");
	set_applied(g, "x");
	mg_plan_upgrade(g, "heads", &steps, &e);
	is(names(g, &steps), "a b y", "upgrade: dependency registered later is applied first");
	ok(parents_first(g, &steps), "upgrade: steps respect parents and depends_on");
}

static void
test_plan_downgrade(void)
{
	MgGraph    *g = build(G_BRANCH);

	/* from {d1, c2} (answers: Alembic, select_for_downgrade) */
	is(plan_downgrade(g, "d1 c2", "c1branch@base"), "d1 c2 c1 b a",
	   "downgrade {d1,c2} c1branch@base: one base, everything goes");
	is(plan_downgrade(g, "d1 c2", "c2branch@base"), "d1 c2 c1 b a",
	   "downgrade {d1,c2} c2branch@base");
	is(plan_downgrade(g, "d1 c2", "d1@base"), "d1 c2 c1 b a", "downgrade {d1,c2} d1@base");
	is(plan_downgrade(g, "d1 c2", "c2branch@-1"), "c2", "downgrade {d1,c2} c2branch@-1");
	is(plan_downgrade(g, "d1 c2", "c1branch@-1"), "d1", "downgrade {d1,c2} c1branch@-1");
	is(plan_downgrade(g, "d1 c2", "base"), "d1 c2 c1 b a", "downgrade {d1,c2} base");
	is(plan_downgrade(g, "d1 c2", "b"), "d1 c2 c1", "downgrade {d1,c2} b");
	is(plan_downgrade(g, "d1 c2", "a"), "d1 c2 c1 b", "downgrade {d1,c2} a");
	is(plan_downgrade(g, "d1 c2", "c1branch@b"), "d1 c1", "downgrade {d1,c2} c1branch@b");
	is(plan_downgrade(g, "d1 c2", "c2branch@b"), "c2", "downgrade {d1,c2} c2branch@b");
	is(plan_downgrade(g, "d1 c2", "d1@b"), "d1 c1", "downgrade {d1,c2} d1@b (id as qualifier)");
	is(plan_downgrade(g, "d1 c2", "c2@b"), "c2", "downgrade {d1,c2} c2@b");
	is(plan_downgrade(g, "d1 c2", "c1branch@b+1"), "d1", "downgrade {d1,c2} c1branch@b+1");
	is(plan_downgrade(g, "d1 c2", "base+2"), "d1 c2 c1", "downgrade {d1,c2} base+2");
	is(plan_downgrade(g, "d1 c2", "c2branch@base+2"), "c2", "downgrade {d1,c2} c2branch@base+2");
	is(plan_downgrade(g, "d1 c2", "c2"), "", "downgrade {d1,c2} c2: already there");
	is(plan_downgrade(g, "d1 c2", "-1"), "ERR:AMBIGUOUS", "downgrade {d1,c2} -1 is an error");
	is(plan_downgrade(g, "d1 c2", "d2"), "ERR:STATE~is not applied", "downgrade {d1,c2} d2: not applied");
	is(plan_downgrade(g, "d1 c2", "b+1"), "ERR:AMBIGUOUS", "downgrade {d1,c2} b+1: ambiguous walk");
	is(plan_downgrade(g, "d1 c2", "c1branch@+1"), "ERR:RANGE", "downgrade {d1,c2} c1branch@+1");

	g = build(G_CHAIN);
	is(plan_downgrade(g, "d", "-1"), "d", "downgrade chain {d} -1");
	is(plan_downgrade(g, "d", "-3"), "d c b", "downgrade chain {d} -3");
	is(plan_downgrade(g, "d", "-4"), "d c b a", "downgrade chain {d} -4 reaches base");
	is(plan_downgrade(g, "d", "-5"), "ERR:RANGE", "downgrade chain {d} -5 past base");
	is(plan_downgrade(g, "d", "b-1"), "d c b", "downgrade chain {d} b-1");
	is(plan_downgrade(g, "d", "e-2"), "d", "downgrade chain {d} e-2");
	is(plan_downgrade(g, "d", "c+0"), "d", "downgrade chain {d} c+0");
	is(plan_downgrade(g, "d", "d+1"), "ERR:STATE~\"e\" is not applied", "downgrade chain {d} d+1 = e is not applied");
	is(plan_downgrade(g, "d", "e+1"), "ERR:RANGE~walks past the heads", "downgrade chain {d} e+1 walks past the heads");
	is(plan_downgrade(g, "d", "-0"), "ERR:RANGE", "downgrade chain {d} -0");
	is(plan_downgrade(g, "", "base"), "", "downgrade chain {} base: nothing to do");

	g = build(G_MERGE);
	is(plan_downgrade(g, "n", "-1"), "n", "downgrade merge {n} -1");
	is(plan_downgrade(g, "n", "-2"), "ERR:AMBIGUOUS~several parents", "downgrade merge {n} -2 through the merge");
	is(plan_downgrade(g, "n", "c"), "n m", "downgrade merge {n} c");
	is(plan_downgrade(g, "n", "a"), "n m c b", "downgrade merge {n} a");

	g = build(G_DEP);
	is(plan_downgrade(g, "y", "a"), "y b", "downgrade depends_on {y} a removes the dependent y");
	is(plan_downgrade(g, "y", "x"), "y", "downgrade depends_on {y} x keeps the dependency b");
	is(plan_downgrade(g, "y", "b"), "ERR:STATE", "downgrade depends_on {y} b: nothing above b (Alembic: error)");
	is(plan_downgrade(g, "y", "-1"), "y", "downgrade depends_on {y} -1");
	is(plan_downgrade(g, "y", "y@base"), "y x", "downgrade depends_on {y} y@base keeps a, b");
	is(plan_downgrade(g, "y", "base"), "y x b a", "downgrade depends_on {y} base");
}

static void
test_plan_stamp(void)
{
	MgGraph    *g = build(G_BRANCH);

	/* answers: Alembic _stamp_revs + HeadMaintainer, closed under ancestry */
	is(plan_stamp(g, "d1 c2", "c1branch@base", false), "a b c2",
	   "stamp {d1,c2} c1branch@base leaves {c2}");
	is(plan_stamp(g, "d1 c2", "c2branch@head", false), "a b c1 c2 d1 d2",
	   "stamp {d1,c2} c2branch@head gives {d1,d2}");
	is(plan_stamp(g, "d1 c2", "c2branch@base", false), "a b c1 d1",
	   "stamp {d1,c2} c2branch@base leaves {d1}");
	is(plan_stamp(g, "d1 c2", "c1", false), "a b c1 c2", "stamp {d1,c2} c1 moves d1 back");
	is(plan_stamp(g, "d1 c2", "b", false), "a b", "stamp {d1,c2} b");
	is(plan_stamp(g, "d1 c2", "base", false), "", "stamp {d1,c2} base");
	/* deliberate difference: Alembic 1.8.1 gives {d2}, dropping d1 */
	is(plan_stamp(g, "d1 c2", "heads", false), "a b c1 c2 d1 d2",
	   "stamp {d1,c2} heads gives {d1,d2}, keeping the d1 branch");
	is(plan_stamp(g, "d1 c2", "c1 c2", false), "a b c1 c2",
	   "stamp {d1,c2} c1 c2 moves d1 down to c1, keeps c2");
	is(plan_stamp(g, "", "c1", false), "a b c1", "stamp {} c1");
	is(plan_stamp(g, "d1 c2", "d2", false), "a b c1 c2 d1 d2", "stamp {d1,c2} d2 moves c2 up, keeps d1");
	is(plan_stamp(g, "b", "c2branch@head", false), "a b c2 d2", "stamp {b} c2branch@head");
	is(plan_stamp(g, "", "c1 d2", false), "a b c1 c2 d2", "stamp {} two targets c1 d2");
	is(plan_stamp(g, "b", "d1 d2", false), "a b c1 c2 d1 d2", "stamp {b} two targets d1 d2");
	is(plan_stamp(g, "d1 c2", "c1", true), "a b c1", "stamp purge: {d1,c2} c1 gives {c1}");
	is(plan_stamp(g, "d1 c2", "heads", true), "a b c1 c2 d1 d2", "stamp purge: heads");
	is(plan_stamp(g, "d1 c2", "nope", false), "ERR:UNDEFINED", "stamp an unknown revision");

	g = build(G_STAMPDEP);
	is(plan_stamp(g, "e1 c2", "b1", false), "a1 b1",
	   "stamp across a dependency: {e1,c2} b1 drops c2, which depends on c1");
	is(plan_stamp(g, "e1 c2", "c1", false), "a1 b1 c1", "stamp {e1,c2} c1");
	is(plan_stamp(g, "e1 c2", "d1", false), "a1 b1 c1 a2 b2 c2 d1", "stamp {e1,c2} d1 keeps c2");
	is(plan_stamp(g, "e1 c2", "a2", false), "a1 b1 c1 a2 d1 e1", "stamp {e1,c2} a2");
}

static void
test_history(void)
{
	MgGraph    *g = build(G_CHAIN);

	is(history(g, "b:d"), "d c b", "history b:d newest first");
	is(history(g, ":c"), "c b a", "history :c");
	is(history(g, "c:"), "e d c", "history c:");
	is(history(g, ":"), "e d c b a", "history :");
	is(history(g, "c:c"), "c", "history c:c");
	is(history(g, "base:b"), "b a", "history base:b");
	is(history(g, "d:b"), "ERR:STATE~is not an ancestor", "history d:b: reversed range");
	is(history(g, "bd"), "ERR:SYNTAX", "history without ':'");
	is(history(g, "a:b:c"), "ERR:SYNTAX", "history with two ':'");
	is(history(g, "a:zzzz"), "ERR:UNDEFINED", "history with an unknown end");

	g = build(G_BRANCH);
	is(history(g, "c1:d2"), "ERR:STATE~revision \"c1\" is not an ancestor of \"d2\"",
	   "history c1:d2 across branches");
	is(history(g, "b:"), "d2 d1 c2 c1 b", "history b: over two branches");
	is(history(g, "c1:"), "d1 c1", "history c1: follows one branch");
	is(history(g, ":c2branch@head"), "d2 c2 b a", "history :label@head");
}

/* ------------------------------------------------------------------ */
/* Lock-timeout retry policy (retry_policy.c)                          */
/* ------------------------------------------------------------------ */

static void
test_lock_policy(void)
{
	static const int ceilings[] = {100, 200, 400, 800, 1600, 3200, 6400, 10000, 10000};
	bool		in_range = true;
	bool		spread = false;

	/* which lock_timeout a statement runs with, per run mode */
	is_int(pgm_lock_timeout_for(-1, true), 2000, "lock_timeout -1 in deploy() is 2 s");
	is_int(pgm_lock_timeout_for(-1, false), 0, "lock_timeout -1 in upgrade()/downgrade() is off");
	is_int(pgm_lock_timeout_for(0, true), 0, "lock_timeout 0 is off in deploy()");
	is_int(pgm_lock_timeout_for(0, false), 0, "lock_timeout 0 is off in upgrade()");
	is_int(pgm_lock_timeout_for(250, true), 250, "a set lock_timeout applies in deploy()");
	is_int(pgm_lock_timeout_for(250, false), 250, "a set lock_timeout applies in upgrade()");

	/* c(n) = min(b * 2^(n-1), max(b, 10 s)) */
	for (int n = 1; n <= 9; n++)
		is_int(pgm_lock_backoff_ceiling(100, n), ceilings[n - 1],
			   "backoff ceiling of retry %d with base 100 ms", n);
	is_int(pgm_lock_backoff_ceiling(100, 1000), 10000, "retry 1000: capped at 10 s, no overflow");
	is_int(pgm_lock_backoff_ceiling(60000, 3), 60000, "a base above 10 s is its own cap");
	is_int(pgm_lock_backoff_ceiling(0, 4), 0, "base 0: no wait");
	is_int(pgm_lock_backoff_ceiling(7, 1), 7, "retry 1 waits at most the base");

	/* wait(n) between c(n) - floor(c(n)/2) and c(n), both ends reachable */
	is_int(pgm_lock_backoff_ms(100, 1, 0.0), 50, "u = 0: half the ceiling");
	is_int(pgm_lock_backoff_ms(100, 1, 0.999999), 100, "u -> 1: the ceiling");
	is_int(pgm_lock_backoff_ms(101, 1, 0.0), 51, "odd ceiling: the upper half, rounded up");
	is_int(pgm_lock_backoff_ms(101, 1, 0.999999), 101, "odd ceiling: at most the ceiling");
	is_int(pgm_lock_backoff_ms(0, 3, 0.5), 0, "base 0 waits 0 ms");
	is_int(pgm_lock_backoff_ms(1, 1, 0.999999), 1, "base 1 waits 1 ms");
	for (int n = 1; n <= 12; n++)
		for (int k = 0; k < 1000; k++)
		{
			double		u = k / 1000.0;
			int			c = pgm_lock_backoff_ceiling(100, n);
			int			w = pgm_lock_backoff_ms(100, n, u);

			in_range &= w >= c - c / 2 && w <= c;
			spread |= n == 3 && k > 0 && w != pgm_lock_backoff_ms(100, n, 0.0);
		}
	ok(in_range, "every wait lies in [c - c/2, c] for retries 1..12");
	ok(spread, "the jitter moves the wait");
}

int
main(void)
{
	test_hash();
	test_valid_id();
	test_prepare();
	test_would_cycle();
	test_topo_current();
	test_targets();
	test_resolve_target();
	test_plan_upgrade();
	test_plan_downgrade();
	test_plan_stamp();
	test_history();
	test_lock_policy();
	printf("1..%d\n", ntests);
	tap_flush();
	if (nfailed)
		printf("# %d of %d tests failed\n", nfailed, ntests);
	return nfailed ? 1 : 0;
}
