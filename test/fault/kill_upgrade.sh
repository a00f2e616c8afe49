#!/usr/bin/env bash
# test/fault/kill_upgrade.sh: a migration killed at a random moment leaves
# a consistent database, and the next call finishes the job.
#
# 20 revisions (PGM_FAULT_REVISIONS), each creating a table, filling it
# with 1,000 rows, sleeping 10 to 50 ms and indexing it, are applied by
#   upgrade  SELECT migrate.upgrade('heads')   (one transaction: all or none)
#   deploy   CALL migrate.deploy('heads')      (commits per revision: a prefix;
#            run only when this build has migrate.deploy)
#   steps    SELECT migrate.upgrade('+1'), once per revision, each in its own
#            transaction (a prefix; only when asked for in PGM_FAULT_MODES)
# and killed after a random delay (0 to 1.15 times the time a whole run
# takes) by one of, in turn:
#   terminate  pg_terminate_backend() of the migrating backend
#   kill9      kill -9 of that backend: the postmaster kills every backend
#              and recovers; the script waits until queries work again
#   immediate  pg_ctl stop -m immediate, then pg_ctl start (crash recovery)
#
# After every kill, once the killed backend is gone:
#   - the applied set equals exactly the revisions whose effects exist, and
#     every existing effect is whole (1,000 rows and the index);
#   - upgrade: nothing or everything is applied; deploy: a prefix;
#   - no advisory lock on the migration key (8099547378373587553) remains;
#   - per revision, upgrade events minus downgrade events = applied (0/1);
#   - migrate.validate() reports no error (upgrade: nor any warning);
#   - the next call with the same target finishes the job (everything
#     applied and whole, validate() clean), and downgrade('base') empties
#     it again for the next run.
# A run that breaks any of these is inconsistent.  Prints one line per run,
# per-method counts, then "N runs, M inconsistent"; exits 1 when M > 0.
#
# Environment: PG* (the server), PGM_FAULT_CLUSTER (a cluster directory of
# test/scripts/cluster.sh: needed for kill9 and immediate, which are
# skipped without it), PGM_FAULT_RUNS (100 per mode), PGM_FAULT_SEED,
# PGM_FAULT_METHODS ("terminate kill9 immediate"), PGM_FAULT_MODES
# (default: upgrade, plus deploy when it exists).  Run by make fault.

set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../scripts/cluster.sh
. "$here/../scripts/cluster.sh"

runs=${PGM_FAULT_RUNS:-100}
nrev=${PGM_FAULT_REVISIONS:-20}
seed=${PGM_FAULT_SEED:-$$}
cluster=${PGM_FAULT_CLUSTER:-}
db=pg_migrate_fault
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
RANDOM=$seed

PSQL=$PGM_PG_BINDIR/psql
# nothing may hang: every statement is bounded (a whole run takes ~1 s)
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning -c statement_timeout=120s"
q() { timeout 300 "$PSQL" -X -At -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }

if [ -n "${PGM_FAULT_METHODS:-}" ]; then
	read -r -a methods <<<"$PGM_FAULT_METHODS"
elif [ -n "$cluster" ]; then
	methods=(terminate kill9 immediate)
else
	methods=(terminate)
	echo "# PGM_FAULT_CLUSTER is not set: kill9 and immediate need a cluster of test/scripts/cluster.sh; only terminate runs"
fi

# --- set-up -------------------------------------------------------------
"$PGM_PG_BINDIR/dropdb" --force --if-exists "$db" >/dev/null 2>&1
"$PGM_PG_BINDIR/createdb" "$db" || { echo "cannot create $db"; exit 1; }
{
	echo "CREATE EXTENSION pg_migrate;"
	for i in $(seq 1 "$nrev"); do
		id=$(printf 'k%02d' "$i")
		ms=$((10 + (i * 7 % 5) * 10))
		cat <<SQL
SELECT migrate.revision(id => '$id', down_revision => $([ "$i" = 1 ] && echo "'{}'" || printf "'{k%02d}'" $((i - 1))),
    message => 'table fault_$id',
    upgrade => \$\$CREATE TABLE fault_$id (id int PRIMARY KEY, filler text);
INSERT INTO fault_$id SELECT g, repeat('x', 100) FROM generate_series(1, 1000) g;
SELECT pg_sleep($ms / 1000.0);
CREATE INDEX fault_${id}_filler ON fault_$id (filler)\$\$,
    downgrade => 'DROP TABLE fault_$id');
SQL
	done
} | q >/dev/null || { echo "cannot register the revisions"; exit 1; }
all=$(q -c "SELECT string_agg(id, ',' ORDER BY seq) FROM migrate.revisions")

modes=()
if [ -n "${PGM_FAULT_MODES:-}" ]; then
	read -r -a modes <<<"$PGM_FAULT_MODES"
else
	modes=(upgrade)
	if [ "$(q -c "SELECT count(*) FROM pg_proc WHERE pronamespace = 'migrate'::regnamespace AND proname = 'deploy'")" != 0 ]; then
		modes+=(deploy)
	fi
fi

# call_sql MODE: what the killed session runs
call_sql()
{
	case $1 in
	upgrade) echo "SELECT count(*) FROM migrate.upgrade('heads');" ;;
	deploy) echo "CALL migrate.deploy('heads');" ;;
	steps) for _ in $(seq 1 "$nrev"); do echo "SELECT count(*) FROM migrate.upgrade('+1');"; done ;;
	esac
}

# finish_sql MODE: the call that finishes the job after a kill
finish_sql()
{
	case $1 in
	deploy) echo "CALL migrate.deploy('heads');" ;;
	*) echo "SELECT count(*) FROM migrate.upgrade('heads');" ;;
	esac
}

# state: "applied|effects|incomplete|locks|event mismatches|validate problems"
STATE_SQL=$(cat <<'SQL'
WITH a AS (
	SELECT coalesce(string_agg(revision, ',' ORDER BY revision), '') AS v FROM migrate.applied
), t AS (
	SELECT c.oid, substr(c.relname, 7) AS rev,
	       (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I', c.relname), false, true, '')))[1]::text::int AS n,
	       EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND NOT i.indisprimary AND i.indisvalid) AS indexed
	FROM pg_class c
	WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND c.relname ~ '^fault_k[0-9]+$'
), e AS (
	SELECT coalesce(string_agg(rev, ',' ORDER BY rev), '') AS v,
	       count(*) FILTER (WHERE n <> 1000 OR NOT indexed) AS bad FROM t
), l AS (
	SELECT count(*) AS v FROM pg_locks
	WHERE locktype = 'advisory' AND classid = (8099547378373587553 >> 32)::oid
	  AND objid = (8099547378373587553 & 4294967295)::oid
), ev AS (
	SELECT count(*) AS v FROM (
		SELECT r.id,
		       coalesce(sum(CASE e.kind WHEN 'upgrade' THEN 1 WHEN 'downgrade' THEN -1 ELSE 0 END), 0) AS net,
		       EXISTS (SELECT 1 FROM migrate.applied x WHERE x.revision = r.id) AS ap
		FROM migrate.revisions r LEFT JOIN migrate.events e ON e.revision = r.id
		GROUP BY r.id) s
	WHERE s.net <> s.ap::int
), v AS (
	SELECT coalesce(string_agg(severity || ' ' || coalesce(revision, '-') || ': ' || problem, '; '), '') AS v
	FROM migrate.validate() WHERE severity <> 'notice'
)
SELECT a.v, e.v, e.bad, l.v, ev.v, v.v FROM a, e, l, ev, v;
SQL
)

# check MODE WHEN STATE: print the problems of STATE, return 1 if any.
# WHEN is "kill" (after a kill) or "finished" (after the finishing call).
check()
{
	local mode=$1 when=$2 state=$3 applied effects bad locks evbad problems rc=0
	IFS='|' read -r applied effects bad locks evbad problems <<<"$state"
	if [ "$applied" != "$effects" ]; then
		echo "#   applied {$applied} but effects exist for {$effects}"; rc=1
	fi
	if [ "$bad" != 0 ]; then
		echo "#   $bad revision effect(s) are partial"; rc=1
	fi
	if [ "$locks" != 0 ]; then
		echo "#   $locks advisory lock(s) on the migration key remain"; rc=1
	fi
	if [ "$evbad" != 0 ]; then
		echo "#   $evbad revision(s) whose events do not match the applied set"; rc=1
	fi
	if [ "$when" = finished ]; then
		[ "$applied" = "$all" ] || { echo "#   the finishing call left {$applied}"; rc=1; }
		[ -z "$problems" ] || { echo "#   validate(): $problems"; rc=1; }
	elif [ "$mode" = upgrade ]; then
		if [ -n "$applied" ] && [ "$applied" != "$all" ]; then
			echo "#   upgrade() left part of its revisions applied: {$applied}"; rc=1
		fi
		[ -z "$problems" ] || { echo "#   validate(): $problems"; rc=1; }
	else
		# nothing applied is a prefix too (killed in the first revision)
		if [ -n "$applied" ] && [[ ",$all," != ",$applied,"* ]]; then
			echo "#   $mode left {$applied}, not a prefix of {$all}"; rc=1
		fi
		if grep -q '^error\|; error' <<<"$problems"; then
			echo "#   validate(): $problems"; rc=1
		fi
	fi
	return $rc
}

wait_ready()
{
	for _ in $(seq 1 1200); do
		"$PSQL" -X -At -d postgres -c 'SELECT 1' >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# reset: bring the database back to nothing applied, whatever happened
reset_db()
{
	q -c "SELECT count(*) FROM migrate.stamp('base', purge => true)" >/dev/null
	q -c "DO \$\$DECLARE r record; BEGIN FOR r IN SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' AND relname ~ '^fault_k' LOOP EXECUTE format('DROP TABLE %I', r.relname); END LOOP; END\$\$" >/dev/null
}

# --- calibration: how long a whole run takes ----------------------------
declare -A calib_ms
for mode in "${modes[@]}"; do
	start=$(date +%s%N)
	call_sql "$mode" | q -c "SET pg_migrate.quiet = on" -f - >/dev/null || { echo "a plain $mode run failed"; exit 1; }
	calib_ms[$mode]=$((($(date +%s%N) - start) / 1000000))
	q -c "SET pg_migrate.quiet = on" -c "SELECT count(*) FROM migrate.downgrade('base')" >/dev/null || exit 1
	echo "# a whole $mode run takes ${calib_ms[$mode]} ms; kills land 0 to $((calib_ms[$mode] * 115 / 100)) ms after the call starts"
done
echo "# seed $seed; $runs runs per mode; $nrev revisions; methods: ${methods[*]}; modes: ${modes[*]}"

declare -A n_runs n_bad n_mid n_none n_some n_all
total=0
inconsistent=0

# one_run MODE METHOD RUNNO
one_run()
{
	local mode=$1 method=$2 no=$3 bg pid delay_ms where rc i state ok=1 applied
	rm -f "$work/pid"
	"$PSQL" -X -At -q -d "$db" >"$work/out" 2>&1 <<SQL &
SET pg_migrate.quiet = on;
SELECT pg_backend_pid() \\g $work/pid
$(call_sql "$mode")
SQL
	bg=$!
	for i in $(seq 1 2000); do
		[ -s "$work/pid" ] && break
		sleep 0.005
	done
	pid=$(tr -dc '0-9' <"$work/pid" 2>/dev/null)
	if [ -z "$pid" ]; then
		echo "# run $no: the migrating session did not start"; wait "$bg"
		return 1
	fi
	delay_ms=$((RANDOM * 32768 + RANDOM))
	delay_ms=$((delay_ms % (calib_ms[$mode] * 115 / 100 + 1)))
	sleep "$(awk -v ms="$delay_ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
	where=$("$PSQL" -X -At -d postgres -c "SELECT state || ': ' || query FROM pg_stat_activity WHERE pid = $pid" 2>/dev/null)
	case $method in
	terminate)
		"$PSQL" -X -At -d postgres -c "SELECT pg_terminate_backend($pid)" >/dev/null 2>&1 ;;
	kill9)
		kill -KILL "$pid" 2>/dev/null ;;
	immediate)
		pgm_cl_stop "$cluster" immediate && pgm_cl_start "$cluster" ;;
	esac
	wait "$bg"
	rc=$?
	wait_ready || { echo "# run $no: the server did not come back"; return 1; }
	# the killed backend must be gone before its locks are checked
	for i in $(seq 1 200); do
		[ "$("$PSQL" -X -At -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE pid = $pid")" = 0 ] && break
		sleep 0.05
	done

	case $where in
	*"pg_migrate: "*) where="in ${where#*pg_migrate: }"; n_mid[$method]=$((n_mid[$method] + 1)) ;;
	"") where="after the session ended" ;;
	idle*) where="after the call returned" ;;
	*) where="in the call, outside revision SQL" ;;
	esac

	state=$(q -c "$STATE_SQL" 2>&1)
	applied=${state%%|*}
	echo "# run $no $mode/$method: killed ${delay_ms} ms in, $where (psql exit $rc); applied after the kill: {${applied:-nothing}}"
	check "$mode" kill "$state" || ok=0
	if [ -z "$applied" ]; then
		n_none[$method]=$((n_none[$method] + 1))
	elif [ "$applied" = "$all" ]; then
		n_all[$method]=$((n_all[$method] + 1))
	else
		n_some[$method]=$((n_some[$method] + 1))
	fi

	# the next call finishes the job, and waits for no orphan lock
	if ! q -c "SET pg_migrate.quiet = on" -c "SET pg_migrate.migration_lock_timeout = '10s'" \
		-c "$(finish_sql "$mode")" >"$work/finish" 2>&1; then
		echo "#   the next $mode call failed: $(tr '\n' ' ' <"$work/finish")"
		ok=0
	fi
	state=$(q -c "$STATE_SQL" 2>&1)
	check "$mode" finished "$state" || ok=0

	if ! q -c "SET pg_migrate.quiet = on" -c "SELECT count(*) FROM migrate.downgrade('base')" >"$work/down" 2>&1 ||
		[ "$(q -c "$STATE_SQL" | cut -d'|' -f1-3)" != "||0" ]; then
		echo "#   downgrade('base') did not empty the database: $(tr '\n' ' ' <"$work/down")"
		ok=0
	fi
	if [ "$ok" = 0 ]; then
		sed 's/^/#   killed session: /' "$work/out" | head -5
		reset_db
		return 1
	fi
	return 0
}

for mode in "${modes[@]}"; do
	for method in "${methods[@]}"; do
		n_runs[$method]=0; n_bad[$method]=0; n_mid[$method]=0
		n_none[$method]=0; n_some[$method]=0; n_all[$method]=0
	done
	for no in $(seq 1 "$runs"); do
		method=${methods[$(((no - 1) % ${#methods[@]}))]}
		n_runs[$method]=$((n_runs[$method] + 1))
		if ! one_run "$mode" "$method" "$no"; then
			n_bad[$method]=$((n_bad[$method] + 1))
			echo "# run $no: INCONSISTENT"
		fi
	done
	echo "#"
	printf '# %-8s %-10s %5s %12s %14s %8s %8s %8s\n' mode method runs inconsistent "in a revision" nothing part all
	mode_runs=0 mode_bad=0
	for method in "${methods[@]}"; do
		printf '# %-8s %-10s %5d %12d %14d %8d %8d %8d\n' "$mode" "$method" "${n_runs[$method]}" \
			"${n_bad[$method]}" "${n_mid[$method]}" "${n_none[$method]}" "${n_some[$method]}" "${n_all[$method]}"
		mode_runs=$((mode_runs + n_runs[$method]))
		mode_bad=$((mode_bad + n_bad[$method]))
	done
	echo "# ('in a revision': the kill landed while revision SQL ran; nothing/part/all: applied right after the kill)"
	echo "$mode: $mode_runs runs, $mode_bad inconsistent"
	total=$((total + mode_runs))
	inconsistent=$((inconsistent + mode_bad))
done

"$PGM_PG_BINDIR/dropdb" --force --if-exists "$db" >/dev/null 2>&1
echo "$total runs, $inconsistent inconsistent"
[ "$inconsistent" -eq 0 ]
