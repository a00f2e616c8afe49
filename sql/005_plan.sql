-- Plans: what upgrade and downgrade to a target would run, in order.
CREATE EXTENSION pg_migrate;
--   a -> b -> c1 -> d1          (label c1branch on c1)
--        b -> c2 -> d2          (label c2branch on c2)
--   x1 -> x2, x2 depends on c2  (through its label)
SELECT count(*) FROM (
  SELECT migrate.revision(id => 'a',  down_revision => '{}',   upgrade => '', message => 'rev a') UNION ALL
  SELECT migrate.revision(id => 'b',  down_revision => '{a}',  upgrade => '', message => 'rev b') UNION ALL
  SELECT migrate.revision(id => 'c1', down_revision => '{b}',  upgrade => '', message => 'rev c1', branch_labels => '{c1branch}') UNION ALL
  SELECT migrate.revision(id => 'c2', down_revision => '{b}',  upgrade => '', message => 'rev c2', branch_labels => '{c2branch}') UNION ALL
  SELECT migrate.revision(id => 'd1', down_revision => '{c1}', upgrade => '', message => 'rev d1') UNION ALL
  SELECT migrate.revision(id => 'd2', down_revision => '{c2}', upgrade => '', message => 'rev d2') UNION ALL
  SELECT migrate.revision(id => 'x1', down_revision => '{}',   upgrade => '', message => 'rev x1') UNION ALL
  SELECT migrate.revision(id => 'x2', down_revision => '{x1}', upgrade => '', message => 'rev x2', depends_on => '{c2branch}')
) registered;

-- A helper: the plan as one line, or the error it raises.
CREATE FUNCTION pg_temp.plan(target text, direction text DEFAULT 'upgrade') RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	result text;
BEGIN
	SELECT coalesce(string_agg(revision, ' ' ORDER BY step), '(nothing)')
	  INTO result FROM migrate.plan(target, direction);
	RETURN result;
EXCEPTION WHEN OTHERS THEN
	RETURN 'ERROR ' || SQLSTATE || ': ' || SQLERRM;
END $$;

-- The full result set of one plan.
SELECT * FROM migrate.plan('heads');

-- Upgrades from nothing applied: parents and depends_on first, ties in
-- registration order.
SELECT t AS target, pg_temp.plan(t) AS upgrade
FROM unnest(ARRAY['heads', 'head', 'base', 'd1', 'c1branch@head', 'x2', 'x1',
                  '+1', '+3', 'c2branch@+2', 'nosuch']) AS t;

-- From {d1} applied.
SELECT count(*) FROM migrate.stamp('d1');
SELECT t AS target, pg_temp.plan(t) AS upgrade
FROM unnest(ARRAY['heads', 'd1', 'c1', '+1', 'c2branch@+1', 'c2branch@head', 'x2']) AS t;
SELECT t AS target, pg_temp.plan(t, 'downgrade') AS downgrade
FROM unnest(ARRAY['base', 'a', 'b', 'c1', 'd1', '-1', '-2', '-5', 'c2', 'x1', '+1']) AS t;

-- From everything applied.
SELECT count(*) FROM migrate.stamp('heads');
SELECT revision FROM migrate.current();
SELECT t AS target, pg_temp.plan(t, 'downgrade') AS downgrade
FROM unnest(ARRAY[
	'base',
	-- keep b: everything above it goes, and x2, which depends on c2
	'b',
	-- a qualifier limits the downgrade to one branch above b
	'c1branch@b', 'c2branch@b', 'c1@b', 'd2@b',
	-- x2 depends on c2, so keeping c2 keeps x2
	'c2', 'x1',
	-- relative
	'-1', 'c1branch@-1', 'c2branch@-1', 'c2branch@-2', 'd2-1', 'c1branch@base',
	-- already there, and not below
	'd1', 'heads',
	-- an unknown qualifier is an error even where it would change nothing
	'nosuch@base', 'nosuch@a'
]) AS t;

-- Downgrading to something that is not applied is an error.
SELECT count(*) FROM migrate.stamp(ARRAY['d1'], purge => true);
SELECT * FROM migrate.plan('c2', 'downgrade');
SELECT * FROM migrate.plan('x1', 'downgrade');

-- The direction is checked.
SELECT * FROM migrate.plan('heads', 'sideways');

DROP EXTENSION pg_migrate;
