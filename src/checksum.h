/*-------------------------------------------------------------------------
 *
 * checksum.h
 *	  Revision content and its SHA-256 checksum.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGM_CHECKSUM_H
#define PGM_CHECKSUM_H

/* The content of a revision as registered. */
typedef struct PgmContent
{
	char	   *id;
	char	  **parents;
	int			nparents;
	bool		parents_omitted;
	char	  **deps;
	int			ndeps;
	char	  **labels;
	int			nlabels;
	char	   *message;
	char	   *upgrade;
	char	   *downgrade;
	char	   *verify;
	bool		transactional;
} PgmContent;

extern char *pgm_checksum(const PgmContent *c, bool for_generated_id);

#endif							/* PGM_CHECKSUM_H */
