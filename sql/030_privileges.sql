-- The privilege model, with real roles: who may call what, whose rights
-- revision SQL runs with, that revision SQL cannot write the catalog, and
-- that objects planted in the caller's search_path change nothing.
CREATE EXTENSION pg_migrate;
SET pg_migrate.quiet = on;

CREATE ROLE pgm_test_nobody NOLOGIN;
CREATE ROLE pgm_test_migrator NOLOGIN;
CREATE ROLE pgm_test_runner NOLOGIN;
CREATE ROLE pgm_test_reader NOLOGIN;
CREATE ROLE pgm_test_planter NOLOGIN;

-- the SQLSTATE a statement raises as a role ('00000': none); the statement
-- is always rolled back
CREATE FUNCTION pg_temp.sqlstate_as(role name, stmt text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	st text := '00000';
BEGIN
	BEGIN
		EXECUTE format('SET LOCAL ROLE %I', role);
		EXECUTE stmt;
		RAISE EXCEPTION USING ERRCODE = 'PMT00';
	EXCEPTION WHEN OTHERS THEN
		IF SQLSTATE <> 'PMT00' THEN
			st := SQLSTATE;
		END IF;
	END;
	RETURN st;
END $$;

-- ------------------------------------------------------------------
-- 1. Every function of schema migrate is either in the known list of
-- read-only functions or has EXECUTE revoked from PUBLIC.  A new write
-- function without its REVOKE makes this list grow.
-- ------------------------------------------------------------------
CREATE TEMP TABLE read_only(name text PRIMARY KEY);
INSERT INTO read_only VALUES
	('heads'), ('bases'), ('branches'), ('current'), ('history'), ('show'),
	('resolve'), ('plan'), ('status'), ('upgrade_sql'), ('downgrade_sql'),
	('validate'), ('fingerprint'), ('describe'), ('lint'), ('lint_rules'),
	('lineage'), ('tap_single_head'),
	-- event trigger functions: they cannot be called, only fired
	('on_ddl_command_end'), ('on_sql_drop');

SELECT p.oid::regprocedure AS "callable by PUBLIC, not known to be read-only"
  FROM pg_proc p
 WHERE p.pronamespace = 'migrate'::regnamespace
   AND has_function_privilege('pgm_test_nobody', p.oid, 'EXECUTE')
   AND p.proname NOT IN (SELECT name FROM read_only)
 ORDER BY 1::text;
SELECT p.oid::regprocedure AS "known read-only, but not callable by PUBLIC"
  FROM pg_proc p
 WHERE p.pronamespace = 'migrate'::regnamespace
   AND NOT has_function_privilege('pgm_test_nobody', p.oid, 'EXECUTE')
   AND p.proname IN (SELECT name FROM read_only)
 ORDER BY 1::text;
SELECT count(*) AS read_only_functions
  FROM pg_proc p
 WHERE p.pronamespace = 'migrate'::regnamespace AND p.proname IN (SELECT name FROM read_only);

-- the write functions and procedures: EXECUTE revoked from PUBLIC
CREATE TEMP TABLE write_procs AS
SELECT p.oid, p.oid::regprocedure::text AS signature, p.prokind,
	   format('%s migrate.%I(%s)',
			  CASE p.prokind WHEN 'p' THEN 'CALL' ELSE 'SELECT' END,
			  p.proname,
			  (SELECT coalesce(string_agg(format('NULL::%s', format_type(t, NULL)), ', ' ORDER BY n), '')
				 FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY AS a(t, n))) AS call
  FROM pg_proc p
 WHERE p.pronamespace = 'migrate'::regnamespace
   AND NOT has_function_privilege('pgm_test_nobody', p.oid, 'EXECUTE');
SELECT signature, prokind FROM write_procs ORDER BY signature;

-- an unprivileged role is refused each of them with 42501 (the arguments
-- are NULLs: the privilege check comes first)
SELECT signature, pg_temp.sqlstate_as('pgm_test_nobody', call) AS sqlstate
  FROM write_procs ORDER BY signature;
-- and the message names the function
SET ROLE pgm_test_nobody;
SELECT migrate.upgrade('heads');
CALL migrate.deploy();
RESET ROLE;

-- the catalog tables: an unprivileged role may read, never write
SELECT c.relname,
	   pg_temp.sqlstate_as('pgm_test_nobody', format('SELECT count(*) FROM migrate.%I', c.relname)) AS "select",
	   pg_temp.sqlstate_as('pgm_test_nobody', format('INSERT INTO migrate.%I DEFAULT VALUES', c.relname)) AS "insert",
	   pg_temp.sqlstate_as('pgm_test_nobody', format('UPDATE migrate.%I SET %I = %I', c.relname, a.attname, a.attname)) AS "update",
	   pg_temp.sqlstate_as('pgm_test_nobody', format('DELETE FROM migrate.%I', c.relname)) AS "delete",
	   pg_temp.sqlstate_as('pgm_test_nobody', format('TRUNCATE migrate.%I', c.relname)) AS "truncate"
  FROM pg_class c
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = 1
 WHERE c.relnamespace = 'migrate'::regnamespace AND c.relkind IN ('r', 'p')
 ORDER BY c.relname;
SELECT c.relname,
	   pg_temp.sqlstate_as('pgm_test_nobody', format('SELECT nextval(%L)', 'migrate.' || c.relname)) AS "nextval",
	   pg_temp.sqlstate_as('pgm_test_nobody', format('SELECT setval(%L, 1)', 'migrate.' || c.relname)) AS "setval"
  FROM pg_class c
 WHERE c.relnamespace = 'migrate'::regnamespace AND c.relkind = 'S'
 ORDER BY c.relname;

-- ------------------------------------------------------------------
-- 2. A migrator role with README's GRANTs registers and runs; revision
-- SQL runs with the rights of the role that runs it, not the role that
-- registered it, and never as the extension owner.
-- ------------------------------------------------------------------
-- README, "Catalog and audit": a role that registers revisions and moves
-- the recorded state (here two such roles)
GRANT EXECUTE ON FUNCTION
    migrate.revision(text, text[], text, text, text, text[], text[], text, boolean),
    migrate.merge(text[], text, text),
    migrate.stamp(text, boolean),
    migrate.stamp(text[], boolean),
    migrate.upgrade(text),
    migrate.downgrade(text),
    migrate.repair(text, text),
    migrate.offline_begin(text, text, text[]),
    migrate.offline_verify(text, text),
    migrate.offline_record(text, text, text),
    migrate.check_roundtrip(text),
    migrate.tap_roundtrip(text),
    migrate.tap_up_down_up()
  TO pgm_test_migrator, pgm_test_runner;
GRANT EXECUTE ON PROCEDURE
    migrate.deploy(text),
    migrate.backfill(regclass, text, text, integer, interval)
  TO pgm_test_migrator, pgm_test_runner;
GRANT EXECUTE ON FUNCTION migrate.backfill_reset(regclass, text, text) TO pgm_test_migrator, pgm_test_runner;

-- both may create in pgm_test_app; only the migrator in pgm_test_locked
CREATE SCHEMA pgm_test_app;
CREATE SCHEMA pgm_test_locked;
GRANT USAGE, CREATE ON SCHEMA pgm_test_app TO pgm_test_migrator, pgm_test_runner;
GRANT USAGE ON SCHEMA pgm_test_locked TO pgm_test_migrator, pgm_test_runner;
GRANT CREATE ON SCHEMA pgm_test_locked TO pgm_test_migrator;

SET ROLE pgm_test_migrator;
SELECT migrate.revision(id => 'p1', down_revision => '{}', message => 'who ran me',
	upgrade => $$CREATE TABLE pgm_test_app.who_ran (revision text, cur name);
				  GRANT INSERT ON pgm_test_app.who_ran TO PUBLIC;
				  INSERT INTO pgm_test_app.who_ran SELECT 'p1', current_user$$,
	downgrade => 'DROP TABLE pgm_test_app.who_ran');
SELECT migrate.revision(id => 'p2', message => 'a table in the locked schema',
	upgrade => $$INSERT INTO pgm_test_app.who_ran SELECT 'p2', current_user;
				  CREATE TABLE pgm_test_locked.secrets (id int)$$,
	downgrade => 'DROP TABLE pgm_test_locked.secrets');
RESET ROLE;
SELECT id, registered_by FROM migrate.revisions ORDER BY seq;

-- the runner lacks CREATE on pgm_test_locked: the permission error of its
-- own statement (42501), in the context of the revision; nothing applied
SET ROLE pgm_test_runner;
SELECT * FROM migrate.upgrade('heads');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT count(*) AS applied FROM migrate.applied;
SELECT to_regclass('pgm_test_app.who_ran') AS who_ran_table;

-- what the runner may do, it does as itself: the table is the runner's,
-- and current_user inside the revision is the runner
SET ROLE pgm_test_runner;
SELECT step, revision, operation FROM migrate.upgrade('p1');
RESET ROLE;
SELECT revision, cur FROM pgm_test_app.who_ran;
SELECT relname, relowner::regrole FROM pg_class WHERE oid = 'pgm_test_app.who_ran'::regclass;
SELECT revision, applied_by FROM migrate.applied;
SELECT kind, revision, current_user_name FROM migrate.events WHERE kind = 'upgrade' ORDER BY id;

-- the migrator may create in pgm_test_locked: its table is its own
SET ROLE pgm_test_migrator;
SELECT step, revision, operation FROM migrate.upgrade('heads');
RESET ROLE;
SELECT revision, cur FROM pgm_test_app.who_ran ORDER BY revision;
SELECT relname, relowner::regrole FROM pg_class WHERE oid = 'pgm_test_locked.secrets'::regclass;

-- ------------------------------------------------------------------
-- 3. Revision SQL cannot write the catalog: the catalog writes switch to
-- the extension owner only around their own statements.
-- ------------------------------------------------------------------
SET ROLE pgm_test_migrator;
BEGIN;
SELECT migrate.revision(id => 'fake1', message => 'fake history',
	upgrade => $$INSERT INTO migrate.applied (revision, applied_at, applied_by)
				  VALUES ('fake1', pg_catalog.now(), 'nobody')$$);
SELECT * FROM migrate.upgrade('fake1');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SELECT migrate.revision(id => 'fake2', message => 'rewrite a revision',
	upgrade => $$UPDATE migrate.revisions SET upgrade = 'SELECT 1' WHERE id = 'p1'$$);
SELECT * FROM migrate.upgrade('fake2');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SELECT migrate.revision(id => 'fake3', message => 'forge an event',
	upgrade => $$INSERT INTO migrate.events (kind, revision, session_user_name, current_user_name, backend_pid)
				  VALUES ('upgrade', 'fake3', 'x', 'x', 0)$$);
SELECT * FROM migrate.upgrade('fake3');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
RESET ROLE;
SELECT count(*) AS revisions, (SELECT count(*) FROM migrate.applied) AS applied FROM migrate.revisions;

-- The extension owner (here a superuser) can write the catalog from a
-- revision; migrate.validate() then reports the faked history.
SELECT migrate.revision(id => 'o1', message => 'marks o2 applied without running it',
	upgrade => $$INSERT INTO migrate.applied (revision, applied_at, applied_by, checksum)
				  SELECT r.id, now(), current_user, r.checksum FROM migrate.revisions r WHERE r.id = 'o2'$$);
SELECT migrate.revision(id => 'o2', message => 'never runs',
	upgrade => 'CREATE TABLE pgm_test_app.never_created (id int)');
SELECT step, revision, operation FROM migrate.upgrade('o1');
SELECT revision FROM migrate.applied ORDER BY revision;
SELECT to_regclass('pgm_test_app.never_created') AS never_created;
SELECT severity, revision, problem, detail FROM migrate.validate() WHERE severity <> 'notice';
-- a revision that rewrites the checksum another revision ran with
SELECT migrate.revision(id => 'o3', message => 'rewrites the checksum p1 ran with',
	upgrade => $$UPDATE migrate.applied SET checksum = 'forged' WHERE revision = 'p1'$$);
SELECT step, revision, operation FROM migrate.upgrade('o3');
SELECT severity, revision, problem FROM migrate.validate() WHERE severity <> 'notice';
-- the owner puts things right with plain SQL
DELETE FROM migrate.applied WHERE revision IN ('o1', 'o2', 'o3');
DELETE FROM migrate.revisions WHERE id IN ('o1', 'o2', 'o3');
UPDATE migrate.applied a SET checksum = r.checksum FROM migrate.revisions r WHERE r.id = a.revision;
SELECT severity, revision, problem FROM migrate.validate() WHERE severity <> 'notice';

-- ------------------------------------------------------------------
-- 4. README's migrator GRANTs suffice for deploy, backfill,
-- backfill_reset, the offline script, stamp, downgrade and the round trip.
-- ------------------------------------------------------------------
SET ROLE pgm_test_migrator;
SELECT migrate.revision(id => 'd1', message => 'items',
	upgrade => $$CREATE TABLE pgm_test_app.items (id int PRIMARY KEY, v int NOT NULL);
				  INSERT INTO pgm_test_app.items SELECT g, 0 FROM generate_series(1, 50) g$$,
	downgrade => 'DROP TABLE pgm_test_app.items');
SELECT migrate.revision(id => 'd2', message => 'an index, concurrently', transactional => false,
	upgrade => 'CREATE INDEX CONCURRENTLY items_v ON pgm_test_app.items (v)',
	downgrade => 'DROP INDEX CONCURRENTLY pgm_test_app.items_v');
CALL migrate.deploy();
SET client_min_messages = warning;
CALL migrate.backfill('pgm_test_app.items', 'v = id * 2', batch_size => 20);
RESET client_min_messages;
SELECT sum(v) AS backfilled FROM pgm_test_app.items;
SELECT migrate.backfill_reset('pgm_test_app.items', 'v = id * 2');
SELECT migrate.revision(id => 'd3', message => 'a note',
	upgrade => 'ALTER TABLE pgm_test_app.items ADD COLUMN note text',
	downgrade => 'ALTER TABLE pgm_test_app.items DROP COLUMN note');
SELECT * FROM migrate.check_roundtrip();
SELECT revision, action FROM migrate.stamp('d3');
SELECT revision, action FROM migrate.stamp('d2');
SELECT step, revision, operation FROM migrate.upgrade('d3');
SELECT step, revision, operation FROM migrate.downgrade('d2');
SELECT migrate.upgrade_sql('heads') AS script \gset
BEGIN;
:script
COMMIT;
SELECT revision FROM migrate.current();
RESET ROLE;
SELECT relname, relowner::regrole FROM pg_class
 WHERE relnamespace = 'pgm_test_app'::regnamespace ORDER BY relname;
SELECT kind, string_agg(DISTINCT current_user_name, ', ') AS by FROM migrate.events GROUP BY kind ORDER BY kind;

-- ------------------------------------------------------------------
-- 5. README's read-only GRANTs suffice for every read function, even
-- with the schema locked down (PUBLIC's USAGE and SELECT revoked).
-- ------------------------------------------------------------------
REVOKE USAGE ON SCHEMA migrate FROM PUBLIC;
REVOKE SELECT ON ALL TABLES IN SCHEMA migrate FROM PUBLIC;
SELECT pg_temp.sqlstate_as('pgm_test_reader', 'SELECT * FROM migrate.heads()') AS before_grant;
-- README, "Catalog and audit": a role that may only look
GRANT USAGE ON SCHEMA migrate TO pgm_test_reader;
GRANT SELECT ON migrate.revisions, migrate.applied, migrate.events,
    migrate.catalog_version, migrate.object_changes, migrate.managed_schemas,
    migrate.objects, migrate.backfills TO pgm_test_reader;
SELECT f AS read_function, pg_temp.sqlstate_as('pgm_test_reader', 'SELECT * FROM ' || f) AS sqlstate
  FROM unnest(ARRAY['migrate.heads()', 'migrate.bases()', 'migrate.branches()',
					'migrate.current()', 'migrate.history()', $$migrate.show('d1')$$,
					$$migrate.resolve('head')$$, $$migrate.plan('heads')$$,
					'migrate.status()', $$migrate.upgrade_sql('heads')$$,
					$$migrate.downgrade_sql('d1')$$, 'migrate.validate()',
					$$migrate.fingerprint('{pgm_test_app}')$$, $$migrate.describe('{pgm_test_app}')$$,
					$$migrate.lint('ALTER TABLE pgm_test_app.items ADD COLUMN x int')$$,
					'migrate.lint_rules()', $$migrate.lineage('pgm_test_app.items')$$,
					'migrate.objects', 'migrate.backfills']) f;
GRANT USAGE ON SCHEMA migrate TO PUBLIC;
GRANT SELECT ON migrate.revisions, migrate.applied, migrate.events, migrate.catalog_version,
	migrate.object_changes, migrate.managed_schemas, migrate.objects, migrate.backfills TO PUBLIC;

-- ------------------------------------------------------------------
-- 6. Objects planted in the caller's search_path, ahead of pg_catalog,
-- change nothing pg_migrate's own queries do: each planted function
-- logs its call and returns a wrong answer.
-- ------------------------------------------------------------------
CREATE SCHEMA pgm_test_trap AUTHORIZATION pgm_test_planter;
GRANT USAGE ON SCHEMA pgm_test_trap TO PUBLIC;
SET ROLE pgm_test_planter;
CREATE TABLE pgm_test_trap.calls (fn text);
GRANT INSERT, SELECT ON pgm_test_trap.calls TO PUBLIC;
CREATE FUNCTION pgm_test_trap.now() RETURNS timestamptz LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO pgm_test_trap.calls VALUES ('now'); RETURN '2000-01-01'; END $$;
CREATE FUNCTION pgm_test_trap.clock_timestamp() RETURNS timestamptz LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO pgm_test_trap.calls VALUES ('clock_timestamp'); RETURN '2000-01-01'; END $$;
CREATE FUNCTION pgm_test_trap.array_length(anyarray, int) RETURNS int LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO pgm_test_trap.calls VALUES ('array_length'); RETURN 999; END $$;
CREATE FUNCTION pgm_test_trap.cardinality(anyarray) RETURNS int LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO pgm_test_trap.calls VALUES ('cardinality'); RETURN 999; END $$;
CREATE FUNCTION pgm_test_trap.lower(text) RETURNS text LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO pgm_test_trap.calls VALUES ('lower'); RETURN 'x'; END $$;
CREATE FUNCTION pgm_test_trap.upper(text) RETURNS text LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO pgm_test_trap.calls VALUES ('upper'); RETURN 'x'; END $$;
CREATE FUNCTION pgm_test_trap.unnest(anyarray) RETURNS SETOF anyelement LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO pgm_test_trap.calls VALUES ('unnest'); END $$;
CREATE FUNCTION pgm_test_trap.texteq(text, text) RETURNS boolean LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO pgm_test_trap.calls VALUES ('='); RETURN true; END $$;
CREATE OPERATOR pgm_test_trap.= (LEFTARG = text, RIGHTARG = text, FUNCTION = pgm_test_trap.texteq);
CREATE FUNCTION pgm_test_trap.textcat(text, text) RETURNS text LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO pgm_test_trap.calls VALUES ('||'); RETURN 'x'; END $$;
CREATE OPERATOR pgm_test_trap.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = pgm_test_trap.textcat);
-- tables named like the catalog tables, holding lies
CREATE TABLE pgm_test_trap.revisions AS SELECT * FROM migrate.revisions WHERE false;
INSERT INTO pgm_test_trap.revisions (id, upgrade, checksum, seq, registered_at, registered_by)
	VALUES ('evil', 'DROP SCHEMA pgm_test_app CASCADE', 'x', 0, '2000-01-01', 'evil');
CREATE TABLE pgm_test_trap.applied AS SELECT * FROM migrate.applied WHERE false;
INSERT INTO pgm_test_trap.applied VALUES ('evil', '2000-01-01', 'evil', 'x', NULL);
CREATE TABLE pgm_test_trap.events AS SELECT * FROM migrate.events WHERE false;
GRANT SELECT ON pgm_test_trap.revisions, pgm_test_trap.applied, pgm_test_trap.events TO PUBLIC;
RESET ROLE;

-- the trap works: with it first in search_path, plain names reach it
SET ROLE pgm_test_migrator;
SET search_path = pgm_test_trap, pg_catalog, public;
SELECT lower('ABC') AS lower, 'a' = 'b' AS "a = b", 'a' || 'b' AS "a || b",
	   (SELECT count(*) FROM revisions) AS revisions, (SELECT count(*) FROM unnest(ARRAY[1, 2])) AS unnest;
RESET search_path;
RESET ROLE;
SELECT fn, count(*) FROM pgm_test_trap.calls GROUP BY fn ORDER BY fn;
TRUNCATE pgm_test_trap.calls;

-- revisions to run under the trap; their SQL names nothing the trap shadows
SET ROLE pgm_test_migrator;
SELECT migrate.revision(id => 't1', message => 'trap one (irreversible)',
	upgrade => 'CREATE TABLE pgm_test_app.t1 (id int)');
SELECT migrate.revision(id => 't2', message => 'trap two', branch_labels => '{trapped}',
	upgrade => 'CREATE TABLE pgm_test_app.t2 (id int)', downgrade => 'DROP TABLE pgm_test_app.t2');
RESET ROLE;

-- what the read functions say with a clean search_path ... (lint weighs
-- no table size here, so that it finds something)
SET pg_migrate.lint_min_rows = 0;
CREATE TEMP TABLE clean AS SELECT 'heads' AS fn, (SELECT array_agg(h::text ORDER BY h.revision) FROM migrate.heads() h) AS result
UNION ALL SELECT 'bases', (SELECT array_agg(b::text ORDER BY b.revision) FROM migrate.bases() b)
UNION ALL SELECT 'current', (SELECT array_agg(c.revision || c.applied_by ORDER BY c.revision) FROM migrate.current() c)
UNION ALL SELECT 'history', (SELECT array_agg(concat_ws(' ', h.revision, h.down_revision, h.is_head, h.applied)) FROM migrate.history() h)
UNION ALL SELECT 'show', (SELECT array_agg(concat_ws(' ', s.revision, s.checksum, s.children, s.applied)) FROM migrate.show('t1') s)
UNION ALL SELECT 'resolve', (SELECT array_agg(r::text) FROM migrate.resolve('trapped@head') r)
UNION ALL SELECT 'plan', (SELECT array_agg(p::text ORDER BY p.step) FROM migrate.plan('heads') p)
UNION ALL SELECT 'plan down', (SELECT array_agg(p::text ORDER BY p.step) FROM migrate.plan('p1', 'downgrade') p)
UNION ALL SELECT 'status', (SELECT ARRAY[s.current::text, s.heads::text, s.pending::text, s.last_event] FROM migrate.status() s)
UNION ALL SELECT 'validate', (SELECT array_agg(v::text) FROM migrate.validate() v)
UNION ALL SELECT 'upgrade_sql', ARRAY[regexp_replace(migrate.upgrade_sql('heads'), '\d{4}-\d\d-\d\d[^\n]*', '', 'g')]
UNION ALL SELECT 'fingerprint', ARRAY[migrate.fingerprint('{pgm_test_app}')]
UNION ALL SELECT 'lint', (SELECT array_agg(l::text) FROM migrate.lint('ALTER TABLE pgm_test_app.items RENAME COLUMN v TO w; DROP TABLE pgm_test_app.who_ran') l)
UNION ALL SELECT 'lineage', (SELECT array_agg(concat_ws(' ', l.revision, l.action, l.object_identity)) FROM migrate.lineage('pgm_test_app.items') l);

-- ... and with the trap first (collected without comparing anything: a
-- comparison here would itself call the planted operator)
SET ROLE pgm_test_migrator;
SET search_path = pgm_test_trap, pg_catalog, public;
CREATE TEMP TABLE trapped AS SELECT 'heads' AS fn, (SELECT array_agg(h::text ORDER BY h.revision) FROM migrate.heads() h) AS result
UNION ALL SELECT 'bases', (SELECT array_agg(b::text ORDER BY b.revision) FROM migrate.bases() b)
UNION ALL SELECT 'current', (SELECT array_agg(pg_catalog.textcat(c.revision, c.applied_by) ORDER BY c.revision) FROM migrate.current() c)
UNION ALL SELECT 'history', (SELECT array_agg(concat_ws(' ', h.revision, h.down_revision, h.is_head, h.applied)) FROM migrate.history() h)
UNION ALL SELECT 'show', (SELECT array_agg(concat_ws(' ', s.revision, s.checksum, s.children, s.applied)) FROM migrate.show('t1') s)
UNION ALL SELECT 'resolve', (SELECT array_agg(r::text) FROM migrate.resolve('trapped@head') r)
UNION ALL SELECT 'plan', (SELECT array_agg(p::text ORDER BY p.step) FROM migrate.plan('heads') p)
UNION ALL SELECT 'plan down', (SELECT array_agg(p::text ORDER BY p.step) FROM migrate.plan('p1', 'downgrade') p)
UNION ALL SELECT 'status', (SELECT ARRAY[s.current::text, s.heads::text, s.pending::text, s.last_event] FROM migrate.status() s)
UNION ALL SELECT 'validate', (SELECT array_agg(v::text) FROM migrate.validate() v)
UNION ALL SELECT 'upgrade_sql', ARRAY[regexp_replace(migrate.upgrade_sql('heads'), '\d{4}-\d\d-\d\d[^\n]*', '', 'g')]
UNION ALL SELECT 'fingerprint', ARRAY[migrate.fingerprint('{pgm_test_app}')]
UNION ALL SELECT 'lint', (SELECT array_agg(l::text) FROM migrate.lint('ALTER TABLE pgm_test_app.items RENAME COLUMN v TO w; DROP TABLE pgm_test_app.who_ran') l)
UNION ALL SELECT 'lineage', (SELECT array_agg(concat_ws(' ', l.revision, l.action, l.object_identity)) FROM migrate.lineage('pgm_test_app.items') l);
RESET search_path;
RESET ROLE;
SELECT c.fn, c.result IS NOT NULL AS has_result, c.result = t.result AS same_under_trap
  FROM clean c JOIN trapped t USING (fn) ORDER BY c.fn;
SELECT count(*) AS planted_calls FROM pgm_test_trap.calls;

-- the write functions under the trap: the applied set ends where the
-- clean plan said it would, and no planted object was called
CREATE TEMP TABLE planned AS SELECT revision FROM migrate.plan('heads');
SET ROLE pgm_test_migrator;
SET search_path = pgm_test_trap, pg_catalog, public;
SELECT migrate.revision(id => 't3', message => 'trap three',
	upgrade => 'CREATE TABLE pgm_test_app.t3 (id int)', downgrade => 'DROP TABLE pgm_test_app.t3');
CREATE TEMP TABLE up1 AS SELECT step, revision, operation FROM migrate.upgrade('t2');
CREATE TEMP TABLE down1 AS SELECT step, revision, operation FROM migrate.downgrade('t1');
CREATE TEMP TABLE stamp1 AS SELECT revision, action FROM migrate.stamp('t2');
CREATE TEMP TABLE stamp2 AS SELECT revision, action FROM migrate.stamp(ARRAY['t1'], purge => false);
CALL migrate.deploy('t2');
SET client_min_messages = warning;
CALL migrate.backfill('pgm_test_app.items', 'v = v + 1', batch_size => 7);
RESET client_min_messages;
CREATE TEMP TABLE up2 AS SELECT step, revision, operation FROM migrate.upgrade('heads');
RESET search_path;
RESET ROLE;
SELECT 'up1' AS call, * FROM up1 UNION ALL SELECT 'down1', * FROM down1 ORDER BY 1 DESC, 2;
SELECT 'stamp1' AS call, * FROM stamp1 UNION ALL SELECT 'stamp2', * FROM stamp2 ORDER BY 1, 2;
SELECT * FROM up2;
SELECT revision FROM planned;
SELECT revision FROM migrate.applied WHERE revision LIKE 't%' ORDER BY revision;
SELECT sum(v) AS backfilled FROM pgm_test_app.items;
SELECT count(*) AS planted_calls FROM pgm_test_trap.calls;
SELECT count(*) AS planted_revision_registered FROM migrate.revisions WHERE id = 'evil';
SELECT to_regclass('pgm_test_app.t1') IS NOT NULL AS t1, to_regclass('pgm_test_app.t2') IS NOT NULL AS t2,
	   to_regclass('pgm_test_app.t3') IS NOT NULL AS t3;

-- ------------------------------------------------------------------
-- 7. No function of schema migrate is SECURITY DEFINER.
-- ------------------------------------------------------------------
SELECT p.oid::regprocedure AS security_definer FROM pg_proc p
 WHERE p.pronamespace = 'migrate'::regnamespace AND p.prosecdef;

SET client_min_messages = warning;
DROP SCHEMA pgm_test_app, pgm_test_locked, pgm_test_trap CASCADE;
DROP EXTENSION pg_migrate;
DROP OWNED BY pgm_test_nobody, pgm_test_migrator, pgm_test_runner, pgm_test_reader, pgm_test_planter;
DROP ROLE pgm_test_nobody, pgm_test_migrator, pgm_test_runner, pgm_test_reader, pgm_test_planter;
