-- test/demo/demo.sql: a walkthrough of pg_migrate for an ML model registry.
-- Run by "make demo" (test/scripts/demo.sh) in a fresh database with
-- CREATE EXTENSION pg_migrate done, through psql -e so every query is shown
-- before its result.
--
-- The graph built here:
--
--                 +-- r2_versions --------------+
--     r1_models --+                             +-- merge
--                 +-- r3_features (features) ---+
--
-- Revisions are registered, planned and stamped, then migrated up, down to
-- base and up again, with the audit log at the end.

\set QUIET on
\pset null '(null)'
\set QUIET off

\echo
\echo '== 1. Register a base revision: the models table'
SELECT migrate.revision(
    id            => 'r1_models',
    down_revision => '{}',
    upgrade       => $$CREATE TABLE models (
                          id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                          name        text NOT NULL UNIQUE,
                          task        text NOT NULL,
                          created_at  timestamptz NOT NULL DEFAULT now()
                      )$$,
    downgrade     => $$DROP TABLE models$$,
    message       => 'create models');

\echo
\echo '== 2. A child of r1_models: versions of each model'
SELECT migrate.revision(
    id            => 'r2_versions',
    down_revision => '{r1_models}',
    upgrade       => $$CREATE TABLE model_versions (
                          model_id      bigint NOT NULL REFERENCES models,
                          version       integer NOT NULL,
                          artifact_uri  text NOT NULL,
                          metrics       jsonb NOT NULL DEFAULT '{}',
                          PRIMARY KEY (model_id, version)
                      )$$,
    downgrade     => $$DROP TABLE model_versions$$,
    message       => 'create model_versions');

\echo
\echo '== 3. A second child of r1_models, on a branch labelled "features"'
SELECT migrate.revision(
    id            => 'r3_features',
    down_revision => '{r1_models}',
    upgrade       => $$CREATE TABLE feature_sets (
                          id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                          model_id    bigint NOT NULL REFERENCES models,
                          name        text NOT NULL,
                          columns     text[] NOT NULL,
                          UNIQUE (model_id, name)
                      )$$,
    downgrade     => $$DROP TABLE feature_sets$$,
    message       => 'create feature_sets',
    branch_labels => '{features}');

\echo
\echo '== Two heads now: r1_models is a branch point'
SELECT * FROM migrate.heads();
SELECT * FROM migrate.branches();

\echo
\echo '== 4. Merge the two heads (parents => NULL: all current heads; the id is generated)'
SELECT migrate.merge(message => 'merge versions and features');

\echo
\echo '== One head again'
SELECT * FROM migrate.heads();
SELECT * FROM migrate.branches();

\echo
\echo '== History, newest first'
SELECT revision, down_revision, branch_labels, message,
       is_head, is_branch_point, is_merge, applied
  FROM migrate.history();

\echo
\echo '== Targets: the head of the "features" branch'
SELECT * FROM migrate.resolve('features@head');

\echo
\echo '== What upgrade(''heads'') would run on an empty database'
SELECT * FROM migrate.plan('heads');

\echo
\echo '== 5. Stamp r2_versions: record it (and r1_models) as applied without running SQL'
SELECT * FROM migrate.stamp('r2_versions');
SELECT revision, message, branch_labels, is_merge FROM migrate.current();

\echo
\echo '== The remaining upgrade, and the way back down to base'
SELECT * FROM migrate.plan('heads');
SELECT * FROM migrate.plan('base', 'downgrade');

\echo
\echo '== Status in one row'
SELECT * FROM migrate.status();

\echo
\echo '== Stamping ran no SQL: the tables do not exist'
SELECT to_regclass('models') AS models, to_regclass('model_versions') AS model_versions,
       to_regclass('feature_sets') AS feature_sets;

\echo
\echo '== 6. Back to base (bookkeeping only: stamp), then migrate for real'
SELECT * FROM migrate.stamp('base');
SELECT step, revision, operation, message FROM migrate.upgrade('heads');
SELECT to_regclass('models') AS models, to_regclass('model_versions') AS model_versions,
       to_regclass('feature_sets') AS feature_sets;

\echo
\echo '== 7. Down to base: every table goes, children first'
SELECT step, revision, operation, message FROM migrate.downgrade('base');
SELECT to_regclass('models') AS models;

\echo
\echo '== 8. Up again, and the audit trail'
SELECT step, revision, operation, message FROM migrate.upgrade('heads');
SELECT kind, revision, target, current_user_name, duration IS NOT NULL AS timed
  FROM migrate.events ORDER BY id;
SELECT * FROM migrate.validate();
