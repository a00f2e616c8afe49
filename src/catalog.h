/*-------------------------------------------------------------------------
 *
 * catalog.h
 *	  The catalog layer: the only code that knows the layout of the
 *	  migrate.* tables.  Reads and writes them through SPI and keeps a
 *	  per-backend graph cache.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGM_CATALOG_H
#define PGM_CATALOG_H

#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/tuplestore.h"
#include "graph.h"

/* Values the caller computes before any switch to the extension owner. */
typedef struct PgmWho
{
	char	   *current_user;
	char	   *session_user;
	char	   *application_name;
} PgmWho;

/* Saved identity around a catalog write done as the extension owner. */
typedef struct PgmOwnerSave
{
	Oid			userid;
	int			sec_context;
} PgmOwnerSave;

/* SPI with a kept plan per distinct SQL text; checks the return code. */
extern int	pgm_exec(const char *sql, int nargs, const Oid *types,
					 const Datum *values, const char *nulls, bool read_only,
					 long tcount, int expect);

/* The graph of the registered revisions with applied flags, cached. */
extern MgGraph *pgm_graph(bool fresh);

/* Same, validated: raises the graph's problem when it cannot be used. */
extern MgGraph *pgm_graph_ready(bool fresh);

/* Write functions call this first: they cannot run on a hot standby. */
extern void pgm_refuse_on_standby(const char *function);

/* Raise an MgError from the core with its SQLSTATE. */
extern void pgm_report(const MgError *err) pg_attribute_noreturn();

/* Before writing revisions or applied: serialize writers, keep the cache. */
extern void pgm_begin_write(void);
extern void pgm_cache_invalidate(void);
extern void pgm_cache_revalidate(void);
extern MgGraph *pgm_cache_graph_for_update(void);
extern MemoryContext pgm_cache_context(void);

extern void pgm_as_owner(PgmOwnerSave *save);
extern void pgm_restore_user(const PgmOwnerSave *save);
extern void pgm_who(PgmWho *who);
extern void pgm_internal_write(bool on);

extern int64 pgm_log_event(const PgmWho *who, const char *kind,
						   const char *revision, const char *target,
						   const char *detail, const char *checksum);

/* Has the catalog changed since the transaction snapshot was taken? */
extern bool pgm_catalog_moved_on(void);

extern Datum pgm_cstring_array(char **names, int n);
extern char **pgm_array_to_cstrings(ArrayType *arr, int *n, const char *what);

/* Set-returning functions: a tuplestore to put rows into. */
extern Tuplestorestate *pgm_srf_begin(FunctionCallInfo fcinfo,
									  TupleDesc *tupdesc);

#endif							/* PGM_CATALOG_H */
