/*-------------------------------------------------------------------------
 *
 * retry.h
 *	  Running one statement of a revision, with the lock-timeout policy.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGM_RETRY_H
#define PGM_RETRY_H

#include "runner.h"
#include "sqlsplit.h"

extern void pgm_execute_statement(const PgmStmt *st, PgmRunMode mode);

#endif							/* PGM_RETRY_H */
