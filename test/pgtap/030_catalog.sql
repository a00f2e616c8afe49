/*
 * 030_catalog.sql: registering again (no-op, replace, refused), catalog
 * privileges, the append-only event log, a regression test for
 * migrate.status()'s result memory, and COMMENTs on every object.
 */
BEGIN;
\ir lib/graph_helpers.psql

SELECT plan(38);

/* the SQLSTATE a statement raises when run as another role ('00000' = none) */
CREATE FUNCTION tap.sqlstate_as(role name, stmt text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	st text := '00000';
BEGIN
	BEGIN
		EXECUTE format('SET LOCAL ROLE %I', role);
		EXECUTE stmt;
	EXCEPTION WHEN OTHERS THEN
		st := SQLSTATE;
	END;
	RESET ROLE;
	RETURN st;
END $$;

/* events logged by this transaction (other sessions may log theirs meanwhile) */
CREATE FUNCTION tap.event_count() RETURNS bigint
LANGUAGE sql STABLE AS $$
	SELECT count(*) FROM migrate.events WHERE transaction_id = pg_current_xact_id()
$$;

/* re-register a revision from its own catalog row, optionally with another upgrade */
CREATE FUNCTION tap.reregister(rid text, new_upgrade text DEFAULT NULL) RETURNS text
LANGUAGE sql AS $$
	SELECT migrate.revision(id => r.id, down_revision => r.down_revision,
							upgrade => coalesce(new_upgrade, r.upgrade),
							downgrade => r.downgrade, message => r.message,
							branch_labels => r.branch_labels, depends_on => r.depends_on,
							verify => r.verify, transactional => r.transactional)
	  FROM migrate.revisions r WHERE r.id = rid
$$;

CREATE TABLE tap.snap AS SELECT 0 AS k, ctid::text AS tid, r.* FROM migrate.revisions r WHERE false;

CREATE FUNCTION tap.take_snap(k int) RETURNS void
LANGUAGE sql AS $$
	INSERT INTO tap.snap SELECT k, ctid::text, r.* FROM migrate.revisions r
$$;

/* ------------------------------------------------------------------ registering again */

DO $$
BEGIN
	PERFORM setseed(0.030);
	PERFORM tap.reset_catalog();
	PERFORM tap.gen_graph(1, 40);
	-- about half of it applied
	PERFORM migrate.stamp(ARRAY(SELECT DISTINCT tap.pick(tap.all_ids())
								  FROM generate_series(1, 2)), purge => true);
	PERFORM tap.take_snap(1);
END $$;

-- every revision of a generated graph, re-registered from its own row
CREATE TABLE tap.ev1 AS SELECT tap.event_count() AS n;
DO $$
DECLARE
	x text;
BEGIN
	FOR x IN SELECT id FROM migrate.revisions ORDER BY seq LOOP
		PERFORM tap.note('same_id', 0, tap.reregister(x) = x, format('%s returned another id', x));
	END LOOP;
END $$;
SELECT tap.verdict('same_id', 0, 're-registering identical content returns the id');
SELECT is(tap.event_count(), (SELECT n FROM tap.ev1),
		  're-registering identical content (merges and labels included) logs no event');
SELECT set_eq('SELECT ctid::text AS tid, r.* FROM migrate.revisions r',
			  'SELECT tid, id, down_revision, depends_on, branch_labels, message, upgrade, downgrade, verify,
					  transactional, checksum, seq, registered_at, registered_by FROM tap.snap WHERE k = 1',
			  'identical content leaves every migrate.revisions row untouched (same ctid, same values)');

-- merges registered with migrate.merge() are no-ops through migrate.merge() again
SELECT lives_ok($$SELECT migrate.merge(r.down_revision, r.message, r.id)
					 FROM migrate.revisions r, migrate.events e
					WHERE e.kind = 'merge' AND e.revision = r.id$$,
				'migrate.merge() again with the same parents');
SELECT is(tap.event_count(), (SELECT n FROM tap.ev1),
		  'migrate.merge() again with the same parents logs no event');

-- changed content of unapplied revisions replaces them
CREATE TABLE tap.pick1 AS
	SELECT id FROM migrate.revisions WHERE id NOT IN (SELECT revision FROM migrate.applied)
	 ORDER BY md5(id) LIMIT 5;
SELECT is((SELECT count(*)::int FROM tap.pick1), 5, 'five unapplied revisions to replace');
CREATE TABLE tap.ev_before AS SELECT max(id) AS m FROM migrate.events;
SELECT is(ARRAY(SELECT tap.reregister(id, 'SELECT ''changed ' || id || '''') FROM tap.pick1 ORDER BY id),
		  ARRAY(SELECT id FROM tap.pick1 ORDER BY id),
		  'replacing returns the ids');
SELECT set_eq($$SELECT id, upgrade FROM migrate.revisions WHERE id IN (SELECT id FROM tap.pick1)$$,
			  $$SELECT id, 'SELECT ''changed ' || id || '''' FROM tap.pick1$$,
			  'changed content of an unapplied revision replaces it');
SELECT is_empty($$SELECT r.id FROM migrate.revisions r JOIN tap.snap s ON s.id = r.id AND s.k = 1
				   WHERE r.id IN (SELECT id FROM tap.pick1) AND r.checksum = s.checksum$$,
				'a replaced revision gets a new checksum');
SELECT bag_eq($$SELECT revision FROM migrate.events
				 WHERE id > (SELECT m FROM tap.ev_before) AND transaction_id = pg_current_xact_id()$$,
			  $$SELECT id FROM tap.pick1$$,
			  'each replacement logs one event, about the replaced revision');
SELECT is_empty($$SELECT kind FROM migrate.events
				   WHERE id > (SELECT m FROM tap.ev_before) AND transaction_id = pg_current_xact_id()
					 AND kind <> 'replace'$$,
				'the events of replacements are of kind replace');
SELECT set_eq($$SELECT ctid::text AS tid, id FROM migrate.revisions WHERE id NOT IN (SELECT id FROM tap.pick1)$$,
			  $$SELECT tid, id FROM tap.snap WHERE k = 1 AND id NOT IN (SELECT id FROM tap.pick1)$$,
			  'replacing revisions leaves the other rows untouched');

-- changed content of applied revisions is refused
CREATE TABLE tap.pick2 AS SELECT revision AS id FROM migrate.applied ORDER BY md5(revision) LIMIT 5;
CREATE TABLE tap.ev2 AS SELECT tap.event_count() AS n;
DO $$
DECLARE
	x text;
	st text;
BEGIN
	FOR x IN SELECT id FROM tap.pick2 ORDER BY id LOOP
		st := NULL;
		BEGIN
			PERFORM tap.reregister(x, 'SELECT ''changed''');
		EXCEPTION WHEN OTHERS THEN
			st := SQLSTATE;
		END;
		PERFORM tap.note('applied_refused', 0, st = '55000',
						 format('changing applied %s raised %s', x, coalesce(st, 'nothing')));
	END LOOP;
END $$;
SELECT tap.verdict('applied_refused', 0, 'changing an applied revision raises 55000');
SELECT set_eq($$SELECT ctid::text AS tid, r.* FROM migrate.revisions r WHERE id IN (SELECT id FROM tap.pick2)$$,
			  $$SELECT tid, id, down_revision, depends_on, branch_labels, message, upgrade, downgrade, verify,
					  transactional, checksum, seq, registered_at, registered_by
				  FROM tap.snap WHERE k = 1 AND id IN (SELECT id FROM tap.pick2)$$,
			  'a refused change leaves the applied revision untouched');
SELECT is(tap.event_count(), (SELECT n FROM tap.ev2), 'a refused change logs no event');

-- the same by hand, with throws_ok
DO $$
BEGIN
	PERFORM tap.reset_catalog();
	PERFORM migrate.revision(id => 'c1', down_revision => '{}', upgrade => 'SELECT 1', message => 'one');
	PERFORM migrate.revision(id => 'c2', down_revision => '{c1}', upgrade => 'SELECT 2', message => 'two');
	PERFORM migrate.stamp('c1');
END $$;
SELECT lives_ok($$SELECT migrate.revision(id => 'c1', down_revision => '{}', upgrade => 'SELECT 1', message => 'one')$$,
				'identical content of an applied revision is accepted');
SELECT throws_ok($$SELECT migrate.revision(id => 'c1', down_revision => '{}', upgrade => 'SELECT 1', message => 'one!')$$,
				 '55000', NULL, 'a changed message of an applied revision raises 55000');
SELECT throws_ok($$SELECT migrate.revision(id => 'c1', down_revision => '{}', upgrade => 'SELECT 11', message => 'one')$$,
				 '55000', NULL, 'a changed upgrade of an applied revision raises 55000');
SELECT lives_ok($$SELECT migrate.revision(id => 'c2', down_revision => '{c1}', upgrade => 'SELECT 22', message => 'two')$$,
				'a changed upgrade of an unapplied revision is accepted');
SELECT is((SELECT upgrade FROM migrate.revisions WHERE id = 'c2'), 'SELECT 22',
		  'and replaces the registered content');

/* ------------------------------------------------------------------ privileges */

CREATE ROLE tap_nobody NOLOGIN;

SELECT table_privs_are('migrate', t, 'tap_nobody', ARRAY['SELECT'],
					   format('an ordinary role (through PUBLIC) may only SELECT migrate.%s', t))
  FROM unnest(ARRAY['revisions', 'applied', 'events']) t ORDER BY t;
SELECT table_privs_are('migrate', 'catalog_version', 'tap_nobody', ARRAY['SELECT'],
					   'an ordinary role may only read migrate.catalog_version (the read functions check it)');

SELECT is_empty($$SELECT c.relname, p.priv FROM pg_class c,
						unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) p(priv)
				   WHERE c.relnamespace = 'migrate'::regnamespace AND c.relkind IN ('r', 'p')
					 AND has_table_privilege('tap_nobody', c.oid, p.priv)
				   UNION ALL
				  SELECT c.relname, p.priv FROM pg_class c, unnest(ARRAY['USAGE', 'UPDATE']) p(priv)
				   WHERE c.relnamespace = 'migrate'::regnamespace AND c.relkind = 'S'
					 AND has_sequence_privilege('tap_nobody', c.oid, p.priv)$$,
				'no table or sequence in schema migrate is writable by an ordinary role');

CREATE TABLE tap.role_try AS
	SELECT stmt, tap.sqlstate_as('tap_nobody', stmt) AS st
	  FROM unnest(ARRAY[
		$$INSERT INTO migrate.revisions (id, upgrade, checksum, seq, registered_at, registered_by)
		  VALUES ('x', '', '', -1, now(), 'x')$$,
		$$UPDATE migrate.revisions SET upgrade = 'DROP TABLE important'$$,
		$$DELETE FROM migrate.revisions$$,
		$$INSERT INTO migrate.applied (revision, applied_at, applied_by) VALUES ('c2', now(), 'x')$$,
		$$UPDATE migrate.applied SET checksum = NULL$$,
		$$DELETE FROM migrate.applied$$,
		$$INSERT INTO migrate.events (kind, session_user_name, current_user_name, backend_pid)
		  VALUES ('repair', 'x', 'x', 0)$$,
		$$UPDATE migrate.events SET detail = 'x'$$,
		$$DELETE FROM migrate.events$$,
		$$TRUNCATE migrate.revisions, migrate.applied, migrate.events$$,
		$$UPDATE migrate.catalog_version SET generation = 0$$,
		$$SELECT nextval('migrate.revisions_seq')$$]) stmt;
SELECT is_empty($$SELECT st, stmt FROM tap.role_try WHERE st <> '42501'$$,
				'an ordinary role gets 42501 for every write to the catalog');
SELECT is(tap.sqlstate_as('tap_nobody', 'SELECT count(*) FROM migrate.revisions'), '00000',
		  'an ordinary role can read migrate.revisions');

-- the event log is append-only, even for the owner
SELECT cmp_ok(tap.event_count(), '>', 0::bigint, 'there are events to protect');
SELECT throws_ok($$UPDATE migrate.events SET detail = 'rewritten'$$, '42501', NULL,
				 'the owner cannot UPDATE migrate.events');
SELECT throws_ok($$DELETE FROM migrate.events$$, '42501', NULL,
				 'the owner cannot DELETE FROM migrate.events');

-- functions: none is SECURITY DEFINER; all pin search_path but the trigger
-- functions and the runners, which run revision SQL with the caller's settings,
-- lint(), which resolves the names of the SQL it reads as that SQL will, and
-- the procedures, which commit (a procedure with SET cannot)
SELECT is_empty($$SELECT p.oid::regprocedure::text FROM pg_proc p
				   WHERE p.pronamespace = 'migrate'::regnamespace AND p.prosecdef$$,
				'no function in schema migrate is SECURITY DEFINER');
SELECT is_empty($$SELECT p.oid::regprocedure::text FROM pg_proc p
				   WHERE p.pronamespace = 'migrate'::regnamespace
					 AND p.prorettype NOT IN ('trigger'::regtype, 'event_trigger'::regtype)
					 AND p.prokind <> 'p'
					 AND p.proname NOT IN ('upgrade', 'downgrade', 'offline_begin', 'offline_verify', 'offline_record', 'check_roundtrip', 'tap_roundtrip', 'tap_single_head', 'tap_up_down_up', 'lint')
					 AND NOT coalesce(p.proconfig, '{}') && ARRAY['search_path=pg_catalog, pg_temp']$$,
				'every other callable function in schema migrate pins search_path to pg_catalog, pg_temp');
SELECT is_empty($$SELECT p.oid::regprocedure::text FROM pg_proc p
				   WHERE p.pronamespace = 'migrate'::regnamespace
					 AND (p.proname IN ('upgrade', 'downgrade', 'offline_begin', 'offline_verify', 'offline_record', 'check_roundtrip', 'tap_roundtrip', 'tap_single_head', 'tap_up_down_up', 'lint')
						  OR p.prokind = 'p')
					 AND p.proconfig IS NOT NULL$$,
				'upgrade(), downgrade(), the offline_*() calls and the procedures keep the caller''s settings for revision SQL');

/* ------------------------------------------------------------------ status() memory */

/*
 * migrate.status() built its result tuple in SPI's memory context and
 * returned it after SPI_finish() (src/inspect.c, pgm_status): the caller
 * reads freed memory.  On this graph (graph 4 of 010 with seed 0.77),
 * stamped to g4r033, calling it from PL/pgSQL fails with "invalid memory
 * alloc request size 4294967288" (or worse).  Spec: id:parents:depends_on:labels.
 */
CREATE FUNCTION tap.build_spec(prefix text, spec text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	item text;
	f text[];
BEGIN
	FOR item IN SELECT x FROM regexp_split_to_table(btrim(spec, E' \t\n'), '\s+') WITH ORDINALITY AS t(x, n) ORDER BY n LOOP
		f := string_to_array(item, ':');
		PERFORM migrate.revision(
			id => prefix || f[1],
			down_revision => ARRAY(SELECT prefix || p FROM unnest(string_to_array(f[2], ',')) WITH ORDINALITY AS u(p, n) ORDER BY n),
			depends_on => ARRAY(SELECT prefix || d FROM unnest(string_to_array(f[3], ',')) WITH ORDINALITY AS u(d, n) ORDER BY n),
			branch_labels => string_to_array(f[4], ','),
			upgrade => 'SELECT 1');
	END LOOP;
END $$;

DO $$
BEGIN
	PERFORM tap.reset_catalog();
	PERFORM tap.build_spec('g4r', $spec$
	001::: 002:001:: 003:002:: 004:002:: 005:004:: 006:005:003: 007::: 008:007:: 009:006:008:
	010:003:: 011:005::lb4_11 012:008:: 013:011:: 014:013:: 015:012,009:: 016:010,014::
	017:016:: 018:001::lb4_18 019:017,015:: 020:018,019:: 021:020:: 022:021:: 023:016::lb4_23
	024:023:: 025:022:024: 026:024:021: 027:026,025:: 028:020:: 029:028:: 030:029:: 031:027::
	032:030:: 033:032:: 034:033:: 035:031:: 036:035:: 037:036:: 038:037:: 039:034::
	040:010:035:lb4_40 041:040:030: 042:039,041:: 043:038:: 044:043:: 045:044:: 046:026::
	047:016:: 048:042:: 049:048:: 050:047:: 051:049:: 052:046:029: 053:045:: 054:052::
	055::029: 056:053:: 057:056,055:: 058:057:: 059:054:: 060:059:: 061:060,051:: 062:061::
	063:062:: 064:063:: 065:027:: 066:065:: 067:058:: 068:051::lb4_68 069:017::
	$spec$);
	PERFORM migrate.stamp('g4r033');
END $$;
SELECT lives_ok($q$
	DO $do$
	DECLARE
		s record;
	BEGIN
		FOR i IN 1..20 LOOP
			SELECT * INTO s FROM migrate.status();
		END LOOP;
	END $do$
$q$,
	'migrate.status() called repeatedly from PL/pgSQL returns a sound row');
SELECT is((SELECT pending FROM migrate.status()), 44, 'status() of that state: 44 pending');

/* ------------------------------------------------------------------ comments */

SELECT is_empty($$SELECT p.oid::regprocedure::text FROM pg_proc p
				   WHERE p.pronamespace = 'migrate'::regnamespace
					 AND obj_description(p.oid, 'pg_proc') IS NULL$$,
				'every function in schema migrate has a comment');
SELECT is_empty($$SELECT c.relname FROM pg_class c
				   WHERE c.relnamespace = 'migrate'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
					 AND obj_description(c.oid, 'pg_class') IS NULL$$,
				'every table in schema migrate has a comment');
SELECT is_empty($$SELECT c.relname || '.' || a.attname FROM pg_class c
				   JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
				   WHERE c.relnamespace = 'migrate'::regnamespace AND c.relkind IN ('r', 'p')
					 AND c.relname <> 'catalog_version'
					 AND col_description(c.oid, a.attnum) IS NULL$$,
				'every column of the user-facing tables has a comment');

SELECT * FROM finish();
ROLLBACK;
