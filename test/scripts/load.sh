#!/usr/bin/env bash
# test/scripts/load.sh: run test/load/load.sh (a schema change under pgbench
# traffic, the naive way and the pg_migrate way) in a throwaway PostgreSQL
# 15 cluster with pg_migrate built and installed from this checkout.
# Output is also kept in build/load.log.  It takes several minutes (a
# 5,000,000-row table; see the settings at the top of test/load/load.sh).

set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

PGM_LOAD_DB=pg_migrate_load

in_cluster()
{
	cd "$PGM_ROOT" || return 1
	pgm_fresh_db "$PGM_LOAD_DB" pg_migrate || return 1
	PGDATABASE=$PGM_LOAD_DB bash test/load/load.sh </dev/null
}

main()
{
	trap pgm_cleanup EXIT
	pgm_prepare || return 1
	# Room for a 5M-row table without a checkpoint storm in the middle.
	PGM_VENV_OPTS=(-o shared_buffers=512MB -o max_wal_size=8GB
		-o checkpoint_timeout=30min -o max_worker_processes=16)
	pgm_say "starting a throwaway cluster (pg_virtualenv)"
	pgm_virtualenv "$PGM_SERVER_DESTDIR" bash "$here/load.sh" --in-cluster
}

if [ "${1:-}" = "--in-cluster" ]; then
	in_cluster
	exit
fi

mkdir -p "$PGM_BUILD" || exit 1
main 2>&1 | tee "$PGM_BUILD/load.log"
exit "${PIPESTATUS[0]}"
