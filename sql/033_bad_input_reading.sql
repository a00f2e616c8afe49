-- The bad-input catalogue, 32 cases. Reading: history(), show(), resolve(), plan(), lint(), fingerprint(), describe() and lineage().
-- Each case: the call, its error (message, detail and hint), then one
-- line: the SQLSTATE and whether the catalog and the user schemas are
-- unchanged.  No case may raise XX000 or succeed.
CREATE EXTENSION pg_migrate;
SET pg_migrate.quiet = on;
CREATE SCHEMA pgm_bad;
CREATE TABLE pgm_bad.items (id int PRIMARY KEY, v int NOT NULL DEFAULT 0);
INSERT INTO pgm_bad.items SELECT g, g FROM generate_series(1, 20) g;
ANALYZE pgm_bad.items;
CREATE TABLE pgm_bad.nokey (v int);
CREATE VIEW pgm_bad.items_view AS SELECT * FROM pgm_bad.items;
-- b1 applied; two heads: b2 (pending) and b3 (pending, branch "side", irreversible)
SELECT migrate.revision(id => 'b1', down_revision => '{}', message => 'one',
	upgrade => 'CREATE TABLE pgm_bad.t1 (id int)', downgrade => 'DROP TABLE pgm_bad.t1') AS registered;
SELECT migrate.revision(id => 'b2', down_revision => '{b1}', message => 'two',
	upgrade => 'CREATE TABLE pgm_bad.t2 (id int)', downgrade => 'DROP TABLE pgm_bad.t2') AS registered;
SELECT migrate.revision(id => 'b3', down_revision => '{b1}', message => 'three', branch_labels => '{side}',
	upgrade => 'CREATE TABLE pgm_bad.t3 (id int)') AS registered;
SELECT step, revision FROM migrate.upgrade('b1');

CREATE FUNCTION pg_temp.state() RETURNS text LANGUAGE sql AS $$
	SELECT md5(concat_ws('|',
		(SELECT string_agg(r::text, ',' ORDER BY r.id) FROM migrate.revisions r),
		(SELECT string_agg(a::text, ',' ORDER BY a.revision) FROM migrate.applied a),
		(SELECT string_agg(e.id::text, ',' ORDER BY e.id) FROM migrate.events e),
		(SELECT string_agg(b::text, ',' ORDER BY b.id) FROM migrate.backfills b),
		(SELECT md5(string_agg(i::text, ',' ORDER BY i.id)) FROM pgm_bad.items i),
		migrate.fingerprint(ARRAY['public', 'pgm_bad'])))
$$;
CREATE TEMP TABLE baseline AS SELECT pg_temp.state() AS s;
-- the verdict of one case: its SQLSTATE (flagged when there was no error
-- or an internal one) and whether everything is as it was
CREATE FUNCTION pg_temp.verdict(sqlstate text) RETURNS text LANGUAGE sql AS $$
	SELECT format('%s%s  unchanged = %s', sqlstate,
				  CASE sqlstate WHEN '00000' THEN ' (NO ERROR)' WHEN 'XX000' THEN ' (INTERNAL ERROR)' ELSE '' END,
				  pg_temp.state() = (SELECT s FROM baseline))
$$;
\set SHOW_CONTEXT never
\pset tuples_only on
\pset format unaligned

-- 1. history: three ends
SELECT * FROM migrate.history('b1:b2:b3');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 2. history: an unknown lower end
SELECT * FROM migrate.history('nosuch:');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 3. history: 1,000 colons
SELECT * FROM migrate.history(repeat(':', 1000));
SELECT pg_temp.verdict(:'SQLSTATE');
-- 4. history: an empty range
SELECT * FROM migrate.history('');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 5. show: a NULL target
SELECT * FROM migrate.show(NULL);
SELECT pg_temp.verdict(:'SQLSTATE');
-- 6. show: an empty target
SELECT * FROM migrate.show('');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 7. show: a prefix shorter than four characters
SELECT * FROM migrate.show('b');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 8. resolve: a NULL target
SELECT * FROM migrate.resolve(NULL);
SELECT pg_temp.verdict(:'SQLSTATE');
-- 9. resolve: a step too large for a number
SELECT * FROM migrate.resolve('b1+1000000000000000000000');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 10. resolve: a label missing before @
SELECT * FROM migrate.resolve('@head');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 11. resolve: nothing after @
SELECT * FROM migrate.resolve('side@');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 12. resolve: a sign without a number
SELECT * FROM migrate.resolve('b1+');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 13. resolve: a non-ASCII branch
SELECT * FROM migrate.resolve('🚀@head');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 14. resolve: a negative step below base
SELECT * FROM migrate.resolve('side@-9');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 15. plan: a NULL direction
SELECT * FROM migrate.plan('heads', NULL);
SELECT pg_temp.verdict(:'SQLSTATE');
-- 16. plan: an empty direction
SELECT * FROM migrate.plan('heads', '');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 17. plan: an upper-case direction
SELECT * FROM migrate.plan('heads', 'UPGRADE');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 18. plan: a downgrade to a revision that is not applied
SELECT * FROM migrate.plan('b3', 'downgrade');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 19. plan: a 1,000,000-character target
SELECT * FROM migrate.plan(repeat('a', 1000000));
SELECT pg_temp.verdict(:'SQLSTATE');
-- 20. lint: an unterminated statement
SELECT * FROM migrate.lint('ALTER TABLE pgm_bad.items ADD COLUMN');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 21. lint: a psql meta-command
SELECT * FROM migrate.lint(E'SELECT 1;\n\\gexec');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 22. lint: an unterminated dollar quote
SELECT * FROM migrate.lint('DO $$ BEGIN');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 23. fingerprint: a schema list holding NULL
SELECT migrate.fingerprint(ARRAY[NULL]::text[]);
SELECT pg_temp.verdict(:'SQLSTATE');
-- 24. fingerprint: an unknown schema
SELECT migrate.fingerprint('{nosuch}');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 25. fingerprint: an empty schema name
SELECT migrate.fingerprint(ARRAY['']);
SELECT pg_temp.verdict(:'SQLSTATE');
-- 26. describe: a two-dimensional schema list
SELECT * FROM migrate.describe('{{public},{pgm_bad}}');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 27. describe: a 100,000-character schema name
SELECT * FROM migrate.describe(ARRAY[repeat('s', 100000)]);
SELECT pg_temp.verdict(:'SQLSTATE');
-- 28. lineage: a NULL object
SELECT * FROM migrate.lineage(NULL);
SELECT pg_temp.verdict(:'SQLSTATE');
-- 29. lineage: an empty name
SELECT * FROM migrate.lineage('');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 30. lineage: a LIKE wildcard
SELECT * FROM migrate.lineage('%');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 31. lineage: an underscore
SELECT * FROM migrate.lineage('_');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 32. lineage: an unrecorded table
SELECT * FROM migrate.lineage('pgm_bad.items');
SELECT pg_temp.verdict(:'SQLSTATE');

\pset format aligned
\pset tuples_only off
DROP SCHEMA pgm_bad CASCADE;
DROP EXTENSION pg_migrate;
