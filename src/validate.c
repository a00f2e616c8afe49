/*-------------------------------------------------------------------------
 *
 * validate.c
 *	  Integrity: migrate.validate() reports what is wrong or worth knowing
 *	  about the graph and the applied set; migrate.repair() accepts the
 *	  current checksums of applied revisions after review.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "catalog.h"
#include "graph.h"
#include "runner.h"

static const char *const ORPHANS_SQL =
"SELECT a.revision FROM migrate.applied a "
"WHERE NOT EXISTS (SELECT 1 FROM migrate.revisions r "
"                  WHERE r.id OPERATOR(pg_catalog.=) a.revision) "
"ORDER BY a.revision";

static const char *const DRIFT_SQL =
"SELECT a.revision, a.checksum, r.checksum "
"FROM migrate.applied a JOIN migrate.revisions r "
"  ON r.id OPERATOR(pg_catalog.=) a.revision "
"WHERE a.checksum IS DISTINCT FROM r.checksum "
"  AND ($1::pg_catalog.text IS NULL OR a.revision OPERATOR(pg_catalog.=) $1) "
"ORDER BY r.seq";

/* applied rows of registered revisions that no upgrade or stamp wrote */
static const char *const UNRECORDED_SQL =
"SELECT a.revision FROM migrate.applied a "
"JOIN migrate.revisions r ON r.id OPERATOR(pg_catalog.=) a.revision "
"WHERE NOT EXISTS (SELECT 1 FROM migrate.events e "
"                  WHERE e.id OPERATOR(pg_catalog.=) a.event_id "
"                    AND (e.kind OPERATOR(pg_catalog.=) 'stamp' "
"                         OR (e.kind OPERATOR(pg_catalog.=) 'upgrade' "
"                             AND e.revision OPERATOR(pg_catalog.=) a.revision))) "
"ORDER BY a.revision";

static const char *const IRREVERSIBLE_SQL =
"SELECT r.id, EXISTS (SELECT 1 FROM migrate.applied a "
"                     WHERE a.revision OPERATOR(pg_catalog.=) r.id) "
"FROM migrate.revisions r WHERE r.downgrade IS NULL ORDER BY r.seq";

static const char *const DRIFT_DDL_SQL =
"SELECT command_tag, object_identity, current_user_name::pg_catalog.text, "
"       pg_catalog.to_char(occurred_at, 'YYYY-MM-DD HH24:MI:SS TZ') "
"FROM migrate.object_changes WHERE direction IS NULL ORDER BY id";

static const char *const APPLIED_SQL =
"SELECT 1 FROM migrate.applied WHERE revision OPERATOR(pg_catalog.=) $1";

static const char *const REPAIR_SQL =
"UPDATE migrate.applied SET checksum = $2 "
"WHERE revision OPERATOR(pg_catalog.=) $1";

/*
 * put_row: one row of validate()'s output.
 */
static void
put_row(Tuplestorestate *ts, TupleDesc td, const char *severity,
		const char *revision, const char *problem, const char *detail)
{
	Datum		v[4];
	bool		nl[4] = {0};

	v[0] = CStringGetTextDatum(severity);
	nl[1] = revision == NULL;
	v[1] = revision ? CStringGetTextDatum(revision) : (Datum) 0;
	v[2] = CStringGetTextDatum(problem);
	nl[3] = detail == NULL;
	v[3] = detail ? CStringGetTextDatum(detail) : (Datum) 0;
	tuplestore_putvalues(ts, td, v, nl);
}

/*
 * column_text: a text column of the current SPI result, or NULL.
 */
static char *
column_text(uint64 row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc,
								  col, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

PG_FUNCTION_INFO_V1(pgm_validate);

/*
 * migrate.validate(): rows of (severity, revision, problem, detail), errors
 * first: graph problems, applied revisions that are not registered, whose
 * registered content changed, that no upgrade or stamp recorded, or whose
 * ancestors are not applied; then
 * warnings (several heads, DDL made outside any revision) and notices
 * (irreversible revisions).
 */
Datum
pgm_validate(PG_FUNCTION_ARGS)
{
	TupleDesc	td;
	Tuplestorestate *ts = pgm_srf_begin(fcinfo, &td);
	MgGraph    *g;
	MgError		err;
	bool		valid;
	MemoryContext old;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_migrate: SPI_connect failed");
	g = pgm_graph(false);
	old = MemoryContextSwitchTo(pgm_cache_context());
	valid = mg_graph_prepare(g, &err);
	MemoryContextSwitchTo(old);
	if (!valid)
		put_row(ts, td, "error", NULL, err.message,
				err.detail[0] ? err.detail : NULL);

	pgm_exec(ORPHANS_SQL, 0, NULL, NULL, NULL, true, 0, SPI_OK_SELECT);
	for (uint64 i = 0; i < SPI_processed; i++)
		put_row(ts, td, "error", column_text(i, 1),
				"applied but not registered",
				"migrate.applied records it, but migrate.revisions has no revision with that id; register it again, or reset the state with migrate.stamp(..., purge => true).");
	SPI_freetuptable(SPI_tuptable);

	{
		Oid			types[1] = {TEXTOID};
		Datum		values[1] = {(Datum) 0};
		char		nulls[1] = {'n'};

		pgm_exec(DRIFT_SQL, 1, types, values, nulls, true, 0, SPI_OK_SELECT);
		for (uint64 i = 0; i < SPI_processed; i++)
			put_row(ts, td, "error", column_text(i, 1),
					"registered content changed after it was applied",
					psprintf("It ran with checksum %s; the registered content has checksum %s. Review the change, then accept it with migrate.repair().",
							 column_text(i, 2) ? column_text(i, 2) : "(none)",
							 column_text(i, 3)));
		SPI_freetuptable(SPI_tuptable);
	}

	pgm_exec(UNRECORDED_SQL, 0, NULL, NULL, NULL, true, 0, SPI_OK_SELECT);
	for (uint64 i = 0; i < SPI_processed; i++)
		put_row(ts, td, "error", column_text(i, 1),
				"applied without a recorded upgrade or stamp",
				"migrate.applied holds it, but no upgrade or stamp event in migrate.events recorded it: the row was written outside pg_migrate's functions (by revision SQL run as the extension owner, or by hand). If its upgrade really ran, record the state again with migrate.stamp(..., purge => true); otherwise unapply it with migrate.stamp() to an earlier revision.");
	SPI_freetuptable(SPI_tuptable);

	if (valid)
	{
		for (int i = 0; i < g->n; i++)
		{
			MgRev	   *r = &g->revs[i];

			if (!r->applied)
				continue;
			for (int k = 0; k < r->nparents + r->ndeps; k++)
			{
				int			p = k < r->nparents ? r->parents[k] : r->deps[k - r->nparents];

				if (p >= 0 && !g->revs[p].applied)
					put_row(ts, td, "error", r->id,
							psprintf("applied, but its %s \"%s\" is not",
									 k < r->nparents ? "parent" : "dependency",
									 g->revs[p].id),
							"The applied set must hold every ancestor of an applied revision; set it right with migrate.stamp().");
			}
		}
		if (g->heads.n > 1)
		{
			StringInfoData names;

			initStringInfo(&names);
			for (int i = 0; i < g->heads.n; i++)
				appendStringInfo(&names, "%s%s", i ? ", " : "", g->revs[g->heads.v[i]].id);
			put_row(ts, td, "warning", NULL,
					psprintf("the graph has %d heads", g->heads.n),
					psprintf("The heads are %s. Merge them with migrate.merge() if they belong together.",
							 names.data));
		}
	}

	pgm_exec(DRIFT_DDL_SQL, 0, NULL, NULL, NULL, true, 0, SPI_OK_SELECT);
	for (uint64 i = 0; i < SPI_processed; i++)
		put_row(ts, td, "warning", NULL,
				psprintf("%s %s outside any revision", column_text(i, 1), column_text(i, 2)),
				psprintf("Run by %s at %s on a schema pg_migrate manages; write it as a revision, or revert it.",
						 column_text(i, 3), column_text(i, 4)));
	SPI_freetuptable(SPI_tuptable);

	pgm_exec(IRREVERSIBLE_SQL, 0, NULL, NULL, NULL, true, 0, SPI_OK_SELECT);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		bool		applied = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[i],
														 SPI_tuptable->tupdesc, 2, &isnull));

		put_row(ts, td, "notice", column_text(i, 1), "irreversible: no downgrade SQL",
				applied ? "It is applied; no downgrade can go below it." :
				"Once applied, no downgrade can go below it.");
	}
	SPI_freetuptable(SPI_tuptable);
	SPI_finish();
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(pgm_repair);

/*
 * migrate.repair(revision text DEFAULT NULL, reason text DEFAULT NULL):
 * record the registered checksum as the one that ran, for one applied
 * revision or for every one whose content changed; one event each, with
 * the reason.  Returns (revision, old_checksum, new_checksum) per repair.
 */
Datum
pgm_repair(PG_FUNCTION_ARGS)
{
	TupleDesc	td;
	Tuplestorestate *ts;
	char	   *revision = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *reason;
	PgmWho		who;
	PgmOwnerSave save;
	int			nrows;
	char	  **revs,
			  **olds,
			  **news;

	pgm_refuse_on_standby("migrate.repair()");
	/* a reason of only blanks says nothing either */
	if (PG_ARGISNULL(1) ||
		strspn(text_to_cstring(PG_GETARG_TEXT_PP(1)), " \t\r\n") ==
		VARSIZE_ANY_EXHDR(PG_GETARG_TEXT_PP(1)))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a reason is required to repair checksums"),
				 errhint("Say why the changed content is acceptable: migrate.repair(reason => 'comment-only change, reviewed by ...').")));
	reason = text_to_cstring(PG_GETARG_TEXT_PP(1));
	pgm_refuse_nested("migrate.repair()");
	ts = pgm_srf_begin(fcinfo, &td);
	pgm_who(&who);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_migrate: SPI_connect failed");
	pgm_begin_write();

	if (revision != NULL)
	{
		Oid			types[1] = {TEXTOID};
		Datum		values[1] = {CStringGetTextDatum(revision)};

		pgm_exec(APPLIED_SQL, 1, types, values, NULL, false, 1, SPI_OK_SELECT);
		if (SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("revision \"%s\" is not applied", revision),
					 errhint("repair() accepts the checksum of an applied revision; see migrate.validate().")));
		SPI_freetuptable(SPI_tuptable);
	}
	{
		Oid			types[1] = {TEXTOID};
		Datum		values[1];
		char		nulls[1];

		values[0] = revision ? CStringGetTextDatum(revision) : (Datum) 0;
		nulls[0] = revision ? ' ' : 'n';
		pgm_exec(DRIFT_SQL, 1, types, values, nulls, false, 0, SPI_OK_SELECT);
	}
	nrows = (int) SPI_processed;
	revs = palloc(sizeof(char *) * (nrows ? nrows : 1));
	olds = palloc(sizeof(char *) * (nrows ? nrows : 1));
	news = palloc(sizeof(char *) * (nrows ? nrows : 1));
	for (int i = 0; i < nrows; i++)
	{
		revs[i] = column_text(i, 1);
		olds[i] = column_text(i, 2);
		news[i] = column_text(i, 3);
	}
	SPI_freetuptable(SPI_tuptable);
	if (nrows == 0)
		ereport(NOTICE,
				(errmsg("nothing to repair: %s", revision ?
						psprintf("the checksum of revision \"%s\" matches its registered content", revision) :
						"every applied revision matches its registered content")));

	pgm_as_owner(&save);
	pgm_internal_write(true);
	PG_TRY();
	{
		for (int i = 0; i < nrows; i++)
		{
			Oid			types[2] = {TEXTOID, TEXTOID};
			Datum		values[2];

			values[0] = CStringGetTextDatum(revs[i]);
			values[1] = CStringGetTextDatum(news[i]);
			pgm_exec(REPAIR_SQL, 2, types, values, NULL, false, 0, SPI_OK_UPDATE);
			pgm_log_event(&who, "repair", revs[i], NULL,
						  psprintf("checksum %s accepted (was %s): %s", news[i],
								   olds[i] ? olds[i] : "none", reason),
						  news[i]);
		}
	}
	PG_FINALLY();
	{
		pgm_internal_write(false);
	}
	PG_END_TRY();
	pgm_restore_user(&save);

	for (int i = 0; i < nrows; i++)
	{
		Datum		v[3];
		bool		nl[3] = {0};

		v[0] = CStringGetTextDatum(revs[i]);
		v[1] = olds[i] ? CStringGetTextDatum(olds[i]) : (Datum) 0;
		nl[1] = olds[i] == NULL;
		v[2] = CStringGetTextDatum(news[i]);
		tuplestore_putvalues(ts, td, v, nl);
	}
	SPI_finish();
	return (Datum) 0;
}
