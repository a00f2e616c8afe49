#!/usr/bin/env bash
# test/concurrency/lock_timeout.sh: pg_migrate.migration_lock_timeout bounds
# the wait for another migrator; on expiry the error (55P03) names the
# backend holding the migration lock, and nothing is applied.  Prints TAP;
# uses the PG* environment.

set -uo pipefail

db=pg_migrate_locktimeout
work=$(mktemp -d)
holder=
trap 'kill $holder 2>/dev/null; rm -rf "$work"; dropdb --force --if-exists "$db" >/dev/null 2>&1' EXIT

dropdb --force --if-exists "$db" >/dev/null 2>&1
createdb "$db" || exit 1
psql -X -q -v ON_ERROR_STOP=1 -d "$db" \
	-c 'CREATE EXTENSION pg_migrate' \
	-c "SELECT migrate.revision(id => 'l1', down_revision => '{}', upgrade => 'CREATE TABLE l1 (id int)', downgrade => 'DROP TABLE l1')" \
	>/dev/null || exit 1

echo "1..4"
fail=0
# Another session holds the migration lock, as a running migration does.
psql -X -q -At -d "$db" >/dev/null 2>&1 <<SQL &
BEGIN;
SELECT pg_advisory_xact_lock(8099547378373587553);
SELECT pg_backend_pid() \\g $work/holder.pid
SELECT pg_sleep(30);
COMMIT;
SQL
holder=$!
for _ in $(seq 1 100); do
	[ -s "$work/holder.pid" ] && break
	sleep 0.1
done
pid=$(tr -dc '0-9' < "$work/holder.pid")

start=$(date +%s%N)
psql -X -d "$db" -v ON_ERROR_STOP=1 > "$work/out" 2>&1 <<'SQL'
SET pg_migrate.migration_lock_timeout = '300ms';
SELECT * FROM migrate.upgrade('heads');
SQL
rc=$?
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))

if [ "$rc" -ne 0 ] && grep -q "could not get the migration lock within 300 ms" "$work/out"; then
	echo "ok 1 - upgrade gave up after pg_migrate.migration_lock_timeout"
else
	fail=1; echo "not ok 1 - upgrade gave up after pg_migrate.migration_lock_timeout"
	sed 's/^/# /' "$work/out"
fi
if grep -q "Backend $pid holds it" "$work/out"; then
	echo "ok 2 - the error names the backend holding the lock ($pid)"
else
	fail=1; echo "not ok 2 - the error names the backend holding the lock ($pid)"
	sed 's/^/# /' "$work/out"
fi
if [ "$elapsed" -lt 10000 ]; then
	echo "ok 3 - it waited about the timeout, not for the holder (${elapsed} ms)"
else
	fail=1; echo "not ok 3 - it waited ${elapsed} ms"
fi
applied=$(psql -X -At -d "$db" -c "SELECT count(*) FROM migrate.applied")
if [ "$applied" = 0 ] && [ -z "$(psql -X -At -d "$db" -c "SELECT to_regclass('l1')")" ]; then
	echo "ok 4 - nothing was applied"
else
	fail=1; echo "not ok 4 - $applied revisions applied"
fi
psql -X -q -d "$db" -c "SELECT pg_terminate_backend($pid)" >/dev/null 2>&1
exit "$fail"
