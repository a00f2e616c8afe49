# Makefile for pg_migrate (PGXS)
#
#   make                  build the module
#   make install          install into the server that PG_CONFIG names
#   make installcheck     pg_regress (sql/NNN_*.sql) against a running server
#   make prove            pgTAP (test/pgtap/*.sql) against a running server
#   make test             everything, in a throwaway cluster (test/scripts/test.sh)
#   make demo             walkthrough in a throwaway cluster (test/scripts/demo.sh)
#   make bench            test/bench/* in a throwaway cluster (test/scripts/bench.sh)
#   make fault            test/fault/* (kills, crashes, huge revisions) in a private cluster
#   make replica          test/replica/* (a primary and a hot standby); also part of make test
#   make load             test/load/load.sh: a schema change under pgbench traffic (test/scripts/load.sh)

EXTENSION   = pg_migrate
MODULE_big  = $(EXTENSION)
OBJS        = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))
PG_CPPFLAGS = -I$(srcdir)/src
PG_CFLAGS  += -Wall -Werror
PGFILEDESC  = "pg_migrate - schema migrations managed inside PostgreSQL"

# sql/pg_migrate--*.sql are the extension scripts; every other sql/*.sql is a
# pg_regress test, run in name order (hence the NNN_ prefixes).
DATA        = $(wildcard sql/$(EXTENSION)--*.sql)
REGRESS     = $(sort $(basename $(notdir $(filter-out sql/$(EXTENSION)--%,$(wildcard sql/*.sql)))))
# A UTF8 database with the C locale, so that sort order and messages do not
# depend on the machine's locale.
REGRESS_OPTS = --encoding=UTF8 --no-locale

# build/ holds the scratch install (destdir) and the test logs.
EXTRA_CLEAN = build src/*.gcno src/*.gcda

# /usr/bin/pg_config on Debian picks the newest server-dev package present:
# pin PostgreSQL 15 when it is installed.
PG15_CONFIG := /usr/lib/postgresql/15/bin/pg_config
PG_CONFIG  ?= $(if $(wildcard $(PG15_CONFIG)),$(PG15_CONFIG),pg_config)
PGXS       := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS tracks no header dependencies (Debian builds without --enable-depend):
# rebuild every object, and its JIT bitcode, when any header changes.
$(OBJS) $(OBJS:.o=.bc): $(wildcard src/*.h)

# pgTAP against a running server (PGHOST/PGPORT/PGUSER from the environment).
TAP_DB   ?= $(EXTENSION)_tap
PG_PROVE ?= pg_prove
TAP_DIR  ?= test/pgtap

.PHONY: prove test demo bench load fault replica

prove:
	$(bindir)/dropdb --if-exists $(TAP_DB)
	$(bindir)/createdb $(TAP_DB)
	$(bindir)/psql -X -q -v ON_ERROR_STOP=1 -d $(TAP_DB) \
	  -c 'CREATE EXTENSION pgtap' -c 'CREATE EXTENSION $(EXTENSION)'
	$(PG_PROVE) --dbname $(TAP_DB) --verbose --ext .sql --recurse $(TAP_DIR)/

# These build, install into build/destdir and start their own cluster;
# they need no running server and no write access to the system directories.
test:
	@bash test/scripts/test.sh

demo:
	@bash test/scripts/demo.sh

bench:
	@bash test/scripts/bench.sh

fault:
	@bash test/scripts/fault.sh

replica:
	@bash test/scripts/replica.sh

load:
	@bash test/scripts/load.sh

# Fuzzing: the pure core under libFuzzer (clang; installed when missing and
# run as root) for FUZZ_SECONDS per target (default 60), see
# test/scripts/fuzz.sh.  Not part of "make test".
.PHONY: fuzz
fuzz:
	@bash test/scripts/fuzz.sh

# The random SQL tester: FUZZ_SQL_CALLS (default 5000) random and hostile
# calls of every function of schema migrate in a throwaway cluster, see
# test/scripts/fuzz_sql.sh.  Not part of "make test".
.PHONY: fuzz-sql
fuzz-sql:
	@bash test/scripts/fuzz_sql.sh

# The pg_regress and pgTAP suites against a server running under valgrind
# memcheck (minutes), see test/scripts/valgrind.sh.  Not part of "make test".
.PHONY: valgrind
valgrind:
	@bash test/scripts/valgrind.sh
