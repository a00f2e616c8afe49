-- pg_migrate.max_revision_size: migrate.revision() refuses a revision whose
-- upgrade, downgrade and verify SQL together are larger, before parsing it.
CREATE EXTENSION pg_migrate;
SHOW pg_migrate.max_revision_size;

SET pg_migrate.max_revision_size = '1MB';
-- 2 MB of upgrade SQL
SELECT migrate.revision(id => 'big', down_revision => '{}',
    upgrade => repeat(E'SELECT 1;\n', 200000));
-- the three parts count together (and are refused before they are parsed)
SELECT migrate.revision(id => 'big', down_revision => '{}',
    upgrade => repeat('x', 600000), downgrade => repeat('y', 300000),
    verify => repeat('z', 200000));
-- a generated id
SELECT migrate.revision(upgrade => repeat(E'SELECT 1;\n', 200000));
-- nothing was registered or logged
SELECT count(*) AS revisions FROM migrate.revisions;
SELECT count(*) AS events FROM migrate.events;

-- within the limit
SELECT migrate.revision(id => 'fits', down_revision => '{}',
    upgrade => repeat(E'SELECT 1;\n', 100000));
-- 0: no limit
SET pg_migrate.max_revision_size = 0;
SELECT migrate.revision(id => 'big', down_revision => '{fits}',
    upgrade => repeat(E'SELECT 1;\n', 200000));
SELECT id, length(upgrade) FROM migrate.revisions ORDER BY seq;

-- the setting's range: 0 to 1GB
SET pg_migrate.max_revision_size = '2GB';
SET pg_migrate.max_revision_size = -1;
RESET pg_migrate.max_revision_size;
SHOW pg_migrate.max_revision_size;
DROP EXTENSION pg_migrate;
