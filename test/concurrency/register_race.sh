#!/usr/bin/env bash
# test/concurrency/register_race.sh: application instances starting together
# all register the same revision files at once.  Every instance must succeed
# (no unique violation, no other error), and each revision must be
# registered exactly once.
#
# Prints TAP.  Uses the PG* environment (a throwaway cluster from
# test/scripts/test.sh, or any server with pg_migrate installed).
# RACE_SESSIONS (default 16) instances, RACE_TRIALS (default 10) trials.

set -uo pipefail

sessions=${RACE_SESSIONS:-16}
trials=${RACE_TRIALS:-10}
db=pg_migrate_race
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

psql_q() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }

# 40 revisions: a chain, a branch with a label, a merge, a dependency,
# omitted down_revision and generated ids -- as revision files would have.
{
	echo "SELECT migrate.revision(id => 'r01', down_revision => '{}', upgrade => 'CREATE TABLE t01 (id int)');"
	for i in $(seq -w 2 20); do
		echo "SELECT migrate.revision(id => 'r$i', upgrade => 'CREATE TABLE t$i (id int)', downgrade => 'DROP TABLE t$i');"
	done
	echo "SELECT migrate.revision(id => 's01', down_revision => '{r10}', branch_labels => '{side}', upgrade => 'CREATE TABLE s01 (id int)');"
	for i in $(seq -w 2 15); do
		prev=$(printf 's%02d' $((10#$i - 1)))
		echo "SELECT migrate.revision(id => 's$i', down_revision => '{$prev}', depends_on => '{r12}', upgrade => 'CREATE TABLE s$i (id int)');"
	done
	echo "SELECT migrate.merge(ARRAY['r20', 's15'], id => 'm01', message => 'merge side');"
	for i in 1 2 3; do
		echo "SELECT migrate.revision(upgrade => 'CREATE TABLE g$i (id int)', message => 'generated $i');"
	done
	echo "SELECT migrate.revision(id => 'last', upgrade => 'SELECT 1');"
} > "$work/revisions.sql"
expected=$(grep -c '^SELECT' "$work/revisions.sql")

dropdb --if-exists "$db" >/dev/null 2>&1
createdb "$db" || { echo "1..0 # SKIP cannot create database $db"; exit 1; }

echo "1..$((trials * 3))"
n=0
fail=0
for t in $(seq 1 "$trials"); do
	psql_q -c 'DROP EXTENSION IF EXISTS pg_migrate' -c 'CREATE EXTENSION pg_migrate' || exit 1
	pids=()
	for s in $(seq 1 "$sessions"); do
		PGAPPNAME="instance_$s" psql -X -q -v ON_ERROR_STOP=1 -d "$db" \
			-f "$work/revisions.sql" > "$work/out.$s" 2> "$work/err.$s" &
		pids+=($!)
	done
	bad=0
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || bad=$((bad + 1))
	done
	n=$((n + 1))
	if [ "$bad" -eq 0 ] && ! grep -q . "$work"/err.*; then
		echo "ok $n - trial $t: $sessions sessions registered $expected revisions without an error"
	else
		echo "not ok $n - trial $t: $bad of $sessions sessions failed"
		grep -h . "$work"/err.* | sort | uniq -c | head -5 | sed 's/^/# /'
		fail=1
	fi
	read -r revs events < <(psql_q -At -F ' ' -c \
		"SELECT (SELECT count(*) FROM migrate.revisions),
		        (SELECT count(*) FROM migrate.events WHERE kind IN ('register', 'merge'))")
	n=$((n + 1))
	if [ "$revs" = "$expected" ]; then
		echo "ok $n - trial $t: $revs revisions registered"
	else
		echo "not ok $n - trial $t: $revs revisions registered, expected $expected"
		fail=1
	fi
	n=$((n + 1))
	if [ "$events" = "$expected" ]; then
		echo "ok $n - trial $t: each registered exactly once ($events register events)"
	else
		echo "not ok $n - trial $t: $events register events for $expected revisions"
		fail=1
	fi
	rm -f "$work"/out.* "$work"/err.*
done
dropdb "$db" >/dev/null 2>&1
exit "$fail"
