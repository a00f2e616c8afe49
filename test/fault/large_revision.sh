#!/usr/bin/env bash
# test/fault/large_revision.sh: revisions of 10 MB and 100 MB of SQL sent
# from psql, with the time and the peak memory of the backend (VmHWM, which
# includes the shared buffers the backend touched) for each phase:
#
#   10 MB   (about 110,000 INSERT statements) registers, upgrades and
#           downgrades under the default pg_migrate.max_revision_size;
#   100 MB  is refused at registration with 54000, and nothing is
#           registered;
#   100 MB  with pg_migrate.max_revision_size = 0 (no limit) registers,
#           upgrades and downgrades: the cost the limit protects from.
#
# Uses the PG* environment; PGM_FAULT_LARGE_MB (100) sets the large size.
# Prints one line per phase and "N checks, M failed"; exits 1 when M > 0.
# Takes about a minute, and about 2.5 GB of memory for the unlimited run.

set -uo pipefail

db=pg_migrate_large
large=${PGM_FAULT_LARGE_MB:-100}
work=$(mktemp -d)
trap 'rm -rf "$work"; dropdb --force --if-exists "$db" >/dev/null 2>&1' EXIT
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"

dropdb --force --if-exists "$db" >/dev/null 2>&1
createdb "$db" || exit 1
psql -X -q -d "$db" -c 'CREATE EXTENSION pg_migrate' || exit 1

checks=0
failed=0
HWM="SELECT 'peak:' || (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'), 'VmHWM:\\s+(\\d+) kB'))[1]"

# phase LABEL EXPECT PSQL-ARGS...: run one session, report its time and
# peak memory; EXPECT is "ok" (must succeed) or an SQLSTATE it must fail with.
phase()
{
	local label=$1 expect=$2 start ms rc kb verdict=ok stop=1
	shift 2
	# a call expected to fail must not end the session: the memory query follows
	[ "$expect" = ok ] || stop=0
	start=$(date +%s%N)
	psql -X -At -q -v ON_ERROR_STOP=$stop -d "$db" -c '\set VERBOSITY verbose' \
		-c 'SET pg_migrate.quiet = on' "$@" >"$work/out" 2>&1
	rc=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	kb=$(sed -n 's/^peak://p' "$work/out" | tail -1)
	if [ "$expect" = ok ]; then
		[ "$rc" -eq 0 ] || verdict="FAILED"
	else
		if grep -q "ERROR:  $expect:" "$work/out"; then
			verdict="refused with $expect"
		else
			verdict="FAILED: expected $expect"
		fi
	fi
	checks=$((checks + 1))
	case $verdict in FAILED*) failed=$((failed + 1)) ;; esac
	printf '%-48s %8.1f s  %8s  %s\n' "$label" "$(awk -v ms="$ms" 'BEGIN { print ms / 1000 }')" \
		"${kb:+$((kb / 1024)) MB}" "$verdict"
	case $verdict in FAILED*) sed 's/^/#   /' "$work/out" | head -5 ;; esac
}

# gen_revision ID MB: a revision file of MB megabytes of INSERTs
gen_revision()
{
	awk -v id="$1" -v mb="$2" 'BEGIN {
		pad = sprintf("%60s", ""); gsub(/ /, "x", pad)
		printf "SELECT migrate.revision(id => %c%s%c, down_revision => %c{}%c, upgrade => $big$\nCREATE TABLE %s (id int, t text);\n", 39, id, 39, 39, 39, id
		limit = mb * 1048576
		for (i = 0; size < limit; i++) {
			s = sprintf("INSERT INTO %s VALUES (%d, %c%s%c);\n", id, i, 39, pad, 39)
			printf "%s", s
			size += length(s)
		}
		printf "$big$, downgrade => %cDROP TABLE %s%c);\n", 39, id, 39
	}' >"$work/$1.sql"
}

printf '%-48s %10s  %8s  %s\n' phase time "peak" result
phase "a backend doing nothing" ok -c "$HWM"

gen_revision big10 10
phase "10 MB: register" ok -f "$work/big10.sql" -c "$HWM"
phase "10 MB: upgrade" ok -c "SELECT count(*) FROM migrate.upgrade('big10')" -c "$HWM"
phase "10 MB: downgrade" ok -c "SELECT count(*) FROM migrate.downgrade('base')" -c "$HWM"
rm -f "$work/big10.sql"

gen_revision "big$large" "$large"
phase "$large MB: register (default limit)" 54000 -f "$work/big$large.sql" -c "$HWM"
checks=$((checks + 1))
if [ "$(psql -X -At -d "$db" -c "SELECT count(*) FROM migrate.revisions WHERE id = 'big$large'")" = 0 ]; then
	echo "$large MB: nothing was registered"
else
	failed=$((failed + 1))
	echo "$large MB: FAILED: the refused revision is registered"
fi
phase "$large MB: register (max_revision_size = 0)" ok \
	-c "SET pg_migrate.max_revision_size = 0" -f "$work/big$large.sql" -c "$HWM"
rm -f "$work/big$large.sql"
phase "$large MB: upgrade" ok -c "SELECT count(*) FROM migrate.upgrade('big$large')" -c "$HWM"
checks=$((checks + 1))
rows=$(psql -X -At -d "$db" -c "SELECT count(*) FROM big$large")
if [ "${rows:-0}" -gt $((large * 10000)) ]; then
	echo "$large MB: $rows rows inserted"
else
	failed=$((failed + 1))
	echo "$large MB: FAILED: ${rows:-no} rows"
fi
phase "$large MB: downgrade" ok -c "SELECT count(*) FROM migrate.downgrade('base')" -c "$HWM"

echo "$checks checks, $failed failed"
[ "$failed" -eq 0 ]
