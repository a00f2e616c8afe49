-- The target grammar: what migrate.resolve(target) names.
CREATE EXTENSION pg_migrate;
SELECT count(*) FROM (
  SELECT migrate.revision(id => 'a',  down_revision => '{}',   upgrade => '') UNION ALL
  SELECT migrate.revision(id => 'b',  down_revision => '{a}',  upgrade => '') UNION ALL
  SELECT migrate.revision(id => 'c1', down_revision => '{b}',  upgrade => '', branch_labels => '{c1branch}') UNION ALL
  SELECT migrate.revision(id => 'c2', down_revision => '{b}',  upgrade => '', branch_labels => '{c2branch}') UNION ALL
  SELECT migrate.revision(id => 'd1', down_revision => '{c1}', upgrade => '') UNION ALL
  SELECT migrate.revision(id => 'd2', down_revision => '{c2}', upgrade => '') UNION ALL
  SELECT migrate.revision(id => 'ae1027a6acf', down_revision => '{d2}', upgrade => '') UNION ALL
  SELECT migrate.revision(id => 'ae10f3a0b2c', down_revision => '{ae1027a6acf}', upgrade => '')
) registered;

-- A helper that shows what a target names, or the error it raises.
CREATE FUNCTION pg_temp.names(target text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	result text;
BEGIN
	SELECT coalesce(string_agg(revision, ' ' ORDER BY revision), '(none)')
	  INTO result FROM migrate.resolve(target);
	RETURN result;
EXCEPTION WHEN OTHERS THEN
	RETURN 'ERROR ' || SQLSTATE || ': ' || SQLERRM;
END $$;

SELECT t AS target, pg_temp.names(t) AS names
FROM unnest(ARRAY[
	-- symbolic names
	'heads', 'head', 'base',
	-- ids, prefixes (four characters or more), labels
	'c1', 'ae1027a6acf', 'ae1027', 'ae10', 'ae1', 'zzzz', 'c1branch', 'c1br',
	-- the head or base of a branch, by label or by a revision on it
	'c1branch@head', 'c2branch@head', 'c1branch@heads', 'c1@head', 'd2@head',
	'c1branch@base', 'nosuch@head',
	-- a revision qualified by its branch
	'c1branch@d1', 'c1branch@d2',
	-- relative to a revision: X+N and X-N
	'b+1', 'c1+1', 'c1-1', 'a+0', 'd1-3', 'd1-4', 'd1-5', 'ae10f3a0b2c-2',
	-- counting from the bases
	'base+1', 'base+2', 'c2branch@base+2',
	-- malformed
	'', '@', '@head', 'base@+1', 'head@-1', 'b+', 'b+1x', 'd1-99999999999'
]) AS t;

-- Relative targets without a revision count from the current revisions:
-- +N upgrades, -N downgrades, label@+N and label@-N along one branch.
SELECT t AS target, pg_temp.names(t) AS names
FROM unnest(ARRAY['+1', '+2', '-1', 'c1branch@+1', 'c2branch@+1', 'c1branch@-1']) AS t;
SELECT count(*) FROM migrate.stamp('b');
SELECT t AS target, pg_temp.names(t) AS names
FROM unnest(ARRAY['+1', '+2', '-1', '-2', '-3', '+0', 'c1branch@+1', 'c2branch@+2',
                  'c1branch@+3', 'c1branch@-1']) AS t;
SELECT count(*) FROM migrate.stamp(ARRAY['d1', 'c2']);
SELECT t AS target, pg_temp.names(t) AS names
FROM unnest(ARRAY['+1', '-1', 'c1branch@-1', 'c2branch@-1', 'c2branch@+1', 'c1branch@+1']) AS t;

-- Ids may be long numbers, such as timestamps: they are names, not steps.
SELECT migrate.revision(id => '202611251351', down_revision => '{ae10f3a0b2c}', upgrade => '');
SELECT t AS target, pg_temp.names(t) AS names
FROM unnest(ARRAY['202611251351', '2026112513', '202611251351-1', '-202611251351']) AS t;

DROP EXTENSION pg_migrate;
