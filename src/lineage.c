/*-------------------------------------------------------------------------
 *
 * lineage.c
 *	  Lineage of every object: event triggers that record what each
 *	  revision creates, alters, renames and drops -- columns included --
 *	  and DDL on managed schemas made outside any revision (drift).
 *
 * ddl_command_end and sql_drop triggers, created by the extension, fire for
 * every role's DDL, so they return at once unless a revision is running in
 * this backend or pg_migrate.drift is on.  The commands come from
 * pg_event_trigger_ddl_commands(); ALTER TABLE is taken apart per
 * subcommand through the collected command (only possible in C), so that
 * ADD COLUMN, ALTER COLUMN ... TYPE, SET NOT NULL and the like are recorded
 * against the column.  A revision's rows carry its id and direction; rows
 * written outside a revision are drift.  Schemas a revision touched become
 * managed (migrate.managed_schemas), as do those in pg_migrate.managed_schemas.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "commands/extension.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "fmgr.h"
#include "nodes/parsenodes.h"
#include "tcop/deparse_utility.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/varlena.h"

#include "catalog.h"
#include "lineage.h"

const char *pgm_lineage_revision = NULL;
const char *pgm_lineage_direction = NULL;
int			pgm_drift = PGM_DRIFT_RECORD;
char	   *pgm_managed_schemas = NULL;

/* Columns of pg_event_trigger_ddl_commands() */
#define DDL_CLASSID				1
#define DDL_OBJID				2
#define DDL_COMMAND_TAG			4
#define DDL_OBJECT_TYPE			5
#define DDL_SCHEMA_NAME			6
#define DDL_OBJECT_IDENTITY		7
#define DDL_IN_EXTENSION		8
#define DDL_COMMAND				9
#define DDL_NATTS				9

/* Columns of pg_event_trigger_dropped_objects() */
#define DROP_ORIGINAL			4
#define DROP_NORMAL				5
#define DROP_IS_TEMPORARY		6
#define DROP_OBJECT_TYPE		7
#define DROP_SCHEMA_NAME		8
#define DROP_OBJECT_IDENTITY	10
#define DROP_NATTS				10

static const char *const MANAGED_SQL =
"SELECT pg_catalog.count(*) FROM migrate.managed_schemas "
"WHERE schema_name OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.text[])";

static const char *const RECORD_SQL =
"INSERT INTO migrate.object_changes (revision, direction, command_tag, "
"    action, object_type, schema_name, object_identity, old_identity, "
"    session_user_name, current_user_name, transaction_id) "
"SELECT u.rev, u.dir, u.tag, u.act, u.typ, u.sch, u.ident, u.old, $1, $2, "
"    pg_catalog.pg_current_xact_id() "
"FROM ROWS FROM (pg_catalog.unnest($3::pg_catalog.text[]), pg_catalog.unnest($4::pg_catalog.text[]), "
"                pg_catalog.unnest($5::pg_catalog.text[]), pg_catalog.unnest($6::pg_catalog.text[]), "
"                pg_catalog.unnest($7::pg_catalog.text[]), pg_catalog.unnest($8::pg_catalog.text[]), "
"                pg_catalog.unnest($9::pg_catalog.text[]), pg_catalog.unnest($10::pg_catalog.text[])) "
"     WITH ORDINALITY AS u(rev, dir, tag, act, typ, sch, ident, old, o) "
"ORDER BY u.o";

static const char *const RECORD_MANAGED_SQL =
"INSERT INTO migrate.managed_schemas (schema_name) "
"SELECT pg_catalog.unnest($1::pg_catalog.text[]) ON CONFLICT DO NOTHING";

/*
 * Changes of revisions run by migrate.upgrade() and migrate.downgrade(),
 * kept in memory and written with the run's bookkeeping, in one statement.
 * They live in the transaction's memory: an error ends the run and drops
 * them with everything else.
 */
static bool batching = false;
static struct Changes *pending = NULL;

/*
 * The revision of a process that runs one revision across many
 * transactions (deploy's background worker: CREATE INDEX CONCURRENTLY
 * commits in the middle of its statement); it outlives every commit.
 */
static char *pinned_revision = NULL;
static const char *pinned_direction = NULL;

/* The changes one trigger call found, written with one statement. */
typedef struct Changes
{
	int			n;
	int			cap;
	char	  **rev;
	char	  **dir;
	char	  **tag;
	char	  **act;
	char	  **typ;
	char	  **sch;
	char	  **ident;
	char	  **old;
} Changes;

/*
 * grow: a pointer array enlarged from oldn to newn entries, new ones NULL.
 */
static char **
grow(char **p, int oldn, int newn)
{
	char	  **q = p ? repalloc(p, sizeof(char *) * newn) : palloc(sizeof(char *) * newn);

	memset(q + oldn, 0, sizeof(char *) * (newn - oldn));
	return q;
}

/*
 * append: add one change to c, copying the strings.
 */
static void
append(Changes *c, const char *rev, const char *dir, const char *tag,
	   const char *act, const char *typ, const char *sch, const char *ident,
	   const char *old)
{
	if (c->n == c->cap)
	{
		int			cap = c->cap ? c->cap * 2 : 16;

		c->rev = grow(c->rev, c->cap, cap);
		c->dir = grow(c->dir, c->cap, cap);
		c->tag = grow(c->tag, c->cap, cap);
		c->act = grow(c->act, c->cap, cap);
		c->typ = grow(c->typ, c->cap, cap);
		c->sch = grow(c->sch, c->cap, cap);
		c->ident = grow(c->ident, c->cap, cap);
		c->old = grow(c->old, c->cap, cap);
		c->cap = cap;
	}
	c->rev[c->n] = rev ? pstrdup(rev) : NULL;
	c->dir[c->n] = dir ? pstrdup(dir) : NULL;
	c->tag[c->n] = pstrdup(tag);
	c->act[c->n] = pstrdup(act);
	c->typ[c->n] = pstrdup(typ);
	c->sch[c->n] = sch ? pstrdup(sch) : NULL;
	c->ident[c->n] = pstrdup(ident);
	c->old[c->n] = old ? pstrdup(old) : NULL;
	c->n++;
}

/*
 * add_change: remember one change of the revision running now (or drift).
 */
static void
add_change(Changes *c, const char *tag, const char *act, const char *typ,
		   const char *sch, const char *ident, const char *old)
{
	if (ident == NULL)
		return;
	append(c, pgm_lineage_revision, pgm_lineage_direction, tag, act, typ,
		   sch, ident, old);
}

/*
 * text_array: a text[] Datum of n strings, NULLs allowed.
 */
static Datum
text_array(char **v, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * (n ? n : 1));
	bool	   *nulls = palloc(sizeof(bool) * (n ? n : 1));
	int			dims[1] = {n};
	int			lbs[1] = {1};

	for (int i = 0; i < n; i++)
	{
		nulls[i] = v[i] == NULL;
		d[i] = v[i] ? CStringGetTextDatum(v[i]) : (Datum) 0;
	}
	return PointerGetDatum(construct_md_array(d, nulls, 1, dims, lbs, TEXTOID,
											  -1, false, TYPALIGN_INT));
}

/*
 * managed: do any of the changes touch a managed schema (recorded by an
 * earlier revision, or listed in pg_migrate.managed_schemas)?
 */
static bool
managed(const Changes *c)
{
	Oid			types[1] = {TEXTARRAYOID};
	Datum		values[1];
	bool		isnull;
	int64		count;

	if (pgm_managed_schemas && *pgm_managed_schemas)
	{
		char	   *raw = pstrdup(pgm_managed_schemas);
		List	   *names;
		ListCell   *lc;

		if (SplitIdentifierString(raw, ',', &names))
			foreach(lc, names)
				for (int i = 0; i < c->n; i++)
					if (c->sch[i] && strcmp(c->sch[i], (char *) lfirst(lc)) == 0)
						return true;
	}
	values[0] = text_array(c->sch, c->n);
	pgm_exec(MANAGED_SQL, 1, types, values, NULL, true, 1, SPI_OK_SELECT);
	count = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_freetuptable(SPI_tuptable);
	return count > 0;
}

/*
 * revision_schemas: the distinct schemas of the changes that revisions made
 * (they become managed), in the order first seen; *n gets their number.
 */
static char **
revision_schemas(const Changes *c, int *n)
{
	char	  **out = palloc(sizeof(char *) * (c->n ? c->n : 1));
	HTAB	   *seen = NULL;

	*n = 0;
	for (int i = 0; i < c->n; i++)
	{
		bool		found;

		if (c->rev[i] == NULL || c->sch[i] == NULL)
			continue;
		if (*n > 0 && strcmp(out[*n - 1], c->sch[i]) == 0)
			continue;			/* the common case: the same as the last one */
		if (seen == NULL)
		{
			HASHCTL		ctl;

			ctl.keysize = NAMEDATALEN;
			ctl.entrysize = NAMEDATALEN;
			ctl.hcxt = CurrentMemoryContext;
			seen = hash_create("pg_migrate lineage schemas", 16, &ctl,
							   HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
		}
		if (strlen(c->sch[i]) >= NAMEDATALEN)
			continue;			/* not a schema name PostgreSQL can have */
		(void) hash_search(seen, c->sch[i], HASH_ENTER, &found);
		if (!found)
			out[(*n)++] = c->sch[i];
	}
	if (seen != NULL)
		hash_destroy(seen);
	return out;
}

/*
 * flush: write the changes (as the extension owner), or refuse them as drift
 * when pg_migrate.drift = error.  drift: the changes were made outside any
 * revision.
 */
static void
flush(Changes *c, bool drift)
{
	Oid			types[10] = {TEXTOID, TEXTOID, TEXTARRAYOID, TEXTARRAYOID,
		TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
	TEXTARRAYOID};
	Datum		values[10];
	PgmWho		who;
	PgmOwnerSave save;
	int			nschemas;

	if (c == NULL || c->n == 0)
		return;
	if (drift)
	{
		if (!managed(c))
			return;
		if (pgm_drift == PGM_DRIFT_ERROR)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("%s on %s is outside any revision", c->tag[0], c->ident[0]),
					 errdetail("Schema \"%s\" is managed by pg_migrate and pg_migrate.drift is \"error\".",
							   c->sch[0] ? c->sch[0] : ""),
					 errhint("Write the change as a revision: register it with migrate.revision() and run migrate.upgrade().")));
	}
	pgm_who(&who);
	values[0] = CStringGetTextDatum(who.session_user);
	values[1] = CStringGetTextDatum(who.current_user);
	values[2] = text_array(c->rev, c->n);
	values[3] = text_array(c->dir, c->n);
	values[4] = text_array(c->tag, c->n);
	values[5] = text_array(c->act, c->n);
	values[6] = text_array(c->typ, c->n);
	values[7] = text_array(c->sch, c->n);
	values[8] = text_array(c->ident, c->n);
	values[9] = text_array(c->old, c->n);
	pgm_as_owner(&save);
	pgm_exec(RECORD_SQL, 10, types, values, NULL, false, 0, SPI_OK_INSERT);
	if (!drift)
	{
		char	  **schemas = revision_schemas(c, &nschemas);

		if (nschemas > 0)
		{
			values[0] = text_array(schemas, nschemas);
			pgm_exec(RECORD_MANAGED_SQL, 1, types + 2, values, NULL, false, 0,
					 SPI_OK_INSERT);
		}
	}
	pgm_restore_user(&save);
}

/*
 * pgm_lineage_begin_run: from now on, keep the changes of revisions in
 * memory until pgm_lineage_end_run().
 */
void
pgm_lineage_begin_run(void)
{
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);

	pending = palloc0(sizeof(Changes));
	MemoryContextSwitchTo(old);
	batching = true;
}

/*
 * pgm_lineage_end_run: write the changes kept since pgm_lineage_begin_run().
 * SPI must be connected.
 */
void
pgm_lineage_end_run(void)
{
	batching = false;
	flush(pending, false);
	pending = NULL;
}

/*
 * pgm_lineage_reset: forget everything at the end of a transaction (but a
 * pinned revision).
 */
void
pgm_lineage_reset(void)
{
	batching = false;
	pending = NULL;
	pgm_lineage_revision = pinned_revision;
	pgm_lineage_direction = pinned_direction;
}

/*
 * pgm_lineage_pin: record every change this process makes from now on
 * against the revision, in every transaction (NULL: stop).
 */
void
pgm_lineage_pin(const char *revision, const char *direction)
{
	if (pinned_revision != NULL)
		pfree(pinned_revision);
	pinned_revision = revision ? MemoryContextStrdup(TopMemoryContext, revision) : NULL;
	pinned_direction = revision ? direction : NULL;
	pgm_lineage_revision = pinned_revision;
	pgm_lineage_direction = pinned_direction;
}

/*
 * pgm_lineage_mark: how many changes the run keeps so far (-1 when no run
 * keeps any), for pgm_lineage_rewind().
 */
int
pgm_lineage_mark(void)
{
	return (batching && pending != NULL) ? pending->n : -1;
}

/*
 * pgm_lineage_rewind: forget the changes kept after pgm_lineage_mark()
 * returned mark: a statement retried in a subtransaction rolled back what
 * it did, so its changes must not be recorded (the retry records them).
 */
void
pgm_lineage_rewind(int mark)
{
	if (mark >= 0 && batching && pending != NULL && pending->n > mark)
		pending->n = mark;
}

/*
 * keep_or_flush: the changes of one trigger call: kept for the run's end
 * while a run batches them, written now otherwise.
 */
static void
keep_or_flush(Changes *c)
{
	if (batching && pgm_lineage_direction != NULL && pending != NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);

		for (int i = 0; i < c->n; i++)
			append(pending, c->rev[i], c->dir[i], c->tag[i], c->act[i],
				   c->typ[i], c->sch[i], c->ident[i], c->old[i]);
		MemoryContextSwitchTo(old);
		return;
	}
	if (c->n == 0)
		return;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_migrate: SPI_connect failed");
	flush(c, pgm_lineage_direction == NULL);
	SPI_finish();
}

/*
 * column_identity: "schema.table.column" of a column named by attnum.
 */
static char *
column_identity(Oid relid, AttrNumber attnum)
{
	ObjectAddress addr;

	ObjectAddressSubSet(addr, RelationRelationId, relid, attnum);
	return getObjectIdentity(&addr, true);
}

/*
 * old_identity: the identity of a renamed object before the rename: the new
 * identity with its last component replaced by the old name.
 */
static char *
old_identity(const char *identity, const char *oldname)
{
	const char *dot = strrchr(identity, '.');

	if (dot == NULL || oldname == NULL)
		return NULL;
	return psprintf("%.*s.%s", (int) (dot - identity), identity,
					quote_identifier(oldname));
}

/*
 * alter_subcommands: ALTER TABLE taken apart: one change per column or
 * constraint a subcommand touches.
 */
static void
alter_subcommands(Changes *c, const char *tag, const char *sch,
				  CollectedCommand *cmd)
{
	ListCell   *lc;
	Oid			relid = cmd->d.alterTable.objectId;

	foreach(lc, cmd->d.alterTable.subcmds)
	{
		CollectedATSubcmd *sub = (CollectedATSubcmd *) lfirst(lc);
		AlterTableCmd *at = (AlterTableCmd *) sub->parsetree;
		char	   *ident = NULL;
		const char *act = "alter";

		if (at == NULL || !IsA(at, AlterTableCmd))
			continue;
		switch (at->subtype)
		{
			case AT_AddColumn:
#if PG_VERSION_NUM < 160000
			case AT_AddColumnRecurse:
#endif
			case AT_AddColumnToView:
				if (OidIsValid(sub->address.objectId))
					ident = getObjectIdentity(&sub->address, true);
				act = "create";
				break;
			case AT_AlterColumnType:
			case AT_SetNotNull:
			case AT_DropNotNull:
			case AT_ColumnDefault:
			case AT_CookedColumnDefault:
			case AT_SetStatistics:
			case AT_SetStorage:
			case AT_SetCompression:
			case AT_AddIdentity:
			case AT_DropIdentity:
			case AT_SetIdentity:
			case AT_DropExpression:
				if (at->name)
				{
					AttrNumber	attnum = get_attnum(relid, at->name);

					if (attnum != InvalidAttrNumber)
						ident = column_identity(relid, attnum);
				}
				break;
			case AT_AddConstraint:
#if PG_VERSION_NUM < 160000
			case AT_AddConstraintRecurse:
#endif
			case AT_AddIndex:
			case AT_AddIndexConstraint:
				if (OidIsValid(sub->address.objectId))
					ident = getObjectIdentity(&sub->address, true);
				act = "create";
				break;
			default:
				break;
		}
		if (ident != NULL)
		{
			bool		is_column = (at->subtype != AT_AddConstraint &&
#if PG_VERSION_NUM < 160000
									 at->subtype != AT_AddConstraintRecurse &&
#endif
									 at->subtype != AT_AddIndex &&
									 at->subtype != AT_AddIndexConstraint);
			char	   *typ = is_column ? "table column" :
			getObjectTypeDescription(&sub->address, true);

			add_change(c, tag, act, typ ? typ : "constraint", sch, ident, NULL);
		}
	}
}

/*
 * event_srf: the result of an event trigger's set-returning function (fn,
 * with no arguments, at least natts columns), called directly: no query to
 * plan and run for each DDL statement.  *flinfo caches its lookup.  *desc
 * is its row type; the caller frees *econtext after the tuplestore.
 */
static Tuplestorestate *
event_srf(Oid fn, FmgrInfo *flinfo, int natts, TupleDesc *desc,
		  ExprContext **econtext)
{
	LOCAL_FCINFO(fcinfo, 0);
	ReturnSetInfo rsinfo = {0};

	if (flinfo->fn_oid != fn)
		fmgr_info_cxt(fn, flinfo, TopMemoryContext);
	rsinfo.type = T_ReturnSetInfo;
	rsinfo.econtext = *econtext = CreateStandaloneExprContext();
	rsinfo.allowedModes = SFRM_Materialize;
	rsinfo.returnMode = SFRM_ValuePerCall;
	InitFunctionCallInfoData(*fcinfo, flinfo, 0, InvalidOid, NULL, (Node *) &rsinfo);
	(void) FunctionCallInvoke(fcinfo);
	if (rsinfo.returnMode != SFRM_Materialize || rsinfo.setResult == NULL ||
		rsinfo.setDesc == NULL || rsinfo.setDesc->natts < natts)
		elog(ERROR, "pg_migrate: unexpected result from function %u", fn);
	*desc = rsinfo.setDesc;
	return rsinfo.setResult;
}

/*
 * ddl_commands: pg_event_trigger_ddl_commands() for the statement that
 * fired the trigger.
 */
static Tuplestorestate *
ddl_commands(TupleDesc *desc, ExprContext **econtext)
{
	static FmgrInfo flinfo;

	return event_srf(F_PG_EVENT_TRIGGER_DDL_COMMANDS, &flinfo, DDL_NATTS,
					 desc, econtext);
}

/*
 * dropped_objects: pg_event_trigger_dropped_objects() for the statement
 * that fired the trigger.
 */
static Tuplestorestate *
dropped_objects(TupleDesc *desc, ExprContext **econtext)
{
	static FmgrInfo flinfo;

	return event_srf(F_PG_EVENT_TRIGGER_DROPPED_OBJECTS, &flinfo, DROP_NATTS,
					 desc, econtext);
}

/*
 * slot_text: a text column of slot as a C string, NULL for NULL.
 */
static char *
slot_text(TupleTableSlot *slot, int attnum)
{
	bool		isnull;
	Datum		d = slot_getattr(slot, attnum, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

/*
 * pgm_lineage_active: must the triggers look at this statement at all?
 */
static bool
lineage_active(void)
{
	if (creating_extension)
		return false;
	if (pgm_lineage_direction != NULL)
		return true;
	if (pgm_drift == PGM_DRIFT_OFF)
		return false;

	/*
	 * A restore of pg_dump output (pg_restore or psql) recreates indexes and
	 * constraints after the data, with check_function_bodies off: that is
	 * the catalog coming back, not drift.
	 */
	return check_function_bodies;
}

PG_FUNCTION_INFO_V1(pgm_ddl_command_end);

/*
 * migrate.on_ddl_command_end(): event trigger for ddl_command_end.
 */
Datum
pgm_ddl_command_end(PG_FUNCTION_ARGS)
{
	Changes		c = {0};
	MemoryContext outer = CurrentMemoryContext;
	Tuplestorestate *ts;
	TupleDesc	desc;
	TupleTableSlot *slot;
	ExprContext *econtext;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("migrate.on_ddl_command_end() must be called as an event trigger")));
	if (!lineage_active())
		PG_RETURN_VOID();

	/*
	 * PostgreSQL collects no command for a DROP (sql_drop sees what it
	 * dropped): nothing to ask pg_event_trigger_ddl_commands() for.
	 */
	if (strncmp(GetCommandTagName(((EventTriggerData *) fcinfo->context)->tag),
				"DROP ", 5) == 0)
		PG_RETURN_VOID();

	ts = ddl_commands(&desc, &econtext);
	slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	while (tuplestore_gettupleslot(ts, true, false, slot))
	{
		char	   *tag = slot_text(slot, DDL_COMMAND_TAG);
		char	   *typ = slot_text(slot, DDL_OBJECT_TYPE);
		char	   *sch = slot_text(slot, DDL_SCHEMA_NAME);
		char	   *ident = slot_text(slot, DDL_OBJECT_IDENTITY);
		bool		isnull;
		bool		in_ext = DatumGetBool(slot_getattr(slot, DDL_IN_EXTENSION, &isnull));
		Datum		cmdd = slot_getattr(slot, DDL_COMMAND, &isnull);
		CollectedCommand *cmd = isnull ? NULL : (CollectedCommand *) DatumGetPointer(cmdd);
		Oid			classid = DatumGetObjectId(slot_getattr(slot, DDL_CLASSID, &isnull));
		Oid			objid = DatumGetObjectId(slot_getattr(slot, DDL_OBJID, &isnull));
		const char *act;

		if (in_ext || ident == NULL || typ == NULL || tag == NULL)
			continue;
		if (strncmp(tag, "CREATE", 6) == 0)
			act = "create";
		else
			act = "alter";

		if (cmd != NULL && cmd->type == SCT_Simple && cmd->parsetree &&
			IsA(cmd->parsetree, RenameStmt))
		{
			RenameStmt *rs = (RenameStmt *) cmd->parsetree;
			const char *oldname = rs->renameType == OBJECT_COLUMN ? rs->subname :
			rs->relation ? rs->relation->relname : NULL;

			add_change(&c, tag, "rename", typ, sch, ident,
					   old_identity(ident, oldname));
			continue;
		}
		add_change(&c, tag, act, typ, sch, ident, NULL);

		/* a new table: each column is an object of its own */
		if (strcmp(act, "create") == 0 && classid == RelationRelationId &&
			(strcmp(typ, "table") == 0 || strcmp(typ, "view") == 0 ||
			 strcmp(typ, "materialized view") == 0))
		{
			Relation	rel = RelationIdGetRelation(objid);

			if (RelationIsValid(rel))
			{
				TupleDesc	rd = RelationGetDescr(rel);

				for (int k = 0; k < rd->natts; k++)
				{
					Form_pg_attribute att = TupleDescAttr(rd, k);

					if (att->attisdropped)
						continue;
					add_change(&c, tag, "create", "table column", sch,
							   psprintf("%s.%s", ident, quote_identifier(NameStr(att->attname))),
							   NULL);
				}
				RelationClose(rel);
			}
		}
		if (cmd != NULL && cmd->type == SCT_AlterTable)
			alter_subcommands(&c, tag, sch, cmd);
	}
	ExecDropSingleTupleTableSlot(slot);
	tuplestore_end(ts);
	FreeExprContext(econtext, true);
	keep_or_flush(&c);
	MemoryContextSwitchTo(outer);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(pgm_sql_drop);

/*
 * migrate.on_sql_drop(): event trigger for sql_drop.
 */
Datum
pgm_sql_drop(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata = (EventTriggerData *) fcinfo->context;
	Changes		c = {0};
	const char *tag;
	Tuplestorestate *ts;
	TupleDesc	desc;
	TupleTableSlot *slot;
	ExprContext *econtext;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("migrate.on_sql_drop() must be called as an event trigger")));
	if (!lineage_active())
		PG_RETURN_VOID();
	tag = GetCommandTagName(trigdata->tag);

	/* the objects the statement dropped itself or by CASCADE, not temporary */
	ts = dropped_objects(&desc, &econtext);
	slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	while (tuplestore_gettupleslot(ts, true, false, slot))
	{
		bool		isnull;
		bool		original = DatumGetBool(slot_getattr(slot, DROP_ORIGINAL, &isnull));
		bool		normal = DatumGetBool(slot_getattr(slot, DROP_NORMAL, &isnull));
		bool		temporary = DatumGetBool(slot_getattr(slot, DROP_IS_TEMPORARY, &isnull));
		char	   *typ;
		char	   *sch;

		if (!(original || normal) || temporary)
			continue;
		sch = slot_text(slot, DROP_SCHEMA_NAME);
		if (sch != NULL && strcmp(sch, "migrate") == 0)
			continue;
		typ = slot_text(slot, DROP_OBJECT_TYPE);
		add_change(&c, tag, "drop", typ ? typ : "", sch,
				   slot_text(slot, DROP_OBJECT_IDENTITY), NULL);
	}
	ExecDropSingleTupleTableSlot(slot);
	tuplestore_end(ts);
	FreeExprContext(econtext, true);
	keep_or_flush(&c);
	PG_RETURN_VOID();
}
