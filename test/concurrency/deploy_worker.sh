#!/usr/bin/env bash
# test/concurrency/deploy_worker.sh: the background worker of CALL
# migrate.deploy() when things go wrong.
#
#   1. pg_migrate.worker_timeout: a CREATE INDEX CONCURRENTLY that waits
#      for a long transaction (it waits for every older snapshot) is stopped
#      after the timeout with a clear error (57014); the invalid index it
#      leaves is dropped, the failure is recorded, no worker is left, and
#      once the long transaction has ended a new CALL applies it.  When the
#      long transaction has used the table, the DROP INDEX CONCURRENTLY of
#      the cleanup waits for it too: the error names the index left.
#   2. The caller cancelled while its worker runs (pg_stat_activity shows
#      the step in the caller and the statement in the worker): the worker
#      is stopped, the invalid index dropped, the cancellation raised and
#      recorded.
#   3. The caller terminated while its worker runs: the worker is stopped
#      with it and the worker lock is free again.
#   4. No free background worker slot (parallel query workers hold them
#      all): a clear error (53000) naming max_worker_processes, nothing
#      applied; a new CALL applies the revision once slots are free.
#
# Prints TAP.  Uses the PG* environment.

set -uo pipefail

db=pg_migrate_deploy_worker
work=$(mktemp -d)
bg_pids=()
cleanup() {
	for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT

export PGOPTIONS="${PGOPTIONS:-} -c statement_timeout=60s"

q() { timeout 60 psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }

dropdb --force --if-exists "$db" >/dev/null 2>&1
createdb "$db" || { echo "Bail out! cannot create database $db"; exit 1; }
q -c 'CREATE EXTENSION pg_migrate' \
	-c 'CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL)' \
	-c 'INSERT INTO t SELECT g, g % 50 FROM generate_series(1, 10000) g' \
	-c 'CREATE TABLE other (id int)' \
	-c "SELECT migrate.revision(id => 'w1', down_revision => '{}', message => 'index on v', transactional => false,
	        upgrade => 'CREATE INDEX CONCURRENTLY t_v ON t (v)')" \
	-c "SELECT migrate.revision(id => 'w2', message => 'after', upgrade => 'CREATE TABLE w2 (id int)')" \
	>/dev/null || { echo "Bail out! setup failed"; exit 1; }

echo "1..18"
n=0
fail=0
ok() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		[ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/# /'
		fail=1
	fi
}

# hold_snapshot NAME SECONDS TABLE: a session that reads TABLE and keeps
# its snapshot (and so blocks every CREATE INDEX CONCURRENTLY) for
# SECONDS; returns once it has its snapshot.  Its pid goes to
# $work/NAME.pid.
hold_snapshot() {
	local name=$1 secs=$2 table=$3
	rm -f "$work/$name.pid"
	psql -X -q -At -d "$db" >/dev/null 2>&1 <<SQL &
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) FROM $table;
SELECT pg_backend_pid() \\g $work/$name.pid
SELECT pg_sleep($secs);
COMMIT;
SQL
	bg_pids+=($!)
	for _ in $(seq 1 100); do
		[ -s "$work/$name.pid" ] && return 0
		sleep 0.05
	done
	return 1
}
end_session() {		# end_session PID
	q -c "SELECT pg_terminate_backend($1)" >/dev/null 2>&1
	for _ in $(seq 1 100); do
		[ "$(q -c "SELECT count(*) FROM pg_stat_activity WHERE pid = $1")" = 0 ] && return 0
		sleep 0.05
	done
}
workers_left() {
	q -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_migrate deploy'"
}
invalid_indexes() {
	q -c "SELECT coalesce(string_agg(indexrelid::regclass::text, ','), '-') FROM pg_index WHERE NOT indisvalid"
}
# wait_worker: until a deploy worker runs (at most 10 s)
wait_worker() {
	for _ in $(seq 1 200); do
		[ "$(workers_left)" -ge 1 ] && return 0
		sleep 0.05
	done
	return 1
}

# ---------------------------------------------------------------- 1. timeout
hold_snapshot long1 30 other || echo "# the snapshot holder did not start"
start=$(date +%s%N)
psql -X -d "$db" > "$work/timeout.out" 2>&1 <<'SQL'
SET pg_migrate.worker_timeout = '1s';
CALL migrate.deploy();
\echo sqlstate=:LAST_ERROR_SQLSTATE
SQL
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
grep -q 'ERROR:  revision "w1" did not finish within pg_migrate.worker_timeout (1000 ms)' "$work/timeout.out" &&
	grep -q 'sqlstate=57014' "$work/timeout.out"
ok $? "worker_timeout: a blocked CREATE INDEX CONCURRENTLY fails with 57014 naming the setting" "$(cat "$work/timeout.out")"
[ "$elapsed" -lt 15000 ]
ok $? "worker_timeout: the call returned after ${elapsed} ms, not when the long transaction ended"
grep -q 'The invalid index public.t_v it left behind was dropped.' "$work/timeout.out" &&
	[ "$(invalid_indexes)" = - ] && [ -z "$(q -c "SELECT to_regclass('t_v')")" ]
ok $? "worker_timeout: the invalid index was dropped and the error says so" \
	"invalid indexes: $(invalid_indexes)"
[ "$(workers_left)" = 0 ]
ok $? "worker_timeout: no worker is left running"
ev=$(q -c "SELECT revision || ' ' || sqlstate FROM migrate.events WHERE kind = 'failure' ORDER BY id DESC LIMIT 1")
[ "$ev" = "w1 57014" ] && [ "$(q -c "SELECT count(*) FROM migrate.applied")" = 0 ]
ok $? "worker_timeout: the failure is recorded (w1, 57014) and nothing is applied" "last failure: $ev"
end_session "$(cat "$work/long1.pid")"

# the long transaction has used the table: it holds up the DROP INDEX
# CONCURRENTLY of the cleanup as well, and the error names the index left
hold_snapshot long1b 30 t || echo "# the snapshot holder did not start"
psql -X -d "$db" > "$work/timeout2.out" 2>&1 <<'SQL'
SET pg_migrate.worker_timeout = '1s';
CALL migrate.deploy();
\echo sqlstate=:LAST_ERROR_SQLSTATE
SQL
grep -q 'The invalid index public.t_v it left behind could not be dropped within pg_migrate.worker_timeout either' "$work/timeout2.out" &&
	grep -q 'drop it with DROP INDEX CONCURRENTLY public.t_v before the next CALL' "$work/timeout2.out" &&
	grep -q 'sqlstate=57014' "$work/timeout2.out" && [ "$(invalid_indexes)" = t_v ] && [ "$(workers_left)" = 0 ]
ok $? "worker_timeout: when the long transaction holds up the cleanup too, the error names the invalid index left" \
	"$(cat "$work/timeout2.out")"
end_session "$(cat "$work/long1b.pid")"
q -c "DROP INDEX CONCURRENTLY t_v" >/dev/null
out=$(psql -X -d "$db" -v ON_ERROR_STOP=1 -c 'CALL migrate.deploy()' 2>&1)
[ "$(q -c "SELECT string_agg(revision, ',' ORDER BY revision) FROM migrate.applied")" = "w1,w2" ] &&
	[ "$(q -c "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('t_v')")" = t ]
ok $? "worker_timeout: once the long transaction ended, a new CALL applied w1 and w2" "$out"

# ---------------------------------------------------------------- 2. cancel
q -c "SELECT migrate.revision(id => 'w3', message => 'index on id, v', transactional => false,
        upgrade => 'CREATE INDEX CONCURRENTLY t_id_v ON t (id, v)')" >/dev/null
hold_snapshot long2 30 other || echo "# the snapshot holder did not start"
PGAPPNAME=deploy_cancelled psql -X -d "$db" > "$work/cancel.out" 2>&1 <<'SQL' &
CALL migrate.deploy();
\echo sqlstate=:LAST_ERROR_SQLSTATE
SQL
deployer=$!
bg_pids+=("$deployer")
wait_worker || echo "# no worker seen"
act=$(q -c "SELECT query FROM pg_stat_activity WHERE application_name = 'deploy_cancelled'")
wact=$(q -c "SELECT application_name || ': ' || query FROM pg_stat_activity WHERE backend_type = 'pg_migrate deploy'")
[ "$act" = 'pg_migrate: deploy w3 (1/1), in a background worker' ] &&
	[ "$wact" = 'pg_migrate deploy: CREATE INDEX CONCURRENTLY t_id_v ON t (id, v)' ]
ok $? "activity: pg_stat_activity shows the step in the deploying session and the statement in its worker" \
	"$(printf 'session: %s\nworker: %s' "$act" "$wact")"
q -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'deploy_cancelled'" >/dev/null
wait "$deployer"
grep -q 'canceling statement due to user request' "$work/cancel.out" && grep -q 'sqlstate=57014' "$work/cancel.out"
ok $? "cancel: the caller's cancellation is raised" "$(cat "$work/cancel.out")"
grep -q 'The invalid index public.t_id_v it left behind was dropped.' "$work/cancel.out" &&
	[ "$(invalid_indexes)" = - ] && [ "$(workers_left)" = 0 ]
ok $? "cancel: the worker was stopped and its invalid index dropped" "invalid: $(invalid_indexes), workers: $(workers_left)"
ev=$(q -c "SELECT revision || ' ' || sqlstate FROM migrate.events WHERE kind = 'failure' ORDER BY id DESC LIMIT 1")
[ "$ev" = "w3 57014" ]
ok $? "cancel: the failure is recorded" "last failure: $ev"

# ---------------------------------------------------------------- 3. terminate
PGAPPNAME=deploy_terminated psql -X -d "$db" -c 'CALL migrate.deploy()' > "$work/term.out" 2>&1 &
deployer=$!
bg_pids+=("$deployer")
wait_worker || echo "# no worker seen"
q -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'deploy_terminated'" >/dev/null
wait "$deployer"
gone=1
for _ in $(seq 1 100); do
	[ "$(workers_left)" = 0 ] && { gone=0; break; }
	sleep 0.05
done
ok $gone "terminate: the worker stops with its caller"
[ "$(q -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")" = 0 ]
ok $? "terminate: the worker lock and the migration lock are free"
# the invalid index of the interrupted build stays (nobody is left to drop
# it): the documented manual step, then the revision applies.
left=$(invalid_indexes)
end_session "$(cat "$work/long2.pid")"
q -c "DROP INDEX CONCURRENTLY IF EXISTS t_id_v" >/dev/null
out=$(psql -X -d "$db" -v ON_ERROR_STOP=1 -c 'CALL migrate.deploy()' 2>&1)
[ "$left" = t_id_v ] && [ "$(q -c "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('t_id_v')")" = t ]
ok $? "terminate: after DROP INDEX CONCURRENTLY of the invalid index ($left) a new CALL applies w3" "$out"

# ---------------------------------------------------------------- 4. no slot
q -c "SELECT migrate.revision(id => 'w4', message => 'index on v, id', transactional => false,
        upgrade => 'CREATE INDEX CONCURRENTLY t_v_id ON t (v, id)')" \
	-c "CREATE TABLE busy AS SELECT g FROM generate_series(1, 40000) g" -c "ANALYZE busy" >/dev/null
# the slots nobody uses: max_worker_processes less the background workers running
free=$(q -c "SELECT current_setting('max_worker_processes')::int - count(*) FROM pg_stat_activity
             WHERE backend_type NOT IN ('client backend', 'autovacuum launcher', 'autovacuum worker',
                   'background writer', 'checkpointer', 'walwriter', 'archiver', 'startup',
                   'walreceiver', 'walsender')")
q -c "ALTER TABLE busy SET (parallel_workers = $free)" >/dev/null
psql -X -q -d "$db" > "$work/busy.out" 2>&1 <<SQL &
SET max_parallel_workers = $free;
SET max_parallel_workers_per_gather = $free;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SELECT count(*) FROM busy WHERE pg_sleep(0.001) IS NOT NULL;
SQL
busy=$!
bg_pids+=("$busy")
filled=1
for _ in $(seq 1 100); do
	[ "$(q -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'parallel worker'")" = "$free" ] && { filled=0; break; }
	sleep 0.05
done
ok $filled "no slot: a parallel query holds all $free free background worker slots"
psql -X -d "$db" > "$work/noslot.out" 2>&1 <<'SQL'
CALL migrate.deploy();
\echo sqlstate=:LAST_ERROR_SQLSTATE
SQL
grep -q 'could not start a background worker for revision "w4": no free background worker slot' "$work/noslot.out" &&
	grep -q 'max_worker_processes' "$work/noslot.out" && grep -q 'sqlstate=53000' "$work/noslot.out" &&
	[ "$(q -c "SELECT count(*) FROM migrate.applied WHERE revision = 'w4'")" = 0 ] &&
	[ -z "$(q -c "SELECT to_regclass('t_v_id')")" ]
ok $? "no slot: a clear error (53000) naming max_worker_processes, and nothing ran" "$(cat "$work/noslot.out")"
wait "$busy"
out=$(psql -X -d "$db" -v ON_ERROR_STOP=1 -c 'CALL migrate.deploy()' 2>&1)
[ "$(q -c "SELECT count(*) FROM migrate.applied WHERE revision = 'w4'")" = 1 ]
ok $? "no slot: once the slots are free, a new CALL applies the revision" "$out"

# every failure recorded: two timeouts, cancel, termination (none: the
# caller died), no slot
[ "$(q -c "SELECT string_agg(revision || ':' || sqlstate, ',' ORDER BY id) FROM migrate.events WHERE kind = 'failure'")" = "w1:57014,w1:57014,w3:57014,w4:53000" ]
ok $? "the failures are in migrate.events" "$(q -c "SELECT string_agg(revision || ':' || sqlstate, ',' ORDER BY id) FROM migrate.events WHERE kind = 'failure'")"

dropdb --force "$db" >/dev/null 2>&1
exit "$fail"
