/*-------------------------------------------------------------------------
 *
 * catalog.c
 *	  SPI access to the migrate.* tables and the per-backend graph cache.
 *
 * Loading 100,000 revisions through SPI costs far more than answering any
 * graph question, so each backend keeps the graph in a private memory
 * context.  The cache is valid while the row of migrate.catalog_version
 * that the caller's snapshot sees has the same (xmin, generation) as when
 * the cache was filled.  Every write bumps that row -- once per
 * (sub)transaction for writes made here, which then update the cache in
 * place; a statement trigger bumps it for writes made with plain SQL.  A
 * rolled-back (sub)transaction leaves a row version nobody sees again, so
 * its changes to the cache are discarded with it.
 *
 * The bump also takes the row lock that serializes concurrent writers:
 * registrations racing from several sessions queue on it, and each sees
 * the previous one's rows once it holds the lock.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "funcapi.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "catalog.h"

#define PGM_MAX_PLANS 64

typedef struct PgmPlan
{
	const char *sql;
	SPIPlanPtr	plan;
} PgmPlan;

static PgmPlan plans[PGM_MAX_PLANS];
static int	nplans = 0;

static MemoryContext cache_cxt = NULL;
static MgGraph *cache_graph = NULL;
static bool cache_valid = false;
static TransactionId cache_xmin = InvalidTransactionId;
static int64 cache_gen = -1;
static char *cache_orphan = NULL;	/* applied but not registered */

static bool internal_write = false;

static const char *const KEY_SQL =
"SELECT xmin, generation FROM migrate.catalog_version";

static const char *const BUMP_SQL =
"UPDATE migrate.catalog_version SET generation = generation OPERATOR(pg_catalog.+) 1 "
"RETURNING xmin, generation";

static const char *const LOAD_SQL =
"SELECT r.id, r.down_revision, r.depends_on, r.branch_labels, r.seq, r.message, "
"       (a.revision IS NOT NULL) "
"FROM migrate.revisions r LEFT JOIN migrate.applied a "
"  ON a.revision OPERATOR(pg_catalog.=) r.id "
"ORDER BY r.seq";

static const char *const ORPHAN_SQL =
"SELECT a.revision FROM migrate.applied a "
"WHERE NOT EXISTS (SELECT 1 FROM migrate.revisions r "
"                  WHERE r.id OPERATOR(pg_catalog.=) a.revision) "
"ORDER BY a.revision LIMIT 1";

static const char *const OWNER_SQL =
"SELECT extowner FROM pg_catalog.pg_extension "
"WHERE extname OPERATOR(pg_catalog.=) 'pg_migrate'";

static const char *const EVENT_SQL =
"INSERT INTO migrate.events (kind, revision, target, detail, checksum, "
"  session_user_name, current_user_name, application_name, client_addr, "
"  backend_pid, transaction_id) "
"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, pg_catalog.inet_client_addr(), $9, "
"  pg_catalog.pg_current_xact_id()) RETURNING id";

/*
 * pgm_exec: run a statement through a plan prepared once per backend (the
 * SQL text's address is the key, so callers pass string constants), and
 * check the result code against "expect" (0: any success).
 */
int
pgm_exec(const char *sql, int nargs, const Oid *types, const Datum *values,
		 const char *nulls, bool read_only, long tcount, int expect)
{
	SPIPlanPtr	plan = NULL;
	int			rc;

	for (int i = 0; i < nplans; i++)
		if (plans[i].sql == sql)
		{
			plan = plans[i].plan;
			break;
		}
	if (plan == NULL)
	{
		plan = SPI_prepare(sql, nargs, (Oid *) types);
		if (plan == NULL)
			elog(ERROR, "pg_migrate: could not prepare catalog query: %s",
				 SPI_result_code_string(SPI_result));
		if (nplans < PGM_MAX_PLANS && SPI_keepplan(plan) == 0)
		{
			plans[nplans].sql = sql;
			plans[nplans].plan = plan;
			nplans++;
		}
	}
	rc = SPI_execute_plan(plan, (Datum *) values, nulls, read_only, tcount);
	if (rc < 0 || (expect != 0 && rc != expect))
		elog(ERROR, "pg_migrate: catalog query failed: %s",
			 SPI_result_code_string(rc));
	return rc;
}

/*
 * pgm_refuse_on_standby: a function that writes (the catalog or, through
 * revision SQL, the schema) fails at once on a hot standby, before it
 * locks, reads or runs anything, with the SQLSTATE PostgreSQL gives every
 * write in recovery and a hint to use the primary.  Without this check a
 * call would get as far as revision SQL or the first catalog write and
 * fail there with a message about that statement.  A read-only
 * transaction (BEGIN READ ONLY, default_transaction_read_only) is refused
 * the same way, with its own message.
 */
void
pgm_refuse_on_standby(const char *function)
{
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("%s cannot run on a hot standby", function),
				 errdetail("This server is in recovery: it replays the primary's changes and accepts no writes of its own."),
				 errhint("Run it on the primary; once this standby has replayed the change, migrate.current() here shows it.")));
	if (XactReadOnly)
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("%s cannot run in a read-only transaction", function),
				 errdetail("It writes to the database, which a read-only transaction does not allow."),
				 errhint("Run it in a read-write transaction (BEGIN READ WRITE, or default_transaction_read_only off).")));
}

/*
 * pgm_report: raise a core error with the SQLSTATE of its class.
 */
void
pgm_report(const MgError *err)
{
	int			code;

	switch (err->code)
	{
		case MG_ERR_UNDEFINED:
			code = ERRCODE_UNDEFINED_OBJECT;
			break;
		case MG_ERR_AMBIGUOUS:
			code = ERRCODE_CARDINALITY_VIOLATION;
			break;
		case MG_ERR_SYNTAX:
			code = ERRCODE_SYNTAX_ERROR;
			break;
		case MG_ERR_RANGE:
			code = ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE;
			break;
		case MG_ERR_DANGLING:
			code = ERRCODE_FOREIGN_KEY_VIOLATION;
			break;
		case MG_ERR_CYCLE:
			code = ERRCODE_INVALID_OBJECT_DEFINITION;
			break;
		case MG_ERR_DUPLICATE:
			code = ERRCODE_DUPLICATE_OBJECT;
			break;
		case MG_ERR_STATE:
			code = ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE;
			break;
		case MG_ERR_NAME:
			code = ERRCODE_INVALID_NAME;
			break;
		case MG_ERR_INVALID:
			code = ERRCODE_INVALID_PARAMETER_VALUE;
			break;
		default:
			elog(ERROR, "pg_migrate: unexpected error class %d: %s",
				 (int) err->code, err->message);
	}
	ereport(ERROR,
			(errcode(code),
			 errmsg_internal("%s", err->message),
			 err->detail[0] ? errdetail_internal("%s", err->detail) : 0,
			 err->hint[0] ? errhint("%s", err->hint) : 0));
	pg_unreachable();
}

/*
 * pgm_array_to_cstrings: the elements of a text[] as C strings; NULL
 * elements and multi-dimensional arrays are errors naming "what".
 */
char **
pgm_array_to_cstrings(ArrayType *arr, int *n, const char *what)
{
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	char	  **out;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", what)));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &nelems);
	out = palloc(sizeof(char *) * (nelems ? nelems : 1));
	for (int i = 0; i < nelems; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain NULL elements", what)));
		out[i] = TextDatumGetCString(elems[i]);
	}
	*n = nelems;
	return out;
}

/*
 * pgm_cstring_array: a text[] Datum from C strings.
 */
Datum
pgm_cstring_array(char **names, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * (n ? n : 1));

	for (int i = 0; i < n; i++)
		elems[i] = CStringGetTextDatum(names[i]);
	return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false,
										   TYPALIGN_INT));
}

/*
 * take_key: the (xmin, generation) of the one catalog_version row in the
 * current SPI result; the result is freed.
 */
static void
take_key(TransactionId *xmin, int64 *gen)
{
	bool		isnull;

	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("migrate.catalog_version must hold exactly one row"),
				 errhint("Reinstall the extension, or restore the row with generation 0.")));
	*xmin = DatumGetTransactionId(SPI_getbinval(SPI_tuptable->vals[0],
												SPI_tuptable->tupdesc, 1, &isnull));
	*gen = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
									   SPI_tuptable->tupdesc, 2, &isnull));
	SPI_freetuptable(SPI_tuptable);
}

/*
 * read_key: the (xmin, generation) of the catalog_version row the given
 * snapshot mode sees.
 */
static void
read_key(bool fresh, TransactionId *xmin, int64 *gen)
{
	pgm_exec(KEY_SQL, 0, NULL, NULL, NULL, !fresh, 2, SPI_OK_SELECT);
	take_key(xmin, gen);
}

/*
 * text_array_cstrings: elements of a text[] column value (never NULL in
 * the catalog), allocated in the current context.
 */
static char **
text_array_cstrings(Datum d, int *n)
{
	return pgm_array_to_cstrings(DatumGetArrayTypeP(d), n, "catalog array");
}

/*
 * load_graph: fill the cache from the catalog tables.
 */
static void
load_graph(bool fresh)
{
	MemoryContext old;
	uint64		nrows;
	SPITupleTable *tt;

	if (cache_cxt == NULL)
		cache_cxt = AllocSetContextCreate(TopMemoryContext,
										  "pg_migrate graph cache",
										  ALLOCSET_DEFAULT_SIZES);
	cache_valid = false;
	cache_graph = NULL;
	cache_orphan = NULL;
	MemoryContextReset(cache_cxt);

	pgm_exec(LOAD_SQL, 0, NULL, NULL, NULL, !fresh, 0, SPI_OK_SELECT);
	nrows = SPI_processed;
	tt = SPI_tuptable;
	if (nrows > (uint64) (INT_MAX / 4))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many revisions registered: " UINT64_FORMAT, nrows)));

	old = MemoryContextSwitchTo(cache_cxt);
	cache_graph = mg_graph_create((int) nrows);
	MemoryContextSwitchTo(old);

	for (uint64 i = 0; i < nrows; i++)
	{
		HeapTuple	tup = tt->vals[i];
		TupleDesc	desc = tt->tupdesc;
		bool		isnull;
		char	   *id = TextDatumGetCString(SPI_getbinval(tup, desc, 1, &isnull));
		int			np,
					nd,
					nl;
		char	  **parents = text_array_cstrings(SPI_getbinval(tup, desc, 2, &isnull), &np);
		char	  **deps = text_array_cstrings(SPI_getbinval(tup, desc, 3, &isnull), &nd);
		char	  **labels = text_array_cstrings(SPI_getbinval(tup, desc, 4, &isnull), &nl);
		int64		seq = DatumGetInt64(SPI_getbinval(tup, desc, 5, &isnull));
		Datum		msgd = SPI_getbinval(tup, desc, 6, &isnull);
		char	   *msg = isnull ? NULL : TextDatumGetCString(msgd);
		bool		applied = DatumGetBool(SPI_getbinval(tup, desc, 7, &isnull));
		int			idx;

		old = MemoryContextSwitchTo(cache_cxt);
		idx = mg_graph_add(cache_graph, id, msg, seq,
						   (const char *const *) parents, np,
						   (const char *const *) deps, nd,
						   (const char *const *) labels, nl);
		cache_graph->revs[idx].applied = applied;
		MemoryContextSwitchTo(old);
	}
	SPI_freetuptable(tt);

	pgm_exec(ORPHAN_SQL, 0, NULL, NULL, NULL, !fresh, 1, SPI_OK_SELECT);
	if (SPI_processed == 1)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0],
									  SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			cache_orphan = MemoryContextStrdup(cache_cxt,
											   TextDatumGetCString(d));
	}
	SPI_freetuptable(SPI_tuptable);
}

/*
 * pgm_graph: the revision graph with applied flags as the caller's snapshot
 * (fresh: the latest committed state) sees it, from the cache when it is
 * still current.  SPI must be connected.
 */
MgGraph *
pgm_graph(bool fresh)
{
	TransactionId xmin;
	int64		gen;

	read_key(fresh, &xmin, &gen);
	if (cache_valid && cache_graph != NULL &&
		TransactionIdEquals(xmin, cache_xmin) && gen == cache_gen)
		return cache_graph;
	load_graph(fresh);
	cache_xmin = xmin;
	cache_gen = gen;
	cache_valid = true;
	return cache_graph;
}

/*
 * pgm_graph_ready: the graph, validated and with its derived data built;
 * raises the reason when the graph cannot be used.
 */
MgGraph *
pgm_graph_ready(bool fresh)
{
	MgGraph    *g = pgm_graph(fresh);
	MgError		err;
	MemoryContext old;
	bool		ok;

	if (cache_orphan != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("applied revision \"%s\" is not registered", cache_orphan),
				 errdetail("migrate.applied records it, but migrate.revisions has no revision with that id."),
				 errhint("Register the revision again, or reset the recorded state with migrate.stamp(..., purge => true).")));
	old = MemoryContextSwitchTo(cache_cxt);
	ok = mg_graph_prepare(g, &err);
	MemoryContextSwitchTo(old);
	if (!ok)
		pgm_report(&err);
	return g;
}

/*
 * pgm_cache_context: the memory context that owns the cached graph; code
 * that changes the cached graph in place allocates there.
 */
MemoryContext
pgm_cache_context(void)
{
	return cache_cxt;
}

/*
 * pgm_cache_invalidate: forget the cached graph.
 */
void
pgm_cache_invalidate(void)
{
	cache_valid = false;
}

/*
 * pgm_cache_revalidate: declare the cache consistent again after an
 * in-place change made under pgm_begin_write().
 */
void
pgm_cache_revalidate(void)
{
	if (cache_graph != NULL)
		cache_valid = true;
}

/*
 * pgm_cache_graph_for_update: the cached graph if it is current, for an
 * in-place change after pgm_begin_write(); NULL when there is none (the
 * next pgm_graph() reloads).
 */
MgGraph *
pgm_cache_graph_for_update(void)
{
	return cache_valid ? cache_graph : NULL;
}

/*
 * pgm_begin_write: bump catalog_version once per (sub)transaction, which
 * also waits for and then blocks every other writer until commit.  When
 * nobody else wrote in between, the cache stays valid under the new key.
 */
void
pgm_begin_write(void)
{
	TransactionId mine = GetCurrentTransactionIdIfAny();
	TransactionId xmin;
	int64		gen;
	PgmOwnerSave save;

	read_key(true, &xmin, &gen);
	if (TransactionIdIsValid(mine) && TransactionIdEquals(xmin, mine))
		return;					/* already bumped in this subtransaction */

	pgm_as_owner(&save);
	pgm_exec(BUMP_SQL, 0, NULL, NULL, NULL, false, 0, SPI_OK_UPDATE_RETURNING);
	pgm_restore_user(&save);
	{
		TransactionId newxmin;
		int64		newgen;

		take_key(&newxmin, &newgen);
		if (cache_valid && TransactionIdEquals(xmin, cache_xmin) &&
			gen == cache_gen && newgen == gen + 1)
		{
			cache_xmin = newxmin;
			cache_gen = newgen;
		}
		else
			cache_valid = false;
	}
}

/*
 * pgm_internal_write: mark (or unmark) that this backend is writing the
 * catalog itself, so the change trigger need not bump the generation.
 */
void
pgm_internal_write(bool on)
{
	internal_write = on;
}

/*
 * pgm_as_owner: act as the extension's owner for a catalog write.  Users
 * never get write access to the tables; the functions write for them.
 */
void
pgm_as_owner(PgmOwnerSave *save)
{
	static Oid	owner = InvalidOid;
	static LocalTransactionId owner_lxid = InvalidLocalTransactionId;

	/* the owner cannot change within a transaction that uses the extension */
	if (owner_lxid != MyProc->lxid || !OidIsValid(owner))
	{
		bool		isnull;

		pgm_exec(OWNER_SQL, 0, NULL, NULL, NULL, true, 1, SPI_OK_SELECT);
		if (SPI_processed != 1)
			elog(ERROR, "pg_migrate: extension pg_migrate is not installed");
		owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
											   SPI_tuptable->tupdesc, 1, &isnull));
		SPI_freetuptable(SPI_tuptable);
		owner_lxid = MyProc->lxid;
	}
	GetUserIdAndSecContext(&save->userid, &save->sec_context);
	SetUserIdAndSecContext(owner,
						   save->sec_context | SECURITY_LOCAL_USERID_CHANGE);
}

/*
 * pgm_restore_user: undo pgm_as_owner.
 */
void
pgm_restore_user(const PgmOwnerSave *save)
{
	SetUserIdAndSecContext(save->userid, save->sec_context);
}

/*
 * pgm_who: the identity to record, taken before any switch of user.
 */
void
pgm_who(PgmWho *who)
{
	const char *app = GetConfigOption("application_name", true, false);

	who->current_user = GetUserNameFromId(GetUserId(), false);
	who->session_user = GetUserNameFromId(GetSessionUserId(), false);
	who->application_name = app ? pstrdup(app) : NULL;
}

/*
 * pgm_log_event: append a row to migrate.events (as the current user,
 * which the caller has switched to the owner) and return its id.
 */
int64
pgm_log_event(const PgmWho *who, const char *kind, const char *revision,
			  const char *target, const char *detail, const char *checksum)
{
	Oid			types[9] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
	NAMEOID, NAMEOID, TEXTOID, INT4OID};
	Datum		values[9];
	char		nulls[9];
	const char *texts[5] = {kind, revision, target, detail, checksum};
	bool		isnull;
	int64		id;

	for (int i = 0; i < 5; i++)
	{
		values[i] = texts[i] ? CStringGetTextDatum(texts[i]) : (Datum) 0;
		nulls[i] = texts[i] ? ' ' : 'n';
	}
	values[5] = DirectFunctionCall1(namein, CStringGetDatum(who->session_user));
	nulls[5] = ' ';
	values[6] = DirectFunctionCall1(namein, CStringGetDatum(who->current_user));
	nulls[6] = ' ';
	values[7] = who->application_name ? CStringGetTextDatum(who->application_name) : (Datum) 0;
	nulls[7] = who->application_name ? ' ' : 'n';
	values[8] = Int32GetDatum(MyProcPid);
	nulls[8] = ' ';
	pgm_exec(EVENT_SQL, 9, types, values, nulls, false, 0,
			 SPI_OK_INSERT_RETURNING);
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
									 SPI_tuptable->tupdesc, 1, &isnull));
	SPI_freetuptable(SPI_tuptable);
	return id;
}

/*
 * pgm_catalog_moved_on: under REPEATABLE READ or SERIALIZABLE, does the
 * latest committed catalog differ from what the transaction snapshot sees
 * (another migrator committed after it was taken)?
 */
bool
pgm_catalog_moved_on(void)
{
	TransactionId xmin,
				latest_xmin;
	int64		gen,
				latest_gen;
	SPIPlanPtr	plan;
	int			rc;

	read_key(false, &xmin, &gen);
	plan = SPI_prepare(KEY_SQL, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "pg_migrate: could not prepare catalog query: %s",
			 SPI_result_code_string(SPI_result));
	rc = SPI_execute_snapshot(plan, NULL, NULL, GetLatestSnapshot(),
							  InvalidSnapshot, true, false, 2);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "pg_migrate: could not read migrate.catalog_version: %s",
			 SPI_result_code_string(rc));
	take_key(&latest_xmin, &latest_gen);
	SPI_freeplan(plan);
	return !TransactionIdEquals(xmin, latest_xmin) || gen != latest_gen;
}

PG_FUNCTION_INFO_V1(pgm_catalog_changed);

/*
 * pgm_catalog_changed: statement trigger on migrate.revisions and
 * migrate.applied.  A change made with plain SQL (a restore, a manual
 * repair) bumps catalog_version so that every backend reloads its cache;
 * changes made by pg_migrate's own functions have bumped it already.
 */
Datum
pgm_catalog_changed(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("migrate.catalog_changed() must be called as a trigger")));
	if (!internal_write)
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "pg_migrate: SPI_connect failed");
		pgm_exec(BUMP_SQL, 0, NULL, NULL, NULL, false, 0,
				 SPI_OK_UPDATE_RETURNING);
		SPI_finish();
		cache_valid = false;
	}
	return PointerGetDatum(NULL);
}

/*
 * pgm_srf_begin: set up materialized output for a set-returning function
 * and return the tuplestore; *tupdesc receives the row type.
 */
Tuplestorestate *
pgm_srf_begin(FunctionCallInfo fcinfo, TupleDesc *tupdesc)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext old;
	Tuplestorestate *ts;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		(rsinfo->allowedModes & SFRM_Materialize) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	if (get_call_result_type(fcinfo, NULL, tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "pg_migrate: return type must be a row type");
	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	*tupdesc = CreateTupleDescCopy(*tupdesc);
	ts = tuplestore_begin_heap(true, false, work_mem);
	MemoryContextSwitchTo(old);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = ts;
	rsinfo->setDesc = *tupdesc;
	return ts;
}
