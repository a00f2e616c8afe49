/*-------------------------------------------------------------------------
 *
 * mg_core.h
 *	  What the pure core of pg_migrate (graph, target, plan) may use:
 *	  memory allocation and error reporting that work the same inside the
 *	  server and in a standalone unit-test or fuzz driver.
 *
 * The pure files include no server header but this one.  Inside the server
 * allocations come from the current memory context (palloc); standalone
 * builds (MG_STANDALONE) use malloc and never free, which is fine for a
 * short-lived test driver.  Errors are never thrown by the core: functions
 * return false and fill an MgError, which the SQL layer turns into an
 * ereport with the matching SQLSTATE.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MG_CORE_H
#define MG_CORE_H

#ifdef MG_STANDALONE
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
typedef int64_t mg_int64;
#else
#include "postgres.h"
typedef int64 mg_int64;
#endif

/* Allocation: zeroed memory from the current context (or the C heap). */
extern void *mg_alloc(size_t size);
extern void *mg_realloc(void *ptr, size_t oldsize, size_t newsize);
extern void mg_free(void *ptr);
extern char *mg_strdup(const char *s);
extern char *mg_strndup(const char *s, size_t len);

/* Error classes of the core; the SQL layer maps each to a SQLSTATE. */
typedef enum MgErrCode
{
	MG_OK = 0,
	MG_ERR_UNDEFINED,			/* unknown revision, label or target */
	MG_ERR_AMBIGUOUS,			/* several revisions where one is needed */
	MG_ERR_SYNTAX,				/* malformed target or range */
	MG_ERR_RANGE,				/* relative move past base or heads */
	MG_ERR_DANGLING,			/* a parent or depends_on is not registered */
	MG_ERR_CYCLE,				/* the graph has a cycle */
	MG_ERR_DUPLICATE,			/* a label declared twice, id equals label */
	MG_ERR_STATE,				/* not valid from the current applied set */
	MG_ERR_NAME,				/* malformed revision id or branch label */
	MG_ERR_INVALID				/* anything else the caller asked wrongly */
} MgErrCode;

#define MG_MSG_LEN 2048

typedef struct MgError
{
	MgErrCode	code;
	char		message[MG_MSG_LEN];
	char		detail[MG_MSG_LEN];
	char		hint[MG_MSG_LEN];
} MgError;

#ifdef __GNUC__
#define MG_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define MG_PRINTF(f, a)
#endif

/* Fill *err and return false; detail and hint may be NULL. */
extern bool mg_fail(MgError *err, MgErrCode code, const char *detail,
					const char *hint, const char *fmt,...) MG_PRINTF(5, 6);

/* A growable list of ints (revision indexes). */
typedef struct MgIntList
{
	int			n;
	int			cap;
	int		   *v;
} MgIntList;

extern void mg_list_push(MgIntList *l, int x);
extern bool mg_list_contains(const MgIntList *l, int x);

/* A growable string buffer used to build messages. */
typedef struct MgBuf
{
	char	   *data;
	size_t		len;
	size_t		cap;
} MgBuf;

extern void mg_buf_init(MgBuf *b);
extern void mg_buf_append(MgBuf *b, const char *s);

#endif							/* MG_CORE_H */
