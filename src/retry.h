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

/* pg_migrate.lock_timeout (ms; -1 = the default of the mode, 0 = off) */
extern int	pgm_lock_timeout;

/* pg_migrate.lock_retries */
extern int	pgm_lock_retries;

/* pg_migrate.lock_backoff (ms) */
extern int	pgm_lock_backoff;

extern void pgm_retry_define_gucs(void);
extern int	pgm_statement_lock_timeout(PgmRunMode mode);
extern void pgm_execute_statement(const PgmStmt *st, PgmRunMode mode);

#endif							/* PGM_RETRY_H */
