/*-------------------------------------------------------------------------
 *
 * fuzz_common.h
 *	  What the fuzz targets of pg_migrate's pure core share: a tracker that
 *	  frees everything the core allocated for one input, a reader for the
 *	  small graph notation of the corpus, and checks of the properties every
 *	  answer of the core must have.
 *
 * The core (src/mg_core.c, graph.c, target.c, plan.c) is compiled with
 * -DMG_STANDALONE, where mg_alloc() takes memory from the C heap and the
 * core never frees it.  fuzz_core.c routes those heap calls through
 * fz_calloc/fz_realloc/fz_free, and fz_reset() releases them after each
 * input, so a long fuzzing run keeps a flat memory profile and
 * AddressSanitizer still sees every block (nothing is pooled).
 *
 *-------------------------------------------------------------------------
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "mg_core.h"
#include "graph.h"
#include "target.h"
#include "plan.h"

/* the C-heap calls of mg_core.c, tracked */
extern void *fz_calloc(size_t nmemb, size_t size);
extern void *fz_realloc(void *ptr, size_t size);
extern void fz_free(void *ptr);

/* free every block the core allocated since the last reset */
extern void fz_reset(void);

/* abort with a message: a violated property counts as a crash */
extern void fz_fail(const char *fmt,...) MG_PRINTF(1, 2);

/* a NUL-terminated copy of the fuzzer's bytes (C heap, caller frees) */
extern char *fz_cstring(const uint8_t *data, size_t size);

/*
 * Graph notation, one revision per entry; entries are separated by ';' or
 * a newline:
 *
 *	   id[:parent1,parent2] [+dep1,dep2] [@label1,label2]
 *
 * A "!" entry prepares the graph at that point (as the server's graph cache
 * does between registrations), so that later additions re-prepare it.
 * An entry whose id is already taken is skipped: the catalog's primary key
 * makes duplicates impossible.  At most max_revs revisions are added.
 */
extern MgGraph *fz_build_graph(const char *spec, int max_revs);

/*
 * Mark the revisions named in the space-separated list, and all their
 * ancestors, applied (the catalog keeps the applied set closed under
 * ancestry).  Unknown names are ignored.  Needs a prepared graph.
 */
extern void fz_set_applied(MgGraph *g, const char *ids);

/*
 * Run every entry point of target.c and plan.c on one target string (or
 * history range) against a prepared, valid graph, checking the properties
 * of each successful answer.  The applied flags of g are restored before
 * returning.
 */
extern void fz_exercise_target(MgGraph *g, const char *target);

/* properties of a prepared, valid graph (topological order, heads, ...) */
extern void fz_check_graph(MgGraph *g);

/* properties of an error: a code, and NUL-terminated texts */
extern void fz_check_error(const MgError *err);

#endif							/* FUZZ_COMMON_H */
