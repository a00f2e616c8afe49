/*-------------------------------------------------------------------------
 *
 * retry.c
 *	  Running one statement of a revision through SPI, as the calling user.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"

#include "retry.h"

/*
 * pgm_execute_statement: run one statement of a revision.  The caller is
 * connected to SPI and has named the statement in its error context.
 */
void
pgm_execute_statement(const PgmStmt *st, PgmRunMode mode)
{
	int			rc;

	rc = SPI_execute(st->text, false, 0);
	if (rc < 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("statement cannot run inside a revision: %s",
						SPI_result_code_string(rc))));
	SPI_freetuptable(SPI_tuptable);
}
