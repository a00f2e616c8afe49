-- Bad input: every case raises a specific SQLSTATE with a message that says
-- what to do, and changes nothing (revisions, applied, events, and the
-- catalog version all stay as they were).
CREATE EXTENSION pg_migrate;
SELECT count(*) FROM (
  SELECT migrate.revision(id => 'a',  down_revision => '{}',  upgrade => 'SELECT 1') UNION ALL
  SELECT migrate.revision(id => 'b',  down_revision => '{a}', upgrade => 'SELECT 1') UNION ALL
  SELECT migrate.revision(id => 'c1', down_revision => '{b}', upgrade => 'SELECT 1', branch_labels => '{c1branch}') UNION ALL
  SELECT migrate.revision(id => 'c2', down_revision => '{b}', upgrade => 'SELECT 1', branch_labels => '{c2branch}') UNION ALL
  SELECT migrate.revision(id => 'abcd1', down_revision => '{c2}', upgrade => 'SELECT 1') UNION ALL
  SELECT migrate.revision(id => 'abcd2', down_revision => '{abcd1}', upgrade => 'SELECT 1')
) registered;
SELECT count(*) FROM migrate.stamp('c1');

CREATE FUNCTION pg_temp.fingerprint() RETURNS text LANGUAGE sql AS $$
	SELECT md5(concat_ws('|',
		(SELECT string_agg(r::text, ',' ORDER BY r.id) FROM migrate.revisions r),
		(SELECT string_agg(a::text, ',' ORDER BY a.revision) FROM migrate.applied a),
		(SELECT string_agg(e.id::text, ',' ORDER BY e.id) FROM migrate.events e),
		(SELECT generation::text FROM migrate.catalog_version)))
$$;
CREATE TEMP TABLE baseline AS SELECT pg_temp.fingerprint() AS fp;
CREATE FUNCTION pg_temp.unchanged() RETURNS boolean LANGUAGE sql AS
$$ SELECT pg_temp.fingerprint() = (SELECT fp FROM baseline) $$;

\set SHOW_CONTEXT never

-- 1-9: malformed revision ids.
SELECT migrate.revision(id => '', upgrade => 'SELECT 1');
\echo :LAST_ERROR_SQLSTATE
SELECT migrate.revision(id => 'rel@v1', upgrade => 'SELECT 1');
\echo :LAST_ERROR_SQLSTATE
SELECT migrate.revision(id => 'v1+2', upgrade => 'SELECT 1');
\echo :LAST_ERROR_SQLSTATE
SELECT migrate.revision(id => 'add-users', upgrade => 'SELECT 1');
\echo :LAST_ERROR_SQLSTATE
SELECT migrate.revision(id => 'a:b', upgrade => 'SELECT 1');
\echo :LAST_ERROR_SQLSTATE
SELECT migrate.revision(id => 'add users', upgrade => 'SELECT 1');
\echo :LAST_ERROR_SQLSTATE
SELECT migrate.revision(id => repeat('x', 65), upgrade => 'SELECT 1');
\echo :LAST_ERROR_SQLSTATE
SELECT migrate.revision(id => 'head', upgrade => 'SELECT 1');
\echo :LAST_ERROR_SQLSTATE
SELECT migrate.revision(id => 'café', upgrade => 'SELECT 1');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.unchanged();

-- 10-13: missing or NULL arguments.
SELECT migrate.revision(id => 'nobody');
\echo :LAST_ERROR_SQLSTATE
SELECT migrate.revision(id => 'nulltx', upgrade => 'SELECT 1', transactional => NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT migrate.revision(id => 'nullparent', down_revision => ARRAY['a', NULL], upgrade => 'SELECT 1');
\echo :LAST_ERROR_SQLSTATE
SELECT migrate.revision(id => 'flat', down_revision => '{{a},{b}}', upgrade => 'SELECT 1');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.unchanged();

-- 14-20: parents, dependencies and labels that cannot be.
SELECT migrate.revision(id => 'selfish', down_revision => '{selfish}', upgrade => 'SELECT 1');
\echo :LAST_ERROR_SQLSTATE
SELECT migrate.revision(id => 'needy', down_revision => '{b}', depends_on => '{needy}', upgrade => 'SELECT 1');
\echo :LAST_ERROR_SQLSTATE
SELECT migrate.revision(id => 'twice', down_revision => '{a,a}', upgrade => 'SELECT 1');
\echo :LAST_ERROR_SQLSTATE
SELECT migrate.revision(id => 'labelled', down_revision => '{b}', upgrade => 'SELECT 1', branch_labels => '{c1}');
\echo :LAST_ERROR_SQLSTATE
SELECT migrate.revision(id => 'labelled', down_revision => '{b}', upgrade => 'SELECT 1', branch_labels => '{c1branch}');
\echo :LAST_ERROR_SQLSTATE
SELECT migrate.revision(id => 'c2branch', down_revision => '{b}', upgrade => 'SELECT 1');
\echo :LAST_ERROR_SQLSTATE
SELECT migrate.revision(id => 'labelled', down_revision => '{b}', upgrade => 'SELECT 1', branch_labels => '{bad-label}');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.unchanged();

-- 21-22: cycles of 2 and of 5 are refused when the closing revision
-- arrives (its parent may have been registered first, naming it).
BEGIN;
SELECT migrate.revision(id => 'p', down_revision => '{q}', upgrade => 'SELECT 1');
SELECT migrate.revision(id => 'q', down_revision => '{p}', upgrade => 'SELECT 1');
ROLLBACK;
\echo :LAST_ERROR_SQLSTATE
BEGIN;
SELECT migrate.revision(id => 'v2', down_revision => '{v1}', upgrade => 'SELECT 1');
SELECT migrate.revision(id => 'v3', down_revision => '{v2}', upgrade => 'SELECT 1');
SELECT migrate.revision(id => 'v4', down_revision => '{v3}', upgrade => 'SELECT 1');
SELECT migrate.revision(id => 'v5', down_revision => '{v4}', upgrade => 'SELECT 1');
SELECT migrate.revision(id => 'v1', down_revision => '{v5}', upgrade => 'SELECT 1');
ROLLBACK;
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.unchanged();

-- 23-24: a parent or dependency that is never registered: registering is
-- fine (files load in any order), using the graph is not.
BEGIN;
SELECT migrate.revision(id => 'orphan', down_revision => '{ghost}', upgrade => 'SELECT 1');
SELECT * FROM migrate.heads();
ROLLBACK;
\echo :LAST_ERROR_SQLSTATE
BEGIN;
SELECT migrate.revision(id => 'hopeful', down_revision => '{c1}', depends_on => '{nolabel}', upgrade => 'SELECT 1');
SELECT * FROM migrate.plan('heads');
ROLLBACK;
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.unchanged();

-- 25-26: content of an applied revision, and a parent that is ambiguous.
SELECT migrate.revision(id => 'b', down_revision => '{a}', upgrade => 'SELECT 2');
\echo :LAST_ERROR_SQLSTATE
SELECT migrate.revision(id => 'where_to', upgrade => 'SELECT 1');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.unchanged();

-- 27-31: merges.
SELECT migrate.merge(ARRAY['c1']);
\echo :LAST_ERROR_SQLSTATE
SELECT migrate.merge(ARRAY['c1', 'ghost']);
\echo :LAST_ERROR_SQLSTATE
SELECT migrate.merge(ARRAY['a', 'c1']);
\echo :LAST_ERROR_SQLSTATE
SELECT migrate.merge(ARRAY['c1', 'c1']);
\echo :LAST_ERROR_SQLSTATE
SELECT migrate.merge(ARRAY['c1', 'abcd2'], id => 'bad id');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.unchanged();

-- 32-45: targets.
SELECT * FROM migrate.resolve('nosuch');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM migrate.resolve('abcd');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM migrate.resolve('ab');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM migrate.plan('head');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM migrate.plan('+0');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM migrate.plan('-5', 'downgrade');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM migrate.plan('c1branch@+5');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM migrate.plan('nolabel@head');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM migrate.plan('');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM migrate.plan(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM migrate.plan('heads', 'up');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM migrate.plan('c2', 'downgrade');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM migrate.plan('b+1');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM migrate.plan('c1+99999999999');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.unchanged();

-- 46-49: stamp and history.
SELECT * FROM migrate.stamp('nosuch');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM migrate.stamp(NULL::text);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM migrate.stamp(ARRAY['c1', 'nosuch'], purge => true);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM migrate.history('a');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.unchanged();

DROP EXTENSION pg_migrate;
