-- Stamping: moving the recorded state without running anything.
CREATE EXTENSION pg_migrate;
SELECT count(*) FROM (
  SELECT migrate.revision(id => 'a',  down_revision => '{}',   upgrade => '') UNION ALL
  SELECT migrate.revision(id => 'b',  down_revision => '{a}',  upgrade => '') UNION ALL
  SELECT migrate.revision(id => 'c1', down_revision => '{b}',  upgrade => '', branch_labels => '{c1branch}') UNION ALL
  SELECT migrate.revision(id => 'c2', down_revision => '{b}',  upgrade => '', branch_labels => '{c2branch}') UNION ALL
  SELECT migrate.revision(id => 'd1', down_revision => '{c1}', upgrade => '') UNION ALL
  SELECT migrate.revision(id => 'd2', down_revision => '{c2}', upgrade => '') UNION ALL
  SELECT migrate.revision(id => 'x1', down_revision => '{}',   upgrade => '') UNION ALL
  SELECT migrate.revision(id => 'x2', down_revision => '{x1}', upgrade => '', depends_on => '{c2branch}')
) registered;

CREATE FUNCTION pg_temp.applied() RETURNS text LANGUAGE sql AS
$$ SELECT coalesce(string_agg(revision, ' ' ORDER BY revision), '(nothing)') FROM migrate.applied $$;
CREATE FUNCTION pg_temp.current() RETURNS text LANGUAGE sql AS
$$ SELECT coalesce(string_agg(revision, ' ' ORDER BY revision), '(nothing)') FROM migrate.current() $$;

-- Adopting an existing database: stamp the revision its schema matches.
SELECT * FROM migrate.stamp('c1');
SELECT pg_temp.applied() AS applied, pg_temp.current() AS current;
SELECT applied_by = current_user AS by_me, a.checksum = r.checksum AS checksum_recorded,
       event_id = (SELECT max(id) FROM migrate.events) AS event_linked
FROM migrate.applied a JOIN migrate.revisions r ON r.id = a.revision WHERE a.revision = 'c1';

-- Forward along the other branch: the stamped branch stays.
SELECT * FROM migrate.stamp('c2branch@head');
SELECT pg_temp.current() AS current;

-- Back: stamp moves down as a downgrade would.
SELECT * FROM migrate.stamp('c2');
SELECT pg_temp.current() AS current;

-- label@base removes that branch only (c1 and its descendants); the shared
-- ancestors a and b stay, since c2 still needs them.
SELECT * FROM migrate.stamp(ARRAY['d1', 'c2'], purge => true);
SELECT * FROM migrate.stamp('c1branch@base');
SELECT pg_temp.applied() AS applied, pg_temp.current() AS current;

-- Across a dependency: x2 depends on c2, so stamping b replaces both
-- current heads d1 and x2, and the independent x1 goes with x2.
SELECT count(*) FROM migrate.stamp(ARRAY['d1', 'x2'], purge => true);
SELECT * FROM migrate.stamp('b');
SELECT pg_temp.applied() AS applied;

-- A branch not touched yet is added as a new branch.
SELECT * FROM migrate.stamp('x1');
SELECT pg_temp.current() AS current;

-- purge => true sets the state to exactly the targets and their ancestors;
-- targets may be ancestors of each other.
SELECT count(*) FROM migrate.stamp(ARRAY['d2', 'c2', 'a', 'x1'], purge => true);
SELECT pg_temp.applied() AS applied, pg_temp.current() AS current;
SELECT * FROM migrate.stamp('base', purge => true);
SELECT pg_temp.applied() AS applied;
SELECT * FROM migrate.stamp('{}'::text[], purge => true);

-- Stamping heads, then base.
SELECT count(*) FROM migrate.stamp('heads');
SELECT pg_temp.current() AS current;
SELECT count(*) FROM migrate.stamp('base');
SELECT pg_temp.applied() AS applied;

-- Every stamp is logged with its target and what it changed.
SELECT kind, target, detail FROM migrate.events WHERE kind = 'stamp' ORDER BY id;

-- Stamping an unknown revision changes nothing.
SELECT * FROM migrate.stamp('nosuch');
SELECT count(*) AS stamp_events FROM migrate.events WHERE kind = 'stamp';

-- A change made with plain SQL is seen at once: the per-backend cache
-- follows every change.
SELECT count(*) FROM migrate.stamp('d1');
DELETE FROM migrate.applied WHERE revision = 'd1';
SELECT pg_temp.current() AS current;

-- Stamping heads moves every branch to its head and drops none: from
-- {d1, c2} it gives {d1, d2, x2} (Alembic 1.8 would leave only d2).
SELECT count(*) FROM migrate.stamp(ARRAY['d1', 'c2'], purge => true);
SELECT * FROM migrate.stamp('heads');
SELECT pg_temp.current() AS current;

DROP EXTENSION pg_migrate;
