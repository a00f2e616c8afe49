-- Runner faults: each raises a specific SQLSTATE with the revision, step and
-- statement, and leaves the catalog and the user schema as they were.
CREATE EXTENSION pg_migrate;
SET pg_migrate.quiet = on;
\set SHOW_CONTEXT errors

SELECT migrate.revision(id => 'a1', down_revision => '{}', upgrade => 'CREATE TABLE t1 (id int)', downgrade => 'DROP TABLE t1', message => 'one');
SELECT migrate.revision(id => 'a2', upgrade => 'CREATE TABLE t2 (id int)', downgrade => 'DROP TABLE t2', message => 'two');
SELECT migrate.revision(id => 'a3', upgrade => $$
    CREATE TABLE t3 (id int);
    INSERT INTO t3 VALUES (1);
    INSERT INTO t3 VALUES (1 / 0);
$$, downgrade => 'DROP TABLE t3', message => 'three fails');
SELECT migrate.revision(id => 'a4', upgrade => 'CREATE TABLE t4 (id int)', downgrade => 'DROP TABLE t4', message => 'four');
SELECT migrate.revision(id => 'a5', upgrade => 'CREATE TABLE t5 (id int)', message => 'five, irreversible');

CREATE FUNCTION pg_temp.fingerprint() RETURNS text LANGUAGE sql AS $$
	SELECT md5(concat_ws('|',
		(SELECT string_agg(r::text, ',' ORDER BY r.id) FROM migrate.revisions r),
		(SELECT string_agg(a.revision, ',' ORDER BY a.revision) FROM migrate.applied a),
		(SELECT count(*)::text FROM migrate.events e),
		(SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class
		 WHERE relnamespace = 'public'::regnamespace)))
$$;
CREATE TEMP TABLE baseline (fp text);
CREATE PROCEDURE pg_temp.remember() LANGUAGE sql AS
$$ DELETE FROM baseline; INSERT INTO baseline SELECT pg_temp.fingerprint() $$;
CREATE FUNCTION pg_temp.unchanged() RETURNS boolean LANGUAGE sql AS
$$ SELECT pg_temp.fingerprint() = (SELECT fp FROM baseline) $$;
CALL pg_temp.remember();

-- 1. A failing revision in the middle of five: nothing of the call stays;
-- the error keeps its SQLSTATE and names revision, step and statement.
SELECT * FROM migrate.upgrade('heads');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.unchanged(), to_regclass('t1') AS t1;

-- 2. Unknown target.
SELECT * FROM migrate.upgrade('nosuch');
\echo :LAST_ERROR_SQLSTATE
-- 3. NULL target.
SELECT * FROM migrate.upgrade(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.unchanged();

-- Apply the first two for the downgrade cases.
SELECT count(*) FROM migrate.upgrade('a2');
CALL pg_temp.remember();

-- 4. Downgrade to a revision that is not applied.
SELECT * FROM migrate.downgrade('a4');
\echo :LAST_ERROR_SQLSTATE
-- 5. Downgrade with an ambiguous relative target.
SELECT migrate.revision(id => 'b1', down_revision => '{}', upgrade => '', downgrade => '');
SELECT count(*) FROM migrate.upgrade('b1');
CALL pg_temp.remember();
SELECT * FROM migrate.downgrade('-1');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.unchanged();

-- 6. Downgrade through an irreversible revision stops before anything runs.
SELECT migrate.revision(id => 'a5', upgrade => 'CREATE TABLE t5 (id int)', message => 'five, irreversible', down_revision => '{a4}');
SELECT migrate.revision(id => 'a3', down_revision => '{a2}', upgrade => 'CREATE TABLE t3 (id int)', downgrade => 'DROP TABLE t3', message => 'three');
SELECT count(*) FROM migrate.upgrade('a5');
CALL pg_temp.remember();
SELECT * FROM migrate.downgrade('a1');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.unchanged();

-- 7-12. Statements refused at registration.
SELECT migrate.revision(id => 'c1', down_revision => '{a5}', upgrade => 'CREAT TABLE oops (id int)');
\echo :LAST_ERROR_SQLSTATE
SELECT migrate.revision(id => 'c1', down_revision => '{a5}', upgrade => E'CREATE TABLE x (id int);\n\\connect other\n');
\echo :LAST_ERROR_SQLSTATE
SELECT migrate.revision(id => 'c1', down_revision => '{a5}', upgrade => E'CREATE TABLE x (id int);\nCOPY x FROM STDIN;');
\echo :LAST_ERROR_SQLSTATE
SELECT migrate.revision(id => 'c1', down_revision => '{a5}', upgrade => E'CREATE TABLE x (id int);\nCOMMIT;');
\echo :LAST_ERROR_SQLSTATE
SELECT migrate.revision(id => 'c1', down_revision => '{a5}', upgrade => E'SAVEPOINT s1;\nCREATE TABLE x (id int);');
\echo :LAST_ERROR_SQLSTATE
SELECT migrate.revision(id => 'c1', down_revision => '{a5}', upgrade => 'CREATE TABLE x (id int)',
    downgrade => 'VACUUM x');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.unchanged();

-- 13. A non-transactional revision is refused by upgrade(), before anything runs.
SELECT migrate.revision(id => 'c2', down_revision => '{a5}', transactional => false,
    upgrade => 'CREATE INDEX CONCURRENTLY t5_id ON t5 (id)', downgrade => 'DROP INDEX CONCURRENTLY t5_id');
CALL pg_temp.remember();
SELECT * FROM migrate.upgrade('heads');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.unchanged();
SELECT migrate.revision(id => 'c2', down_revision => '{a5}', upgrade => 'SELECT 1', downgrade => 'SELECT 1');
CALL pg_temp.remember();

-- 14-16. verify: false, a pgTAP "not ok" line, or an error fail the revision.
SELECT migrate.revision(id => 'c3', down_revision => '{c2}', upgrade => 'CREATE TABLE t6 (id int)', downgrade => 'DROP TABLE t6',
    verify => $$SELECT count(*) = 1 FROM t6$$);
CALL pg_temp.remember();
SELECT * FROM migrate.upgrade('heads');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.unchanged();
SELECT migrate.revision(id => 'c3', down_revision => '{c2}', upgrade => 'CREATE TABLE t6 (id int)', downgrade => 'DROP TABLE t6',
    verify => $$SELECT 'ok 1 - t6 exists' UNION ALL SELECT 'not ok 2 - t6 has rows'$$);
CALL pg_temp.remember();
SELECT * FROM migrate.upgrade('heads');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.unchanged();
SELECT migrate.revision(id => 'c3', down_revision => '{c2}', upgrade => 'CREATE TABLE t6 (id int)', downgrade => 'DROP TABLE t6',
    verify => $$SELECT nosuch FROM t6$$);
CALL pg_temp.remember();
SELECT * FROM migrate.upgrade('heads');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.unchanged();

-- 17. A revision that tries to drop pg_migrate's own objects.
SELECT migrate.revision(id => 'c3', down_revision => '{c2}', upgrade => 'DROP TABLE migrate.applied', downgrade => '');
CALL pg_temp.remember();
SELECT * FROM migrate.upgrade('heads');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.unchanged();

-- 18. An error raised from a DO block.
SELECT migrate.revision(id => 'c3', down_revision => '{c2}', upgrade => $$
    CREATE TABLE t6 (id int);
    DO $do$ BEGIN RAISE EXCEPTION 'custom failure' USING ERRCODE = 'P0001', HINT = 'raised on purpose'; END $do$;
$$, downgrade => 'DROP TABLE t6');
CALL pg_temp.remember();
SELECT * FROM migrate.upgrade('heads');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.unchanged();

-- 19. statement_timeout firing inside a revision.
SELECT migrate.revision(id => 'c3', down_revision => '{c2}', upgrade => $$
    CREATE TABLE t6 (id int);
    SELECT pg_sleep(5);
$$, downgrade => 'DROP TABLE t6');
CALL pg_temp.remember();
SET statement_timeout = '200ms';
SELECT * FROM migrate.upgrade('heads');
\echo :LAST_ERROR_SQLSTATE
RESET statement_timeout;
SELECT pg_temp.unchanged();

-- 20. A revision may not run migrations itself.
SELECT migrate.revision(id => 'c3', down_revision => '{c2}', upgrade => $$SELECT * FROM migrate.downgrade('base')$$, downgrade => '');
CALL pg_temp.remember();
SELECT * FROM migrate.upgrade('heads');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.unchanged();

-- 21. A statement on a table that does not exist.
SELECT migrate.revision(id => 'c3', down_revision => '{c2}', upgrade => 'ALTER TABLE missing ADD COLUMN x int', downgrade => '');
CALL pg_temp.remember();
SELECT * FROM migrate.upgrade('heads');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.unchanged();

-- 22. A revision that changes search_path and then fails: the caller's
-- transaction is rolled back, settings included.
SELECT migrate.revision(id => 'c3', down_revision => '{c2}', upgrade => $$
    SET search_path = pg_catalog;
    SELECT 1 / 0;
$$, downgrade => '');
CALL pg_temp.remember();
SELECT * FROM migrate.upgrade('heads');
\echo :LAST_ERROR_SQLSTATE
SHOW search_path;
SELECT pg_temp.unchanged();

DROP EXTENSION pg_migrate;
DROP TABLE t1, t2, t3, t4, t5;
