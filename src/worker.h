/*-------------------------------------------------------------------------
 *
 * worker.h
 *	  Running a transactional => false revision in a background worker.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGM_WORKER_H
#define PGM_WORKER_H

#include "postgres.h"

#include "runner.h"

/* pg_migrate.worker_timeout: ms to wait for a worker (0: no limit) */
extern int	pgm_worker_timeout;

extern void pgm_worker_define_gucs(void);

/* What a worker needs, gathered before the caller commits. */
typedef struct PgmWorkerJob PgmWorkerJob;

/*
 * Gather the job for step s (the calling user, the caller's settings, the
 * statements).  Uses SPI and the catalog: call it before the commit that
 * precedes pgm_worker_run().  The job is allocated in the current memory
 * context, which must outlive that commit.
 */
extern PgmWorkerJob *pgm_worker_prepare(const RunStep *s, int stepno,
										int nsteps);

/*
 * Run the job in a background worker and wait for it, at most
 * pg_migrate.worker_timeout.  The caller holds no snapshot and no lock the
 * worker could wait for: call it right after a commit, with no SPI call or
 * catalog access in between.  On failure an invalid index the revision
 * left behind is dropped (by another worker) and the worker's error is
 * raised with its SQLSTATE and the revision, step and statement in the
 * context.
 */
extern void pgm_worker_run(PgmWorkerJob *job);

#endif							/* PGM_WORKER_H */
