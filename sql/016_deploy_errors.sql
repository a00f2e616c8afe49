-- CALL migrate.deploy() faults: where it may not run, what a
-- transactional => false revision may hold, a failed index build in the
-- background worker, and a role without privileges.
CREATE EXTENSION pg_migrate;
SET pg_migrate.quiet = on;

CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL);
INSERT INTO items SELECT g, g % 100 FROM generate_series(1, 1000) g;
SELECT migrate.revision(id => 'e1', down_revision => '{}', message => 'one',
    upgrade => 'CREATE TABLE e1 (id int)', downgrade => 'DROP TABLE e1');

-- 1. It commits, so it refuses to run inside a transaction block, a
-- function or a PL/pgSQL block with an EXCEPTION clause; nothing runs.
BEGIN;
CALL migrate.deploy();
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
CREATE FUNCTION deploy_in_function() RETURNS void LANGUAGE plpgsql
AS $$ BEGIN CALL migrate.deploy(); END $$;
SELECT deploy_in_function();
\echo :LAST_ERROR_SQLSTATE
DROP FUNCTION deploy_in_function();
DO $$
BEGIN
    CALL migrate.deploy();
EXCEPTION WHEN active_sql_transaction THEN
    RAISE NOTICE 'refused: %', SQLERRM;
END $$;
SELECT count(*) AS applied FROM migrate.applied;
-- from a DO block without an EXCEPTION clause it runs
DO $$ BEGIN CALL migrate.deploy(); END $$;
SELECT revision FROM migrate.current();

-- 2. Bad targets: nothing runs, and no failure is recorded (no revision ran).
CALL migrate.deploy(NULL);
\echo :LAST_ERROR_SQLSTATE
CALL migrate.deploy('nosuch');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS failures FROM migrate.events WHERE kind = 'failure';

-- 3. A transactional => false revision may hold only CREATE INDEX
-- CONCURRENTLY, REINDEX CONCURRENTLY, DROP INDEX CONCURRENTLY, VACUUM and
-- CALL migrate.backfill(): anything else would commit on its own.
SELECT migrate.revision(id => 'x1', transactional => false, upgrade => $$
    CREATE INDEX CONCURRENTLY items_id ON items (id);
    UPDATE items SET v = v + 1;
$$);
\echo :LAST_ERROR_SQLSTATE
SELECT migrate.revision(id => 'x1', transactional => false, upgrade => 'ANALYZE items');
\echo :LAST_ERROR_SQLSTATE
SELECT migrate.revision(id => 'x1', transactional => false, upgrade => 'CALL public.my_procedure()');
\echo :LAST_ERROR_SQLSTATE
SELECT migrate.revision(id => 'x1', transactional => false, upgrade => 'CLUSTER');
\echo :LAST_ERROR_SQLSTATE
-- and the reverse, as before: such statements need transactional => false
SELECT migrate.revision(id => 'x1', upgrade => 'CREATE INDEX CONCURRENTLY items_id ON items (id)');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS registered FROM migrate.revisions WHERE id = 'x1';

-- 4. upgrade() refuses a transactional => false revision before running
-- anything, and names the way.
CREATE TABLE dup (id int, v int);
INSERT INTO dup VALUES (1, 7), (2, 8), (3, 7);
SELECT migrate.revision(id => 'e2', message => 'unique v', transactional => false,
    upgrade => 'CREATE UNIQUE INDEX CONCURRENTLY dup_v_key ON dup (v)');
SELECT * FROM migrate.upgrade('heads');
\echo :LAST_ERROR_SQLSTATE

-- 5. A failed CREATE UNIQUE INDEX CONCURRENTLY (duplicate values) leaves
-- an invalid index: it is dropped, and the error keeps its SQLSTATE.
CALL migrate.deploy();
\echo :LAST_ERROR_SQLSTATE
SELECT indexrelid::regclass::text AS index, indisvalid FROM pg_index WHERE indrelid = 'dup'::regclass;
SELECT kind, revision, sqlstate, detail FROM migrate.events WHERE kind = 'failure';
SELECT count(*) AS lineage FROM migrate.object_changes WHERE revision = 'e2';
SELECT revision FROM migrate.current();
-- the data fixed, the same revision succeeds
UPDATE dup SET v = 9 WHERE id = 3;
CALL migrate.deploy();
SELECT indexrelid::regclass::text AS index, indisvalid FROM pg_index WHERE indrelid = 'dup'::regclass;
SELECT revision FROM migrate.current();

-- A verify that fails after the worker: the revision is not recorded, but
-- what the worker built stays (it committed); the error says which
-- revision and step.
SELECT migrate.revision(id => 'e2b', message => 'verified index', transactional => false,
    upgrade => 'CREATE INDEX CONCURRENTLY dup_id ON dup (id)',
    verify => $$SELECT count(*) = 0 FROM dup$$);
CALL migrate.deploy();
\echo :LAST_ERROR_SQLSTATE
SELECT revision FROM migrate.current();
SELECT indexrelid::regclass::text AS index, indisvalid FROM pg_index WHERE indrelid = 'dup'::regclass ORDER BY 1;
SELECT kind, revision, sqlstate FROM migrate.events WHERE kind = 'failure' AND revision = 'e2b';
-- fixed: the verify replaced, the index kept by IF NOT EXISTS
SELECT migrate.revision(id => 'e2b', down_revision => '{e2}', message => 'verified index', transactional => false,
    upgrade => 'CREATE INDEX CONCURRENTLY IF NOT EXISTS dup_id ON dup (id)',
    verify => $$SELECT count(*) = 3 FROM dup$$);
CALL migrate.deploy();
SELECT revision FROM migrate.current();

-- An invalid index left under the name a revision builds, where nobody
-- could drop it (a session terminated or a crash mid-build; here a failed
-- build by hand): deploy refuses before anything runs and names it, also
-- with IF NOT EXISTS, which would otherwise skip it and record the
-- revision over an index that is never used.
CREATE TABLE left_over (v int);
INSERT INTO left_over VALUES (1), (1);
CREATE UNIQUE INDEX CONCURRENTLY left_over_v ON left_over (v);
SELECT migrate.revision(id => 'e2c', message => 'index left over', transactional => false,
    upgrade => 'CREATE INDEX CONCURRENTLY IF NOT EXISTS left_over_v ON left_over (v)');
CALL migrate.deploy();
\echo :LAST_ERROR_SQLSTATE
SELECT revision FROM migrate.current();
SELECT kind, revision, sqlstate FROM migrate.events WHERE kind = 'failure' AND revision = 'e2c';
-- dropped as the hint says, the same revision succeeds
DROP INDEX CONCURRENTLY left_over_v;
CALL migrate.deploy();
SELECT revision FROM migrate.current();
SELECT indexrelid::regclass::text AS index, indisvalid FROM pg_index WHERE indrelid = 'left_over'::regclass;

-- 6. A role without privileges on the table gets its own error from the
-- worker, which runs as that role.
CREATE ROLE pgm_deployer;
GRANT USAGE ON SCHEMA migrate TO pgm_deployer;
GRANT EXECUTE ON PROCEDURE migrate.deploy(text) TO pgm_deployer;
SELECT migrate.revision(id => 'e3', message => 'index by another role', transactional => false,
    upgrade => 'CREATE INDEX CONCURRENTLY items_v_id ON items (v, id)');
SET ROLE pgm_deployer;
CALL migrate.deploy();
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT kind, revision, sqlstate, current_user_name, split_part(detail, E'\n', 1) AS detail
FROM migrate.events WHERE kind = 'failure' AND revision = 'e3';
SELECT to_regclass('items_v_id') AS items_v_id;
-- the owner runs it
CALL migrate.deploy();
SELECT revision FROM migrate.current();

-- 7. PUBLIC may not call it.
CREATE ROLE pgm_nobody;
GRANT USAGE ON SCHEMA migrate TO pgm_nobody;
SET ROLE pgm_nobody;
CALL migrate.deploy();
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

DROP TABLE items, dup, e1, left_over;
DROP EXTENSION pg_migrate;
DROP ROLE pgm_deployer;
DROP ROLE pgm_nobody;
