/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  A dynamic background worker that runs the statements of a
 *	  transactional => false revision (CREATE INDEX CONCURRENTLY and the
 *	  like) at top level, for CALL migrate.deploy().
 *
 * Such statements cannot run through SPI: a function or procedure runs
 * them as not top-level, and CREATE INDEX CONCURRENTLY refuses.  The worker
 * is a backend of its own, connected to the caller's database as the
 * caller's session user, then switched to the caller's current role, with
 * the settings the caller changed for its session (search_path,
 * maintenance_work_mem ...).  It runs each statement the way
 * exec_simple_query() runs a query from a client -- parse, analyze, plan,
 * portal run with isTopLevel -- in a transaction of its own.
 *
 * The caller commits immediately before launching it and holds no
 * snapshot while it waits: CREATE INDEX CONCURRENTLY waits for every
 * transaction with an older snapshot, the caller's included, and the
 * deadlock detector cannot see a backend waiting on a latch.  The wait is
 * bounded by pg_migrate.worker_timeout.
 *
 * Everything the worker would send to a client goes through a shm_mq in
 * the shared segment, as parallel workers do (pq_redirect_to_shm_mq): its
 * NOTICEs are passed on to the caller as they arrive, its error is raised
 * by the caller with the same SQLSTATE, message, detail and hint.
 *
 * A failed or stopped CREATE INDEX CONCURRENTLY leaves an INVALID index.
 * The worker notes every relation its statements create (an object access
 * hook, in its own process only); after a failure a second worker drops
 * those that are invalid indexes, with DROP INDEX CONCURRENTLY, which
 * cannot run in the caller either.  When nobody was left to do that (the
 * deploying session was terminated, the server crashed), the next CALL
 * finds the invalid index under the name the revision builds and refuses
 * before anything runs, naming it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "libpq/pqformat.h"
#include "libpq/pqmq.h"
#include "miscadmin.h"
#include "parser/analyze.h"
#include "parser/parser.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shm_mq.h"
#include "storage/spin.h"
#include "tcop/dest.h"
#include "tcop/pquery.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "lineage.h"
#include "sqlsplit.h"
#include "worker.h"

#define PGM_WORKER_MAGIC	0x50474d57
#define PGM_QUEUE_SIZE		16384
#define PGM_MAX_CREATED		64
#define PGM_DROPPED_SIZE	1024
#define PGM_NAME_SIZE		(2 * (2 * NAMEDATALEN + 2) + 2)

/* How long to wait for a worker to stop after it was told to. */
#define PGM_STOP_WAIT_MS	60000

int			pgm_worker_timeout = 3600000;

/* What a worker does. */
typedef enum PgmJobKind
{
	PGM_JOB_REVISION,			/* run a revision's statements */
	PGM_JOB_DROP_INVALID		/* drop those of created[] that are invalid
								 * indexes */
} PgmJobKind;

/*
 * The shared segment of one worker: filled by the caller, then written by
 * the worker (under mutex).  The statements and settings follow in data[],
 * the message queue after them.
 */
typedef struct PgmWorkerShared
{
	uint32		magic;
	PgmJobKind	kind;
	Oid			database_id;
	Oid			authenticated_user_id;
	Oid			session_user_id;
	bool		session_is_superuser;
	Oid			role_id;		/* current user; InvalidOid: the session user */
	bool		role_is_superuser;
	char		revision[NAMEDATALEN + 16];
	int			nsettings;
	Size		sql_len;		/* of the SQL in data[], with its NUL */
	Size		queue_offset;

	slock_t		mutex;
	bool		done;			/* the job ran to its end */
	int			statement;		/* number of the statement running */
	int			ncreated;		/* relations created (in), or to look at */
	bool		created_overflow;
	Oid			created[PGM_MAX_CREATED];
	int			ndropped;		/* invalid indexes dropped (DROP_INVALID) */
	char		dropped[PGM_DROPPED_SIZE];
	char		dropping[PGM_NAME_SIZE];	/* the one being dropped now */
	char		data[FLEXIBLE_ARRAY_MEMBER];
} PgmWorkerShared;

/* Everything a worker needs, gathered by the caller before it commits. */
struct PgmWorkerJob
{
	char	   *revision;
	int			stepno;
	int			nsteps;
	char	   *sql;
	List	   *stmts;			/* PgmStmt *, for messages */
	Oid			database_id;
	Oid			authenticated_user_id;
	Oid			session_user_id;
	bool		session_is_superuser;
	Oid			role_id;
	bool		role_is_superuser;
	int			nsettings;
	char	  **names;
	char	  **values;
};

/* How a worker ended, as the caller saw it. */
typedef enum PgmOutcome
{
	PGM_WORKER_OK,
	PGM_WORKER_FAILED,			/* it raised an error (or died) */
	PGM_WORKER_TIMED_OUT,		/* stopped after pg_migrate.worker_timeout */
	PGM_WORKER_INTERRUPTED,		/* the caller was cancelled while waiting */
	PGM_WORKER_NO_SLOT			/* it could not be registered */
} PgmOutcome;

typedef struct WorkerResult
{
	PgmOutcome	outcome;
	ErrorData  *error;			/* the worker's error, or the interruption */
	int			statement;
	int			ncreated;
	bool		created_overflow;
	Oid			created[PGM_MAX_CREATED];
	int			ndropped;
	char	   *dropped;
	char	   *dropping;
} WorkerResult;

/*
 * The settings a worker takes over: what the caller set for its session
 * (SET, or options of the connection), but for what describes the
 * connection itself or is set otherwise.
 */
static const char *const SETTINGS_SQL =
"SELECT name, setting FROM pg_catalog.pg_settings "
"WHERE source OPERATOR(pg_catalog.=) ANY ('{client,session}'::pg_catalog.text[]) "
"  AND context OPERATOR(pg_catalog.=) ANY ('{user,superuser}'::pg_catalog.text[]) "
"  AND NOT name OPERATOR(pg_catalog.=) ANY ('{application_name,client_encoding,"
"role,session_authorization,transaction_isolation,transaction_read_only,"
"transaction_deferrable}'::pg_catalog.text[]) "
"ORDER BY name";

/* In the worker: its segment, and the hook it chains to. */
static PgmWorkerShared *my_shared = NULL;
static object_access_hook_type prev_object_access_hook = NULL;

PGDLLEXPORT void pgm_worker_main(Datum main_arg);

/*
 * pgm_worker_define_gucs: the settings of this file.
 */
void
pgm_worker_define_gucs(void)
{
	DefineCustomIntVariable("pg_migrate.worker_timeout",
							"How long CALL migrate.deploy() waits for the background worker that runs a transactional => false revision.",
							"0 waits without limit.  On expiry the worker is stopped, an invalid index it left is dropped and the revision fails.",
							&pgm_worker_timeout,
							3600000,
							0, INT_MAX,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
}

/* ------------------------------------------------------------------------
 * The caller's side
 * ------------------------------------------------------------------------
 */

/*
 * refuse_invalid_index: refuse statement st of a revision when it is a
 * CREATE INDEX CONCURRENTLY of an index that exists and is invalid: left
 * by an earlier build that was stopped where nobody could drop it (its
 * session terminated, a server crash).  The statement would fail on it,
 * or with IF NOT EXISTS skip it, and the revision be recorded over an
 * index that is never used and enforces nothing.
 */
static void
refuse_invalid_index(const char *revision, const PgmStmt *st)
{
	List	   *raw;
	RawStmt    *rs;
	IndexStmt  *is;
	Oid			relid;
	Oid			nsp;
	Oid			indexid;
	HeapTuple	tup;
	bool		invalid;
	char	   *nspname;
	char	   *name;

	if (st->kind == NULL || strcmp(st->kind, "CREATE INDEX CONCURRENTLY") != 0)
		return;
	raw = raw_parser(st->text, RAW_PARSE_DEFAULT);
	if (list_length(raw) != 1)
		return;
	rs = linitial_node(RawStmt, raw);
	if (!IsA(rs->stmt, IndexStmt))
		return;
	is = (IndexStmt *) rs->stmt;
	if (is->idxname == NULL || is->relation == NULL)
		return;
	/* the index goes into its table's schema */
	relid = RangeVarGetRelid(is->relation, NoLock, true);
	if (!OidIsValid(relid))
		return;
	nsp = get_rel_namespace(relid);
	indexid = get_relname_relid(is->idxname, nsp);
	if (!OidIsValid(indexid))
		return;
	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(indexid));
	if (!HeapTupleIsValid(tup))
		return;					/* not an index: the statement says so */
	invalid = !((Form_pg_index) GETSTRUCT(tup))->indisvalid;
	ReleaseSysCache(tup);
	if (!invalid)
		return;
	nspname = get_namespace_name(nsp);
	if (nspname == NULL)
		return;
	name = quote_qualified_identifier(nspname, is->idxname);
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("index %s, which revision \"%s\" builds, exists but is invalid",
					name, revision),
			 errdetail("An earlier CREATE INDEX CONCURRENTLY of it failed or was stopped (say, its session was terminated or the server restarted) and nobody dropped it; nothing of the revision ran."),
			 errhint("Drop it with DROP INDEX CONCURRENTLY %s, then CALL migrate.deploy() again.",
					 name)));
}

/*
 * pgm_worker_prepare: see worker.h.
 */
PgmWorkerJob *
pgm_worker_prepare(const RunStep *s, int stepno, int nsteps)
{
	PgmWorkerJob *job = palloc0(sizeof(PgmWorkerJob));
	Oid			current = GetUserId();
	ListCell   *lc;

	if (strlen(s->id) >= sizeof(((PgmWorkerShared *) NULL)->revision))
		elog(ERROR, "pg_migrate: revision id \"%s\" is too long", s->id);
	job->revision = pstrdup(s->id);
	job->stepno = stepno;
	job->nsteps = nsteps;
	job->sql = pstrdup(s->sql ? s->sql : "");
	job->stmts = pgm_split_sql(job->sql, "upgrade", s->id);
	foreach(lc, job->stmts)
		refuse_invalid_index(s->id, (PgmStmt *) lfirst(lc));
	job->database_id = MyDatabaseId;
	job->authenticated_user_id = GetAuthenticatedUserId();
	job->session_user_id = GetSessionUserId();
	job->session_is_superuser = superuser_arg(job->session_user_id);
	job->role_id = current == job->session_user_id ? InvalidOid : current;
	job->role_is_superuser = superuser_arg(current);

	pgm_exec(SETTINGS_SQL, 0, NULL, NULL, NULL, true, 0, SPI_OK_SELECT);
	job->nsettings = (int) SPI_processed;
	job->names = palloc(sizeof(char *) * (job->nsettings + 1));
	job->values = palloc(sizeof(char *) * (job->nsettings + 1));
	for (int i = 0; i < job->nsettings; i++)
	{
		char	   *name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		char	   *value = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);

		job->names[i] = pstrdup(name ? name : "");
		job->values[i] = pstrdup(value ? value : "");
	}
	SPI_freetuptable(SPI_tuptable);
	return job;
}

/*
 * stmt_line: "statement N: first line" of the job's statement N.
 */
static char *
stmt_line(const PgmWorkerJob *job, int number)
{
	ListCell   *lc;

	foreach(lc, job->stmts)
	{
		PgmStmt    *st = (PgmStmt *) lfirst(lc);

		if (st->number == number)
			return psprintf("statement %d: %s", number, st->first_line);
	}
	return psprintf("statement %d", number);
}

/*
 * terminate_at_exit: stop the worker when the caller's backend exits while
 * it waits (it was terminated): nobody would record what the worker did.
 */
static void
terminate_at_exit(int code, Datum arg)
{
	TerminateBackgroundWorker((BackgroundWorkerHandle *) DatumGetPointer(arg));
}

/*
 * wait_stopped: wait (without taking interrupts) until a worker that was
 * told to stop has stopped, at most PGM_STOP_WAIT_MS.
 */
static void
wait_stopped(BackgroundWorkerHandle *handle)
{
	TimestampTz start = GetCurrentTimestamp();
	pid_t		pid = 0;
	BgwHandleStatus status;

	while ((status = GetBackgroundWorkerPid(handle, &pid)) == BGWH_STARTED ||
		   status == BGWH_NOT_YET_STARTED)
	{
		if (TimestampDifferenceExceeds(start, GetCurrentTimestamp(), PGM_STOP_WAIT_MS))
		{
			ereport(WARNING,
					(errmsg("background worker %d did not stop within %d s", (int) pid,
							PGM_STOP_WAIT_MS / 1000)));
			return;
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 100, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/*
 * take_message: one protocol message from the worker.  A NOTICE (or
 * WARNING, INFO) is passed on to the caller's client now; the first error
 * is kept for when the worker has ended.
 */
static void
take_message(const char *data, Size nbytes, const char *context,
			 const char *stmt_text, WorkerResult *res)
{
	StringInfoData msg;
	char		type;
	ErrorData	edata;

	initStringInfo(&msg);
	appendBinaryStringInfo(&msg, data, nbytes);
	type = pq_getmsgbyte(&msg);
	if (type != 'E' && type != 'N')
		return;					/* parameter status and the like */
	pq_parse_errornotice(&msg, &edata);

	/* a position in the worker's statement is one in that statement here */
	if (edata.cursorpos > 0 && stmt_text != NULL)
	{
		edata.internalpos = edata.cursorpos;
		edata.internalquery = pstrdup(stmt_text);
	}
	edata.cursorpos = 0;
	edata.context = edata.context ?
		psprintf("%s\n%s", edata.context, context) : pstrdup(context);

	if (type == 'N' && edata.elevel < ERROR)
	{
		ThrowErrorData(&edata);
		return;
	}
	if (res->error == NULL)
	{
		res->error = palloc(sizeof(ErrorData));
		memcpy(res->error, &edata, sizeof(ErrorData));
		res->error->elevel = ERROR;
	}
}

/*
 * wait_for_worker: pass on the worker's messages until it has ended, or
 * stop it on timeout or when the caller is cancelled.
 */
static void
wait_for_worker(BackgroundWorkerHandle *handle, shm_mq_handle *mqh,
				const PgmWorkerJob *job, PgmWorkerShared *sh,
				WorkerResult *res)
{
	TimestampTz start = GetCurrentTimestamp();
	MemoryContext cxt = CurrentMemoryContext;
	MemoryContext msg_cxt = AllocSetContextCreate(cxt, "pg_migrate worker messages",
												  ALLOCSET_SMALL_SIZES);

	before_shmem_exit(terminate_at_exit, PointerGetDatum(handle));
	PG_TRY();
	{
		bool		ended = false;

		while (!ended)
		{
			long		wait_ms = 1000;

			for (;;)
			{
				Size		nbytes;
				void	   *data;
				shm_mq_result r = shm_mq_receive(mqh, &nbytes, &data, true);
				int			stmtno;
				const char *stmt_text = NULL;
				char	   *context;

				if (r == SHM_MQ_WOULD_BLOCK)
					break;
				if (r == SHM_MQ_DETACHED)
				{
					ended = true;	/* it exited (or never started) */
					break;
				}
				/* a NOTICE is forgotten once passed on; the error is kept */
				MemoryContextSwitchTo(msg_cxt);
				SpinLockAcquire(&sh->mutex);
				stmtno = sh->statement;
				SpinLockRelease(&sh->mutex);
				if (sh->kind == PGM_JOB_REVISION && stmtno > 0)
				{
					ListCell   *lc;

					foreach(lc, job->stmts)
						if (((PgmStmt *) lfirst(lc))->number == stmtno)
							stmt_text = ((PgmStmt *) lfirst(lc))->text;
					context = psprintf("upgrade of revision \"%s\" (step %d/%d), %s, in a background worker",
									   job->revision, job->stepno, job->nsteps,
									   stmt_line(job, stmtno));
				}
				else if (sh->kind == PGM_JOB_REVISION)
					context = psprintf("upgrade of revision \"%s\" (step %d/%d), in a background worker",
									   job->revision, job->stepno, job->nsteps);
				else
					context = psprintf("dropping the invalid index left by revision \"%s\", in a background worker",
									   job->revision);
				take_message(data, nbytes, context, stmt_text, res);
				MemoryContextSwitchTo(cxt);
				if (res->error == NULL)
					MemoryContextReset(msg_cxt);
			}
			if (ended)
				break;
			if (pgm_worker_timeout > 0)
			{
				long		elapsed_ms;
				long		secs;
				int			usecs;

				TimestampDifference(start, GetCurrentTimestamp(), &secs, &usecs);
				elapsed_ms = secs * 1000 + usecs / 1000;
				if (elapsed_ms >= pgm_worker_timeout)
				{
					res->outcome = PGM_WORKER_TIMED_OUT;
					TerminateBackgroundWorker(handle);
					wait_stopped(handle);
					break;
				}
				wait_ms = Min(wait_ms, pgm_worker_timeout - elapsed_ms);
			}
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 wait_ms, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		res->error = CopyErrorData();
		FlushErrorState();
		res->outcome = PGM_WORKER_INTERRUPTED;
		TerminateBackgroundWorker(handle);
		wait_stopped(handle);
	}
	PG_END_TRY();
	cancel_before_shmem_exit(terminate_at_exit, PointerGetDatum(handle));
}

/*
 * launch: run one job in a new background worker and wait for it.
 * oids: the relations a DROP_INVALID job looks at.
 */
static void
launch(PgmJobKind kind, const PgmWorkerJob *job, const Oid *oids, int noids,
	   WorkerResult *res)
{
	Size		sql_len = kind == PGM_JOB_REVISION ? strlen(job->sql) + 1 : 1;
	Size		settings_len = 0;
	Size		size;
	Size		queue_offset;
	dsm_segment *seg;
	PgmWorkerShared *sh;
	shm_mq	   *mq;
	shm_mq_handle *mqh;
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	char	   *p;

	memset(res, 0, sizeof(WorkerResult));
	for (int i = 0; i < job->nsettings; i++)
		settings_len += strlen(job->names[i]) + strlen(job->values[i]) + 2;
	queue_offset = BUFFERALIGN(offsetof(PgmWorkerShared, data) + sql_len + settings_len);
	size = queue_offset + PGM_QUEUE_SIZE;

	seg = dsm_create(size, 0);
	sh = (PgmWorkerShared *) dsm_segment_address(seg);
	memset(sh, 0, offsetof(PgmWorkerShared, data));
	sh->magic = PGM_WORKER_MAGIC;
	sh->kind = kind;
	sh->database_id = job->database_id;
	sh->authenticated_user_id = job->authenticated_user_id;
	sh->session_user_id = job->session_user_id;
	sh->session_is_superuser = job->session_is_superuser;
	sh->role_id = job->role_id;
	sh->role_is_superuser = job->role_is_superuser;
	strlcpy(sh->revision, job->revision, sizeof(sh->revision));
	sh->nsettings = job->nsettings;
	sh->sql_len = sql_len;
	sh->queue_offset = queue_offset;
	SpinLockInit(&sh->mutex);
	if (kind == PGM_JOB_DROP_INVALID)
	{
		sh->ncreated = Min(noids, PGM_MAX_CREATED);
		memcpy(sh->created, oids, sizeof(Oid) * sh->ncreated);
	}
	p = sh->data;
	if (kind == PGM_JOB_REVISION)
		memcpy(p, job->sql, sql_len);
	else
		p[0] = '\0';
	p += sql_len;
	for (int i = 0; i < job->nsettings; i++)
	{
		size_t		n = strlen(job->names[i]) + 1;

		memcpy(p, job->names[i], n);
		p += n;
		n = strlen(job->values[i]) + 1;
		memcpy(p, job->values[i], n);
		p += n;
	}
	mq = shm_mq_create((char *) sh + queue_offset, PGM_QUEUE_SIZE);
	shm_mq_set_receiver(mq, MyProc);
	mqh = shm_mq_attach(mq, seg, NULL);

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "$libdir/pg_migrate");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "pgm_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "pg_migrate deploy %s", job->revision);
	snprintf(worker.bgw_type, BGW_MAXLEN, "pg_migrate deploy");
	worker.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(seg));
	worker.bgw_notify_pid = MyProcPid;

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
	{
		dsm_detach(seg);
		res->outcome = PGM_WORKER_NO_SLOT;
		return;
	}
	shm_mq_set_handle(mqh, handle);
	wait_for_worker(handle, mqh, job, sh, res);

	SpinLockAcquire(&sh->mutex);
	if (res->outcome == PGM_WORKER_OK)
	{
		if (res->error != NULL)
			res->outcome = PGM_WORKER_FAILED;
		else if (!sh->done)
		{
			res->outcome = PGM_WORKER_FAILED;
			res->error = NULL;	/* it died without a word: said below */
		}
	}
	res->statement = sh->statement;
	if (kind == PGM_JOB_REVISION)
	{
		res->ncreated = sh->ncreated;
		res->created_overflow = sh->created_overflow;
		memcpy(res->created, sh->created, sizeof(Oid) * sh->ncreated);
	}
	res->ndropped = sh->ndropped;
	res->dropped = pnstrdup(sh->dropped, sizeof(sh->dropped));
	res->dropping = pnstrdup(sh->dropping, sizeof(sh->dropping));
	SpinLockRelease(&sh->mutex);
	dsm_detach(seg);
	pfree(handle);
}

/*
 * cleanup_note: after a failed revision, drop the invalid indexes it left
 * (in another worker) and say what became of them, as a sentence for the
 * error detail ("" when there were none).
 */
static char *
cleanup_note(const PgmWorkerJob *job, const WorkerResult *run)
{
	WorkerResult res;

	if (run->ncreated == 0)
		return "";
	launch(PGM_JOB_DROP_INVALID, job, run->created, run->ncreated, &res);
	switch (res.outcome)
	{
		case PGM_WORKER_OK:
			if (res.ndropped == 0)
				return "";
			return psprintf(res.ndropped == 1 ?
							"The invalid index %s it left behind was dropped." :
							"The invalid indexes %s it left behind were dropped.",
							res.dropped);
		case PGM_WORKER_NO_SLOT:
			return "An invalid index it left behind could not be dropped: no background worker slot was free; drop it with DROP INDEX CONCURRENTLY (SELECT indexrelid::regclass FROM pg_index WHERE NOT indisvalid lists invalid indexes).";
		case PGM_WORKER_TIMED_OUT:
			if (res.dropping[0] == '\0')
				return "Dropping the invalid index it left behind did not finish within pg_migrate.worker_timeout either: drop it with DROP INDEX CONCURRENTLY (SELECT indexrelid::regclass FROM pg_index WHERE NOT indisvalid lists invalid indexes).";
			return psprintf("The invalid index %s it left behind could not be dropped within pg_migrate.worker_timeout either (a transaction using the table holds DROP INDEX CONCURRENTLY up too): drop it with DROP INDEX CONCURRENTLY %s before the next CALL.",
							res.dropping, res.dropping);
		default:
			if (res.dropping[0] == '\0')
				return psprintf("An invalid index it left behind could not be dropped (%s): drop it with DROP INDEX CONCURRENTLY.",
								res.error && res.error->message ? res.error->message : "see the server log");
			return psprintf("The invalid index %s it left behind could not be dropped (%s): drop it with DROP INDEX CONCURRENTLY %s before the next CALL.",
							res.dropping,
							res.error && res.error->message ? res.error->message : "see the server log",
							res.dropping);
	}
}

/*
 * join_detail: two detail texts as one.
 */
static char *
join_detail(const char *a, const char *b)
{
	if (a == NULL || *a == '\0')
		return (b && *b) ? pstrdup(b) : NULL;
	if (b == NULL || *b == '\0')
		return pstrdup(a);
	return psprintf("%s\n%s", a, b);
}

/*
 * pgm_worker_run: see worker.h.
 */
void
pgm_worker_run(PgmWorkerJob *job)
{
	WorkerResult res;
	char	   *note;
	char	   *where;

	launch(PGM_JOB_REVISION, job, NULL, 0, &res);
	if (res.outcome == PGM_WORKER_OK)
		return;
	if (res.outcome == PGM_WORKER_NO_SLOT)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("could not start a background worker for revision \"%s\": no free background worker slot",
						job->revision),
				 errdetail("All max_worker_processes (%d) slots are in use (by parallel queries, replication or other extensions); nothing of the revision ran.",
						   max_worker_processes),
				 errhint("Raise max_worker_processes (a restart is needed), or run CALL migrate.deploy() again when fewer background workers run.")));

	where = res.statement > 0 ?
		psprintf("upgrade of revision \"%s\" (step %d/%d), %s, in a background worker",
				 job->revision, job->stepno, job->nsteps, stmt_line(job, res.statement)) :
		psprintf("upgrade of revision \"%s\" (step %d/%d), in a background worker",
				 job->revision, job->stepno, job->nsteps);
	note = cleanup_note(job, &res);
	if (res.created_overflow)
		note = join_detail(note, "It created more relations than pg_migrate follows: look for invalid indexes it may have left (SELECT indexrelid::regclass FROM pg_index WHERE NOT indisvalid).");

	if (res.outcome == PGM_WORKER_TIMED_OUT)
		ereport(ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("revision \"%s\" did not finish within pg_migrate.worker_timeout (%d ms)",
						job->revision, pgm_worker_timeout),
				 errdetail_internal("%s", join_detail("The background worker running it was stopped.", note)),
				 errhint("CREATE INDEX CONCURRENTLY and REINDEX CONCURRENTLY wait for every transaction that started before them: end long-running transactions (see pg_stat_activity) or raise pg_migrate.worker_timeout, then CALL migrate.deploy() again."),
				 errcontext("%s", where)));

	if (res.error == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("the background worker running revision \"%s\" ended without finishing it",
						job->revision),
				 note[0] ? errdetail_internal("%s", note) : 0,
				 errhint("The server log says why; then CALL migrate.deploy() again."),
				 errcontext("%s", where)));

	/* the caller's cancellation */
	res.error->detail = join_detail(res.error->detail, note);
	if (res.outcome == PGM_WORKER_INTERRUPTED)
	{
		res.error->context = res.error->context ?
			psprintf("%s\n%s", res.error->context, where) : where;
		ReThrowError(res.error);
	}

	/*
	 * The worker's error, raised anew here (ThrowErrorData decides, as for
	 * any error, where it is reported).
	 */
	ThrowErrorData(res.error);
	pg_unreachable();
}

/* ------------------------------------------------------------------------
 * The worker's side
 * ------------------------------------------------------------------------
 */

/*
 * note_created: object access hook of the worker: remember each relation
 * its statements create, for the cleanup of a failed index build.
 */
static void
note_created(ObjectAccessType access, Oid classId, Oid objectId, int subId,
			 void *arg)
{
	if (prev_object_access_hook)
		prev_object_access_hook(access, classId, objectId, subId, arg);
	if (access != OAT_POST_CREATE || classId != RelationRelationId ||
		subId != 0 || my_shared == NULL)
		return;
	SpinLockAcquire(&my_shared->mutex);
	if (my_shared->ncreated < PGM_MAX_CREATED)
		my_shared->created[my_shared->ncreated++] = objectId;
	else
		my_shared->created_overflow = true;
	SpinLockRelease(&my_shared->mutex);
}

/*
 * run_top_level: run one statement the way exec_simple_query() runs a
 * query of a client: in a transaction of its own, at top level, so that
 * CREATE INDEX CONCURRENTLY, VACUUM or a procedure that commits may manage
 * transactions themselves.  The parse and plan trees live in a context of
 * their own: such statements commit the transaction they started in.
 */
static void
run_top_level(const char *sql, MemoryContext stmt_cxt)
{
	MemoryContext old;
	List	   *parsetrees;
	RawStmt    *parsetree;
	CommandTag	tag;
	bool		snapshot_set = false;
	List	   *querytrees;
	List	   *plantrees;
	Portal		portal;
	DestReceiver *receiver;
	QueryCompletion qc;
	int16		format = 0;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	debug_query_string = sql;
	pgstat_report_activity(STATE_RUNNING, sql);

	old = MemoryContextSwitchTo(stmt_cxt);
	parsetrees = pg_parse_query(sql);
	if (list_length(parsetrees) != 1)
		elog(ERROR, "pg_migrate: expected one statement, found %d", list_length(parsetrees));
	parsetree = linitial_node(RawStmt, parsetrees);
	tag = CreateCommandTag(parsetree->stmt);
	if (analyze_requires_snapshot(parsetree))
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		snapshot_set = true;
	}
	querytrees = pg_analyze_and_rewrite_fixedparams(parsetree, sql, NULL, 0, NULL);
	plantrees = pg_plan_queries(querytrees, sql, CURSOR_OPT_PARALLEL_OK, NULL);
	if (snapshot_set)
		PopActiveSnapshot();

	portal = CreatePortal("", true, true);
	portal->visible = false;
	PortalDefineQuery(portal, NULL, sql, tag, plantrees, NULL);
	PortalStart(portal, NULL, 0, InvalidSnapshot);
	PortalSetResultFormat(portal, 1, &format);
	receiver = CreateDestReceiver(DestNone);
	(void) PortalRun(portal, FETCH_ALL, true, true, receiver, receiver, &qc);
	receiver->rDestroy(receiver);
	PortalDrop(portal, false);

	CommitTransactionCommand();
	MemoryContextSwitchTo(old);
	MemoryContextReset(stmt_cxt);
	debug_query_string = NULL;
	pgstat_report_activity(STATE_IDLE, NULL);
}

/*
 * apply_settings: the caller's session settings, as the current user may
 * set them; one that cannot be set is a WARNING (passed on to the caller).
 */
static void
apply_settings(PgmWorkerShared *sh)
{
	const char *p = sh->data + sh->sql_len;
	GucContext	context;

	StartTransactionCommand();
	context = superuser() ? PGC_SUSET : PGC_USERSET;
	for (int i = 0; i < sh->nsettings; i++)
	{
		const char *name = p;
		const char *value = p + strlen(p) + 1;

		(void) set_config_option(name, value, context, PGC_S_SESSION,
								 GUC_ACTION_SET, true, WARNING, false);
		p = value + strlen(value) + 1;
	}
	SetConfigOption("application_name", "pg_migrate deploy", PGC_USERSET,
					PGC_S_SESSION);
	CommitTransactionCommand();
}

/*
 * run_revision: the revision's statements, each at top level; the changes
 * are recorded in its lineage.
 */
static void
run_revision(PgmWorkerShared *sh, MemoryContext stmt_cxt)
{
	List	   *stmts;
	ListCell   *lc;

	prev_object_access_hook = object_access_hook;
	object_access_hook = note_created;
	pgm_lineage_pin(sh->revision, "upgrade");
	stmts = pgm_split_sql(sh->data, "upgrade", sh->revision);
	foreach(lc, stmts)
	{
		PgmStmt    *st = (PgmStmt *) lfirst(lc);

		SpinLockAcquire(&sh->mutex);
		sh->statement = st->number;
		SpinLockRelease(&sh->mutex);
		run_top_level(st->text, stmt_cxt);
	}
	pgm_lineage_pin(NULL, NULL);
	object_access_hook = prev_object_access_hook;
}

/*
 * invalid_index_name: the qualified name of relation relid if it is an
 * invalid index, else NULL.
 */
static char *
invalid_index_name(Oid relid)
{
	HeapTuple	tup;
	char	   *name = NULL;

	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		return NULL;
	if (!((Form_pg_index) GETSTRUCT(tup))->indisvalid)
	{
		char	   *rel = get_rel_name(relid);
		char	   *nsp = get_namespace_name(get_rel_namespace(relid));

		if (rel != NULL && nsp != NULL)
			name = quote_qualified_identifier(nsp, rel);
	}
	ReleaseSysCache(tup);
	return name;
}

/*
 * drop_invalid: drop those of the relations in created[] that are invalid
 * indexes, each with DROP INDEX CONCURRENTLY.  Not lineage: the index of a
 * failed build was never recorded.
 */
static void
drop_invalid(PgmWorkerShared *sh, MemoryContext stmt_cxt)
{
	pgm_drift = PGM_DRIFT_OFF;
	for (int i = 0; i < sh->ncreated; i++)
	{
		char	   *name;

		StartTransactionCommand();
		name = invalid_index_name(sh->created[i]);
		if (name != NULL)
			name = MemoryContextStrdup(TopMemoryContext, name);
		CommitTransactionCommand();
		if (name == NULL)
			continue;
		SpinLockAcquire(&sh->mutex);
		strlcpy(sh->dropping, name, sizeof(sh->dropping));
		SpinLockRelease(&sh->mutex);
		run_top_level(psprintf("DROP INDEX CONCURRENTLY IF EXISTS %s", name), stmt_cxt);
		SpinLockAcquire(&sh->mutex);
		sh->dropping[0] = '\0';
		if (strlen(sh->dropped) + strlen(name) + 3 < sizeof(sh->dropped))
		{
			if (sh->ndropped > 0)
				strcat(sh->dropped, ", ");
			strcat(sh->dropped, name);
		}
		sh->ndropped++;
		SpinLockRelease(&sh->mutex);
	}
}

/*
 * pgm_worker_main: entry point of the background worker.
 */
void
pgm_worker_main(Datum main_arg)
{
	dsm_segment *seg;
	PgmWorkerShared *sh;
	shm_mq	   *mq;
	shm_mq_handle *mqh;
	MemoryContext stmt_cxt;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	seg = dsm_attach(DatumGetUInt32(main_arg));
	if (seg == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("could not map the dynamic shared memory segment of a pg_migrate worker")));
	sh = (PgmWorkerShared *) dsm_segment_address(seg);
	if (sh->magic != PGM_WORKER_MAGIC)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("bad magic number in the dynamic shared memory segment of a pg_migrate worker")));
	my_shared = sh;

	/* from now on, what a client would get goes to the caller */
	mq = (shm_mq *) ((char *) sh + sh->queue_offset);
	shm_mq_set_sender(mq, MyProc);
	mqh = shm_mq_attach(mq, seg, NULL);
	pq_redirect_to_shm_mq(seg, mqh);

	/* the caller's identity: its session user, then its current role */
	BackgroundWorkerInitializeConnectionByOid(sh->database_id,
											  sh->authenticated_user_id, 0);
	if (sh->session_user_id != sh->authenticated_user_id)
		SetSessionAuthorization(sh->session_user_id, sh->session_is_superuser);
	SetCurrentRoleId(sh->role_id, sh->role_is_superuser);

	stmt_cxt = AllocSetContextCreate(TopMemoryContext, "pg_migrate worker statement",
									 ALLOCSET_DEFAULT_SIZES);
	apply_settings(sh);
	if (sh->kind == PGM_JOB_REVISION)
		run_revision(sh, stmt_cxt);
	else
		drop_invalid(sh, stmt_cxt);

	SpinLockAcquire(&sh->mutex);
	sh->done = true;
	SpinLockRelease(&sh->mutex);
}
