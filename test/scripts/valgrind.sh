#!/usr/bin/env bash
# test/scripts/valgrind.sh: the pg_regress and pgTAP suites against a
# throwaway PostgreSQL 15 server running under valgrind memcheck
# ("make valgrind").
#
#   VALGRIND_OPTS="..."    extra valgrind options
#   VALGRIND_SUITES="regress pgtap"   which suites; "sqlrandom" adds
#                          VALGRIND_SQL_CALLS (default 300) calls of the
#                          random SQL tester (test/fuzz/sql_random.py)
#   VALGRIND_REGRESS="001_install ..."   which pg_regress tests (default all)
#
# The server (every process the postmaster forks, and anything it execs:
# --trace-children=yes) runs under memcheck with the suppressions of
# test/valgrind/postgresql.supp and one log per process.  The extension
# comes from build/destdir, as in "make test".  Afterwards every log is
# read: the number of processes, the errors of each process that has any,
# which of them have a pg_migrate frame, and "definitely lost" leaks in
# pg_migrate frames.  The exit status is 1 when a suite fails, or valgrind
# reports any error or a definite leak with a pg_migrate frame, or any error
# at all (set VALGRIND_STRICT=0 to fail only on pg_migrate's).
#
# Debian's PostgreSQL is built without USE_VALGRIND: memory contexts do not
# tell valgrind about palloc'd chunks, so overruns inside a context's block,
# use after pfree and reads of recycled chunks are not seen; reads of never
# written memory, errors in malloc'd memory and in system calls are.
#
# Logs: build/valgrind/ (vg.<pid>.log per process, server.log, suites).
# It takes minutes: everything runs 20 to 50 times slower.

set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

out=$PGM_BUILD/valgrind
supp=$PGM_ROOT/test/valgrind/postgresql.supp
suites=${VALGRIND_SUITES:-regress pgtap}
strict=${VALGRIND_STRICT:-1}
PGM_LOGDIR=$out
tmp=			# the server's directory (data, socket, valgrind logs)

ensure_valgrind()
{
	command -v valgrind >/dev/null 2>&1 && return 0
	if pgm_is_root; then
		pgm_say "installing valgrind"
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y --no-install-recommends valgrind </dev/null ||
			{ apt-get update </dev/null && apt-get install -y --no-install-recommends valgrind </dev/null; }
	else
		pgm_warn "valgrind is missing: apt-get install valgrind"
		return 1
	fi
}

# as the server's user
as_pg()
{
	if pgm_is_root; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# start_server DIR: initdb (natively) and start postgres under valgrind
start_server()
{
	local dir=$1 i

	as_pg "$PGM_PG_BINDIR/initdb" -D "$dir/data" -A trust -U postgres \
		--no-sync -E UTF8 --locale=C >"$out/initdb.log" 2>&1 ||
		{ cat "$out/initdb.log"; return 1; }
	# Unix socket only, in our own directory: no port is taken.
	# shellcheck disable=SC2086
	as_pg valgrind --quiet --tool=memcheck --trace-children=yes \
		--suppressions="$supp" --error-exitcode=1 \
		--error-markers=VALGRINDERROR-BEGIN,VALGRINDERROR-END \
		--leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
		--num-callers=30 --track-origins=yes --read-var-info=no --fullpath-after= \
		--log-file="$dir/vg/vg.%p.log" ${VALGRIND_OPTS:-} \
		"$PGM_PG_BINDIR/postgres" -D "$dir/data" \
		-c listen_addresses= -c unix_socket_directories="$dir" -c port=5432 \
		-c extension_destdir="$PGM_SERVER_DESTDIR" \
		-c fsync=off -c full_page_writes=off -c shared_buffers=64MB \
		-c max_connections=30 -c max_worker_processes=8 \
		-c log_line_prefix='%m [%p] ' -c log_min_messages=warning \
		-c autovacuum=off -c jit=off \
		>"$dir/server.log" 2>&1 &
	SERVER_PID=$!
	for i in $(seq 1 300); do
		if "$PGM_PG_BINDIR/pg_isready" -q -h "$dir" -p 5432; then
			echo "server up under valgrind after ${i} s"
			return 0
		fi
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 1
	done
	pgm_warn "the server under valgrind did not start"
	cat "$dir/server.log"
	return 1
}

stop_server()
{
	local dir=$1 i

	as_pg "$PGM_PG_BINDIR/pg_ctl" -D "$dir/data" -m fast -w -t 600 stop >/dev/null 2>&1
	for i in $(seq 1 600); do
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 1
	done
	wait "$SERVER_PID" 2>/dev/null
	SERVER_EXIT=$?
}

# summarize DIR: read every per-process log
summarize()
{
	local vgdir=$1 nprocs

	# --quiet: a process without errors leaves an empty log
	nprocs=$(find "$vgdir" -name 'vg.*.log' | wc -l)
	# shellcheck disable=SC2016
	# a pg_migrate frame: our module, or a source file of src/ (full paths:
	# --fullpath-after=)
	awk -v strict="$strict" -v procs="$nprocs" -v src="$PGM_ROOT/src/" '
		function flush_block() {
			if (!inblock) return
			errors[FILENAME]++; total++
			ours = index(block, "pg_migrate.so") > 0 || index(block, "(" src) > 0
			if (ours) { pgm[FILENAME]++; pgm_total++; pgm_blocks = pgm_blocks block "\n----\n" }
			if (block ~ /definitely lost/ && ours) lost_pgm++
			if (block ~ /definitely lost/) lost++
			kinds[first]++
			inblock = 0; block = ""
		}
		/VALGRINDERROR-BEGIN/ { inblock = 1; block = ""; first = ""; next }
		/VALGRINDERROR-END/ { flush_block(); next }
		inblock {
			line = $0; sub(/^==[0-9]+== ?/, "", line)
			if (first == "" && line != "") { first = line; gsub(/[0-9,]+ bytes/, "N bytes", first); gsub(/0x[0-9A-F]+/, "0x..", first); gsub(/[0-9,]+ \(/, "N (", first); gsub(/record [0-9,]+ of [0-9,]+/, "record N of M", first) }
			block = block line "\n"
		}
		END {
			printf "valgrind: %d processes logged\n", procs
			for (f in errors) {
				n = f; sub(/.*vg\./, "", n); sub(/\.log$/, "", n)
				printf "  process %s: %d errors, %d with a pg_migrate frame\n", n, errors[f], pgm[f] + 0
			}
			if (total) {
				print "error kinds:"
				for (k in kinds) printf "  %4d  %s\n", kinds[k], k
			}
			if (pgm_total) { print "errors with a pg_migrate frame:"; printf "%s", pgm_blocks }
			printf "valgrind summary: %d processes, %d errors in %d processes, %d with a pg_migrate frame, %d definitely lost blocks (%d in pg_migrate frames)\n", procs, total + 0, length(errors), pgm_total + 0, lost + 0, lost_pgm + 0
			bad = pgm_total + lost_pgm
			if (strict == "1") bad += total
			exit bad > 0
		}
	' "$vgdir"/vg.*.log
}

main()
{
	local start rc=0 tap_db=pg_migrate_tap regress_fail=0 tap_fail=0

	start=$(date +%s)
	trap 'pgm_cleanup; [ -n "${tmp:-}" ] && { cp "$tmp"/vg/vg.*.log "$tmp/server.log" "$out/" 2>/dev/null; rm -rf "$tmp"; }' EXIT
	rm -rf "$out"
	mkdir -p "$out" || return 1
	pgm_ensure_packages || return 1
	ensure_valgrind || return 1
	pgm_build_install || return 1
	pgm_server_destdir || return 1

	tmp=$(mktemp -d -t pg_migrate-valgrind.XXXXXX) || return 1
	mkdir -p "$tmp/vg"
	pgm_is_root && chown -R postgres: "$tmp"
	chmod 755 "$tmp"
	pgm_say "starting PostgreSQL under valgrind ($(valgrind --version))"
	start_server "$tmp" || return 1

	export PGHOST=$tmp PGPORT=5432 PGUSER=postgres PGDATABASE=postgres
	unset PGPASSWORD PGSERVICE PGHOSTADDR
	cd "$PGM_ROOT" || return 1
	pgm_check_available pgtap || rc=1

	if [[ " $suites " == *" regress "* ]]; then
		rm -rf results regression.diffs regression.out
		pgm_run_suite pg_regress regress \
			make --no-print-directory PG_CONFIG="$PGM_PG_CONFIG" installcheck \
			${VALGRIND_REGRESS:+REGRESS="$VALGRIND_REGRESS"} || regress_fail=1
		[ -s regression.diffs ] && cp regression.diffs "$out/"
	fi
	if [[ " $suites " == *" pgtap "* ]]; then
		if pgm_fresh_db "$tap_db" pgtap pg_migrate; then
			pgm_run_suite pgtap tap \
				pg_prove --dbname "$tap_db" --verbose --nocolor --ext .sql -r test/pgtap/ || tap_fail=1
		else
			tap_fail=1
		fi
	fi

	if [[ " $suites " == *" sqlrandom "* ]]; then
		pgm_run_suite sql_random tap "${PYTHON:-/usr/bin/python3}" test/fuzz/sql_random.py \
			--tap --quick --calls "${VALGRIND_SQL_CALLS:-300}" --epoch 150 \
			--statement-timeout 900 --log "$tmp/server.log" || rc=1
	fi

	pgm_say "stopping the server"
	stop_server "$tmp"
	cp "$tmp"/vg/vg.*.log "$tmp/server.log" "$out/" 2>/dev/null
	echo "postmaster exit status under valgrind: $SERVER_EXIT"
	[ "$SERVER_EXIT" = 0 ] || rc=1
	if grep -E 'terminated by signal|was terminated by exception|PANIC:|TRAP:' "$out/server.log"; then
		pgm_warn "the server log reports a crash"
		rc=1
	fi

	pgm_say "valgrind logs ($out)"
	summarize "$out" || rc=1
	echo "suites: $PGM_PASSED passed, $PGM_FAILED failed; took $(($(date +%s) - start)) s"
	[ "$PGM_FAILED" -eq 0 ] && [ $regress_fail -eq 0 ] && [ $tap_fail -eq 0 ] || rc=1
	return $rc
}

mkdir -p "$PGM_BUILD" || exit 1
main 2>&1 | tee "$PGM_BUILD/valgrind.log"
exit "${PIPESTATUS[0]}"
