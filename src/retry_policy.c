/*-------------------------------------------------------------------------
 *
 * retry_policy.c
 *	  The lock-timeout retry policy as pure arithmetic, shared by the
 *	  statement executor (retry.c) and the unit tests (test/unit).
 *
 * pg_migrate.lock_timeout is -1 (the default of the run mode: 2 s for
 * CALL migrate.deploy(), off for migrate.upgrade() and migrate.downgrade()),
 * 0 (off: no lock timeout of pg_migrate's, no retry) or a number of
 * milliseconds.
 *
 * Retry n (n = 1 .. pg_migrate.lock_retries) waits, with b the base
 * pg_migrate.lock_backoff in milliseconds:
 *
 *	   c(n) = min(b * 2^(n-1), max(b, 10000))
 *	   wait(n) = c(n) - floor(c(n) / 2) + floor(u * (floor(c(n) / 2) + 1))
 *
 * for u drawn uniformly from [0, 1): "equal jitter", a wait between half
 * the ceiling and the ceiling, so that two migrators that failed together
 * do not retry together, yet each wait stays close to the exponential
 * schedule.  With the default b = 100 ms the ceilings are 100, 200, 400,
 * 800 and 1600 ms.
 *
 *-------------------------------------------------------------------------
 */
#include "retry_policy.h"

/*
 * pgm_lock_timeout_for: the lock_timeout (ms, 0 = none) a statement of a
 * revision runs with, given pg_migrate.lock_timeout and the run mode.
 */
int
pgm_lock_timeout_for(int setting_ms, bool deploy)
{
	if (setting_ms < 0)
		return deploy ? PGM_DEPLOY_LOCK_TIMEOUT_MS : 0;
	return setting_ms;
}

/*
 * pgm_lock_backoff_ceiling: c(n), the longest wait before retry n (1-based)
 * for a base of base_ms; never overflows.
 */
int
pgm_lock_backoff_ceiling(int base_ms, int retry)
{
	int			cap = base_ms > PGM_LOCK_BACKOFF_CAP_MS ? base_ms : PGM_LOCK_BACKOFF_CAP_MS;
	mg_int64	c = base_ms < 0 ? 0 : base_ms;

	for (int i = 1; i < retry && c < cap; i++)
		c *= 2;
	return (int) (c < cap ? c : cap);
}

/*
 * pgm_lock_backoff_ms: wait(n), the milliseconds to sleep before retry n,
 * for u uniform in [0, 1).
 */
int
pgm_lock_backoff_ms(int base_ms, int retry, double u)
{
	int			c = pgm_lock_backoff_ceiling(base_ms, retry);
	int			half = c / 2;
	int			extra;

	if (u < 0.0)
		u = 0.0;
	extra = (int) (u * (half + 1));
	if (extra > half)
		extra = half;
	return c - half + extra;
}
