/*-------------------------------------------------------------------------
 *
 * pg_migrate.c
 *	  Module entry point of pg_migrate and the triggers that guard the
 *	  catalog tables.
 *
 * pg_migrate keeps Alembic-style revisions in the migrate.* tables and
 * answers graph questions in C.  The files of src/ each hold one concept:
 * graph.c, target.c and plan.c are the pure core; catalog.c is the only
 * code that knows the tables; register.c, inspect.c and stamp.c are the SQL
 * entry points.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "utils/guc.h"

#include "lineage.h"
#include "lint.h"
#include "retry.h"
#include "runner.h"
#include "sizelimit.h"
#include "worker.h"

#if PG_VERSION_NUM < 130000
#error "pg_migrate requires PostgreSQL 13 or later"
#endif

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * end_of_transaction: no revision runs past the end of a transaction (an
 * offline script marks its DDL until then).
 */
static void
end_of_transaction(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_PREPARE)
		pgm_lineage_reset();
}

static const struct config_enum_entry drift_options[] = {
	{"off", PGM_DRIFT_OFF, false},
	{"record", PGM_DRIFT_RECORD, false},
	{"error", PGM_DRIFT_ERROR, false},
	{NULL, 0, false}
};

/*
 * _PG_init: define the pg_migrate.* settings when the library is loaded
 * (on the first call of any of its functions).
 */
void
_PG_init(void)
{
	DefineCustomBoolVariable("pg_migrate.quiet",
							 "Silences the NOTICE that migrate.upgrade() and migrate.downgrade() raise per step.",
							 NULL,
							 &pgm_quiet,
							 false,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("pg_migrate.migration_lock_timeout",
							"How long migrate.upgrade() and migrate.downgrade() wait for another migration to finish.",
							"0 waits without limit.",
							&pgm_migration_lock_timeout,
							600000,
							0, INT_MAX,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomEnumVariable("pg_migrate.drift",
							 "What DDL on managed schemas made outside any revision does: off, record (as drift) or error.",
							 NULL,
							 &pgm_drift,
							 PGM_DRIFT_RECORD,
							 drift_options,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);
	DefineCustomStringVariable("pg_migrate.managed_schemas",
							   "Schemas treated as managed by pg_migrate for drift, besides those a revision touched (comma-separated).",
							   NULL,
							   &pgm_managed_schemas,
							   "",
							   PGC_SUSET,
							   GUC_LIST_INPUT,
							   NULL, NULL, NULL);
	pgm_retry_define_gucs();
	pgm_lint_define_gucs();
	pgm_sizelimit_define_gucs();
	pgm_worker_define_gucs();
	MarkGUCPrefixReserved("pg_migrate");
	RegisterXactCallback(end_of_transaction, NULL);
}

PG_FUNCTION_INFO_V1(pgm_events_append_only);

/*
 * pgm_events_append_only: row trigger that refuses UPDATE and DELETE on
 * migrate.events, so the audit log only grows.
 */
Datum
pgm_events_append_only(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("migrate.events_append_only() must be called as a trigger")));
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("migrate.events is append-only"),
			 errdetail("%s of an event row is not allowed.",
					   TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ? "UPDATE" : "DELETE"),
			 errhint("The audit log keeps every register, stamp, upgrade and downgrade; an owner may archive old rows with TRUNCATE.")));
	PG_RETURN_NULL();
}
