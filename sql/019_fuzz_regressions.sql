-- Inputs that the random SQL tester (test/fuzz/sql_random.py) found
-- answered with an internal error (SQLSTATE XX000); each is now refused
-- with a specific SQLSTATE and a message that says what to change, and
-- changes nothing.
CREATE EXTENSION pg_migrate;
SET pg_migrate.quiet = on;
SELECT migrate.revision(id => 'a', down_revision => '{}',
	upgrade => 'CREATE TABLE fz_a (id int)', downgrade => 'DROP TABLE fz_a',
	verify => 'SELECT true');
\set SHOW_CONTEXT never

-- 1. Verify SQL of an offline script with transaction control or COPY to
-- the client: checked as registration checks it (was XX000,
-- "could not run: SPI_ERROR_TRANSACTION").
BEGIN;
SELECT migrate.offline_begin('upgrade', 'heads', '{}');
SELECT migrate.offline_verify('a', 'PREPARE TRANSACTION ''x''');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SELECT migrate.offline_begin('upgrade', 'heads', '{}');
SELECT migrate.offline_verify('a', 'SELECT true; COMMIT');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SELECT migrate.offline_begin('upgrade', 'heads', '{}');
SELECT migrate.offline_verify('a', 'COPY (SELECT 1) TO STDOUT');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- verify SQL that may run still runs
BEGIN;
SELECT migrate.offline_begin('upgrade', 'heads', '{}');
SELECT migrate.offline_verify('a', 'SELECT true');
SELECT migrate.offline_verify('a', 'SELECT false');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

-- 2. A revision written into the catalog with plain SQL (by its owner),
-- bypassing the registration checks, with transaction control in its
-- verify SQL: the run refuses the statement (was XX000) and applies
-- nothing.
INSERT INTO migrate.revisions (id, down_revision, upgrade, verify, checksum, seq,
                               registered_at, registered_by)
VALUES ('b', '{a}', 'SELECT 1', 'ROLLBACK', repeat('0', 64),
        nextval('migrate.revisions_seq'), now(), current_user);
SELECT * FROM migrate.upgrade('b');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS applied FROM migrate.applied;
SELECT to_regclass('fz_a') IS NULL AS no_table;

DELETE FROM migrate.revisions WHERE id = 'b';

-- 3. Offline steps recorded out of order, twice, or for a revision in the
-- other state: refused with 55000 (were: an applied revision whose parent
-- is not applied, which validate() reports as corruption; a unique
-- violation with the bookkeeping query in the context; XX001 "migrate.applied
-- was changed during the migration").
SELECT migrate.revision(id => 'b', down_revision => '{a}', upgrade => 'SELECT 1', downgrade => 'SELECT 1');
SELECT migrate.revision(id => 'c', down_revision => '{b}', upgrade => 'SELECT 1', downgrade => 'SELECT 1');
SELECT migrate.revision(id => 'x', down_revision => '{}', upgrade => 'SELECT 1', downgrade => 'SELECT 1');
SELECT migrate.revision(id => 'y', down_revision => '{x}', depends_on => '{b}', upgrade => 'SELECT 1', downgrade => 'SELECT 1');
CREATE FUNCTION pg_temp.sum(text) RETURNS text LANGUAGE sql AS
$$ SELECT checksum FROM migrate.revisions WHERE id = $1 $$;
SELECT count(*) FROM migrate.stamp('b');
-- a dependency not yet applied
SELECT count(*) FROM migrate.stamp('x', purge => true);
BEGIN;
SELECT migrate.offline_begin('upgrade', 'heads', '{x}');
SELECT migrate.offline_record('upgrade', 'y', pg_temp.sum('y'));
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT count(*) FROM migrate.stamp('b', purge => true);
-- a parent not yet applied
BEGIN;
SELECT migrate.offline_begin('upgrade', 'heads', '{b}');
SELECT migrate.offline_record('upgrade', 'y', pg_temp.sum('y'));
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- the same step twice
BEGIN;
SELECT migrate.offline_begin('upgrade', 'heads', '{b}');
SELECT migrate.offline_record('upgrade', 'c', pg_temp.sum('c'));
SELECT migrate.offline_record('upgrade', 'c', pg_temp.sum('c'));
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- a downgrade of what is not applied
BEGIN;
SELECT migrate.offline_begin('downgrade', 'a', '{b}');
SELECT migrate.offline_record('downgrade', 'c', pg_temp.sum('c'));
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- a parent unapplied before its child
BEGIN;
SELECT migrate.offline_begin('downgrade', 'a', '{b}');
SELECT migrate.offline_record('downgrade', 'a', pg_temp.sum('a'));
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- in order, both ways, it records as before
BEGIN;
SELECT migrate.offline_begin('upgrade', 'heads', '{b}');
SELECT migrate.offline_record('upgrade', 'c', pg_temp.sum('c'));
SELECT migrate.offline_record('upgrade', 'x', pg_temp.sum('x'));
SELECT migrate.offline_record('upgrade', 'y', pg_temp.sum('y'));
COMMIT;
SELECT revision FROM migrate.current() ORDER BY 1;
BEGIN;
SELECT migrate.offline_begin('downgrade', 'b', '{c,y}');
SELECT migrate.offline_record('downgrade', 'c', pg_temp.sum('c'));
SELECT migrate.offline_record('downgrade', 'y', pg_temp.sum('y'));
COMMIT;
SELECT revision FROM migrate.current() ORDER BY 1;
SELECT count(*) AS problems FROM migrate.validate() WHERE severity = 'error';

DROP EXTENSION pg_migrate;
