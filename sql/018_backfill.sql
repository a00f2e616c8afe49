-- CALL migrate.backfill(): an UPDATE in batches walked by key, a commit per
-- batch, progress in migrate.backfills, resumable after a failure; and every
-- bad input refused without changing anything.
CREATE EXTENSION pg_migrate;

-- The progress NOTICEs keep their times and rates in the DETAIL, which
-- terse verbosity leaves out; errors are shown in full where their hint
-- matters.  Autovacuum stays off the tables whose row estimate is printed.
\set VERBOSITY terse

CREATE TABLE accounts (id int PRIMARY KEY, email text NOT NULL, email_lower text)
    WITH (autovacuum_enabled = off);
INSERT INTO accounts SELECT g, 'User' || g || '@Example.ORG', NULL FROM generate_series(1, 1000) g;
ANALYZE accounts;

-- Four batches of at most 300 keys, each committed on its own.
CALL migrate.backfill('accounts', 'email_lower = lower(email)', batch_size => 300);
SELECT count(*) AS total, count(*) FILTER (WHERE email_lower = lower(email)) AS done FROM accounts;
SELECT count(DISTINCT xmin::text) AS transactions FROM accounts;
SELECT relation_name, set_clause, where_clause, key_columns, last_key, rows_scanned,
       rows_updated, batches, estimated_rows, finished_at >= started_at AS finished,
       started_by, updated_by
FROM migrate.backfills;

-- Called again, a finished backfill does nothing and says how to rerun it.
\set VERBOSITY default
CALL migrate.backfill('accounts', 'email_lower = lower(email)', batch_size => 300);
\set VERBOSITY terse
SELECT count(DISTINCT xmin::text) AS transactions FROM accounts;

-- backfill_reset() forgets it; the next identical call starts over.
SELECT migrate.backfill_reset('accounts', 'email_lower = lower(email)');
SELECT migrate.backfill_reset('accounts', 'email_lower = lower(email)');
SELECT count(*) AS backfills FROM migrate.backfills;

-- where_clause: every key is walked, only matching rows are updated.
-- pg_migrate.quiet silences the NOTICE per batch, not the summary.
UPDATE accounts SET email_lower = NULL WHERE id % 3 = 0;
ANALYZE accounts;
SET pg_migrate.quiet = on;
CALL migrate.backfill('accounts', 'email_lower = lower(email)', 'email_lower IS NULL',
                      batch_size => 250, pause => '10 ms');
RESET pg_migrate.quiet;
SELECT count(*) FILTER (WHERE email_lower IS NULL) AS left_null FROM accounts;
SELECT where_clause, last_key, rows_scanned, rows_updated, batches
FROM migrate.backfills WHERE where_clause IS NOT NULL;

-- A composite primary key is walked as one row value, in index order.
CREATE TABLE feature_values (
    model text, version int, feature text, value float8, value_scaled float8,
    PRIMARY KEY (model, version, feature)) WITH (autovacuum_enabled = off);
INSERT INTO feature_values
SELECT 'm' || (g % 3), g / 30, 'f' || (g % 10), g, NULL FROM generate_series(1, 600) g;
ANALYZE feature_values;
CALL migrate.backfill('feature_values', 'value_scaled = value / 600', batch_size => 250);
SELECT count(*) AS total, count(*) FILTER (WHERE value_scaled = value / 600) AS done,
       count(DISTINCT xmin::text) AS transactions
FROM feature_values;
SELECT key_columns, last_key, rows_scanned, batches
FROM migrate.backfills WHERE relation_name = 'public.feature_values';

-- No primary key, but a unique index on NOT NULL columns: it serves.
CREATE TABLE tags (name text NOT NULL, note text, label text) WITH (autovacuum_enabled = off);
CREATE UNIQUE INDEX tags_name_key ON tags (name);
INSERT INTO tags SELECT 't' || g, NULL, NULL FROM generate_series(1, 50) g;
ANALYZE tags;
CALL migrate.backfill('tags', 'label = upper(name)', batch_size => 20);
SELECT count(label) AS labelled FROM tags;

-- A partitioned table is walked by its primary key across partitions.
CREATE TABLE measurements (id int PRIMARY KEY, v int, doubled int) PARTITION BY RANGE (id);
CREATE TABLE measurements_1 PARTITION OF measurements FOR VALUES FROM (1) TO (101)
    WITH (autovacuum_enabled = off);
CREATE TABLE measurements_2 PARTITION OF measurements FOR VALUES FROM (101) TO (1000)
    WITH (autovacuum_enabled = off);
INSERT INTO measurements SELECT g, g, NULL FROM generate_series(1, 150) g;
ANALYZE measurements;
CALL migrate.backfill('measurements', 'doubled = 2 * v', batch_size => 60);
SELECT count(*) FILTER (WHERE doubled = 2 * v) AS done FROM measurements;

-- Resume: a batch fails on a bad row; the batches before it stay committed,
-- the state records where they ended, and the same call, once the data is
-- fixed, continues from the failed batch -- not from the start.
CREATE TABLE readings (id bigint PRIMARY KEY, raw text, parsed int) WITH (autovacuum_enabled = off);
INSERT INTO readings SELECT g, g::text, NULL FROM generate_series(1, 1000) g;
UPDATE readings SET raw = 'unreadable' WHERE id = 650;
ANALYZE readings;
SET pg_migrate.quiet = on;
\set VERBOSITY default
CALL migrate.backfill('readings', 'parsed = raw::int', batch_size => 200);
\set VERBOSITY terse
SELECT count(parsed) AS parsed, max(id) FILTER (WHERE parsed IS NOT NULL) AS last_parsed FROM readings;
SELECT last_key, rows_scanned, rows_updated, batches, finished_at IS NULL AS unfinished
FROM migrate.backfills WHERE relation_name = 'public.readings';
UPDATE readings SET raw = '650' WHERE id = 650;
CREATE TEMP TABLE readings_before AS SELECT id, xmin::text AS x FROM readings WHERE id <= 600;
RESET pg_migrate.quiet;
CALL migrate.backfill('readings', 'parsed = raw::int', batch_size => 200);
SELECT count(*) FILTER (WHERE parsed = id) AS parsed FROM readings;
-- the first three batches were not done again
SELECT count(*) AS rewritten FROM readings r JOIN readings_before b USING (id) WHERE r.xmin::text <> b.x;
SELECT last_key, rows_scanned, rows_updated, batches, finished_at IS NOT NULL AS finished
FROM migrate.backfills WHERE relation_name = 'public.readings';

-- Keys are kept as text in one fixed style, whatever DateStyle and TimeZone
-- the calls run with: a timestamptz key written in one session style is
-- read back right in another.
CREATE TABLE ticks (at timestamptz PRIMARY KEY, n int, seen boolean) WITH (autovacuum_enabled = off);
INSERT INTO ticks SELECT '2026-01-31 23:00:00+00'::timestamptz + g * interval '1 hour 0.125 s', g, NULL
FROM generate_series(1, 100) g;
UPDATE ticks SET n = 0 WHERE n = 70;
ANALYZE ticks;
SET datestyle = 'SQL, DMY';
SET timezone = 'Asia/Kolkata';
SET pg_migrate.quiet = on;
CALL migrate.backfill('ticks', 'seen = (n / n = 1)', batch_size => 30);
SELECT last_key FROM migrate.backfills WHERE relation_name = 'public.ticks';
UPDATE ticks SET n = 70 WHERE n = 0;
SET datestyle = 'German';
SET timezone = 'America/New_York';
CALL migrate.backfill('ticks', 'seen = (n / n = 1)', batch_size => 30);
RESET datestyle;
RESET timezone;
RESET pg_migrate.quiet;
SELECT count(*) FILTER (WHERE seen) AS seen, count(DISTINCT xmin::text) AS transactions FROM ticks;
SELECT last_key, rows_scanned, batches FROM migrate.backfills WHERE relation_name = 'public.ticks';

-- statement_timeout bounds each batch, not the whole call (nor the pauses).
ANALYZE accounts;
SET statement_timeout = '1s';
SET pg_migrate.quiet = on;
CALL migrate.backfill('accounts', 'email_lower = upper(email)', batch_size => 200, pause => '300 ms');
RESET pg_migrate.quiet;
RESET statement_timeout;
SELECT count(*) FILTER (WHERE email_lower = upper(email)) AS upper_cased FROM accounts;

-- A role with UPDATE on the table and EXECUTE on backfill() runs it; the
-- state is written for it, and it cannot write migrate.backfills itself.
CREATE ROLE pgm_bf_writer;
GRANT SELECT, UPDATE ON tags TO pgm_bf_writer;
GRANT EXECUTE ON PROCEDURE migrate.backfill(regclass, text, text, integer, interval) TO pgm_bf_writer;
SET ROLE pgm_bf_writer;
CALL migrate.backfill('tags', 'note = ''checked''', batch_size => 40);
UPDATE migrate.backfills SET finished_at = NULL;
RESET ROLE;
SELECT count(note) AS noted FROM tags;
SELECT started_by, updated_by, batches FROM migrate.backfills WHERE set_clause = 'note = ''checked''';

-- Bad input: each refused with a clear error, nothing changed.
UPDATE accounts SET email_lower = NULL;
ANALYZE accounts;
SELECT md5(string_agg(a::text, ',' ORDER BY id)) AS accounts_sum FROM accounts a \gset
SELECT count(*) AS backfills FROM migrate.backfills \gset
CREATE TEMP VIEW unchanged AS
SELECT (SELECT md5(string_agg(a::text, ',' ORDER BY id)) FROM accounts a) = :'accounts_sum' AS accounts_unchanged,
       (SELECT count(*) FROM migrate.backfills) = :backfills AS state_unchanged;
\set VERBOSITY default

CALL migrate.backfill(NULL, 'email_lower = lower(email)');
TABLE unchanged;
CALL migrate.backfill('accounts', NULL);
TABLE unchanged;
CALL migrate.backfill('accounts', 'email_lower = lower(email)', batch_size => NULL);
CALL migrate.backfill('accounts', 'email_lower = lower(email)', batch_size => 0);
CALL migrate.backfill('accounts', 'email_lower = lower(email)', batch_size => -5);
TABLE unchanged;
CALL migrate.backfill('accounts', 'email_lower = lower(email)', pause => NULL);
CALL migrate.backfill('accounts', 'email_lower = lower(email)', pause => '-1 s');
TABLE unchanged;

-- not a table
CREATE VIEW accounts_view AS SELECT * FROM accounts;
CALL migrate.backfill('accounts_view', 'email_lower = lower(email)');
TABLE unchanged;

-- no key to walk by
CREATE TABLE loose (n int, v int);
CREATE UNIQUE INDEX loose_n_key ON loose (n);
INSERT INTO loose VALUES (1, NULL);
CALL migrate.backfill('loose', 'v = n');
SELECT count(v) AS loose_v FROM loose;
TABLE unchanged;

-- set_clause and where_clause cannot smuggle SQL or change the UPDATE
CALL migrate.backfill('accounts', 'email_lower = lower(email); DROP TABLE accounts');
TABLE unchanged;
CALL migrate.backfill('accounts', 'email_lower = lower(email) WHERE id = 1');
CALL migrate.backfill('accounts', 'email_lower = o.x FROM accounts o');
CALL migrate.backfill('accounts', 'email_lower = lower(email) RETURNING *');
TABLE unchanged;
CALL migrate.backfill('accounts', 'email_lower = lower(email)', 'true; DROP TABLE accounts');
CALL migrate.backfill('accounts', 'email_lower = lower(email)', 'true) OR (true');
CALL migrate.backfill('accounts', 'email_lower = lower(email)', 'id < 10 RETURNING id');
CALL migrate.backfill('accounts', 'email_lower = lower(email)', 'CURRENT OF c');
TABLE unchanged;
-- a comment opened in one clause and closed in the other
CALL migrate.backfill('accounts', 'email_lower = lower(email) /*', '*/ email = NULL WHERE (true');
CALL migrate.backfill('accounts', 'email_lower = lower(email)', '');
CALL migrate.backfill('accounts', '');
TABLE unchanged;
-- the key cannot change under the walk
CALL migrate.backfill('accounts', 'id = id + 1000');
CALL migrate.backfill('accounts', '(email_lower, id) = (lower(email), 0)');
TABLE unchanged;
-- errors of the clauses themselves surface in the first batch, which rolls
-- back with the state row it created
CALL migrate.backfill('accounts', 'no_such_column = 1');
CALL migrate.backfill('accounts', 'email_lower = lower(email)', 'id + 1');
TABLE unchanged;

-- Not where it cannot commit: a transaction block, a function, an
-- exception block, a revision run by migrate.upgrade().
BEGIN;
CALL migrate.backfill('accounts', 'email_lower = lower(email)');
ROLLBACK;
TABLE unchanged;
CREATE FUNCTION run_backfill() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    CALL migrate.backfill('accounts', 'email_lower = lower(email)');
END $$;
SELECT run_backfill();
TABLE unchanged;
DO $$
BEGIN
    CALL migrate.backfill('accounts', 'email_lower = lower(email)');
EXCEPTION WHEN division_by_zero THEN
    NULL;
END $$;
TABLE unchanged;
SET pg_migrate.quiet = on;
SELECT migrate.revision(id => 'bf1', down_revision => '{}',
    upgrade => $$CALL migrate.backfill('accounts', 'email_lower = lower(email)')$$);
SELECT * FROM migrate.upgrade('heads');
RESET pg_migrate.quiet;
SELECT count(*) AS applied FROM migrate.applied;
TABLE unchanged;

-- Privileges: PUBLIC may not call it; a role that may call it still needs
-- UPDATE on the table.
CREATE ROLE pgm_bf_nobody;
GRANT SELECT ON accounts TO pgm_bf_nobody;
SET ROLE pgm_bf_nobody;
CALL migrate.backfill('accounts', 'email_lower = lower(email)');
SELECT migrate.backfill_reset('accounts', 'email_lower = lower(email)');
RESET ROLE;
SET ROLE pgm_bf_writer;
CALL migrate.backfill('accounts', 'email_lower = lower(email)');
RESET ROLE;
TABLE unchanged;

-- backfill_reset() checks its input too.
SELECT migrate.backfill_reset(NULL, 'x = 1');
SELECT migrate.backfill_reset('accounts', NULL);
TABLE unchanged;

-- A DO block outside a transaction block may call it.
\set VERBOSITY terse
DO $$
BEGIN
    CALL migrate.backfill('accounts', 'email_lower = lower(email)', batch_size => 500);
END $$;
SELECT count(*) FILTER (WHERE email_lower = lower(email)) AS done FROM accounts;

DROP VIEW unchanged, accounts_view;
DROP FUNCTION run_backfill();
DROP TABLE accounts, feature_values, tags, measurements, readings, ticks, loose;
DROP ROLE pgm_bf_nobody;
DROP EXTENSION pg_migrate;
DROP ROLE pgm_bf_writer;
