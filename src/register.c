/*-------------------------------------------------------------------------
 *
 * register.c
 *	  Registering revisions: migrate.revision() and migrate.merge().
 *
 * Revision files call migrate.revision() on every deploy, so registering
 * identical content again must change nothing, also when many application
 * instances do it at the same moment.  The fast path compares checksums
 * without taking any lock; otherwise the writer takes the catalog lock
 * (pgm_begin_write), looks again with a fresh snapshot -- a racing twin
 * may have committed meanwhile -- and only then inserts or replaces.
 *
 * Checks that need only the new revision (id syntax, self-parent,
 * duplicates, label collisions, a cycle it would close) are made here;
 * problems that need the whole graph (a parent registered later) are
 * reported when the graph is used.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "catalog.h"
#include "checksum.h"
#include "graph.h"
#include "lint.h"
#include "sizelimit.h"
#include "sqlsplit.h"

static const char *const LOOKUP_SQL =
"SELECT r.id, r.down_revision, r.checksum, "
"       EXISTS (SELECT 1 FROM migrate.applied a "
"               WHERE a.revision OPERATOR(pg_catalog.=) r.id) "
"FROM migrate.revisions r WHERE r.id OPERATOR(pg_catalog.=) $1";

static const char *const INSERT_SQL =
"INSERT INTO migrate.revisions (id, down_revision, depends_on, branch_labels, "
"  message, upgrade, downgrade, verify, transactional, checksum, seq, "
"  registered_at, registered_by) "
"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
"  pg_catalog.nextval('migrate.revisions_seq'::pg_catalog.regclass), "
"  pg_catalog.clock_timestamp(), $11) "
"RETURNING seq";

static const char *const REPLACE_SQL =
"UPDATE migrate.revisions SET down_revision = $2, depends_on = $3, "
"  branch_labels = $4, message = $5, upgrade = $6, downgrade = $7, "
"  verify = $8, transactional = $9, checksum = $10, "
"  registered_at = pg_catalog.clock_timestamp(), registered_by = $11 "
"WHERE id OPERATOR(pg_catalog.=) $1";

/* What the catalog holds for an id. */
typedef struct Existing
{
	bool		found;
	bool		applied;
	char	   *checksum;
	char	  **parents;
	int			nparents;
} Existing;

/*
 * lookup: the registered row for an id, with the latest committed data.
 */
static void
lookup(const char *id, Existing *ex)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(id)};
	bool		isnull;

	memset(ex, 0, sizeof(Existing));
	pgm_exec(LOOKUP_SQL, 1, types, values, NULL, false, 1, SPI_OK_SELECT);
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;

		ex->found = true;
		ex->parents = pgm_array_to_cstrings(
											DatumGetArrayTypeP(SPI_getbinval(tup, desc, 2, &isnull)),
											&ex->nparents, "down_revision");
		ex->checksum = TextDatumGetCString(SPI_getbinval(tup, desc, 3, &isnull));
		ex->applied = DatumGetBool(SPI_getbinval(tup, desc, 4, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);
}

/*
 * check_name: raise when a name is not a valid id or label.
 */
static void
check_name(const char *name, const char *what)
{
	MgError		err;

	if (!mg_valid_id(name, &err, what))
		pgm_report(&err);
}

/*
 * check_names: validate an array of names and refuse duplicates.
 */
static void
check_names(char **names, int n, const char *what, const char *argname)
{
	for (int i = 0; i < n; i++)
	{
		check_name(names[i], what);
		for (int j = 0; j < i; j++)
			if (strcmp(names[i], names[j]) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s lists \"%s\" twice", argname, names[i]),
						 errhint("Give each %s once.", what)));
	}
}

/*
 * single_head: the parent of a revision registered without down_revision:
 * the one head of the registered graph, or none for an empty graph.
 */
static void
single_head(PgmContent *c)
{
	MgGraph    *g = pgm_graph_ready(true);

	if (g->heads.n == 0)
	{
		c->nparents = 0;
		return;
	}
	if (g->heads.n > 1)
	{
		StringInfoData names;

		initStringInfo(&names);
		for (int i = 0; i < g->heads.n && i < 10; i++)
			appendStringInfo(&names, "%s%s", i ? ", " : "", g->revs[g->heads.v[i]].id);
		ereport(ERROR,
				(errcode(ERRCODE_CARDINALITY_VIOLATION),
				 errmsg("cannot choose a parent for revision \"%s\": the graph has %d heads",
						c->id ? c->id : "(generated)", g->heads.n),
				 errdetail("The heads are: %s.", names.data),
				 errhint("Pass down_revision => ARRAY['...'] naming the parent, or register a merge first with migrate.merge().")));
	}
	c->parents = palloc(sizeof(char *));
	c->parents[0] = pstrdup(g->revs[g->heads.v[0]].id);
	c->nparents = 1;
}

/*
 * check_new_names: the new revision's id and labels must not collide with
 * the labels and ids already registered (other than its own old row).
 */
static void
check_new_names(MgGraph *g, const PgmContent *c)
{
	int			self = mg_graph_find(g, c->id);
	int			j = mg_graph_find_label(g, c->id);

	if (j >= 0 && j != self)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("revision id \"%s\" is already a branch label of revision \"%s\"",
						c->id, g->revs[j].id),
				 errdetail("Targets name revisions and branches alike, so an id may not equal a label."),
				 errhint("Choose another id.")));
	for (int i = 0; i < c->nlabels; i++)
	{
		j = mg_graph_find(g, c->labels[i]);
		if (j >= 0 || strcmp(c->labels[i], c->id) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("branch label \"%s\" is the id of revision \"%s\"",
							c->labels[i], j >= 0 ? g->revs[j].id : c->id),
					 errdetail("Targets name revisions and branches alike, so a label may not equal an id."),
					 errhint("Choose another branch label.")));
		j = mg_graph_find_label(g, c->labels[i]);
		if (j >= 0 && j != self)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("branch label \"%s\" is already declared by revision \"%s\"",
							c->labels[i], g->revs[j].id),
					 errhint("Choose another branch label; one revision declares each label.")));
	}
}

/*
 * write_row: insert or replace the revision row as the extension owner,
 * log the event, and return the registration order of an insert.
 */
static int64
write_row(const PgmContent *c, const char *checksum, bool replace,
		  const PgmWho *who, const char *kind)
{
	Oid			types[11] = {TEXTOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
	TEXTOID, TEXTOID, TEXTOID, TEXTOID, BOOLOID, TEXTOID, NAMEOID};
	Datum		values[11];
	char		nulls[11];
	PgmOwnerSave save;
	int64		seq = 0;
	bool		isnull;

	pgm_lint_registered(c->id, c->upgrade);
	memset(nulls, ' ', sizeof(nulls));
	values[0] = CStringGetTextDatum(c->id);
	values[1] = pgm_cstring_array(c->parents, c->nparents);
	values[2] = pgm_cstring_array(c->deps, c->ndeps);
	values[3] = pgm_cstring_array(c->labels, c->nlabels);
	values[4] = c->message ? CStringGetTextDatum(c->message) : (Datum) 0;
	nulls[4] = c->message ? ' ' : 'n';
	values[5] = CStringGetTextDatum(c->upgrade);
	values[6] = c->downgrade ? CStringGetTextDatum(c->downgrade) : (Datum) 0;
	nulls[6] = c->downgrade ? ' ' : 'n';
	values[7] = c->verify ? CStringGetTextDatum(c->verify) : (Datum) 0;
	nulls[7] = c->verify ? ' ' : 'n';
	values[8] = BoolGetDatum(c->transactional);
	values[9] = CStringGetTextDatum(checksum);
	values[10] = DirectFunctionCall1(namein, CStringGetDatum(who->current_user));

	pgm_as_owner(&save);
	pgm_internal_write(true);
	PG_TRY();
	{
		if (replace)
			pgm_exec(REPLACE_SQL, 11, types, values, nulls, false, 0, SPI_OK_UPDATE);
		else
		{
			pgm_exec(INSERT_SQL, 11, types, values, nulls, false, 0,
					 SPI_OK_INSERT_RETURNING);
			seq = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
											  SPI_tuptable->tupdesc, 1, &isnull));
			SPI_freetuptable(SPI_tuptable);
		}
		pgm_log_event(who, kind, c->id, NULL,
					  replace ? "unapplied revision replaced with new content" : NULL,
					  checksum);
	}
	PG_FINALLY();
	{
		pgm_internal_write(false);
	}
	PG_END_TRY();
	pgm_restore_user(&save);
	return seq;
}

/*
 * raise_cycle: after a write, refuse a revision that lies on a cycle.
 */
static void
check_cycle(MgGraph *g, int idx)
{
	MgError		err;

	if (mg_graph_would_cycle(g, idx, &err))
		pgm_report(&err);
}

/*
 * register_content: the common path of migrate.revision() and
 * migrate.merge().  Returns the id.
 */
static char *
register_content(PgmContent *c, const char *kind)
{
	PgmWho		who;
	Existing	ex;
	char	   *checksum;

	pgm_who(&who);

	if (c->id == NULL)
	{
		char	   *seed = pgm_checksum(c, true);

		c->id = pnstrdup(seed, 12);
	}

	/* fast path: identical content already registered */
	lookup(c->id, &ex);
	if (ex.found)
	{
		if (c->parents_omitted)
		{
			c->parents = ex.parents;
			c->nparents = ex.nparents;
		}
		checksum = pgm_checksum(c, false);
		if (strcmp(checksum, ex.checksum) == 0)
			return c->id;
	}

	pgm_begin_write();
	lookup(c->id, &ex);
	if (ex.found && c->parents_omitted)
	{
		c->parents = ex.parents;
		c->nparents = ex.nparents;
	}
	else if (!ex.found && c->parents_omitted)
		single_head(c);
	checksum = pgm_checksum(c, false);

	if (ex.found)
	{
		MgGraph    *g;
		int			idx;

		if (strcmp(checksum, ex.checksum) == 0)
			return c->id;
		if (ex.applied)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("revision \"%s\" is applied and cannot be changed", c->id),
					 errdetail("The registered content has checksum %s; the new content has checksum %s.",
							   ex.checksum, checksum),
					 errhint("Write the change as a new revision. To change an applied revision anyway, downgrade it first.")));
		g = pgm_graph(true);
		check_new_names(g, c);
		write_row(c, checksum, true, &who, "replace");
		pgm_cache_invalidate();
		g = pgm_graph(true);
		idx = mg_graph_find(g, c->id);
		if (idx >= 0)
			check_cycle(g, idx);
		return c->id;
	}
	else
	{
		MgGraph    *g = pgm_graph(true);
		int64		seq;

		check_new_names(g, c);
		seq = write_row(c, checksum, false, &who, kind);
		g = pgm_cache_graph_for_update();
		if (g != NULL)
		{
			MemoryContext old = MemoryContextSwitchTo(pgm_cache_context());
			int			idx;

			pgm_cache_invalidate();
			idx = mg_graph_add(g, c->id, c->message, seq,
							   (const char *const *) c->parents, c->nparents,
							   (const char *const *) c->deps, c->ndeps,
							   (const char *const *) c->labels, c->nlabels);
			MemoryContextSwitchTo(old);
			if (g->added_was_referenced)
				check_cycle(g, idx);
			/* only now is the cache consistent with the catalog again */
			pgm_cache_revalidate();
		}
		else if (c->nparents + c->ndeps > 0)
		{
			g = pgm_graph(true);
			check_cycle(g, mg_graph_find(g, c->id));
		}
		return c->id;
	}
}

/*
 * text_arg: a text argument as a C string, or NULL.
 */
static char *
text_arg(FunctionCallInfo fcinfo, int n)
{
	return PG_ARGISNULL(n) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(n));
}

/*
 * names_arg: a text[] argument as C strings; *present tells whether it
 * was given at all.
 */
static char **
names_arg(FunctionCallInfo fcinfo, int n, int *count, bool *present,
		  const char *argname)
{
	if (PG_ARGISNULL(n))
	{
		*count = 0;
		if (present)
			*present = false;
		return NULL;
	}
	if (present)
		*present = true;
	return pgm_array_to_cstrings(PG_GETARG_ARRAYTYPE_P(n), count, argname);
}

PG_FUNCTION_INFO_V1(pgm_revision);

/*
 * migrate.revision(id, down_revision, upgrade, downgrade, message,
 * branch_labels, depends_on, verify, transactional) RETURNS text
 */
Datum
pgm_revision(PG_FUNCTION_ARGS)
{
	PgmContent	c;
	bool		have_parents;
	char	   *id;

	pgm_refuse_on_standby("migrate.revision()");
	memset(&c, 0, sizeof(c));
	c.id = text_arg(fcinfo, 0);
	c.parents = names_arg(fcinfo, 1, &c.nparents, &have_parents, "down_revision");
	c.parents_omitted = !have_parents;
	c.upgrade = text_arg(fcinfo, 2);
	c.downgrade = text_arg(fcinfo, 3);
	c.message = text_arg(fcinfo, 4);
	c.labels = names_arg(fcinfo, 5, &c.nlabels, NULL, "branch_labels");
	c.deps = names_arg(fcinfo, 6, &c.ndeps, NULL, "depends_on");
	c.verify = text_arg(fcinfo, 7);
	if (PG_ARGISNULL(8))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("transactional must be true or false, not NULL")));
	c.transactional = PG_GETARG_BOOL(8);

	if (c.upgrade == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("upgrade SQL is required"),
				 errhint("Pass upgrade => $$ ... $$ with the SQL that applies the revision; use '' for a revision that changes nothing.")));
	if (c.id != NULL)
		check_name(c.id, "revision id");
	check_names(c.parents, c.nparents, "parent revision id", "down_revision");
	check_names(c.deps, c.ndeps, "depends_on entry", "depends_on");
	check_names(c.labels, c.nlabels, "branch label", "branch_labels");
	pgm_check_revision_size(c.id, c.upgrade, c.downgrade, c.verify);
	if (c.id != NULL)
	{
		for (int i = 0; i < c.nparents; i++)
			if (strcmp(c.parents[i], c.id) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
						 errmsg("revision \"%s\" cannot be its own parent", c.id),
						 errhint("down_revision names the revisions this one follows.")));
		for (int i = 0; i < c.ndeps; i++)
			if (strcmp(c.deps[i], c.id) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
						 errmsg("revision \"%s\" cannot depend on itself", c.id),
						 errhint("depends_on names other revisions that must be applied first.")));
	}

	{
		const char *name = c.id ? c.id : "(generated id)";

		pgm_check_revision_sql(c.upgrade, "upgrade", name, c.transactional);
		if (c.downgrade)
			pgm_check_revision_sql(c.downgrade, "downgrade", name, c.transactional);
		if (c.verify)
			pgm_check_revision_sql(c.verify, "verify", name, true);
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_migrate: SPI_connect failed");
	id = register_content(&c, "register");
	id = MemoryContextStrdup(fcinfo->flinfo->fn_mcxt, id);
	SPI_finish();
	PG_RETURN_TEXT_P(cstring_to_text(id));
}

PG_FUNCTION_INFO_V1(pgm_merge);

/*
 * migrate.merge(parents text[], message text, id text) RETURNS text
 */
Datum
pgm_merge(PG_FUNCTION_ARGS)
{
	PgmContent	c;
	bool		have_parents;
	char	   *id;
	MgGraph    *g;
	char	   *mark;
	StringInfoData msg;

	pgm_refuse_on_standby("migrate.merge()");
	memset(&c, 0, sizeof(c));
	c.parents = names_arg(fcinfo, 0, &c.nparents, &have_parents, "parents");
	c.message = text_arg(fcinfo, 1);
	c.id = text_arg(fcinfo, 2);
	c.upgrade = "";
	c.downgrade = "";
	c.transactional = true;
	if (c.id != NULL)
		check_name(c.id, "revision id");
	check_names(c.parents, c.nparents, "parent revision id", "parents");

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_migrate: SPI_connect failed");
	g = pgm_graph_ready(true);
	if (!have_parents)
	{
		/* the heads where depends_on counts, as "alembic merge heads" */
		c.parents = palloc(sizeof(char *) * (g->real_heads.n ? g->real_heads.n : 1));
		for (int i = 0; i < g->real_heads.n; i++)
			c.parents[i] = pstrdup(g->revs[g->real_heads.v[i]].id);
		c.nparents = g->real_heads.n;
	}
	if (c.nparents < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a merge needs at least two parents, got %d", c.nparents),
				 errdetail(have_parents ? "parents lists the revisions to merge." :
						   "The graph has fewer than two heads, so there is nothing to merge."),
				 errhint("Name two or more revisions: migrate.merge(ARRAY['a', 'b']).")));
	mark = palloc0(g->n ? g->n : 1);
	for (int i = 0; i < c.nparents; i++)
	{
		int			p = mg_graph_find(g, c.parents[i]);

		if (p < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("revision \"%s\" is not registered", c.parents[i]),
					 errhint("A merge joins registered revisions; register it first.")));
		if (c.id != NULL && strcmp(c.parents[i], c.id) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("revision \"%s\" cannot be its own parent", c.id)));
	}
	for (int i = 0; i < c.nparents; i++)
	{
		int			p = mg_graph_find(g, c.parents[i]);

		memset(mark, 0, g->n);
		mg_ancestors(g, &p, 1, true, mark);
		for (int j = 0; j < c.nparents; j++)
			if (j != i && mark[mg_graph_find(g, c.parents[j])])
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("revision \"%s\" is already an ancestor of revision \"%s\"",
								c.parents[j], c.parents[i]),
						 errhint("Merge only revisions on different branches.")));
	}
	if (c.message == NULL)
	{
		initStringInfo(&msg);
		appendStringInfoString(&msg, "merge");
		for (int i = 0; i < c.nparents; i++)
			appendStringInfo(&msg, "%s%s", i ? ", " : " ", c.parents[i]);
		c.message = msg.data;
	}
	id = register_content(&c, "merge");
	id = MemoryContextStrdup(fcinfo->flinfo->fn_mcxt, id);
	SPI_finish();
	PG_RETURN_TEXT_P(cstring_to_text(id));
}
