/*-------------------------------------------------------------------------
 *
 * sqlsplit.c
 *	  Revision SQL split into statements by PostgreSQL's own parser
 *	  (raw_parser, statement locations), each statement classified.
 *
 * Registration uses it to refuse what can never run inside a revision --
 * psql meta-commands, COPY from or to the client, transaction control --
 * and statements that cannot run inside a transaction block unless the
 * revision says transactional => false.  A transactional => false revision,
 * which CALL migrate.deploy() runs in a background worker statement by
 * statement with a commit after each, may hold only such statements (and
 * CALL migrate.backfill(), which commits per batch): an ordinary statement
 * there would commit on its own, half a change.  The runner uses it to
 * execute a revision statement by statement, so an error can name the
 * statement.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "tcop/cmdtag.h"
#include "tcop/utility.h"
#include "utils/memutils.h"

#include "sqlsplit.h"

/*
 * meta_command_line: the 1-based number of the first line that starts (after
 * blanks) with a backslash, or 0.
 */
static int
meta_command_line(const char *sql, char **line_out)
{
	int			lineno = 1;
	const char *p = sql;

	while (*p)
	{
		const char *q = p;

		while (*q == ' ' || *q == '\t')
			q++;
		if (*q == '\\')
		{
			const char *e = strchr(q, '\n');

			*line_out = pnstrdup(q, e ? e - q : strlen(q));
			return lineno;
		}
		p = strchr(p, '\n');
		if (p == NULL)
			break;
		p++;
		lineno++;
	}
	return 0;
}

/*
 * statement_kind: a short description of a raw statement, and whether it
 * cannot run inside a transaction block.
 */
static const char *
statement_kind(Node *stmt, bool *nontransactional)
{
	*nontransactional = false;
	switch (nodeTag(stmt))
	{
		case T_IndexStmt:
			if (((IndexStmt *) stmt)->concurrent)
			{
				*nontransactional = true;
				return "CREATE INDEX CONCURRENTLY";
			}
			break;
		case T_DropStmt:
			if (((DropStmt *) stmt)->concurrent)
			{
				*nontransactional = true;
				return "DROP INDEX CONCURRENTLY";
			}
			break;
		case T_ReindexStmt:
			{
#if PG_VERSION_NUM >= 140000
				ListCell   *lc;

				foreach(lc, ((ReindexStmt *) stmt)->params)
				{
					DefElem    *opt = (DefElem *) lfirst(lc);

					if (strcmp(opt->defname, "concurrently") == 0)
					{
						*nontransactional = true;
						return "REINDEX CONCURRENTLY";
					}
				}
#else
				if (((ReindexStmt *) stmt)->concurrent)
				{
					*nontransactional = true;
					return "REINDEX CONCURRENTLY";
				}
#endif
				break;
			}
		case T_VacuumStmt:
			if (((VacuumStmt *) stmt)->is_vacuumcmd)
			{
				*nontransactional = true;
				return "VACUUM";
			}
			break;
		case T_ClusterStmt:
			if (((ClusterStmt *) stmt)->relation == NULL)
			{
				*nontransactional = true;
				return "CLUSTER";
			}
			break;
		case T_CreatedbStmt:
		case T_DropdbStmt:
		case T_AlterSystemStmt:
		case T_CreateTableSpaceStmt:
		case T_DropTableSpaceStmt:
			*nontransactional = true;
			break;
		default:
			break;
	}
	return GetCommandTagName(CreateCommandTag(stmt));
}

/*
 * worker_statement: may the statement run in a transactional => false
 * revision?  The non-transactional index and vacuum commands, and CALL
 * migrate.backfill(...), which commits per batch when called at top level.
 */
static bool
worker_statement(Node *stmt, const char *kind, bool nontransactional)
{
	if (nontransactional)
		return strcmp(kind, "CREATE INDEX CONCURRENTLY") == 0 ||
			strcmp(kind, "DROP INDEX CONCURRENTLY") == 0 ||
			strcmp(kind, "REINDEX CONCURRENTLY") == 0 ||
			strcmp(kind, "VACUUM") == 0;
	if (IsA(stmt, CallStmt))
	{
		List	   *name = ((CallStmt *) stmt)->funccall->funcname;

		return list_length(name) == 2 &&
			strcmp(strVal(linitial(name)), "migrate") == 0 &&
			strcmp(strVal(lsecond(name)), "backfill") == 0;
	}
	return false;
}

/*
 * first_line_of: the first line of a statement that is not blank or a
 * comment, cut to 80 characters; *lineno advances to that line.
 */
static char *
first_line_of(const char *text, int *lineno)
{
	const char *p = text;

	for (;;)
	{
		const char *e;

		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (*p == '\n')
		{
			p++;
			(*lineno)++;
			continue;
		}
		if (p[0] == '-' && p[1] == '-')
		{
			e = strchr(p, '\n');
			if (e == NULL)
				return pstrdup("");
			p = e + 1;
			(*lineno)++;
			continue;
		}
		e = p;
		while (*e && *e != '\n' && *e != '\r')
			e++;
		if (e - p > 80)
			return psprintf("%.77s...", p);
		return pnstrdup(p, e - p);
	}
}

/*
 * pgm_split_sql: the statements of a body, in order.
 */
List *
pgm_split_sql(const char *sql, const char *what, const char *revision)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	List	   *raw = NIL;
	List	   *out = NIL;
	ListCell   *lc;
	int			number = 0;
	int			lineno = 1;
	int			consumed = 0;

	PG_TRY();
	{
		raw = raw_parser(sql, RAW_PARSE_DEFAULT);
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		char	   *meta = NULL;
		int			metaline;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		metaline = meta_command_line(sql, &meta);
		if (metaline > 0)
			ereport(ERROR,
					(errcode(ERRCODE_SYNTAX_ERROR),
					 errmsg("%s SQL of revision \"%s\" contains a psql meta-command on line %d: %s",
							what, revision, metaline, meta),
					 errdetail("Revision SQL runs inside the server, where psql commands such as \\i, \\connect or \\set do not exist."),
					 errhint("Write the SQL itself into the revision; include files by registering them as revisions of their own.")));
		/* point the error into the body, not into the calling query */
		if (edata->cursorpos > 0)
		{
			edata->internalpos = edata->cursorpos;
			edata->internalquery = pstrdup(sql);
			edata->cursorpos = 0;
		}
		edata->context = psprintf("%s SQL of revision \"%s\"", what, revision);
		ReThrowError(edata);
	}
	PG_END_TRY();

	foreach(lc, raw)
	{
		RawStmt    *rs = lfirst_node(RawStmt, lc);
		PgmStmt    *st = palloc0(sizeof(PgmStmt));
		int			len = rs->stmt_len > 0 ? rs->stmt_len :
		(int) strlen(sql) - rs->stmt_location;

		/* count the lines between the previous statement and this one */
		for (int i = consumed; i < rs->stmt_location; i++)
			if (sql[i] == '\n')
				lineno++;
		consumed = rs->stmt_location;

		st->number = ++number;
		st->lineno = lineno;
		st->text = pnstrdup(sql + rs->stmt_location, len);
		st->first_line = first_line_of(st->text, &st->lineno);
		/* leading blank lines and indentation are not part of the statement */
		while (isspace((unsigned char) st->text[0]))
			st->text++;
		st->kind = statement_kind(rs->stmt, &st->nontransactional);
		st->worker_ok = worker_statement(rs->stmt, st->kind, st->nontransactional);
		st->transaction_control = IsA(rs->stmt, TransactionStmt);
		st->copy_client = IsA(rs->stmt, CopyStmt) &&
			((CopyStmt *) rs->stmt)->filename == NULL &&
			!((CopyStmt *) rs->stmt)->is_program;
		out = lappend(out, st);
	}
	return out;
}

/*
 * pgm_check_revision_sql: refuse, at registration, what a revision can never
 * run: COPY from or to the client, transaction control, in a revision that
 * runs inside a transaction statements that cannot, and in the upgrade SQL
 * of one that does not (transactional => false) any other statement.  The
 * downgrade SQL of such a revision runs in migrate.downgrade(), inside a
 * transaction, so it is held to the first rule only.
 */
void
pgm_check_revision_sql(const char *sql, const char *what, const char *revision,
					   bool transactional)
{
	List	   *stmts = pgm_split_sql(sql, what, revision);
	ListCell   *lc;

	foreach(lc, stmts)
	{
		PgmStmt    *st = (PgmStmt *) lfirst(lc);

		if (st->copy_client)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("%s SQL of revision \"%s\", statement %d: COPY from or to the client cannot run inside a revision",
							what, revision, st->number),
					 errdetail("Statement %d, line %d: %s", st->number, st->lineno, st->first_line),
					 errhint("Load data with INSERT ... VALUES, or COPY from a file on the database server.")));
		if (st->transaction_control)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TRANSACTION_TERMINATION),
					 errmsg("%s SQL of revision \"%s\", statement %d: %s is not allowed in a revision",
							what, revision, st->number, st->kind),
					 errdetail("Statement %d, line %d: %s", st->number, st->lineno, st->first_line),
					 errhint("pg_migrate runs each revision inside a transaction of its own making; remove the transaction control statements.")));
		if (st->nontransactional && transactional)
			ereport(ERROR,
					(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
					 errmsg("%s SQL of revision \"%s\", statement %d: %s cannot run inside a transaction block",
							what, revision, st->number, st->kind),
					 errdetail("Statement %d, line %d: %s", st->number, st->lineno, st->first_line),
					 errhint("Register the revision with transactional => false; such revisions run with CALL migrate.deploy().")));
		if (!transactional && !st->worker_ok && strcmp(what, "upgrade") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("%s SQL of revision \"%s\", statement %d: %s is not allowed in a revision with transactional => false",
							what, revision, st->number, st->kind),
					 errdetail("Statement %d, line %d: %s", st->number, st->lineno, st->first_line),
					 errhint("Such a revision runs outside a transaction block, each statement committing on its own, so it may hold only CREATE INDEX CONCURRENTLY, REINDEX CONCURRENTLY, DROP INDEX CONCURRENTLY, VACUUM and CALL migrate.backfill(); move the other statements into a revision of their own.")));
	}
}
