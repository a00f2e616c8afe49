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

extern void pgm_refuse_nested(const char *function);

#include "catalog.h"
#include "storage/lock.h"
#include "datatype/timestamp.h"

/* One step of a run, copied out of the graph cache before anything runs. */
typedef struct RunStep
{
	char	   *id;
	char	   *message;
	char	   *sql;			/* upgrade or downgrade SQL (NULL: none) */
	char	   *verify;
	char	   *checksum;
	bool		transactional;
	bool		has_body;
} RunStep;

/* Who runs a revision: upgrade()/downgrade() in the caller's transaction, or deploy() */
typedef enum PgmRunMode
{
	PGM_RUN_CALLER_XACT,
	PGM_RUN_DEPLOY
} PgmRunMode;

/*
 * Incremented each time pgm_run_revision() starts a revision: tells one
 * revision's statements from the next one's in the same transaction.
 */
extern uint64 pgm_revision_serial;

extern void pgm_acquire_migration_lock(void);
extern void pgm_wait_for_lock(const LOCKTAG *tag, bool session_lock,
							  const char *detail);
extern void pgm_set_running(bool on);
extern void pgm_run_revision(const RunStep *s, int stepno, int nsteps,
							 bool upgrade, PgmRunMode mode);
extern RunStep *pgm_copy_steps(MgGraph *g, const MgIntList *plan, bool upgrade);
extern void pgm_run_verify(const RunStep *s);
extern void pgm_record_steps(const PgmWho *who, const RunStep *steps, int n,
							 bool upgrade, const char *target,
							 const int64 *durations_us, const TimestampTz *ended);

#endif							/* PGM_RUNNER_H */
