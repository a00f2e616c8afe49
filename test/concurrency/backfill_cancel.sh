#!/usr/bin/env bash
# test/concurrency/backfill_cancel.sh: CALL migrate.backfill() on a
# 200,000-row table under concurrent short UPDATEs (pgbench).  A cancel
# (pg_cancel_backend) mid-run loses only the batch that was running: the
# committed batches and their recorded progress agree, and the same CALL
# again resumes after them and finishes with every row right.  Clients
# never wait much longer than one batch.  Two identical calls at once share
# the batches; a batch that meets lock_timeout is retried.  Prints TAP;
# uses the PG* environment.

set -uo pipefail

db=pg_migrate_backfill
work=$(mktemp -d)
runner=
holder=
pgb=
trap 'kill $runner $holder $pgb 2>/dev/null; rm -rf "$work"; dropdb --force --if-exists "$db" >/dev/null 2>&1' EXIT

q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }

dropdb --force --if-exists "$db" >/dev/null 2>&1
createdb "$db" || exit 1
q >/dev/null <<'SQL' || exit 1
CREATE EXTENSION pg_migrate;
CREATE TABLE bf (id bigint PRIMARY KEY, v int NOT NULL, w int, hits int NOT NULL DEFAULT 0);
INSERT INTO bf (id, v) SELECT g, g % 1000 FROM generate_series(1, 200000) g;
ANALYZE bf;
SQL

echo "1..8"
fail=0
ok() { echo "ok $1 - $2"; }
notok() { fail=1; echo "not ok $1 - $2"; }

# --- 1. a backfill in 100 batches with a pause, cancelled mid-run, while
# pgbench updates random rows (another column) in short transactions.
cat > "$work/client.sql" <<'SQL'
\set id random(1, 200000)
UPDATE bf SET hits = hits + 1 WHERE id = :id;
SQL
pgbench -n -c 2 -T 4 -f "$work/client.sql" -l --log-prefix="$work/pgb" "$db" \
	> "$work/pgbench.out" 2>&1 &
pgb=$!
PGAPPNAME=bf_runner psql -X -d "$db" > "$work/run1.out" 2>&1 <<'SQL' &
CALL migrate.backfill('bf', 'w = v * 2', batch_size => 2000, pause => '20 ms');
SQL
runner=$!
# cancel once a good part, but not all, is committed
for _ in $(seq 1 150); do
	done_rows=$(q -c "SELECT coalesce(max(rows_scanned), 0) FROM migrate.backfills")
	[ "${done_rows:-0}" -ge 40000 ] && break
	sleep 0.05
done
q -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'bf_runner'" >/dev/null
wait $runner
runner=
wait $pgb
pgb=

if grep -q "canceling statement due to user request" "$work/run1.out"; then
	ok 1 "the running backfill was cancelled"
else
	notok 1 "the running backfill was cancelled"
	sed 's/^/# /' "$work/run1.out" | tail -20
fi

# --- 2. what was committed is exactly what the state says
state=$(q -F ' ' -c "SELECT rows_scanned, rows_updated, batches, last_key[1], finished_at IS NULL FROM migrate.backfills")
read -r scanned updated batches last unfinished <<< "$state"
check=$(q -F ' ' -c "SELECT count(*) FILTER (WHERE w IS NOT NULL),
	count(*) FILTER (WHERE w IS NOT NULL AND (id > $last OR w <> v * 2)),
	count(*) FILTER (WHERE w IS NULL AND id <= $last) FROM bf")
read -r set_rows beyond missing <<< "$check"
if [ "$unfinished" = t ] && [ "$scanned" -gt 0 ] && [ "$scanned" -lt 200000 ] &&
	[ "$set_rows" = "$updated" ] && [ "$beyond" = 0 ] && [ "$missing" = 0 ]; then
	ok 2 "after the cancel: $batches batches committed, $updated rows up to key $last, and nothing else"
else
	notok 2 "after the cancel the data and the state agree"
	echo "# state: $state; rows set: $set_rows, beyond the last key or wrong: $beyond, missing: $missing"
fi

# --- 3. concurrent clients waited at most about one batch
max_batch=$(sed -n 's/.*this batch updated [0-9]* rows in \([0-9.]*\) s.*/\1/p' "$work/run1.out" |
	sort -g | tail -1)
max_client=$(cat "$work"/pgb.* 2>/dev/null | awk '$3 > m { m = $3 } END { printf "%.3f", m / 1000000 }')
clients=$(cat "$work"/pgb.* 2>/dev/null | wc -l)
failed_tx=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$work/pgbench.out")
echo "# $clients client transactions during the backfill; longest client wait ${max_client} s; longest batch (with its commit) ${max_batch:-?} s"
if [ -n "$max_batch" ] && [ "$clients" -gt 0 ] && [ "${failed_tx:-0}" = 0 ] &&
	awk -v c="$max_client" -v b="$max_batch" 'BEGIN { exit !(c <= 2 * b + 0.5) }'; then
	ok 3 "no client waited longer than about one batch (${max_client} s; batches up to ${max_batch} s)"
else
	notok 3 "no client waited longer than about one batch (${max_client} s; batches up to ${max_batch:-?} s; failed ${failed_tx:-?})"
	sed 's/^/# /' "$work/pgbench.out" | tail -15
fi

# --- 4. the same call again resumes after the last committed batch
q -c "CREATE TABLE before_resume AS SELECT id, xmin::text AS x FROM bf WHERE w IS NOT NULL" >/dev/null
psql -X -d "$db" > "$work/run2.out" 2>&1 <<'SQL'
CALL migrate.backfill('bf', 'w = v * 2', batch_size => 2000, pause => '20 ms');
SQL
if grep -Eq "resumes after key \($last\): $scanned of about [0-9]+ rows scanned" "$work/run2.out" &&
	grep -q "finished: 200000 rows scanned, 200000 updated" "$work/run2.out"; then
	ok 4 "the same CALL resumed after key $last and finished"
else
	notok 4 "the same CALL resumed after key $last and finished"
	sed 's/^/# /' "$work/run2.out" | tail -20
fi

# --- 5. the final data is right, and the committed batches were not redone
final=$(q -F ' ' -c "SELECT count(*) FILTER (WHERE w = v * 2), (SELECT count(*) FROM bf b JOIN before_resume r USING (id) WHERE b.xmin::text <> r.x) FROM bf")
read -r right redone <<< "$final"
state=$(q -F ' ' -c "SELECT rows_scanned, rows_updated, finished_at IS NOT NULL FROM migrate.backfills")
if [ "$right" = 200000 ] && [ "$redone" = 0 ] && [ "$state" = "200000 200000 t" ]; then
	ok 5 "all 200000 rows right; none of the $set_rows rows of the first call done again"
else
	notok 5 "final data: $right rows right, $redone redone, state $state"
fi

# --- 6. a finished backfill called again does nothing
psql -X -d "$db" > "$work/run3.out" 2>&1 <<'SQL'
CALL migrate.backfill('bf', 'w = v * 2', batch_size => 2000, pause => '20 ms');
SQL
if grep -q "already finished: nothing to do" "$work/run3.out"; then
	ok 6 "called again, the finished backfill does nothing"
else
	notok 6 "called again, the finished backfill does nothing"
	sed 's/^/# /' "$work/run3.out"
fi

# --- 7. two identical calls at once share the batches instead of doing
# each twice
for i in 1 2; do
	psql -X -d "$db" > "$work/twin$i.out" 2>&1 <<'SQL' &
CALL migrate.backfill('bf', 'w = v * 3', batch_size => 5000, pause => '20 ms');
SQL
	eval "twin$i=\$!"
done
wait "$twin1"; rc1=$?
wait "$twin2"; rc2=$?
n1=$(sed -n 's/.*This call updated \([0-9]*\) rows.*/\1/p' "$work/twin1.out")
n2=$(sed -n 's/.*This call updated \([0-9]*\) rows.*/\1/p' "$work/twin2.out")
state=$(q -F ' ' -c "SELECT rows_updated, batches FROM migrate.backfills WHERE set_clause = 'w = v * 3'")
right=$(q -c "SELECT count(*) FROM bf WHERE w = v * 3")
if [ "$rc1" = 0 ] && [ "$rc2" = 0 ] && [ "$right" = 200000 ] && [ "$state" = "200000 40" ] &&
	[ $((${n1:-0} + ${n2:-0})) = 200000 ]; then
	ok 7 "two identical calls shared the 40 batches ($n1 and $n2 rows)"
else
	notok 7 "two identical calls: rc $rc1/$rc2, rows ${n1:-?} + ${n2:-?}, state $state, right $right"
	sed 's/^/# /' "$work/twin1.out" "$work/twin2.out" | tail -20
fi

# --- 8. a batch that meets lock_timeout is retried, and the run finishes
# once the lock is gone: another session holds a row of the first batch
# until the backfill has reported its first retry.
psql -X -q -At -d "$db" >/dev/null 2>&1 <<SQL &
BEGIN;
SELECT id FROM bf WHERE id = 10 FOR UPDATE;
SELECT pg_backend_pid() \\g $work/holder.pid
SELECT pg_sleep(60);
COMMIT;
SQL
holder=$!
for _ in $(seq 1 250); do
	[ -s "$work/holder.pid" ] && break
	sleep 0.02
done
hpid=$(tr -dc '0-9' < "$work/holder.pid")
psql -X -d "$db" > "$work/run4.out" 2>&1 <<'SQL' &
SET lock_timeout = '500ms';
CALL migrate.backfill('bf', 'w = v * 4', batch_size => 50000);
SQL
runner=$!
for _ in $(seq 1 500); do
	grep -q "is retried" "$work/run4.out" && break
	sleep 0.02
done
q -c "SELECT pg_terminate_backend($hpid)" >/dev/null
wait $holder
holder=
wait $runner
rc=$?
runner=
if [ "$rc" = 0 ] && grep -q "batch 1 failed (canceling statement due to lock timeout) and is retried (1 of 5)" "$work/run4.out" &&
	grep -q "finished: 200000 rows scanned, 200000 updated" "$work/run4.out" &&
	[ "$(q -c "SELECT count(*) FROM bf WHERE w = v * 4")" = 200000 ]; then
	ok 8 "a batch that hit lock_timeout was retried and the backfill finished"
else
	notok 8 "a batch that hit lock_timeout was retried and the backfill finished"
	sed 's/^/# /' "$work/run4.out" | tail -20
fi

exit "$fail"
