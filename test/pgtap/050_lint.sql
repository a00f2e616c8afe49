/*
 * 050_lint.sql: properties of migrate.lint().
 *
 *   - the rule table: ids unique and well formed, every rule with a
 *     severity, a description and a hint;
 *   - empty, blank and NULL input give no rows;
 *   - a corpus of a few hundred varied statements (DDL of every kind, DML,
 *     utility statements, bodies with quotes and comments): lint never
 *     fails on any of them, alone or all together, every finding is well
 *     formed (a known rule with its severity, statement and line inside the
 *     text, table and estimate together), and lint changes nothing;
 *   - lines follow the text: k blank lines before a statement move its
 *     findings k lines down;
 *   - waivers: a waiver with a reason above a statement waives exactly
 *     its rule there; without a reason it waives nothing and adds one
 *     bad-waiver finding;
 *   - weighing: on tables of random size, a finding iff the estimated rows
 *     reach pg_migrate.lint_min_rows;
 *   - rewrites: for type changes and added columns, lint reports a rewrite
 *     exactly when PostgreSQL then rewrites the table (its relfilenode
 *     changes).
 */
BEGIN;

SELECT plan(66);

CREATE SCHEMA tap_lint;
SET LOCAL search_path = tap_lint, public;
SET LOCAL pg_migrate.lint_min_rows = 0;

/* ------------------------------------------------------------ fixtures */

CREATE TABLE tap_lint.orders (
	id int PRIMARY KEY, customer_id int, email text, code varchar(10),
	amount numeric(8,2), created timestamp, status text, note text, payload jsonb);
INSERT INTO tap_lint.orders
SELECT g, g % 50, 'u' || g || '@example.org', 'c' || g % 7, g % 1000,
	   '2024-01-01'::timestamp + g * interval '1 hour', 'new', NULL, '{}'
FROM generate_series(1, 500) g;
CREATE TABLE tap_lint.customers (id int PRIMARY KEY, name text);
INSERT INTO tap_lint.customers SELECT g, 'c' || g FROM generate_series(0, 49) g;
CREATE TYPE tap_lint.mood AS ENUM ('calm', 'busy');
ALTER TABLE tap_lint.orders ADD COLUMN mood tap_lint.mood;
CREATE DOMAIN tap_lint.posint AS int CHECK (VALUE > 0);
CREATE SEQUENCE tap_lint.seq;
ANALYZE tap_lint.orders, tap_lint.customers;

/* ------------------------------------------------------------ rule table */

SELECT is((SELECT count(DISTINCT rule) FROM migrate.lint_rules()),
		  (SELECT count(*) FROM migrate.lint_rules()),
		  'rule ids are unique');
SELECT is_empty($$SELECT rule FROM migrate.lint_rules() WHERE rule !~ '^[a-z]+(-[a-z]+)*$'$$,
				'rule ids are lower-case words joined by hyphens');
SELECT is_empty($$SELECT rule FROM migrate.lint_rules()
				  WHERE severity NOT IN ('error', 'warning', 'info')$$,
				'every rule has severity error, warning or info');
SELECT is_empty($$SELECT rule FROM migrate.lint_rules()
				  WHERE coalesce(length(hint), 0) < 40 OR hint !~ '\.$' OR hint !~ '^[A-Z]'$$,
				'every rule has a hint: a sentence giving the safe alternative');
SELECT is_empty($$SELECT rule FROM migrate.lint_rules()
				  WHERE coalesce(length(description), 0) < 20$$,
				'every rule has a description');
SELECT set_eq($$SELECT rule FROM migrate.lint_rules()$$,
			  ARRAY['create-index-without-concurrently', 'constraint-without-not-valid',
					'set-not-null', 'volatile-default', 'column-type-change',
					'add-unique-without-index', 'add-primary-key-without-index',
					'vacuum-full', 'cluster', 'rename-column', 'rename-table',
					'drop-column', 'drop-table', 'lock-table', 'enum-recreate',
					'missing-lock-timeout', 'bad-waiver'],
			  'the documented rule set');

/* ------------------------------------------------------------ empty input */

SELECT is((SELECT count(*) FROM migrate.lint('')), 0::bigint, 'empty text: no rows');
SELECT is((SELECT count(*) FROM migrate.lint(E'  \n\t \n')), 0::bigint, 'blank text: no rows');
SELECT is((SELECT count(*) FROM migrate.lint(E'-- a comment\n/* another /* nested */ */\n;;')),
		  0::bigint, 'comments and empty statements: no rows');
SELECT is((SELECT count(*) FROM migrate.lint(NULL)), 0::bigint, 'NULL: no rows (strict)');

/* ------------------------------------------------------------ corpus */

CREATE TABLE tap_lint.corpus (n serial, sql text NOT NULL);
INSERT INTO tap_lint.corpus (sql) VALUES
-- tables
($$CREATE TABLE t1 (id int)$$),
($$CREATE TABLE IF NOT EXISTS t2 (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text DEFAULT 'x' NOT NULL)$$),
($$CREATE TEMP TABLE t3 (a int, b int, UNIQUE (a, b)) ON COMMIT DROP$$),
($$CREATE UNLOGGED TABLE t4 (LIKE orders INCLUDING ALL)$$),
($$CREATE TABLE t5 (id int) PARTITION BY HASH (id)$$),
($$CREATE TABLE t6 PARTITION OF t5 FOR VALUES WITH (MODULUS 2, REMAINDER 0)$$),
($$CREATE TABLE t7 (c circle, EXCLUDE USING gist (c WITH &&))$$),
($$CREATE TABLE t8 AS SELECT * FROM orders WITH NO DATA$$),
($$SELECT * INTO t9 FROM customers$$),
($$CREATE TABLE t10 (a int CHECK (a > 0), b int REFERENCES customers ON DELETE CASCADE)$$),
($$CREATE TABLE t11 (a int) INHERITS (customers)$$),
($$CREATE TABLE t12 (a text COLLATE "C", b int[] DEFAULT '{}', c numeric(10,2))$$),
($$CREATE TABLE t13 (d date DEFAULT current_date, ts timestamptz DEFAULT now())$$),
($$CREATE TABLE "Mixed Case" ("Id" int)$$),
($$CREATE TABLE t14 (id int) WITH (fillfactor = 70, autovacuum_enabled = false)$$),
($$CREATE TABLE t15 (g int GENERATED ALWAYS AS (1) STORED)$$),
-- alter table: every kind of subcommand
($$ALTER TABLE orders ADD COLUMN c1 int$$),
($$ALTER TABLE orders ADD COLUMN IF NOT EXISTS c2 text DEFAULT 'a'$$),
($$ALTER TABLE orders ADD COLUMN c3 uuid DEFAULT gen_random_uuid()$$),
($$ALTER TABLE orders ADD COLUMN c4 int DEFAULT nextval('seq')$$),
($$ALTER TABLE orders ADD COLUMN c5 serial$$),
($$ALTER TABLE orders ADD COLUMN c6 posint$$),
($$ALTER TABLE orders ADD COLUMN c7 int GENERATED ALWAYS AS IDENTITY$$),
($$ALTER TABLE orders ADD COLUMN c8 numeric GENERATED ALWAYS AS (amount * 2) STORED$$),
($$ALTER TABLE orders ADD COLUMN c9 int REFERENCES customers$$),
($$ALTER TABLE orders ADD COLUMN c10 int CHECK (c10 > 0)$$),
($$ALTER TABLE orders ADD COLUMN c11 int UNIQUE$$),
($$ALTER TABLE orders ADD COLUMN c12 int PRIMARY KEY$$),
($$ALTER TABLE orders ADD COLUMN c13 int DEFAULT nosuchfunction()$$),
($$ALTER TABLE orders ADD COLUMN c14 nosuchtype$$),
($$ALTER TABLE orders ADD COLUMN c15 int DEFAULT 'not a number'$$),
($$ALTER TABLE orders ADD COLUMN c16 text DEFAULT (SELECT 1)$$),
($$ALTER TABLE orders ADD COLUMN c17 int DEFAULT customer_id$$),
($$ALTER TABLE orders ADD COLUMN c18 varchar(0) DEFAULT now()$$),
($$ALTER TABLE orders DROP COLUMN note$$),
($$ALTER TABLE orders DROP COLUMN IF EXISTS nosuch$$),
($$ALTER TABLE orders DROP COLUMN note CASCADE$$),
($$ALTER TABLE orders ALTER COLUMN email SET NOT NULL$$),
($$ALTER TABLE orders ALTER COLUMN email DROP NOT NULL$$),
($$ALTER TABLE orders ALTER COLUMN nosuch SET NOT NULL$$),
($$ALTER TABLE orders ALTER COLUMN email SET DEFAULT 'x'$$),
($$ALTER TABLE orders ALTER COLUMN email DROP DEFAULT$$),
($$ALTER TABLE orders ALTER COLUMN code TYPE varchar(20)$$),
($$ALTER TABLE orders ALTER COLUMN code TYPE varchar(5)$$),
($$ALTER TABLE orders ALTER COLUMN code TYPE text USING code || 'x'$$),
($$ALTER TABLE orders ALTER COLUMN code SET DATA TYPE int USING code::int$$),
($$ALTER TABLE orders ALTER COLUMN code TYPE int$$),
($$ALTER TABLE orders ALTER COLUMN code TYPE nosuchtype$$),
($$ALTER TABLE orders ALTER COLUMN code TYPE varchar(0)$$),
($$ALTER TABLE orders ALTER COLUMN nosuch TYPE int$$),
($$ALTER TABLE orders ALTER COLUMN amount TYPE numeric(12,2)$$),
($$ALTER TABLE orders ALTER COLUMN created TYPE timestamptz$$),
($$ALTER TABLE orders ALTER COLUMN payload TYPE json$$),
($$ALTER TABLE orders ALTER COLUMN status TYPE mood USING status::mood$$),
($$ALTER TABLE orders ALTER COLUMN email TYPE text COLLATE "C"$$),
($$ALTER TABLE orders ALTER COLUMN email SET STATISTICS 500$$),
($$ALTER TABLE orders ALTER COLUMN email SET STORAGE EXTERNAL$$),
($$ALTER TABLE orders ALTER COLUMN email SET COMPRESSION pglz$$),
($$ALTER TABLE orders ALTER COLUMN email SET (n_distinct = 100)$$),
($$ALTER TABLE orders ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY$$),
($$ALTER TABLE orders ADD CONSTRAINT fk1 FOREIGN KEY (customer_id) REFERENCES customers$$),
($$ALTER TABLE orders ADD CONSTRAINT fk2 FOREIGN KEY (customer_id) REFERENCES customers NOT VALID$$),
($$ALTER TABLE orders ADD FOREIGN KEY (customer_id) REFERENCES customers (id) MATCH FULL ON UPDATE CASCADE$$),
($$ALTER TABLE orders ADD CONSTRAINT ck1 CHECK (amount >= 0)$$),
($$ALTER TABLE orders ADD CONSTRAINT ck2 CHECK (email IS NOT NULL) NOT VALID$$),
($$ALTER TABLE orders ADD CHECK (email IS NOT NULL AND amount > 0)$$),
($$ALTER TABLE orders ADD CONSTRAINT uq1 UNIQUE (email)$$),
($$ALTER TABLE orders ADD CONSTRAINT uq2 UNIQUE USING INDEX nosuch_index$$),
($$ALTER TABLE orders ADD CONSTRAINT uq3 UNIQUE NULLS NOT DISTINCT (email)$$),
($$ALTER TABLE orders ADD PRIMARY KEY (id)$$),
($$ALTER TABLE orders ADD CONSTRAINT pk2 PRIMARY KEY USING INDEX orders_pkey$$),
($$ALTER TABLE orders ADD CONSTRAINT ex1 EXCLUDE USING btree (id WITH =)$$),
($$ALTER TABLE orders VALIDATE CONSTRAINT fk2$$),
($$ALTER TABLE orders DROP CONSTRAINT IF EXISTS fk2$$),
($$ALTER TABLE orders RENAME CONSTRAINT orders_pkey TO orders_pk$$),
($$ALTER TABLE orders ALTER CONSTRAINT fk1 DEFERRABLE$$),
($$ALTER TABLE orders RENAME COLUMN note TO remark$$),
($$ALTER TABLE orders RENAME note TO remark$$),
($$ALTER TABLE orders RENAME TO orders2$$),
($$ALTER TABLE IF EXISTS nosuch RENAME TO nosuch2$$),
($$ALTER TABLE orders SET SCHEMA public$$),
($$ALTER TABLE orders SET LOGGED$$),
($$ALTER TABLE orders SET UNLOGGED$$),
($$ALTER TABLE orders SET TABLESPACE pg_default$$),
($$ALTER TABLE orders SET ACCESS METHOD heap$$),
($$ALTER TABLE orders SET (fillfactor = 80)$$),
($$ALTER TABLE orders RESET (fillfactor)$$),
($$ALTER TABLE orders OWNER TO CURRENT_USER$$),
($$ALTER TABLE orders ENABLE ROW LEVEL SECURITY$$),
($$ALTER TABLE orders FORCE ROW LEVEL SECURITY$$),
($$ALTER TABLE orders DISABLE TRIGGER ALL$$),
($$ALTER TABLE orders ENABLE REPLICA TRIGGER tr1$$),
($$ALTER TABLE orders CLUSTER ON orders_pkey$$),
($$ALTER TABLE orders SET WITHOUT CLUSTER$$),
($$ALTER TABLE orders REPLICA IDENTITY FULL$$),
($$ALTER TABLE orders INHERIT customers$$),
($$ALTER TABLE orders NO INHERIT customers$$),
($$ALTER TABLE ONLY orders ADD COLUMN c19 int$$),
($$ALTER TABLE orders ADD COLUMN c20 int, ADD COLUMN c21 int DEFAULT random()::int, DROP COLUMN note$$),
($$ALTER TABLE t5 ATTACH PARTITION t6 FOR VALUES WITH (MODULUS 2, REMAINDER 1)$$),
($$ALTER TABLE t5 DETACH PARTITION t6$$),
($$ALTER TABLE nosuch ADD COLUMN x int$$),
($$ALTER TABLE "Mixed Case" ADD COLUMN "Other" int DEFAULT random()$$),
($$ALTER TABLE otherdb.tap_lint.orders ADD COLUMN x int DEFAULT random()$$),
($$ALTER TABLE orders ALTER COLUMN mood TYPE text$$),
($$ALTER TABLE orders OF nosuchtype$$),
($$ALTER TABLE orders NOT OF$$),
($$ALTER TABLE orders ALTER COLUMN id DROP IDENTITY IF EXISTS$$),
-- indexes
($$CREATE INDEX ON orders (email)$$),
($$CREATE INDEX CONCURRENTLY ON orders (email)$$),
($$CREATE UNIQUE INDEX IF NOT EXISTS i1 ON orders (email) WHERE email IS NOT NULL$$),
($$CREATE INDEX i2 ON orders USING gin (payload jsonb_path_ops)$$),
($$CREATE INDEX i3 ON orders (lower(email)) INCLUDE (status)$$),
($$CREATE INDEX i4 ON ONLY t5 (id)$$),
($$CREATE INDEX i5 ON nosuch (x)$$),
($$CREATE INDEX i6 ON orders (email) WITH (fillfactor = 50) TABLESPACE pg_default$$),
($$DROP INDEX IF EXISTS i1$$),
($$DROP INDEX CONCURRENTLY IF EXISTS i1$$),
($$ALTER INDEX IF EXISTS i1 RENAME TO i2$$),
($$ALTER INDEX orders_pkey SET (fillfactor = 90)$$),
($$REINDEX TABLE orders$$),
($$REINDEX (VERBOSE) INDEX CONCURRENTLY orders_pkey$$),
-- drop
($$DROP TABLE orders$$),
($$DROP TABLE IF EXISTS orders, customers CASCADE$$),
($$DROP TABLE nosuch$$),
($$DROP TABLE a.b.c.d$$),
($$DROP VIEW IF EXISTS v1$$),
($$DROP TYPE mood$$),
($$DROP TYPE IF EXISTS mood, nosuchtype CASCADE$$),
($$DROP DOMAIN posint$$),
($$DROP SEQUENCE seq$$),
($$DROP FUNCTION IF EXISTS f1(int)$$),
($$DROP SCHEMA IF EXISTS s1 CASCADE$$),
($$TRUNCATE orders$$),
($$TRUNCATE ONLY orders, customers RESTART IDENTITY CASCADE$$),
-- types
($$CREATE TYPE mood AS ENUM ('calm')$$),
($$CREATE TYPE newmood AS ENUM ()$$),
($$ALTER TYPE mood ADD VALUE 'away'$$),
($$ALTER TYPE mood ADD VALUE IF NOT EXISTS 'away' BEFORE 'calm'$$),
($$ALTER TYPE mood RENAME VALUE 'busy' TO 'occupied'$$),
($$ALTER TYPE mood RENAME TO mood_old$$),
($$ALTER TYPE mood OWNER TO CURRENT_USER$$),
($$ALTER TYPE mood SET SCHEMA public$$),
($$CREATE TYPE pair AS (a int, b text)$$),
($$ALTER TYPE pair ADD ATTRIBUTE c int$$),
($$CREATE TYPE r AS RANGE (subtype = float8)$$),
($$CREATE DOMAIN d1 AS text CHECK (VALUE ~ '^x') NOT NULL DEFAULT 'x'$$),
($$ALTER DOMAIN posint ADD CONSTRAINT c CHECK (VALUE < 100) NOT VALID$$),
($$ALTER DOMAIN posint VALIDATE CONSTRAINT c$$),
-- views, sequences, functions, triggers, policies
($$CREATE VIEW v1 AS SELECT id, email FROM orders WHERE status = 'new'$$),
($$CREATE OR REPLACE VIEW v1 AS SELECT 1 AS one$$),
($$CREATE MATERIALIZED VIEW mv1 AS SELECT count(*) FROM orders WITH NO DATA$$),
($$REFRESH MATERIALIZED VIEW mv1$$),
($$REFRESH MATERIALIZED VIEW CONCURRENTLY mv1$$),
($$ALTER VIEW v1 RENAME TO v2$$),
($$ALTER MATERIALIZED VIEW mv1 RENAME TO mv2$$),
($$CREATE SEQUENCE s2 START 100 INCREMENT 5$$),
($$ALTER SEQUENCE seq RESTART WITH 10$$),
($$SELECT setval('seq', 42)$$),
($$CREATE FUNCTION f1(a int) RETURNS int LANGUAGE sql IMMUTABLE AS $f$ SELECT a + 1 $f$ $$),
($$CREATE OR REPLACE FUNCTION f2() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
	-- ALTER TABLE orders DROP COLUMN note; (a comment in a body)
	NEW.status := 'x; y -- not a comment';
	RETURN NEW;
END $f$ $$),
($$CREATE PROCEDURE p1() LANGUAGE sql AS $p$ UPDATE orders SET status = 'a' $p$ $$),
($$CREATE TRIGGER tr1 BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION f2()$$),
($$DROP TRIGGER IF EXISTS tr1 ON orders$$),
($$ALTER FUNCTION f1(int) SET search_path = public$$),
($$CREATE POLICY p ON orders USING (customer_id = 1)$$),
($$CREATE RULE r1 AS ON INSERT TO v1 DO INSTEAD NOTHING$$),
($$CREATE EVENT TRIGGER et ON ddl_command_end EXECUTE FUNCTION f2()$$),
($$CREATE AGGREGATE agg1 (int) (sfunc = int4pl, stype = int)$$),
($$CREATE OPERATOR === (leftarg = int, rightarg = int, function = int4eq)$$),
($$CREATE CAST (text AS mood) WITH INOUT$$),
($$CREATE COLLATION c1 (locale = 'C')$$),
($$CREATE EXTENSION IF NOT EXISTS plpgsql$$),
($$CREATE SCHEMA s1 CREATE TABLE s1t (id int) CREATE INDEX ON s1t (id)$$),
($$CREATE STATISTICS st1 ON email, status FROM orders$$),
($$CREATE PUBLICATION pub1 FOR TABLE orders$$),
($$CREATE SERVER srv FOREIGN DATA WRAPPER nosuch$$),
($$CREATE FOREIGN TABLE ft1 (id int) SERVER srv$$),
-- privileges and comments
($$GRANT SELECT, UPDATE (email) ON orders TO PUBLIC$$),
($$REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC$$),
($$ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO PUBLIC$$),
($$COMMENT ON TABLE orders IS 'orders; with -- dashes'$$),
($$COMMENT ON COLUMN orders.email IS E'it''s \\ an -- email'$$),
($$SECURITY LABEL ON TABLE orders IS 'x'$$),
-- data and queries
($$INSERT INTO orders (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET note = excluded.note RETURNING id$$),
($$INSERT INTO customers SELECT g, 'n' FROM generate_series(1000, 1010) g$$),
($$UPDATE orders SET note = 'x' WHERE id < 10$$),
($$UPDATE orders o SET status = c.name FROM customers c WHERE c.id = o.customer_id$$),
($$DELETE FROM orders WHERE id IN (SELECT id FROM orders LIMIT 1)$$),
($$MERGE INTO customers c USING (SELECT 1 AS id) s ON c.id = s.id WHEN MATCHED THEN UPDATE SET name = 'm' WHEN NOT MATCHED THEN INSERT VALUES (s.id, 'm')$$),
($$WITH x AS (DELETE FROM orders RETURNING *) INSERT INTO orders SELECT * FROM x$$),
($$SELECT count(*) FROM orders$$),
($$SELECT set_config('lock_timeout', '1s', true)$$),
($$SELECT set_config('statement_timeout', '1s', false), set_config('lock_timeout', NULL, true)$$),
($$SELECT pg_catalog.set_config(name => 'lock_timeout', value => '0', is_local => true)$$),
($$VALUES (1), (2)$$),
($$TABLE orders$$),
($$COPY orders TO '/dev/null'$$),
($$COPY customers FROM '/nonexistent/file.csv' WITH (FORMAT csv)$$),
($$EXPLAIN (COSTS OFF) SELECT * FROM orders$$),
($$EXPLAIN ANALYZE SELECT 1$$),
($$PREPARE q1 AS SELECT * FROM orders WHERE id = $1$$),
($$EXECUTE q1(1)$$),
($$DEALLOCATE ALL$$),
($$DO $d$ BEGIN EXECUTE 'ALTER TABLE orders DROP COLUMN note'; END $d$ $$),
($$DO LANGUAGE plpgsql $d$ BEGIN PERFORM 1; END $d$ $$),
($$CALL p1()$$),
($$NOTIFY ch, 'payload'$$),
($$LISTEN ch$$),
($$DISCARD ALL$$),
($$CHECKPOINT$$),
-- settings and locks
($$SET lock_timeout = '2s'$$),
($$SET LOCAL lock_timeout TO DEFAULT$$),
($$SET lock_timeout = 'not a duration'$$),
($$SET SESSION lock_timeout = 5000$$),
($$SET statement_timeout = 0$$),
($$SET search_path TO public, pg_temp$$),
($$SET TIME ZONE 'UTC'$$),
($$SET ROLE NONE$$),
($$SET CONSTRAINTS ALL DEFERRED$$),
($$SET TRANSACTION ISOLATION LEVEL SERIALIZABLE$$),
($$RESET ALL$$),
($$RESET lock_timeout$$),
($$SHOW lock_timeout$$),
($$LOCK TABLE orders$$),
($$LOCK orders, customers IN SHARE ROW EXCLUSIVE MODE NOWAIT$$),
($$LOCK TABLE ONLY orders IN ACCESS SHARE MODE$$),
($$LOCK TABLE nosuch$$),
-- maintenance
($$VACUUM$$),
($$VACUUM FULL$$),
($$VACUUM FULL orders$$),
($$VACUUM (FULL false, VERBOSE) orders$$),
($$VACUUM (FULL, ANALYZE) orders (email), customers$$),
($$VACUUM (FULL 'maybe') orders$$),
($$ANALYZE orders$$),
($$CLUSTER$$),
($$CLUSTER orders$$),
($$CLUSTER VERBOSE orders USING orders_pkey$$),
-- transaction control and others a revision refuses (lint still copes)
($$BEGIN$$),
($$COMMIT$$),
($$SAVEPOINT a$$),
($$ROLLBACK TO SAVEPOINT a$$),
($$COPY orders FROM STDIN$$),
($$CREATE DATABASE nosuchdb$$),
($$ALTER SYSTEM SET work_mem = '64MB'$$),
($$CREATE ROLE r1 NOLOGIN$$),
($$ALTER ROLE r1 SET lock_timeout = '1s'$$),
($$DROP ROLE IF EXISTS r1$$),
($$IMPORT FOREIGN SCHEMA x FROM SERVER srv INTO public$$),
($$CREATE TABLESPACE ts LOCATION '/nonexistent'$$),
($$ALTER EXTENSION pg_migrate UPDATE$$),
($$SELECT 1; SELECT 2$$);

/* generated: every column of orders through the column-level rules */
INSERT INTO tap_lint.corpus (sql)
SELECT format(t, quote_ident(a.attname))
FROM pg_attribute a,
	 (VALUES ('ALTER TABLE orders ALTER COLUMN %s SET NOT NULL'),
			 ('ALTER TABLE orders ALTER COLUMN %s TYPE text'),
			 ('ALTER TABLE orders ALTER COLUMN %s TYPE bigint USING 0'),
			 ('ALTER TABLE orders RENAME COLUMN %s TO renamed'),
			 ('ALTER TABLE orders DROP COLUMN %s'),
			 ('ALTER TABLE orders ADD CONSTRAINT c CHECK (%s IS NOT NULL) NOT VALID'),
			 ('CREATE INDEX ON orders (%s)'),
			 ('ALTER TABLE orders ADD UNIQUE (%s)')) AS x(t)
WHERE a.attrelid = 'tap_lint.orders'::regclass AND a.attnum > 0 AND NOT a.attisdropped;

SELECT cmp_ok((SELECT count(*) FROM tap_lint.corpus), '>=', 300::bigint,
			  'the corpus has at least 300 statements');

/* lint of each statement: the error it raised, if any */
CREATE FUNCTION tap_lint.lint_error(sql text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM count(*) FROM migrate.lint(sql);
	RETURN NULL;
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

SELECT is_empty($$SELECT n, sql, tap_lint.lint_error(sql) FROM tap_lint.corpus
				  WHERE tap_lint.lint_error(sql) IS NOT NULL$$,
				'lint never fails on a statement of the corpus');

CREATE TABLE tap_lint.whole AS
SELECT string_agg(sql, E';\n' ORDER BY n) || ';' AS sql FROM tap_lint.corpus;
SELECT is((SELECT tap_lint.lint_error(sql) FROM tap_lint.whole), NULL,
		  'lint never fails on the whole corpus as one text');

CREATE TABLE tap_lint.findings AS
SELECT l.* FROM tap_lint.whole w, migrate.lint(w.sql) l;
SELECT cmp_ok((SELECT count(DISTINCT rule) FROM tap_lint.findings), '>=', 15::bigint,
			  'the corpus makes at least 15 different rules fire');
SELECT is_empty($$SELECT f.* FROM tap_lint.findings f
				  LEFT JOIN migrate.lint_rules() r ON r.rule = f.rule
				  WHERE r.rule IS NULL OR r.severity <> f.severity OR f.hint IS NULL
					 OR f.message IS NULL OR f.message !~ '^[a-zA-Z]'$$,
				'every finding names a known rule with its severity, a message and a hint');
SELECT is_empty($$SELECT f.* FROM tap_lint.findings f, tap_lint.whole w
				  WHERE f.statement < 1
					 OR f.statement > (SELECT count(*) FROM tap_lint.corpus) + 1
					 OR f.line < 1
					 OR f.line > array_length(string_to_array(w.sql, E'\n'), 1)$$,
				'every finding has a statement and a line inside the text');
SELECT is_empty($$SELECT * FROM tap_lint.findings
				  WHERE (table_name IS NULL) <> (estimated_rows IS NULL)
					 OR (waived AND waiver_reason IS NULL) OR (NOT waived AND waiver_reason IS NOT NULL)$$,
				'table and estimate come together; a reason comes with every waived finding');
SELECT is_empty($$SELECT * FROM tap_lint.findings WHERE estimated_rows < 0$$,
				'estimates are never negative');

/* lint changes nothing: the same relations, columns and constraints */
CREATE TABLE tap_lint.before AS
SELECT c.oid, c.relname, c.relfilenode, (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid AND NOT a.attisdropped) AS cols,
	   (SELECT count(*) FROM pg_constraint k WHERE k.conrelid = c.oid) AS cons
FROM pg_class c WHERE c.relnamespace = 'tap_lint'::regnamespace AND c.relname IN ('orders', 'customers');
CREATE TABLE tap_lint.again AS SELECT l.* FROM tap_lint.whole w, migrate.lint(w.sql) l;
SELECT set_eq($$SELECT c.oid, c.relname, c.relfilenode, (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid AND NOT a.attisdropped) AS cols,
					   (SELECT count(*) FROM pg_constraint k WHERE k.conrelid = c.oid) AS cons
				FROM pg_class c WHERE c.relnamespace = 'tap_lint'::regnamespace AND c.relname IN ('orders', 'customers')$$,
			  $$SELECT * FROM tap_lint.before$$,
			  'lint of the whole corpus changes no table');
SELECT is((SELECT count(*) FROM tap_lint.orders), 500::bigint, 'lint runs none of the SQL it reads');

/* ------------------------------------------------------------ lines */

SELECT is_empty($$
	SELECT c.n FROM tap_lint.corpus c, generate_series(1, 3) k
	WHERE (SELECT coalesce(array_agg(l.line - k ORDER BY l.rule, l.statement), '{}')
		   FROM migrate.lint(repeat(E'\n', k) || c.sql) l)
	   <> (SELECT coalesce(array_agg(l.line ORDER BY l.rule, l.statement), '{}')
		   FROM migrate.lint(c.sql) l)$$,
	'k blank lines before the text move every finding k lines down');

/* ------------------------------------------------------------ waivers */

/*
 * For each statement of the corpus with findings, and for each rule among
 * them: the same statement with a waiver (with a reason) on the line above
 * waives exactly the findings of that rule; without a reason, it waives
 * nothing and adds one bad-waiver finding.
 */
CREATE TABLE tap_lint.per_stmt AS
SELECT DISTINCT c.n, c.sql, l.rule
FROM tap_lint.corpus c, migrate.lint(c.sql) l
WHERE l.rule <> 'bad-waiver' AND NOT l.waived;

SELECT cmp_ok((SELECT count(*) FROM tap_lint.per_stmt), '>=', 50::bigint,
			  'at least 50 statement-rule pairs to waive');
SELECT is_empty($$
	SELECT p.n, p.rule FROM tap_lint.per_stmt p
	WHERE (SELECT array_agg(l.rule || ':' || l.waived ORDER BY l.rule, l.waived)
		   FROM migrate.lint(E'-- pg_migrate:allow ' || p.rule || E' reviewed\n' || p.sql) l)
	   IS DISTINCT FROM
		  (SELECT array_agg(l.rule || ':' || (l.rule = p.rule) ORDER BY l.rule, l.rule = p.rule)
		   FROM migrate.lint(p.sql) l)$$,
	'a waiver with a reason waives exactly its rule on its statement');
SELECT is_empty($$
	SELECT p.n, p.rule FROM tap_lint.per_stmt p
	WHERE (SELECT count(*) FILTER (WHERE l.rule = p.rule AND l.waived) FROM migrate.lint(p.sql || ' -- pg_migrate:allow ' || p.rule || ' reviewed') l) = 0$$,
	'a waiver at the end of the line waives its rule');
SELECT is_empty($$
	SELECT p.n, p.rule FROM tap_lint.per_stmt p
	WHERE (SELECT count(*) FILTER (WHERE l.waived) FROM migrate.lint(E'-- pg_migrate:allow ' || p.rule || E'\n' || p.sql) l) <> 0
	   OR (SELECT count(*) FILTER (WHERE l.rule = 'bad-waiver') FROM migrate.lint(E'-- pg_migrate:allow ' || p.rule || E'\n' || p.sql) l) <> 1$$,
	'a waiver without a reason waives nothing and is one bad-waiver finding');

/* ------------------------------------------------------------ weighing */

/*
 * Tables of random sizes (analyzed, so the estimate is exact); each rule
 * on a table fires iff the rows reach pg_migrate.lint_min_rows.
 */
DO $$ BEGIN PERFORM setseed(0.42); END $$;
CREATE TABLE tap_lint.sizes AS
SELECT i, (random() * 3000)::int AS rows, (random() * 3000)::int AS min_rows
FROM generate_series(1, 12) i;
DO $$
DECLARE
	s record;
BEGIN
	FOR s IN SELECT * FROM tap_lint.sizes LOOP
		EXECUTE format('CREATE TABLE tap_lint.w%s (id int, v text)', s.i);
		EXECUTE format('INSERT INTO tap_lint.w%s SELECT g, ''v'' FROM generate_series(1, %s) g', s.i, s.rows);
		EXECUTE format('ANALYZE tap_lint.w%s', s.i);
	END LOOP;
END $$;
CREATE FUNCTION tap_lint.fires(i int, min_rows int, stmt text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	PERFORM set_config('pg_migrate.lint_min_rows', min_rows::text, true);
	SELECT count(*) INTO n FROM migrate.lint(format(stmt, 'tap_lint.w' || i)) l WHERE l.rule <> 'missing-lock-timeout';
	PERFORM set_config('pg_migrate.lint_min_rows', '0', true);
	RETURN n > 0;
END $$;
SELECT is_empty($$
	SELECT s.*, x.stmt FROM tap_lint.sizes s,
		(VALUES ('CREATE INDEX ON %s (v)'), ('ALTER TABLE %s DROP COLUMN v'),
				('ALTER TABLE %s ALTER COLUMN id TYPE bigint'), ('LOCK TABLE %s'),
				('ALTER TABLE %s RENAME TO renamed'), ('DROP TABLE %s'),
				('VACUUM FULL %s'), ('ALTER TABLE %s ALTER COLUMN v SET NOT NULL')) AS x(stmt)
	WHERE tap_lint.fires(s.i, s.min_rows, x.stmt) <> (s.rows >= s.min_rows)$$,
	'on tables of random size, a finding exactly when the rows reach pg_migrate.lint_min_rows');
SELECT is((SELECT estimated_rows FROM migrate.lint('CREATE INDEX ON tap_lint.w1 (v)')),
		  (SELECT rows::bigint FROM tap_lint.sizes WHERE i = 1),
		  'the estimate of an analyzed table is its row count');

/* ------------------------------------------------------------ rewrites */

/*
 * For each change: lint says it rewrites (a column-type-change or
 * volatile-default finding) exactly when PostgreSQL, running it, gives the
 * table a new relfilenode.
 */
CREATE TABLE tap_lint.rw_cases (n serial, stmt text);
INSERT INTO tap_lint.rw_cases (stmt) VALUES
	('ALTER TABLE tap_lint.rw ALTER COLUMN vc TYPE varchar(20)'),
	('ALTER TABLE tap_lint.rw ALTER COLUMN vc TYPE varchar(5)'),
	('ALTER TABLE tap_lint.rw ALTER COLUMN vc TYPE text'),
	('ALTER TABLE tap_lint.rw ALTER COLUMN t TYPE varchar(100)'),
	('ALTER TABLE tap_lint.rw ALTER COLUMN t TYPE varchar'),
	('ALTER TABLE tap_lint.rw ALTER COLUMN i TYPE bigint'),
	('ALTER TABLE tap_lint.rw ALTER COLUMN i TYPE int'),
	('ALTER TABLE tap_lint.rw ALTER COLUMN n TYPE numeric(10,2)'),
	('ALTER TABLE tap_lint.rw ALTER COLUMN n TYPE numeric(10,3)'),
	('ALTER TABLE tap_lint.rw ALTER COLUMN n TYPE numeric'),
	('ALTER TABLE tap_lint.rw ALTER COLUMN ts TYPE timestamptz'),
	('ALTER TABLE tap_lint.rw ALTER COLUMN tz TYPE timestamp'),
	('ALTER TABLE tap_lint.rw ALTER COLUMN ts TYPE timestamp(3)'),
	('ALTER TABLE tap_lint.rw ALTER COLUMN c TYPE inet'),
	('ALTER TABLE tap_lint.rw ALTER COLUMN vb TYPE varbit(20)'),
	('ALTER TABLE tap_lint.rw ALTER COLUMN i TYPE text USING i::text'),
	('ALTER TABLE tap_lint.rw ALTER COLUMN vc TYPE text USING vc::text'),
	('ALTER TABLE tap_lint.rw ALTER COLUMN i TYPE tap_lint.posint'),
	('ALTER TABLE tap_lint.rw ALTER COLUMN i TYPE tap_lint.anyint'),
	('ALTER TABLE tap_lint.rw ALTER COLUMN j TYPE jsonb'),
	('ALTER TABLE tap_lint.rw ADD COLUMN x int DEFAULT 1'),
	('ALTER TABLE tap_lint.rw ADD COLUMN x timestamptz DEFAULT now()'),
	('ALTER TABLE tap_lint.rw ADD COLUMN x timestamptz DEFAULT clock_timestamp()'),
	('ALTER TABLE tap_lint.rw ADD COLUMN x float DEFAULT random()'),
	('ALTER TABLE tap_lint.rw ADD COLUMN x uuid DEFAULT gen_random_uuid()'),
	('ALTER TABLE tap_lint.rw ADD COLUMN x text DEFAULT current_user'),
	('ALTER TABLE tap_lint.rw ADD COLUMN x int DEFAULT 1 + 2'),
	('ALTER TABLE tap_lint.rw ADD COLUMN x bigserial'),
	('ALTER TABLE tap_lint.rw ADD COLUMN x int GENERATED BY DEFAULT AS IDENTITY'),
	('ALTER TABLE tap_lint.rw ADD COLUMN x int GENERATED ALWAYS AS (i + 1) STORED'),
	('ALTER TABLE tap_lint.rw ADD COLUMN x tap_lint.posint'),
	('ALTER TABLE tap_lint.rw ADD COLUMN x tap_lint.anyint'),
	('ALTER TABLE tap_lint.rw ADD COLUMN x tap_lint.posint DEFAULT 5'),
	('ALTER TABLE tap_lint.rw ADD COLUMN x text'),
	('ALTER TABLE tap_lint.rw ADD COLUMN x int[] DEFAULT ARRAY[1,2]'),
	('ALTER TABLE tap_lint.rw ADD COLUMN x date DEFAULT current_date'),
	('ALTER TABLE tap_lint.rw ADD COLUMN x int DEFAULT nextval(''tap_lint.seq'')'),
	('ALTER TABLE tap_lint.rw ADD COLUMN x text DEFAULT md5(random()::text)'),
	('ALTER TABLE tap_lint.rw ADD COLUMN x text DEFAULT upper(''abc'')');
CREATE DOMAIN tap_lint.anyint AS int;

CREATE FUNCTION tap_lint.rewrite_check(stmt text, OUT lint_says boolean, OUT rewrote boolean)
LANGUAGE plpgsql SET client_min_messages = warning AS $$
DECLARE
	before oid;
BEGIN
	DROP TABLE IF EXISTS tap_lint.rw;
	CREATE TABLE tap_lint.rw (i int, vc varchar(10), t text, n numeric(8,2), ts timestamp,
							  tz timestamptz, c cidr, vb varbit(10), j json);
	INSERT INTO tap_lint.rw VALUES (1, 'a', 'b', 1, '2024-01-01', '2024-01-01', '10.0.0.0/8', B'101', '{}');
	SELECT count(*) > 0 INTO lint_says FROM migrate.lint(stmt) l
	WHERE l.rule IN ('column-type-change', 'volatile-default');
	SELECT relfilenode INTO before FROM pg_class WHERE oid = 'tap_lint.rw'::regclass;
	EXECUTE stmt;
	SELECT relfilenode <> before INTO rewrote FROM pg_class WHERE oid = 'tap_lint.rw'::regclass;
END $$;

SELECT is(r.lint_says, r.rewrote, 'rewrite iff lint says so: ' || c.stmt)
FROM tap_lint.rw_cases c, LATERAL tap_lint.rewrite_check(c.stmt) r ORDER BY c.n;

SELECT * FROM finish();
ROLLBACK;
