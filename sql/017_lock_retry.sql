-- Lock-timeout retry: the settings, the unchanged path when no lock timeout
-- applies, statements retried after SQLSTATE 55P03 (lock_not_available),
-- the final error, and who wins when a revision sets lock_timeout itself.
-- Lock contention needs a second session: test/concurrency/lock_retry.sh
-- runs the same with real blockers.  Here 55P03 is raised by a function
-- that fails its first n calls (a sequence per use counts the calls:
-- nextval() is not rolled back with the attempt).
CREATE EXTENSION pg_migrate;
-- Per-step NOTICEs carry timings; retry NOTICEs stay (lock_backoff = 0
-- makes their waits 0 ms).
SET pg_migrate.quiet = on;

-- The settings and their defaults: -1 is the default of the run mode (2 s
-- in migrate.deploy(), none in upgrade() and downgrade()).
SELECT name, setting, unit, boot_val, min_val, max_val, context
FROM pg_settings WHERE name LIKE 'pg\_migrate.lock\_%' ORDER BY name;

-- Bad values are refused and change nothing.
SET pg_migrate.lock_timeout = -2;
SET pg_migrate.lock_timeout = 'soon';
SET pg_migrate.lock_retries = -1;
SET pg_migrate.lock_retries = 1001;
SET pg_migrate.lock_backoff = '2min';
SHOW pg_migrate.lock_timeout;
SET pg_migrate.lock_timeout = '1.5s';
SHOW pg_migrate.lock_timeout;
RESET pg_migrate.lock_timeout;

CREATE SEQUENCE a_p2;
CREATE SEQUENCE a_r1;
CREATE SEQUENCE a_r1_down;
CREATE SEQUENCE a_r3;
CREATE SEQUENCE a_r4;
CREATE TABLE seen (n serial, what text, lock_timeout text);
CREATE FUNCTION lock_busy_for(counter regclass, calls bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF nextval(counter) <= calls THEN
        RAISE EXCEPTION 'lock busy (simulated)' USING ERRCODE = 'lock_not_available';
    END IF;
END $$;

-- The caller's own lock_timeout, to be found intact after every run.
SET lock_timeout = '7s';

-- 1. Without pg_migrate.lock_timeout, upgrade() runs each statement as it
-- is: with the caller's lock_timeout, no subtransaction, no retry; 55P03 is
-- the statement's own error.
SELECT migrate.revision(id => 'p1', down_revision => '{}',
    upgrade => $$INSERT INTO seen (what, lock_timeout) VALUES ('p1', current_setting('lock_timeout'))$$,
    downgrade => $$DELETE FROM seen WHERE what = 'p1'$$);
SELECT migrate.revision(id => 'p2',
    upgrade => $$CREATE TABLE p2 (id int); SELECT lock_busy_for('a_p2', 1)$$,
    downgrade => $$DROP TABLE p2$$);
SELECT revision FROM migrate.upgrade('p1');
SELECT what, lock_timeout FROM seen ORDER BY n;
SELECT revision FROM migrate.upgrade('p2');
\echo :LAST_ERROR_SQLSTATE
SELECT revision FROM migrate.current();
-- pg_migrate.lock_timeout = 0 is the same in any mode.
SET pg_migrate.lock_timeout = 0;
ALTER SEQUENCE a_p2 RESTART;
SELECT revision FROM migrate.upgrade('p2');
SELECT to_regclass('p2') AS p2_table;

-- 2. With pg_migrate.lock_timeout, each statement runs with that timeout in
-- a subtransaction of its own and is retried after 55P03.  Statement 4
-- creates a table, then fails twice: the third attempt succeeds and the
-- table's lineage is recorded once.  Statement 2 sets lock_timeout with SET
-- LOCAL: the revision's value wins for its later statements, and ends with
-- the revision.
SET pg_migrate.lock_timeout = '150ms';
SET pg_migrate.lock_backoff = 0;
SELECT migrate.revision(id => 'r1',
    upgrade => $$
        INSERT INTO seen (what, lock_timeout) VALUES ('r1 statement 1', current_setting('lock_timeout'));
        SET LOCAL lock_timeout = '3s';
        INSERT INTO seen (what, lock_timeout) VALUES ('r1 statement 3', current_setting('lock_timeout'));
        DO $do$ BEGIN CREATE TABLE made (id int); PERFORM lock_busy_for('a_r1', 2); END $do$;
    $$,
    downgrade => $$DROP TABLE made; SELECT lock_busy_for('a_r1_down', 1)$$);
SELECT migrate.revision(id => 'r2',
    upgrade => $$
        INSERT INTO seen (what, lock_timeout) VALUES ('r2 statement 1', current_setting('lock_timeout'));
        SET lock_timeout = '4s';
        INSERT INTO seen (what, lock_timeout) VALUES ('r2 statement 3', current_setting('lock_timeout'));
    $$,
    downgrade => $$DELETE FROM seen WHERE what LIKE 'r2 %'$$);
SELECT revision FROM migrate.upgrade('r2');
SHOW lock_timeout;
SELECT what, lock_timeout FROM seen ORDER BY n;
SELECT revision, action, object_type, object_identity FROM migrate.object_changes
WHERE object_identity LIKE 'public.made%' ORDER BY id;
SELECT nextval('a_r1') - 1 AS calls;

-- Downgrades retry the same way.
SELECT revision FROM migrate.downgrade('r1');
SELECT revision FROM migrate.downgrade('p2');
SELECT to_regclass('made') AS made_table;
SELECT revision, action, object_identity FROM migrate.object_changes
WHERE object_identity = 'public.made' ORDER BY id;

-- 3. After pg_migrate.lock_retries retries the statement fails with 55P03,
-- the revision, step and statement in the context; everything the call did
-- is rolled back.
SET pg_migrate.lock_retries = 2;
SELECT migrate.revision(id => 'r3',
    upgrade => $$CREATE TABLE r3 (id int); SELECT lock_busy_for('a_r3', 100)$$,
    downgrade => $$DROP TABLE r3$$);
SELECT revision FROM migrate.upgrade('r3');
\echo :LAST_ERROR_SQLSTATE
SELECT revision FROM migrate.current();
SELECT to_regclass('made') AS made_table, to_regclass('r3') AS r3_table;
SELECT nextval('a_r3') - 1 AS calls;
-- No retry at all: one attempt.
SET pg_migrate.lock_retries = 0;
ALTER SEQUENCE a_r3 RESTART;
SELECT revision FROM migrate.upgrade('r3');
SELECT nextval('a_r3') - 1 AS calls;
RESET pg_migrate.lock_retries;
-- r3 is not applied: its content may be replaced.
SELECT migrate.revision(id => 'r3', down_revision => '{r2}',
    upgrade => $$CREATE TABLE r3 (id int)$$, downgrade => $$DROP TABLE r3$$);

-- 4. Other errors are not retried and read exactly as without the policy.
SELECT migrate.revision(id => 'r4', down_revision => '{r3}',
    upgrade => $$CREATE TABLE r4 (id int); SELECT 1 / 0$$,
    downgrade => $$DROP TABLE r4$$);
SELECT revision FROM migrate.upgrade('r4');
\echo :LAST_ERROR_SQLSTATE
SET pg_migrate.lock_timeout = 0;
SELECT revision FROM migrate.upgrade('r4');
\echo :LAST_ERROR_SQLSTATE
SET pg_migrate.lock_timeout = '150ms';

-- 5. Inside the caller's transaction: retried statements leave no
-- subtransaction, setting or lock wait behind, a savepoint still works, and
-- the revision is applied once.
SELECT migrate.revision(id => 'r4', down_revision => '{r3}',
    upgrade => $$CREATE TABLE r4 (id int); SELECT lock_busy_for('a_r4', 1)$$,
    downgrade => $$DROP TABLE r4$$);
BEGIN;
SELECT revision FROM migrate.upgrade('r4');
SHOW lock_timeout;
SAVEPOINT s;
INSERT INTO r4 VALUES (1);
ROLLBACK TO SAVEPOINT s;
INSERT INTO r4 VALUES (2);
SELECT count(*) AS waiting_locks FROM pg_locks WHERE pid = pg_backend_pid() AND NOT granted;
COMMIT;
SELECT revision FROM migrate.current();
SELECT count(*) AS upgrade_events FROM migrate.events WHERE kind = 'upgrade' AND revision IN ('r3', 'r4');
SELECT id FROM r4;
SHOW lock_timeout;

DROP EXTENSION pg_migrate;
DROP TABLE seen, p2, made, r3, r4;
DROP FUNCTION lock_busy_for(regclass, bigint);
DROP SEQUENCE a_p2, a_r1, a_r1_down, a_r3, a_r4;
