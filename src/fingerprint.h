/*-------------------------------------------------------------------------
 *
 * fingerprint.h
 *	  The catalog definition of schemas as sorted, normalized lines, and
 *	  their SHA-256: migrate.describe() and migrate.fingerprint().
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGM_FINGERPRINT_H
#define PGM_FINGERPRINT_H

#include "postgres.h"

#include "utils/array.h"

/* One normalized line: what kind of object, which one, its definition. */
typedef struct PgmFpLine
{
	char	   *kind;
	char	   *object;
	char	   *definition;
} PgmFpLine;

/* The lines of a set of schemas, sorted, and the hex SHA-256 over them. */
typedef struct PgmFp
{
	int			n;
	PgmFpLine  *lines;
	char		hash[65];
} PgmFp;

/*
 * The schemas a text[] argument names, as a Datum of oid[]; NULL (the
 * argument was NULL) means every schema but the system ones and migrate.
 */
extern Datum pgm_fp_schemas(ArrayType *names, bool *isnull);

/*
 * Describe and hash the schemas (from pgm_fp_schemas); SPI must be
 * connected.  The result is allocated in the current memory context.
 */
extern PgmFp *pgm_fp_compute(Datum schemas, bool schemas_null);

/*
 * In words, what differs between an expected and an actual fingerprint
 * (at most "limit" differences named), or NULL when the lines are equal.
 */
extern char *pgm_fp_diff(const PgmFp *expected, const PgmFp *actual, int limit);

#endif							/* PGM_FINGERPRINT_H */
