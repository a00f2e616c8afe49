-- CALL migrate.deploy(): each revision in a transaction of its own; a
-- failure leaves the earlier revisions applied, is recorded in
-- migrate.events and a new CALL resumes; transactional => false revisions
-- run in a background worker.
CREATE EXTENSION pg_migrate;
-- Per-step NOTICEs carry timings; keep them out of this file's output
-- (test/concurrency/deploy_race.sh checks their format).
SET pg_migrate.quiet = on;

CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL);
INSERT INTO items SELECT g, g % 100 FROM generate_series(1, 1000) g;
CREATE TABLE activity_seen (query text);

-- 1. Three revisions, the second fails: the first stays applied, the
-- failure is recorded with its SQLSTATE, and the error is raised.
SELECT migrate.revision(id => 'd1', down_revision => '{}', message => 'one',
    upgrade => 'CREATE TABLE d1 (id int)', downgrade => 'DROP TABLE d1');
SELECT migrate.revision(id => 'd2', message => 'two fails',
    upgrade => $$CREATE TABLE d2 (id int);
INSERT INTO d2 VALUES (1 / 0);$$, downgrade => 'DROP TABLE d2');
SELECT migrate.revision(id => 'd3', message => 'three',
    upgrade => $$INSERT INTO activity_seen SELECT query FROM pg_stat_activity WHERE pid = pg_backend_pid()$$,
    downgrade => 'DELETE FROM activity_seen');
CALL migrate.deploy();
\echo :LAST_ERROR_SQLSTATE
SELECT revision FROM migrate.applied ORDER BY revision;
SELECT to_regclass('d1') AS d1, to_regclass('d2') AS d2;
SELECT kind, revision, target, sqlstate, split_part(detail, E'\n', 1) AS detail,
       duration IS NOT NULL AS timed, checksum = (SELECT checksum FROM migrate.revisions WHERE id = revision) AS checksum_ok,
       current_user_name = current_user AS by_me, backend_pid = pg_backend_pid() AS my_pid
FROM migrate.events WHERE kind IN ('upgrade', 'failure') ORDER BY id;
-- the recorded failure names the statement, as the error's context did
SELECT regexp_replace(detail, '^.*\n', '') AS context FROM migrate.events WHERE kind = 'failure';

-- 2. The revision is fixed (replaced: it is not applied) and a second CALL
-- resumes with it.  Progress shows in pg_stat_activity as for upgrade().
SELECT migrate.revision(id => 'd2', down_revision => '{d1}', message => 'two',
    upgrade => 'CREATE TABLE d2 (id int)', downgrade => 'DROP TABLE d2');
CALL migrate.deploy();
SELECT revision FROM migrate.applied ORDER BY revision;
SELECT query FROM activity_seen;
SELECT kind, revision FROM migrate.events WHERE kind IN ('upgrade', 'failure') ORDER BY id;
-- each revision committed on its own
SELECT count(DISTINCT transaction_id) AS transactions FROM migrate.events WHERE kind = 'upgrade';
-- nothing left to do: a NOTICE
CALL migrate.deploy();
CALL migrate.deploy('d1');

-- 3. CREATE INDEX CONCURRENTLY, registered with transactional => false,
-- runs in a background worker: the index is valid and its lineage is the
-- revision's.
SELECT migrate.revision(id => 'd4', message => 'index on v', transactional => false,
    upgrade => 'CREATE INDEX CONCURRENTLY items_v ON items (v)', downgrade => 'DROP INDEX items_v',
    verify => $$SELECT indisvalid FROM pg_index WHERE indexrelid = 'items_v'::regclass$$);
SELECT step, revision, operation FROM migrate.plan('heads');
CALL migrate.deploy();
SELECT indexrelid::regclass::text AS index, indisvalid, indisready FROM pg_index
WHERE indrelid = 'items'::regclass ORDER BY 1;
SELECT revision, direction, command_tag, action, object_type, object_identity,
       current_user_name = current_user AS by_me
FROM migrate.object_changes WHERE revision = 'd4' ORDER BY id;
SELECT kind, revision, sqlstate, duration IS NOT NULL AS timed FROM migrate.events WHERE revision = 'd4' ORDER BY id;
SELECT revision FROM migrate.current();

-- The worker runs with the settings of the calling session (search_path
-- here), and its NOTICEs reach the caller.
CREATE SCHEMA other;
CREATE TABLE other.things (id int, w int);
SET search_path = other, public;
SELECT migrate.revision(id => 'd5', message => 'index on things', transactional => false,
    upgrade => $$CREATE INDEX CONCURRENTLY IF NOT EXISTS items_v ON public.items (v);
CREATE INDEX CONCURRENTLY things_w ON things (w);$$, downgrade => 'DROP INDEX other.things_w');
CALL migrate.deploy();
RESET search_path;
SELECT indexrelid::regclass::text AS index, indisvalid FROM pg_index WHERE indrelid = 'other.things'::regclass;
SELECT object_identity FROM migrate.object_changes WHERE revision = 'd5' ORDER BY id;

-- VACUUM and REINDEX CONCURRENTLY, and an ordinary revision after them in
-- the same call.
SELECT migrate.revision(id => 'd6', message => 'maintenance', transactional => false,
    upgrade => $$VACUUM (ANALYZE) items;
REINDEX INDEX CONCURRENTLY items_v;$$, downgrade => '');
SELECT migrate.revision(id => 'd7', message => 'after',
    upgrade => 'CREATE TABLE public.d7 (id int)', downgrade => 'DROP TABLE public.d7');
CALL migrate.deploy();
SELECT revision FROM migrate.current();
SELECT indexrelid::regclass::text AS index, indisvalid FROM pg_index WHERE indrelid = 'items'::regclass ORDER BY 1;
SELECT last_vacuum IS NOT NULL AS vacuumed, last_analyze IS NOT NULL AS analyzed
FROM pg_stat_user_tables WHERE relid = 'items'::regclass;

-- 4. The downgrade of a transactional => false revision runs in
-- downgrade(), in a transaction, as usual; deploy applies them again.
SELECT step, revision, operation FROM migrate.downgrade('d3');
SELECT to_regclass('items_v') AS items_v, to_regclass('other.things_w') AS things_w, to_regclass('d7') AS d7;
SET search_path = other, public;
CALL migrate.deploy();
RESET search_path;
SELECT revision FROM migrate.current();
SELECT indexrelid::regclass::text AS index, indisvalid FROM pg_index
WHERE indrelid IN ('items'::regclass, 'other.things'::regclass) ORDER BY 1;

-- 5. The audit log: an upgrade event per revision run (d4 to d7 twice), a
-- downgrade event per revision unapplied, one failure.
SELECT kind, count(*) FROM migrate.events WHERE kind IN ('upgrade', 'downgrade', 'failure') GROUP BY kind ORDER BY kind;

DROP TABLE activity_seen, items, d1, d2, d7;
DROP SCHEMA other CASCADE;
DROP EXTENSION pg_migrate;
