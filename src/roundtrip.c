/*-------------------------------------------------------------------------
 *
 * roundtrip.c
 *	  migrate.check_roundtrip(): does every pending revision's downgrade
 *	  undo its upgrade, and does the upgrade then run again to the same
 *	  schema?
 *
 * For each revision migrate.plan(target) lists, in that order:
 *
 *	 1. upgrade it with migrate.upgrade(rev) and fingerprint the database
 *		(every schema but the system ones and migrate: fingerprint.c);
 *	 2. downgrade it alone with migrate.downgrade(): the target is the first
 *		of "parent", "rev@parent" (for each parent) or "rev@base", "base"
 *		(for a base) whose downgrade plan is exactly this revision;
 *	 3. the fingerprint must equal the one before the upgrade;
 *	 4. upgrade it again: the fingerprint must equal the one of step 1.
 *
 * Steps 2 to 4 run in an internal subtransaction that is always rolled
 * back, so the next revision starts from the state its first upgrade left.
 * Any error of steps 2 to 4 (e.g. "relation already exists") becomes the
 * revision's problem, with its SQLSTATE.  When the upgrade of step 1 fails
 * it is rolled back and reported, and the revisions that need it (through
 * parents or depends_on) are reported as not checked (ok NULL); the others
 * are still checked.  Irreversible revisions (no downgrade SQL) are
 * upgraded and reported as not checked; so are revisions registered with
 * transactional => false, which migrate.upgrade() does not run, and
 * revisions nothing downgrades alone.
 *
 * The whole check runs in an outer internal subtransaction that is always
 * rolled back: the database, migrate.applied and migrate.events are left
 * as they were.  Only what no rollback undoes remains: sequence values
 * (the ids of migrate.events, nextval() in revision SQL).  The migration
 * lock is held until the end of the transaction, so no other migration
 * changes the state being checked.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/elog.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/tuplestore.h"

#include "catalog.h"
#include "fingerprint.h"
#include "plan.h"
#include "runner.h"

/* How many differences a problem names before it counts the rest. */
#define RT_DIFF_LIMIT 5

static const char *const UPGRADE_SQL =
"SELECT pg_catalog.count(*) FROM migrate.upgrade($1)";

static const char *const DOWNGRADE_SQL =
"SELECT pg_catalog.count(*) FROM migrate.downgrade($1)";

/* One revision to check and its outcome. */
typedef struct RtRev
{
	char	   *id;
	bool		transactional;
	bool		reversible;		/* has downgrade SQL */
	const char *blocked_by;		/* a revision it needs that is not applied */
	int			ok;				/* 1 ok, 0 problem, -1 not checked */
	char	   *problem;
} RtRev;

/*
 * run_sql: run UPGRADE_SQL or DOWNGRADE_SQL with a target; returns how
 * many revisions ran.
 */
static int64
run_sql(const char *sql, const char *target)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	bool		isnull;
	int64		n;

	values[0] = CStringGetTextDatum(target);
	pgm_exec(sql, 1, types, values, NULL, false, 1, SPI_OK_SELECT);
	if (SPI_processed != 1)
		elog(ERROR, "pg_migrate: count(*) returned " UINT64_FORMAT " rows",
			 SPI_processed);
	n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
									SPI_tuptable->tupdesc, 1, &isnull));
	SPI_freetuptable(SPI_tuptable);
	return n;
}

/*
 * error_problem: a revision's problem from an error caught in a step:
 * "<phase> failed with SQLSTATE 42P07: <message>", followed by the
 * runner's context line naming the statement when there is one.
 */
static char *
error_problem(const char *phase, ErrorData *edata)
{
	const char *where = NULL;

	for (const char *p = edata->context; p && *p;)
	{
		if (strncmp(p, "upgrade of revision", 19) == 0 ||
			strncmp(p, "downgrade of revision", 21) == 0 ||
			strncmp(p, "verify of revision", 18) == 0)
		{
			where = p;
			break;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	if (where)
	{
		const char *end = strchr(where, '\n');

		return psprintf("%s failed with SQLSTATE %s: %s (%.*s)", phase,
						unpack_sql_state(edata->sqlerrcode), edata->message,
						(int) (end ? end - where : strlen(where)), where);
	}
	return psprintf("%s failed with SQLSTATE %s: %s", phase,
					unpack_sql_state(edata->sqlerrcode), edata->message);
}

/*
 * catch_error: in a PG_CATCH block of a step: copy the error, roll back
 * and release the step's subtransaction, restore memory context and
 * resource owner.  A cancel (statement_timeout, pg_cancel_backend) is
 * re-thrown: it ends the check, it is no revision's problem.
 */
static ErrorData *
catch_error(MemoryContext cxt, ResourceOwner owner)
{
	ErrorData  *edata;

	MemoryContextSwitchTo(cxt);
	edata = CopyErrorData();
	FlushErrorState();
	RollbackAndReleaseCurrentSubTransaction();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
	if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED)
		ReThrowError(edata);
	return edata;
}

/*
 * upgrade_kept: upgrade one revision in a subtransaction that is kept on
 * success; on error it is rolled back and the problem returned.
 */
static char *
upgrade_kept(const char *id)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	char	   *volatile problem = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		int64		n = run_sql(UPGRADE_SQL, id);

		if (n != 1)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("the upgrade to \"%s\" ran " INT64_FORMAT " revisions instead of one",
							id, n)));
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		problem = error_problem("upgrade", catch_error(cxt, owner));
	}
	PG_END_TRY();
	return problem;
}

/*
 * downgrade_target: a target whose downgrade plan, from the current state,
 * is exactly revision id; NULL when none of the candidates is.
 */
static char *
downgrade_target(const char *id)
{
	MgGraph    *g = pgm_graph_ready(true);
	int			idx = mg_graph_find(g, id);
	MgRev	   *r;
	char	  **cand;
	int			ncand = 0;

	if (idx < 0)
		return NULL;
	r = &g->revs[idx];
	cand = palloc(sizeof(char *) * (2 * r->nparents + 2));
	for (int i = 0; i < r->nparents; i++)
	{
		cand[ncand++] = pstrdup(r->parent_ids[i]);
		cand[ncand++] = psprintf("%s@%s", id, r->parent_ids[i]);
	}
	if (r->nparents == 0)
	{
		cand[ncand++] = psprintf("%s@base", id);
		cand[ncand++] = pstrdup("base");
	}
	for (int i = 0; i < ncand; i++)
	{
		MgIntList	plan = {0};
		MgError		err;

		if (mg_plan_downgrade(g, cand[i], &plan, &err) &&
			plan.n == 1 && plan.v[0] == idx)
			return cand[i];
	}
	return NULL;
}

/*
 * down_up: downgrade with target, compare with the fingerprint before the
 * upgrade, upgrade again, compare with the one after it -- all in a
 * subtransaction that is always rolled back.  Returns the problem, or NULL
 * when the round trip is clean.
 */
static char *
down_up(const char *id, const char *target, const PgmFp *before,
		const PgmFp *after)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	const char *volatile phase = "downgrade";
	char	   *volatile problem = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		PgmFp	   *fp;
		char	   *diff;

		(void) run_sql(DOWNGRADE_SQL, target);
		fp = pgm_fp_compute((Datum) 0, true);
		diff = pgm_fp_diff(before, fp, RT_DIFF_LIMIT);
		if (diff)
			problem = psprintf("downgrade did not restore the schema: %s", diff);
		else
		{
			phase = "upgrade after downgrade";
			(void) run_sql(UPGRADE_SQL, id);
			fp = pgm_fp_compute((Datum) 0, true);
			diff = pgm_fp_diff(after, fp, RT_DIFF_LIMIT);
			if (diff)
				problem = psprintf("upgrade after downgrade did not give the schema of the first upgrade: %s",
								   diff);
		}
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		problem = error_problem(phase, catch_error(cxt, owner));
	}
	PG_END_TRY();
	return problem;
}

/*
 * block_dependents: after revs[k] could not be applied, mark the later
 * revisions that need it (through parents or depends_on) as blocked.
 */
static void
block_dependents(RtRev *revs, int n, int k)
{
	MgGraph    *g = pgm_graph_ready(true);
	int			idx = mg_graph_find(g, revs[k].id);
	char	   *mark;

	if (idx < 0)
		return;
	mark = palloc0(g->n);
	mg_descendants(g, &idx, 1, true, mark);
	for (int m = k + 1; m < n; m++)
	{
		int			j = mg_graph_find(g, revs[m].id);

		if (j >= 0 && mark[j] && revs[m].blocked_by == NULL)
			revs[m].blocked_by = revs[k].id;
	}
}

/*
 * check_all: check every revision in turn; outcomes go into revs (strings
 * in the current memory context).  Runs inside the outer subtransaction.
 * Fingerprints live in two contexts used in turn: the current state's and
 * the one being built.
 */
static void
check_all(RtRev *revs, int n)
{
	MemoryContext keep = CurrentMemoryContext;
	MemoryContext cur_cxt = AllocSetContextCreate(keep, "check_roundtrip state",
												  ALLOCSET_DEFAULT_SIZES);
	MemoryContext next_cxt = AllocSetContextCreate(keep, "check_roundtrip step",
												   ALLOCSET_DEFAULT_SIZES);
	PgmFp	   *cur;

	MemoryContextSwitchTo(cur_cxt);
	cur = pgm_fp_compute((Datum) 0, true);

	for (int k = 0; k < n; k++)
	{
		RtRev	   *r = &revs[k];
		PgmFp	   *after;
		char	   *target;
		char	   *problem;

		CHECK_FOR_INTERRUPTS();
		MemoryContextSwitchTo(keep);
		if (r->blocked_by != NULL)
		{
			r->ok = -1;
			r->problem = psprintf("not checked: it needs revision \"%s\", which could not be applied",
								  r->blocked_by);
			continue;
		}
		if (!r->transactional)
		{
			r->ok = -1;
			r->problem = pstrdup("not checked: it is registered with transactional => false, which migrate.upgrade() does not run");
			block_dependents(revs, n, k);
			continue;
		}

		MemoryContextSwitchTo(next_cxt);
		problem = upgrade_kept(r->id);
		if (problem != NULL)
		{
			MemoryContextSwitchTo(keep);
			r->ok = 0;
			r->problem = pstrdup(problem);
			block_dependents(revs, n, k);
			MemoryContextReset(next_cxt);
			continue;
		}
		after = pgm_fp_compute((Datum) 0, true);

		if (!r->reversible)
		{
			r->ok = -1;
			r->problem = MemoryContextStrdup(keep, "not checked: it is irreversible (no downgrade SQL)");
		}
		else if ((target = downgrade_target(r->id)) == NULL)
		{
			r->ok = -1;
			r->problem = MemoryContextStrdup(keep, "not checked: no downgrade target unapplies this revision alone");
		}
		else
		{
			problem = down_up(r->id, target, cur, after);
			r->ok = problem == NULL ? 1 : 0;
			r->problem = problem ? MemoryContextStrdup(keep, problem) : NULL;
		}

		/* the state after this upgrade is the next revision's starting point */
		MemoryContextSwitchTo(next_cxt);
		cur = palloc(sizeof(PgmFp));
		*cur = *after;
		MemoryContextReset(cur_cxt);
		{
			MemoryContext swap = cur_cxt;

			cur_cxt = next_cxt;
			next_cxt = swap;
		}
	}
	MemoryContextSwitchTo(keep);
	MemoryContextDelete(cur_cxt);
	MemoryContextDelete(next_cxt);
}

PG_FUNCTION_INFO_V1(pgm_check_roundtrip);

/*
 * migrate.check_roundtrip(target text DEFAULT 'heads'): a row (revision,
 * ok, problem) per pending revision up to target; ok is NULL for a
 * revision that could not be checked.  Leaves the database as it was.
 */
Datum
pgm_check_roundtrip(PG_FUNCTION_ARGS)
{
	TupleDesc	td;
	Tuplestorestate *ts;
	char	   *target;
	MgGraph    *g;
	MgIntList	plan = {0};
	MgError		err;
	RunStep    *steps;
	RtRev	   *revs;
	int			nest;
	MemoryContext cxt;
	ResourceOwner owner;

	pgm_refuse_on_standby("migrate.check_roundtrip()");
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("target must not be NULL"),
				 errhint("Use 'heads' to check every pending revision.")));
	target = text_to_cstring(PG_GETARG_TEXT_PP(0));
	pgm_refuse_nested("migrate.check_roundtrip()");
	ts = pgm_srf_begin(fcinfo, &td);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_migrate: SPI_connect failed");

	/* the per-step NOTICEs of upgrade() and downgrade() would be noise */
	nest = NewGUCNestLevel();
	(void) set_config_option("pg_migrate.quiet", "on", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);

	pgm_acquire_migration_lock();
	if (IsolationUsesXactSnapshot() && pgm_catalog_moved_on())
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access: the migration catalog changed after this transaction's snapshot was taken"),
				 errdetail("Another session registered, stamped or migrated in the meantime; this transaction cannot see what it did."),
				 errhint("Retry the transaction, or call migrate.check_roundtrip() under READ COMMITTED.")));

	g = pgm_graph_ready(true);
	if (!mg_plan_upgrade(g, target, &plan, &err))
		pgm_report(&err);
	if (plan.n == 0)
	{
		ereport(NOTICE,
				(errmsg("nothing to check: no revision is pending up to target \"%s\"",
						target)));
		AtEOXact_GUC(true, nest);
		SPI_finish();
		return (Datum) 0;
	}
	steps = pgm_copy_steps(g, &plan, false);
	g = NULL;					/* revision SQL may reload the cache */
	revs = palloc0(sizeof(RtRev) * plan.n);
	for (int i = 0; i < plan.n; i++)
	{
		revs[i].id = steps[i].id;
		revs[i].transactional = steps[i].transactional;
		revs[i].reversible = steps[i].has_body;
	}

	/* everything happens in a subtransaction that is always rolled back */
	cxt = CurrentMemoryContext;
	owner = CurrentResourceOwner;
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		check_all(revs, plan.n);
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		ReThrowError(edata);
	}
	PG_END_TRY();
	AtEOXact_GUC(true, nest);

	for (int i = 0; i < plan.n; i++)
	{
		Datum		v[3];
		bool		nl[3] = {false, false, false};

		v[0] = CStringGetTextDatum(revs[i].id);
		v[1] = BoolGetDatum(revs[i].ok == 1);
		nl[1] = revs[i].ok < 0;
		v[2] = revs[i].problem ? CStringGetTextDatum(revs[i].problem) : (Datum) 0;
		nl[2] = revs[i].problem == NULL;
		tuplestore_putvalues(ts, td, v, nl);
	}
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "pg_migrate: SPI_finish failed");
	return (Datum) 0;
}
