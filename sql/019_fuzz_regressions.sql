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

DROP EXTENSION pg_migrate;
