/*-------------------------------------------------------------------------
 *
 * sizelimit.h
 *	  pg_migrate.max_revision_size: the largest revision migrate.revision()
 *	  accepts.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGM_SIZELIMIT_H
#define PGM_SIZELIMIT_H

/* pg_migrate.max_revision_size, in kB (0: no limit) */
extern int	pgm_max_revision_size;

extern void pgm_sizelimit_define_gucs(void);
extern void pgm_check_revision_size(const char *id, const char *upgrade,
									const char *downgrade, const char *verify);

#endif							/* PGM_SIZELIMIT_H */
