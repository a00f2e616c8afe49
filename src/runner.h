/*-------------------------------------------------------------------------
 *
 * runner.h
 *	  Running revisions: settings and the guard against nested runs.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGM_RUNNER_H
#define PGM_RUNNER_H

/* pg_migrate.quiet: no NOTICE per step */
extern bool pgm_quiet;

/* pg_migrate.migration_lock_timeout: ms to wait for another migrator */
extern int	pgm_migration_lock_timeout;

extern bool pgm_runner_active(void);
extern void pgm_refuse_nested(const char *function);

#endif							/* PGM_RUNNER_H */
