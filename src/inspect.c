/*-------------------------------------------------------------------------
 *
 * inspect.c
 *	  The read-only SQL functions: migrate.heads(), bases(), branches(),
 *	  current(), history(), show(), resolve(), plan() and status().
 *
 * Each entry point takes the cached graph (catalog.c), asks the pure core
 * (graph.c, target.c, plan.c) and materializes the rows.  None of them
 * writes anything.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/timestamp.h"

#include "catalog.h"
#include "plan.h"

/* Per-row details kept in the catalog rather than in the graph. */
static const char *const DETAILS_SQL =
"SELECT u.ord, r.upgrade, r.downgrade, r.verify, r.transactional, r.checksum, "
"       r.registered_at, r.registered_by, a.applied_at, a.applied_by "
"FROM pg_catalog.unnest($1::pg_catalog.text[]) WITH ORDINALITY AS u(id, ord) "
"JOIN migrate.revisions r ON r.id OPERATOR(pg_catalog.=) u.id "
"LEFT JOIN migrate.applied a ON a.revision OPERATOR(pg_catalog.=) u.id";

static const char *const LAST_EVENT_SQL =
"SELECT kind OPERATOR(pg_catalog.||) COALESCE(' ' OPERATOR(pg_catalog.||) revision, '') "
"       OPERATOR(pg_catalog.||) COALESCE(' ' OPERATOR(pg_catalog.||) target, ''), "
"       occurred_at "
"FROM migrate.events ORDER BY id DESC LIMIT 1";

/* Catalog details of one revision, as fetched by fetch_details(). */
typedef struct Details
{
	bool		found;
	Datum		upgrade,
				downgrade,
				verify,
				checksum,
				registered_at,
				registered_by,
				applied_at,
				applied_by;
	bool		transactional;
	bool		downgrade_null,
				verify_null,
				applied_at_null,
				applied_by_null;
} Details;

/*
 * fetch_details: catalog details for the listed revisions, in list order.
 * Datums are copied into the caller's memory context.
 */
static Details *
fetch_details(MgGraph *g, const MgIntList *l)
{
	Details    *d = palloc0(sizeof(Details) * (l->n ? l->n : 1));
	char	  **ids = palloc(sizeof(char *) * (l->n ? l->n : 1));
	Oid			types[1] = {TEXTARRAYOID};
	Datum		values[1];
	MemoryContext outer = CurrentMemoryContext;

	for (int i = 0; i < l->n; i++)
		ids[i] = g->revs[l->v[i]].id;
	values[0] = pgm_cstring_array(ids, l->n);
	pgm_exec(DETAILS_SQL, 1, types, values, NULL, true, 0, SPI_OK_SELECT);
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		int64		ord = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		Details    *x;
		MemoryContext old;

		if (ord < 1 || ord > l->n)
			continue;
		x = &d[ord - 1];
		old = MemoryContextSwitchTo(outer);
		x->found = true;
		x->upgrade = SPI_getbinval(tup, desc, 2, &isnull);
		x->upgrade = datumCopy(x->upgrade, false, -1);
		x->downgrade = SPI_getbinval(tup, desc, 3, &x->downgrade_null);
		if (!x->downgrade_null)
			x->downgrade = datumCopy(x->downgrade, false, -1);
		x->verify = SPI_getbinval(tup, desc, 4, &x->verify_null);
		if (!x->verify_null)
			x->verify = datumCopy(x->verify, false, -1);
		x->transactional = DatumGetBool(SPI_getbinval(tup, desc, 5, &isnull));
		x->checksum = datumCopy(SPI_getbinval(tup, desc, 6, &isnull), false, -1);
		x->registered_at = SPI_getbinval(tup, desc, 7, &isnull);
		x->registered_by = datumCopy(SPI_getbinval(tup, desc, 8, &isnull), false, NAMEDATALEN);
		x->applied_at = SPI_getbinval(tup, desc, 9, &x->applied_at_null);
		x->applied_by = SPI_getbinval(tup, desc, 10, &x->applied_by_null);
		if (!x->applied_by_null)
			x->applied_by = datumCopy(x->applied_by, false, NAMEDATALEN);
		MemoryContextSwitchTo(old);
	}
	SPI_freetuptable(SPI_tuptable);
	return d;
}

/*
 * Effective branch labels: for each revision, the labels of the branches
 * it belongs to (computed only when some revision declares a label).
 */
typedef struct Labels
{
	int		   *n;
	char	 ***names;
} Labels;

static Labels
effective_labels(MgGraph *g)
{
	Labels		lb;
	char	   *mark = NULL;

	lb.n = palloc0(sizeof(int) * (g->n ? g->n : 1));
	lb.names = palloc0(sizeof(char **) * (g->n ? g->n : 1));
	for (int r = 0; r < g->n; r++)
	{
		if (g->revs[r].nlabels == 0)
			continue;
		if (mark == NULL)
			mark = palloc(g->n);
		memset(mark, 0, g->n);
		mg_label_members(g, r, mark);
		for (int i = 0; i < g->n; i++)
		{
			if (!mark[i])
				continue;
			if (lb.names[i] == NULL)
				lb.names[i] = palloc(sizeof(char *) * 4);
			else if ((lb.n[i] & 3) == 0)
				lb.names[i] = repalloc(lb.names[i], sizeof(char *) * (lb.n[i] + 4));
			for (int k = 0; k < g->revs[r].nlabels; k++)
			{
				if ((lb.n[i] & 3) == 0 && lb.n[i] > 0)
					lb.names[i] = repalloc(lb.names[i], sizeof(char *) * (lb.n[i] + 4));
				lb.names[i][lb.n[i]++] = g->revs[r].labels[k];
			}
		}
	}
	return lb;
}

/*
 * labels_datum: the text[] of a revision's effective labels.
 */
static Datum
labels_datum(const Labels *lb, int idx)
{
	return pgm_cstring_array(lb->names[idx], lb->n[idx]);
}

/*
 * ids_datum: text[] of the ids of a list of revisions.
 */
static Datum
ids_datum(MgGraph *g, const int *idx, int n)
{
	char	  **ids = palloc(sizeof(char *) * (n ? n : 1));

	for (int i = 0; i < n; i++)
		ids[i] = g->revs[idx[i]].id;
	return pgm_cstring_array(ids, n);
}

/*
 * message_datum: a revision's message, or a NULL flag.
 */
static Datum
message_datum(MgGraph *g, int idx, bool *isnull)
{
	*isnull = g->revs[idx].message == NULL;
	return *isnull ? (Datum) 0 : CStringGetTextDatum(g->revs[idx].message);
}

/*
 * connect: SPI_connect with the obligatory check.
 */
static void
connect(void)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_migrate: SPI_connect failed");
}

/*
 * target_arg: a target argument; NULL is an error.
 */
static char *
target_arg(FunctionCallInfo fcinfo, int n, const char *name)
{
	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", name),
				 errhint("Pass a target such as 'heads', 'base', a revision id, 'label@head' or '-1'.")));
	return text_to_cstring(PG_GETARG_TEXT_PP(n));
}

PG_FUNCTION_INFO_V1(pgm_heads);

/*
 * migrate.heads(): revisions without children through down_revision.
 */
Datum
pgm_heads(PG_FUNCTION_ARGS)
{
	TupleDesc	td;
	Tuplestorestate *ts = pgm_srf_begin(fcinfo, &td);
	MgGraph    *g;
	Labels		lb;

	connect();
	g = pgm_graph_ready(false);
	lb = effective_labels(g);
	for (int i = 0; i < g->heads.n; i++)
	{
		int			h = g->heads.v[i];
		Datum		v[5];
		bool		nl[5] = {0};

		v[0] = CStringGetTextDatum(g->revs[h].id);
		v[1] = message_datum(g, h, &nl[1]);
		v[2] = labels_datum(&lb, h);
		v[3] = BoolGetDatum(mg_is_merge(g, h));
		v[4] = BoolGetDatum(g->revs[h].applied);
		tuplestore_putvalues(ts, td, v, nl);
	}
	SPI_finish();
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(pgm_bases);

/*
 * migrate.bases(): revisions without parents.
 */
Datum
pgm_bases(PG_FUNCTION_ARGS)
{
	TupleDesc	td;
	Tuplestorestate *ts = pgm_srf_begin(fcinfo, &td);
	MgGraph    *g;
	Labels		lb;

	connect();
	g = pgm_graph_ready(false);
	lb = effective_labels(g);
	for (int i = 0; i < g->bases.n; i++)
	{
		int			b = g->bases.v[i];
		Datum		v[5];
		bool		nl[5] = {0};

		v[0] = CStringGetTextDatum(g->revs[b].id);
		v[1] = message_datum(g, b, &nl[1]);
		v[2] = labels_datum(&lb, b);
		v[3] = pgm_cstring_array(g->revs[b].dep_ids, g->revs[b].ndeps);
		v[4] = BoolGetDatum(g->revs[b].applied);
		tuplestore_putvalues(ts, td, v, nl);
	}
	SPI_finish();
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(pgm_branches);

/*
 * migrate.branches(): branch points, with their children.
 */
Datum
pgm_branches(PG_FUNCTION_ARGS)
{
	TupleDesc	td;
	Tuplestorestate *ts = pgm_srf_begin(fcinfo, &td);
	MgGraph    *g;
	Labels		lb;

	connect();
	g = pgm_graph_ready(false);
	lb = effective_labels(g);
	for (int r = 0; r < g->n; r++)
	{
		Datum		v[4];
		bool		nl[4] = {0};

		if (mg_nchildren(g, r) < 2)
			continue;
		v[0] = CStringGetTextDatum(g->revs[r].id);
		v[1] = message_datum(g, r, &nl[1]);
		v[2] = labels_datum(&lb, r);
		v[3] = ids_datum(g, &g->child[g->child_off[r]], mg_nchildren(g, r));
		tuplestore_putvalues(ts, td, v, nl);
	}
	SPI_finish();
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(pgm_current);

/*
 * migrate.current(): the applied revisions no other applied one implies.
 */
Datum
pgm_current(PG_FUNCTION_ARGS)
{
	TupleDesc	td;
	Tuplestorestate *ts = pgm_srf_begin(fcinfo, &td);
	MgGraph    *g;
	MgIntList	cur = {0};
	Details    *d;
	Labels		lb;

	connect();
	g = pgm_graph_ready(false);
	mg_current(g, &cur);
	d = fetch_details(g, &cur);
	lb = effective_labels(g);
	for (int i = 0; i < cur.n; i++)
	{
		int			c = cur.v[i];
		Datum		v[6];
		bool		nl[6] = {0};

		v[0] = CStringGetTextDatum(g->revs[c].id);
		v[1] = message_datum(g, c, &nl[1]);
		v[2] = labels_datum(&lb, c);
		v[3] = BoolGetDatum(mg_is_merge(g, c));
		v[4] = d[i].applied_at;
		nl[4] = !d[i].found || d[i].applied_at_null;
		v[5] = d[i].applied_by;
		nl[5] = !d[i].found || d[i].applied_by_null;
		tuplestore_putvalues(ts, td, v, nl);
	}
	SPI_finish();
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(pgm_history);

/*
 * migrate.history(range): revisions newest first, optionally a range.
 */
Datum
pgm_history(PG_FUNCTION_ARGS)
{
	TupleDesc	td;
	Tuplestorestate *ts = pgm_srf_begin(fcinfo, &td);
	char	   *range = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	MgGraph    *g;
	MgIntList	rows = {0};
	MgError		err;
	Details    *d;
	Labels		lb;

	connect();
	g = pgm_graph_ready(false);
	if (!mg_history_range(g, range, &rows, &err))
		pgm_report(&err);
	d = fetch_details(g, &rows);
	lb = effective_labels(g);
	for (int i = 0; i < rows.n; i++)
	{
		int			r = rows.v[i];
		MgRev	   *rev = &g->revs[r];
		Datum		v[12];
		bool		nl[12] = {0};

		v[0] = CStringGetTextDatum(rev->id);
		v[1] = pgm_cstring_array(rev->parent_ids, rev->nparents);
		v[2] = pgm_cstring_array(rev->dep_ids, rev->ndeps);
		v[3] = labels_datum(&lb, r);
		v[4] = message_datum(g, r, &nl[4]);
		v[5] = BoolGetDatum(mg_nchildren(g, r) == 0);
		v[6] = BoolGetDatum(mg_nchildren(g, r) > 1);
		v[7] = BoolGetDatum(mg_is_merge(g, r));
		v[8] = BoolGetDatum(rev->applied);
		v[9] = d[i].applied_at;
		nl[9] = !d[i].found || d[i].applied_at_null;
		v[10] = d[i].applied_by;
		nl[10] = !d[i].found || d[i].applied_by_null;
		v[11] = d[i].registered_at;
		nl[11] = !d[i].found;
		tuplestore_putvalues(ts, td, v, nl);
	}
	SPI_finish();
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(pgm_show);

/*
 * migrate.show(target): everything about the revisions a target names.
 */
Datum
pgm_show(PG_FUNCTION_ARGS)
{
	TupleDesc	td;
	Tuplestorestate *ts = pgm_srf_begin(fcinfo, &td);
	char	   *target = target_arg(fcinfo, 0, "target");
	MgGraph    *g;
	MgIntList	res = {0};
	MgIntList	rows = {0};
	MgError		err;
	Details    *d;
	Labels		lb;

	connect();
	g = pgm_graph_ready(false);
	if (!mg_get_revisions(g, target, &res, &err))
		pgm_report(&err);
	for (int i = 0; i < res.n; i++)
		if (res.v[i] >= 0 && !mg_list_contains(&rows, res.v[i]))
			mg_list_push(&rows, res.v[i]);
	d = fetch_details(g, &rows);
	lb = effective_labels(g);
	for (int i = 0; i < rows.n; i++)
	{
		int			r = rows.v[i];
		MgRev	   *rev = &g->revs[r];
		Datum		v[19];
		bool		nl[19] = {0};

		v[0] = CStringGetTextDatum(rev->id);
		v[1] = pgm_cstring_array(rev->parent_ids, rev->nparents);
		v[2] = pgm_cstring_array(rev->dep_ids, rev->ndeps);
		v[3] = labels_datum(&lb, r);
		v[4] = message_datum(g, r, &nl[4]);
		v[5] = d[i].upgrade;
		nl[5] = !d[i].found;
		v[6] = d[i].downgrade;
		nl[6] = !d[i].found || d[i].downgrade_null;
		v[7] = d[i].verify;
		nl[7] = !d[i].found || d[i].verify_null;
		v[8] = BoolGetDatum(d[i].transactional);
		nl[8] = !d[i].found;
		v[9] = d[i].checksum;
		nl[9] = !d[i].found;
		v[10] = ids_datum(g, &g->child[g->child_off[r]], mg_nchildren(g, r));
		v[11] = BoolGetDatum(mg_nchildren(g, r) == 0);
		v[12] = BoolGetDatum(mg_is_merge(g, r));
		v[13] = BoolGetDatum(mg_nchildren(g, r) > 1);
		v[14] = BoolGetDatum(rev->applied);
		v[15] = d[i].applied_at;
		nl[15] = !d[i].found || d[i].applied_at_null;
		v[16] = d[i].applied_by;
		nl[16] = !d[i].found || d[i].applied_by_null;
		v[17] = d[i].registered_at;
		nl[17] = !d[i].found;
		v[18] = d[i].registered_by;
		nl[18] = !d[i].found;
		tuplestore_putvalues(ts, td, v, nl);
	}
	SPI_finish();
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(pgm_resolve);

/*
 * migrate.resolve(target): the revisions a target names (none for base).
 */
Datum
pgm_resolve(PG_FUNCTION_ARGS)
{
	TupleDesc	td;
	Tuplestorestate *ts = pgm_srf_begin(fcinfo, &td);
	char	   *target = target_arg(fcinfo, 0, "target");
	MgGraph    *g;
	MgIntList	res = {0};
	MgIntList	cur = {0};
	MgIntList	seen = {0};
	MgError		err;

	connect();
	g = pgm_graph_ready(false);
	mg_current(g, &cur);
	if (!mg_resolve_target(g, &cur, target, &res, &err))
		pgm_report(&err);
	for (int i = 0; i < res.n; i++)
	{
		Datum		v[2];
		bool		nl[2] = {0};

		if (res.v[i] < 0 || mg_list_contains(&seen, res.v[i]))
			continue;
		mg_list_push(&seen, res.v[i]);
		v[0] = CStringGetTextDatum(g->revs[res.v[i]].id);
		v[1] = message_datum(g, res.v[i], &nl[1]);
		tuplestore_putvalues(ts, td, v, nl);
	}
	SPI_finish();
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(pgm_plan);

/*
 * migrate.plan(target, direction): what upgrade or downgrade would run.
 */
Datum
pgm_plan(PG_FUNCTION_ARGS)
{
	TupleDesc	td;
	Tuplestorestate *ts = pgm_srf_begin(fcinfo, &td);
	char	   *target = target_arg(fcinfo, 0, "target");
	char	   *direction;
	bool		upgrade;
	MgGraph    *g;
	MgIntList	steps = {0};
	MgError		err;
	bool		ok;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("direction must be 'upgrade' or 'downgrade', not NULL")));
	direction = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (strcmp(direction, "upgrade") == 0)
		upgrade = true;
	else if (strcmp(direction, "downgrade") == 0)
		upgrade = false;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("direction must be 'upgrade' or 'downgrade', not \"%s\"", direction)));

	connect();
	g = pgm_graph_ready(false);
	ok = upgrade ? mg_plan_upgrade(g, target, &steps, &err) :
		mg_plan_downgrade(g, target, &steps, &err);
	if (!ok)
		pgm_report(&err);
	for (int i = 0; i < steps.n; i++)
	{
		Datum		v[4];
		bool		nl[4] = {0};

		v[0] = Int32GetDatum(i + 1);
		v[1] = CStringGetTextDatum(g->revs[steps.v[i]].id);
		v[2] = CStringGetTextDatum(upgrade ? "upgrade" : "downgrade");
		v[3] = message_datum(g, steps.v[i], &nl[3]);
		tuplestore_putvalues(ts, td, v, nl);
	}
	SPI_finish();
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(pgm_status);

/*
 * migrate.status(): one row summing up the state.
 */
Datum
pgm_status(PG_FUNCTION_ARGS)
{
	TupleDesc	td;
	MgGraph    *g;
	MgIntList	cur = {0};
	MgIntList	steps = {0};
	MgError		err;
	Datum		v[5];
	bool		nl[5] = {0};
	HeapTuple	tup;
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext spi;

	if (get_call_result_type(fcinfo, NULL, &td) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "pg_migrate: return type must be a row type");
	td = BlessTupleDesc(td);
	connect();
	g = pgm_graph_ready(false);
	mg_current(g, &cur);
	if (!mg_plan_upgrade(g, "heads", &steps, &err))
		pgm_report(&err);
	pgm_exec(LAST_EVENT_SQL, 0, NULL, NULL, NULL, true, 1, SPI_OK_SELECT);

	/* the result must outlive SPI_finish: build it in the caller's context */
	spi = MemoryContextSwitchTo(caller);
	v[0] = ids_datum(g, cur.v, cur.n);
	v[1] = ids_datum(g, g->heads.v, g->heads.n);
	v[2] = Int32GetDatum(steps.n);
	if (SPI_processed == 1)
	{
		bool		isnull;

		v[3] = datumCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull),
						 false, -1);
		v[4] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	}
	else
		nl[3] = nl[4] = true;
	tup = heap_form_tuple(td, v, nl);
	MemoryContextSwitchTo(spi);
	SPI_finish();
	return HeapTupleGetDatum(tup);
}
