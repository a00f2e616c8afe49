/*-------------------------------------------------------------------------
 *
 * retry_policy.h
 *	  The lock-timeout retry policy as pure arithmetic: which lock_timeout
 *	  a statement runs with, and how long to wait before each retry.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGM_RETRY_POLICY_H
#define PGM_RETRY_POLICY_H

#include "mg_core.h"

/* pg_migrate.lock_timeout = -1: the default of the run mode */
#define PGM_LOCK_TIMEOUT_DEFAULT		(-1)
/* ... which is this for CALL migrate.deploy() (and off for upgrade()) */
#define PGM_DEPLOY_LOCK_TIMEOUT_MS		2000
/* the longest wait between two attempts, unless the base is longer */
#define PGM_LOCK_BACKOFF_CAP_MS			10000

extern int	pgm_lock_timeout_for(int setting_ms, bool deploy);
extern int	pgm_lock_backoff_ceiling(int base_ms, int retry);
extern int	pgm_lock_backoff_ms(int base_ms, int retry, double u);

#endif							/* PGM_RETRY_POLICY_H */
