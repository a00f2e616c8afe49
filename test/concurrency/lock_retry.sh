#!/usr/bin/env bash
# test/concurrency/lock_retry.sh: lock-timeout retry against real blockers.
#
#   a. a blocker holds ACCESS EXCLUSIVE on the table for about 1 s: upgrade()
#      with pg_migrate.lock_timeout = 200ms retries and succeeds, once;
#   d. ... inside the caller's transaction, which stays healthy (its own
#      lock_timeout back, no lock wait left, more work and COMMIT succeed,
#      lineage recorded once);
#   b. a blocker holding ACCESS SHARE never ends: 55P03 after
#      pg_migrate.lock_retries retries, naming the blocker's pid, state and
#      query, and nothing is applied;
#   c. meanwhile a third session's SELECTs on the table never wait much
#      longer than the lock timeout (the figure is printed);
#   e. without pg_migrate.lock_timeout, upgrade() is unchanged: the caller's
#      lock_timeout applies and nothing is retried;
#   f. a cancel reaches a migrator sleeping between two attempts;
#   g. a row lock (a wait on another transaction) names that transaction's
#      session, not the one holding a compatible lock;
#   h. a prepared transaction holding the lock is named by its gid (skipped
#      when the server has max_prepared_transactions = 0).
#
# Prints TAP; uses the PG* environment.

set -uo pipefail

db=pg_migrate_lockretry
work=$(mktemp -d)
bg_pids=()
# Background sessions end, at the latest, when $work/release appears.
cleanup()
{
	touch "$work/release"
	for p in "${bg_pids[@]}"; do
		wait "$p" 2>/dev/null
	done
	rm -rf "$work"
	dropdb --force --if-exists "$db" >/dev/null 2>&1
}
trap cleanup EXIT

q()
{
	psql -X -q -At -d "$db" -c "$1"
}

n=0
fail=0
check()
{
	local cond=$1 name=$2 out=${3:-}

	n=$((n + 1))
	if [ "$cond" = 1 ]; then
		echo "ok $n - $name"
	else
		fail=1
		echo "not ok $n - $name"
		[ -n "$out" ] && [ -f "$out" ] && sed 's/^/# /' "$out"
	fi
}

now_ms()
{
	echo $(($(date +%s%N) / 1000000))
}

# start_blocker NAME SECONDS SQL...: a session that runs SQL in an open
# transaction, stays idle in it for SECONDS (or until the test ends), then
# commits.  Returns once the SQL is done, with the session's pid in
# $blocker.
start_blocker()
{
	local name=$1 secs=$2
	shift 2
	{
		echo "SELECT pg_backend_pid() \\g $work/$name.pid"
		echo "BEGIN;"
		printf '%s\n' "$@"
		echo "\\! touch $work/$name.ready"
		for _ in $(seq 1 $((secs * 10))); do
			[ -e "$work/release" ] && break
			sleep 0.1
		done
		echo "COMMIT;"
	} 2>/dev/null | psql -X -q -At -d "$db" >/dev/null 2>&1 &
	bg_pids+=($!)
	for _ in $(seq 1 100); do
		[ -e "$work/$name.ready" ] && break
		sleep 0.05
	done
	# the marker comes after the SQL, which stays the session's last query
	blocker=$(tr -dc '0-9' < "$work/$name.pid")
}

dropdb --force --if-exists "$db" >/dev/null 2>&1
createdb "$db" || exit 1
psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<'SQL' || exit 1
CREATE EXTENSION pg_migrate;
CREATE TABLE hot (id int PRIMARY KEY, payload text);
INSERT INTO hot SELECT g, 'row ' || g FROM generate_series(1, 1000) g;
SELECT migrate.revision(id => 'a1', down_revision => '{}',
    upgrade => 'ALTER TABLE hot ADD COLUMN a1 text',
    downgrade => 'ALTER TABLE hot DROP COLUMN a1');
SELECT migrate.revision(id => 'b1',
    upgrade => 'CREATE TABLE b1_side (id int); ALTER TABLE hot ADD COLUMN b1 text',
    downgrade => 'ALTER TABLE hot DROP COLUMN b1; DROP TABLE b1_side');
SQL

echo "1..21"

# ---------------------------------------------------------------------------
# a, d. ACCESS EXCLUSIVE held for about 1 s.
# ---------------------------------------------------------------------------
start_blocker a 1 "LOCK TABLE hot IN ACCESS EXCLUSIVE MODE;"
pid=$blocker
start=$(now_ms)
psql -X -d "$db" -v ON_ERROR_STOP=1 > "$work/a.out" 2>&1 <<'SQL'
SET lock_timeout = '7s';
SET pg_migrate.lock_timeout = '200ms';
BEGIN;
SELECT revision FROM migrate.upgrade('a1');
SELECT 'caller lock_timeout: ' || current_setting('lock_timeout');
SELECT 'lock waits left: ' || count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND NOT granted;
INSERT INTO hot (id, payload, a1) VALUES (-1, 'after the upgrade', 'x');
COMMIT;
SQL
rc=$?
elapsed=$(($(now_ms) - start))
retries=$(grep -c 'could not get its lock (attempt' "$work/a.out")
check "$([ "$rc" -eq 0 ] && echo 1)" "a: upgrade retried behind an ACCESS EXCLUSIVE holder and succeeded (${elapsed} ms)" "$work/a.out"
check "$([ "$retries" -gt 0 ] && echo 1)" "a: $retries retry NOTICEs" "$work/a.out"
check "$(grep -q "Blocked by pid $pid (state: idle in transaction, for [0-9]* s): LOCK TABLE hot IN ACCESS EXCLUSIVE MODE\." "$work/a.out" && echo 1)" \
	"a: the NOTICEs name the blocker ($pid) and its query" "$work/a.out"
check "$([ "$elapsed" -ge 700 ] && [ "$elapsed" -lt 8000 ] && echo 1)" \
	"a: it waited for the blocker, about 1 s (${elapsed} ms)"
check "$([ "$(q "SELECT count(*) FROM migrate.applied WHERE revision = 'a1'")" = 1 ] &&
	[ "$(q "SELECT count(*) FROM migrate.events WHERE kind = 'upgrade' AND revision = 'a1'")" = 1 ] &&
	[ "$(q "SELECT count(*) FROM information_schema.columns WHERE table_name = 'hot' AND column_name = 'a1'")" = 1 ] && echo 1)" \
	"a: applied once"
check "$([ "$(q "SELECT count(*) FROM migrate.object_changes WHERE object_identity = 'public.hot.a1'")" = 1 ] && echo 1)" \
	"a: the retried statement's lineage is recorded once"
check "$(grep -q 'caller lock_timeout: 7s' "$work/a.out" && grep -q 'lock waits left: 0' "$work/a.out" &&
	[ "$(q "SELECT a1 FROM hot WHERE id = -1")" = x ] && echo 1)" \
	"d: the transaction stays healthy: own lock_timeout back, no lock wait left, later work committed" "$work/a.out"

# ---------------------------------------------------------------------------
# b, c. ACCESS SHARE held by an idle transaction that never ends; a reader
# measures how long its SELECTs wait meanwhile.
# ---------------------------------------------------------------------------
start_blocker b 60 "SELECT count(*) FROM hot WHERE id > 0;"
pid=$blocker
{
	echo '\timing on'
	for _ in $(seq 1 120); do
		echo "SELECT count(*) FROM hot;"
		echo "SELECT pg_sleep(0.02);"
	done
} > "$work/reader.sql"
psql -X -q -d "$db" -f "$work/reader.sql" > "$work/reader.out" 2>&1 &
reader=$!
bg_pids+=("$reader")
start=$(now_ms)
psql -X -d "$db" > "$work/b.out" 2>&1 <<'SQL'
SET pg_migrate.lock_timeout = '200ms';
SET pg_migrate.lock_retries = 4;
SELECT revision FROM migrate.upgrade('b1');
\echo sqlstate :LAST_ERROR_SQLSTATE
SQL
elapsed=$(($(now_ms) - start))
wait "$reader"
retries=$(grep -c 'could not get its lock (attempt' "$work/b.out")
grep -E '^(ERROR|DETAIL):' "$work/b.out" | tail -2 | sed 's/^/# b: /'
check "$(grep -q 'ERROR:  statement 2 of revision "b1" could not get its lock in 5 attempts' "$work/b.out" &&
	grep -q 'sqlstate 55P03' "$work/b.out" && echo 1)" \
	"b: 55P03 after the retries (${elapsed} ms)" "$work/b.out"
check "$([ "$retries" = 4 ] && echo 1)" "b: pg_migrate.lock_retries = 4 retries, 5 attempts ($retries NOTICEs)" "$work/b.out"
check "$(grep -A1 '^ERROR:' "$work/b.out" | grep -q "^DETAIL:  Blocked by pid $pid (state: idle in transaction, for [0-9]* s): SELECT count(\*) FROM hot WHERE id > 0\. Each attempt waited up to 200 ms" && echo 1)" \
	"b: the error names the blocker ($pid), its state and its query" "$work/b.out"
named=$(grep -o 'Blocked by pid [0-9]*' "$work/b.out" | sort -u | tr '\n' ' ')
check "$([ "$named" = "Blocked by pid $pid " ] && echo 1)" \
	"b: no one else is named, not even the readers that queued behind the migrator ($named)" "$work/b.out"
check "$(grep -q '^HINT:  End the blocking session' "$work/b.out" &&
	grep -q '^upgrade of revision "b1" (step 1/1), statement 2: ALTER TABLE hot ADD COLUMN b1 text' "$work/b.out" && echo 1)" \
	"b: with a hint and the revision, step and statement" "$work/b.out"
check "$([ "$(q "SELECT count(*) FROM migrate.applied WHERE revision = 'b1'")" = 0 ] &&
	[ -z "$(q "SELECT to_regclass('b1_side')")" ] &&
	[ "$(q "SELECT count(*) FROM information_schema.columns WHERE table_name = 'hot' AND column_name = 'b1'")" = 0 ] && echo 1)" \
	"b: nothing applied (not even statement 1)"
read -r reads max slow < <(awk '/^Time: / { t = $2 + 0; n++; if (t > m) m = t; if (t > 50) s++ }
	END { printf "%d %d %d\n", n / 2, m, s }' "$work/reader.out")
echo "# c: $reads SELECTs on the table while the migrator retried; worst wait ${max} ms, $slow over 50 ms (lock_timeout 200 ms)"
check "$([ "$max" -lt 600 ] && echo 1)" "c: a reader never waited much longer than the lock timeout (worst ${max} ms)" "$work/reader.out"
check "$([ "$slow" -gt 0 ] && echo 1)" "c: readers did queue behind the waiting migrator ($slow waits over 50 ms)"

# ---------------------------------------------------------------------------
# e. No pg_migrate.lock_timeout: upgrade() as before.
# ---------------------------------------------------------------------------
start=$(now_ms)
psql -X -d "$db" > "$work/e.out" 2>&1 <<'SQL'
SET lock_timeout = '300ms';
SELECT revision FROM migrate.upgrade('b1');
\echo sqlstate :LAST_ERROR_SQLSTATE
SQL
elapsed=$(($(now_ms) - start))
check "$(grep -q '^ERROR:  canceling statement due to lock timeout' "$work/e.out" && grep -q 'sqlstate 55P03' "$work/e.out" &&
	! grep -q 'could not get its lock' "$work/e.out" && [ "$elapsed" -lt 3000 ] && echo 1)" \
	"e: without pg_migrate.lock_timeout the caller's lock_timeout applies, no retry (${elapsed} ms)" "$work/e.out"

# ---------------------------------------------------------------------------
# f. Cancel while sleeping between two attempts.
# ---------------------------------------------------------------------------
start=$(now_ms)
psql -X -d "$db" > "$work/f.out" 2>&1 <<'SQL' &
SET application_name = 'lock_retry_cancel';
SET pg_migrate.lock_timeout = '100ms';
SET pg_migrate.lock_backoff = '30s';
SELECT revision FROM migrate.upgrade('b1');
SQL
mig=$!
bg_pids+=("$mig")
sleep 0.8
waiting=$(q "SELECT wait_event_type || '/' || wait_event FROM pg_stat_activity WHERE application_name = 'lock_retry_cancel'")
q "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'lock_retry_cancel'" >/dev/null
wait "$mig"
elapsed=$(($(now_ms) - start))
check "$([ "$waiting" = "Extension/Extension" ] && echo 1)" "f: between attempts the migrator sleeps on its latch (wait event $waiting)"
check "$(grep -q '^ERROR:  canceling statement due to user request' "$work/f.out" && [ "$elapsed" -lt 3000 ] && echo 1)" \
	"f: a cancel ends the backoff at once (${elapsed} ms, backoff 15-30 s)" "$work/f.out"

# ---------------------------------------------------------------------------
# g. A row lock: the statement waits for the transaction holding the row.
# ---------------------------------------------------------------------------
q "SELECT migrate.revision(id => 'g1', down_revision => '{a1}', upgrade => 'UPDATE hot SET payload = ''g1'' WHERE id = 7', downgrade => 'SELECT 1')" >/dev/null
start_blocker g 60 "SELECT id FROM hot WHERE id = 7 FOR UPDATE;"
rowpid=$blocker
psql -X -d "$db" > "$work/g.out" 2>&1 <<'SQL'
SET pg_migrate.lock_timeout = '200ms';
SET pg_migrate.lock_retries = 1;
SELECT revision FROM migrate.upgrade('g1');
SQL
check "$(grep -q "could not get its lock in 2 attempts" "$work/g.out" &&
	grep -q "^DETAIL:  Blocked by pid $rowpid (state: idle in transaction, for [0-9]* s): SELECT id FROM hot WHERE id = 7 FOR UPDATE\. Each" "$work/g.out" &&
	! grep -q "pid $pid " "$work/g.out" && echo 1)" \
	"g: a row lock names the session holding the row ($rowpid), not the compatible holder ($pid)" "$work/g.out"
check "$([ "$(q "SELECT payload FROM hot WHERE id = 7")" = "row 7" ] && echo 1)" "g: nothing applied"

# ---------------------------------------------------------------------------
# h. A prepared transaction holding the lock is named by its gid (needs
# max_prepared_transactions > 0 on the server).
# ---------------------------------------------------------------------------
if [ "$(q "SHOW max_prepared_transactions")" -gt 0 ]; then
	psql -X -q -d "$db" -c "BEGIN" -c "LOCK TABLE hot IN ACCESS SHARE MODE" -c "PREPARE TRANSACTION 'lock_retry_px'" >/dev/null
	psql -X -d "$db" > "$work/h.out" 2>&1 <<'SQL'
SET pg_migrate.lock_timeout = '100ms';
SET pg_migrate.lock_retries = 0;
SELECT revision FROM migrate.upgrade('b1');
SQL
	q "ROLLBACK PREPARED 'lock_retry_px'" >/dev/null
	check "$(grep -q 'Blocked by prepared transaction "lock_retry_px" (prepared [0-9]* s ago; finish it with COMMIT PREPARED or ROLLBACK PREPARED)' "$work/h.out" && echo 1)" \
		"h: a prepared transaction holding the lock is named" "$work/h.out"
else
	n=$((n + 1))
	echo "ok $n # SKIP h: a prepared transaction holding the lock (max_prepared_transactions is 0)"
fi

exit "$fail"
