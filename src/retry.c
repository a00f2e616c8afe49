/*-------------------------------------------------------------------------
 *
 * retry.c
 *	  Running one statement of a revision through SPI, as the calling user,
 *	  with the lock-timeout retry policy of pg_migrate.lock_timeout,
 *	  pg_migrate.lock_retries and pg_migrate.lock_backoff.
 *
 * When no lock timeout applies (pg_migrate.lock_timeout = 0, or -1 -- the
 * default -- in migrate.upgrade() and migrate.downgrade()), a statement is
 * one SPI_execute and nothing else: the runner's speed is unchanged.
 *
 * When one applies (-1 in CALL migrate.deploy(), which means 2 s, or a
 * value set by the user) the statement runs with that lock_timeout, inside
 * an internal subtransaction of its own, as plpgsql runs an exception
 * block.  The setting is made outside the subtransaction, at a GUC nesting
 * level of its own (as a function's SET clause is), and that level is
 * popped after the statement, so the caller's lock_timeout is back for
 * whatever follows.  On SQLSTATE 55P03 (lock_not_available: lock_timeout
 * expired, or a NOWAIT) only the subtransaction is rolled back -- the
 * revision's earlier statements keep their effects and their locks -- a
 * NOTICE says so, the backend sleeps on its latch (cancel and terminate
 * still work) for the backoff of retry_policy.c, and the statement runs
 * again.  Every other error is re-thrown as it was (SQLSTATE, message,
 * detail, position), and the runner adds the revision, step and statement.
 * After pg_migrate.lock_retries retries the statement fails with 55P03
 * naming the sessions that held the lock.  Lineage the statement recorded
 * before it failed is forgotten with it (lineage.c keeps a run's changes
 * in memory), so a retried statement is recorded once.
 *
 * A revision that sets lock_timeout itself (SET, SET LOCAL or set_config)
 * wins: from the next statement on, pg_migrate stops imposing its value
 * for the rest of that revision, which then runs with the revision's own
 * value -- still with retries, since the policy applies.  The revision's
 * setting ends with the revision, like every setting a revision changes.
 * The revision knows its tables; a value it chose deliberately is not
 * something a global default should silently replace.
 *
 * Naming the blocker.  When lock_timeout fires, the backend has already
 * left the lock's wait queue before the error reaches us, so
 * pg_blocking_pids() of our own pid is empty by then, and the parse tree
 * cannot tell every lock a statement takes (a function body, a row lock
 * on a referenced table, a trigger).  Instead, while the statement runs,
 * a timeout (timeout.c, USER_TIMEOUT) fires a few times per lock_timeout
 * period; its handler, which runs in signal context, only copies the tag
 * and mode of the heavyweight lock this backend is waiting for, if any,
 * from its own PGPROC (the LOCK cannot go away while we are queued on it;
 * the copy is checked before use).  After the attempt failed, the lock
 * manager's GetLockConflicts() names the transactions holding a lock on
 * that object in a conflicting mode -- exactly what the statement waited
 * for, whether a table, a row's transaction or an advisory lock.
 * pg_stat_activity gives their state and query (its snapshot is cleared
 * first, since upgrade() runs in one long transaction), pg_prepared_xacts
 * the gid of a prepared transaction.  Sessions that queued behind the statement hold the lock by the time we look, once
 * it gave up its place; they are left out by their transaction start: a
 * session that blocked the statement had its transaction open before the
 * statement began to wait (PGPROC.waitStart, sampled with the tag), since
 * a newcomer cannot jump the lock queue unless it already held a lock on
 * that object.  Idle sessions hold no lock and are left out too; sessions
 * whose activity this role may not see are kept, without state or query.
 * When no wait was sampled (a NOWAIT, or a lock_timeout under about 20 ms)
 * or the holders are gone, the message says so instead.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>
#include <signal.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/pg_prng.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "storage/sinvaladt.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "catalog.h"
#include "lineage.h"
#include "retry.h"
#include "retry_policy.h"

/* The longest query text of a blocking session quoted in a message. */
#define BLOCKER_QUERY_CHARS 200

/* pg_migrate.lock_timeout (ms; -1 = default of the mode, 0 = off) */
int			pgm_lock_timeout = PGM_LOCK_TIMEOUT_DEFAULT;

/* pg_migrate.lock_retries */
int			pgm_lock_retries = 5;

/* pg_migrate.lock_backoff (ms) */
int			pgm_lock_backoff = 100;

/*
 * The revision that set lock_timeout itself, by its pgm_revision_serial (0:
 * none).  Statements of that revision run with the revision's value.
 */
static uint64 own_revision = 0;

/* The sampler of lock waits (see the file header). */
static bool sampler_registered = false;
static TimeoutId sampler_id;
static volatile sig_atomic_t sampled = false;
static volatile uint32 sampled_field1;
static volatile uint32 sampled_field2;
static volatile uint32 sampled_field3;
static volatile uint16 sampled_field4;
static volatile uint8 sampled_type;
static volatile uint8 sampled_method;
static volatile int sampled_mode;
static volatile TimestampTz sampled_wait_start;

static const char *const BLOCKERS_SQL =
"SELECT a.pid, a.state, "
"  pg_catalog.floor(pg_catalog.date_part('epoch', pg_catalog.clock_timestamp() "
"    OPERATOR(pg_catalog.-) a.state_change))::pg_catalog.int8, "
"  pg_catalog.rtrim(pg_catalog.btrim(pg_catalog.regexp_replace(a.query, '[[:space:]]+', ' ', 'g')), '; ') "
"FROM pg_catalog.pg_stat_activity a "
"WHERE a.pid OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.int4[]) "
"  AND (a.state IS NULL "
"       OR a.xact_start OPERATOR(pg_catalog.<) COALESCE($2, 'infinity')) "
"ORDER BY a.pid";

static const char *const PREPARED_SQL =
"SELECT p.gid, pg_catalog.floor(pg_catalog.date_part('epoch', pg_catalog.clock_timestamp() "
"    OPERATOR(pg_catalog.-) p.prepared))::pg_catalog.int8 "
"FROM pg_catalog.pg_locks l "
"JOIN pg_catalog.pg_prepared_xacts p ON p.transaction OPERATOR(pg_catalog.=) l.transactionid "
"WHERE l.locktype OPERATOR(pg_catalog.=) 'transactionid' AND l.pid IS NULL "
"  AND l.virtualtransaction OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.text[]) "
"ORDER BY p.gid";


/*
 * pgm_retry_define_gucs: define pg_migrate.lock_timeout, lock_retries and
 * lock_backoff (called from _PG_init).
 */
void
pgm_retry_define_gucs(void)
{
	DefineCustomIntVariable("pg_migrate.lock_timeout",
							"The lock_timeout each statement of a revision runs with; a statement that times out is rolled back and retried.",
							"-1 (the default): 2 s in migrate.deploy(), none in migrate.upgrade() and migrate.downgrade(). 0: none, and no retry.",
							&pgm_lock_timeout,
							PGM_LOCK_TIMEOUT_DEFAULT,
							-1, INT_MAX,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("pg_migrate.lock_retries",
							"How many times a statement of a revision is retried after its lock timeout expired.",
							NULL,
							&pgm_lock_retries,
							5,
							0, 1000,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("pg_migrate.lock_backoff",
							"The wait before the first retry of a statement whose lock timeout expired; it doubles with each retry, with jitter.",
							"Retry n waits between c/2 and c, where c = min(lock_backoff * 2^(n-1), max(lock_backoff, 10 s)).",
							&pgm_lock_backoff,
							100,
							0, 60000,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
}

/*
 * pgm_statement_lock_timeout: the lock_timeout (ms, 0 = none) pg_migrate
 * imposes on the statements of a revision run in the given mode.
 */
int
pgm_statement_lock_timeout(PgmRunMode mode)
{
	return pgm_lock_timeout_for(pgm_lock_timeout, mode == PGM_RUN_DEPLOY);
}

/*
 * execute: run the statement with SPI as it is, result discarded.
 */
static void
execute(const PgmStmt *st)
{
	int			rc;

	rc = SPI_execute(st->text, false, 0);
	if (rc < 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("statement cannot run inside a revision: %s",
						SPI_result_code_string(rc))));
	SPI_freetuptable(SPI_tuptable);
}

/*
 * sample_lock_wait: timeout handler (signal context): remember the lock
 * this backend is queued for, if any.  Only plain loads and stores.
 */
static void
sample_lock_wait(void)
{
	volatile PGPROC *proc = MyProc;
	volatile LOCK *lock;

	if (proc == NULL)
		return;
	lock = proc->waitLock;
	if (lock == NULL || proc->waitStatus != PROC_WAIT_STATUS_WAITING)
		return;
	sampled_field1 = lock->tag.locktag_field1;
	sampled_field2 = lock->tag.locktag_field2;
	sampled_field3 = lock->tag.locktag_field3;
	sampled_field4 = lock->tag.locktag_field4;
	sampled_type = lock->tag.locktag_type;
	sampled_method = lock->tag.locktag_lockmethodid;
	sampled_mode = proc->waitLockMode;
	sampled_wait_start = (TimestampTz) pg_atomic_read_u64(&proc->waitStart);
	sampled = true;
}

/*
 * sampler_start: forget earlier samples and sample every interval_ms
 * until sampler_stop().
 */
static void
sampler_start(int interval_ms)
{
	if (!sampler_registered)
	{
		sampler_id = RegisterTimeout(USER_TIMEOUT, sample_lock_wait);
		sampler_registered = true;
	}
	sampled = false;
	enable_timeout_every(sampler_id,
						 TimestampTzPlusMilliseconds(GetCurrentTimestamp(), interval_ms),
						 interval_ms);
}

/*
 * sampler_stop: no more samples.
 */
static void
sampler_stop(void)
{
	if (sampler_registered)
		disable_timeout(sampler_id, false);
}

/*
 * sample_interval: a few samples per lock_timeout period, 10 to 250 ms
 * apart.
 */
static int
sample_interval(int timeout_ms)
{
	int			ms = timeout_ms / 4;

	return Max(10, Min(250, ms));
}

/*
 * The transactions holding, in a conflicting mode, the lock the last
 * attempt was seen waiting for: the pids of live sessions, and the virtual
 * transaction ids ("3/1234") of the others -- prepared transactions, which
 * keep the vxid of the session that prepared them.
 */
typedef struct Holders
{
	int			npids;
	int		   *pids;
	int			nother;
	char	  **other;
} Holders;

/*
 * lock_holders: fill h; false when no wait was sampled.
 */
static bool
lock_holders(Holders *h)
{
	LOCKTAG		tag;
	LOCKMODE	mode;
	VirtualTransactionId *vxids;
	int			count = 0;

	memset(h, 0, sizeof(Holders));
	if (!sampled)
		return false;
	tag.locktag_field1 = sampled_field1;
	tag.locktag_field2 = sampled_field2;
	tag.locktag_field3 = sampled_field3;
	tag.locktag_field4 = sampled_field4;
	tag.locktag_type = sampled_type;
	tag.locktag_lockmethodid = sampled_method;
	mode = sampled_mode;
	if (tag.locktag_lockmethodid != DEFAULT_LOCKMETHOD ||
		tag.locktag_type > LOCKTAG_LAST_TYPE ||
		mode < AccessShareLock || mode > MaxLockMode)
		return false;

	vxids = GetLockConflicts(&tag, mode, &count);
	h->pids = palloc(sizeof(int) * (count + 1));
	h->other = palloc(sizeof(char *) * (count + 1));
	for (int i = 0; i < count && VirtualTransactionIdIsValid(vxids[i]); i++)
	{
		PGPROC	   *proc = NULL;
		int			pid = 0;
		bool		dup = false;

		if (vxids[i].backendId != InvalidBackendId)
			proc = BackendIdGetProc(vxids[i].backendId);
		/* the session's current transaction must be the holder */
		if (proc != NULL && proc->lxid == vxids[i].localTransactionId)
			pid = proc->pid;
		if (pid == MyProcPid)
			continue;
		if (pid == 0)
		{
			h->other[h->nother++] = psprintf("%d/%u", vxids[i].backendId,
											 vxids[i].localTransactionId);
			continue;
		}
		for (int k = 0; k < h->npids; k++)
			dup |= h->pids[k] == pid;
		if (!dup)
			h->pids[h->npids++] = pid;
	}
	return true;
}

/*
 * append_sessions: a sentence per live session in h that may have blocked
 * the statement: "Blocked by pid 1234 (state: idle in transaction, for 12
 * s): <query>."  Returns how many.
 */
static int
append_sessions(StringInfo buf, const Holders *h)
{
	Datum	   *d = palloc(sizeof(Datum) * (h->npids + 1));
	Oid			types[2] = {INT4ARRAYOID, TIMESTAMPTZOID};
	Datum		values[2];
	char		nulls[2] = {' ', ' '};
	TimestampTz wait_start = sampled_wait_start;
	int			named = 0;

	if (h->npids == 0)
		return 0;
	for (int i = 0; i < h->npids; i++)
		d[i] = Int32GetDatum(h->pids[i]);
	values[0] = PointerGetDatum(construct_array(d, h->npids, INT4OID, 4, true, TYPALIGN_INT));
	values[1] = TimestampTzGetDatum(wait_start);
	nulls[1] = wait_start > 0 ? ' ' : 'n';
	/* the backend status is cached per transaction; read it afresh */
	pgstat_clear_snapshot();
	pgm_exec(BLOCKERS_SQL, 2, types, values, nulls, true, 0, SPI_OK_SELECT);
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		int			pid = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
		char	   *state = SPI_getvalue(tup, desc, 2);
		Datum		secs = SPI_getbinval(tup, desc, 3, &isnull);
		bool		nosecs = isnull;
		char	   *query = SPI_getvalue(tup, desc, 4);

		if (buf->len > 0)
			appendStringInfoChar(buf, ' ');
		appendStringInfo(buf, "Blocked by pid %d (state: %s", pid,
						 state ? state : "unknown");
		if (!nosecs)
			appendStringInfo(buf, ", for " INT64_FORMAT " s", DatumGetInt64(secs));
		appendStringInfoChar(buf, ')');
		if (query && *query)
		{
			int			len = strlen(query);
			int			clip = pg_mbcliplen(query, len, BLOCKER_QUERY_CHARS);

			appendStringInfo(buf, ": %.*s%s", clip, query, clip < len ? "..." : "");
		}
		appendStringInfoChar(buf, '.');
		named++;
	}
	SPI_freetuptable(SPI_tuptable);
	return named;
}

/*
 * append_prepared: a sentence per prepared transaction among h's other
 * holders.  Returns how many.
 */
static int
append_prepared(StringInfo buf, const Holders *h)
{
	Oid			types[1] = {TEXTARRAYOID};
	Datum		values[1];
	int			named = 0;

	if (h->nother == 0)
		return 0;
	values[0] = pgm_cstring_array(h->other, h->nother);
	pgm_exec(PREPARED_SQL, 1, types, values, NULL, true, 0, SPI_OK_SELECT);
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *gid = SPI_getvalue(tup, desc, 1);
		char	   *secs = SPI_getvalue(tup, desc, 2);

		if (buf->len > 0)
			appendStringInfoChar(buf, ' ');
		appendStringInfo(buf, "Blocked by prepared transaction \"%s\" (prepared %s s ago; finish it with COMMIT PREPARED or ROLLBACK PREPARED).",
						 gid ? gid : "?", secs ? secs : "?");
		named++;
	}
	SPI_freetuptable(SPI_tuptable);
	return named;
}

/*
 * describe_holders: a sentence per transaction holding the lock the last
 * attempt waited for, or one saying why none is named.
 */
static char *
describe_holders(void)
{
	StringInfoData buf;
	Holders		h;

	initStringInfo(&buf);
	if (!lock_holders(&h))
	{
		appendStringInfoString(&buf, "No blocking session was identified: the statement was not seen waiting for a lock (NOWAIT, or a lock_timeout too short to sample).");
		return buf.data;
	}
	if (append_sessions(&buf, &h) + append_prepared(&buf, &h) == 0)
		appendStringInfoString(&buf, "No session holds a conflicting lock any more: the blocking transaction has ended.");
	return buf.data;
}

/*
 * sleep_ms: wait on the latch for ms milliseconds; query cancel,
 * termination and postmaster death interrupt the wait.
 */
static void
sleep_ms(int ms)
{
	TimestampTz end = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), ms);

	for (;;)
	{
		long		left;

		CHECK_FOR_INTERRUPTS();
		left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), end);
		if (left <= 0)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 left, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/*
 * attempt: run the statement once in an internal subtransaction, sampling
 * lock waits.  NULL on success; on error the subtransaction is rolled back,
 * the lineage it recorded forgotten, and the error returned.
 */
static ErrorData *
attempt(const PgmStmt *st, int sample_ms)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	ErrorData  *volatile edata = NULL;
	int			mark = pgm_lineage_mark();

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		sampler_start(sample_ms);
		execute(st);
		sampler_stop();
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		sampler_stop();
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		pgm_lineage_rewind(mark);
	}
	PG_END_TRY();
	return edata;
}

/*
 * set_lock_timeout: lock_timeout = ms, for the given GUC action.
 */
static void
set_lock_timeout(int ms, GucAction action)
{
	char		value[32];

	snprintf(value, sizeof(value), "%d", ms);
	(void) set_config_option("lock_timeout", value, PGC_USERSET, PGC_S_SESSION,
							 action, true, 0, false);
}

/*
 * revision_has_own_timeout: did the running revision set lock_timeout
 * itself (in an earlier statement)?
 */
static bool
revision_has_own_timeout(void)
{
	return own_revision != 0 && own_revision == pgm_revision_serial;
}

/*
 * revision_name: the running revision, for messages.
 */
static const char *
revision_name(void)
{
	return pgm_lineage_revision ? pgm_lineage_revision : "?";
}

/*
 * run_with_retry: the statement under lock_timeout = timeout_ms (unless
 * the revision set its own), retried on 55P03.
 */
static void
run_with_retry(const PgmStmt *st, int timeout_ms)
{
	bool		own = revision_has_own_timeout();
	int			retries = pgm_lock_retries;
	int			base = pgm_lock_backoff;
	int			attempts = retries + 1;
	int			nest = 0;

	if (!own)
	{
		/* a level of our own, popped below: the caller's value comes back */
		nest = NewGUCNestLevel();
		set_lock_timeout(timeout_ms, GUC_ACTION_SAVE);
	}

	/*
	 * An error leaves this function with the level still pushed; whoever
	 * catches it rolls back a (sub)transaction, which pops it.
	 */
	for (int n = 1;; n++)
	{
		int			timeout_now = LockTimeout;
		ErrorData  *edata = attempt(st, sample_interval(timeout_now > 0 ? timeout_now : timeout_ms));
		int			wait;
		char	   *holders;

		if (edata == NULL)
			break;
		if (edata->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE)
			ReThrowError(edata);
		holders = describe_holders();
		if (n >= attempts)
			ereport(ERROR,
					(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
					 errmsg_plural("statement %d of revision \"%s\" could not get its lock in %d attempt",
								   "statement %d of revision \"%s\" could not get its lock in %d attempts",
								   attempts, st->number, revision_name(), attempts),
					 timeout_now > 0 ?
					 errdetail("%s Each attempt waited up to %d ms (lock_timeout); the last one failed with: %s.",
							   holders, timeout_now, edata->message) :
					 errdetail("%s The last attempt failed with: %s.",
							   holders, edata->message),
					 errhint("End the blocking session (pg_terminate_backend()) or wait until it finishes, then run the migration again; to wait longer, raise pg_migrate.lock_timeout or pg_migrate.lock_retries."),
					 edata->context ? errcontext("%s", edata->context) : 0));
		wait = pgm_lock_backoff_ms(base, n, pg_prng_double(&pg_global_prng_state));
		ereport(NOTICE,
				(errmsg("statement %d of revision \"%s\" could not get its lock (attempt %d of %d), retrying in %d ms",
						st->number, revision_name(), n, attempts, wait),
				 errdetail("%s The attempt failed with: %s.", holders, edata->message)));
		FreeErrorData(edata);
		sleep_ms(wait);
	}

	if (!own)
	{
		int			after = LockTimeout;

		AtEOXact_GUC(true, nest);
		if (after != timeout_ms)
		{
			/*
			 * The statement set lock_timeout: keep its value for the rest of
			 * the revision (a SET LOCAL would have ended with our level).
			 */
			set_lock_timeout(after, GUC_ACTION_LOCAL);
			own_revision = pgm_revision_serial;
		}
	}
}

/*
 * pgm_execute_statement: run one statement of a revision.  The caller is
 * connected to SPI and names the statement in its error context.
 */
void
pgm_execute_statement(const PgmStmt *st, PgmRunMode mode)
{
	int			timeout_ms = pgm_statement_lock_timeout(mode);

	if (timeout_ms == 0)
		execute(st);
	else
		run_with_retry(st, timeout_ms);
}
