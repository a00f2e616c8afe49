#!/usr/bin/env bash
# test/concurrency/rr_racer.sh: migrate.upgrade() racing another migrator
# under each isolation level.  Session B migrates; session A calls
# migrate.upgrade('heads') in the same moment.  The contract:
#
#   - REPEATABLE READ / SERIALIZABLE: when A's snapshot is older than B's
#     commit, A gets SQLSTATE 40001 -- whether A waited on the migration
#     lock or not -- and a retry in a new transaction finds nothing to do;
#     never a double apply.  When B rolls back instead, A applies everything.
#   - READ COMMITTED: A waits for the lock, re-reads the applied set, returns
#     zero rows and says in a NOTICE that the database is already at the
#     target.
#   - SET pg_migrate.quiet = on silences the per-step NOTICEs.
#
# The sessions are ordered without fixed sleeps: B holds a lock, A queues
# behind it, and B commits only once pg_locks shows A waiting.  After each
# scenario every revision's side effect (a row in race.side_effects, no
# unique constraint, and a table race.t_<id>) must have happened exactly
# once, with one upgrade event per revision.
#
# Prints TAP.  Uses the PG* environment (a throwaway cluster from
# test/scripts/test.sh, or any server with pg_migrate installed).
# RR_TRIALS (default 3) rounds of the five scenarios.

set -uo pipefail

trials=${RR_TRIALS:-3}
db=pg_migrate_rr_race
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Nothing may hang: every statement of every session is bounded.
export PGOPTIONS="${PGOPTIONS:-} -c statement_timeout=60s -c client_min_messages=notice"

psql_q() { timeout 120 psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }

# 12 revisions: a chain, a labelled branch with a dependency, a merge.
side() {
	printf "\$\$INSERT INTO race.side_effects (revision) VALUES ('%s');\nCREATE TABLE IF NOT EXISTS race.t_%s (id int)\$\$" "$1" "$1"
}
rev() {		# rev ID PARENTS [EXTRA ARGUMENTS]
	echo "SELECT migrate.revision(id => '$1', down_revision => '$2', upgrade => $(side "$1"), downgrade => 'DROP TABLE race.t_$1'${3:+, $3});"
}
{
	echo "SELECT migrate.revision(id => 'a01', down_revision => '{}', upgrade => \$\$CREATE SCHEMA IF NOT EXISTS race;"
	echo "CREATE TABLE IF NOT EXISTS race.side_effects (revision text NOT NULL, pid int NOT NULL DEFAULT pg_backend_pid());"
	echo "INSERT INTO race.side_effects (revision) VALUES ('a01');"
	echo "CREATE TABLE IF NOT EXISTS race.t_a01 (id int)\$\$, downgrade => 'DROP SCHEMA race CASCADE');"
	for i in 2 3 4 5 6; do
		rev "a0$i" "{a0$((i - 1))}"
	done
	rev b01 '{a03}' "branch_labels => '{other}'"
	rev b02 '{b01}' "depends_on => '{a05}'"
	rev b03 '{b02}'
	rev m01 '{a06,b03}'
	rev a07 '{m01}'
	rev a08 '{a07}'
} > "$work/revisions.sql"
expected=$(grep -c '^SELECT' "$work/revisions.sql")	# 12
head=a08

# Lock predicates for pg_locks: the runner's lock (the same as
# pg_advisory_xact_lock(8099547378373587553)) and our own signal lock (7, 1).
runner_lock="locktype = 'advisory' AND objsubid = 1
	AND classid::bigint = (8099547378373587553 >> 32)
	AND objid::bigint = (8099547378373587553 & 4294967295)"
signal_lock="locktype = 'advisory' AND classid = 7 AND objid = 1 AND objsubid = 2"

# until_waiter PREDICATE: SQL that returns once a session of this database
# waits for the lock PREDICATE (an error after 20 s).
until_waiter() {
	cat <<EOF
DO \$\$
DECLARE
	deadline timestamptz := clock_timestamp() + interval '20 s';
BEGIN
	WHILE NOT EXISTS (SELECT FROM pg_locks WHERE $1 AND NOT granted
					  AND database = (SELECT oid FROM pg_database
									  WHERE datname = current_database())) LOOP
		IF clock_timestamp() > deadline THEN
			RAISE EXCEPTION 'no session queued behind the lock within 20 s';
		END IF;
		PERFORM pg_sleep(0.01);
	END LOOP;
END
\$\$;
EOF
}

# holds APP PREDICATE: session APP holds the lock PREDICATE (polled, at most
# ~10 s).
holds() {
	local i
	for i in $(seq 1 500); do
		[ "$(psql_q -At -c "SELECT EXISTS (SELECT FROM pg_locks l
			JOIN pg_stat_activity a USING (pid)
			WHERE a.application_name = '$1' AND l.granted AND $2)")" = t ] && return 0
		kill -0 "${pids[$1]}" 2>/dev/null || return 1
		sleep 0.02
	done
	return 1
}

declare -A pids
# start APP [ENV...]: run $work/APP.sql in the background as application APP.
start() {
	local app=$1
	shift
	env PGAPPNAME="$app" "$@" timeout 120 psql -X -q -At -d "$db" -f "$work/$app.sql" \
		> "$work/$app.out" 2> "$work/$app.err" &
	pids[$app]=$!
}
finish() {	# finish APP: wait for it; its exit status
	wait "${pids[$1]}"
}
# field APP KEY: the value printed as KEY=value by session APP
field() { sed -n "s/^$2=//p" "$work/$1.out" | head -1; }
errors() { grep -E '(^|: )(ERROR|FATAL|PANIC):' "$work/$1.err"; }
diag() {	# diag APP...: the sessions' output, as TAP comments
	local a
	for a in "$@"; do
		sed "s/^/# $a out: /" "$work/$a.out" | head -5
		sed "s/^/# $a err: /" "$work/$a.err" | head -8
	done
}

reset() {
	psql_q -c 'SET client_min_messages = warning' \
		-c 'DROP EXTENSION IF EXISTS pg_migrate' \
		-c 'DROP SCHEMA IF EXISTS race CASCADE' \
		-c 'CREATE EXTENSION pg_migrate' &&
		psql_q -1 -f "$work/revisions.sql" > /dev/null
}

n=0
fail=0
ok() {		# ok STATUS DESCRIPTION [DIAGNOSTIC-SESSIONS...]
	local st=$1 d=$2
	shift 2
	n=$((n + 1))
	if [ "$st" -eq 0 ]; then
		echo "ok $n - $d"
	else
		echo "not ok $n - $d"
		[ $# -gt 0 ] && diag "$@"
		fail=1
	fi
}

# check_state LABEL APPLIED: the revisions that ran ran exactly once.
check_state() {
	local applied=$2 st out se_rows se_revs se_bad se_tables app cur ev ev_revs want_cur
	want_cur=$head
	[ "$applied" -eq 0 ] && want_cur=-
	if ! out=$(psql_q -At -F ' ' -c "
		SELECT (SELECT count(*) FROM race.side_effects),
		       (SELECT count(DISTINCT revision) FROM race.side_effects),
		       (SELECT coalesce(string_agg(revision || ':' || c, ','), '-') FROM
		          (SELECT revision, count(*) AS c FROM race.side_effects
		           GROUP BY revision HAVING count(*) <> 1) d),
		       (SELECT count(*) FROM pg_tables WHERE schemaname = 'race'
		          AND tablename LIKE 't\\_%'),
		       (SELECT count(*) FROM migrate.applied),
		       (SELECT coalesce(string_agg(revision, ','), '-') FROM migrate.current()),
		       (SELECT count(*) FROM migrate.events WHERE kind = 'upgrade'),
		       (SELECT count(DISTINCT revision) FROM migrate.events WHERE kind = 'upgrade')" 2>&1); then
		printf '%s\n' "$out" | sed 's/^/# /'
		out=
	fi
	read -r se_rows se_revs se_bad se_tables app cur ev ev_revs <<< "$out"
	[ "${se_rows:-}" = "$applied" ] && [ "${se_revs:-}" = "$applied" ] &&
		[ "${se_bad:-}" = - ] && [ "${se_tables:-}" = "$applied" ] &&
		[ "${app:-}" = "$applied" ] && [ "${cur:-}" = "$want_cur" ] &&
		[ "${ev:-}" = "$applied" ] && [ "${ev_revs:-}" = "$applied" ]
	st=$?
	ok $st "$1: each of $applied revisions ran exactly once (side effects, applied, current, events)"
	[ "$st" -eq 0 ] && return
	echo "# side_effects rows ${se_rows:-?} for ${se_revs:-?} revisions, not once: ${se_bad:-?}, tables ${se_tables:-?};" \
		"applied ${app:-?}, current ${cur:-?}, upgrade events ${ev:-?} for ${ev_revs:-?} revisions"
}

# B, the winner, in the scenarios where A queues behind the migration lock:
# migrate, then commit (or roll back) once A waits for the lock.
b_sql() {	# b_sql COMMIT|ROLLBACK [quiet]
	echo '\set ON_ERROR_STOP 1'
	[ "${2:-}" = quiet ] && echo 'SET pg_migrate.quiet = on;'
	echo 'BEGIN;'
	echo "SELECT 'rows=' || count(*) FROM migrate.upgrade('heads');"
	until_waiter "$runner_lock"
	echo "$1;"
}
# A's RR / SERIALIZABLE attempt: report the SQLSTATE, then retry once.
a_tail() {
	cat <<'EOF'
SELECT 'rows=' || count(*) FROM migrate.upgrade('heads');
\echo sqlstate=:LAST_ERROR_SQLSTATE
ROLLBACK;
\set ON_ERROR_STOP 1
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT 'retry_rows=' || count(*) FROM migrate.upgrade('heads');
COMMIT;
EOF
}
# check_rr LABEL: A got 40001 on its first attempt, nothing else failed, and
# its retry in a new transaction found nothing to do.
check_rr() {
	local st rows
	st=$(field A sqlstate)
	rows=$(field A rows)
	[ "$a_rc" -eq 0 ] && [ "$st" = 40001 ] && [ -z "$rows" ] &&
		[ "$(errors A | wc -l)" -eq 1 ]
	ok $? "$1: A got SQLSTATE 40001 (got ${st:-none}, rows ${rows:-none})" A
	[ "$(field A retry_rows)" = 0 ]
	ok $? "$1: A's retry in a new REPEATABLE READ transaction returns zero rows" A
}
check_b() {	# check_b LABEL: B applied every revision without an error
	[ "$b_rc" -eq 0 ] && [ -z "$(errors B)" ] && [ "$(field B rows)" = "$expected" ]
	ok $? "$1: B applied $expected revisions (returned $(field B rows))" B
}

dropdb --if-exists "$db" >/dev/null 2>&1
createdb "$db" || { echo "1..0 # SKIP cannot create database $db"; exit 1; }

echo "1..$((trials * 19))"
begin=$(date +%s)
for t in $(seq 1 "$trials"); do
	# 1. A's REPEATABLE READ snapshot predates B's commit; A never waits on
	#    the migration lock (it queues on the signal lock instead, which B
	#    holds until A is queued, so A's snapshot is taken first).
	label="trial $t, RR snapshot before B's commit, no lock wait"
	reset || { echo "Bail out! could not reset $db"; exit 1; }
	{
		echo '\set ON_ERROR_STOP 1'
		echo 'BEGIN;'
		echo 'SELECT pg_advisory_xact_lock(7, 1) \g /dev/null'
		echo "SELECT 'rows=' || count(*) FROM migrate.upgrade('heads');"
		until_waiter "$signal_lock"
		echo 'COMMIT;'
	} > "$work/B.sql"
	{
		echo 'BEGIN ISOLATION LEVEL REPEATABLE READ;'
		echo 'SELECT 1 \g /dev/null'
		echo 'SELECT pg_advisory_xact_lock(7, 1) \g /dev/null'
		a_tail
	} > "$work/A.sql"
	start B
	holds B "$signal_lock"
	start A
	finish B; b_rc=$?
	finish A; a_rc=$?
	check_b "$label"
	check_rr "$label"
	check_state "$label" "$expected"

	# 2. A takes its REPEATABLE READ snapshot while B migrates, then waits
	#    for the migration lock B holds; B commits once A is queued.
	label="trial $t, RR snapshot taken, then waits for B's lock"
	reset || { echo "Bail out! could not reset $db"; exit 1; }
	b_sql COMMIT > "$work/B.sql"
	{
		echo 'BEGIN ISOLATION LEVEL REPEATABLE READ;'
		echo 'SELECT 1 \g /dev/null'
		a_tail
	} > "$work/A.sql"
	start B
	holds B "$runner_lock"
	start A
	finish B; b_rc=$?
	finish A; a_rc=$?
	check_b "$label"
	check_rr "$label"
	check_state "$label" "$expected"

	# 3. The same with SERIALIZABLE as the default isolation and upgrade()
	#    alone in its transaction: the statement's own snapshot is taken
	#    before the lock wait.
	label="trial $t, SERIALIZABLE single statement waits for B's lock"
	reset || { echo "Bail out! could not reset $db"; exit 1; }
	b_sql COMMIT > "$work/B.sql"
	{
		echo "SELECT 'rows=' || count(*) FROM migrate.upgrade('heads');"
		printf '%s\n' '\echo sqlstate=:LAST_ERROR_SQLSTATE'
		echo '\set ON_ERROR_STOP 1'
		echo 'BEGIN ISOLATION LEVEL REPEATABLE READ;'
		echo "SELECT 'retry_rows=' || count(*) FROM migrate.upgrade('heads');"
		echo 'COMMIT;'
	} > "$work/A.sql"
	start B
	holds B "$runner_lock"
	start A PGOPTIONS="$PGOPTIONS -c default_transaction_isolation=serializable"
	finish B; b_rc=$?
	finish A; a_rc=$?
	check_b "$label"
	check_rr "$label"
	check_state "$label" "$expected"

	# 4. READ COMMITTED: A waits for B's lock, then finds nothing to do.
	#    B runs with pg_migrate.quiet = on.
	label="trial $t, READ COMMITTED waits for B's lock"
	reset || { echo "Bail out! could not reset $db"; exit 1; }
	b_sql COMMIT quiet > "$work/B.sql"
	{
		echo '\set ON_ERROR_STOP 1'
		echo "SELECT 'rows=' || count(*) FROM migrate.upgrade('heads');"
	} > "$work/A.sql"
	start B
	holds B "$runner_lock"
	start A
	finish B; b_rc=$?
	finish A; a_rc=$?
	check_b "$label"
	[ "$a_rc" -eq 0 ] && [ -z "$(errors A)" ] && [ "$(field A rows)" = 0 ] &&
		grep -Eiq '(^|: )NOTICE: .*already' "$work/A.err"
	ok $? "$label: A returns zero rows and a NOTICE that the database is already at the target" A
	! grep -Eq '(^|: )NOTICE: +\[[0-9]+/[0-9]+\]' "$work/B.err"
	ok $? "$label: quiet B raised no per-step NOTICE" B
	check_state "$label" "$expected"

	# 5. REPEATABLE READ waits for B's lock, but B rolls back: the catalog
	#    did not move, so A applies everything itself, with a NOTICE per
	#    step (not quiet).
	label="trial $t, RR waits for B's lock, B rolls back"
	reset || { echo "Bail out! could not reset $db"; exit 1; }
	b_sql ROLLBACK > "$work/B.sql"
	{
		echo '\set ON_ERROR_STOP 1'
		echo 'BEGIN ISOLATION LEVEL REPEATABLE READ;'
		echo 'SELECT 1 \g /dev/null'
		echo "SELECT 'rows=' || count(*) FROM migrate.upgrade('heads');"
		echo 'COMMIT;'
	} > "$work/A.sql"
	start B
	holds B "$runner_lock"
	start A
	finish B; b_rc=$?
	finish A; a_rc=$?
	check_b "$label"
	[ "$a_rc" -eq 0 ] && [ -z "$(errors A)" ] && [ "$(field A rows)" = "$expected" ] &&
		[ "$(grep -Ec '(^|: )NOTICE: +\[[0-9]+/[0-9]+\]' "$work/A.err")" -eq "$expected" ]
	ok $? "$label: A applied the $expected revisions itself, one NOTICE per step" A
	check_state "$label" "$expected"

	rm -f "$work"/*.out "$work"/*.err
done
echo "# $trials rounds of 5 scenarios in $(($(date +%s) - begin)) s"
dropdb "$db" >/dev/null 2>&1
exit "$fail"
