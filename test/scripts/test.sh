#!/usr/bin/env bash
# test/scripts/test.sh: build pg_migrate, install it into build/destdir and
# run every test suite against a throwaway PostgreSQL 15 cluster:
#
#   1. pg_regress        make installcheck (sql/NNN_*.sql -> expected/)
#   2. pgTAP             pg_prove test/pgtap/ in a database with pgtap and pg_migrate
#   3. Alembic parity    test/alembic/run.sh, if present (prints TAP)
#   4. C unit tests      make -C test/unit check, if test/unit/Makefile exists (TAP)
#   5. Shell suites      test/concurrency/*.sh, test/offline/*.sh (TAP),
#                        test/replica/*.sh (TAP; each builds its own
#                        primary and hot standby)
#
# Each pg_regress test and each TAP assertion is one case; a suite that
# fails without naming a failed case (crash, bad plan, build error) counts
# as one failed case.  The last line of output is exactly "N passed, M
# failed"; the exit status is 1 when M > 0.  The full output is also kept in
# build/test.log, and each suite's in build/test-logs/.
#
# Works as root (installs missing packages with apt-get; the server runs as
# postgres) and as a normal user who has the packages.

set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

PGM_LOGDIR=$PGM_BUILD/test-logs
PGM_COUNTS=$PGM_BUILD/test-counts

# ---------------------------------------------------------------------------
# Inside the cluster (run by pg_virtualenv): run the suites and write
# "PASSED FAILED" to $PGM_COUNTS.
# ---------------------------------------------------------------------------
in_cluster()
{
	local tap_db=pg_migrate_tap

	cd "$PGM_ROOT" || return 1
	echo "server: PGHOST=$PGHOST PGPORT=$PGPORT PGUSER=$PGUSER extension_destdir=$PGM_SERVER_DESTDIR"

	if ! pgm_check_available pgtap; then
		echo "# preflight failed: counted as 1 failed"
		echo "0 1" > "$PGM_COUNTS"
		return 1
	fi

	# 1. pg_regress.  results/ and regression.* are rewritten by every run.
	rm -rf results regression.diffs regression.out
	if ! pgm_run_suite pg_regress regress \
		make --no-print-directory PG_CONFIG="$PGM_PG_CONFIG" installcheck; then
		if [ -s regression.diffs ]; then
			echo "==> regression.diffs (first 300 lines)"
			head -300 regression.diffs
		fi
	fi

	# 2. pgTAP.
	if [ -n "$(find test/pgtap -name '*.sql' -print -quit 2>/dev/null)" ]; then
		if pgm_fresh_db "$tap_db" pgtap pg_migrate; then
			pgm_run_suite pgtap tap \
				pg_prove --dbname "$tap_db" --verbose --nocolor --ext .sql -r test/pgtap/
		else
			echo "# could not create the pgTAP database: counted as 1 failed"
			PGM_FAILED=$((PGM_FAILED + 1))
		fi
	else
		pgm_say "pgtap: no test/pgtap/*.sql, skipped"
	fi

	# 3. Alembic parity.
	if [ -f test/alembic/run.sh ]; then
		pgm_run_suite alembic tap bash test/alembic/run.sh
	else
		pgm_say "alembic: no test/alembic/run.sh, skipped"
	fi

	# 4. C unit tests.
	if [ -f test/unit/Makefile ]; then
		pgm_run_suite unit tap \
			make --no-print-directory -C test/unit PG_CONFIG="$PGM_PG_CONFIG" check
	else
		pgm_say "unit: no test/unit/Makefile, skipped"
	fi

	# 5. Concurrency (sessions racing each other), offline scripts and hot
	# standbys (TAP).
	for script in test/concurrency/*.sh test/offline/*.sh test/replica/*.sh; do
		[ -f "$script" ] || continue
		pgm_run_suite "concurrency-$(basename "$script" .sh)" tap bash "$script"
	done

	echo "$PGM_PASSED $PGM_FAILED" > "$PGM_COUNTS"
	[ "$PGM_FAILED" -eq 0 ]
}

# ---------------------------------------------------------------------------
# Outside: packages, build, cluster, summary.
# ---------------------------------------------------------------------------
main()
{
	local start passed=0 failed=0 rc counts

	start=$(date +%s)
	trap pgm_cleanup EXIT
	rm -f "$PGM_COUNTS"
	mkdir -p "$PGM_LOGDIR"

	if ! pgm_ensure_packages; then
		echo "# missing packages: counted as 1 failed"
		failed=1
	elif ! { pgm_ensure_node_pg || pgm_warn "no pg module for node: the JavaScript client checks will fail"; true; } ||
		! pgm_build_install; then
		echo "# build or install failed: counted as 1 failed"
		failed=1
	elif ! pgm_server_destdir; then
		echo "# could not prepare $PGM_DESTDIR for the server: counted as 1 failed"
		failed=1
	else
		pgm_say "starting a throwaway cluster (pg_virtualenv)"
		# Prepared transactions: the lock-retry test names one as a blocker.
		PGM_VENV_OPTS=(-o max_prepared_transactions=2)
		pgm_virtualenv "$PGM_SERVER_DESTDIR" bash "$here/test.sh" --in-cluster
		rc=$?
		pgm_cleanup
		if [ -s "$PGM_COUNTS" ]; then
			counts=$(cat "$PGM_COUNTS")
			passed=${counts% *}
			failed=${counts#* }
		fi
		if [ ! -s "$PGM_COUNTS" ] || { [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; }; then
			echo "# the cluster run failed (exit status $rc) without a count: counted as 1 failed"
			failed=$((failed + 1))
		fi
	fi

	echo
	echo "# log: $PGM_BUILD/test.log (took $(($(date +%s) - start)) s)"
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

if [ "${1:-}" = "--in-cluster" ]; then
	in_cluster
	exit
fi

mkdir -p "$PGM_BUILD" || exit 1
main 2>&1 | tee "$PGM_BUILD/test.log"
exit "${PIPESTATUS[0]}"
