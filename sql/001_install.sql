-- Installing pg_migrate: the schema, its tables and functions, and who may
-- write what.
CREATE EXTENSION pg_migrate;

-- The extension owns schema migrate and everything in it.
SELECT pg_catalog.pg_describe_object(d.classid, d.objid, 0) AS object
FROM pg_catalog.pg_depend d
JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'pg_migrate'
WHERE d.deptype = 'e'
ORDER BY 1;

-- Every function a user calls has a comment (\df+ explains it).
SELECT p.oid::regprocedure AS function,
       pg_catalog.obj_description(p.oid, 'pg_proc') IS NOT NULL AS commented
FROM pg_catalog.pg_proc p
WHERE p.pronamespace = 'migrate'::regnamespace
ORDER BY p.oid::regprocedure::text;

-- Every table and every column has a comment.
SELECT c.relname, a.attname
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relnamespace = 'migrate'::regnamespace AND c.relkind = 'r'
  AND c.relname <> 'catalog_version'
  AND pg_catalog.col_description(c.oid, a.attnum) IS NULL;

-- PUBLIC may read the catalog but never write it.
SELECT c.relname,
       pg_catalog.has_table_privilege('public', c.oid, 'SELECT') AS can_select,
       pg_catalog.has_table_privilege('public', c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE') AS can_write
FROM pg_catalog.pg_class c
WHERE c.relnamespace = 'migrate'::regnamespace AND c.relkind IN ('r', 'S')
ORDER BY 1;

-- Anyone may call the read functions; the write functions need a grant.
SELECT p.oid::regprocedure AS function,
       pg_catalog.has_function_privilege('public', p.oid, 'EXECUTE') AS public_may_call
FROM pg_catalog.pg_proc p
WHERE p.pronamespace = 'migrate'::regnamespace
ORDER BY p.oid::regprocedure::text;

CREATE ROLE pgm_reader;
CREATE ROLE pgm_migrator;
GRANT EXECUTE ON FUNCTION migrate.revision(text, text[], text, text, text, text[], text[], text, boolean),
                          migrate.merge(text[], text, text),
                          migrate.stamp(text, boolean), migrate.stamp(text[], boolean)
    TO pgm_migrator;
SET ROLE pgm_reader;
SELECT migrate.revision(id => 'sneaky', upgrade => 'SELECT 1');
SELECT * FROM migrate.stamp('base');
INSERT INTO migrate.revisions (id, upgrade, checksum, seq, registered_at, registered_by)
VALUES ('sneaky', 'SELECT 1', '', 1, now(), current_user);
SELECT count(*) AS visible_revisions FROM migrate.revisions;
SELECT count(*) AS heads FROM migrate.heads();
SELECT pending FROM migrate.status();
RESET ROLE;
-- A migrator registers through the function; the row records who did it.
SET ROLE pgm_migrator;
SELECT migrate.revision(id => 'granted', down_revision => '{}', upgrade => 'SELECT 1');
DELETE FROM migrate.revisions;
RESET ROLE;
SELECT id, registered_by FROM migrate.revisions;
SELECT kind, revision, current_user_name FROM migrate.events;
DROP EXTENSION pg_migrate;
CREATE EXTENSION pg_migrate;
DROP ROLE pgm_reader;
DROP ROLE pgm_migrator;

-- pg_dump keeps the user data of these tables and sequences.
SELECT c::regclass AS dumped
FROM pg_catalog.pg_extension e, pg_catalog.unnest(e.extconfig) AS c
WHERE e.extname = 'pg_migrate'
ORDER BY c::regclass::text;

-- Every function pins its search_path, except upgrade(), downgrade(),
-- check_roundtrip() and the offline_*() calls of offline scripts, which run
-- revision SQL with the caller's settings (their own queries qualify every
-- name); the deploy() and backfill() procedures, which commit (so cannot
-- carry SET) and run revision SQL or the caller's clauses with the caller's
-- settings; the tap_*()
-- helpers, which call pgTAP through the caller's search_path; lint(), which
-- resolves the names of the SQL it reads as that SQL will when it runs (it
-- runs none of it); and the trigger functions, which run no SQL of the
-- caller.
SELECT p.oid::regprocedure AS function, p.proconfig
FROM pg_catalog.pg_proc p
WHERE p.pronamespace = 'migrate'::regnamespace
  AND p.prorettype NOT IN ('trigger'::regtype, 'event_trigger'::regtype)
  AND (p.proconfig IS NULL OR NOT 'search_path=pg_catalog, pg_temp' = ANY (p.proconfig))
ORDER BY p.oid::regprocedure::text;

-- A fresh install has an empty graph.
SELECT * FROM migrate.heads();
SELECT * FROM migrate.current();
SELECT current, heads, pending, last_event FROM migrate.status();

-- An existing schema named migrate is never adopted: installation fails.
DROP EXTENSION pg_migrate;
CREATE SCHEMA migrate;
CREATE EXTENSION pg_migrate;
DROP SCHEMA migrate;
CREATE EXTENSION pg_migrate;
SELECT count(*) AS revisions FROM migrate.revisions;

DROP EXTENSION pg_migrate;
