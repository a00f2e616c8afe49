/*-------------------------------------------------------------------------
 *
 * mg_core.c
 *	  Allocation, error and small container helpers shared by the pure core
 *	  (graph.c, target.c, plan.c), in server and standalone builds.
 *
 *-------------------------------------------------------------------------
 */
#include "mg_core.h"

#include <stdarg.h>
#include <stdio.h>

/*
 * mg_alloc: zeroed memory of the given size.
 */
void *
mg_alloc(size_t size)
{
#ifdef MG_STANDALONE
	void	   *p = calloc(1, size ? size : 1);

	if (p == NULL)
		abort();
	return p;
#else
	return palloc0(size ? size : 1);
#endif
}

/*
 * mg_realloc: grow an allocation made by mg_alloc, zeroing the new part.
 */
void *
mg_realloc(void *ptr, size_t oldsize, size_t newsize)
{
	char	   *p;

	if (ptr == NULL)
		return mg_alloc(newsize);
#ifdef MG_STANDALONE
	p = realloc(ptr, newsize ? newsize : 1);
	if (p == NULL)
		abort();
#else
	p = repalloc(ptr, newsize ? newsize : 1);
#endif
	if (newsize > oldsize)
		memset(p + oldsize, 0, newsize - oldsize);
	return p;
}

/*
 * mg_free: release an allocation made by mg_alloc (NULL is fine).
 */
void
mg_free(void *ptr)
{
	if (ptr == NULL)
		return;
#ifdef MG_STANDALONE
	free(ptr);
#else
	pfree(ptr);
#endif
}

/*
 * mg_strdup: copy of a NUL-terminated string.
 */
char *
mg_strdup(const char *s)
{
	return mg_strndup(s, strlen(s));
}

/*
 * mg_strndup: copy of the first len bytes of s, NUL-terminated.
 */
char *
mg_strndup(const char *s, size_t len)
{
	char	   *p = mg_alloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

/*
 * mg_fail: record an error for the SQL layer and return false, so callers
 * can write "return mg_fail(...)".
 */
bool
mg_fail(MgError *err, MgErrCode code, const char *detail, const char *hint,
		const char *fmt,...)
{
	va_list		ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, MG_MSG_LEN, fmt, ap);
	va_end(ap);
	snprintf(err->detail, MG_MSG_LEN, "%s", detail ? detail : "");
	snprintf(err->hint, MG_MSG_LEN, "%s", hint ? hint : "");
	return false;
}

/*
 * mg_list_push: append x to the list, growing it as needed.
 */
void
mg_list_push(MgIntList *l, int x)
{
	if (l->n >= l->cap)
	{
		int			newcap = l->cap ? l->cap * 2 : 8;

		l->v = mg_realloc(l->v, sizeof(int) * l->cap, sizeof(int) * newcap);
		l->cap = newcap;
	}
	l->v[l->n++] = x;
}

/*
 * mg_list_contains: linear membership test, for short lists.
 */
bool
mg_list_contains(const MgIntList *l, int x)
{
	for (int i = 0; i < l->n; i++)
		if (l->v[i] == x)
			return true;
	return false;
}

/*
 * mg_buf_init: an empty string buffer.
 */
void
mg_buf_init(MgBuf *b)
{
	b->cap = 64;
	b->len = 0;
	b->data = mg_alloc(b->cap);
}

/*
 * mg_buf_append: append a string to the buffer.
 */
void
mg_buf_append(MgBuf *b, const char *s)
{
	size_t		n = strlen(s);

	if (b->len + n + 1 > b->cap)
	{
		size_t		newcap = b->cap;

		while (b->len + n + 1 > newcap)
			newcap *= 2;
		b->data = mg_realloc(b->data, b->cap, newcap);
		b->cap = newcap;
	}
	memcpy(b->data + b->len, s, n + 1);
	b->len += n;
}
