#!/usr/bin/python3
"""test/fuzz/sql_random.py: random and hostile calls of every function and
procedure of schema migrate, against a live server.

The functions are read from pg_proc (schema migrate) with their argument
names, types, modes and defaults, so new functions are picked up without a
change here.  Each call gets random arguments, mostly well-formed (ids and
labels of the registered graph, targets of the grammar, revision SQL) and
often hostile: NULL, empty, 1 MB strings, odd Unicode, negative and huge
numbers, arrays with NULL elements, empty, two-dimensional or with odd
bounds, SQL-injection-like text, dollar quotes, and valid and invalid
revision SQL (which goes through the SQL splitter, src/sqlsplit.c, when it
is registered and run).  Calls are made as the superuser, as a role granted
EXECUTE on everything (a migrator) and as a role granted nothing, each in
a transaction of their own (some two or three in one), committed or rolled
back at random; procedures are
also called outside a transaction block.

Before some calls one of the pg_migrate.* settings (read from pg_settings,
so new ones are picked up too) is set to a random value, in or out of its
range.  Now and then an offline script from upgrade_sql() or downgrade_sql() is run
as written, or edited carelessly (a step dropped, recorded twice, swapped,
the order reversed).

The run is split into epochs, each in a fresh database cloned from a
template holding a small graph with branches, labels, a merge, a
cross-branch dependency and an irreversible revision, part of it applied.
After each epoch migrate.validate() and direct checks of the catalog must
show no corruption.

The run fails (exit status 1) when
  - the server crashed: a connection broke, the sentinel session opened at
    the start died, the postmaster's pid or start time changed, or the
    server log (--log) has "terminated by signal", PANIC or TRAP lines;
  - a call raised an internal error (SQLSTATE class XX);
  - a call left a resource-leak WARNING (relcache, plancache, snapshot,
    buffer, TupleDesc, ... reference leak);
  - the catalog is corrupt after an epoch.
It prints the number of calls per SQLSTATE and per function, and ends with
"N calls, C crashes, I internal errors".

Connection settings come from the PG* environment (PGHOST, PGPORT, PGUSER
as a superuser).  Run "sql_random.py --help" for the options.
"""

import argparse
import collections
import json
import os
import random
import re
import sys
import time

import psycopg2
import psycopg2.errorcodes
import psycopg2.extensions

TEMPLATE_DB = "pgm_fuzz_template"
MIGRATOR = "pgm_fuzz_migrator"
READER = "pgm_fuzz_reader"

# PostgreSQL's warnings for resources a function failed to release.
LEAK_WARNING = re.compile(
    r"WARNING:.*(leak|still referenced|not closed|was not released|"
    r"snapshot .* still active|you don't own a lock)", re.I)

SERVER_CRASH = re.compile(
    r"(terminated by signal|was terminated by exception|PANIC:|TRAP:|"
    r"terminating any other active server processes|all server processes terminated)")

# ---------------------------------------------------------------------------
# The graph every epoch starts from
# ---------------------------------------------------------------------------

BASELINE_SQL = r"""
SELECT migrate.revision(id => 'fz_base', down_revision => '{}', message => 'base',
    upgrade => 'CREATE TABLE IF NOT EXISTS public.fz_t1 (id int PRIMARY KEY)',
    downgrade => 'DROP TABLE IF EXISTS public.fz_t1 CASCADE');
SELECT migrate.revision(id => 'fz_a1', down_revision => '{fz_base}', branch_labels => '{alpha}',
    upgrade => 'ALTER TABLE public.fz_t1 ADD COLUMN IF NOT EXISTS a int',
    downgrade => 'ALTER TABLE public.fz_t1 DROP COLUMN IF EXISTS a');
SELECT migrate.revision(id => 'fz_a2', down_revision => '{fz_a1}', message => 'index on a',
    upgrade => 'CREATE INDEX IF NOT EXISTS fz_t1_a ON public.fz_t1 (a)',
    downgrade => 'DROP INDEX IF EXISTS public.fz_t1_a');
SELECT migrate.revision(id => 'fz_b1', down_revision => '{fz_base}', branch_labels => '{beta}',
    upgrade => 'CREATE TABLE IF NOT EXISTS public.fz_t2 (id int, note text)',
    downgrade => 'DROP TABLE IF EXISTS public.fz_t2', verify => 'SELECT true');
SELECT migrate.revision(id => 'fz_b2', down_revision => '{fz_b1}',
    upgrade => $$INSERT INTO public.fz_t2 VALUES (1, 'dollar $x$ quoted')$$,
    downgrade => 'DELETE FROM public.fz_t2');
SELECT migrate.merge(ARRAY['fz_a2', 'fz_b2'], message => 'join alpha and beta', id => 'fz_m1');
SELECT migrate.revision(id => 'fz_g1', down_revision => '{}', branch_labels => '{gamma}',
    upgrade => 'CREATE TABLE IF NOT EXISTS public.fz_t3 (id int)',
    downgrade => 'DROP TABLE IF EXISTS public.fz_t3');
SELECT migrate.revision(id => 'fz_m2', down_revision => '{fz_m1}', depends_on => '{gamma}',
    upgrade => 'ALTER TABLE public.fz_t3 ADD COLUMN IF NOT EXISTS t1_id int',
    downgrade => 'ALTER TABLE public.fz_t3 DROP COLUMN IF EXISTS t1_id');
SELECT migrate.revision(id => 'fz_side', down_revision => '{}', branch_labels => '{side}',
    upgrade => 'CREATE TABLE IF NOT EXISTS public.fz_side (x int)', message => 'irreversible');
SELECT count(*) FROM migrate.upgrade('fz_m1');
SELECT count(*) FROM migrate.upgrade('side@head');
"""

# ---------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------

ODD_UNICODE = [
    "\ufeff", "\u200b", "\u202e", "\u0301", "\uffff", "\ufffe", "\U0010ffff",
    "\U0001f4a9", "\u00df", "\u0130", "\u0131", "\u01c5", "\uff11\uff12",
    "\u0661\u0662", "\u2028", "\u00a0", "\u0000"[:0], "\u00e9", "e\u0301",
    "\u30c6\u30b9\u30c8", "\U0001d7d8", "\u2126", "\u212a",
]

INJECTION = [
    "'; DROP TABLE migrate.applied; --",
    "x'); DELETE FROM migrate.revisions; --",
    "\"; DROP SCHEMA migrate CASCADE; --",
    "$$; DROP TABLE migrate.events; $$",
    "$x$ $y$ $x$",
    "1 OR 1=1",
    "' OR '1'='1",
    "head; SELECT pg_sleep(10)",
    "%s%s%s%n%n",
    "\\x00\\\\'\\'",
    "E'\\''",
    "U&'\\0041'",
    "\\i /etc/passwd",
    "\\! id",
    "/*", "*/", "--", "$$", "$", "''", "\"",
    "{}", "{NULL}", "{{a}}", "[1:2]={a,b}", "(", ")", ";",
    "pg_catalog.now()",
    "OPERATOR(pg_catalog.=)",
]

SQL_OK = [
    "SELECT 1",
    "SELECT true",
    "",
    "   ",
    "-- only a comment",
    "/* only a comment */",
    ";;;",
    "SELECT 1; SELECT 2;",
    "CREATE TABLE public.fz_new_{n} (id int)",
    "CREATE TABLE IF NOT EXISTS public.fz_new_{n} (id int, \"t\u00e9xt \u2603\" text)",
    "DROP TABLE IF EXISTS public.fz_new_{n}",
    "ALTER TABLE public.fz_t1 ADD COLUMN IF NOT EXISTS c_{n} int",
    "ALTER TABLE public.fz_t1 DROP COLUMN IF EXISTS c_{n}",
    "ALTER TABLE public.fz_t1 RENAME COLUMN c_{n} TO d_{n}",
    "CREATE INDEX ON public.fz_t1 (id)",
    "CREATE VIEW public.fz_v_{n} AS SELECT 1 AS x",
    "CREATE FUNCTION public.fz_f_{n}() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$",
    "CREATE FUNCTION public.fz_g_{n}() RETURNS text LANGUAGE plpgsql AS $body$ BEGIN RETURN $q$a$$b$q$; END $body$",
    "DO $$ BEGIN RAISE NOTICE 'hello %', 1; END $$",
    "INSERT INTO public.fz_t1 (id) VALUES ({n}) ON CONFLICT DO NOTHING",
    "COMMENT ON TABLE public.fz_t1 IS 'it''s a table'",
    "SET LOCAL work_mem = '1MB'",
    "SELECT pg_sleep(0.001)",
    "SELECT count(*) FROM generate_series(1, 10000)",
    "CREATE TYPE public.fz_e_{n} AS ENUM ('a', 'b')",
    "CREATE SCHEMA IF NOT EXISTS fz_s_{n}",
    "CREATE TABLE public.\"fz_\u2603_{n}\" (\"\u00e9\" int)",
]

# Revision SQL with the downgrade that undoes it.  Idempotent, so that a
# revision stamped away (stamp moves the state without running SQL) can run
# again instead of blocking every later upgrade with "already exists".
SQL_PAIRS = [
    ("CREATE TABLE IF NOT EXISTS public.fz_p_{n} (id int)", "DROP TABLE IF EXISTS public.fz_p_{n}"),
    ("ALTER TABLE public.fz_t1 ADD COLUMN IF NOT EXISTS p_{n} int",
     "ALTER TABLE public.fz_t1 DROP COLUMN IF EXISTS p_{n}"),
    ("CREATE INDEX IF NOT EXISTS fz_i_{n} ON public.fz_t1 (id)", "DROP INDEX IF EXISTS public.fz_i_{n}"),
    ("CREATE OR REPLACE VIEW public.fz_pv_{n} AS SELECT 1 AS x", "DROP VIEW IF EXISTS public.fz_pv_{n}"),
    ("SELECT 1", "SELECT 1"),
    ("CREATE SCHEMA IF NOT EXISTS fz_ps_{n}; CREATE TABLE IF NOT EXISTS fz_ps_{n}.t (x int)",
     "DROP SCHEMA IF EXISTS fz_ps_{n} CASCADE"),
    ("CREATE OR REPLACE FUNCTION public.fz_pf_{n}() RETURNS int LANGUAGE sql AS $$ SELECT {n} $$",
     "DROP FUNCTION IF EXISTS public.fz_pf_{n}()"),
]

SQL_BAD = [
    "SELEC 1",
    "CREATE TABLE (",
    "SELECT 1/0",
    "SELECT 'unterminated",
    "SELECT $$ unterminated",
    "SELECT $a$ x $b$",
    "DO $$ BEGIN RAISE EXCEPTION 'boom' USING ERRCODE = 'P0001'; END $$",
    "DO $$ BEGIN RAISE EXCEPTION 'internal?' USING ERRCODE = 'XX001'; END $$",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "SAVEPOINT s1",
    "RELEASE SAVEPOINT s1",
    "ROLLBACK TO SAVEPOINT s1",
    "START TRANSACTION ISOLATION LEVEL SERIALIZABLE",
    "PREPARE TRANSACTION 'fz'",
    "VACUUM public.fz_t1",
    "CREATE INDEX CONCURRENTLY ON public.fz_t1 (id)",
    "DROP INDEX CONCURRENTLY IF EXISTS public.fz_nothing",
    "REINDEX TABLE CONCURRENTLY public.fz_t1",
    "CREATE DATABASE fz_nested",
    "ALTER SYSTEM SET work_mem = '1MB'",
    "COPY public.fz_t1 FROM stdin;\n1\n\\.",
    "COPY public.fz_t1 TO stdout",
    "\\i /etc/passwd",
    "\\set x 1\nSELECT 1",
    "SELECT :'x'",
    "LISTEN fz",
    "NOTIFY fz",
    "SET search_path = evil, pg_catalog",
    "SET LOCAL search_path = ''",
    "SET ROLE postgres",
    "RESET ALL",
    "DISCARD ALL",
    "SELECT * FROM migrate.upgrade('heads')",
    "SELECT * FROM migrate.downgrade('base')",
    "SELECT * FROM migrate.stamp('base')",
    "SELECT migrate.revision(id => 'nested_reg', upgrade => 'SELECT 1')",
    "SELECT * FROM migrate.check_roundtrip()",
    "CREATE TABLE migrate.evil (x int)",
    "DROP TABLE migrate.applied",
    "UPDATE migrate.applied SET checksum = 'x'",
    "INSERT INTO migrate.revisions (id) VALUES ('x')",
    "TRUNCATE migrate.events",
    "SELECT (" * 200 + "1" + ")" * 200,
    "SELECT " + "(" * 20000 + "1" + ")" * 20000,
    "DO $$ BEGIN PERFORM repeat('x', 10000000); END $$",
    "CREATE FUNCTION public.fz_rec() RETURNS int LANGUAGE sql AS 'SELECT public.fz_rec()'; SELECT public.fz_rec()",
    "SELECT set_config('pg_migrate.current_revision', 'forged', true)",
    "SET LOCAL pg_migrate.drift = 'error'",
    "SET LOCAL statement_timeout = 1; SELECT pg_sleep(0.1)",
    "SET LOCAL lock_timeout = 1",
]

# Revision SQL the superuser must not get: it would damage the catalog
# legitimately (the owner may do that), which is not what is tested.
OWNER_UNSAFE = re.compile(
    r"(migrate\.(applied|revisions|events|evil|catalog_version|object_changes)|"
    r"DISCARD|ALTER SYSTEM|RESET ALL|SET search_path|SET ROLE|CREATE DATABASE)", re.I)


class Gen:
    """Random argument values, by argument name and type."""

    def __init__(self, rng):
        self.rng = rng
        self.hostility = 0.15   # chance that an argument is replaced by hostile text
        self.ids = []
        self.labels = []
        self.checksums = []
        self.objects = ["public.fz_t1", "public.fz_t1.a", "public.fz_t2", "public.fz_t3"]
        self.counter = 0
        self.next_downgrade = None
        self.big_arrays = [1000, 10000]
        self.checksum_of = {}
        self.last_rev = None    # the revision argument of the call being built

    def refresh(self, cur):
        cur.execute("SELECT id, checksum, branch_labels FROM migrate.revisions ORDER BY seq")
        rows = cur.fetchall()
        self.ids = [r[0] for r in rows]
        self.checksums = [r[1] for r in rows]
        self.checksum_of = {r[0]: r[1] for r in rows}
        self.labels = sorted({lbl for r in rows for lbl in (r[2] or [])})
        cur.execute("SELECT DISTINCT object_identity FROM migrate.object_changes LIMIT 200")
        self.objects = [r[0] for r in cur.fetchall()] or self.objects

    def chance(self, p):
        return self.rng.random() < p

    def pick(self, seq):
        return self.rng.choice(seq)

    # -- generic hostile text ------------------------------------------
    def hostile_text(self):
        r = self.rng.random()
        if r < 0.10:
            return None
        if r < 0.18:
            return ""
        if r < 0.21:
            return self.pick(["x", "\u00e9", "'", "$$"]) * (1024 * 1024)
        if r < 0.24:
            return "a" * self.pick([63, 64, 65, 100, 1000, 70000])
        if r < 0.40:
            return "".join(self.pick(ODD_UNICODE) for _ in range(self.rng.randint(1, 8)))
        if r < 0.60:
            return self.pick(INJECTION)
        if r < 0.70:
            return self.pick(["-1", "0", "-2147483648", "2147483648", "99999999999999999999",
                              "1e308", "NaN", "-0", "+", "-", "@", ":", "@@", "::"])
        if r < 0.85:
            return "".join(chr(self.rng.randint(1, 0x7e)) for _ in range(self.rng.randint(1, 40)))
        return "".join(self.pick(ODD_UNICODE + ["a", "_", "1", "@", "+", "-", ":"])
                       for _ in range(self.rng.randint(1, 20)))

    # -- domain values ----------------------------------------------------
    def new_id(self):
        self.counter += 1
        return "fz_%s_%d" % (format(self.rng.getrandbits(24), "x"), self.counter)

    def rev_id(self):
        r = self.rng.random()
        if r < 0.55 and self.ids:
            return self.pick(self.ids)
        if r < 0.75:
            return self.new_id()
        if r < 0.80:
            return None
        if r < 0.85:
            return self.pick(["head", "heads", "base", "a-b", "a@b", "a:b", "a+1", "A" * 65, "A" * 64, "x y"])
        return self.hostile_text()

    def label(self):
        r = self.rng.random()
        if r < 0.5 and self.labels:
            return self.pick(self.labels)
        if r < 0.8:
            return "lbl_%d" % self.rng.randint(0, 20)
        return self.hostile_text()

    def target(self):
        r = self.rng.random()
        ids = self.ids or ["fz_base"]
        labels = self.labels or ["alpha"]
        n = self.pick([1, 1, 2, 3, 0, 10, 2147483647, 2147483648, 99999999999])
        forms = [
            lambda: "head", lambda: "heads", lambda: "base",
            lambda: self.pick(ids),
            lambda: self.pick(ids)[: self.rng.randint(1, 8)],
            lambda: "%s@head" % self.pick(labels),
            lambda: "%s@base" % self.pick(labels),
            lambda: "%s@head" % self.pick(ids),
            lambda: "+%d" % n, lambda: "-%d" % n,
            lambda: "%s+%d" % (self.pick(ids), n),
            lambda: "%s-%d" % (self.pick(ids), n),
            lambda: "%s@+%d" % (self.pick(labels), n),
            lambda: "%s@-%d" % (self.pick(labels), n),
            lambda: "head-%d" % n,
            lambda: "%s@%s" % (self.pick(labels), self.pick(ids)),
        ]
        if r < 0.8:
            return self.pick(forms)()
        if r < 0.9:
            return self.pick(forms)() + self.pick(["@", ":", "@@", "+", "-", "@head"]) + self.pick(forms)()
        return self.hostile_text()

    def history_range(self):
        if self.chance(0.2):
            return self.target()
        a = "" if self.chance(0.3) else self.target()
        b = "" if self.chance(0.3) else self.target()
        return "%s:%s" % (a, b)

    def revision_sql(self, owner):
        r = self.rng.random()
        if r < 0.08:
            return None
        if r < 0.10:
            return "SELECT 1;" * self.rng.randint(1000, 20000)
        if r < 0.12:
            return "/*" + "x" * (1024 * 1024) + "*/ SELECT 1"
        if r < 0.13:
            return "SELECT '" + "y" * (1024 * 1024) + "'"
        if r < 0.55:
            s = self.pick(SQL_OK)
        elif r < 0.85:
            s = self.pick(SQL_BAD)
        elif r < 0.92:
            s = "; ".join(self.pick(SQL_OK + SQL_BAD) for _ in range(self.rng.randint(2, 5)))
        else:
            s = self.hostile_text()
            if s is None:
                return None
        self.counter += 1
        s = s.replace("{n}", str(self.counter))
        if owner and OWNER_UNSAFE.search(s):
            return "SELECT 1"
        return s

    def checksum(self):
        r = self.rng.random()
        if r < 0.5 and self.last_rev in self.checksum_of:
            return self.checksum_of[self.last_rev]
        if r < 0.7 and self.checksums:
            return self.pick(self.checksums)
        if r < 0.8:
            return format(self.rng.getrandbits(256), "064x")
        return self.hostile_text()

    def text_array(self, elem):
        r = self.rng.random()
        if r < 0.08:
            return None
        if r < 0.16:
            return []
        if r < 0.22:
            return [None]
        if r < 0.28:
            return [elem(), None]
        if r < 0.33:
            return Literal("'{{a,b},{c,d}}'")
        if r < 0.36:
            return Literal("'[5:6]={fz_base,fz_a1}'")
        if r < 0.38:
            return Literal("'{}'::text[] || '{}'::text[]")
        if r < 0.40:
            return [elem() for _ in range(self.rng.choice(self.big_arrays))]
        if r < 0.45:
            x = elem()
            return [x, x]
        return [elem() for _ in range(self.rng.randint(1, 4))]

    # -- by name and type -------------------------------------------------
    def value(self, name, typ, owner):
        name = (name or "").lower()
        base = typ[:-2] if typ.endswith("[]") else typ
        if self.hostility == 0:
            return self.clean_value(name, typ, owner)
        if typ.endswith("[]"):
            if base not in ("text", "name", "character varying"):
                return self.scalar_array(base)
            if name in ("down_revision", "parents", "expected", "revisions"):
                return self.text_array(self.rev_id)
            if name in ("depends_on",):
                return self.text_array(lambda: self.label() if self.chance(0.3) else self.rev_id())
            if name in ("branch_labels", "labels"):
                return self.text_array(self.label)
            if name in ("targets",):
                return self.text_array(self.target)
            if name in ("schemas",):
                return self.text_array(lambda: self.pick(["public", "migrate", "pg_catalog", "nope", "fz_s_1"])
                                       if self.chance(0.7) else self.hostile_text())
            return self.text_array(self.hostile_text)
        if typ in ("text", "name", "character varying", "cstring"):
            if self.chance(self.hostility):
                return self.hostile_text()
            if name in ("id", "revision", "from_revision", "rev"):
                self.last_rev = self.rev_id()
                return self.last_rev
            if name in ("target",):
                return self.target()
            if name in ("range",):
                return self.history_range()
            if name in ("upgrade", "downgrade", "verify", "sql", "statement", "statements"):
                return self.revision_sql(owner)
            if name in ("direction", "operation", "mode"):
                return self.pick(["upgrade", "downgrade", "UPGRADE", "", "sideways", None])
            if name == "checksum":
                return self.checksum()
            if name == "object":
                return self.pick(self.objects + ["public.nope", "fz_t1", "public.fz_t1.(", "_"])
            if name in ("message", "reason", "detail"):
                return self.pick(["a message", "", None, "r\u00e9vision \u2603", "x" * 5000])
            if name in ("relation", "table", "tablename"):
                return self.pick(["public.fz_t1", "fz_t2", "migrate.revisions", "public.nope", None])
            return self.hostile_text()
        if typ == "boolean":
            return self.pick([True, False, None])
        if typ in ("integer", "smallint", "bigint", "numeric", "double precision", "real"):
            return self.pick([None, 0, 1, 2, -1, 10, 1000, -2147483648, 2147483647,
                              9223372036854775807, -9223372036854775808, 2 ** 70, 0.5, -0.5]
                             if typ in ("numeric", "double precision", "real") else
                             [None, 0, 1, 2, -1, 10, 1000, 100000, -2147483648, 2147483647, 32767, -32768]
                             + ([9223372036854775807, -9223372036854775808] if typ == "bigint" else []))
        if typ == "interval":
            return self.pick([None, "0", "1 second", "-1 second", "1 millisecond", "10 ms",
                              "1000000 years", "-1 day", "P1D", "forever"])
        if typ in ("regclass", "oid", "regproc", "regprocedure"):
            return self.pick([None, "public.fz_t1", "fz_t2", "migrate.revisions", "pg_class",
                              "public.nope", "0", "-1"])
        if typ in ("json", "jsonb"):
            return self.pick([None, "{}", "[]", "null", "{\"a\": 1}", "{", "\"x\""])
        if typ in ("timestamp with time zone", "timestamp without time zone", "date"):
            return self.pick([None, "now", "infinity", "-infinity", "2000-01-01", "yesterday", "x"])
        return self.hostile_text()

    def clean_value(self, name, typ, owner):
        """A well-formed value, as a careful user would pass."""
        if typ.endswith("[]"):
            if name in ("down_revision", "parents", "expected", "revisions"):
                ids = self.ids or ["fz_base"]
                return self.rng.sample(ids, min(len(ids), self.pick([0, 1, 1, 1, 2])))
            if name in ("depends_on",):
                return self.pick([[], [], [self.pick(self.labels or ["alpha"])],
                                  [self.pick(self.ids or ["fz_base"])]])
            if name in ("branch_labels", "labels"):
                return self.pick([[], [], ["lbl_%d" % self.rng.randint(0, 50)]])
            if name in ("targets",):
                return [self.target_clean() for _ in range(self.rng.randint(1, 3))]
            if name in ("schemas",):
                return self.pick([None, ["public"], ["public", "fz_s_1"]])
            return self.pick([None, []])
        if name in ("id", "revision", "from_revision", "rev"):
            if self.chance(0.5) and self.ids:
                self.last_rev = self.pick(self.ids)
            else:
                self.last_rev = self.new_id() if name == "id" else None
            return self.last_rev
        if name == "target":
            return self.target_clean()
        if name == "range":
            return self.pick([None, "%s:" % self.target_clean(), ":%s" % self.target_clean(),
                              "%s:%s" % (self.pick(self.ids or ["fz_base"]), self.target_clean())])
        if name == "upgrade" and self.chance(0.7):
            # a reversible pair; the downgrade argument comes next
            self.counter += 1
            up, down = self.pick(SQL_PAIRS)
            self.next_downgrade = down.replace("{n}", str(self.counter))
            return up.replace("{n}", str(self.counter))
        if name == "downgrade" and self.next_downgrade is not None:
            s, self.next_downgrade = self.next_downgrade, None
            return s
        if name in ("upgrade", "downgrade", "verify", "sql", "statement", "statements"):
            self.counter += 1
            s = self.pick(SQL_OK).replace("{n}", str(self.counter))
            return None if name != "upgrade" and self.chance(0.3) else s
        if name in ("direction", "operation", "mode"):
            return self.pick(["upgrade", "downgrade"])
        if name == "checksum":
            return self.checksum_of.get(self.last_rev) or (self.pick(self.checksums) if self.checksums else None)
        if name == "object":
            return self.pick(self.objects)
        if name in ("message", "reason", "detail"):
            return self.pick(["a message", "r\u00e9vision \u2603", None])
        if typ == "boolean":
            return self.pick([True, False])
        if typ in ("integer", "smallint", "bigint"):
            return self.pick([1, 2, 10, 100, 1000])
        if typ in ("numeric", "double precision", "real"):
            return self.pick([0.1, 1, 2.5])
        if typ == "interval":
            return self.pick(["10 ms", "1 second", "0"])
        hostility, self.hostility = self.hostility, 0.15
        try:
            return self.value(name, typ, owner)
        finally:
            self.hostility = hostility

    def target_clean(self):
        ids = self.ids or ["fz_base"]
        labels = self.labels or ["alpha"]
        return self.pick(["head", "heads", "base", self.pick(ids), self.pick(ids)[:6],
                          "%s@head" % self.pick(labels), "%s@base" % self.pick(labels),
                          "+1", "-1", "%s@+1" % self.pick(labels), "%s@-1" % self.pick(labels),
                          "%s+1" % self.pick(ids), "%s-1" % self.pick(ids)])

    def scalar_array(self, base):
        return self.pick([None, [], [None], [1, None], [0], [-1, 2147483647]]) \
            if base in ("integer", "bigint", "smallint") else None


class Literal:
    """A value spelled out in SQL (arrays psycopg2 cannot write)."""

    def __init__(self, sql):
        self.sql = sql


def describe_value(v):
    if isinstance(v, Literal):
        return v.sql
    if isinstance(v, str) and len(v) > 80:
        return "%r... (%d chars)" % (v[:40], len(v))
    if isinstance(v, list) and len(v) > 6:
        return "[%s ...] (%d elements)" % (", ".join(describe_value(x) for x in v[:3]), len(v))
    if isinstance(v, list):
        return "[%s]" % ", ".join(describe_value(x) for x in v)
    return repr(v)


# ---------------------------------------------------------------------------
# The functions of schema migrate
# ---------------------------------------------------------------------------

class Routine:
    def __init__(self, row):
        (self.oid, self.signature, self.name, self.kind, self.rettype, self.retset,
         argtypes, argnames, argmodes, self.ndefaults) = row
        argnames = argnames or []
        argmodes = argmodes or ["i"] * len(argtypes)
        self.args = []          # (name, type, mode) of every argument
        for i, t in enumerate(argtypes):
            self.args.append((argnames[i] if i < len(argnames) else None, t, argmodes[i]))
        self.inputs = [a for a in self.args if a[2] in ("i", "b", "v")]
        self.skip = None
        if self.rettype in ("trigger", "event_trigger"):
            self.skip = "returns %s: only the trigger machinery may call it (called once directly, which must fail cleanly)" % self.rettype
        elif any(t == "internal" for _, t, _ in self.args):
            self.skip = "takes an argument of type internal, which SQL cannot pass"

    def is_write(self):
        return self.name in ("revision", "merge", "stamp", "upgrade", "downgrade", "repair",
                             "deploy", "backfill")


def load_routines(cur):
    cur.execute("""
        SELECT p.oid, p.oid::regprocedure::text, p.proname, p.prokind,
               format_type(p.prorettype, NULL), p.proretset,
               ARRAY(SELECT format_type(t, NULL)
                       FROM unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) WITH ORDINALITY u(t, o)
                      ORDER BY o),
               p.proargnames, p.proargmodes::text[], p.pronargdefaults
          FROM pg_catalog.pg_proc p
          JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = 'migrate'
         ORDER BY p.proname, p.oid""")
    return [Routine(r) for r in cur.fetchall()]


def load_settings(cur):
    """The pg_migrate.* settings (the library is loaded first), with what
    values they take."""
    cur.execute("SELECT count(*) FROM migrate.status()")
    cur.execute("""
        SELECT name, vartype, min_val, max_val, enumvals
          FROM pg_catalog.pg_settings
         WHERE name LIKE 'pg\\_migrate.%' AND context IN ('user', 'superuser')
         ORDER BY name""")
    return cur.fetchall()


def setting_value(rng, vartype, min_val, max_val, enumvals):
    """A value for a setting: mostly valid, sometimes out of range."""
    if vartype == "bool":
        return rng.choice(["on", "off", "true", "0", "maybe"])
    if vartype in ("integer", "real"):
        lo = float(min_val) if min_val is not None else -1e6
        hi = float(max_val) if max_val is not None else 1e6
        lo, hi = max(lo, -1e9), min(hi, 1e9)
        choices = [lo, hi, 0, 1, 10, 100, 1000, lo - 1, hi + 1]
        v = rng.choice([c for c in choices if c == c] + [rng.uniform(lo, hi)])
        return str(int(v)) if vartype == "integer" else repr(v)
    if vartype == "enum":
        return rng.choice(list(enumvals or []) + ["bogus"])
    return rng.choice(["", "public", "public, fz_s_1", "\"odd name\"", "x" * 300, "a,,b"])


def build_call(routine, gen, owner):
    """The SQL text and parameters of one random call."""
    params = []
    pieces = []

    def place(value, typ, variadic=False):
        prefix = "VARIADIC " if variadic else ""
        if isinstance(value, Literal):
            return "%s%s::%s" % (prefix, value.sql, typ)
        params.append(value)
        return "%s%%s::%s" % (prefix, typ)

    ninputs = len(routine.inputs)
    first_default = ninputs - (routine.ndefaults or 0)
    style = gen.rng.random()
    if routine.kind == "p":
        # procedures: positional, OUT arguments given as NULL
        nlast = ninputs if style < 0.5 else gen.rng.randint(first_default, ninputs)
        seen_inputs = 0
        for name, typ, mode in routine.args:
            if mode in ("i", "b", "v"):
                if seen_inputs >= nlast:
                    break
                seen_inputs += 1
                pieces.append(place(gen.value(name, typ, owner), typ, mode == "v"))
            else:
                pieces.append("NULL::%s" % typ)
        return "CALL migrate.%s(%s)" % (routine.name, ", ".join(pieces)), params
    if style < 0.45 or any(n is None for n, _, _ in routine.inputs):
        # positional, trailing defaults dropped at random
        nlast = ninputs if style < 0.25 else gen.rng.randint(max(first_default, 0), ninputs)
        for name, typ, mode in routine.inputs[:nlast]:
            pieces.append(place(gen.value(name, typ, owner), typ, mode == "v"))
    else:
        # named: required arguments, and a random subset of the others
        for i, (name, typ, mode) in enumerate(routine.inputs):
            # a well-formed call keeps what is required in practice
            if i >= first_default and gen.chance(0.4) and \
                    not (gen.hostility == 0 and name in ("upgrade", "target")):
                continue
            pieces.append('"%s" => %s' % (name.replace('"', '""'), place(gen.value(name, typ, owner), typ)))
    if routine.retset or routine.rettype == "record":
        sql = "SELECT * FROM migrate.%s(%s)" % (routine.name, ", ".join(pieces))
    else:
        sql = "SELECT migrate.%s(%s)" % (routine.name, ", ".join(pieces))
    return sql, params


# ---------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------

class Tester:
    def __init__(self, opts):
        self.opts = opts
        self.rng = random.Random(opts.seed)
        self.gen = Gen(self.rng)
        if opts.quick:
            self.gen.big_arrays = [100, 1000]
        self.by_state = collections.Counter()
        self.by_routine = collections.defaultdict(collections.Counter)
        self.slowest = collections.defaultdict(float)
        self.slowest_call = {}
        self.crashes = []
        self.internal = []
        self.leaks = []
        self.warnings = collections.Counter()
        self.corruption = []
        self.calls = 0
        self.healed = 0
        self.suspicious = []
        self.settings = []
        self.password = "%032x" % random.SystemRandom().getrandbits(128)
        self.failures_file = opts.failures

    # -- connections ------------------------------------------------------
    def connect(self, dbname, user=None):
        kw = {"dbname": dbname, "application_name": "pgm_sql_random"}
        if user:
            # the test roles log in with a password of this run
            kw["user"] = user
            kw["password"] = self.password
        conn = psycopg2.connect(**kw)
        conn.autocommit = True
        return conn

    def admin(self):
        return self.connect("postgres")

    def server_identity(self, conn):
        cur = conn.cursor()
        cur.execute("SELECT pg_postmaster_start_time(), "
                    "split_part(pg_read_file('postmaster.pid'), E'\\n', 1)")
        return cur.fetchone()

    # -- setup --------------------------------------------------------------
    def setup_template(self, conn):
        cur = conn.cursor()
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (TEMPLATE_DB,))
        if cur.fetchone():
            cur.execute("DROP DATABASE %s" % TEMPLATE_DB)
        for role in (MIGRATOR, READER):
            cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
            if not cur.fetchone():
                cur.execute("CREATE ROLE %s LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE" % role)
            cur.execute("ALTER ROLE %s PASSWORD %%s" % role, (self.password,))
        cur.execute("CREATE DATABASE %s" % TEMPLATE_DB)
        t = self.connect(TEMPLATE_DB)
        tc = t.cursor()
        tc.execute("SET client_min_messages = warning")
        tc.execute("CREATE EXTENSION pg_migrate")
        cur.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pgtap'")
        self.have_pgtap = cur.fetchone() is not None
        if self.have_pgtap:
            tc.execute("CREATE EXTENSION pgtap")
        tc.execute("GRANT CREATE, USAGE ON SCHEMA public TO %s, %s" % (MIGRATOR, READER))
        tc.execute("GRANT EXECUTE ON ALL ROUTINES IN SCHEMA migrate TO %s" % MIGRATOR)
        tc.execute(BASELINE_SQL)
        tc.execute("ALTER TABLE public.fz_t1 OWNER TO %s" % MIGRATOR)
        tc.execute("ALTER TABLE public.fz_t2 OWNER TO %s" % MIGRATOR)
        t.close()

    # -- one call -----------------------------------------------------------
    def record_failure(self, kind, info):
        if self.failures_file:
            with open(self.failures_file, "a") as f:
                f.write(json.dumps(dict(kind=kind, **info), default=str) + "\n")

    def prelude(self, routine):
        """What must come first in the transaction for the routine to get
        past its first check, given at random: an open offline script for
        the offline_* steps, a pgTAP plan for the tap_* helpers."""
        if routine.name in ("offline_verify", "offline_record") and self.rng.random() < 0.6:
            return ("SELECT migrate.offline_begin('upgrade', 'heads', "
                    "ARRAY(SELECT revision FROM migrate.current()))")
        if routine.name.startswith("tap_") and self.have_pgtap and self.rng.random() < 0.8:
            return "SELECT no_plan()"
        return None

    def call(self, conns, routine, epoch, chain=()):
        """One transaction: the routine, and the routines of chain after it
        while the calls succeed.  Returns the last state, "lost" when the
        connection broke."""
        role = self.rng.choices(["superuser", "migrator", "reader"], [0.2, 0.65, 0.15])[0]
        conn = conns[role]
        owner = role == "superuser"
        routines = [routine] + list(chain)
        outside = not chain and routine.kind == "p" and self.rng.random() < 0.6
        commit = self.rng.random() < 0.5
        state = "ok"
        lost = False
        if not outside:
            conn.autocommit = False
        for r in routines:
            self.gen.hostility = self.rng.choice([0.0, 0.0, 0.1, 0.3, 0.6])
            self.gen.next_downgrade = None
            self.gen.last_rev = None
            sql, params = build_call(r, self.gen, owner)
            prelude = None if outside else self.prelude(r)
            if self.settings and self.rng.random() < 0.2:
                name, vartype, lo, hi, enums = self.rng.choice(self.settings)
                setting = "SELECT pg_catalog.set_config(%s, %s, %s)" % (
                    psycopg2.extensions.adapt(name).getquoted().decode(),
                    psycopg2.extensions.adapt(setting_value(self.rng, vartype, lo, hi, enums)
                                              ).getquoted().decode(),
                    "false" if outside else "true")
                prelude = setting + ("; " + prelude if prelude else "")
            info = dict(epoch=epoch, call=self.calls, role=role, routine=r.signature,
                        prelude=prelude, sql=sql, args=[describe_value(p) for p in params],
                        outside_transaction=outside, transaction_calls=len(routines))
            msg = None
            started = time.monotonic()
            try:
                cur = conn.cursor()
                if prelude:
                    cur.execute(prelude)
                cur.execute(sql, params)
                if cur.description is not None:
                    cur.fetchall()
                state = "ok"
            except psycopg2.Error as e:
                if e.pgcode is None and (conn.closed or isinstance(e, (psycopg2.OperationalError,
                                                                       psycopg2.InterfaceError))):
                    state = "connection lost"
                    msg = str(e).strip()
                else:
                    state = e.pgcode or "client error"
                    msg = (e.pgerror or str(e)).strip()
                    context = getattr(e.diag, "context", None) or ""
                    # an integrity error out of pg_migrate's own bookkeeping
                    # query is not what a user should see
                    if state.startswith("23") and re.search(
                            r'SQL statement "[^"]*\bmigrate\.(applied|revisions|events|catalog_version)\b',
                            context):
                        self.suspicious.append(dict(info, sqlstate=state, error=msg,
                                                    context=context[:300]))
            elapsed = time.monotonic() - started
            self.calls += 1
            self.by_state[state] += 1
            self.by_routine[r.signature][state] += 1
            if elapsed > self.slowest[r.signature]:
                self.slowest[r.signature] = elapsed
                self.slowest_call[r.signature] = info["args"]
            self.check_notices(conn, info)
            if state == "connection lost":
                self.crashes.append(dict(info, error=msg))
                self.record_failure("crash", dict(info, error=msg))
                print("!! connection lost on call %d: %s %s" % (self.calls, r.signature,
                                                                info["args"]), flush=True)
                lost = True
                break
            if state.startswith("XX"):
                self.internal.append(dict(info, sqlstate=state, error=msg))
                self.record_failure("internal", dict(info, sqlstate=state, error=msg))
                print("!! internal error %s on call %d: %s %s\n   %s" % (state, self.calls, r.signature,
                                                                        info["args"], msg), flush=True)
            if state != "ok":
                break
        # end the transaction: committed or rolled back at random
        try:
            if not conn.closed and not outside:
                if commit and state == "ok":
                    conn.commit()
                else:
                    conn.rollback()
        except psycopg2.Error as e:
            if conn.closed:
                lost = True
                self.crashes.append(dict(info, error="connection lost at commit: %s" % e))
            elif (e.pgcode or "").startswith("XX"):
                self.internal.append(dict(info, sqlstate=e.pgcode, error="at commit: %s" % e))
            try:
                conn.rollback()
            except psycopg2.Error:
                pass
        if not conn.closed:
            conn.autocommit = True
            self.check_notices(conn, info)
        if lost or conn.closed:
            return "lost"
        # the session must be usable after every transaction; reset what
        # revision SQL may have changed in it
        try:
            cur = conn.cursor()
            cur.execute("DISCARD ALL")
            cur.execute("SET statement_timeout = '%ds'" % self.opts.statement_timeout)
            cur.execute("SET client_min_messages = warning")
            cur.execute("SELECT 1")
            cur.fetchall()
        except psycopg2.Error as e:
            self.crashes.append(dict(info, error="session unusable after the call: %s" % e))
            self.record_failure("crash", dict(info, error="session unusable: %s" % e))
            return "lost"
        return state

    def offline_script(self, conns, epoch):
        """An offline script from upgrade_sql() or downgrade_sql(), run as
        written or after an edit a careless user might make (a step dropped,
        a step recorded twice, two steps swapped, the order reversed), in
        one transaction.  Whatever the edit, the catalog must stay
        consistent (checked at the end of the epoch)."""
        role = self.rng.choice(["superuser", "migrator"])
        conn = conns[role]
        upgrade = self.rng.random() < 0.6
        target = self.gen.target_clean() if upgrade else self.rng.choice(
            ["base", "-1", self.gen.target_clean()])
        name = "(offline script%s)" % ("" if upgrade else ", downgrade")
        edit = self.rng.choice(["none", "none", "drop", "twice", "swap", "reverse"])
        info = dict(epoch=epoch, call=self.calls, role=role, routine=name,
                    target=target, edit=edit)
        state = "ok"
        conn.autocommit = False
        try:
            cur = conn.cursor()
            cur.execute("SELECT migrate.%s(%%s)" % ("upgrade_sql" if upgrade else "downgrade_sql"),
                        (target,))
            script = cur.fetchone()[0]
            conn.rollback()
            chunks = script.split("\n\n")
            records = [i for i, c in enumerate(chunks) if "migrate.offline_record(" in c]
            if edit == "drop" and len(chunks) > 2:
                del chunks[self.rng.randrange(1, len(chunks) - 1)]
            elif edit == "twice" and records:
                i = self.rng.choice(records)
                chunks.insert(i + 1, chunks[i])
            elif edit == "swap" and len(records) > 1:
                i, j = self.rng.sample(records, 2)
                chunks[i], chunks[j] = chunks[j], chunks[i]
            elif edit == "reverse" and len(chunks) > 2:
                chunks = chunks[:1] + chunks[1:-1][::-1] + chunks[-1:]
            cur.execute("\n\n".join(chunks))
            if self.rng.random() < 0.5:
                conn.commit()
            else:
                conn.rollback()
        except psycopg2.Error as e:
            state = e.pgcode or ("connection lost" if conn.closed else "client error")
            if state.startswith("XX"):
                self.internal.append(dict(info, sqlstate=state, error=(e.pgerror or str(e)).strip()))
                self.record_failure("internal", dict(info, sqlstate=state, error=str(e)))
            if state == "connection lost":
                self.crashes.append(dict(info, error=str(e)))
            try:
                if not conn.closed:
                    conn.rollback()
            except psycopg2.Error:
                pass
        if conn.closed:
            return "lost"
        conn.autocommit = True
        self.calls += 1
        self.by_state[state] += 1
        self.by_routine[name][state] += 1
        self.check_notices(conn, info)
        try:
            conn.cursor().execute("DISCARD ALL")
            conn.cursor().execute("SET statement_timeout = '%ds'" % self.opts.statement_timeout)
            conn.cursor().execute("SET client_min_messages = warning")
        except psycopg2.Error:
            return "lost"
        return state

    def check_notices(self, conn, info):
        """Count the warnings sent to the client; resource leaks are failures."""
        if conn.closed:
            return
        for line in conn.notices:
            if line.startswith("WARNING"):
                key = re.sub(r"\d+", "N", line.strip())[:120]
                self.warnings[key] += 1
                if LEAK_WARNING.search(line):
                    self.leaks.append(dict(info, warning=line.strip()))
                    self.record_failure("leak", dict(info, warning=line.strip()))
        del conn.notices[:]

    def heal(self, conn):
        """A revision may name a parent that is not registered yet, and
        until it is, the graph cannot be used: every call that needs it
        fails with 23503.  Now and then, register the missing revisions (as
        a deploy that loads revision files in any order would), so that the
        calls reach past the graph check again."""
        if self.rng.random() < 0.3:
            return
        cur = conn.cursor()
        cur.execute("""
            SELECT DISTINCT x FROM migrate.revisions r,
                   unnest(r.down_revision || r.depends_on) x
             WHERE NOT EXISTS (SELECT 1 FROM migrate.revisions y WHERE y.id = x)
               AND NOT EXISTS (SELECT 1 FROM migrate.revisions y WHERE x = ANY (y.branch_labels))
             ORDER BY 1 LIMIT 50""")
        for (name,) in cur.fetchall():
            try:
                cur.execute("SELECT migrate.revision(id => %s, down_revision => '{}', "
                            "upgrade => 'SELECT 1', message => 'registered late')", (name,))
                self.healed += 1
            except psycopg2.Error:
                pass

    # -- checks -------------------------------------------------------------
    def check_catalog(self, conn, epoch):
        """migrate.validate() and direct checks; returns the problems."""
        problems = []
        cur = conn.cursor()
        cur.execute("SELECT severity, revision, problem, detail FROM migrate.validate()")
        for sev, rev, problem, detail in cur.fetchall():
            if sev != "error":
                continue
            # the graph may legitimately be incomplete: revisions can be
            # registered in any order, so a parent may not be registered yet
            if re.search(r"which is not registered|neither a registered revision nor a branch label",
                         problem):
                continue
            problems.append("validate(): %s %s: %s" % (rev, problem, detail))
        checks = {
            "applied revision not registered":
                "SELECT a.revision FROM migrate.applied a WHERE NOT EXISTS "
                "(SELECT 1 FROM migrate.revisions r WHERE r.id = a.revision)",
            "applied revision whose registered parent is not applied":
                "SELECT a.revision || ' -> ' || p FROM migrate.applied a "
                "JOIN migrate.revisions r ON r.id = a.revision, unnest(r.down_revision) p "
                "WHERE EXISTS (SELECT 1 FROM migrate.revisions x WHERE x.id = p) "
                "AND NOT EXISTS (SELECT 1 FROM migrate.applied b WHERE b.revision = p)",
            "applied checksum differs from the registered one":
                "SELECT a.revision FROM migrate.applied a JOIN migrate.revisions r ON r.id = a.revision "
                "WHERE a.checksum IS DISTINCT FROM r.checksum",
            "malformed revision id stored":
                "SELECT id FROM migrate.revisions WHERE id !~ '^[A-Za-z0-9_]{1,64}$' "
                "OR id IN ('head', 'heads', 'base')",
            "malformed name in a stored array":
                "SELECT r.id FROM migrate.revisions r, "
                "unnest(r.down_revision || r.depends_on || r.branch_labels) x "
                "WHERE x IS NULL OR x !~ '^[A-Za-z0-9_]{1,64}$'",
            "multi-dimensional or NULL array stored":
                "SELECT id FROM migrate.revisions WHERE array_ndims(down_revision) > 1 "
                "OR array_ndims(depends_on) > 1 OR array_ndims(branch_labels) > 1 "
                "OR down_revision IS NULL OR depends_on IS NULL OR branch_labels IS NULL",
            "branch label declared twice":
                "SELECT l FROM migrate.revisions, unnest(branch_labels) l GROUP BY l HAVING count(*) > 1",
            "catalog_version is not one row":
                "SELECT count(*) FROM migrate.catalog_version HAVING count(*) <> 1",
            "duplicate registration order":
                "SELECT seq FROM migrate.revisions GROUP BY seq HAVING count(*) > 1",
        }
        for what, q in checks.items():
            cur.execute(q)
            rows = cur.fetchall()
            if rows:
                problems.append("%s: %s" % (what, ", ".join(str(r[0]) for r in rows[:5])))
        for p in problems:
            self.corruption.append(dict(epoch=epoch, problem=p))
            self.record_failure("corruption", dict(epoch=epoch, problem=p))
        return problems

    def server_log_crashes(self):
        if not self.opts.log:
            return None
        try:
            with open(self.opts.log, errors="replace") as f:
                f.seek(self.log_offset)
                return [l.rstrip() for l in f if SERVER_CRASH.search(l)]
        except OSError as e:
            print("cannot read the server log %s: %s" % (self.opts.log, e))
            return None

    # -- main loop ------------------------------------------------------------
    def run(self):
        opts = self.opts
        self.log_offset = 0
        if opts.log:
            try:
                self.log_offset = os.path.getsize(opts.log)
            except OSError:
                pass
        admin = self.admin()
        identity = self.server_identity(admin)
        sentinel = self.connect("postgres")
        sc = sentinel.cursor()
        sc.execute("SELECT pg_backend_pid()")
        sentinel_pid = sc.fetchone()[0]
        self.setup_template(admin)

        t = self.connect(TEMPLATE_DB)
        routines = load_routines(t.cursor())
        self.settings = load_settings(t.cursor())
        t.close()
        callable_ = [r for r in routines if r.skip is None]
        print("seed %d; %d routines in schema migrate, %d called at random; pgTAP %s"
              % (opts.seed, len(routines), len(callable_),
                 "installed (tap_* helpers run for real)" if self.have_pgtap else "not available"))
        print("settings set at random before some calls: %s"
              % (", ".join(st[0] for st in self.settings) or "none"))
        for r in routines:
            if r.skip:
                print("  not called at random: %s: %s" % (r.signature, r.skip))
        if not callable_:
            print("no routine to call")
            return 1

        started = time.monotonic()
        epoch = 0
        dead = False
        out_of_time = False
        while self.calls < opts.calls and not dead and not out_of_time:
            epoch += 1
            db = "pgm_fuzz_%d" % epoch
            ac = admin.cursor()
            ac.execute("DROP DATABASE IF EXISTS %s" % db)
            ac.execute("CREATE DATABASE %s TEMPLATE %s" % (db, TEMPLATE_DB))
            conns = {"superuser": self.connect(db), "migrator": self.connect(db, MIGRATOR),
                     "reader": self.connect(db, READER)}
            for c in conns.values():
                c.cursor().execute("SET statement_timeout = '%ds'" % opts.statement_timeout)
            if epoch == 1:
                # trigger functions once each: they must refuse, not crash
                for r in routines:
                    if r.rettype in ("trigger", "event_trigger"):
                        st = self.call(conns, r, epoch)
                        print("  %s called directly: %s" % (r.signature, st))
            self.gen.refresh(conns["superuser"].cursor())
            end = min(opts.calls, self.calls + opts.epoch)
            while self.calls < end:
                if opts.max_seconds and time.monotonic() - started > opts.max_seconds:
                    print("time budget of %d s used up after %d calls" % (opts.max_seconds, self.calls))
                    out_of_time = True
                    break
                if self.calls % 25 == 0:
                    try:
                        self.heal(conns["superuser"])
                        self.gen.refresh(conns["superuser"].cursor())
                    except psycopg2.Error:
                        pass
                if self.rng.random() < 0.05:
                    if self.offline_script(conns, epoch) == "lost":
                        dead = True
                        break
                    continue
                r = self.rng.choice(callable_)
                # most transactions hold one call; some two or three
                chain = [self.rng.choice(callable_) for _ in range(self.rng.choice([1, 2]))] \
                    if self.rng.random() < 0.15 and r.kind != "p" else []
                chain = [c for c in chain if c.kind != "p"]
                if self.call(conns, r, epoch, chain) == "lost":
                    # wait for the server to accept connections again
                    for _ in range(60):
                        try:
                            admin = self.admin()
                            break
                        except psycopg2.Error:
                            time.sleep(1)
                    try:
                        conns = {"superuser": self.connect(db), "migrator": self.connect(db, MIGRATOR),
                                 "reader": self.connect(db, READER)}
                    except psycopg2.Error:
                        dead = True
                        break
                if opts.progress and self.calls % opts.progress == 0:
                    print("  %d calls, %.0f s" % (self.calls, time.monotonic() - started), flush=True)
            try:
                problems = self.check_catalog(conns["superuser"], epoch)
            except psycopg2.Error as e:
                problems = ["the catalog checks failed: %s" % e]
                self.corruption.append(dict(epoch=epoch, problem=problems[0]))
            print("epoch %d: %d calls so far, catalog %s" % (epoch, self.calls,
                  "consistent" if not problems else "CORRUPT: " + "; ".join(problems)), flush=True)
            for c in conns.values():
                c.close()
            if not opts.keep:
                admin.cursor().execute("DROP DATABASE IF EXISTS %s" % db)
        elapsed = time.monotonic() - started

        # the server: same postmaster, the sentinel session alive, a clean log
        server_problems = []
        try:
            admin = self.admin()
            if self.server_identity(admin) != identity:
                server_problems.append("the postmaster restarted (start time or pid changed)")
        except psycopg2.Error as e:
            server_problems.append("cannot connect after the run: %s" % e)
        try:
            sc = sentinel.cursor()
            sc.execute("SELECT pg_backend_pid()")
            if sc.fetchone()[0] != sentinel_pid:
                server_problems.append("the sentinel session changed")
        except psycopg2.Error as e:
            server_problems.append("the sentinel session opened before the run died: %s"
                                   % str(e).strip())
        crash_lines = self.server_log_crashes()
        if crash_lines:
            server_problems.append("server log: %s" % " | ".join(crash_lines[:5]))
        if not opts.keep:
            try:
                admin.cursor().execute("DROP DATABASE IF EXISTS %s" % TEMPLATE_DB)
            except psycopg2.Error:
                pass

        self.report(elapsed, server_problems, crash_lines)
        ncrash = len(self.crashes) + (1 if server_problems and not self.crashes else 0)
        if opts.tap:
            self.tap(len(callable_), ncrash, server_problems)
        return 0 if not (ncrash or self.internal or self.leaks or self.corruption) else 1

    def tap(self, nroutines, ncrash, server_problems):
        """One TAP test per property, after the report (printed as comments)."""
        out = sys.__stdout__
        sys.stdout.flush()
        tests = [
            (self.calls > 0, "%d random calls of %d routines of schema migrate (seed %d)"
             % (self.calls, nroutines, self.opts.seed)),
            (ncrash == 0, "the server never crashed (%d broken connections%s)"
             % (len(self.crashes), "; " + "; ".join(server_problems) if server_problems else "")),
            (not self.internal, "no call raised an internal error (SQLSTATE class XX): %d"
             % len(self.internal)),
            (not self.leaks, "no call left a resource-leak warning: %d" % len(self.leaks)),
            (not self.corruption, "migrate.validate() and the catalog checks found no corruption: %d problems"
             % len(self.corruption)),
        ]
        out.write("1..%d\n" % len(tests))
        for i, (good, name) in enumerate(tests, 1):
            out.write("%sok %d - %s\n" % ("" if good else "not ", i, name))
        out.flush()

    def report(self, elapsed, server_problems, crash_lines):
        print()
        print("calls per SQLSTATE:")
        for state, n in sorted(self.by_state.items(), key=lambda x: (-x[1], x[0])):
            name = psycopg2.errorcodes.lookup(state) if re.match(r"^[0-9A-Z]{5}$", state) else ""
            print("  %-16s %6d  %s" % (state, n, (name or "").lower()))
        print("calls per routine: ok, errors (most frequent SQLSTATEs), slowest call:")
        for sig in sorted(self.by_routine):
            c = self.by_routine[sig]
            errs = sum(n for st, n in c.items() if st != "ok")
            top = ", ".join("%s %d" % (st, n) for st, n in c.most_common() if st != "ok")
            print("  %s\n      %d ok, %d errors (%s), %.2f s" % (sig, c["ok"], errs, top[:70],
                                                            self.slowest[sig]))
            if self.opts.verbose and self.slowest[sig] > 2:
                print("      slowest: %s" % ", ".join(self.slowest_call[sig])[:300])
        if self.warnings:
            print("warnings sent to clients:")
            for w, n in self.warnings.most_common(10):
                print("  %5d  %s" % (n, w))
        for what, items in (("crashes", self.crashes), ("internal errors", self.internal),
                            ("resource leaks", self.leaks), ("catalog corruption", self.corruption)):
            for item in items[:10]:
                print("!! %s: %s" % (what, json.dumps(item, default=str)[:2000]))
        for p in server_problems:
            print("!! server: %s" % p)
        if self.suspicious:
            print("%d integrity errors came out of pg_migrate's own catalog queries (not failures, "
                  "but worth a clearer error):" % len(self.suspicious))
            for item in self.suspicious[:5]:
                print("   %s" % json.dumps(item, default=str)[:600])
        if self.opts.log:
            print("server log %s: %s" % (self.opts.log, "no crash lines" if crash_lines == [] else
                                         "not readable" if crash_lines is None else
                                         "%d crash lines" % len(crash_lines)))
        ncrash = len(self.crashes) + (1 if server_problems and not self.crashes else 0)
        print("missing parents registered late (to keep the graph usable): %d" % self.healed)
        print("time: %.0f s (%.1f calls/s); failures, if any: %s"
              % (elapsed, self.calls / elapsed if elapsed else 0, self.failures_file or "not kept"))
        if self.leaks or self.corruption:
            print("%d resource-leak warnings, %d catalog problems" % (len(self.leaks), len(self.corruption)))
        print("%d calls, %d crashes, %d internal errors" % (self.calls, ncrash, len(self.internal)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=int(os.environ.get("FUZZ_SQL_CALLS", 5000)),
                    help="number of random calls (default 5000, or $FUZZ_SQL_CALLS)")
    ap.add_argument("--epoch", type=int, default=1000,
                    help="calls per fresh database (default 1000)")
    ap.add_argument("--seed", type=int, default=int(os.environ.get("FUZZ_SQL_SEED", 0)) or None,
                    help="random seed (default: random, printed)")
    ap.add_argument("--log", default=os.environ.get("FUZZ_SQL_LOG"),
                    help="server log file to scan for crashes")
    ap.add_argument("--failures", default=None,
                    help="append each failure as a JSON line to this file")
    ap.add_argument("--statement-timeout", type=int, default=60,
                    help="statement_timeout of each call, seconds (default 60)")
    ap.add_argument("--progress", type=int, default=0, help="print progress every N calls")
    ap.add_argument("--keep", action="store_true", help="keep the databases")
    ap.add_argument("--verbose", action="store_true", help="show the arguments of slow calls")
    ap.add_argument("--max-seconds", type=int, default=0,
                    help="stop making calls after this many seconds (default: no limit)")
    ap.add_argument("--quick", action="store_true",
                    help="huge arrays have at most 1000 elements instead of 10000")
    ap.add_argument("--tap", action="store_true",
                    help="print TAP: the report as comments, then one test per property")
    opts = ap.parse_args()
    if opts.seed is None:
        opts.seed = random.SystemRandom().randint(1, 2 ** 31)
    if opts.tap:
        sys.stdout = CommentWriter(sys.__stdout__)
    return Tester(opts).run()


class CommentWriter:
    """Writes every line as a TAP comment."""

    def __init__(self, stream):
        self.stream = stream
        self.at_line_start = True

    def write(self, text):
        for piece in text.splitlines(True):
            if self.at_line_start:
                self.stream.write("# ")
            self.stream.write(piece)
            self.at_line_start = piece.endswith("\n")

    def flush(self):
        self.stream.flush()


if __name__ == "__main__":
    sys.exit(main())
