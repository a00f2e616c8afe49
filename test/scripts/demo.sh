#!/usr/bin/env bash
# test/scripts/demo.sh: build and install pg_migrate (build/destdir), start a
# throwaway PostgreSQL 15 cluster and run test/demo/demo.sql in a fresh
# database, echoing every query so the output reads like a walkthrough.
# Output is also kept in build/demo.log.  Exit status: psql's.

set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

PGM_DEMO_DB=pg_migrate_demo
PGM_DEMO_SQL=${PGM_DEMO_SQL:-test/demo/demo.sql}

in_cluster()
{
	cd "$PGM_ROOT" || return 1
	pgm_fresh_db "$PGM_DEMO_DB" pg_migrate || return 1
	pgm_say "psql -f $PGM_DEMO_SQL (database $PGM_DEMO_DB)"
	"$PGM_PG_BINDIR/psql" -X -v ON_ERROR_STOP=1 -e -d "$PGM_DEMO_DB" -f "$PGM_DEMO_SQL"
}

main()
{
	trap pgm_cleanup EXIT
	pgm_prepare || return 1
	pgm_say "starting a throwaway cluster (pg_virtualenv)"
	pgm_virtualenv "$PGM_SERVER_DESTDIR" bash "$here/demo.sh" --in-cluster
}

if [ "${1:-}" = "--in-cluster" ]; then
	in_cluster
	exit
fi

mkdir -p "$PGM_BUILD" || exit 1
main 2>&1 | tee "$PGM_BUILD/demo.log"
exit "${PIPESTATUS[0]}"
