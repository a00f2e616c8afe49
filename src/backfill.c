/*-------------------------------------------------------------------------
 *
 * backfill.c
 *	  CALL migrate.backfill(): an UPDATE of a big table in short batches,
 *	  a commit after each, resumable after an interruption.
 *
 * The table is walked in the order of its key (the primary key, or else a
 * unique index on NOT NULL columns).  Each batch is a window of the next
 * batch_size keys after the last one done, found by an ordered scan of the
 * key index; the UPDATE then touches the rows of that window that satisfy
 * where_clause, so a batch never reads more than batch_size index entries
 * and never locks more than batch_size rows, whatever where_clause is and
 * whatever the planner thinks of it.  The last key of the window, the
 * counts and the time are written to migrate.backfills (as the extension
 * owner) in the batch's own transaction, which then commits: an error or a
 * cancel loses at most the batch that was running, and the same call again
 * continues after the last committed window.  The state row is locked at
 * the start of every batch, so two identical calls running at once share
 * the windows instead of doing them twice.
 *
 * set_clause and where_clause are SQL written by the caller and run with
 * the caller's rights; each is parsed on its own first and must be exactly
 * an assignment list / one expression, so that neither can carry a second
 * statement or change the shape of the UPDATE built around it.  Key values
 * travel as parameters, never as SQL text.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/catalog.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_class.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/pquery.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/syscache.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"

#include "catalog.h"
#include "runner.h"

/* A batch that meets a deadlock or a lock timeout is tried this often more. */
#define BACKFILL_RETRIES 5
#define BACKFILL_RETRY_MS 100

/* One column of the key. */
typedef struct BackfillKey
{
	char	   *name;
	Oid			type;
	int32		typmod;
	Oid			typinput;
	Oid			typioparam;
} BackfillKey;

/* Everything one call knows; allocated in the SPI procedure context. */
typedef struct Backfill
{
	Oid			relid;
	char	   *relname;		/* schema-qualified and quoted */
	int			nkeys;
	BackfillKey *keys;
	char	   *keylist;		/* "(a, b)" for messages */
	char	   *set_clause;
	char	   *where_clause;	/* NULL: every row */
	int32		batch_size;
	int64		pause_ms;
	char	   *who;

	char	   *window_sql[2];	/* [0]: from the first key; [1]: after $1.. */
	char	   *update_sql[2];
	Oid		   *argtypes;		/* key types, twice: lower and upper bound */

	int64		id;				/* migrate.backfills.id */
	int64		estimate;		/* rows of the table, by the planner */
	int64		scanned;		/* totals over every call */
	int64		updated;
	int64		batches;
	int64		call_updated;	/* this call */
	int64		call_batches;
	TimestampTz call_start;
	char	  **last_key;		/* text of each key column; NULL: none yet */
	MemoryContext keycxt;		/* holds last_key */
	MemoryContext batchcxt;		/* reset for every batch */
} Backfill;

/* What a batch did. */
typedef struct BatchResult
{
	bool		finished;		/* the last window was done (by anyone) */
	bool		by_other;		/* another call finished it meanwhile */
	int64		scanned;
	int64		updated;
	double		seconds;		/* from the batch's start to its commit */
} BatchResult;

static const char *const FIND_SQL =
"SELECT id, last_key, rows_scanned, rows_updated, batches, estimated_rows, "
"  key_columns, finished_at IS NOT NULL "
"FROM migrate.backfills "
"WHERE relation_oid OPERATOR(pg_catalog.=) $1 "
"  AND set_clause OPERATOR(pg_catalog.=) $2 "
"  AND (where_clause OPERATOR(pg_catalog.=) $3 OR (where_clause IS NULL AND $3 IS NULL))";

static const char *const INSERT_SQL =
"INSERT INTO migrate.backfills (relation_oid, relation_name, set_clause, where_clause, "
"  key_columns, estimated_rows, started_at, updated_at, started_by, updated_by) "
"VALUES ($1, $2, $3, $4, $5, $6, pg_catalog.clock_timestamp(), "
"  pg_catalog.clock_timestamp(), $7, $7) "
"ON CONFLICT DO NOTHING RETURNING id";

static const char *const LOCK_SQL =
"SELECT last_key, rows_scanned, rows_updated, batches, finished_at IS NOT NULL "
"FROM migrate.backfills WHERE id OPERATOR(pg_catalog.=) $1 FOR UPDATE";

static const char *const STEP_SQL =
"UPDATE migrate.backfills SET "
"  last_key = COALESCE($2, last_key), "
"  rows_scanned = rows_scanned OPERATOR(pg_catalog.+) $3, "
"  rows_updated = rows_updated OPERATOR(pg_catalog.+) $4, "
"  batches = batches OPERATOR(pg_catalog.+) $5, "
"  updated_at = pg_catalog.clock_timestamp(), updated_by = $6, "
"  finished_at = CASE WHEN $7 THEN pg_catalog.clock_timestamp() END "
"WHERE id OPERATOR(pg_catalog.=) $1";

static const char *const RESET_SQL =
"DELETE FROM migrate.backfills "
"WHERE relation_oid OPERATOR(pg_catalog.=) $1 "
"  AND set_clause OPERATOR(pg_catalog.=) $2 "
"  AND (where_clause OPERATOR(pg_catalog.=) $3 OR (where_clause IS NULL AND $3 IS NULL))";

/* What the error context callback needs. */
typedef struct BackfillErrorContext
{
	Backfill   *b;
	int64		batchno;		/* 0: before the first batch */
} BackfillErrorContext;

/*
 * backfill_error_context: name the backfill and the batch (with the key it
 * started after) in every error raised while one runs.
 */
static void
backfill_error_context(void *arg)
{
	BackfillErrorContext *c = (BackfillErrorContext *) arg;

	if (c->batchno <= 0)
		errcontext("backfill of %s", c->b->relname);
	else if (c->b->last_key == NULL)
		errcontext("backfill of %s, batch %lld, from the first key",
				   c->b->relname, (long long) c->batchno);
	else
	{
		StringInfoData s;

		initStringInfo(&s);
		for (int i = 0; i < c->b->nkeys; i++)
			appendStringInfo(&s, "%s%s", i ? ", " : "", c->b->last_key[i]);
		errcontext("backfill of %s, batch %lld, after key (%s)",
				   c->b->relname, (long long) c->batchno, s.data);
	}
}

/*
 * key_text: a key as "(v1, v2)" for messages.
 */
static char *
key_text(Backfill *b, char **key)
{
	StringInfoData s;

	initStringInfo(&s);
	appendStringInfoChar(&s, '(');
	for (int i = 0; i < b->nkeys; i++)
		appendStringInfo(&s, "%s%s", i ? ", " : "", key[i]);
	appendStringInfoChar(&s, ')');
	return s.data;
}

/*
 * pin_styles: key values are kept as text between batches and calls, so
 * write and read them in one fixed style whatever the session's settings
 * (DateStyle, IntervalStyle, extra_float_digits).  Returns the GUC nest
 * level to close with AtEOXact_GUC(true, level).
 */
static int
pin_styles(void)
{
	int			level = NewGUCNestLevel();

	(void) set_config_option("datestyle", "ISO, YMD", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("intervalstyle", "postgres", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("extra_float_digits", "3", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return level;
}

/*
 * interval_ms: a pause as milliseconds (a month counts 30 days).
 */
static int64
interval_ms(const Interval *iv)
{
	int64		us;

	us = iv->time +
		((int64) iv->day + (int64) iv->month * DAYS_PER_MONTH) * USECS_PER_DAY;
	return us < 0 ? -1 : (us + 999) / 1000;
}

/*
 * require_procedure_context: backfill commits, which only a CALL outside
 * any transaction block, function or exception block can do.
 */
static void
require_procedure_context(FunctionCallInfo fcinfo)
{
	bool		nonatomic = fcinfo->context != NULL &&
	IsA(fcinfo->context, CallContext) &&
	!castNode(CallContext, fcinfo->context)->atomic;

	if (!nonatomic || IsSubTransaction())
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_TERMINATION),
				 errmsg("migrate.backfill() cannot run inside a transaction block"),
				 errdetail("It commits after every batch, which is impossible inside BEGIN ... COMMIT, a function, a DO block with an EXCEPTION clause, or migrate.upgrade()."),
				 errhint("Run CALL migrate.backfill(...) on its own, outside a transaction block; in a migration, put it in a revision registered with transactional => false and run that with CALL migrate.deploy().")));
}

/*
 * require_update_right: the caller must be allowed to UPDATE the table
 * (or some of its columns; the UPDATE checks the exact columns).
 */
static void
require_update_right(Oid relid, const char *relname)
{
	Oid			user = GetUserId();

	if (pg_class_aclcheck(relid, user, ACL_UPDATE) != ACLCHECK_OK &&
		pg_attribute_aclcheck_all(relid, user, ACL_UPDATE, ACLMASK_ANY) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to backfill table %s", relname),
				 errdetail("A backfill updates the table as the calling role, which has no UPDATE privilege on it."),
				 errhint("Ask the table's owner for GRANT UPDATE (and SELECT on its key columns), or run the backfill as a role that has them.")));
}

/*
 * operator_sql: "OPERATOR(schema.name)" of a btree strategy of the key
 * column's operator family, so the comparison is the index's own.
 */
static char *
operator_sql(Oid opfamily, Oid opcintype, int16 strategy)
{
	Oid			opno = get_opfamily_member(opfamily, opcintype, opcintype, strategy);
	HeapTuple	tup;
	Form_pg_operator op;
	char	   *nsp;
	char	   *result;

	if (!OidIsValid(opno))
		elog(ERROR, "pg_migrate: missing btree operator %d of operator family %u",
			 strategy, opfamily);
	tup = SearchSysCache1(OPEROID, ObjectIdGetDatum(opno));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "pg_migrate: cache lookup failed for operator %u", opno);
	op = (Form_pg_operator) GETSTRUCT(tup);
	nsp = get_namespace_name(op->oprnamespace);
	if (nsp == NULL)
		elog(ERROR, "pg_migrate: cache lookup failed for namespace %u",
			 op->oprnamespace);
	result = psprintf("OPERATOR(%s.%s)", quote_identifier(nsp),
					  NameStr(op->oprname));
	ReleaseSysCache(tup);
	return result;
}

/*
 * usable_key_index: can the index serve as the walking order?  A valid
 * btree over plain NOT NULL columns, unique, without predicate, each
 * column with its type's default ordering and collation.  *why says what
 * is missing otherwise.
 */
static bool
usable_key_index(Relation rel, Oid indexoid, const char **why)
{
	Relation	idx = index_open(indexoid, AccessShareLock);
	Form_pg_index ind = idx->rd_index;
	bool		ok = true;

	if (idx->rd_rel->relam != BTREE_AM_OID)
	{
		*why = "it is not a btree index";
		ok = false;
	}
	else if (!ind->indisunique || !ind->indisvalid || !ind->indislive)
	{
		*why = "it is not a valid unique index";
		ok = false;
	}
	else if (RelationGetIndexPredicate(idx) != NIL)
	{
		*why = "it is a partial index";
		ok = false;
	}
	else if (RelationGetIndexExpressions(idx) != NIL)
	{
		*why = "it indexes an expression";
		ok = false;
	}
	for (int i = 0; ok && i < ind->indnkeyatts; i++)
	{
		AttrNumber	attnum = ind->indkey.values[i];
		Form_pg_attribute att;
		Oid			defopc;

		if (attnum <= 0 || attnum > RelationGetDescr(rel)->natts)
		{
			*why = "it indexes a system column";
			ok = false;
			break;
		}
		att = TupleDescAttr(RelationGetDescr(rel), attnum - 1);
		defopc = GetDefaultOpClass(att->atttypid, BTREE_AM_OID);
		if (!att->attnotnull)
		{
			*why = "one of its columns allows NULL";
			ok = false;
		}
		else if (!OidIsValid(defopc) ||
				 get_opclass_family(defopc) != idx->rd_opfamily[i] ||
				 get_opclass_input_type(defopc) != idx->rd_opcintype[i] ||
				 idx->rd_indcollation[i] != att->attcollation)
		{
			*why = "one of its columns uses a non-default operator class or collation";
			ok = false;
		}
	}
	index_close(idx, AccessShareLock);
	return ok;
}

/*
 * choose_key: the primary key when it can serve, else the unique index
 * on NOT NULL columns with the fewest columns (ties: by name).
 */
static Oid
choose_key(Relation rel, const char *relname)
{
	Oid			pk = RelationGetPrimaryKeyIndex(rel);
	const char *why = NULL;
	const char *pkwhy = NULL;
	Oid			best = InvalidOid;
	int			bestn = 0;
	char	   *bestname = NULL;
	ListCell   *lc;

	if (OidIsValid(pk))
	{
		if (usable_key_index(rel, pk, &pkwhy))
			return pk;
	}
	foreach(lc, RelationGetIndexList(rel))
	{
		Oid			oid = lfirst_oid(lc);
		HeapTuple	tup;
		int			n;
		char	   *name;

		if (oid == pk || !usable_key_index(rel, oid, &why))
			continue;
		tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(oid));
		if (!HeapTupleIsValid(tup))
			elog(ERROR, "pg_migrate: cache lookup failed for index %u", oid);
		n = ((Form_pg_index) GETSTRUCT(tup))->indnkeyatts;
		ReleaseSysCache(tup);
		name = get_rel_name(oid);
		if (name == NULL)
			continue;
		if (!OidIsValid(best) || n < bestn ||
			(n == bestn && strcmp(name, bestname) < 0))
		{
			best = oid;
			bestn = n;
			bestname = name;
		}
	}
	if (OidIsValid(best))
		return best;
	if (OidIsValid(pk))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the primary key of table %s cannot order a backfill", relname),
				 errdetail("A backfill walks the table in key order through a btree index; the primary key cannot serve because %s, and no unique index on NOT NULL columns can either.",
						   pkwhy),
				 errhint("Create a unique index on NOT NULL columns with their default ordering (CREATE UNIQUE INDEX CONCURRENTLY ...).")));
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("table %s has no primary key", relname),
			 errdetail("A backfill walks the table in key order, so that each batch is a short range of the key's index and a later call can resume after the last range done."),
			 errhint("Add a primary key, or a unique index on NOT NULL columns (CREATE UNIQUE INDEX CONCURRENTLY ...).")));
	return InvalidOid;			/* keep the compiler quiet */
}

/*
 * open_target: check the relation and find its key and the comparison
 * operators of the key's index.  Fills b->relname, keys, SQL pieces.
 */
static void
open_target(Backfill *b, const char **gt, const char **le, bool *only)
{
	Relation	rel;
	Relation	idx;
	Oid			keyidx;
	char	   *nsp = get_namespace_name(get_rel_namespace(b->relid));
	char	   *name = get_rel_name(b->relid);
	char		relkind = get_rel_relkind(b->relid);
	StringInfoData names;

	/* checked before the table is locked */
	if (nsp == NULL || name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", b->relid)));
	b->relname = quote_qualified_identifier(nsp, name);
	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("%s is not a table", b->relname),
				 errdetail("A backfill updates the rows of a table in batches; views, materialized views, foreign tables and other relations cannot be walked by key."),
				 errhint("Backfill the table that holds the rows.")));
	if (IsCatalogRelationOid(b->relid))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("cannot backfill system catalog %s", b->relname),
				 errdetail("System catalogs are written only by PostgreSQL's own commands.")));
	if (strcmp(nsp, "migrate") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("cannot backfill %s: it belongs to the pg_migrate catalog", b->relname),
				 errdetail("The tables of schema migrate are written only through pg_migrate's functions.")));
	*only = relkind == RELKIND_RELATION;
	require_update_right(b->relid, b->relname);

	rel = try_table_open(b->relid, AccessShareLock);
	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation %s does not exist", b->relname)));
	if (rel->rd_rel->relkind != relkind)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("relation %s changed while the backfill started", b->relname)));

	keyidx = choose_key(rel, b->relname);
	idx = index_open(keyidx, AccessShareLock);
	b->nkeys = idx->rd_index->indnkeyatts;
	b->keys = palloc0(sizeof(BackfillKey) * b->nkeys);
	initStringInfo(&names);
	*gt = NULL;
	*le = NULL;
	for (int i = 0; i < b->nkeys; i++)
	{
		AttrNumber	attnum = idx->rd_index->indkey.values[i];
		Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), attnum - 1);
		BackfillKey *k = &b->keys[i];
		const char *g = operator_sql(idx->rd_opfamily[i], idx->rd_opcintype[i],
									 BTGreaterStrategyNumber);
		const char *l = operator_sql(idx->rd_opfamily[i], idx->rd_opcintype[i],
									 BTLessEqualStrategyNumber);

		k->name = pstrdup(NameStr(att->attname));
		k->type = att->atttypid;
		k->typmod = att->atttypmod;
		getTypeInputInfo(k->type, &k->typinput, &k->typioparam);
		appendStringInfo(&names, "%s%s", i ? ", " : "", quote_identifier(k->name));
		/* a row comparison takes one operator name for every column */
		if ((*gt && strcmp(*gt, g) != 0) || (*le && strcmp(*le, l) != 0))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("the key columns of table %s compare with operators of different schemas",
							b->relname),
					 errdetail("The key is (%s); a backfill compares it as one row value.", names.data),
					 errhint("Backfill by a key whose columns' types have their operators in one schema, for example a unique index on fewer columns.")));
		*gt = g;
		*le = l;
	}
	b->keylist = psprintf("(%s)", names.data);
	index_close(idx, AccessShareLock);
	/* keep the lock until the first commit: the table cannot go meanwhile */
	table_close(rel, NoLock);
}

/*
 * fragment_error: a problem with set_clause or where_clause.
 */
static void
fragment_error(bool is_set, const char *detail, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_SYNTAX_ERROR),
			 is_set ?
			 errmsg("set_clause must be only the assignments of an UPDATE") :
			 errmsg("where_clause must be only one boolean expression"),
			 errdetail_internal("%s", detail),
			 errhint("%s", hint)));
}

/*
 * check_fragment: parse set_clause (or where_clause) on its own, inside
 * an UPDATE of a dummy table, and require that it is exactly what may
 * follow SET (or WHERE) -- no second statement, no FROM, WHERE,
 * RETURNING or CURRENT OF -- so that it keeps its meaning inside the
 * UPDATE built around it.  set_clause must not assign a key column.
 */
static void
check_fragment(Backfill *b, bool is_set)
{
	const char *fragment = is_set ? b->set_clause : b->where_clause;
	const char *prefix = is_set ?
	"UPDATE pg_migrate_backfill SET\n" :
	"UPDATE pg_migrate_backfill SET pg_migrate_backfill = NULL WHERE\n";
	const char *what = is_set ? "set_clause" : "where_clause";
	char	   *sql = psprintf("%s%s", prefix, fragment);
	MemoryContext cxt = CurrentMemoryContext;
	List	   *raw = NIL;
	UpdateStmt *us;
	ListCell   *lc;

	PG_TRY();
	{
		raw = raw_parser(sql, RAW_PARSE_DEFAULT);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		/* point the error into the fragment, not into the CALL */
		if (edata->cursorpos > 0)
		{
			int			pos = edata->cursorpos - (int) strlen(prefix);
			int			len = pg_mbstrlen(fragment);

			edata->internalpos = Max(1, Min(pos, len + 1));
			edata->internalquery = pstrdup(fragment);
			edata->cursorpos = 0;
		}
		edata->context = psprintf("%s of migrate.backfill()", what);
		ReThrowError(edata);
	}
	PG_END_TRY();

	if (list_length(raw) != 1 ||
		!IsA(linitial_node(RawStmt, raw)->stmt, UpdateStmt))
		fragment_error(is_set, psprintf("The %s holds more than one statement.", what),
					   is_set ?
					   "Pass only what follows SET in an UPDATE, for example 'email_lower = lower(email)'." :
					   "Pass only what follows WHERE in an UPDATE, for example 'email_lower IS NULL'.");
	us = (UpdateStmt *) linitial_node(RawStmt, raw)->stmt;
	if (us->returningList != NIL)
		fragment_error(is_set, psprintf("The %s has a RETURNING clause.", what),
					   "A backfill returns no rows; leave RETURNING out.");
	if (is_set && us->whereClause != NULL)
		fragment_error(true, "The set_clause has a WHERE clause.",
					   "Pass the condition as where_clause.");
	if (is_set && us->fromClause != NIL)
		fragment_error(true, "The set_clause has a FROM clause.",
					   "Read other tables in a subquery of the assignment, for example 'x = (SELECT o.x FROM other o WHERE o.id = t.other_id)'.");
	if (!is_set && us->whereClause != NULL && IsA(us->whereClause, CurrentOfExpr))
		fragment_error(false, "WHERE CURRENT OF names a cursor, not a condition.",
					   "Pass a condition on the table's columns.");
	if (!is_set)
		return;
	foreach(lc, us->targetList)
	{
		ResTarget  *rt = lfirst_node(ResTarget, lc);

		for (int i = 0; i < b->nkeys; i++)
			if (rt->name && strcmp(rt->name, b->keys[i].name) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("set_clause assigns key column \"%s\"", rt->name),
						 errdetail("A backfill walks table %s in the order of its key %s, which must not change under it.",
								   b->relname, b->keylist),
						 errhint("Change key columns with a plain UPDATE.")));
	}
}

/*
 * append_key: the key as SQL, "a" or "ROW(a, b)".
 */
static void
append_key(StringInfo s, Backfill *b)
{
	if (b->nkeys > 1)
		appendStringInfoString(s, "ROW(");
	for (int i = 0; i < b->nkeys; i++)
		appendStringInfo(s, "%s%s", i ? ", " : "", quote_identifier(b->keys[i].name));
	if (b->nkeys > 1)
		appendStringInfoChar(s, ')');
}

/*
 * append_params: parameters holding a key, "$n" or "ROW($n, $n+1)".
 */
static void
append_params(StringInfo s, Backfill *b, int first)
{
	if (b->nkeys > 1)
		appendStringInfoString(s, "ROW(");
	for (int i = 0; i < b->nkeys; i++)
		appendStringInfo(s, "%s$%d", i ? ", " : "", first + i);
	if (b->nkeys > 1)
		appendStringInfoChar(s, ')');
}

/*
 * build_sql: the window query and the UPDATE, each with and without a
 * lower bound.
 *
 * Window: the last key of the next batch_size keys and how many there
 * are, read in key order from the key's index:
 *   SELECT * FROM (SELECT k1, k2, row_number() OVER (ORDER BY k1, k2)
 *                  FROM ONLY t WHERE ROW(k1, k2) > ROW($1, $2)
 *                  ORDER BY k1, k2 LIMIT batch_size) w
 *   ORDER BY 3 DESC LIMIT 1
 * Update:
 *   UPDATE ONLY t SET <set_clause>
 *   WHERE ROW(k1, k2) > ROW($1, $2) AND ROW(k1, k2) <= ROW($3, $4)
 *     AND (<where_clause>)
 */
static void
build_sql(Backfill *b, const char *gt, const char *le, bool only)
{
	StringInfoData order;

	initStringInfo(&order);
	for (int i = 0; i < b->nkeys; i++)
		appendStringInfo(&order, "%s%s", i ? ", " : "", quote_identifier(b->keys[i].name));

	for (int lower = 0; lower <= 1; lower++)
	{
		StringInfoData w;
		StringInfoData u;
		int			upper_first = lower ? b->nkeys + 1 : 1;

		initStringInfo(&w);
		appendStringInfo(&w, "SELECT * FROM (SELECT %s, pg_catalog.row_number() OVER (ORDER BY %s) FROM %s%s",
						 order.data, order.data, only ? "ONLY " : "", b->relname);
		if (lower)
		{
			appendStringInfoString(&w, " WHERE ");
			append_key(&w, b);
			appendStringInfo(&w, " %s ", gt);
			append_params(&w, b, 1);
		}
		appendStringInfo(&w, " ORDER BY %s LIMIT %d) pg_migrate_window ORDER BY %d DESC LIMIT 1",
						 order.data, b->batch_size, b->nkeys + 1);
		b->window_sql[lower] = w.data;

		initStringInfo(&u);
		appendStringInfo(&u, "UPDATE %s%s SET\n%s\nWHERE ",
						 only ? "ONLY " : "", b->relname, b->set_clause);
		if (lower)
		{
			append_key(&u, b);
			appendStringInfo(&u, " %s ", gt);
			append_params(&u, b, 1);
			appendStringInfoString(&u, " AND ");
		}
		append_key(&u, b);
		appendStringInfo(&u, " %s ", le);
		append_params(&u, b, upper_first);
		if (b->where_clause)
			appendStringInfo(&u, " AND (\n%s\n)", b->where_clause);
		b->update_sql[lower] = u.data;
	}
	b->argtypes = palloc(sizeof(Oid) * b->nkeys * 2);
	for (int i = 0; i < b->nkeys; i++)
		b->argtypes[i] = b->argtypes[b->nkeys + i] = b->keys[i].type;
}

/*
 * estimate_rows: the planner's row count of the table -- as cheap for 50
 * million rows as for 5,000, and as good as the table's statistics.
 */
static int64
estimate_rows(Backfill *b, bool only)
{
	char	   *sql = psprintf("SELECT FROM %s%s", only ? "ONLY " : "", b->relname);
	SPIPlanPtr	plan = SPI_prepare(sql, 0, NULL);
	CachedPlan *cplan;
	double		rows = -1;

	if (plan == NULL)
		elog(ERROR, "pg_migrate: could not plan the row estimate: %s",
			 SPI_result_code_string(SPI_result));
	cplan = SPI_plan_get_cached_plan(plan);
	if (cplan != NULL)
	{
		if (list_length(cplan->stmt_list) == 1)
		{
			PlannedStmt *ps = linitial_node(PlannedStmt, cplan->stmt_list);

			if (ps->planTree != NULL)
				rows = ps->planTree->plan_rows;
		}
		ReleaseCachedPlan(cplan, NULL);
	}
	SPI_freeplan(plan);
	return rows < 0 ? -1 : (int64) (rows + 0.5);
}

/*
 * text_array: a text[] Datum of n C strings.
 */
static Datum
text_array(char **items, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * n);

	for (int i = 0; i < n; i++)
		d[i] = CStringGetTextDatum(items[i]);
	return PointerGetDatum(construct_array(d, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * array_texts: the C strings of a text[] Datum that must have n elements.
 */
static char **
array_texts(Datum d, int n, const char *what)
{
	Datum	   *elems;
	bool	   *nulls;
	int			count;
	char	  **out;

	deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &count);
	if (count != n)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("migrate.backfills.%s has %d elements where %d were expected",
						what, count, n)));
	out = palloc(sizeof(char *) * n);
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("migrate.backfills.%s has a NULL element", what)));
		out[i] = TextDatumGetCString(elems[i]);
	}
	return out;
}

/*
 * set_last_key: remember the last key done (copied into keycxt).
 */
static void
set_last_key(Backfill *b, char **key)
{
	MemoryContext old;

	if (key == NULL)
	{
		b->last_key = NULL;
		return;
	}
	MemoryContextReset(b->keycxt);
	old = MemoryContextSwitchTo(b->keycxt);
	b->last_key = palloc(sizeof(char *) * b->nkeys);
	for (int i = 0; i < b->nkeys; i++)
		b->last_key[i] = pstrdup(key[i]);
	MemoryContextSwitchTo(old);
}

/*
 * get_int8: a bigint column of the current SPI row (NULL: 0).
 */
static int64
get_int8(int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, &isnull);

	return isnull ? 0 : DatumGetInt64(d);
}

/*
 * find_state: look up the state row of this call; on success the row is
 * in SPI_tuptable.
 */
static bool
find_state(Backfill *b)
{
	Oid			types[3] = {OIDOID, TEXTOID, TEXTOID};
	Datum		values[3];
	char		nulls[3] = "   ";

	values[0] = ObjectIdGetDatum(b->relid);
	values[1] = CStringGetTextDatum(b->set_clause);
	values[2] = b->where_clause ? CStringGetTextDatum(b->where_clause) : (Datum) 0;
	nulls[2] = b->where_clause ? ' ' : 'n';
	pgm_exec(FIND_SQL, 3, types, values, nulls, false, 0, SPI_OK_SELECT);
	if (SPI_processed > 1)
		elog(ERROR, "pg_migrate: several migrate.backfills rows for one call");
	if (SPI_processed == 0)
	{
		SPI_freetuptable(SPI_tuptable);
		return false;
	}
	return true;
}

/*
 * insert_state: create the state row of a new backfill (it commits with
 * the first batch).  False when an identical call created it meanwhile.
 */
static bool
insert_state(Backfill *b, char **names)
{
	Oid			types[7] = {OIDOID, TEXTOID, TEXTOID, TEXTOID, TEXTARRAYOID, INT8OID, NAMEOID};
	Datum		values[7];
	char		nulls[7] = "       ";
	PgmOwnerSave save;
	bool		inserted;

	values[0] = ObjectIdGetDatum(b->relid);
	values[1] = CStringGetTextDatum(b->relname);
	values[2] = CStringGetTextDatum(b->set_clause);
	values[3] = b->where_clause ? CStringGetTextDatum(b->where_clause) : (Datum) 0;
	nulls[3] = b->where_clause ? ' ' : 'n';
	values[4] = text_array(names, b->nkeys);
	values[5] = Int64GetDatum(b->estimate);
	nulls[5] = b->estimate < 0 ? 'n' : ' ';
	values[6] = DirectFunctionCall1(namein, CStringGetDatum(b->who));
	pgm_as_owner(&save);
	pgm_exec(INSERT_SQL, 7, types, values, nulls, false, 0, SPI_OK_INSERT_RETURNING);
	pgm_restore_user(&save);
	inserted = SPI_processed == 1;
	if (inserted)
		b->id = get_int8(1);
	SPI_freetuptable(SPI_tuptable);
	return inserted;
}

/*
 * start_or_resume: find the state of this call, or create it.  Returns
 * false when it finished before (and says so).
 */
static bool
start_or_resume(Backfill *b, bool only)
{
	char	  **names = palloc(sizeof(char *) * b->nkeys);
	char	  **stored;
	bool		isnull;
	Datum		d;

	for (int i = 0; i < b->nkeys; i++)
		names[i] = b->keys[i].name;

	if (!find_state(b))
	{
		b->estimate = estimate_rows(b, only);
		if (insert_state(b, names))
		{
			ereport(NOTICE,
					(errmsg("backfill of %s: about %lld rows, in batches of %d by key %s",
							b->relname, (long long) Max(b->estimate, 0),
							b->batch_size, b->keylist)));
			return true;
		}
		/* an identical call started at the same moment: join it */
		if (!find_state(b))
			elog(ERROR, "pg_migrate: could not find or create the backfill state");
	}

	b->id = get_int8(1);
	b->scanned = get_int8(3);
	b->updated = get_int8(4);
	b->batches = get_int8(5);
	b->estimate = get_int8(6);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 7, &isnull);
	stored = isnull ? NULL : array_texts(d, b->nkeys, "key_columns");
	for (int i = 0; stored && i < b->nkeys; i++)
		if (strcmp(stored[i], names[i]) != 0)
			stored = NULL;
	if (stored == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the key of table %s changed since this backfill started",
						b->relname),
				 errdetail("The backfill would walk the table by key %s now, but recorded its progress by another key.",
						   b->keylist),
				 errhint("Start it over: call migrate.backfill_reset() with the same relation, set_clause and where_clause, then CALL migrate.backfill() again.")));
	if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 8, &isnull)))
	{
		SPI_freetuptable(SPI_tuptable);
		ereport(NOTICE,
				(errmsg("backfill of %s already finished: nothing to do", b->relname),
				 errdetail("It scanned %lld rows and updated %lld in %lld batches; migrate.backfills has its history.",
						   (long long) b->scanned, (long long) b->updated,
						   (long long) b->batches),
				 errhint("To run it again from the first key, call migrate.backfill_reset() with the same relation, set_clause and where_clause, then CALL migrate.backfill() again.")));
		return false;
	}
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	set_last_key(b, isnull ? NULL : array_texts(d, b->nkeys, "last_key"));
	SPI_freetuptable(SPI_tuptable);
	if (b->last_key == NULL)
		ereport(NOTICE,
				(errmsg("backfill of %s resumes from the first key", b->relname)));
	else
		ereport(NOTICE,
				(errmsg("backfill of %s resumes after key %s: %lld of about %lld rows scanned, %lld updated, in %lld earlier batches",
						b->relname, key_text(b, b->last_key),
						(long long) b->scanned,
						(long long) Max(b->estimate, b->scanned),
						(long long) b->updated, (long long) b->batches)));
	return true;
}

/*
 * key_params: Datums of a key given as text, for the SPI parameters.
 */
static void
key_params(Backfill *b, char **key, Datum *values)
{
	for (int i = 0; i < b->nkeys; i++)
		values[i] = OidInputFunctionCall(b->keys[i].typinput, key[i],
										 b->keys[i].typioparam, b->keys[i].typmod);
}

/*
 * batch_body: one batch, inside the caller's subtransaction: lock the
 * state row, find the window, update it, record the progress.
 */
static void
batch_body(Backfill *b, BatchResult *r)
{
	Oid			ltypes[1] = {INT8OID};
	Datum		lvalues[1];
	Oid			stypes[7] = {INT8OID, TEXTARRAYOID, INT8OID, INT8OID, INT8OID, NAMEOID, BOOLOID};
	Datum		svalues[7];
	char		snulls[7] = "       ";
	Datum	   *params = palloc(sizeof(Datum) * b->nkeys * 2);
	char	  **upper = NULL;
	PgmOwnerSave save;
	bool		isnull;
	Datum		d;
	int			rc;
	int			level;
	int			lower;

	memset(r, 0, sizeof(*r));

	/* the state row, locked: identical calls take turns, window by window */
	lvalues[0] = Int64GetDatum(b->id);
	pgm_as_owner(&save);
	pgm_exec(LOCK_SQL, 1, ltypes, lvalues, NULL, false, 0, SPI_OK_SELECT);
	pgm_restore_user(&save);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("backfill of %s was reset while it ran", b->relname),
				 errdetail("Its row in migrate.backfills was deleted by migrate.backfill_reset()."),
				 errhint("CALL migrate.backfill() again to start it over.")));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	set_last_key(b, isnull ? NULL : array_texts(d, b->nkeys, "last_key"));
	b->scanned = get_int8(2);
	b->updated = get_int8(3);
	b->batches = get_int8(4);
	if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5, &isnull)))
	{
		SPI_freetuptable(SPI_tuptable);
		r->finished = true;
		r->by_other = true;
		return;
	}
	SPI_freetuptable(SPI_tuptable);

	/* the window: the next batch_size keys, as the caller */
	lower = b->last_key != NULL;
	level = pin_styles();
	if (lower)
		key_params(b, b->last_key, params);
	rc = SPI_execute_with_args(b->window_sql[lower], lower ? b->nkeys : 0,
							   b->argtypes, params, NULL, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "pg_migrate: backfill window query failed: %s",
			 SPI_result_code_string(rc));
	if (SPI_processed == 1)
	{
		upper = palloc(sizeof(char *) * b->nkeys);
		for (int i = 0; i < b->nkeys; i++)
		{
			upper[i] = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 1);
			if (upper[i] == NULL)
				elog(ERROR, "pg_migrate: NULL in key column \"%s\"", b->keys[i].name);
		}
		r->scanned = get_int8(b->nkeys + 1);
		key_params(b, upper, params + (lower ? b->nkeys : 0));
	}
	SPI_freetuptable(SPI_tuptable);
	AtEOXact_GUC(true, level);

	/* the UPDATE of the window, as the caller */
	if (r->scanned > 0)
	{
		rc = SPI_execute_with_args(b->update_sql[lower], (lower ? 2 : 1) * b->nkeys,
								   b->argtypes + (lower ? 0 : b->nkeys), params,
								   NULL, false, 0);
		if (rc != SPI_OK_UPDATE)
			elog(ERROR, "pg_migrate: backfill UPDATE failed: %s",
				 SPI_result_code_string(rc));
		r->updated = (int64) SPI_processed;
	}
	r->finished = r->scanned < b->batch_size;

	/* the progress, in the same transaction */
	svalues[0] = Int64GetDatum(b->id);
	svalues[1] = upper ? text_array(upper, b->nkeys) : (Datum) 0;
	snulls[1] = upper ? ' ' : 'n';
	svalues[2] = Int64GetDatum(r->scanned);
	svalues[3] = Int64GetDatum(r->updated);
	svalues[4] = Int64GetDatum(r->scanned > 0 ? 1 : 0);
	svalues[5] = DirectFunctionCall1(namein, CStringGetDatum(b->who));
	svalues[6] = BoolGetDatum(r->finished);
	pgm_as_owner(&save);
	pgm_exec(STEP_SQL, 7, stypes, svalues, snulls, false, 0, SPI_OK_UPDATE);
	pgm_restore_user(&save);

	if (upper)
		set_last_key(b, upper);
	b->scanned += r->scanned;
	b->updated += r->updated;
	if (r->scanned > 0)
		b->batches++;
}

/*
 * sleep_ms: wait on the latch, answering cancels and termination.
 */
static void
sleep_ms(int64 ms)
{
	TimestampTz end = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), ms);

	for (;;)
	{
		TimestampTz now;
		int64		left;

		CHECK_FOR_INTERRUPTS();
		now = GetCurrentTimestamp();
		if (now >= end)
			break;
		left = (end - now + 999) / 1000;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 (long) Min(left, 60000), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/*
 * retryable: a batch that lost a deadlock or hit lock_timeout is worth
 * another try; anything else (a cancel, the caller's own error) ends the
 * call.
 */
static bool
retryable(int sqlerrcode)
{
	return sqlerrcode == ERRCODE_T_R_DEADLOCK_DETECTED ||
		sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE;
}

/*
 * run_batch: one batch in an internal subtransaction, retried after a
 * deadlock or lock timeout.  The caller commits.
 */
static void
run_batch(Backfill *b, BatchResult *r)
{
	for (int attempt = 0;; attempt++)
	{
		MemoryContext oldcxt = CurrentMemoryContext;
		ResourceOwner oldowner = CurrentResourceOwner;
		ErrorData  *volatile failed = NULL;

		MemoryContextReset(b->batchcxt);
		BeginInternalSubTransaction(NULL);
		MemoryContextSwitchTo(b->batchcxt);
		PG_TRY();
		{
			batch_body(b, r);
			ReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(oldcxt);
			CurrentResourceOwner = oldowner;
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			MemoryContextSwitchTo(oldcxt);
			edata = CopyErrorData();
			FlushErrorState();
			/* the subtransaction must go before any rethrow */
			RollbackAndReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(oldcxt);
			CurrentResourceOwner = oldowner;
			if (!retryable(edata->sqlerrcode) || attempt >= BACKFILL_RETRIES)
				ReThrowError(edata);
			failed = edata;
		}
		PG_END_TRY();

		if (failed == NULL)
			return;
		ereport(NOTICE,
				(errmsg("backfill of %s: batch %lld failed (%s) and is retried (%d of %d)",
						b->relname, (long long) (b->batches + 1), failed->message,
						attempt + 1, BACKFILL_RETRIES)));
		FreeErrorData(failed);
		sleep_ms((int64) BACKFILL_RETRY_MS << attempt);
	}
}

/*
 * report_batch: the NOTICE after a committed batch (silenced by
 * pg_migrate.quiet); times and rates go to the DETAIL only.
 */
static void
report_batch(Backfill *b, const BatchResult *r)
{
	int64		total = Max(b->estimate, b->scanned);
	double		secs = (GetCurrentTimestamp() - b->call_start) / 1000000.0;
	char	   *key;
	MemoryContext old;

	if (pgm_quiet)
		return;
	old = MemoryContextSwitchTo(b->batchcxt);
	key = b->last_key ? key_text(b, b->last_key) : pstrdup("(none)");
	ereport(NOTICE,
			(errmsg("backfill of %s: batch %lld, %lld of about %lld rows scanned (%d%%), %lld updated",
					b->relname, (long long) b->batches, (long long) b->scanned,
					(long long) total,
					total > 0 ? (int) (b->scanned * 100 / total) : 100,
					(long long) b->updated),
			 errdetail("Last key %s; this batch updated %lld rows in %.3f s; this call: %.0f rows/s.",
					   key, (long long) r->updated, r->seconds,
					   secs > 0 ? b->call_updated / secs : 0.0)));
	MemoryContextSwitchTo(old);
}

/*
 * report_activity: what pg_stat_activity shows while the call runs.
 */
static void
report_activity(Backfill *b)
{
	char		activity[256];

	snprintf(activity, sizeof(activity),
			 "pg_migrate: backfill of %s, batch %lld, %lld of about %lld rows scanned",
			 b->relname, (long long) (b->batches + 1), (long long) b->scanned,
			 (long long) Max(b->estimate, b->scanned));
	pgstat_report_activity(STATE_RUNNING, activity);
}

PG_FUNCTION_INFO_V1(pgm_backfill);

/*
 * pgm_backfill: CALL migrate.backfill(relation, set_clause, where_clause,
 * batch_size, pause).
 */
Datum
pgm_backfill(PG_FUNCTION_ARGS)
{
	Backfill   *b;
	BackfillErrorContext ectx;
	ErrorContextCallback callback;
	const char *gt;
	const char *le;
	bool		only;
	int64		pause_ms;
	double		secs;

	pgm_refuse_on_standby("migrate.backfill()");
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("relation must not be NULL"),
				 errhint("Name the table to backfill, for example 'public.accounts'.")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("set_clause must not be NULL"),
				 errhint("Pass what follows SET in an UPDATE, for example 'email_lower = lower(email)'.")));
	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("batch_size must not be NULL"),
				 errhint("Leave it out for the default of 10000 rows.")));
	if (PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("pause must not be NULL"),
				 errhint("Leave it out for no pause between batches.")));
	if (PG_GETARG_INT32(3) <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("batch_size must be greater than zero"),
				 errdetail("It was %d.", PG_GETARG_INT32(3))));
	pause_ms = interval_ms(PG_GETARG_INTERVAL_P(4));
	if (pause_ms < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pause must not be negative"),
				 errhint("Pass a pause such as '100 ms', or '0' for none.")));
	require_procedure_context(fcinfo);

	if (SPI_connect_ext(SPI_OPT_NONATOMIC) != SPI_OK_CONNECT)
		elog(ERROR, "pg_migrate: SPI_connect_ext failed");
	/* now in the SPI procedure context, which outlives the commits */
	b = palloc0(sizeof(Backfill));
	b->relid = PG_GETARG_OID(0);
	b->set_clause = text_to_cstring(PG_GETARG_TEXT_PP(1));
	b->where_clause = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	b->batch_size = PG_GETARG_INT32(3);
	b->pause_ms = pause_ms;
	b->who = GetUserNameFromId(GetUserId(), false);
	b->keycxt = AllocSetContextCreate(CurrentMemoryContext, "pg_migrate backfill key",
									  ALLOCSET_SMALL_SIZES);
	b->batchcxt = AllocSetContextCreate(CurrentMemoryContext, "pg_migrate backfill batch",
										ALLOCSET_DEFAULT_SIZES);
	b->call_start = GetCurrentTimestamp();

	/* everything is checked before anything is written */
	EnsurePortalSnapshotExists();
	open_target(b, &gt, &le, &only);
	check_fragment(b, true);
	if (b->where_clause)
		check_fragment(b, false);
	build_sql(b, gt, le, only);

	ectx.b = b;
	ectx.batchno = 0;
	callback.callback = backfill_error_context;
	callback.arg = &ectx;
	callback.previous = error_context_stack;
	error_context_stack = &callback;

	if (start_or_resume(b, only))
	{
		for (;;)
		{
			BatchResult r;
			TimestampTz start = GetCurrentTimestamp();

			ectx.batchno = b->batches + 1;
			report_activity(b);
			/* statement_timeout bounds each batch, not the whole call */
			if (StatementTimeout > 0)
				enable_timeout_after(STATEMENT_TIMEOUT, StatementTimeout);
			EnsurePortalSnapshotExists();
			run_batch(b, &r);
			if (r.by_other)
				break;
			b->call_updated += r.updated;
			if (r.scanned > 0)
				b->call_batches++;
			SPI_commit();
			r.seconds = (GetCurrentTimestamp() - start) / 1000000.0;
			if (r.scanned > 0)
				report_batch(b, &r);
			if (r.finished)
				break;
			if (b->pause_ms > 0 && r.updated > 0)
			{
				if (get_timeout_active(STATEMENT_TIMEOUT))
					disable_timeout(STATEMENT_TIMEOUT, false);
				sleep_ms(b->pause_ms);
			}
		}
		secs = (GetCurrentTimestamp() - b->call_start) / 1000000.0;
		ereport(NOTICE,
				(errmsg("backfill of %s finished: %lld rows scanned, %lld updated, in %lld batches",
						b->relname, (long long) b->scanned, (long long) b->updated,
						(long long) b->batches),
				 errdetail("This call updated %lld rows in %lld batches in %.3f s (%.0f rows/s).",
						   (long long) b->call_updated, (long long) b->call_batches,
						   secs, secs > 0 ? b->call_updated / secs : 0.0)));
	}
	error_context_stack = callback.previous;
	pgstat_report_activity(STATE_RUNNING, debug_query_string);
	SPI_finish();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(pgm_backfill_reset);

/*
 * pgm_backfill_reset: migrate.backfill_reset(relation, set_clause,
 * where_clause): forget the progress of that backfill, so that the next
 * identical CALL starts from the first key.  True when there was any.
 */
Datum
pgm_backfill_reset(PG_FUNCTION_ARGS)
{
	Oid			types[3] = {OIDOID, TEXTOID, TEXTOID};
	Datum		values[3];
	char		nulls[3] = "   ";
	PgmOwnerSave save;
	Oid			relid;
	char	   *relname;
	char	   *nsp;
	bool		found;

	pgm_refuse_on_standby("migrate.backfill_reset()");

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("relation must not be NULL")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("set_clause must not be NULL")));
	relid = PG_GETARG_OID(0);
	nsp = get_namespace_name(get_rel_namespace(relid));
	if (nsp == NULL || get_rel_name(relid) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	relname = quote_qualified_identifier(nsp, get_rel_name(relid));
	require_update_right(relid, relname);

	values[0] = ObjectIdGetDatum(relid);
	values[1] = PointerGetDatum(PG_GETARG_TEXT_PP(1));
	values[2] = PG_ARGISNULL(2) ? (Datum) 0 : PointerGetDatum(PG_GETARG_TEXT_PP(2));
	nulls[2] = PG_ARGISNULL(2) ? 'n' : ' ';

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_migrate: SPI_connect failed");
	pgm_as_owner(&save);
	pgm_exec(RESET_SQL, 3, types, values, nulls, false, 0, SPI_OK_DELETE);
	pgm_restore_user(&save);
	found = SPI_processed > 0;
	SPI_finish();
	PG_RETURN_BOOL(found);
}
