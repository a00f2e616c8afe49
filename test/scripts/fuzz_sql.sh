#!/usr/bin/env bash
# test/scripts/fuzz_sql.sh: the random SQL tester (test/fuzz/sql_random.py)
# against a throwaway PostgreSQL 15 cluster ("make fuzz-sql").
#
#   FUZZ_SQL_CALLS=5000   number of random calls
#   FUZZ_SQL_SEED=N       repeat a run (the seed is printed at the start)
#
# Builds and installs pg_migrate into build/destdir, starts a cluster with
# pg_virtualenv and runs the tester, which reads the cluster's server log
# for crashes.  The last line is "N calls, C crashes, I internal errors";
# the exit status is 1 on any crash, internal error, resource-leak warning
# or catalog corruption.  Failing calls are kept, one JSON object a line,
# in build/fuzz/sql_failures.jsonl; the output in build/fuzz/sql_random.log.

set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

out=$PGM_BUILD/fuzz

if [ "${1:-}" = "--in-cluster" ]; then
	# pg_virtualenv -t keeps the cluster's log next to its configuration
	log=$(dirname "${PG_CLUSTER_CONF_ROOT:-/nonexistent}")/log/postgresql-$PGM_PG_VERSION-regress.log
	[ -r "$log" ] || { pgm_warn "no readable server log at $log: crashes are seen through the connections only"; log=; }
	# shellcheck disable=SC2119  # no extension other than ours to check
	pgm_check_available || exit 1
	exec "${PYTHON:-/usr/bin/python3}" "$PGM_ROOT/test/fuzz/sql_random.py" \
		--calls "${FUZZ_SQL_CALLS:-5000}" ${log:+--log "$log"} \
		--failures "$out/sql_failures.jsonl" --progress 1000
fi

main()
{
	trap pgm_cleanup EXIT
	mkdir -p "$out" || return 1
	rm -f "$out/sql_failures.jsonl"
	pgm_prepare || return 1
	pgm_say "random SQL calls in a throwaway cluster (pg_virtualenv)"
	pgm_virtualenv "$PGM_SERVER_DESTDIR" bash "$here/fuzz_sql.sh" --in-cluster
}

main 2>&1 | tee "$out/sql_random.log"
exit "${PIPESTATUS[0]}"
