-- Lint at registration and before migrate.upgrade() runs anything:
-- pg_migrate.lint = off | warn | error.
CREATE EXTENSION pg_migrate;
-- Per-step NOTICEs carry timings; lint NOTICEs stay.
SET pg_migrate.quiet = on;

CREATE TABLE lu_orders (id int PRIMARY KEY, customer_id int, note text);
INSERT INTO lu_orders SELECT g, g % 100, NULL FROM generate_series(1, 20000) g;
ANALYZE lu_orders;

SHOW pg_migrate.lint;
SHOW pg_migrate.lint_min_rows;
SET pg_migrate.lint = maybe;

-- A base revision that creates a table and indexes it: no finding, the
-- table is created by the same SQL.  The next one indexes the big table.
SELECT migrate.revision('lu1_base', '{}',
    $$CREATE TABLE lu_customers (id int PRIMARY KEY, name text);
      INSERT INTO lu_customers SELECT g, 'customer ' || g FROM generate_series(0, 99) g;
      CREATE INDEX lu_customers_name ON lu_customers (name);$$,
    $$DROP TABLE lu_customers$$, message => 'customers');
SELECT migrate.revision('lu2_index', NULL, $$
SET lock_timeout = '2s';
CREATE INDEX lu_orders_customer ON lu_orders (customer_id);
ALTER TABLE lu_orders ADD CONSTRAINT lu_orders_customer_fk
    FOREIGN KEY (customer_id) REFERENCES lu_customers;
$$, $$DROP INDEX lu_orders_customer; ALTER TABLE lu_orders DROP CONSTRAINT lu_orders_customer_fk$$,
    message => 'index and foreign key');

-- error: the NOTICEs, then the upgrade is refused before anything runs,
-- naming the revision and the rules.
SET pg_migrate.lint = error;
SELECT * FROM migrate.upgrade('heads');
-- Nothing changed: not even lu1_base, which is clean, ran.
SELECT count(*) AS applied FROM migrate.applied;
SELECT to_regclass('lu_customers') AS customers, to_regclass('lu_orders_customer') AS idx;
SELECT count(*) AS upgrade_events FROM migrate.events WHERE kind = 'upgrade';
-- The refusal has its own SQLSTATE, PML01.
SET client_min_messages = warning;
DO $$
BEGIN
    PERFORM migrate.upgrade('heads');
EXCEPTION WHEN SQLSTATE 'PML01' THEN
    RAISE WARNING 'refused with SQLSTATE %: %', SQLSTATE, SQLERRM;
END $$;
RESET client_min_messages;

-- warn: a NOTICE per finding, and the upgrade runs.
SET pg_migrate.lint = warn;
BEGIN;
SELECT step, revision FROM migrate.upgrade('heads');
SELECT to_regclass('lu_orders_customer') AS idx;
ROLLBACK;

-- off: silent.
SET pg_migrate.lint = off;
BEGIN;
SELECT step, revision FROM migrate.upgrade('heads');
ROLLBACK;

-- Waived findings never count: the same change with its waivers passes
-- lint = error, silently (the revision is not applied, so it may be
-- replaced).
SET pg_migrate.lint = error;
SELECT migrate.revision('lu2_index', NULL, $$
SET lock_timeout = '2s';
-- pg_migrate:allow create-index-without-concurrently built at night, writes paused
CREATE INDEX lu_orders_customer ON lu_orders (customer_id);
-- pg_migrate:allow constraint-without-not-valid validated together with the index build
ALTER TABLE lu_orders ADD CONSTRAINT lu_orders_customer_fk
    FOREIGN KEY (customer_id) REFERENCES lu_customers;
$$, $$DROP INDEX lu_orders_customer; ALTER TABLE lu_orders DROP CONSTRAINT lu_orders_customer_fk$$,
    message => 'index and foreign key');
SELECT rule, waived, waiver_reason FROM migrate.lint((SELECT upgrade FROM migrate.revisions WHERE id = 'lu2_index'));
SELECT step, revision FROM migrate.upgrade('heads');

-- A malformed waiver is reported at registration (once: registering the
-- same content again is silent) and at upgrade, and never refuses a
-- revision, even with lint = error.
SELECT migrate.revision('lu3_note', NULL, $$
-- pg_migrate:allow drop-column
COMMENT ON COLUMN lu_orders.note IS 'free text';
$$, $$COMMENT ON COLUMN lu_orders.note IS NULL$$);
SELECT migrate.revision('lu3_note', NULL, $$
-- pg_migrate:allow drop-column
COMMENT ON COLUMN lu_orders.note IS 'free text';
$$, $$COMMENT ON COLUMN lu_orders.note IS NULL$$);
SELECT step, revision FROM migrate.upgrade('heads');

-- Lint weighs the tables as they are before anything runs: lu5 indexes a
-- table that lu4 creates, so it gives no finding.  lu6 renames a column of
-- the big table: with lint = error the whole upgrade is refused, lu4 and
-- lu5 included.
SELECT migrate.revision('lu4_archive', NULL, $$CREATE TABLE lu_archive (id int)$$, $$DROP TABLE lu_archive$$);
SELECT migrate.revision('lu5_archive_idx', NULL, $$CREATE INDEX lu_archive_id ON lu_archive (id)$$, $$DROP INDEX lu_archive_id$$);
SELECT migrate.revision('lu6_rename', NULL, $$ALTER TABLE lu_orders RENAME COLUMN note TO remark$$,
    $$ALTER TABLE lu_orders RENAME COLUMN remark TO note$$);
SELECT * FROM migrate.upgrade('heads');
SELECT to_regclass('lu_archive') AS archive;
SELECT revision FROM migrate.current();

-- A higher pg_migrate.lint_min_rows weighs the big table out.
SET pg_migrate.lint_min_rows = 50000;
BEGIN;
SELECT step, revision FROM migrate.upgrade('heads');
ROLLBACK;
RESET pg_migrate.lint_min_rows;

-- warn: the rename runs with its NOTICEs.
SET pg_migrate.lint = warn;
SELECT step, revision FROM migrate.upgrade('heads');
SELECT column_name FROM information_schema.columns WHERE table_name = 'lu_orders' ORDER BY ordinal_position;

-- Downgrades are not linted (they drop what upgrades made, by design).
SELECT step, revision FROM migrate.downgrade('base');
SELECT to_regclass('lu_customers') AS customers, to_regclass('lu_orders_customer') AS idx;

DROP TABLE lu_orders;
DROP EXTENSION pg_migrate;
