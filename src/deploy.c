/*-------------------------------------------------------------------------
 *
 * deploy.c
 *	  CALL migrate.deploy(target): every pending revision up to target,
 *	  each in a transaction of its own, for production databases.
 *
 * A C procedure in a non-atomic call context, connected to SPI with
 * SPI_OPT_NONATOMIC, so it can commit.  Each revision is one round: take
 * the migration lock (the one upgrade() takes, so deploys and upgrades
 * queue behind each other), plan again with a fresh snapshot -- another
 * migrator may have moved on meanwhile -- run the first pending revision,
 * record it, commit.  A failure therefore leaves every earlier revision
 * applied; it is rolled back, recorded in migrate.events in a transaction
 * of its own (so the record survives the error), and raised again with its
 * SQLSTATE.  A new CALL plans again and resumes with the failed revision.
 *
 * A revision registered with transactional => false runs in a background
 * worker (worker.c).  Its round takes the worker lock, a session-level
 * advisory lock that one such revision at a time holds while it runs, and
 * commits right before the worker starts.  The migration lock is not held
 * while the worker runs: CREATE INDEX CONCURRENTLY waits for every
 * transaction that holds a snapshot, and a migrator queued on the lock --
 * an upgrade() in its caller's transaction -- holds one, so the worker,
 * the deploy waiting for it and that migrator would wait for each other
 * for ever.  A deploy whose next revision needs the worker lock while
 * another session holds it commits, waits for the lock with no snapshot,
 * and plans again.  upgrade() refuses transactional => false revisions,
 * and revisions that do not depend on the one running may go ahead.  Once
 * the worker has succeeded a new transaction takes the migration lock,
 * checks that the revision is still the next one to apply, runs its verify
 * SQL, records it and commits; then the worker lock is released.
 *
 * Memory: everything that must outlive a commit lives in a context under
 * TopMemoryContext that the call deletes when it ends, also on error.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "pgstat.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/elog.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"

#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/proc.h"

#include "catalog.h"
#include "lineage.h"
#include "lint.h"
#include "plan.h"
#include "runner.h"
#include "worker.h"

/* A failure, recorded as its own event. */
static const char *const FAILURE_SQL =
"INSERT INTO migrate.events (kind, revision, target, detail, checksum, duration, "
"  sqlstate, session_user_name, current_user_name, application_name, client_addr, "
"  backend_pid, transaction_id) "
"VALUES ('failure', $1, $2, $3, $4, "
"  pg_catalog.make_interval(secs => $5 OPERATOR(pg_catalog./) 1000000.0), $6, $7, $8, $9, "
"  pg_catalog.inet_client_addr(), $10, pg_catalog.pg_current_xact_id())";

/*
 * The worker lock: the advisory lock pg_advisory_lock(1885757293,
 * 1768387169) takes ("pg_m" and "igra" as two int4), held by the session
 * whose background worker runs a transactional => false revision.
 */
#define PGM_WORKER_KEY1 1885757293
#define PGM_WORKER_KEY2 1768387169

static const char *const WORKER_HOLDER_SQL =
"SELECT pid FROM pg_catalog.pg_locks "
"WHERE locktype OPERATOR(pg_catalog.=) 'advisory' AND granted "
"  AND database OPERATOR(pg_catalog.=) $1 "
"  AND classid OPERATOR(pg_catalog.=) $2 AND objid OPERATOR(pg_catalog.=) $3 "
"  AND objsubid OPERATOR(pg_catalog.=) 2 "
"LIMIT 1";

/* One call of migrate.deploy(). */
typedef struct Deploy
{
	char	   *target;
	PgmWho		who;
	int			done;			/* revisions applied by this call */
	MemoryContext cxt;			/* the whole call */
	MemoryContext step_cxt;		/* one revision, reset before the next */
} Deploy;

/* One round (one revision); kept in memory, as errors longjmp through it. */
typedef struct Round
{
	ResourceOwner owner;		/* of the top-level transaction */
	bool		in_subxact;
	bool		holding;		/* the worker lock */
	RunStep    *step;			/* NULL until a revision is chosen */
	int			stepno;
	int			nsteps;
	TimestampTz start;
	bool		more;			/* plan again after this round */
} Round;

/*
 * begin_subxact: the round's work runs in an internal subtransaction, so
 * that an error can be undone before the failure is recorded.
 */
static void
begin_subxact(Round *r)
{
	MemoryContext cxt = CurrentMemoryContext;

	r->owner = CurrentResourceOwner;
	BeginInternalSubTransaction(NULL);
	r->in_subxact = true;
	MemoryContextSwitchTo(cxt);
}

/*
 * end_subxact: keep the subtransaction's work.
 */
static void
end_subxact(Round *r)
{
	MemoryContext cxt = CurrentMemoryContext;

	ReleaseCurrentSubTransaction();
	r->in_subxact = false;
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = r->owner;
}

/*
 * micros_since: microseconds from start to now (*now set).
 */
static int64
micros_since(TimestampTz start, TimestampTz *now)
{
	long		secs;
	int			usecs;

	*now = GetCurrentTimestamp();
	TimestampDifference(start, *now, &secs, &usecs);
	return (int64) secs * 1000000 + usecs;
}

/*
 * verify_context: error context of a verify run after a worker.
 */
static void
verify_context(void *arg)
{
	Round	   *r = (Round *) arg;

	errcontext("verify of revision \"%s\" (step %d/%d), after its statements ran and committed in a background worker",
			   r->step->id, r->stepno, r->nsteps);
}

/*
 * worker_lock_tag: the tag of the worker lock.
 */
static void
worker_lock_tag(LOCKTAG *tag)
{
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, PGM_WORKER_KEY1, PGM_WORKER_KEY2, 2);
}

/*
 * try_worker_lock: take the worker lock at session level if it is free.
 */
static bool
try_worker_lock(void)
{
	LOCKTAG		tag;

	worker_lock_tag(&tag);
	return LockAcquire(&tag, ExclusiveLock, true, true) != LOCKACQUIRE_NOT_AVAIL;
}

/*
 * release_worker_lock: release the worker lock this session holds.
 */
static void
release_worker_lock(void)
{
	LOCKTAG		tag;

	worker_lock_tag(&tag);
	if (!LockRelease(&tag, ExclusiveLock, true))
		elog(WARNING, "pg_migrate: the worker lock was not held");
}

/*
 * worker_lock_holder: the pid of the session holding the worker lock, or 0.
 */
static int
worker_lock_holder(void)
{
	Oid			types[3] = {OIDOID, OIDOID, OIDOID};
	Datum		values[3];
	int			pid = 0;
	bool		isnull;

	values[0] = ObjectIdGetDatum(MyDatabaseId);
	values[1] = ObjectIdGetDatum((Oid) PGM_WORKER_KEY1);
	values[2] = ObjectIdGetDatum((Oid) PGM_WORKER_KEY2);
	pgm_exec(WORKER_HOLDER_SQL, 3, types, values, NULL, false, 1, SPI_OK_SELECT);
	if (SPI_processed == 1)
		pid = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0],
										  SPI_tuptable->tupdesc, 1, &isnull));
	SPI_freetuptable(SPI_tuptable);
	return pid;
}

/*
 * wait_for_worker_lock: wait (holding no snapshot: the caller has just
 * committed) until the session running a background worker is done with
 * it, at most pg_migrate.migration_lock_timeout; then let go of the lock.
 */
static void
wait_for_worker_lock(int holder)
{
	LOCKTAG		tag;

	worker_lock_tag(&tag);
	pgm_wait_for_lock(&tag, true,
					  psprintf("Backend %d runs a transactional => false revision in a background worker.",
							   holder));
	LockRelease(&tag, ExclusiveLock, true);
}

/*
 * check_still_next: under the migration lock, after the worker: is the
 * revision still the one revision left to apply for its own target (its
 * ancestors applied, itself not)?  A downgrade or stamp meanwhile could
 * have changed that.
 */
static void
check_still_next(const RunStep *s)
{
	MgGraph    *g = pgm_graph_ready(true);
	MgIntList	plan = {0};
	MgError		err;

	if (!mg_plan_upgrade(g, s->id, &plan, &err) || plan.n != 1 ||
		strcmp(g->revs[plan.v[0]].id, s->id) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the applied revisions changed while revision \"%s\" ran in a background worker",
						s->id),
				 errdetail("Its statements ran, but it is no longer the next revision to apply (a downgrade or stamp ran meanwhile), so it was not recorded."),
				 errhint("Compare migrate.current() with the objects the revision creates, then record the state with migrate.stamp() and CALL migrate.deploy() again.")));
}

/*
 * run_in_transaction: an ordinary revision: run, record, commit.
 */
static void
run_in_transaction(Deploy *d, Round *r)
{
	TimestampTz ended;
	int64		us;

	pgm_begin_write();
	pgm_lineage_begin_run();
	pgm_set_running(true);
	pgm_run_revision(r->step, r->stepno, r->nsteps, true, PGM_RUN_DEPLOY);
	pgm_set_running(false);
	us = micros_since(r->start, &ended);
	pgm_record_steps(&d->who, r->step, 1, true, d->target, &us, &ended);
	pgm_lineage_end_run();
	end_subxact(r);
	SPI_commit();
}

/*
 * run_in_worker: a transactional => false revision, the worker lock held.
 * The round commits, a background worker runs the revision, and a new
 * transaction checks it, runs its verify SQL and records it.
 */
static void
run_in_worker(Deploy *d, Round *r)
{
	PgmWorkerJob *job = pgm_worker_prepare(r->step, r->stepno, r->nsteps);
	TimestampTz ended;
	int64		us;
	char		activity[160];

	snprintf(activity, sizeof(activity),
			 "pg_migrate: deploy %s (%d/%d), in a background worker",
			 r->step->id, r->stepno, r->nsteps);
	pgstat_report_activity(STATE_RUNNING, activity);
	end_subxact(r);
	SPI_commit();
	/* no SPI call, no catalog access here: this backend holds no snapshot */
	pgm_worker_run(job);
	us = micros_since(r->start, &ended);

	begin_subxact(r);
	pgm_acquire_migration_lock();
	check_still_next(r->step);
	if (r->step->verify)
	{
		ErrorContextCallback cb;

		cb.callback = verify_context;
		cb.arg = r;
		cb.previous = error_context_stack;
		error_context_stack = &cb;
		pgm_run_verify(r->step);
		error_context_stack = cb.previous;
	}
	pgm_begin_write();
	pgm_record_steps(&d->who, r->step, 1, true, d->target, &us, &ended);
	end_subxact(r);
	SPI_commit();
	release_worker_lock();
	r->holding = false;
}

/*
 * deploy_one: plan again and run the first pending revision.  Sets r->more to
 * false when nothing is pending.
 */
static void
deploy_one(Deploy *d, Round *r)
{
	MgGraph    *g;
	MgIntList	plan = {0};
	MgIntList	one;
	MgError		err;
	char		activity[160];

	begin_subxact(r);
	pgm_acquire_migration_lock();
	if (IsolationUsesXactSnapshot() && pgm_catalog_moved_on())
	{
		/*
		 * Another migrator committed after this transaction's snapshot was
		 * taken (while this one waited for the lock): look again in a new
		 * transaction.
		 */
		end_subxact(r);
		SPI_commit();
		return;
	}
	g = pgm_graph_ready(true);
	if (!mg_plan_upgrade(g, d->target, &plan, &err))
		pgm_report(&err);
	if (plan.n == 0)
	{
		end_subxact(r);
		SPI_commit();
		if (d->done == 0)
			ereport(NOTICE,
					(errmsg("database is already at target \"%s\": nothing to upgrade",
							d->target)));
		r->more = false;
		return;
	}
	one.n = 1;
	one.cap = 1;
	one.v = plan.v;
	r->step = pgm_copy_steps(g, &one, true);
	r->stepno = d->done + 1;
	r->nsteps = d->done + plan.n;
	g = NULL;					/* revision SQL may reload the cache */

	/* pg_migrate.lint: NOTICEs, or a refusal before the revision runs */
	pgm_lint_revision(r->step->id, r->step->sql, PGM_RUN_DEPLOY);

	if (!r->step->transactional)
	{
		if (try_worker_lock())
			r->holding = true;
		else
		{
			/*
			 * Another session runs a revision in a background worker: wait
			 * for it outside any transaction's snapshot, then plan again.
			 */
			int			holder = worker_lock_holder();

			r->step = NULL;
			end_subxact(r);
			SPI_commit();
			snprintf(activity, sizeof(activity),
					 "pg_migrate: deploy waiting for the background worker of backend %d",
					 holder);
			pgstat_report_activity(STATE_RUNNING, activity);
			if (!pgm_quiet)
				ereport(NOTICE,
						(errmsg("waiting for backend %d, which runs a revision in a background worker",
								holder)));
			wait_for_worker_lock(holder);
			return;
		}
	}

	snprintf(activity, sizeof(activity), "pg_migrate: deploy %s (%d/%d)",
			 r->step->id, r->stepno, r->nsteps);
	pgstat_report_activity(STATE_RUNNING, activity);
	r->start = GetCurrentTimestamp();
	if (r->step->transactional)
		run_in_transaction(d, r);
	else
		run_in_worker(d, r);
	d->done++;
	if (!pgm_quiet)
	{
		TimestampTz now;
		int64		us = micros_since(r->start, &now);

		ereport(NOTICE,
				(errmsg("[%d/%d] upgrade %s%s%s (%.2f s)", r->stepno, r->nsteps,
						r->step->id, r->step->message ? " " : "",
						r->step->message ? r->step->message : "",
						us / 1000000.0)));
	}
}

/*
 * abort_round: undo what the failed round did: its subtransactions, its
 * transaction, the worker lock.  A new transaction is open afterwards.
 */
static void
abort_round(Round *r)
{
	pgm_set_running(false);
	if (r->in_subxact)
	{
		while (IsSubTransaction())
			RollbackAndReleaseCurrentSubTransaction();
		CurrentResourceOwner = r->owner;
		r->in_subxact = false;
	}
	SPI_rollback();
	if (r->holding)
	{
		release_worker_lock();
		r->holding = false;
	}
}

/*
 * record_failure: the failed revision as a 'failure' event, committed on
 * its own.  If even that fails, a WARNING says so and the original error
 * goes on.
 */
static void
record_failure(Deploy *d, Round *r, ErrorData *edata)
{
	Oid			types[10] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT8OID,
	TEXTOID, NAMEOID, NAMEOID, TEXTOID, INT4OID};
	Datum		values[10];
	char		nulls[10];
	char	   *detail;
	TimestampTz now;

	memset(nulls, ' ', sizeof(nulls));
	detail = psprintf("step %d/%d: %s", r->stepno, r->nsteps,
					  edata->message ? edata->message : "");
	if (edata->detail)
		detail = psprintf("%s\nDETAIL: %s", detail, edata->detail);
	if (edata->context)
		detail = psprintf("%s\nCONTEXT: %s", detail, edata->context);
	values[0] = CStringGetTextDatum(r->step->id);
	values[1] = CStringGetTextDatum(d->target);
	values[2] = CStringGetTextDatum(detail);
	values[3] = CStringGetTextDatum(r->step->checksum);
	values[4] = Int64GetDatum(micros_since(r->start, &now));
	values[5] = CStringGetTextDatum(unpack_sql_state(edata->sqlerrcode));
	values[6] = DirectFunctionCall1(namein, CStringGetDatum(d->who.session_user));
	values[7] = DirectFunctionCall1(namein, CStringGetDatum(d->who.current_user));
	values[8] = d->who.application_name ? CStringGetTextDatum(d->who.application_name) : (Datum) 0;
	nulls[8] = d->who.application_name ? ' ' : 'n';
	values[9] = Int32GetDatum(MyProcPid);

	PG_TRY();
	{
		PgmOwnerSave save;

		pgm_as_owner(&save);
		pgm_exec(FAILURE_SQL, 10, types, values, nulls, false, 0, SPI_OK_INSERT);
		pgm_restore_user(&save);
		SPI_commit();
	}
	PG_CATCH();
	{
		ErrorData  *e2;

		MemoryContextSwitchTo(d->cxt);
		e2 = CopyErrorData();
		FlushErrorState();
		while (IsSubTransaction())
			RollbackAndReleaseCurrentSubTransaction();
		SPI_rollback();
		ereport(WARNING,
				(errmsg("could not record the failure of revision \"%s\" in migrate.events: %s",
						r->step->id, e2->message)));
	}
	PG_END_TRY();
}

/*
 * deploy_round: one round, with the failure handling: on error the round
 * is undone, the failure recorded and the error raised again.  Returns
 * whether to go on.
 */
static bool
deploy_round(Deploy *d)
{
	Round	   *r;

	MemoryContextReset(d->step_cxt);
	MemoryContextSwitchTo(d->step_cxt);
	r = palloc0(sizeof(Round));
	r->more = true;
	PG_TRY();
	{
		deploy_one(d, r);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(d->cxt);
		edata = CopyErrorData();
		FlushErrorState();
		abort_round(r);
		if (r->step != NULL)
			record_failure(d, r, edata);
		ReThrowError(edata);
	}
	PG_END_TRY();
	return r->more;
}

/*
 * check_call_context: a procedure that commits needs a CALL of its own,
 * outside any transaction block.
 */
static void
check_call_context(FunctionCallInfo fcinfo)
{
	if (fcinfo->context == NULL || !IsA(fcinfo->context, CallContext) ||
		((CallContext *) fcinfo->context)->atomic || IsSubTransaction())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("migrate.deploy() cannot run inside a transaction block"),
				 errdetail("It commits after each revision, which is not possible inside an explicit transaction (BEGIN), a function, or a PL/pgSQL block with an EXCEPTION clause."),
				 errhint("Run CALL migrate.deploy() on its own with autocommit on, or use SELECT * FROM migrate.upgrade() to apply the revisions in the current transaction.")));
}

PG_FUNCTION_INFO_V1(pgm_deploy);

/*
 * CALL migrate.deploy(target text DEFAULT 'heads')
 */
Datum
pgm_deploy(PG_FUNCTION_ARGS)
{
	Deploy		d;
	MemoryContext outer = CurrentMemoryContext;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("target must not be NULL"),
				 errhint("Use 'heads' to apply every pending revision.")));
	pgm_refuse_on_standby("migrate.deploy()");
	check_call_context(fcinfo);
	pgm_refuse_nested("migrate.deploy()");

	memset(&d, 0, sizeof(d));
	d.cxt = AllocSetContextCreate(TopMemoryContext, "pg_migrate deploy",
								  ALLOCSET_DEFAULT_SIZES);
	d.step_cxt = AllocSetContextCreate(d.cxt, "pg_migrate deploy step",
									   ALLOCSET_DEFAULT_SIZES);
	PG_TRY();
	{
		MemoryContextSwitchTo(d.cxt);
		d.target = text_to_cstring(PG_GETARG_TEXT_PP(0));
		pgm_who(&d.who);
		if (SPI_connect_ext(SPI_OPT_NONATOMIC) != SPI_OK_CONNECT)
			elog(ERROR, "pg_migrate: SPI_connect_ext failed");
		/* start afresh: no snapshot of the CALL statement is kept */
		MemoryContextSwitchTo(d.cxt);
		SPI_commit();
		while (deploy_round(&d))
			;
		if (SPI_finish() != SPI_OK_FINISH)
			elog(ERROR, "pg_migrate: SPI_finish failed");
	}
	PG_FINALLY();
	{
		pgstat_report_activity(STATE_RUNNING, debug_query_string);
		MemoryContextSwitchTo(outer);
		MemoryContextDelete(d.cxt);
	}
	PG_END_TRY();
	PG_RETURN_VOID();
}
