-- The bad-input catalogue, 45 cases. Registering and moving the recorded state: migrate.revision(), merge(), stamp() and repair().
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

-- 1. revision: upgrade SQL that is not SQL (unicode)
SELECT migrate.revision(id => 'r1', upgrade => 'CRÉER TABLE ü ()');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 2. revision: a psql meta-command in the upgrade
SELECT migrate.revision(id => 'r1', upgrade => E'SELECT 1;\n\\connect other');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 3. revision: COPY from the client in the downgrade
SELECT migrate.revision(id => 'r1', upgrade => 'SELECT 1', downgrade => 'COPY pgm_bad.items FROM STDIN');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 4. revision: COMMIT in the downgrade
SELECT migrate.revision(id => 'r1', upgrade => 'SELECT 1', downgrade => 'COMMIT');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 5. revision: ROLLBACK in the verify SQL
SELECT migrate.revision(id => 'r1', upgrade => 'SELECT 1', verify => 'ROLLBACK');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 6. revision: verify SQL with a syntax error
SELECT migrate.revision(id => 'r1', upgrade => 'SELECT 1', verify => 'SELEC 1');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 7. revision: a parent list holding only NULL
SELECT migrate.revision(id => 'r1', down_revision => ARRAY[NULL]::text[], upgrade => 'SELECT 1');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 8. revision: an empty-string parent
SELECT migrate.revision(id => 'r1', down_revision => ARRAY[''], upgrade => 'SELECT 1');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 9. revision: a 100,000-character parent
SELECT migrate.revision(id => 'r1', down_revision => ARRAY[repeat('p', 100000)], upgrade => 'SELECT 1');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 10. revision: a NULL dependency
SELECT migrate.revision(id => 'r1', down_revision => '{b1}', depends_on => ARRAY['b2', NULL], upgrade => 'SELECT 1');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 11. revision: a NULL branch label
SELECT migrate.revision(id => 'r1', down_revision => '{b1}', branch_labels => ARRAY[NULL]::text[], upgrade => 'SELECT 1');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 12. revision: an empty branch label
SELECT migrate.revision(id => 'r1', down_revision => '{b1}', branch_labels => ARRAY[''], upgrade => 'SELECT 1');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 13. revision: the reserved label heads
SELECT migrate.revision(id => 'r1', down_revision => '{b1}', branch_labels => '{heads}', upgrade => 'SELECT 1');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 14. revision: a label listed twice
SELECT migrate.revision(id => 'r1', down_revision => '{b1}', branch_labels => '{x,x}', upgrade => 'SELECT 1');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 15. revision: a two-dimensional label array
SELECT migrate.revision(id => 'r1', down_revision => '{b1}', branch_labels => '{{x},{y}}', upgrade => 'SELECT 1');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 16. revision: a 64-character id of non-ASCII letters
SELECT migrate.revision(id => repeat('é', 64), upgrade => 'SELECT 1');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 17. revision: an id with a tab
SELECT migrate.revision(id => E'r\t1', upgrade => 'SELECT 1');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 18. revision: an id with a leading space
SELECT migrate.revision(id => ' r1', upgrade => 'SELECT 1');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 19. revision: a 1,000,000-character id
SELECT migrate.revision(id => repeat('r', 1000000), upgrade => 'SELECT 1');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 20. revision: the id of an applied revision with other content
SELECT migrate.revision(id => 'b1', down_revision => '{}', upgrade => 'CREATE TABLE pgm_bad.t1 (id bigint)', downgrade => 'DROP TABLE pgm_bad.t1', message => 'one');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 21. merge: an empty parent list
SELECT migrate.merge('{}');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 22. merge: a parent list holding only NULL
SELECT migrate.merge(ARRAY[NULL]::text[]);
SELECT pg_temp.verdict(:'SQLSTATE');
-- 23. merge: one parent
SELECT migrate.merge('{b2}');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 24. merge: a parent listed twice
SELECT migrate.merge('{b2,b2}');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 25. merge: an unknown parent
SELECT migrate.merge('{b2,nosuch}');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 26. merge: a parent and its ancestor
SELECT migrate.merge('{b1,b2}');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 27. merge: a malformed id
SELECT migrate.merge('{b2,b3}', id => 'm 1');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 28. merge: a reserved id
SELECT migrate.merge('{b2,b3}', id => 'base');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 29. merge: the id of an applied revision
SELECT migrate.merge('{b2,b3}', id => 'b1');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 30. stamp: an empty target
SELECT * FROM migrate.stamp('');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 31. stamp: a target of blanks
SELECT * FROM migrate.stamp('   ');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 32. stamp: a target list holding NULL
SELECT * FROM migrate.stamp(ARRAY['b2', NULL]);
SELECT pg_temp.verdict(:'SQLSTATE');
-- 33. stamp: purge => NULL
SELECT * FROM migrate.stamp('b2', purge => NULL);
SELECT pg_temp.verdict(:'SQLSTATE');
-- 34. stamp: a relative step past base
SELECT * FROM migrate.stamp('-1000');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 35. stamp: a doubled sign
SELECT * FROM migrate.stamp('b1++1');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 36. stamp: a 100,000-character target
SELECT * FROM migrate.stamp(repeat('z', 100000));
SELECT pg_temp.verdict(:'SQLSTATE');
-- 37. stamp: a non-ASCII target
SELECT * FROM migrate.stamp('🚀');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 38. stamp: an unknown branch
SELECT * FROM migrate.stamp('nosuch@head');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 39. stamp: a range
SELECT * FROM migrate.stamp('b1:b2');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 40. stamp: head when there are two
SELECT * FROM migrate.stamp('head');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 41. repair: an unknown revision
SELECT * FROM migrate.repair('nosuch', 'checked');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 42. repair: a revision that is not applied
SELECT * FROM migrate.repair('b2', 'checked');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 43. repair: no reason
SELECT * FROM migrate.repair('b1', NULL);
SELECT pg_temp.verdict(:'SQLSTATE');
-- 44. repair: an empty reason
SELECT * FROM migrate.repair('b1', '');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 45. repair: a reason of blanks
SELECT * FROM migrate.repair('b1', '   ');
SELECT pg_temp.verdict(:'SQLSTATE');

\pset format aligned
\pset tuples_only off
DROP SCHEMA pgm_bad CASCADE;
DROP EXTENSION pg_migrate;
