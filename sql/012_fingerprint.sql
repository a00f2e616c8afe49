-- migrate.describe() and migrate.fingerprint(): the catalog definition of
-- schemas as sorted, normalized lines, and the SHA-256 over them.
CREATE EXTENSION pg_migrate;

-- A schema with an object of each kind the fingerprint describes.
CREATE SCHEMA fp;
CREATE TYPE fp.mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN fp.posint AS integer NOT NULL CHECK (VALUE > 0);
CREATE TYPE fp.pair AS (a integer, b text);
CREATE TABLE fp.items (
    id bigserial PRIMARY KEY,
    name text NOT NULL DEFAULT 'unnamed',
    mood fp.mood,
    qty fp.posint,
    CONSTRAINT items_name_check CHECK (name <> ''));
CREATE TABLE fp.tags (item_id bigint REFERENCES fp.items, tag text, UNIQUE (item_id, tag));
CREATE INDEX items_lower_name ON fp.items (lower(name)) WHERE mood IS NOT NULL;
CREATE VIEW fp.happy_items AS SELECT id, name FROM fp.items WHERE mood = 'happy';
CREATE FUNCTION fp.touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER items_touch BEFORE UPDATE ON fp.items FOR EACH ROW EXECUTE FUNCTION fp.touch();
COMMENT ON TABLE fp.items IS 'Things.';
COMMENT ON COLUMN fp.items.name IS 'What it is called.';
-- An extension stands for its members: one line, none for its functions.
CREATE EXTENSION hstore SCHEMA fp;

SELECT kind, object, definition FROM migrate.describe(ARRAY['fp']);
SELECT migrate.fingerprint(ARRAY['fp']) AS fp1 \gset
SELECT :'fp1' ~ '^[0-9a-f]{64}$' AS sha256_hex;
CREATE TEMP TABLE first_build AS SELECT * FROM migrate.describe(ARRAY['fp']);

-- The caller's search_path does not change the lines.
SET search_path = fp, public;
SELECT migrate.fingerprint(ARRAY['fp']) = :'fp1' AS same_under_other_search_path;
RESET search_path;

-- The same schema built again in another order, with the columns in
-- another order (and a dropped one shifting the positions), another owner
-- and grants: the same fingerprint.  OIDs differ, too.
SET client_min_messages = warning;
DROP SCHEMA fp CASCADE;
RESET client_min_messages;
CREATE ROLE pgm_fp_owner;
CREATE SCHEMA fp;
CREATE EXTENSION hstore SCHEMA fp;
CREATE FUNCTION fp.touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TYPE fp.pair AS (a integer, b text);
CREATE DOMAIN fp.posint AS integer NOT NULL CHECK (VALUE > 0);
CREATE TYPE fp.mood AS ENUM ('sad', 'ok');
ALTER TYPE fp.mood ADD VALUE 'happy';
CREATE TABLE fp.items (dropped_later int, qty fp.posint, mood fp.mood);
ALTER TABLE fp.items DROP COLUMN dropped_later;
ALTER TABLE fp.items ADD COLUMN name text NOT NULL DEFAULT 'unnamed'
    CONSTRAINT items_name_check CHECK (name <> '');
ALTER TABLE fp.items ADD COLUMN id bigserial PRIMARY KEY;
COMMENT ON COLUMN fp.items.name IS 'What it is called.';
COMMENT ON TABLE fp.items IS 'Things.';
CREATE TRIGGER items_touch BEFORE UPDATE ON fp.items FOR EACH ROW EXECUTE FUNCTION fp.touch();
CREATE INDEX items_lower_name ON fp.items (lower(name)) WHERE mood IS NOT NULL;
CREATE VIEW fp.happy_items AS SELECT id, name FROM fp.items WHERE mood = 'happy';
CREATE TABLE fp.tags (tag text, item_id bigint REFERENCES fp.items, UNIQUE (item_id, tag));
ALTER TABLE fp.items OWNER TO pgm_fp_owner;
GRANT SELECT ON fp.items TO PUBLIC;
SELECT migrate.fingerprint(ARRAY['fp']) = :'fp1' AS same_fingerprint;
(SELECT 'only now' AS side, * FROM migrate.describe(ARRAY['fp'])
 EXCEPT SELECT 'only now', * FROM first_build)
UNION ALL
(SELECT 'only before', * FROM first_build
 EXCEPT SELECT 'only before', * FROM migrate.describe(ARRAY['fp']));

-- One changed default: another fingerprint, and describe() shows where.
ALTER TABLE fp.items ALTER COLUMN name SET DEFAULT 'nameless';
SELECT migrate.fingerprint(ARRAY['fp']) = :'fp1' AS same_fingerprint;
SELECT kind, object, definition FROM migrate.describe(ARRAY['fp'])
EXCEPT SELECT * FROM first_build;
ALTER TABLE fp.items ALTER COLUMN name SET DEFAULT 'unnamed';
SELECT migrate.fingerprint(ARRAY['fp']) = :'fp1' AS same_fingerprint;

-- An enum label, a NOT NULL, an index, a comment: each changes it.
ALTER TYPE fp.mood ADD VALUE 'angry';
SELECT definition FROM migrate.describe(ARRAY['fp']) WHERE object = 'fp.mood';
SELECT migrate.fingerprint(ARRAY['fp']) = :'fp1' AS same_fingerprint;
DROP VIEW fp.happy_items;
DROP TABLE fp.tags;
DROP TABLE fp.items;
DROP TYPE fp.mood;
CREATE TYPE fp.mood AS ENUM ('sad', 'ok', 'happy');
SELECT migrate.fingerprint(ARRAY['fp']) AS fp2 \gset
CREATE TABLE fp.extra (a int);
SELECT migrate.fingerprint(ARRAY['fp']) = :'fp2' AS same_fingerprint;
ALTER TABLE fp.extra ALTER a SET NOT NULL;
SELECT definition FROM migrate.describe(ARRAY['fp']) WHERE object = 'fp.extra.a';
CREATE INDEX extra_a ON fp.extra (a);
COMMENT ON INDEX fp.extra_a IS 'An index.';
SELECT kind, object, definition FROM migrate.describe(ARRAY['fp']) WHERE object LIKE '%extra%';
DROP TABLE fp.extra;
SELECT migrate.fingerprint(ARRAY['fp']) = :'fp2' AS same_fingerprint;

-- Schema names are part of the lines: a renamed schema is another schema.
ALTER SCHEMA fp RENAME TO fp_renamed;
SELECT migrate.fingerprint(ARRAY['fp_renamed']) = :'fp2' AS same_fingerprint;
ALTER SCHEMA fp_renamed RENAME TO fp;
SELECT migrate.fingerprint(ARRAY['fp']) = :'fp2' AS same_fingerprint;

-- NULL (the default): every schema except the system schemas, temporary
-- schemas and migrate; several schemas at once; no schema at all.
SELECT object FROM migrate.describe() WHERE kind = 'schema';
SELECT migrate.fingerprint() = migrate.fingerprint(ARRAY['public', 'fp']) AS all_is_public_and_fp,
       migrate.fingerprint(ARRAY['fp', 'fp']) = migrate.fingerprint(ARRAY['fp']) AS repeats_ignored;
SELECT count(*) AS lines FROM migrate.describe(ARRAY[]::text[]);
SELECT count(*) > 0 AS migrate_when_asked FROM migrate.describe(ARRAY['migrate']);

-- Bad input.
SELECT migrate.fingerprint(ARRAY['fp', 'nosuch']);
SELECT * FROM migrate.describe(ARRAY['FP']);
SELECT migrate.fingerprint(ARRAY['fp', NULL]);

-- Anyone may call them.
SELECT p.oid::regprocedure, pg_catalog.has_function_privilege('public', p.oid, 'EXECUTE') AS public_may_call
FROM pg_catalog.pg_proc p
WHERE p.oid IN ('migrate.fingerprint(text[])'::regprocedure, 'migrate.describe(text[])'::regprocedure)
ORDER BY p.proname;

SET client_min_messages = warning;
DROP SCHEMA fp CASCADE;
RESET client_min_messages;
DROP ROLE pgm_fp_owner;
DROP TABLE first_build;
DROP EXTENSION pg_migrate;
