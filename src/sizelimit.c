/*-------------------------------------------------------------------------
 *
 * sizelimit.c
 *	  pg_migrate.max_revision_size: the largest revision (upgrade,
 *	  downgrade and verify SQL together) that migrate.revision() accepts.
 *
 * Registering a revision parses its SQL, and running it parses it again
 * and keeps every statement: on PostgreSQL 15 that takes about twenty
 * times the SQL's size in the backend's memory (a 100 MB revision of small
 * INSERTs peaks at about 2 GB).  One such revision can push a server into
 * the out-of-memory killer, which restarts every backend.  So revision()
 * refuses anything larger than the setting, before parsing it, with an
 * error that says what to do instead.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"

#include "sizelimit.h"

/* 16 MB: a 10 MB data revision still fits, at about 240 MB of memory. */
int			pgm_max_revision_size = 16 * 1024;

/*
 * pgm_sizelimit_define_gucs: define pg_migrate.max_revision_size (called
 * from _PG_init).
 */
void
pgm_sizelimit_define_gucs(void)
{
	DefineCustomIntVariable("pg_migrate.max_revision_size",
							"The largest revision (upgrade, downgrade and verify SQL together) migrate.revision() accepts.",
							"0 accepts any size up to 1 GB. Parsing and running a revision takes about twenty times its size in server memory.",
							&pgm_max_revision_size,
							16 * 1024,
							0, 1024 * 1024,
							PGC_USERSET,
							GUC_UNIT_KB,
							NULL, NULL, NULL);
}

/*
 * size_pretty: a byte count as pg_size_pretty() writes it.
 */
static char *
size_pretty(int64 bytes)
{
	return text_to_cstring(DatumGetTextPP(DirectFunctionCall1(pg_size_pretty,
															  Int64GetDatum(bytes))));
}

/*
 * pgm_check_revision_size: refuse a revision whose SQL is larger than
 * pg_migrate.max_revision_size (id NULL: a generated id).
 */
void
pgm_check_revision_size(const char *id, const char *upgrade,
						const char *downgrade, const char *verify)
{
	int64		total = 0;
	int64		limit = (int64) pgm_max_revision_size * 1024;

	if (pgm_max_revision_size <= 0)
		return;
	if (upgrade)
		total += strlen(upgrade);
	if (downgrade)
		total += strlen(downgrade);
	if (verify)
		total += strlen(verify);
	if (total <= limit)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("revision \"%s\" is too large: %s of SQL, the limit is %s",
					id ? id : "(generated id)", size_pretty(total), size_pretty(limit)),
			 errdetail("pg_migrate.max_revision_size limits the upgrade, downgrade and verify SQL of a revision together. Parsing and running a revision takes about twenty times its size in server memory."),
			 errhint("Split the revision into several, load bulk data with COPY outside the migration, or raise pg_migrate.max_revision_size for this session.")));
}
