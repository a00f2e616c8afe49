/*-------------------------------------------------------------------------
 *
 * lint.c
 *	  migrate.lint(sql) and migrate.lint_rules(); lint of revision SQL at
 *	  registration and before migrate.upgrade() runs anything; the
 *	  pg_migrate.lint and pg_migrate.lint_min_rows settings.
 *
 * PostgreSQL's own parser (raw_parser) splits the text; each statement goes
 * through the rules of lintrules.c in order, inside a subtransaction so
 * that nothing a rule looks up can make lint itself fail.  The statement
 * locations give the line numbers, and the text around each statement
 * gives its waiver comments (lintwaiver.c), since the parser drops
 * comments.  A waived finding is still returned, marked waived, and never
 * counts.
 *
 * Severities: error -- the statement blocks reads or writes for as long as
 * the table takes to scan, rewrite or index, and a safe alternative exists;
 * warning -- it breaks running code, loses data, or queues traffic behind
 * a lock; info -- advice about the SQL text itself, never refusing a
 * revision.  With pg_migrate.lint = error, an unwaived finding of severity
 * error or warning refuses the upgrade before anything runs.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "parser/parser.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/tuplestore.h"

#include "catalog.h"
#include "lint.h"

/* SQLSTATE of a revision refused by lint: class PM (pg_migrate), L for lint */
#define ERRCODE_PGM_LINT_REFUSED MAKE_SQLSTATE('P','M','L','0','1')

int			pgm_lint_mode = PGM_LINT_WARN;
int			pgm_lint_min_rows = 10000;

static const struct config_enum_entry lint_options[] = {
	{"off", PGM_LINT_OFF, false},
	{"warn", PGM_LINT_WARN, false},
	{"error", PGM_LINT_ERROR, false},
	{NULL, 0, false}
};

#define DEPLOY_INDEX_HINT \
	"Build the index with CREATE INDEX CONCURRENTLY in a revision of its own, " \
	"registered with transactional => false and run by CALL migrate.deploy(); " \
	"it does not block writes."

/* The rules, in the order of the README's table. */
static const LintRule rules[] = {
	{"create-index-without-concurrently", LINT_ERROR, true,
		"CREATE INDEX without CONCURRENTLY on an existing table: blocks writes while the index builds.",
	DEPLOY_INDEX_HINT},
	{"constraint-without-not-valid", LINT_ERROR, true,
		"ADD CONSTRAINT ... FOREIGN KEY or CHECK (also as part of ADD COLUMN) without NOT VALID: checks every row while holding its lock.",
	"Add the constraint with NOT VALID (a brief lock, no scan), then run ALTER TABLE ... VALIDATE CONSTRAINT in a later revision: validation takes a lock that does not block reads or writes."},
	{"set-not-null", LINT_ERROR, true,
		"ALTER COLUMN ... SET NOT NULL without a validated CHECK (col IS NOT NULL) constraint: scans every row under an ACCESS EXCLUSIVE lock.",
	"Add CONSTRAINT ... CHECK (col IS NOT NULL) NOT VALID, run ALTER TABLE ... VALIDATE CONSTRAINT in a later revision (it does not block reads or writes), then SET NOT NULL, which then skips the scan, and drop the CHECK constraint."},
	{"volatile-default", LINT_ERROR, true,
		"ADD COLUMN whose value must be computed per row -- a volatile default, serial, identity, a stored generated column or a domain with constraints: rewrites the table.",
	"Add the column without a default (or with a constant one: PostgreSQL 11 and later store it without a rewrite), set the default for new rows with ALTER COLUMN ... SET DEFAULT, and fill the existing rows in batches with CALL migrate.backfill()."},
	{"column-type-change", LINT_ERROR, true,
		"ALTER COLUMN ... TYPE that is not binary coercible: rewrites the table and its indexes under an ACCESS EXCLUSIVE lock.",
	"Expand and contract: add a column of the new type, keep both in step with a trigger, fill it with CALL migrate.backfill(), move the code to it, and drop the old column in a later revision.  Changes that keep the stored data -- varchar(n) to varchar(m) with m > n or to text, dropping a length limit, numeric(p,s) to numeric(q,s) with q > p -- need none of this."},
	{"add-unique-without-index", LINT_ERROR, true,
		"ADD UNIQUE constraint (or a UNIQUE column) without USING INDEX: builds the index under an ACCESS EXCLUSIVE lock.",
	"Build the index first with CREATE UNIQUE INDEX CONCURRENTLY in a transactional => false revision run by CALL migrate.deploy(), then add the constraint with ALTER TABLE ... ADD CONSTRAINT ... UNIQUE USING INDEX, which takes only a brief lock."},
	{"add-primary-key-without-index", LINT_ERROR, true,
		"ADD PRIMARY KEY (or a PRIMARY KEY column) without USING INDEX: builds the index and checks for NULLs under an ACCESS EXCLUSIVE lock.",
	"Build the index first with CREATE UNIQUE INDEX CONCURRENTLY in a transactional => false revision run by CALL migrate.deploy(), make the key columns NOT NULL the safe way (see set-not-null), then add the key with ALTER TABLE ... ADD CONSTRAINT ... PRIMARY KEY USING INDEX."},
	{"vacuum-full", LINT_ERROR, true,
		"VACUUM FULL: rewrites the table under an ACCESS EXCLUSIVE lock.",
	"Run plain VACUUM, which blocks neither reads nor writes; to give space back to the operating system, use an online tool such as pg_repack outside the migration."},
	{"cluster", LINT_ERROR, true,
		"CLUSTER: rewrites the table under an ACCESS EXCLUSIVE lock.",
	"Leave the physical order to an online tool such as pg_repack, run outside the migration."},
	{"rename-column", LINT_WARNING, true,
		"RENAME COLUMN: running code that still uses the old name breaks.",
	"Expand and contract: add the new column, keep both in step with a trigger, fill it with CALL migrate.backfill(), move the code to the new name, and drop the old column in a later revision."},
	{"rename-table", LINT_WARNING, true,
		"RENAME of a table: running code that still uses the old name breaks.",
	"Rename the table and create a view with the old name in the same revision (a simple view is updatable), move the code to the new name, then drop the view in a later revision."},
	{"drop-column", LINT_WARNING, true,
		"DROP COLUMN: its data is lost, and running code that still uses it breaks.",
	"First deploy code that no longer reads or writes the column, then drop it in a later revision whose downgrade says that the data does not come back (or that has no downgrade)."},
	{"drop-table", LINT_WARNING, true,
		"DROP TABLE: its data is lost, and running code that still uses it breaks.",
	"Make sure no running code uses the table, keep a copy if the data may be needed again, and let the revision's downgrade say that the data does not come back (or register it without a downgrade)."},
	{"lock-table", LINT_WARNING, true,
		"LOCK TABLE in SHARE mode or stronger: blocks writes (ACCESS EXCLUSIVE: reads too) until the transaction ends.",
	"Do not lock tables explicitly in a revision; if a lock is really needed, set lock_timeout before it and keep the revision short."},
	{"enum-recreate", LINT_WARNING, true,
		"An enum type changed by DROP TYPE (or ALTER TYPE ... RENAME) and CREATE TYPE of the same name: every column of the type is dropped or converted, rewriting its table.",
	"Add values with ALTER TYPE ... ADD VALUE and rename them with ALTER TYPE ... RENAME VALUE; neither touches a table.  A value cannot be removed without converting the columns: leave it unused, or move the data to a new column (expand and contract)."},
	{"missing-lock-timeout", LINT_WARNING, true,
		"ALTER TABLE that takes a lock blocking writes, with no lock_timeout set before it (in the SQL, the session or pg_migrate.lock_timeout): while it waits behind a long query, every query on the table queues behind it.",
	"Start the revision with SET lock_timeout = '2s', or set pg_migrate.lock_timeout (pg_migrate then retries the statement), so that the statement gives up its place in the lock queue instead of stalling traffic; CALL migrate.deploy() always uses a lock timeout."},
	{"bad-waiver", LINT_INFO, false,
		"A pg_migrate:allow comment that names no rule, an unknown rule, or gives no reason: it silences nothing.",
	"Write the waiver as -- pg_migrate:allow <rule> <reason>, with a rule id from migrate.lint_rules() and the reason the finding is acceptable."},
};

/*
 * pgm_lint_rules: the rule table.
 */
const LintRule *
pgm_lint_rules(int *n)
{
	*n = lengthof(rules);
	return rules;
}

/*
 * pgm_lint_rule: the rule with this id, or NULL.
 */
const LintRule *
pgm_lint_rule(const char *id)
{
	for (int i = 0; i < lengthof(rules); i++)
		if (strcmp(rules[i].id, id) == 0)
			return &rules[i];
	return NULL;
}

const char *
pgm_lint_severity_name(LintSeverity s)
{
	switch (s)
	{
		case LINT_INFO:
			return "info";
		case LINT_WARNING:
			return "warning";
		case LINT_ERROR:
			return "error";
	}
	return "?";
}

/*
 * pgm_lint_add: record a finding of the current statement.  hint NULL:
 * the rule's own.
 */
LintFinding *
pgm_lint_add(LintState *st, const char *rule, const char *table, double rows,
			 const char *hint, const char *fmt,...)
{
	LintFinding *f = palloc0(sizeof(LintFinding));
	StringInfoData buf;

	f->rule = pgm_lint_rule(rule);
	if (f->rule == NULL)
		elog(ERROR, "pg_migrate: unknown lint rule \"%s\"", rule);
	initStringInfo(&buf);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&buf, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&buf, needed);
	}
	f->statement = st->statement;
	f->line = st->line;
	f->message = buf.data;
	f->hint = hint ? pstrdup(hint) : f->rule->hint;
	f->table = table ? pstrdup(table) : NULL;
	f->rows = table ? rows : -1;
	st->findings = lappend(st->findings, f);
	return f;
}

/*
 * pgm_lint_try: run fn(arg) in a subtransaction.  An error rolls it back
 * and returns false -- unless it is a cancel, a shutdown or out of memory,
 * which go on.
 */
bool
pgm_lint_try(void (*fn) (void *), void *arg)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	volatile bool ok = true;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		fn(arg);
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
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		if (ERRCODE_TO_CATEGORY(edata->sqlerrcode) == ERRCODE_OPERATOR_INTERVENTION ||
			ERRCODE_TO_CATEGORY(edata->sqlerrcode) == ERRCODE_INSUFFICIENT_RESOURCES)
			ReThrowError(edata);
		ereport(DEBUG1,
				(errmsg_internal("pg_migrate lint: a check was skipped: %s",
								 edata->message)));
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

/*
 * parse: raw_parser, with a syntax error pointing into the SQL text.
 */
static List *
parse(const char *sql, const char *where)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	List	   *raw = NIL;

	PG_TRY();
	{
		raw = raw_parser(sql, RAW_PARSE_DEFAULT);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		if (edata->cursorpos > 0)
		{
			edata->internalpos = edata->cursorpos;
			edata->internalquery = pstrdup(sql);
			edata->cursorpos = 0;
		}
		edata->context = pstrdup(where);
		ReThrowError(edata);
	}
	PG_END_TRY();
	return raw;
}

typedef struct StatementArgs
{
	LintState  *st;
	Node	   *stmt;
} StatementArgs;

static void
lint_one(void *p)
{
	StatementArgs *a = (StatementArgs *) p;

	pgm_lint_statement(a->st, a->stmt);
}

/*
 * apply_waivers: mark the findings of the current statement (from index
 * first on) that a waiver names; a malformed waiver is a finding itself.
 */
static void
apply_waivers(LintState *st, List *waivers, int first)
{
	ListCell   *lc;

	foreach(lc, waivers)
	{
		LintWaiver *w = (LintWaiver *) lfirst(lc);
		int			line = st->line;

		st->line = w->line;
		if (w->rule == NULL)
			pgm_lint_add(st, "bad-waiver", NULL, -1, NULL,
						 "waiver on line %d names no rule", w->line);
		else if (pgm_lint_rule(w->rule) == NULL)
			pgm_lint_add(st, "bad-waiver", NULL, -1, NULL,
						 "waiver on line %d names unknown rule \"%s\"",
						 w->line, w->rule);
		else if (w->reason == NULL)
			pgm_lint_add(st, "bad-waiver", NULL, -1, NULL,
						 "waiver of rule %s on line %d gives no reason, so it silences nothing",
						 w->rule, w->line);
		else
		{
			for (int i = first; i < list_length(st->findings); i++)
			{
				LintFinding *f = (LintFinding *) list_nth(st->findings, i);

				if (!f->waived && strcmp(f->rule->id, w->rule) == 0)
				{
					f->waived = true;
					f->reason = w->reason;
				}
			}
		}
		st->line = line;
	}
}

/*
 * lint_text: the findings (LintFinding) of an SQL text, by statement.
 * deploy: the text will run in migrate.deploy(), which sets a lock timeout.
 * rules: false checks the waivers only.
 */
static List *
lint_text(const char *sql, bool deploy, bool rules)
{
	List	   *raw = parse(sql, "SQL text given to lint");
	List	   *comments = pgm_lint_scan_comments(sql);
	LintState	st;
	ListCell   *lc;
	int			pos = 0;
	int			line = 1;
	int			len = strlen(sql);

	memset(&st, 0, sizeof(st));
	st.sql = sql;
	st.min_rows = pgm_lint_min_rows;
	st.deploy = deploy;
	st.text_lock_timeout = -1;

	foreach(lc, raw)
	{
		RawStmt    *rs = lfirst_node(RawStmt, lc);
		int			start = pgm_lint_skip_blanks(sql, rs->stmt_location);
		int			end = rs->stmt_len > 0 ? rs->stmt_location + rs->stmt_len : len;
		int			last_line;
		int			first = list_length(st.findings);
		StatementArgs a;

		if (start > len)
			start = len;
		if (end > len)
			end = len;
		for (; pos < start; pos++)
			if (sql[pos] == '\n')
				line++;
		last_line = line;
		for (int i = start; i < end; i++)
			if (sql[i] == '\n')
				last_line++;

		st.statement++;
		st.line = line;
		a.st = &st;
		a.stmt = rs->stmt;
		if (rules)
			(void) pgm_lint_try(lint_one, &a);
		apply_waivers(&st, pgm_lint_waivers_for(comments, line, last_line), first);
		CHECK_FOR_INTERRUPTS();
	}
	return st.findings;
}

/*
 * pgm_lint_sql: the findings of an SQL text, every rule applied.
 */
List *
pgm_lint_sql(const char *sql, bool deploy)
{
	return lint_text(sql, deploy, true);
}

/*
 * report: a NOTICE for one finding of a revision.
 */
static void
report(const char *revision, const LintFinding *f)
{
	if (f->table)
		ereport(NOTICE,
				(errmsg("lint %s in revision \"%s\", statement %d (line %d): %s",
						f->rule->id, revision, f->statement, f->line, f->message),
				 errdetail("Severity %s: %s has about %.0f rows, and pg_migrate.lint_min_rows is %d.",
						   pgm_lint_severity_name(f->rule->severity), f->table,
						   f->rows, pgm_lint_min_rows),
				 errhint("%s", f->hint)));
	else
		ereport(NOTICE,
				(errmsg("lint %s in revision \"%s\", statement %d (line %d): %s",
						f->rule->id, revision, f->statement, f->line, f->message),
				 errdetail("Severity %s.", pgm_lint_severity_name(f->rule->severity)),
				 errhint("%s", f->hint)));
}

/*
 * pgm_lint_revision: lint a revision's upgrade SQL before it runs.  With
 * pg_migrate.lint = warn, a NOTICE per unwaived finding; with error, the
 * same NOTICEs and then an error refusing the revision when any of them
 * has severity error or warning.  The caller has run nothing yet.
 */
void
pgm_lint_revision(const char *revision_id, const char *sql, PgmRunMode mode)
{
	List	   *findings;
	ListCell   *lc;
	StringInfoData ids;
	int			counted = 0;

	if (pgm_lint_mode == PGM_LINT_OFF || sql == NULL)
		return;
	findings = pgm_lint_sql(sql, mode == PGM_RUN_DEPLOY);
	initStringInfo(&ids);
	foreach(lc, findings)
	{
		LintFinding *f = (LintFinding *) lfirst(lc);
		char	   *quoted;

		if (f->waived)
			continue;
		report(revision_id, f);
		if (f->rule->severity == LINT_INFO)
			continue;
		counted++;
		quoted = psprintf(" %s,", f->rule->id);
		if (strstr(ids.data, quoted) == NULL)
			appendStringInfoString(&ids, quoted);
	}
	if (pgm_lint_mode == PGM_LINT_ERROR && counted > 0)
	{
		ids.data[ids.len - 1] = '\0';	/* the last comma */
		ereport(ERROR,
				(errcode(ERRCODE_PGM_LINT_REFUSED),
				 errmsg("revision \"%s\" is refused by lint:%s", revision_id, ids.data),
				 errdetail(counted == 1 ?
						   "pg_migrate.lint is error and the upgrade SQL has %d unwaived finding, shown in the notice above; nothing was run." :
						   "pg_migrate.lint is error and the upgrade SQL has %d unwaived findings, shown in the notices above; nothing was run.",
						   counted),
				 errhint("Follow the hints, or waive a finding that is intended with a comment \"-- pg_migrate:allow <rule> <reason>\" on the line before its statement, or run with pg_migrate.lint = warn.")));
	}
}

/*
 * pgm_lint_registered: at registration of new or changed content, report
 * the malformed waivers of its upgrade SQL.  The rules themselves wait for
 * the upgrade: at registration the tables the SQL touches often do not
 * exist yet or are small (a development database), and migrate.revision()
 * runs with a pinned search_path, under which the SQL's names do not
 * resolve as they will when it runs.  A malformed waiver, by contrast, is
 * a mistake of the text that would otherwise surface only where the tables
 * are big.  Never refuses a registration.
 */
void
pgm_lint_registered(const char *revision_id, const char *sql)
{
	ListCell   *lc;

	if (pgm_lint_mode == PGM_LINT_OFF || sql == NULL || sql[0] == '\0')
		return;
	foreach(lc, lint_text(sql, false, false))
		report(revision_id, (LintFinding *) lfirst(lc));
}

/*
 * pgm_lint_define_gucs: pg_migrate.lint and pg_migrate.lint_min_rows.
 */
void
pgm_lint_define_gucs(void)
{
	DefineCustomEnumVariable("pg_migrate.lint",
							 "What lint does with the findings of a revision at upgrade: off, warn (a NOTICE each) or error (refuse the revision).",
							 "Waived findings never count; findings of severity info never refuse.",
							 &pgm_lint_mode,
							 PGM_LINT_WARN,
							 lint_options,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("pg_migrate.lint_min_rows",
							"Tables with fewer estimated rows than this give no lint findings.",
							"0 reports findings on every existing table.",
							&pgm_lint_min_rows,
							10000,
							0, INT_MAX,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);
}

PG_FUNCTION_INFO_V1(pgm_lint);

/*
 * migrate.lint(sql text) RETURNS TABLE (statement, line, rule, severity,
 * message, hint, table_name, estimated_rows, waived, waiver_reason)
 */
Datum
pgm_lint(PG_FUNCTION_ARGS)
{
	TupleDesc	td;
	Tuplestorestate *ts = pgm_srf_begin(fcinfo, &td);
	char	   *sql = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ListCell   *lc;

	foreach(lc, pgm_lint_sql(sql, false))
	{
		LintFinding *f = (LintFinding *) lfirst(lc);
		Datum		v[10];
		bool		nl[10] = {0};

		v[0] = Int32GetDatum(f->statement);
		v[1] = Int32GetDatum(f->line);
		v[2] = CStringGetTextDatum(f->rule->id);
		v[3] = CStringGetTextDatum(pgm_lint_severity_name(f->rule->severity));
		v[4] = CStringGetTextDatum(f->message);
		v[5] = CStringGetTextDatum(f->hint);
		v[6] = f->table ? CStringGetTextDatum(f->table) : (Datum) 0;
		nl[6] = f->table == NULL;
		v[7] = Int64GetDatum((int64) f->rows);
		nl[7] = f->table == NULL;
		v[8] = BoolGetDatum(f->waived);
		v[9] = f->reason ? CStringGetTextDatum(f->reason) : (Datum) 0;
		nl[9] = f->reason == NULL;
		tuplestore_putvalues(ts, td, v, nl);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(pgm_lint_rules_srf);

/*
 * migrate.lint_rules() RETURNS TABLE (rule, severity, weighed, description,
 * hint)
 */
Datum
pgm_lint_rules_srf(PG_FUNCTION_ARGS)
{
	TupleDesc	td;
	Tuplestorestate *ts = pgm_srf_begin(fcinfo, &td);

	for (int i = 0; i < lengthof(rules); i++)
	{
		Datum		v[5];
		bool		nl[5] = {0};

		v[0] = CStringGetTextDatum(rules[i].id);
		v[1] = CStringGetTextDatum(pgm_lint_severity_name(rules[i].severity));
		v[2] = BoolGetDatum(rules[i].weighed);
		v[3] = CStringGetTextDatum(rules[i].what);
		v[4] = CStringGetTextDatum(rules[i].hint);
		tuplestore_putvalues(ts, td, v, nl);
	}
	return (Datum) 0;
}
