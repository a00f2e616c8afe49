-- migrate.check_roundtrip(): each pending revision upgraded, downgraded
-- alone and upgraded again, comparing fingerprints; and the pgTAP helpers.
CREATE EXTENSION pg_migrate;
SET pg_migrate.quiet = on;

-- Nothing registered: nothing to check.
SELECT * FROM migrate.check_roundtrip();

-- Correct revisions, and three downgrades that forget something: an
-- index, a NOT NULL, an enum value (ADD VALUE cannot be undone: the
-- downgrade must recreate the type).
SELECT migrate.revision(id => 'rt1_items', down_revision => '{}',
    upgrade => $$CREATE TABLE items (id bigint PRIMARY KEY, name text)$$,
    downgrade => $$DROP TABLE items$$, message => 'create items');
SELECT migrate.revision(id => 'rt2_index',
    upgrade => $$CREATE INDEX items_name_idx ON items (name)$$,
    downgrade => $$SELECT 1 -- forgets DROP INDEX items_name_idx$$,
    message => 'index items.name');
SELECT migrate.revision(id => 'rt3_not_null',
    upgrade => $$ALTER TABLE items ALTER COLUMN name SET NOT NULL$$,
    downgrade => $$SELECT 1 -- forgets DROP NOT NULL$$,
    message => 'items.name not null');
SELECT migrate.revision(id => 'rt4_status',
    upgrade => $$
        CREATE TYPE status AS ENUM ('new', 'done');
        ALTER TABLE items ADD COLUMN status status NOT NULL DEFAULT 'new';
    $$,
    downgrade => $$
        ALTER TABLE items DROP COLUMN status;
        DROP TYPE status;
    $$,
    message => 'items.status');
SELECT migrate.revision(id => 'rt5_archived',
    upgrade => $$ALTER TYPE status ADD VALUE 'archived'$$,
    downgrade => $$SELECT 1 -- forgets to recreate status without 'archived'$$,
    message => 'status archived');
SELECT migrate.revision(id => 'rt6_blocked',
    upgrade => $$ALTER TYPE status ADD VALUE 'blocked'$$,
    downgrade => $$
        ALTER TYPE status RENAME TO status_old;
        CREATE TYPE status AS ENUM ('new', 'done', 'archived');
        ALTER TABLE items ALTER COLUMN status DROP DEFAULT,
            ALTER COLUMN status TYPE status USING status::text::status,
            ALTER COLUMN status SET DEFAULT 'new';
        DROP TYPE status_old;
    $$,
    message => 'status blocked, with a downgrade that recreates the type');
-- A downgrade that leaves data the upgrade cannot write again: the
-- schema matches, the second upgrade fails.
SELECT migrate.revision(id => 'rt7_seed',
    upgrade => $$INSERT INTO items (id, name) VALUES (1, 'first')$$,
    downgrade => $$SELECT 1 -- forgets DELETE FROM items WHERE id = 1$$,
    message => 'seed items');
-- An upgrade that fails, and a revision that needs it.
SELECT migrate.revision(id => 'rt8_broken',
    upgrade => $$CREATE INDEX ON no_such_table (x)$$,
    downgrade => $$SELECT 1$$, message => 'broken upgrade');
SELECT migrate.revision(id => 'rt9_after',
    upgrade => $$CREATE TABLE after_broken (i int)$$,
    downgrade => $$DROP TABLE after_broken$$, message => 'after the broken one');
-- A branch beside them, its base irreversible.
SELECT migrate.revision(id => 'rtx_base', down_revision => '{}',
    upgrade => $$CREATE TABLE side (i int)$$, message => 'irreversible');
SELECT migrate.revision(id => 'rtx_col', down_revision => '{rtx_base}',
    upgrade => $$ALTER TABLE side ADD COLUMN j int NOT NULL DEFAULT 0$$,
    downgrade => $$ALTER TABLE side DROP COLUMN j$$, message => 'side.j');

SELECT migrate.fingerprint() AS before \gset
SELECT revision FROM migrate.plan('heads');
SELECT * FROM migrate.check_roundtrip();

-- The database is left exactly as it was: schema, applied set, events.
SELECT migrate.fingerprint() = :'before' AS same_schema,
       pg_catalog.to_regclass('items') IS NULL AS no_items,
       (SELECT count(*) FROM migrate.applied) AS applied,
       (SELECT count(*) FROM migrate.events WHERE kind IN ('upgrade', 'downgrade')) AS run_events;

-- Up to a target only, and from a partly applied state: the applied
-- revisions are not checked again.
SELECT * FROM migrate.check_roundtrip('rt2_index');
SELECT count(*) FROM migrate.upgrade('rt3_not_null');
SELECT * FROM migrate.check_roundtrip('rt4_status');
SELECT revision FROM migrate.current();

-- Nothing pending up to the target: no rows, a NOTICE.
SELECT * FROM migrate.check_roundtrip('rt3_not_null');

-- Bad input.
SELECT * FROM migrate.check_roundtrip(NULL);
SELECT * FROM migrate.check_roundtrip('no_such_revision');

-- It writes (then rolls back): PUBLIC may not call it.
SELECT pg_catalog.has_function_privilege('public', 'migrate.check_roundtrip(text)', 'EXECUTE') AS public_may_call;

-- pgTAP helpers: without pgTAP, a clear error.
SELECT * FROM migrate.tap_single_head();
SELECT * FROM migrate.tap_roundtrip();

-- With pgTAP (in a transaction, as pgTAP tests run): each helper is one
-- test, with diagnostics on failure; nothing pending is a skipped test.
BEGIN;
CREATE EXTENSION pgtap;
SELECT plan(4);
SELECT * FROM migrate.tap_single_head();
SELECT * FROM migrate.tap_roundtrip('rt5_archived');
SELECT * FROM migrate.tap_roundtrip('rt3_not_null');
SELECT * FROM migrate.tap_up_down_up();
SELECT * FROM finish();
ROLLBACK;
SELECT revision FROM migrate.current();

-- A graph whose downgrades are all correct passes every helper.
SELECT count(*) FROM migrate.downgrade('base');
SELECT pg_catalog.to_regclass('items') AS items;
DROP EXTENSION pg_migrate;
CREATE EXTENSION pg_migrate;
SET pg_migrate.quiet = on;
SELECT migrate.revision(id => 'ok1', down_revision => '{}',
    upgrade => $$CREATE TABLE things (id int PRIMARY KEY)$$,
    downgrade => $$DROP TABLE things$$);
SELECT migrate.revision(id => 'ok2',
    upgrade => $$ALTER TABLE things ADD COLUMN label text NOT NULL DEFAULT ''; CREATE INDEX things_label ON things (label)$$,
    downgrade => $$DROP INDEX things_label; ALTER TABLE things DROP COLUMN label$$);
SELECT * FROM migrate.check_roundtrip();
BEGIN;
CREATE EXTENSION pgtap;
SELECT plan(3);
SELECT * FROM migrate.tap_single_head();
SELECT * FROM migrate.tap_roundtrip();
SELECT * FROM migrate.tap_up_down_up();
SELECT * FROM finish();
ROLLBACK;
-- From base, a downgrade to base must give back the starting schema.
SELECT migrate.revision(id => 'ok3',
    upgrade => $$CREATE SEQUENCE things_seq$$, downgrade => $$SELECT 1 -- forgets DROP SEQUENCE$$);
BEGIN;
CREATE EXTENSION pgtap;
SELECT plan(1);
SELECT * FROM migrate.tap_up_down_up();
SELECT * FROM finish();
ROLLBACK;
SELECT count(*) AS applied FROM migrate.applied;

DROP EXTENSION pg_migrate;
