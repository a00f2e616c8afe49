-- test/demo/demo.sql: the model registry and feature catalog, migrated with
-- pg_migrate.  Run by "make demo" (test/scripts/demo.sh) in a fresh database
-- with CREATE EXTENSION pg_migrate done, through psql -e so every query is
-- shown before its result.
--
-- The revisions (test/registry/*.sql, one migrate.revision() call each):
--
--   r01_base - r02_lineage - r03_stage - r04_promotion_audit -+- r05_monitoring [monitoring] ---------+- r08_merge - r09_framework - r10_artifact_url
--                                                             +- r06_catalog_owners [catalog] - r07 --+

\set QUIET on
\pset null '(null)'
\set QUIET off

\echo
\echo '== 1. Load the revision files (any order; loading them again changes nothing)'
\set QUIET on
\set ECHO none
\o /dev/null
\ir ../registry/10_artifact_url.sql
\ir ../registry/09_framework.sql
\ir ../registry/08_merge.sql
\ir ../registry/07_catalog_tags.sql
\ir ../registry/06_catalog_owners.sql
\ir ../registry/05_monitoring.sql
\ir ../registry/04_promotion_audit.sql
\ir ../registry/03_stage.sql
\ir ../registry/02_lineage.sql
\ir ../registry/01_base.sql
\o
\set ECHO queries
\set QUIET off
SELECT * FROM migrate.status();
SELECT revision, down_revision, branch_labels, message FROM migrate.history();

\echo
\echo '== 2. Upgrade to heads: one NOTICE per revision, all in one transaction'
SELECT step, revision, operation, message FROM migrate.upgrade('heads');

\echo
\echo '== 3. Sample data: models, versions, features, and a promotion to production'
\set QUIET on
\set ECHO none
\ir registry_seed.sql
\set ECHO queries
\set QUIET off
SELECT m.name, v.version, v.stage, v.framework FROM model_versions v JOIN models m ON m.id = v.model_id ORDER BY 1, 2;
SELECT * FROM promotion_events ORDER BY 1;

\echo
\echo '== 4. The rule "one production version per model" is enforced'
\set ON_ERROR_STOP off
UPDATE model_versions SET stage = 'production'
 WHERE model_id = (SELECT id FROM models WHERE name = 'churn-predictor') AND stage <> 'production';
\set ON_ERROR_STOP on

\echo
\echo '== 5. Lineage: which revision made this column, who applied it, when'
SELECT revision, message, action, command, object_identity, applied_by FROM migrate.lineage('public.model_versions.stage');
SELECT revision, action, object_identity FROM migrate.lineage('public.model_versions.artifact_url');
SELECT object_type, object_identity, created_by, last_changed_by FROM migrate.objects
 WHERE object_identity LIKE 'public.model_versions%' ORDER BY object_identity;

\echo
\echo '== 6. Take the monitoring branch down (and what depends on it), then up again'
SELECT step, revision, operation FROM migrate.downgrade('monitoring@r04_promotion_audit');
SELECT revision FROM migrate.current();
\echo
\echo '== Before upgrading again: does every pending revision go down and up cleanly?'
SELECT * FROM migrate.check_roundtrip();
SELECT step, revision, operation FROM migrate.upgrade('heads');
SELECT count(*) AS models, (SELECT count(*) FROM model_versions) AS versions,
       (SELECT count(*) FROM model_versions WHERE framework IS NOT NULL) AS with_framework
  FROM models;

\echo
\echo '== 7. Integrity and audit'
SELECT * FROM migrate.validate();
SELECT kind, count(*) FROM migrate.events GROUP BY kind ORDER BY kind;
