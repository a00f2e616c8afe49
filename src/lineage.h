/*-------------------------------------------------------------------------
 *
 * lineage.h
 *	  Lineage recording: the revision running now and the drift setting.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGM_LINEAGE_H
#define PGM_LINEAGE_H

/* pg_migrate.drift */
typedef enum PgmDrift
{
	PGM_DRIFT_OFF,
	PGM_DRIFT_RECORD,
	PGM_DRIFT_ERROR
} PgmDrift;

extern int	pgm_drift;
extern char *pgm_managed_schemas;

/* Set by the runner while a revision's SQL runs; NULL otherwise. */
extern const char *pgm_lineage_revision;
extern const char *pgm_lineage_direction;

extern void pgm_lineage_begin_run(void);
extern void pgm_lineage_end_run(void);
extern void pgm_lineage_reset(void);
extern int	pgm_lineage_mark(void);
extern void pgm_lineage_rewind(int mark);
extern void pgm_lineage_pin(const char *revision, const char *direction);

#endif							/* PGM_LINEAGE_H */
