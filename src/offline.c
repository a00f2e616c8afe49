/*-------------------------------------------------------------------------
 *
 * offline.c
 *	  Offline SQL (Alembic's --sql): migrate.upgrade_sql() and
 *	  migrate.downgrade_sql() write the script a DBA reviews and runs with
 *	  psql -1 -f; migrate.offline_begin(), offline_verify() and
 *	  offline_record() are the bookkeeping calls inside such a script.
 *
 * The script holds every revision's SQL verbatim, so what runs is what was
 * reviewed.  Around it, the bookkeeping calls make the run equivalent to
 * the online call: offline_begin() takes the migration lock and checks the
 * database is in the state the script was written for; offline_verify()
 * runs verify SQL; offline_record() checks the revision was not changed
 * since, records it as the online runner does (applied row, event with
 * duration), and restores search_path and role as the runner restores them
 * after each revision.  Literals are dollar-quoted with a tag the text does
 * not contain, and every statement ends on a line of its own, so no body
 * can swallow what follows.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "storage/proc.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "catalog.h"
#include "lineage.h"
#include "plan.h"
#include "runner.h"
#include "sqlsplit.h"

static const char *const CLAIM_SQL =
"UPDATE migrate.object_changes SET revision = $1 "
"WHERE revision IS NULL AND direction OPERATOR(pg_catalog.=) $2 "
"  AND transaction_id OPERATOR(pg_catalog.=) pg_catalog.pg_current_xact_id()";

static const char *const CHECKSUM_SQL =
"SELECT checksum, message FROM migrate.revisions WHERE id OPERATOR(pg_catalog.=) $1";

/* State of the offline script running in transaction begun_lxid. */
static LocalTransactionId begun_lxid = InvalidLocalTransactionId;
static TimestampTz step_start = 0;
static char *saved_search_path = NULL;
static char *saved_role = NULL;
static char *saved_target = NULL;

/*
 * dollar_quote: text as a dollar-quoted literal whose tag does not occur in
 * it.
 */
static char *
dollar_quote(const char *text)
{
	char		tag[32];

	for (int n = 0;; n++)
	{
		snprintf(tag, sizeof(tag), n == 0 ? "$pgm$" : "$pgm%d$", n);
		if (strstr(text, tag) == NULL)
			break;
	}
	return psprintf("%s%s%s", tag, text, tag);
}

/*
 * one_line: text fit for a "--" comment: no line breaks.
 */
static char *
one_line(const char *text)
{
	char	   *s = pstrdup(text ? text : "");

	for (char *p = s; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return s;
}

/*
 * script: the body of upgrade_sql() and downgrade_sql().
 */
static text *
script(FunctionCallInfo fcinfo, bool upgrade)
{
	char	   *target;
	char	   *from = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	MgGraph    *g;
	MgIntList	plan = {0};
	MgIntList	current = {0};
	MgError		err;
	bool		ok;
	char	   *saved;
	RunStep    *steps;
	StringInfoData buf;
	MemoryContext caller = CurrentMemoryContext;
	text	   *result;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("target must not be NULL")));
	target = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_migrate: SPI_connect failed");
	g = pgm_graph_ready(false);

	/* from_revision: plan as if exactly it and its ancestors were applied */
	saved = palloc(g->n ? g->n : 1);
	for (int i = 0; i < g->n; i++)
		saved[i] = g->revs[i].applied;
	PG_TRY();
	{
		if (from != NULL)
		{
			MgIntList	fromrevs = {0};
			char	   *mark = palloc0(g->n ? g->n : 1);

			if (!mg_get_revisions(g, from, &fromrevs, &err))
				pgm_report(&err);
			for (int i = 0; i < fromrevs.n; i++)
				if (fromrevs.v[i] >= 0)
					mg_ancestors(g, &fromrevs.v[i], 1, true, mark);
			for (int i = 0; i < g->n; i++)
				g->revs[i].applied = mark[i];
		}
		mg_current(g, &current);
		ok = upgrade ? mg_plan_upgrade(g, target, &plan, &err) :
			mg_plan_downgrade(g, target, &plan, &err);
		if (!ok)
			pgm_report(&err);
	}
	PG_FINALLY();
	{
		for (int i = 0; i < g->n; i++)
			g->revs[i].applied = saved[i];
	}
	PG_END_TRY();

	steps = pgm_copy_steps(g, &plan, upgrade);
	for (int i = 0; i < plan.n; i++)
	{
		if (upgrade && !steps[i].transactional)
			ereport(ERROR,
					(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
					 errmsg("revision \"%s\" cannot run inside a transaction block", steps[i].id),
					 errhint("An offline script runs in one transaction; run such revisions with CALL migrate.deploy().")));
		if (!upgrade && !steps[i].has_body)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("revision \"%s\" is irreversible: it has no downgrade", steps[i].id),
					 errhint("Downgrade to a target above it.")));
	}

	initStringInfo(&buf);
	appendStringInfo(&buf,
					 "-- pg_migrate offline %s script\n"
					 "-- target: %s; from: %s; %d step%s\n"
					 "-- Review it, then run it in one transaction:\n"
					 "--   psql -1 -v ON_ERROR_STOP=1 -f this_file.sql\n",
					 upgrade ? "upgrade" : "downgrade", one_line(target),
					 from ? one_line(from) : "the state of the database it was written from",
					 plan.n, plan.n == 1 ? "" : "s");
	appendStringInfo(&buf, "SELECT migrate.offline_begin(%s, %s, ARRAY[",
					 quote_literal_cstr(upgrade ? "upgrade" : "downgrade"),
					 quote_literal_cstr(target));
	for (int i = 0; i < current.n; i++)
		appendStringInfo(&buf, "%s%s", i ? ", " : "",
						 quote_literal_cstr(g->revs[current.v[i]].id));
	appendStringInfoString(&buf, "]::pg_catalog.text[]);\n");

	for (int i = 0; i < plan.n; i++)
	{
		RunStep    *s = &steps[i];
		List	   *stmts = s->sql ? pgm_split_sql(s->sql, upgrade ? "upgrade" : "downgrade", s->id) : NIL;
		ListCell   *lc;

		appendStringInfo(&buf, "\n-- [%d/%d] %s %s%s%s\n", i + 1, plan.n,
						 upgrade ? "upgrade" : "downgrade", s->id,
						 s->message ? ": " : "", s->message ? one_line(s->message) : "");
		foreach(lc, stmts)
		{
			PgmStmt    *st = (PgmStmt *) lfirst(lc);

			appendStringInfo(&buf, "%s\n;\n", st->text);
		}
		if (upgrade && s->verify)
			appendStringInfo(&buf, "SELECT migrate.offline_verify(%s, %s);\n",
							 quote_literal_cstr(s->id), dollar_quote(s->verify));
		appendStringInfo(&buf, "SELECT migrate.offline_record(%s, %s, %s);\n",
						 quote_literal_cstr(upgrade ? "upgrade" : "downgrade"),
						 quote_literal_cstr(s->id), quote_literal_cstr(s->checksum));
	}
	appendStringInfoString(&buf, "\n-- end of script\n");

	MemoryContextSwitchTo(caller);
	result = cstring_to_text(buf.data);
	SPI_finish();
	return result;
}

PG_FUNCTION_INFO_V1(pgm_upgrade_sql);

/*
 * migrate.upgrade_sql(target text DEFAULT 'heads', from_revision text
 * DEFAULT NULL) RETURNS text
 */
Datum
pgm_upgrade_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(script(fcinfo, true));
}

PG_FUNCTION_INFO_V1(pgm_downgrade_sql);

/*
 * migrate.downgrade_sql(target text, from_revision text DEFAULT NULL)
 * RETURNS text
 */
Datum
pgm_downgrade_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(script(fcinfo, false));
}

/*
 * restore_settings: search_path and role as offline_begin() found them.
 */
static void
restore_settings(void)
{
	if (saved_search_path)
		(void) set_config_option("search_path", saved_search_path,
								 PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SET, true, 0, false);
	if (saved_role)
		(void) set_config_option("role", saved_role,
								 PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SET, true, 0, false);
}

PG_FUNCTION_INFO_V1(pgm_offline_begin);

/*
 * migrate.offline_begin(operation text, target text, expected text[]):
 * the first statement of an offline script.  Takes the migration lock and
 * checks the current revisions are the ones the script was written for.
 */
Datum
pgm_offline_begin(PG_FUNCTION_ARGS)
{
	int			nexpected;
	char	  **expected;
	MgGraph    *g;
	MgIntList	current = {0};
	bool		same;

	pgm_refuse_on_standby("migrate.offline_begin()");
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("migrate.offline_begin() needs an operation, a target and the expected revisions")));
	if (!IsTransactionBlock())
		ereport(ERROR,
				(errcode(ERRCODE_NO_ACTIVE_SQL_TRANSACTION),
				 errmsg("an offline pg_migrate script must run in one transaction"),
				 errhint("Run it with psql -1 -v ON_ERROR_STOP=1 -f script.sql.")));
	pgm_refuse_nested("migrate.offline_begin()");
	expected = pgm_array_to_cstrings(PG_GETARG_ARRAYTYPE_P(2), &nexpected, "expected");
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_migrate: SPI_connect failed");
	pgm_acquire_migration_lock();
	if (IsolationUsesXactSnapshot() && pgm_catalog_moved_on())
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access: the migration catalog changed after this transaction's snapshot was taken"),
				 errhint("Run the script again.")));
	g = pgm_graph_ready(true);
	mg_current(g, &current);
	same = current.n == nexpected;
	for (int i = 0; same && i < current.n; i++)
	{
		bool		found = false;

		for (int j = 0; j < nexpected && !found; j++)
			found = strcmp(g->revs[current.v[i]].id, expected[j]) == 0;
		same = found;
	}
	if (!same)
	{
		StringInfoData have,
					want;

		initStringInfo(&have);
		initStringInfo(&want);
		for (int i = 0; i < current.n; i++)
			appendStringInfo(&have, "%s%s", i ? ", " : "", g->revs[current.v[i]].id);
		for (int i = 0; i < nexpected; i++)
			appendStringInfo(&want, "%s%s", i ? ", " : "", expected[i]);
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the database is not in the state this script was written for"),
				 errdetail("The script expects the current revisions {%s}; the database has {%s}.",
						   want.data, have.data),
				 errhint("Write a new script with migrate.%s_sql() against this database.",
						 text_to_cstring(PG_GETARG_TEXT_PP(0)))));
	}
	pgm_begin_write();
	SPI_finish();

	if (saved_search_path)
		pfree(saved_search_path);
	if (saved_role)
		pfree(saved_role);
	if (saved_target)
		pfree(saved_target);
	saved_target = MemoryContextStrdup(TopMemoryContext,
									   text_to_cstring(PG_GETARG_TEXT_PP(1)));
	saved_search_path = MemoryContextStrdup(TopMemoryContext,
											GetConfigOption("search_path", false, false));
	saved_role = MemoryContextStrdup(TopMemoryContext,
									 GetConfigOption("role", false, false));
	step_start = GetCurrentTimestamp();
	begun_lxid = MyProc->lxid;
	/* DDL of the script is a revision's, not drift; offline_record names it */
	pgm_lineage_revision = NULL;
	pgm_lineage_direction = strcmp(text_to_cstring(PG_GETARG_TEXT_PP(0)), "upgrade") == 0 ?
		"upgrade" : "downgrade";
	PG_RETURN_VOID();
}

/*
 * check_begun: offline_verify() and offline_record() belong after
 * offline_begin() in the same transaction.
 */
static void
check_begun(const char *function)
{
	if (!IsTransactionBlock() || begun_lxid != MyProc->lxid)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s belongs in an offline script, after migrate.offline_begin()", function),
				 errhint("Write the script with migrate.upgrade_sql() or migrate.downgrade_sql().")));
}

/*
 * check_step_state: an offline step is recorded only where the online
 * runner would have run it: an upgrade of an unapplied revision whose
 * parents and dependencies are applied, a downgrade of an applied revision
 * that no applied revision depends on.  A script edited, reordered or
 * partly run twice is refused here instead of leaving an applied set that
 * is not closed under ancestry.
 */
static void
check_step_state(const char *id, bool upgrade)
{
	MgGraph    *g = pgm_graph_ready(true);
	int			idx = mg_graph_find(g, id);
	const MgRev *r;

	if (idx < 0)
		elog(ERROR, "pg_migrate: registered revision \"%s\" is missing from the graph", id);
	r = &g->revs[idx];
	if (upgrade && r->applied)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("revision \"%s\" of the offline script is already applied", id),
				 errhint("Each revision is recorded once; write a new script with migrate.upgrade_sql() against this database.")));
	if (!upgrade && !r->applied)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("revision \"%s\" of the offline script is not applied", id),
				 errhint("Each revision is recorded once; write a new script with migrate.downgrade_sql() against this database.")));
	if (upgrade)
	{
		for (int k = 0; k < r->nparents + r->ndeps; k++)
		{
			int			p = k < r->nparents ? r->parents[k] : r->deps[k - r->nparents];

			if (p >= 0 && !g->revs[p].applied)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("revision \"%s\" cannot be recorded as applied before its %s \"%s\"",
								id, k < r->nparents ? "parent" : "dependency",
								g->revs[p].id),
						 errhint("Run the steps of an offline script in the order migrate.upgrade_sql() wrote them.")));
		}
	}
	else
	{
		for (int k = g->dep_off[idx]; k < g->dep_off[idx + 1]; k++)
		{
			int			c = g->dep_child[k];

			if (g->revs[c].applied)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("revision \"%s\" cannot be recorded as unapplied while revision \"%s\", which depends on it, is applied",
								id, g->revs[c].id),
						 errhint("Run the steps of an offline script in the order migrate.downgrade_sql() wrote them.")));
		}
	}
}

PG_FUNCTION_INFO_V1(pgm_offline_verify);

/*
 * migrate.offline_verify(revision text, verify text): run a revision's
 * verify SQL inside an offline script.
 */
Datum
pgm_offline_verify(PG_FUNCTION_ARGS)
{
	RunStep		s;

	pgm_refuse_on_standby("migrate.offline_verify()");
	check_begun("migrate.offline_verify()");
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("migrate.offline_verify() needs a revision and its verify SQL")));
	memset(&s, 0, sizeof(s));
	s.id = text_to_cstring(PG_GETARG_TEXT_PP(0));
	s.verify = text_to_cstring(PG_GETARG_TEXT_PP(1));
	/* the script's verify SQL may have been edited: check it as registration does */
	pgm_check_revision_sql(s.verify, "verify", s.id, true);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_migrate: SPI_connect failed");
	pgm_run_verify(&s);
	SPI_finish();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(pgm_offline_record);

/*
 * migrate.offline_record(operation text, revision text, checksum text):
 * record one step of an offline script as the online runner records it.
 */
Datum
pgm_offline_record(PG_FUNCTION_ARGS)
{
	RunStep		s;
	PgmWho		who;
	bool		upgrade;
	char	   *op;
	long		secs;
	int			usecs;
	bool		isnull;
	char	   *registered;

	pgm_refuse_on_standby("migrate.offline_record()");
	check_begun("migrate.offline_record()");
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("migrate.offline_record() needs an operation, a revision and a checksum")));
	op = text_to_cstring(PG_GETARG_TEXT_PP(0));
	upgrade = strcmp(op, "upgrade") == 0;
	if (!upgrade && strcmp(op, "downgrade") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("operation must be 'upgrade' or 'downgrade', not \"%s\"", op)));
	memset(&s, 0, sizeof(s));
	s.id = text_to_cstring(PG_GETARG_TEXT_PP(1));
	s.checksum = text_to_cstring(PG_GETARG_TEXT_PP(2));
	TimestampDifference(step_start, GetCurrentTimestamp(), &secs, &usecs);

	/* settings the revision changed end with it, as online */
	restore_settings();

	pgm_who(&who);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_migrate: SPI_connect failed");
	{
		Oid			types[1] = {TEXTOID};
		Datum		values[1] = {CStringGetTextDatum(s.id)};

		pgm_exec(CHECKSUM_SQL, 1, types, values, NULL, false, 1, SPI_OK_SELECT);
		if (SPI_processed != 1)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("revision \"%s\" of the offline script is not registered", s.id)));
		registered = TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[0],
													   SPI_tuptable->tupdesc, 1, &isnull));
		SPI_freetuptable(SPI_tuptable);
	}
	if (strcmp(registered, s.checksum) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("revision \"%s\" changed after the offline script was written", s.id),
				 errdetail("The script ran content with checksum %s; the registered content has checksum %s.",
						   s.checksum, registered),
				 errhint("Write a new script with migrate.%s_sql().", op)));
	check_step_state(s.id, upgrade);
	{
		int64		us = (int64) secs * 1000000 + usecs;
		TimestampTz now = GetCurrentTimestamp();

		pgm_record_steps(&who, &s, 1, upgrade, saved_target, &us, &now);
	}
	{
		Oid			types[2] = {TEXTOID, TEXTOID};
		Datum		values[2] = {CStringGetTextDatum(s.id), CStringGetTextDatum(op)};
		PgmOwnerSave save;

		pgm_as_owner(&save);
		pgm_exec(CLAIM_SQL, 2, types, values, NULL, false, 0, SPI_OK_UPDATE);
		pgm_restore_user(&save);
	}
	SPI_finish();
	step_start = GetCurrentTimestamp();
	PG_RETURN_VOID();
}
