#!/usr/bin/env bash
# test/fault/kill_worker.sh: the background worker of CALL migrate.deploy()
# killed while it builds an index, and the deploy resumed.
#
# A table of 2,000,000 rows (PGM_WORKER_ROWS) and three revisions:
#   r1  ordinary: CREATE TABLE wk_r1
#   r2  transactional => false: CREATE INDEX CONCURRENTLY IF NOT EXISTS
#       wk_big_t ON wk_big (t), run by deploy in a background worker (IF
#       NOT EXISTS, as README suggests for statements that may run again)
#   r3  ordinary: CREATE TABLE wk_r3
# CALL migrate.deploy() runs r1, then starts the worker for r2; the worker
# is stopped at one of two moments of its CREATE INDEX CONCURRENTLY
# (pg_stat_progress_create_index of the worker):
#   build  while it scans the table and sorts (plus 0-400 ms at random)
#   wait   while it waits for old snapshots: a session holding a snapshot
#          taken before the CALL keeps it there, a window that does not
#          depend on the machine's speed
# by one of these methods, in turn:
#   terminate  pg_terminate_backend() of the worker
#   cancel     pg_cancel_backend() of the worker
#   kill9      kill -9 of the worker: the postmaster stops every backend
#              and recovers; the script waits until queries work again
#   session    pg_terminate_backend() of the deploying session: the
#              worker must stop with it
# After every kill, once the deploying session has returned or ended and
# no worker is left:
#   - r1 applied, r2 and r3 not; wk_r1 exists, wk_r3 does not;
#   - the index wk_big_t is not valid: either gone (cleaned), or INVALID
#     and named in the deploying session's error (reported), or -- where
#     nobody was left to clean up (kill9, session), as README documents --
#     INVALID and left for the user (left): then the next CALL must refuse
#     (55000) naming it, with r2 still not applied;
#   - no advisory lock remains on the migration key (8099547378373587553)
#     nor on the worker lock (1885757293, 1768387169);
#   - per revision, upgrade events minus downgrade events = applied (0/1);
#     where the deploying session survived (terminate, cancel) a failure
#     event for r2 was added; migrate.validate() reports no error;
# then, following README (an invalid index left is dropped with DROP
# INDEX CONCURRENTLY first), a second CALL migrate.deploy() finishes: all
# three applied, wk_big_t valid, wk_r3 there, validate() clean, no locks;
# and migrate.downgrade('base') empties it again for the next run.
# A run that breaks any of these is inconsistent.  Prints one line per run,
# per-method counts, then "N runs, M inconsistent"; exits 1 when M > 0.
#
# Environment: PG* (the server), PGM_FAULT_CLUSTER (a cluster directory of
# test/scripts/cluster.sh: kill9 is skipped without it), PGM_WORKER_RUNS
# (4 per method, alternating the moments), PGM_WORKER_METHODS ("terminate
# cancel kill9 session"), PGM_WORKER_MOMENTS ("wait build"),
# PGM_WORKER_ROWS, PGM_FAULT_SEED.  Run by make fault.

set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../scripts/cluster.sh
. "$here/../scripts/cluster.sh"

runs=${PGM_WORKER_RUNS:-4}
rows=${PGM_WORKER_ROWS:-2000000}
seed=${PGM_FAULT_SEED:-$$}
cluster=${PGM_FAULT_CLUSTER:-}
db=pg_migrate_fault_worker
work=$(mktemp -d)
bg_pids=()
cleanup()
{
	local p
	for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT
RANDOM=$seed

PSQL=$PGM_PG_BINDIR/psql
# nothing may hang: every statement is bounded
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning -c statement_timeout=300s"
q() { timeout 600 "$PSQL" -X -At -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }
qp() { timeout 60 "$PSQL" -X -At -q -d postgres "$@" 2>/dev/null; }

if [ -n "${PGM_WORKER_METHODS:-}" ]; then
	read -r -a methods <<<"$PGM_WORKER_METHODS"
elif [ -n "$cluster" ]; then
	methods=(terminate cancel kill9 session)
else
	methods=(terminate cancel session)
	echo "# PGM_FAULT_CLUSTER is not set: kill9 needs a cluster of test/scripts/cluster.sh; it is skipped"
fi
read -r -a moments <<<"${PGM_WORKER_MOMENTS:-wait build}"

# --- set-up -------------------------------------------------------------
"$PGM_PG_BINDIR/dropdb" --force --if-exists "$db" >/dev/null 2>&1
"$PGM_PG_BINDIR/createdb" "$db" || { echo "cannot create $db"; exit 1; }
start=$(date +%s%N)
q <<SQL >/dev/null || { echo "cannot set up $db"; exit 1; }
CREATE EXTENSION pg_migrate;
CREATE TABLE wk_big (id int PRIMARY KEY, t text NOT NULL);
INSERT INTO wk_big SELECT g, md5(g::text) FROM generate_series(1, $rows) g;
VACUUM ANALYZE wk_big;
SELECT migrate.revision(id => 'r1', down_revision => '{}', message => 'ordinary, before',
    upgrade => 'CREATE TABLE wk_r1 (id int)', downgrade => 'DROP TABLE wk_r1');
SELECT migrate.revision(id => 'r2', message => 'index concurrently', transactional => false,
    upgrade => 'CREATE INDEX CONCURRENTLY IF NOT EXISTS wk_big_t ON wk_big (t)',
    downgrade => 'DROP INDEX wk_big_t');
SELECT migrate.revision(id => 'r3', message => 'ordinary, after',
    upgrade => 'CREATE TABLE wk_r3 (id int)', downgrade => 'DROP TABLE wk_r3');
SQL
echo "# $rows rows set up in $((($(date +%s%N) - start) / 1000000)) ms"

# a plain run, for the figures
start=$(date +%s%N)
q -c "CALL migrate.deploy()" >/dev/null || { echo "a plain deploy failed"; exit 1; }
echo "# a whole deploy takes $((($(date +%s%N) - start) / 1000000)) ms"
q -c "SET pg_migrate.quiet = on" -c "SELECT count(*) FROM migrate.downgrade('base')" >/dev/null || exit 1
echo "# seed $seed; $runs runs per method; methods: ${methods[*]}; moments: ${moments[*]}"

# state: "applied|wk_r1 wk_r3|index|invalid on wk_big|locks|event mismatches|validate problems"
STATE_SQL=$(cat <<'SQL'
WITH a AS (
	SELECT coalesce(string_agg(revision, ',' ORDER BY revision), '') AS v FROM migrate.applied
), t AS (
	SELECT (to_regclass('public.wk_r1') IS NOT NULL)::int || ' ' || (to_regclass('public.wk_r3') IS NOT NULL)::int AS v
), i AS (
	SELECT coalesce((SELECT CASE WHEN x.indisvalid THEN 'valid' ELSE 'invalid' END
	                 FROM pg_index x WHERE x.indexrelid = to_regclass('public.wk_big_t')), 'absent') AS v,
	       (SELECT count(*) FROM pg_index x WHERE x.indrelid = 'public.wk_big'::regclass AND NOT x.indisvalid) AS n
), l AS (
	SELECT count(*) AS v FROM pg_locks
	WHERE locktype = 'advisory'
	  AND ((classid = (8099547378373587553 >> 32)::oid AND objid = (8099547378373587553 & 4294967295)::oid
	        AND objsubid = 1)
	       OR (classid = 1885757293 AND objid = 1768387169 AND objsubid = 2))
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
SELECT a.v, t.v, i.v, i.n, l.v, ev.v, v.v FROM a, t, i, l, ev, v;
SQL
)
FAILURES_SQL="SELECT count(*) FROM migrate.events WHERE kind = 'failure' AND revision = 'r2'"

wait_ready()
{
	for _ in $(seq 1 1200); do
		"$PSQL" -X -At -d postgres -c 'SELECT 1' >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# gone PID: wait (at most 30 s) until backend PID has left pg_stat_activity
gone()
{
	for _ in $(seq 1 300); do
		[ "$(qp -c "SELECT count(*) FROM pg_stat_activity WHERE pid = $1")" = 0 ] && return 0
		sleep 0.1
	done
	return 1
}

# workers: the pids of the running deploy workers
workers()
{
	qp -c "SELECT string_agg(pid::text, ' ') FROM pg_stat_activity WHERE backend_type = 'pg_migrate deploy'"
}

# start_holder: a session in the database that keeps a snapshot taken now
# (it touches no table of the test, so it holds up CREATE INDEX
# CONCURRENTLY but not the DROP INDEX CONCURRENTLY of a cleanup)
start_holder()
{
	rm -f "$work/holder.pid"
	PGOPTIONS="-c statement_timeout=0" "$PSQL" -X -At -q -d "$db" >/dev/null 2>&1 <<SQL &
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT pg_backend_pid() \\g $work/holder.pid
SELECT pg_sleep(900);
COMMIT;
SQL
	holder_bg=$!
	bg_pids+=("$holder_bg")
	for _ in $(seq 1 400); do
		[ -s "$work/holder.pid" ] && return 0
		sleep 0.025
	done
	return 1
}

stop_holder()
{
	local pid
	[ -n "${holder_bg:-}" ] || return 0
	pid=$(tr -dc '0-9' <"$work/holder.pid" 2>/dev/null)
	[ -n "$pid" ] && qp -c "SELECT pg_terminate_backend($pid)" >/dev/null
	wait "$holder_bg" 2>/dev/null
	[ -n "$pid" ] && gone "$pid"
	holder_bg=
}

declare -A n_runs n_bad n_cleaned n_reported n_left n_events
total=0
inconsistent=0
for method in "${methods[@]}"; do
	n_runs[$method]=0; n_bad[$method]=0; n_cleaned[$method]=0
	n_reported[$method]=0; n_left[$method]=0; n_events[$method]=0
done

# one_run METHOD MOMENT RUNNO
one_run()
{
	local method=$1 moment=$2 no=$3 bg pid wpid phase want delay_ms rc ok=1 state before after
	local applied tables index ninvalid locks evbad problems err fate outcome

	before=$(q -c "$FAILURES_SQL")
	holder_bg=
	if [ "$moment" = wait ] && ! start_holder; then
		echo "# run $no: the snapshot holder did not start"; stop_holder; return 1
	fi
	rm -f "$work/pid"
	"$PSQL" -X -At -q -d "$db" >"$work/out" 2>&1 <<SQL &
\\set VERBOSITY verbose
SET pg_migrate.quiet = on;
SELECT pg_backend_pid() \\g $work/pid
CALL migrate.deploy();
\\echo sqlstate=:LAST_ERROR_SQLSTATE
SQL
	bg=$!
	bg_pids+=("$bg")
	for _ in $(seq 1 2000); do
		[ -s "$work/pid" ] && break
		sleep 0.005
	done
	pid=$(tr -dc '0-9' <"$work/pid" 2>/dev/null)

	# the worker, then the moment in its index build
	wpid=
	for _ in $(seq 1 1200); do
		wpid=$(workers)
		[ -n "$wpid" ] && break
		sleep 0.05
	done
	wpid=${wpid%% *}
	if [ -z "$pid" ] || [ -z "$wpid" ]; then
		echo "# run $no $method/$moment: no worker started (session pid '${pid}'): $(tr '\n' ' ' <"$work/out")"
		kill "$bg" 2>/dev/null; wait "$bg"; stop_holder
		return 1
	fi
	case $moment in
	build) want='building index%' ;;
	wait) want='waiting for old snapshots' ;;
	esac
	phase=
	for _ in $(seq 1 2400); do
		phase=$(qp -c "SELECT phase FROM pg_stat_progress_create_index WHERE pid = $wpid AND phase LIKE '$want'")
		[ -n "$phase" ] && break
		sleep 0.025
	done
	if [ -z "$phase" ]; then
		echo "# run $no $method/$moment: the worker $wpid never reached '$want' (now: $(qp -c "SELECT phase FROM pg_stat_progress_create_index WHERE pid = $wpid"))"
		qp -c "SELECT pg_terminate_backend($pid)" >/dev/null; wait "$bg"; stop_holder
		return 1
	fi
	delay_ms=
	if [ "$moment" = build ]; then
		delay_ms=$((RANDOM % 400))
		sleep "$(awk -v ms="$delay_ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
	fi
	phase=$(qp -c "SELECT phase FROM pg_stat_progress_create_index WHERE pid = $wpid")

	case $method in
	terminate) qp -c "SELECT pg_terminate_backend($wpid)" >/dev/null ;;
	cancel) qp -c "SELECT pg_cancel_backend($wpid)" >/dev/null ;;
	kill9) kill -KILL "$wpid" ;;
	session) qp -c "SELECT pg_terminate_backend($pid)" >/dev/null ;;
	esac
	wait "$bg"
	rc=$?
	wait_ready || { echo "# run $no: the server did not come back"; return 1; }
	stop_holder
	gone "$pid" || { echo "#   the deploying session $pid did not end"; ok=0; }
	for _ in $(seq 1 300); do
		[ -z "$(workers)" ] && break
		sleep 0.1
	done
	if [ -n "$(workers)" ]; then
		echo "#   a deploy worker is still running: $(workers)"; ok=0
	fi

	err=$(grep -m1 '^ERROR:\|^FATAL:\|^server closed\|^psql:.*FATAL' "$work/out" | cut -c1-110)
	state=$(q -c "$STATE_SQL" 2>&1)
	IFS='|' read -r applied tables index ninvalid locks evbad problems <<<"$state"
	after=$(q -c "$FAILURES_SQL")

	# the index: cleaned, reported, or left where nobody could
	if [ "$index" = absent ] && [ "$ninvalid" = 0 ]; then
		fate=cleaned
		grep -q 'The invalid index public.wk_big_t it left behind was dropped' "$work/out" &&
			fate="cleaned (the error says so)"
		n_cleaned[$method]=$((n_cleaned[$method] + 1))
	elif [ "$index" = invalid ] && grep -q 'DROP INDEX CONCURRENTLY public.wk_big_t' "$work/out"; then
		fate="reported (INVALID, named in the error)"
		n_reported[$method]=$((n_reported[$method] + 1))
	elif [ "$index" = invalid ] && { [ "$method" = kill9 ] || [ "$method" = session ]; }; then
		fate="left INVALID (no session left to clean up; the next CALL names it)"
		n_left[$method]=$((n_left[$method] + 1))
	else
		fate="$index, $ninvalid invalid index(es) on wk_big, not reported"
		ok=0
	fi
	echo "# run $no $method/$moment: killed in '$phase'${delay_ms:+ (+$delay_ms ms)} (psql exit $rc; ${err:-no error}); applied {${applied}}; index $fate; failure events +$((after - before))"

	if [ "$applied" != r1 ] || [ "$tables" != "1 0" ]; then
		echo "#   expected r1 applied and only wk_r1: applied {$applied}, wk_r1/wk_r3 $tables"; ok=0
	fi
	[ "$locks" = 0 ] || { echo "#   $locks advisory lock(s) on the migration or worker key remain"; ok=0; }
	[ "$evbad" = 0 ] || { echo "#   $evbad revision(s) whose events do not match the applied set"; ok=0; }
	if grep -q '^error\|; error' <<<"$problems"; then
		echo "#   validate(): $problems"; ok=0
	fi
	case $method in
	terminate | cancel)
		if [ $((after - before)) = 1 ]; then
			n_events[$method]=$((n_events[$method] + 1))
		else
			echo "#   the deploying session survived but $((after - before)) failure event(s) were added for r2"; ok=0
		fi ;;
	esac

	# resume, as README says: a CALL with an invalid index left refuses and
	# names it; it is dropped, and the next CALL finishes
	if [ "$index" = invalid ]; then
		"$PSQL" -X -At -q -d "$db" >"$work/refused" 2>&1 <<'SQL'
\set VERBOSITY verbose
SET pg_migrate.quiet = on;
CALL migrate.deploy();
\echo sqlstate=:LAST_ERROR_SQLSTATE
SQL
		if ! grep -q 'sqlstate=55000' "$work/refused" ||
			! grep -q 'DROP INDEX CONCURRENTLY public.wk_big_t' "$work/refused" ||
			[ "$(q -c "SELECT string_agg(revision, ',' ORDER BY revision) FROM migrate.applied")" != r1 ]; then
			echo "#   a CALL with the invalid index left did not refuse naming it (55000):" \
				"$(tr '\n' ' ' <"$work/refused" | cut -c1-300)"; ok=0
		fi
		if ! q -c "DROP INDEX CONCURRENTLY IF EXISTS public.wk_big_t" >"$work/drop" 2>&1; then
			echo "#   DROP INDEX CONCURRENTLY failed: $(tr '\n' ' ' <"$work/drop")"; ok=0
		fi
	fi
	if ! q -c "SET pg_migrate.quiet = on" -c "SET pg_migrate.migration_lock_timeout = '10s'" \
		-c "CALL migrate.deploy()" >"$work/finish" 2>&1; then
		echo "#   the next deploy failed: $(tr '\n' ' ' <"$work/finish")"; ok=0
	fi
	state=$(q -c "$STATE_SQL" 2>&1)
	IFS='|' read -r applied tables index ninvalid locks evbad problems <<<"$state"
	outcome="applied {$applied}, wk_r1/wk_r3 $tables, wk_big_t $index, $ninvalid invalid, $locks locks, $evbad event mismatches"
	if [ "$applied" != r1,r2,r3 ] || [ "$tables" != "1 1" ] || [ "$index" != valid ] ||
		[ "$ninvalid" != 0 ] || [ "$locks" != 0 ] || [ "$evbad" != 0 ]; then
		echo "#   after the next deploy: $outcome"; ok=0
	fi
	# the documented DROP INDEX CONCURRENTLY of a left-over index is DDL
	# outside any revision: validate() reports it as drift, and only that
	drift='warning -: DROP INDEX public.wk_big_t outside any revision'
	problems=${problems//"$drift; "/}
	problems=${problems//"$drift"/}
	[ -z "$problems" ] || { echo "#   validate() after the next deploy: $problems"; ok=0; }

	if ! q -c "SET pg_migrate.quiet = on" -c "SELECT count(*) FROM migrate.downgrade('base')" >"$work/down" 2>&1 ||
		[ "$(q -c "$STATE_SQL" | cut -d'|' -f1-3)" != "|0 0|absent" ]; then
		echo "#   downgrade('base') did not empty the database: $(tr '\n' ' ' <"$work/down")"; ok=0
	fi
	if [ "$ok" = 0 ]; then
		sed 's/^/#   deploying session: /' "$work/out" | head -12
		# start the next run from nothing applied, whatever happened
		q -c "SELECT count(*) FROM migrate.stamp('base', purge => true)" \
			-c "DROP TABLE IF EXISTS wk_r1, wk_r3" -c "DROP INDEX IF EXISTS wk_big_t" >/dev/null 2>&1
		return 1
	fi
	return 0
}

for method in "${methods[@]}"; do
	for no in $(seq 1 "$runs"); do
		moment=${moments[$(((no - 1) % ${#moments[@]}))]}
		n_runs[$method]=$((n_runs[$method] + 1))
		total=$((total + 1))
		if ! one_run "$method" "$moment" "$total"; then
			n_bad[$method]=$((n_bad[$method] + 1))
			inconsistent=$((inconsistent + 1))
			echo "# run $total: INCONSISTENT"
		fi
	done
done

echo "#"
printf '# %-10s %5s %12s %8s %9s %6s %15s\n' method runs inconsistent cleaned reported left "failure events"
for method in "${methods[@]}"; do
	printf '# %-10s %5d %12d %8d %9d %6d %15d\n' "$method" "${n_runs[$method]}" "${n_bad[$method]}" \
		"${n_cleaned[$method]}" "${n_reported[$method]}" "${n_left[$method]}" "${n_events[$method]}"
done
echo "# (the invalid index after the kill: cleaned = dropped by pg_migrate, reported = named in the error,"
echo "#  left = left where no session survived to clean up, as README documents: the next CALL refuses naming it)"

"$PGM_PG_BINDIR/dropdb" --force --if-exists "$db" >/dev/null 2>&1
echo "$total runs, $inconsistent inconsistent"
[ "$inconsistent" -eq 0 ]
