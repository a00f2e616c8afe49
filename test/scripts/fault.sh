#!/usr/bin/env bash
# test/scripts/fault.sh: build pg_migrate, install it into build/destdir and
# run every test/fault/*.sh against a private PostgreSQL 15 cluster
# (initdb and pg_ctl in a temporary directory, see cluster.sh), which those
# scripts may crash: they kill backends with SIGKILL and stop the server
# with pg_ctl stop -m immediate.
#
# Each script gets PGHOST/PGPORT/PGUSER for the cluster, PGM_FAULT_CLUSTER
# (its directory, for cluster.sh) and prints its own counts; its last line
# is its summary.  Settings such as PGM_FAULT_RUNS pass through.  Output is
# kept in build/fault.log; exit status 1 when any script fails.

set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"
# shellcheck source-path=SCRIPTDIR source=cluster.sh
. "$here/cluster.sh"

PGM_FAULT_DIR=$PGM_ROOT/test/fault
cluster=

cleanup()
{
	if [ -n "$cluster" ]; then
		[ -f "$cluster/data/postmaster.pid" ] && pgm_cl_stop "$cluster" immediate
		rm -rf "$cluster"
	fi
	pgm_cleanup
}

main()
{
	local f name start secs rc failed=0 report=() port

	trap cleanup EXIT
	pgm_prepare || return 1
	cluster=$(pgm_cl_tmpdir) || return 1
	port=$(pgm_cl_free_port $((20000 + RANDOM % 30000))) || return 1
	pgm_say "starting a private cluster in $cluster (port $port)"
	pgm_cl_init "$cluster" "$port" "$PGM_SERVER_DESTDIR" || return 1
	pgm_cl_start "$cluster" || { cat "$cluster/server.log"; return 1; }
	export PGHOST=$cluster PGPORT=$port PGUSER=postgres PGDATABASE=postgres
	export PGM_FAULT_CLUSTER=$cluster PGM_ROOT
	unset PGHOSTADDR PGSERVICE PGPASSWORD

	for f in "$PGM_FAULT_DIR"/*.sh; do
		[ -f "$f" ] || continue
		name=${f#"$PGM_ROOT"/}
		pgm_say "$name"
		start=$(date +%s)
		bash "$f" </dev/null | tee "$PGM_BUILD/fault-$(basename "$f" .sh).log"
		rc=${PIPESTATUS[0]}
		secs=$(($(date +%s) - start))
		if [ "$rc" -eq 0 ]; then
			report+=("$(printf '%-32s %6ss  ok: %s' "$name" "$secs" "$(tail -1 "$PGM_BUILD/fault-$(basename "$f" .sh).log")")")
		else
			report+=("$(printf '%-32s %6ss  FAILED (exit status %d): %s' "$name" "$secs" "$rc" "$(tail -1 "$PGM_BUILD/fault-$(basename "$f" .sh).log")")")
			failed=1
		fi
	done
	pgm_say "fault summary"
	printf '%s\n' "${report[@]}"
	return $failed
}

mkdir -p "$PGM_BUILD" || exit 1
main 2>&1 | tee "$PGM_BUILD/fault.log"
exit "${PIPESTATUS[0]}"
