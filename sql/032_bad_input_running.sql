-- The bad-input catalogue, 40 cases. Running: upgrade(), downgrade(), deploy, backfill, backfill_reset(), check_roundtrip() and the offline script calls.
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

-- 1. upgrade: an empty target
SELECT * FROM migrate.upgrade('');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 2. upgrade: a target of blanks
SELECT * FROM migrate.upgrade('   ');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 3. upgrade: a 10,000-character target
SELECT * FROM migrate.upgrade(repeat('b', 10000));
SELECT pg_temp.verdict(:'SQLSTATE');
-- 4. upgrade: head when there are two
SELECT * FROM migrate.upgrade('head');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 5. upgrade: a range
SELECT * FROM migrate.upgrade('b1:b2');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 6. upgrade: a target with a newline
SELECT * FROM migrate.upgrade(E'b2\n');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 7. upgrade: an unknown branch
SELECT * FROM migrate.upgrade('nosuch@head');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 8. upgrade: a step too large for a number
SELECT * FROM migrate.upgrade('+99999999999999999999999');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 9. downgrade: a NULL target
SELECT * FROM migrate.downgrade(NULL);
SELECT pg_temp.verdict(:'SQLSTATE');
-- 10. downgrade: an empty target
SELECT * FROM migrate.downgrade('');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 11. downgrade: to a revision that is not applied
SELECT * FROM migrate.downgrade('b2');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 12. downgrade: an unknown revision
SELECT * FROM migrate.downgrade('nosuch');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 13. downgrade: a relative step past base
SELECT * FROM migrate.downgrade('-5');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 14. deploy: an empty target
CALL migrate.deploy('');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 15. deploy: head when there are two
CALL migrate.deploy('head');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 16. deploy: a 70,000-character target
CALL migrate.deploy(repeat('x', 70000));
SELECT pg_temp.verdict(:'SQLSTATE');
-- 17. deploy: a relative step past the heads
CALL migrate.deploy('+5');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 18. deploy: a non-ASCII target
CALL migrate.deploy('ü@head');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 19. backfill: the smallest integer as batch_size
CALL migrate.backfill('pgm_bad.items', 'v = 1', batch_size => -2147483648);
SELECT pg_temp.verdict(:'SQLSTATE');
-- 20. backfill: a table of the pg_migrate catalog
CALL migrate.backfill('migrate.revisions', 'message = NULL');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 21. backfill: a system catalog
CALL migrate.backfill('pg_catalog.pg_description', 'description = NULL');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 22. backfill: a relation OID that names nothing
CALL migrate.backfill(999999999::oid::regclass, 'v = 1');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 23. backfill: a table without a usable key
CALL migrate.backfill('pgm_bad.nokey', 'v = 1');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 24. backfill: a where_clause of 300 parentheses
CALL migrate.backfill('pgm_bad.items', 'v = 1', repeat('(', 300));
SELECT pg_temp.verdict(:'SQLSTATE');
-- 25. backfill: an empty set_clause
CALL migrate.backfill('pgm_bad.items', '   ');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 26. backfill: a value of the wrong type
CALL migrate.backfill('pgm_bad.items', 'v = ''é''');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 27. backfill: a subquery in set_clause that writes
CALL migrate.backfill('pgm_bad.items', 'v = (WITH d AS (DELETE FROM pgm_bad.items RETURNING 1) SELECT 1)');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 28. backfill_reset: a relation OID that names nothing
SELECT migrate.backfill_reset(999999999::oid::regclass, 'v = 1');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 29. check_roundtrip: an empty target
SELECT * FROM migrate.check_roundtrip('');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 30. check_roundtrip: an unknown branch
SELECT * FROM migrate.check_roundtrip('nosuch@head');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 31. check_roundtrip: head when there are two
SELECT * FROM migrate.check_roundtrip('head');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 32. offline_begin: NULL arguments
SELECT migrate.offline_begin(NULL, NULL, NULL);
SELECT pg_temp.verdict(:'SQLSTATE');
-- 33. offline_begin: outside a transaction block
SELECT migrate.offline_begin('upgrade', 'heads', '{b1}');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 34. offline_record: outside an offline script
SELECT migrate.offline_record('upgrade', 'b2', 'x');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 35. offline_verify: outside an offline script
SELECT migrate.offline_verify('b2', 'SELECT true');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 36. upgrade_sql: an unknown from_revision
SELECT migrate.upgrade_sql('heads', from_revision => 'nosuch');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 37. upgrade_sql: an empty target
SELECT migrate.upgrade_sql('');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 38. downgrade_sql: a NULL target
SELECT migrate.downgrade_sql(NULL);
SELECT pg_temp.verdict(:'SQLSTATE');
-- 39. downgrade_sql: to a revision that is not applied
SELECT migrate.downgrade_sql('b2');
SELECT pg_temp.verdict(:'SQLSTATE');
-- 40. downgrade_sql: through an irreversible revision
SELECT migrate.downgrade_sql('b1', from_revision => 'b3');
SELECT pg_temp.verdict(:'SQLSTATE');

\pset format aligned
\pset tuples_only off
DROP SCHEMA pgm_bad CASCADE;
DROP EXTENSION pg_migrate;
