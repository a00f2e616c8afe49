/*-------------------------------------------------------------------------
 *
 * runner.c
 *	  migrate.upgrade() and migrate.downgrade(): running revision SQL in
 *	  the caller's transaction, exactly once under concurrent runners.
 *
 * A call takes the migration lock (a transaction-scoped advisory lock, the
 * one pg_advisory_xact_lock(8099547378373587553) takes), so concurrent
 * runners queue.  After the wait it reads the applied set with a fresh
 * snapshot -- under READ COMMITTED the snapshot of the calling statement
 * predates the other runner's commit -- so a runner that waited finds the
 * work done.  A REPEATABLE READ or SERIALIZABLE caller cannot see past its
 * snapshot: when the catalog moved on since then, it gets a serialization
 * failure instead of applying anything twice.
 *
 * The plan is plan.c's.  Each revision runs statement by statement as split
 * by sqlsplit.c, as the calling user, with settings it changes
 * (search_path, role) restored afterwards, and without a subtransaction of
 * its own (see pgm_run_revision).  An error
 * keeps its SQLSTATE and message and gains a context line naming the
 * revision, the step and the statement; the error then ends the call and,
 * with it, everything the call did.  Bookkeeping (migrate.applied, one
 * event per step) is written as the extension owner after each revision.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "catalog.h"
#include "lineage.h"
#include "lint.h"
#include "plan.h"
#include "retry.h"
#include "runner.h"
#include "sqlsplit.h"

/* The key of the migration lock, as one bigint ("pg_migra" in ASCII). */
#define PGM_LOCK_KEY INT64CONST(8099547378373587553)

bool		pgm_quiet = false;
int			pgm_migration_lock_timeout = 600000;

static bool runner_active = false;

/* Counts the revisions this backend started to run (see runner.h). */
uint64		pgm_revision_serial = 0;

static const char *const BODIES_SQL =
"SELECT u.ord, r.upgrade, r.downgrade, r.verify, r.transactional, r.checksum "
"FROM pg_catalog.unnest($1::pg_catalog.text[]) WITH ORDINALITY AS u(id, ord) "
"JOIN migrate.revisions r ON r.id OPERATOR(pg_catalog.=) u.id";

static const char *const HOLDER_SQL =
"SELECT pid FROM pg_catalog.pg_locks "
"WHERE locktype OPERATOR(pg_catalog.=) 'advisory' AND granted "
"  AND database OPERATOR(pg_catalog.=) $1 "
"  AND classid OPERATOR(pg_catalog.=) $2 AND objid OPERATOR(pg_catalog.=) $3 "
"  AND objsubid OPERATOR(pg_catalog.=) 1 "
"LIMIT 1";

/* One event per step, and the applied rows added (or removed), at once. */
#define RECORD_EVENTS \
"WITH ev AS (INSERT INTO migrate.events (occurred_at, kind, revision, target, checksum, " \
"    duration, session_user_name, current_user_name, application_name, client_addr, " \
"    backend_pid, transaction_id) " \
"  SELECT u.t, $5, u.r, $6, u.c, " \
"    pg_catalog.make_interval(secs => u.d OPERATOR(pg_catalog./) 1000000.0), " \
"    $7, $8, $9, pg_catalog.inet_client_addr(), $10, pg_catalog.pg_current_xact_id() " \
"  FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.text[]), " \
"                  pg_catalog.unnest($2::pg_catalog.text[]), " \
"                  pg_catalog.unnest($3::pg_catalog.int8[]), " \
"                  pg_catalog.unnest($4::pg_catalog.timestamptz[])) " \
"       WITH ORDINALITY AS u(r, c, d, t, o) " \
"  ORDER BY u.o " \
"  RETURNING id, revision, occurred_at, checksum) "

static const char *const RECORD_UP_SQL =
RECORD_EVENTS
"INSERT INTO migrate.applied (revision, applied_at, applied_by, checksum, event_id) "
"SELECT ev.revision, ev.occurred_at, $8, ev.checksum, ev.id FROM ev";

static const char *const RECORD_DOWN_SQL =
RECORD_EVENTS
"DELETE FROM migrate.applied a USING ev "
"WHERE a.revision OPERATOR(pg_catalog.=) ev.revision";


/*
 * refuse_nested: the write functions may not be called from inside a
 * revision's SQL.
 */
void
pgm_refuse_nested(const char *function)
{
	if (runner_active)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s cannot be called from inside a revision", function),
				 errdetail("A revision's SQL is running in migrate.upgrade(), migrate.downgrade() or migrate.deploy()."),
				 errhint("Register, stamp and run revisions outside revision SQL.")));
}

/*
 * lock_holder: the pid holding the migration lock, or 0.
 */
static int
lock_holder(void)
{
	Oid			types[3] = {OIDOID, OIDOID, OIDOID};
	Datum		values[3];
	int			pid = 0;
	bool		isnull;

	values[0] = ObjectIdGetDatum(MyDatabaseId);
	values[1] = ObjectIdGetDatum((Oid) (uint32) (PGM_LOCK_KEY >> 32));
	values[2] = ObjectIdGetDatum((Oid) (uint32) PGM_LOCK_KEY);
	pgm_exec(HOLDER_SQL, 3, types, values, NULL, false, 1, SPI_OK_SELECT);
	if (SPI_processed == 1)
		pid = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0],
										  SPI_tuptable->tupdesc, 1, &isnull));
	SPI_freetuptable(SPI_tuptable);
	return pid;
}

/*
 * pgm_wait_for_lock: LockAcquire(tag) in ExclusiveLock mode (a session lock
 * when session_lock), waiting at most pg_migrate.migration_lock_timeout.
 * On expiry: 55P03 with the caller's detail, which names the holder.
 */
void
pgm_wait_for_lock(const LOCKTAG *tag, bool session_lock, const char *detail)
{
	int			saved = LockTimeout;
	MemoryContext cxt = CurrentMemoryContext;

	LockTimeout = pgm_migration_lock_timeout;
	PG_TRY();
	{
		(void) LockAcquire(tag, ExclusiveLock, session_lock, false);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		LockTimeout = saved;
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		if (edata->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE)
			PG_RE_THROW();
		FlushErrorState();
		ereport(ERROR,
				(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
				 errmsg("could not get the migration lock within %d ms",
						pgm_migration_lock_timeout),
				 errdetail_internal("%s", detail),
				 errhint("Wait for that migration to finish, or raise pg_migrate.migration_lock_timeout.")));
	}
	PG_END_TRY();
	LockTimeout = saved;
}

/*
 * pgm_acquire_migration_lock: take the migration lock for the rest of the
 * transaction, waiting at most pg_migrate.migration_lock_timeout.
 */
void
pgm_acquire_migration_lock(void)
{
	LOCKTAG		tag;
	int			holder;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) (PGM_LOCK_KEY >> 32),
						 (uint32) PGM_LOCK_KEY, 1);
	if (LockAcquire(&tag, ExclusiveLock, false, true) != LOCKACQUIRE_NOT_AVAIL)
		return;

	holder = lock_holder();
	if (!pgm_quiet)
		ereport(NOTICE,
				(errmsg("waiting for the migration lock held by backend %d", holder)));
	pgm_wait_for_lock(&tag, false,
					  psprintf("Backend %d holds it: another migration is running in that session.",
							   holder));
}

/*
 * pgm_set_running: mark that revision SQL runs in this backend (the write
 * functions refuse to be called from it); for runners outside this file.
 */
void
pgm_set_running(bool on)
{
	runner_active = on;
}

/*
 * pgm_copy_steps: the ids, messages and SQL of the planned revisions, in this
 * function's memory: revision SQL may make the graph cache reload.
 */
RunStep *
pgm_copy_steps(MgGraph *g, const MgIntList *plan, bool upgrade)
{
	RunStep    *steps = palloc0(sizeof(RunStep) * (plan->n ? plan->n : 1));
	char	  **ids = palloc(sizeof(char *) * (plan->n ? plan->n : 1));
	Oid			types[1] = {TEXTARRAYOID};
	Datum		values[1];

	for (int i = 0; i < plan->n; i++)
	{
		MgRev	   *r = &g->revs[plan->v[i]];

		steps[i].id = pstrdup(r->id);
		steps[i].message = r->message ? pstrdup(r->message) : NULL;
		ids[i] = steps[i].id;
	}
	values[0] = pgm_cstring_array(ids, plan->n);
	pgm_exec(BODIES_SQL, 1, types, values, NULL, false, 0, SPI_OK_SELECT);
	for (uint64 k = 0; k < SPI_processed; k++)
	{
		HeapTuple	tup = SPI_tuptable->vals[k];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		int64		ord = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		RunStep    *s;
		Datum		d;

		if (ord < 1 || ord > plan->n)
			continue;
		s = &steps[ord - 1];
		d = SPI_getbinval(tup, desc, upgrade ? 2 : 3, &isnull);
		s->has_body = !isnull;
		s->sql = isnull ? NULL : TextDatumGetCString(d);
		d = SPI_getbinval(tup, desc, 4, &isnull);
		s->verify = isnull ? NULL : TextDatumGetCString(d);
		s->transactional = DatumGetBool(SPI_getbinval(tup, desc, 5, &isnull));
		s->checksum = TextDatumGetCString(SPI_getbinval(tup, desc, 6, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);
	for (int i = 0; i < plan->n; i++)
		if (steps[i].checksum == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("revision \"%s\" disappeared while planning", steps[i].id),
					 errhint("Run the call again.")));
	return steps;
}

/*
 * text_has_not_ok: does a text value hold a TAP "not ok" line?
 */
static const char *
text_has_not_ok(const char *s)
{
	for (const char *p = s; p && *p;)
	{
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, "not ok", 6) == 0)
			return p;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

/*
 * pgm_run_verify: run a revision's verify SQL; an error, a false boolean or a
 * pgTAP "not ok" line in any result fails the revision.
 */
void
pgm_run_verify(const RunStep *s)
{
	List	   *stmts = pgm_split_sql(s->verify, "verify", s->id);
	ListCell   *lc;

	foreach(lc, stmts)
	{
		PgmStmt    *st = (PgmStmt *) lfirst(lc);
		int			rc = SPI_execute(st->text, false, 0);

		if (rc < 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("verify statement %d of revision \"%s\" cannot run inside a revision: %s",
							st->number, s->id, SPI_result_code_string(rc)),
					 errdetail("Statement %d, line %d: %s", st->number, st->lineno, st->first_line),
					 errhint("Verify SQL runs inside the revision's transaction: no transaction control, no COPY from or to the client.")));
		if (SPI_tuptable == NULL)
			continue;
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			TupleDesc	desc = SPI_tuptable->tupdesc;

			for (int c = 1; c <= desc->natts; c++)
			{
				Oid			type = SPI_gettypeid(desc, c);
				bool		isnull;
				Datum		d = SPI_getbinval(SPI_tuptable->vals[r], desc, c, &isnull);
				const char *bad;

				if (isnull)
					continue;
				if (type == BOOLOID && !DatumGetBool(d))
					ereport(ERROR,
							(errcode(ERRCODE_ASSERT_FAILURE),
							 errmsg("verification of revision \"%s\" failed: statement %d returned false",
									s->id, st->number),
							 errdetail("Statement %d, line %d: %s", st->number, st->lineno, st->first_line),
							 errhint("The upgrade ran but did not produce what verify expects; fix the revision and run again.")));
				if (type == TEXTOID &&
					(bad = text_has_not_ok(TextDatumGetCString(d))) != NULL)
				{
					const char *e = strchr(bad, '\n');

					ereport(ERROR,
							(errcode(ERRCODE_ASSERT_FAILURE),
							 errmsg("verification of revision \"%s\" failed: %.*s",
									s->id, (int) (e ? e - bad : strlen(bad)), bad),
							 errdetail("Statement %d, line %d: %s", st->number, st->lineno, st->first_line),
							 errhint("The upgrade ran but did not produce what verify expects; fix the revision and run again.")));
				}
			}
		}
		SPI_freetuptable(SPI_tuptable);
	}
}

/*
 * pgm_run_revision: run one revision's SQL (and, for an upgrade, its verify
 * SQL), each statement through pgm_execute_statement() (which applies the
 * lock-timeout policy of the mode).  An error is re-thrown with the
 * revision, step and statement added to its context; settings the revision
 * changed are undone after it, or by the abort that follows an error.
 *
 * There is no subtransaction per revision: an error ends the whole call,
 * so a subtransaction would undo nothing the caller's abort does not, and
 * it costs.  Each one that writes takes a transaction id of its own; past
 * 64 of them (PGPROC_MAX_CACHED_SUBXIDS) every other session's snapshot
 * is "suboverflowed" and looks up pg_subtrans for as long as the migration
 * runs, and each subtransaction's end walks the relation cache, the local
 * lock table and the pending file deletions of the whole transaction, which
 * grow with every revision before it.
 */
void
pgm_run_revision(const RunStep *s, int stepno, int nsteps, bool upgrade,
				 PgmRunMode mode)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	volatile int stmtno = 0;
	const char *volatile stmtline = NULL;
	volatile bool verifying = false;
	int			nest = NewGUCNestLevel();

	pgm_revision_serial++;
	pgm_lineage_revision = s->id;
	pgm_lineage_direction = upgrade ? "upgrade" : "downgrade";
	PG_TRY();
	{
		List	   *stmts = s->sql ? pgm_split_sql(s->sql, upgrade ? "upgrade" : "downgrade", s->id) : NIL;
		ListCell   *lc;

		foreach(lc, stmts)
		{
			PgmStmt    *st = (PgmStmt *) lfirst(lc);

			stmtno = st->number;
			stmtline = st->first_line;
			pgm_execute_statement(st, mode);
		}
		if (upgrade && s->verify)
		{
			verifying = true;
			pgm_run_verify(s);
		}
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		char	   *where;

		pgm_lineage_revision = NULL;
		pgm_lineage_direction = NULL;
		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();

		if (verifying)
			where = psprintf("verify of revision \"%s\" (step %d/%d)",
							 s->id, stepno, nsteps);
		else
			where = psprintf("%s of revision \"%s\" (step %d/%d), statement %d: %s",
							 upgrade ? "upgrade" : "downgrade", s->id, stepno,
							 nsteps, stmtno, stmtline ? (const char *) stmtline : "");
		edata->context = edata->context ?
			psprintf("%s\n%s", edata->context, where) : where;
		/* the abort that follows pops the settings' nesting level */
		ReThrowError(edata);
	}
	PG_END_TRY();
	pgm_lineage_revision = NULL;
	pgm_lineage_direction = NULL;
	MemoryContextSwitchTo(oldcxt);
	/* settings the revision changed (search_path, role) end with it */
	AtEOXact_GUC(false, nest);
}

/*
 * pgm_record_steps: bookkeeping for revisions that ran, as the extension
 * owner, in one statement: an upgrade or downgrade event per step (with its
 * time, duration and checksum) and the applied rows added or removed.
 * steps[i] ran for durations_us[i] and ended at ended[i].
 */
void
pgm_record_steps(const PgmWho *who, const RunStep *steps, int n, bool upgrade,
				 const char *target, const int64 *durations_us,
				 const TimestampTz *ended)
{
	PgmOwnerSave save;
	MgGraph    *g;
	Datum	   *ids = palloc(sizeof(Datum) * (n ? n : 1));
	Datum	   *sums = palloc(sizeof(Datum) * (n ? n : 1));
	Datum	   *durs = palloc(sizeof(Datum) * (n ? n : 1));
	Datum	   *times = palloc(sizeof(Datum) * (n ? n : 1));
	Oid			types[10] = {TEXTARRAYOID, TEXTARRAYOID, INT8ARRAYOID,
		TIMESTAMPTZARRAYOID, TEXTOID, TEXTOID, NAMEOID, NAMEOID, TEXTOID, INT4OID};
	Datum		values[10];
	char		nulls[10];

	if (n == 0)
		return;
	for (int i = 0; i < n; i++)
	{
		ids[i] = CStringGetTextDatum(steps[i].id);
		sums[i] = CStringGetTextDatum(steps[i].checksum);
		durs[i] = Int64GetDatum(durations_us[i]);
		times[i] = TimestampTzGetDatum(ended[i]);
	}
	memset(nulls, ' ', sizeof(nulls));
	values[0] = PointerGetDatum(construct_array(ids, n, TEXTOID, -1, false, TYPALIGN_INT));
	values[1] = PointerGetDatum(construct_array(sums, n, TEXTOID, -1, false, TYPALIGN_INT));
	values[2] = PointerGetDatum(construct_array(durs, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[3] = PointerGetDatum(construct_array(times, n, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[4] = CStringGetTextDatum(upgrade ? "upgrade" : "downgrade");
	values[5] = target ? CStringGetTextDatum(target) : (Datum) 0;
	nulls[5] = target ? ' ' : 'n';
	values[6] = DirectFunctionCall1(namein, CStringGetDatum(who->session_user));
	values[7] = DirectFunctionCall1(namein, CStringGetDatum(who->current_user));
	values[8] = who->application_name ? CStringGetTextDatum(who->application_name) : (Datum) 0;
	nulls[8] = who->application_name ? ' ' : 'n';
	values[9] = Int32GetDatum(MyProcPid);

	pgm_as_owner(&save);
	pgm_internal_write(true);
	PG_TRY();
	{
		pgm_exec(upgrade ? RECORD_UP_SQL : RECORD_DOWN_SQL, 10, types, values,
				 nulls, false, 0, upgrade ? SPI_OK_INSERT : SPI_OK_DELETE);
		if (SPI_processed != (uint64) n)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("migrate.applied was changed during the migration: " UINT64_FORMAT " of %d rows recorded",
							SPI_processed, n),
					 errhint("Do not write migrate.applied from revision SQL.")));
	}
	PG_FINALLY();
	{
		pgm_internal_write(false);
	}
	PG_END_TRY();
	pgm_restore_user(&save);

	g = pgm_cache_graph_for_update();
	if (g != NULL)
	{
		for (int i = 0; i < n; i++)
		{
			int			idx = mg_graph_find(g, steps[i].id);

			if (idx >= 0)
				g->revs[idx].applied = upgrade;
			else
				pgm_cache_invalidate();
		}
	}
}

/*
 * interval_datum: an interval of the given microseconds.
 */
static Datum
interval_datum(int64 us)
{
	Interval   *iv = palloc0(sizeof(Interval));

	iv->time = us;
	return IntervalPGetDatum(iv);
}

/*
 * run: the body of upgrade() and downgrade().
 */
static Datum
run(FunctionCallInfo fcinfo, const char *target, bool upgrade)
{
	TupleDesc	td;
	Tuplestorestate *ts = pgm_srf_begin(fcinfo, &td);
	PgmWho		who;
	MgGraph    *g;
	MgIntList	plan = {0};
	MgError		err;
	RunStep    *steps;
	int64	   *durations;
	TimestampTz *ended;
	bool		ok;

	pgm_refuse_on_standby(upgrade ? "migrate.upgrade()" : "migrate.downgrade()");
	pgm_refuse_nested(upgrade ? "migrate.upgrade()" : "migrate.downgrade()");
	pgm_who(&who);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_migrate: SPI_connect failed");

	pgm_acquire_migration_lock();
	if (IsolationUsesXactSnapshot() && pgm_catalog_moved_on())
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access: the migration catalog changed after this transaction's snapshot was taken"),
				 errdetail("Another session registered, stamped or migrated in the meantime; this transaction cannot see what it did."),
				 errhint("Retry the transaction, or call migrate.%s() under READ COMMITTED, where it waits for other migrations and then sees their result.",
						 upgrade ? "upgrade" : "downgrade")));

	g = pgm_graph_ready(true);
	ok = upgrade ? mg_plan_upgrade(g, target, &plan, &err) :
		mg_plan_downgrade(g, target, &plan, &err);
	if (!ok)
		pgm_report(&err);
	if (plan.n == 0)
	{
		ereport(NOTICE,
				(errmsg("database is already at target \"%s\": nothing to %s",
						target, upgrade ? "upgrade" : "downgrade")));
		SPI_finish();
		return (Datum) 0;
	}
	steps = pgm_copy_steps(g, &plan, upgrade);
	g = NULL;					/* revision SQL may reload the cache */

	for (int i = 0; i < plan.n; i++)
	{
		if (upgrade && !steps[i].transactional)
			ereport(ERROR,
					(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
					 errmsg("revision \"%s\" cannot run inside a transaction block", steps[i].id),
					 errdetail("It is registered with transactional => false (step %d/%d of this upgrade); nothing was run.",
							   i + 1, plan.n),
					 errhint("Run it with CALL migrate.deploy(), outside a transaction block.")));
		if (!upgrade && !steps[i].has_body)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("revision \"%s\" is irreversible: it has no downgrade", steps[i].id),
					 errdetail("The downgrade to \"%s\" would unapply it (step %d/%d); nothing was run.",
							   target, i + 1, plan.n),
					 errhint("Downgrade to a target above it, or register its downgrade SQL (a new revision may be needed if it is applied).")));
	}

	/* lint every pending revision before anything runs */
	for (int i = 0; upgrade && i < plan.n; i++)
		pgm_lint_revision(steps[i].id, steps[i].sql, PGM_RUN_CALLER_XACT);

	pgm_begin_write();
	pgm_lineage_begin_run();
	durations = palloc(sizeof(int64) * plan.n);
	ended = palloc(sizeof(TimestampTz) * plan.n);
	runner_active = true;
	PG_TRY();
	{
		for (int i = 0; i < plan.n; i++)
		{
			RunStep    *s = &steps[i];
			TimestampTz start = GetCurrentTimestamp();
			long		secs;
			int			usecs;
			int64		us;
			Datum		v[5];
			bool		nl[5] = {0};
			char		activity[128];

			snprintf(activity, sizeof(activity), "pg_migrate: %s %s (%d/%d)",
					 upgrade ? "upgrade" : "downgrade", s->id, i + 1, plan.n);
			pgstat_report_activity(STATE_RUNNING, activity);
			pgm_run_revision(s, i + 1, plan.n, upgrade, PGM_RUN_CALLER_XACT);
			ended[i] = GetCurrentTimestamp();
			TimestampDifference(start, ended[i], &secs, &usecs);
			us = (int64) secs * 1000000 + usecs;
			durations[i] = us;
			if (!pgm_quiet)
				ereport(NOTICE,
						(errmsg("[%d/%d] %s %s%s%s (%.2f s)", i + 1, plan.n,
								upgrade ? "upgrade" : "downgrade", s->id,
								s->message ? " " : "", s->message ? s->message : "",
								us / 1000000.0)));
			v[0] = Int32GetDatum(i + 1);
			v[1] = CStringGetTextDatum(s->id);
			v[2] = CStringGetTextDatum(upgrade ? "upgrade" : "downgrade");
			v[3] = s->message ? CStringGetTextDatum(s->message) : (Datum) 0;
			nl[3] = s->message == NULL;
			v[4] = interval_datum(us);
			tuplestore_putvalues(ts, td, v, nl);
		}
	}
	PG_FINALLY();
	{
		runner_active = false;
		pgstat_report_activity(STATE_RUNNING, debug_query_string);
	}
	PG_END_TRY();

	/*
	 * Record the steps once all of them ran: a failure of any step ends the
	 * whole call, so rows written before it would be rolled back anyway.
	 */
	pgm_record_steps(&who, steps, plan.n, upgrade, target, durations, ended);
	pgm_lineage_end_run();
	SPI_finish();
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(pgm_upgrade);

/*
 * migrate.upgrade(target text DEFAULT 'heads')
 */
Datum
pgm_upgrade(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("target must not be NULL"),
				 errhint("Use 'heads' to apply every pending revision.")));
	return run(fcinfo, text_to_cstring(PG_GETARG_TEXT_PP(0)), true);
}

PG_FUNCTION_INFO_V1(pgm_downgrade);

/*
 * migrate.downgrade(target text)
 */
Datum
pgm_downgrade(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("target must not be NULL"),
				 errhint("Use 'base' to unapply everything, or '-1' for one step.")));
	return run(fcinfo, text_to_cstring(PG_GETARG_TEXT_PP(0)), false);
}
