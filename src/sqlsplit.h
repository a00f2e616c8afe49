/*-------------------------------------------------------------------------
 *
 * sqlsplit.h
 *	  Splitting revision SQL into statements with PostgreSQL's own parser,
 *	  and classifying them.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGM_SQLSPLIT_H
#define PGM_SQLSPLIT_H

#include "postgres.h"

#include "nodes/pg_list.h"

/* One statement of a revision's SQL. */
typedef struct PgmStmt
{
	char	   *text;			/* the statement as written */
	int			number;			/* 1-based position in the body */
	int			lineno;			/* line of the body where it starts */
	char	   *first_line;		/* its first line, for messages */
	const char *kind;			/* "CREATE INDEX CONCURRENTLY", "COMMIT" ... */
	bool		nontransactional;	/* cannot run inside a transaction block */
	bool		worker_ok;		/* may run in a transactional => false
								 * revision (deploy's background worker) */
	bool		transaction_control;	/* BEGIN, COMMIT, SAVEPOINT ... */
	bool		copy_client;	/* COPY FROM STDIN / TO STDOUT */
} PgmStmt;

/*
 * Split sql into statements (a List of PgmStmt *).  A syntax error is
 * raised pointing into the body; "what" and "revision" name it ("upgrade",
 * "r1") in the error context.
 */
extern List *pgm_split_sql(const char *sql, const char *what,
						   const char *revision);

/* Refuse statements a revision may not contain; see sqlsplit.c. */
extern void pgm_check_revision_sql(const char *sql, const char *what,
								   const char *revision, bool transactional);

#endif							/* PGM_SQLSPLIT_H */
