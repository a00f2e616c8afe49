-- Offline SQL: the script of migrate.upgrade_sql() / downgrade_sql().
CREATE EXTENSION pg_migrate;
SET pg_migrate.quiet = on;
SELECT migrate.revision(id => 'o1', down_revision => '{}', message => 'create items',
    upgrade => $$CREATE TABLE items (id int PRIMARY KEY);
                 -- a comment that mentions $pgm$
                 INSERT INTO items VALUES (1)$$,
    downgrade => $$DROP TABLE items$$);
SELECT migrate.revision(id => 'o2', message => E'add name\n(second line)',
    upgrade => $$ALTER TABLE items ADD COLUMN name text -- no newline at the end$$,
    downgrade => $$ALTER TABLE items DROP COLUMN name$$,
    verify => $v$SELECT count(*) = 1 FROM items WHERE name IS NULL -- $pgm$ $v$);

-- The script: every statement verbatim on lines of its own, literals in
-- dollar quotes whose tag does not occur in them, and bookkeeping calls.
\pset format unaligned
\pset tuples_only on
SELECT migrate.upgrade_sql();
SELECT migrate.upgrade_sql('o1', from_revision => 'base');
SELECT migrate.downgrade_sql('base', from_revision => 'o2');
\pset format aligned
\pset tuples_only off

-- Run outside a transaction block, a script stops at its first statement.
SELECT migrate.offline_begin('upgrade', 'heads', '{}');
-- Run against a database in another state, it changes nothing.
BEGIN;
SELECT migrate.offline_begin('upgrade', 'heads', ARRAY['o1']);
ROLLBACK;
-- A revision changed since the script was written is refused.
BEGIN;
SELECT migrate.offline_begin('upgrade', 'heads', '{}');
CREATE TABLE items (id int PRIMARY KEY);
SELECT migrate.offline_record('upgrade', 'o1', repeat('a', 64));
ROLLBACK;
-- The bookkeeping calls belong after offline_begin().
BEGIN;
SELECT migrate.offline_record('upgrade', 'o1', 'x');
ROLLBACK;
SELECT count(*) AS applied FROM migrate.applied;

-- Irreversible revisions cannot be scripted down.
SELECT migrate.revision(id => 'o3', upgrade => 'SELECT 1');
SELECT count(*) FROM migrate.stamp('o3');
SELECT migrate.downgrade_sql('base');
DROP EXTENSION pg_migrate;
