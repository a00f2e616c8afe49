#!/usr/bin/env bash
# test/scripts/bench.sh: run every test/bench/*.sql and test/bench/*.sh, in
# name order, against a throwaway PostgreSQL 15 cluster with pg_migrate
# built and installed from this checkout (build/destdir).
#
# Each file gets a fresh database with pg_migrate created in it:
#   *.sql  psql -X -v ON_ERROR_STOP=1 -f FILE (turn on \timing in the file
#          if you want per-statement times)
#   *.sh   bash FILE, with PGDATABASE set to that database and PGM_ROOT,
#          PGHOST, PGPORT, PGUSER, PGPASSWORD, PG_CONFIG exported
# and its wall-clock time is reported.  Output is also kept in
# build/bench.log.  With no benchmark files it says so and exits 0.  Exit
# status 1 when any benchmark fails.

set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

PGM_BENCH_DIR=$PGM_ROOT/test/bench
PGM_BENCH_DB=pg_migrate_bench

bench_files()
{
	find "$PGM_BENCH_DIR" -maxdepth 1 -type f \( -name '*.sql' -o -name '*.sh' \) \
		-print 2>/dev/null | LC_ALL=C sort
}

in_cluster()
{
	local f name start end secs rc failed=0 report=() files=()

	cd "$PGM_ROOT" || return 1
	export PGM_ROOT
	mapfile -t files < <(bench_files)
	for f in "${files[@]}"; do
		name=${f#"$PGM_ROOT"/}
		if ! pgm_fresh_db "$PGM_BENCH_DB" pg_migrate; then
			report+=("$(printf '%-40s %10s  %s' "$name" - "FAILED (database setup)")")
			failed=1
			continue
		fi
		pgm_say "$name"
		start=$(date +%s.%N)
		case $f in
		*.sql)	"$PGM_PG_BINDIR/psql" -X -v ON_ERROR_STOP=1 -d "$PGM_BENCH_DB" -f "$f" </dev/null ;;
		*.sh)	PGDATABASE=$PGM_BENCH_DB bash "$f" </dev/null ;;
		esac
		rc=$?
		end=$(date +%s.%N)
		secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2fs", b - a }')
		if [ "$rc" -eq 0 ]; then
			report+=("$(printf '%-40s %10s  ok' "$name" "$secs")")
		else
			report+=("$(printf '%-40s %10s  FAILED (exit status %d)' "$name" "$secs" "$rc")")
			failed=1
		fi
	done

	pgm_say "benchmark summary"
	printf '%s\n' "${report[@]}"
	return $failed
}

main()
{
	if [ -z "$(bench_files)" ]; then
		echo "bench: no benchmarks in test/bench/ (*.sql, *.sh): nothing to run"
		return 0
	fi
	trap pgm_cleanup EXIT
	pgm_prepare || return 1
	pgm_say "starting a throwaway cluster (pg_virtualenv, fsync on)"
	# pg_virtualenv turns fsync off; a production server runs with it on,
	# and the figures compare DDL as such a server runs it.
	PGM_VENV_OPTS=(-o fsync=on)
	pgm_virtualenv "$PGM_SERVER_DESTDIR" bash "$here/bench.sh" --in-cluster
}

if [ "${1:-}" = "--in-cluster" ]; then
	in_cluster
	exit
fi

mkdir -p "$PGM_BUILD" || exit 1
main 2>&1 | tee "$PGM_BUILD/bench.log"
exit "${PIPESTATUS[0]}"
