/*-------------------------------------------------------------------------
 *
 * stamp.c
 *	  migrate.stamp(): move the recorded applied set to a target as upgrade
 *	  or downgrade would, without running any revision SQL.
 *
 * Used to adopt a database whose schema already exists, or to repair the
 * bookkeeping.  The new set comes from plan.c; this file writes the
 * difference to migrate.applied, logs one event, and returns a row per
 * revision marked applied or unapplied.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "catalog.h"
#include "plan.h"
#include "runner.h"

static const char *const UNAPPLY_SQL =
"DELETE FROM migrate.applied WHERE revision OPERATOR(pg_catalog.=) ANY ($1)";

static const char *const UNAPPLY_ORPHANS_SQL =
"DELETE FROM migrate.applied a WHERE NOT EXISTS "
"  (SELECT 1 FROM migrate.revisions r WHERE r.id OPERATOR(pg_catalog.=) a.revision)";

static const char *const APPLY_SQL =
"INSERT INTO migrate.applied (revision, applied_at, applied_by, checksum, event_id) "
"SELECT r.id, pg_catalog.clock_timestamp(), $2, r.checksum, $3 "
"FROM migrate.revisions r WHERE r.id OPERATOR(pg_catalog.=) ANY ($1)";

/*
 * do_stamp: the common body of both stamp() forms.
 */
static Datum
do_stamp(FunctionCallInfo fcinfo, char **targets, int ntargets, bool purge,
		 const char *target_text)
{
	TupleDesc	td;
	Tuplestorestate *ts = pgm_srf_begin(fcinfo, &td);
	PgmWho		who;
	MgGraph    *g;
	MgError		err;
	char	   *new_applied;
	MgIntList	order = {0};
	MgIntList	added = {0},
				removed = {0};
	char	   *mark;
	PgmOwnerSave save;
	StringInfoData detail;

	pgm_refuse_on_standby("migrate.stamp()");
	pgm_refuse_nested("migrate.stamp()");
	pgm_who(&who);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_migrate: SPI_connect failed");
	pgm_begin_write();
	if (purge)
	{
		/* purging drops applied rows that no longer name a revision */
		pgm_as_owner(&save);
		pgm_internal_write(true);
		PG_TRY();
		{
			pgm_exec(UNAPPLY_ORPHANS_SQL, 0, NULL, NULL, NULL, false, 0,
					 SPI_OK_DELETE);
		}
		PG_FINALLY();
		{
			pgm_internal_write(false);
		}
		PG_END_TRY();
		pgm_restore_user(&save);
		if (SPI_processed > 0)
			pgm_cache_invalidate();
	}
	g = pgm_graph_ready(true);
	new_applied = palloc0(g->n ? g->n : 1);
	if (!mg_plan_stamp(g, (const char *const *) targets, ntargets, purge,
					   new_applied, &err))
		pgm_report(&err);

	mark = palloc(g->n ? g->n : 1);
	for (int i = 0; i < g->n; i++)
		mark[i] = g->revs[i].applied || new_applied[i];
	mg_topo_order(g, mark, &order);
	for (int i = order.n - 1; i >= 0; i--)
		if (g->revs[order.v[i]].applied && !new_applied[order.v[i]])
			mg_list_push(&removed, order.v[i]);
	for (int i = 0; i < order.n; i++)
		if (!g->revs[order.v[i]].applied && new_applied[order.v[i]])
			mg_list_push(&added, order.v[i]);

	initStringInfo(&detail);
	appendStringInfo(&detail, "%d marked applied, %d marked unapplied%s",
					 added.n, removed.n, purge ? " (purge)" : "");

	pgm_as_owner(&save);
	pgm_internal_write(true);
	PG_TRY();
	{
		int64		event_id = pgm_log_event(&who, "stamp", NULL, target_text,
											 detail.data, NULL);
		char	  **ids;

		if (removed.n > 0)
		{
			Oid			types[1] = {TEXTARRAYOID};
			Datum		values[1];

			ids = palloc(sizeof(char *) * removed.n);
			for (int i = 0; i < removed.n; i++)
				ids[i] = g->revs[removed.v[i]].id;
			values[0] = pgm_cstring_array(ids, removed.n);
			pgm_exec(UNAPPLY_SQL, 1, types, values, NULL, false, 0, SPI_OK_DELETE);
		}
		if (added.n > 0)
		{
			Oid			types[3] = {TEXTARRAYOID, NAMEOID, INT8OID};
			Datum		values[3];

			ids = palloc(sizeof(char *) * added.n);
			for (int i = 0; i < added.n; i++)
				ids[i] = g->revs[added.v[i]].id;
			values[0] = pgm_cstring_array(ids, added.n);
			values[1] = DirectFunctionCall1(namein, CStringGetDatum(who.current_user));
			values[2] = Int64GetDatum(event_id);
			pgm_exec(APPLY_SQL, 3, types, values, NULL, false, 0, SPI_OK_INSERT);
			if (SPI_processed != (uint64) added.n)
				elog(ERROR, "pg_migrate: stamp marked " UINT64_FORMAT " of %d revisions",
					 SPI_processed, added.n);
		}
	}
	PG_FINALLY();
	{
		pgm_internal_write(false);
	}
	PG_END_TRY();
	pgm_restore_user(&save);

	/* keep the cache in step with what was just written */
	if (pgm_cache_graph_for_update() == g)
	{
		for (int i = 0; i < removed.n; i++)
			g->revs[removed.v[i]].applied = false;
		for (int i = 0; i < added.n; i++)
			g->revs[added.v[i]].applied = true;
	}
	else
		pgm_cache_invalidate();

	for (int i = 0; i < removed.n; i++)
	{
		Datum		v[2];
		bool		nl[2] = {0};

		v[0] = CStringGetTextDatum(g->revs[removed.v[i]].id);
		v[1] = CStringGetTextDatum("unapplied");
		tuplestore_putvalues(ts, td, v, nl);
	}
	for (int i = 0; i < added.n; i++)
	{
		Datum		v[2];
		bool		nl[2] = {0};

		v[0] = CStringGetTextDatum(g->revs[added.v[i]].id);
		v[1] = CStringGetTextDatum("applied");
		tuplestore_putvalues(ts, td, v, nl);
	}
	SPI_finish();
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(pgm_stamp);

/*
 * migrate.stamp(target text, purge boolean)
 */
Datum
pgm_stamp(PG_FUNCTION_ARGS)
{
	char	   *target;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("target must not be NULL"),
				 errhint("Use 'base' to stamp nothing applied.")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("purge must be true or false, not NULL")));
	target = text_to_cstring(PG_GETARG_TEXT_PP(0));
	return do_stamp(fcinfo, &target, 1, PG_GETARG_BOOL(1), target);
}

PG_FUNCTION_INFO_V1(pgm_stamp_many);

/*
 * migrate.stamp(targets text[], purge boolean)
 */
Datum
pgm_stamp_many(PG_FUNCTION_ARGS)
{
	char	  **targets;
	int			n;
	StringInfoData joined;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("targets must not be NULL"),
				 errhint("Use ARRAY['base'] or '{}' to stamp nothing applied.")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("purge must be true or false, not NULL")));
	targets = pgm_array_to_cstrings(PG_GETARG_ARRAYTYPE_P(0), &n, "targets");
	initStringInfo(&joined);
	for (int i = 0; i < n; i++)
		appendStringInfo(&joined, "%s%s", i ? "," : "", targets[i]);
	return do_stamp(fcinfo, targets, n, PG_GETARG_BOOL(1), joined.data);
}
