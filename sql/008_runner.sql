-- Running revisions: migrate.upgrade() and migrate.downgrade().
CREATE EXTENSION pg_migrate;
-- Per-step NOTICEs carry timings; keep them out of this file's output.
SET pg_migrate.quiet = on;

SELECT migrate.revision(id => 'r1_models', down_revision => '{}',
    upgrade => $$CREATE TABLE models (id bigint PRIMARY KEY, name text NOT NULL)$$,
    downgrade => $$DROP TABLE models$$, message => 'create models');
SELECT migrate.revision(id => 'r2_versions',
    upgrade => $$
        CREATE TABLE model_versions (model_id bigint REFERENCES models, version int NOT NULL);
        -- one index per model and version
        CREATE UNIQUE INDEX ON model_versions (model_id, version);
    $$,
    downgrade => $$DROP TABLE model_versions$$, message => 'create model_versions',
    verify => $$SELECT count(*) = 0 FROM model_versions$$);
SELECT migrate.revision(id => 'r3_features', down_revision => '{r1_models}', branch_labels => '{features}',
    upgrade => $$CREATE TABLE feature_sets (id bigint PRIMARY KEY, model_id bigint REFERENCES models)$$,
    downgrade => $$DROP TABLE feature_sets$$, message => 'create feature_sets');
SELECT migrate.merge(ARRAY['r2_versions', 'r3_features'], id => 'r4_merge', message => 'merge');
SELECT migrate.revision(id => 'r5_stage', down_revision => '{r4_merge}',
    upgrade => $$ALTER TABLE models ADD COLUMN stage text NOT NULL DEFAULT 'dev'$$,
    downgrade => $$ALTER TABLE models DROP COLUMN stage$$, message => 'add models.stage');

-- upgrade() follows plan() exactly and returns a row per revision run.
SELECT revision FROM migrate.plan('heads');
SELECT step, revision, operation, message, duration >= '0' AS timed FROM migrate.upgrade('heads');
SELECT column_name, data_type FROM information_schema.columns
WHERE table_name = 'models' ORDER BY ordinal_position;
SELECT revision FROM migrate.current();

-- Nothing left to do: no rows, and a NOTICE.
SELECT * FROM migrate.upgrade('heads');

-- Every step is in the audit log with its duration and checksum, and
-- history() shows when and by whom each revision was applied.
SELECT e.kind, e.revision, e.target, e.duration IS NOT NULL AS timed,
       e.checksum = r.checksum AS checksum_ok
FROM migrate.events e JOIN migrate.revisions r ON r.id = e.revision
WHERE e.kind IN ('upgrade', 'downgrade') ORDER BY e.id;
SELECT revision, applied, applied_by = current_user AS by_me, applied_at IS NOT NULL AS has_time
FROM migrate.history();
SELECT a.revision, a.checksum = r.checksum AS checksum_of_what_ran,
       a.event_id = (SELECT e.id FROM migrate.events e WHERE e.kind = 'upgrade' AND e.revision = a.revision) AS event_linked
FROM migrate.applied a JOIN migrate.revisions r ON r.id = a.revision ORDER BY 1;

-- Down one step, down one branch, then to base.
SELECT step, revision, operation FROM migrate.downgrade('-1');
SELECT step, revision, operation FROM migrate.downgrade('features@r1_models');
SELECT revision FROM migrate.current();
SELECT to_regclass('feature_sets') AS feature_sets, to_regclass('model_versions') AS model_versions;
SELECT step, revision, operation FROM migrate.downgrade('base');
SELECT count(*) AS applied FROM migrate.applied;
SELECT to_regclass('models') AS models;

-- Partial and branch-aware upgrades.
SELECT step, revision FROM migrate.upgrade('features@head');
SELECT step, revision FROM migrate.upgrade('+1');
SELECT step, revision FROM migrate.upgrade('heads');

-- Everything runs in the caller's transaction: the caller may roll back a
-- successful call, and nothing of it remains.
SELECT count(*) FROM migrate.downgrade('base');
BEGIN;
SELECT count(*) FROM migrate.upgrade('heads');
SELECT count(*) AS applied_inside FROM migrate.applied;
ROLLBACK;
SELECT count(*) AS applied_after_rollback FROM migrate.applied;
SELECT to_regclass('models') AS models;

-- Revision SQL runs with the caller's search_path and role; settings a
-- revision changes end with it.
SELECT count(*) FROM migrate.upgrade('r5_stage');
CREATE SCHEMA registry;
SET search_path = registry, public;
SELECT migrate.revision(id => 'r6_settings', down_revision => '{r5_stage}',
    upgrade => $$
        CREATE TABLE lives_in_registry (id int);
        SET search_path = pg_catalog;
        SET work_mem = '7MB';
        SET ROLE NONE;
    $$,
    downgrade => $$DROP TABLE registry.lives_in_registry$$);
SELECT count(*) FROM migrate.upgrade('heads');
SELECT to_regclass('registry.lives_in_registry') AS created_in_callers_schema;
SHOW search_path;
SHOW work_mem;
RESET search_path;

-- While a revision runs, pg_stat_activity shows it to other sessions.
CREATE TABLE activity_seen (query text);
SELECT migrate.revision(id => 'r7_activity', down_revision => '{r6_settings}',
    upgrade => $$INSERT INTO activity_seen SELECT query FROM pg_stat_activity WHERE pid = pg_backend_pid()$$,
    downgrade => $$DELETE FROM activity_seen$$);
SELECT count(*) FROM migrate.upgrade('heads');
SELECT query FROM activity_seen;

-- Per-step NOTICEs: pg_migrate.quiet silences them (the format is
-- "[3/10] upgrade a1b2c3 add email (0.12 s)").
SHOW pg_migrate.quiet;

-- Revisions do not run in subtransactions of their own: the whole call
-- takes one transaction id, however many revisions write.  (A
-- subtransaction that writes takes an id of its own; past 64 of them in a
-- transaction every other session's snapshot looks them up in pg_subtrans.)
-- The row inserted in a savepoint after the upgrade gets the next id handed
-- out: one more than the transaction's own, not 70 more.
CREATE TABLE xid_probe (n int);
SELECT count(migrate.revision(id => 'x' || lpad(i::text, 2, '0'),
    down_revision => ARRAY[CASE WHEN i = 1 THEN 'r7_activity' ELSE 'x' || lpad((i - 1)::text, 2, '0') END],
    upgrade => format('CREATE TABLE xt%s (id int); INSERT INTO xt%s VALUES (1)', i, i),
    downgrade => format('DROP TABLE xt%s', i))) AS registered
FROM generate_series(1, 70) AS i;
BEGIN;
INSERT INTO xid_probe VALUES (0);
SELECT count(*) AS upgraded FROM migrate.upgrade('heads');
SAVEPOINT after_upgrade;
INSERT INTO xid_probe VALUES (1);
SELECT (SELECT xmin::text::bigint FROM xid_probe WHERE n = 1) -
       (SELECT xmin::text::bigint FROM xid_probe WHERE n = 0) < 10 AS fewer_than_10_ids_taken;
COMMIT;
SELECT count(*) AS tables_made FROM pg_class WHERE relname ~ '^xt[0-9]+$' AND relkind = 'r';

-- A revision that fails inside the caller's savepoint: rolling back to it
-- undoes the revision's settings too, and the session can migrate again.
SELECT migrate.revision(id => 'x71_fails', down_revision => '{x70}',
    upgrade => $$CREATE TABLE x71_table (id int); SET work_mem = '9MB'; SET search_path = pg_catalog; SELECT 1 / 0$$,
    downgrade => $$SELECT 1$$);
BEGIN;
SAVEPOINT before_upgrade;
SELECT count(*) FROM migrate.upgrade('heads');
ROLLBACK TO SAVEPOINT before_upgrade;
SHOW work_mem;
SHOW search_path;
SELECT count(*) AS downgraded FROM migrate.downgrade('x60');
COMMIT;
SELECT count(*) AS tables_left FROM pg_class WHERE relname ~ '^xt[0-9]+$' AND relkind = 'r';
SELECT to_regclass('x71_table') AS x71_table,
       (SELECT count(*) FROM migrate.object_changes WHERE revision = 'x71_fails') AS lineage_rows_of_x71;
DROP TABLE xid_probe;

SELECT count(*) FROM migrate.downgrade('base');
DROP TABLE activity_seen;
DROP SCHEMA registry;
DROP EXTENSION pg_migrate;
