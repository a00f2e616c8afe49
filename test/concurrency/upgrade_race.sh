#!/usr/bin/env bash
# test/concurrency/upgrade_race.sh: application instances starting together
# all call migrate.upgrade('heads') at the same moment.  One transaction-
# scoped advisory lock serializes them: exactly one session applies the 40
# pending revisions, the others wait, re-read the applied set with a fresh
# snapshot (READ COMMITTED), find nothing left to do, return zero rows and
# say so in a NOTICE.  No revision may run twice and no session may fail.
#
# Every revision but the migrate.merge() one inserts a row into
# race.side_effects and creates a table race.t_<id>.  There is no unique
# constraint and the DDL says IF NOT EXISTS, so a double apply shows up as a
# count of 2 in the checks rather than as an error that hides it.  The
# sessions first queue on a barrier (advisory lock (7, 7)), released once
# all of them wait, so their upgrade() calls really start together.
#
# Per trial, one TAP line each:
#   1. every session exited 0 with no ERROR on stderr
#   2. the rows returned by all sessions add up to 40, from one session
#   3. every session that returned no row said in a NOTICE that the
#      database is already at the target
#   4. every side effect happened exactly once (rows and tables)
#   5. migrate.applied has 40 rows
#   6. migrate.current() is exactly the single head
#   7. migrate.events has exactly 40 'upgrade' events, one per revision
#
# Prints TAP.  Uses the PG* environment (a throwaway cluster from
# test/scripts/test.sh, or any server with pg_migrate installed).
# UPGRADE_SESSIONS (default 16) sessions, UPGRADE_TRIALS (default 20) trials.

set -uo pipefail

sessions=${UPGRADE_SESSIONS:-16}
trials=${UPGRADE_TRIALS:-20}
db=pg_migrate_upgrade_race
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Nothing may hang: every statement of every session is bounded.
export PGOPTIONS="${PGOPTIONS:-} -c statement_timeout=60s -c client_min_messages=notice"

psql_q() { timeout 120 psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }

# 40 revisions: a chain, a labelled branch, a merge with an upgrade of its
# own, a second labelled branch with depends_on (on an id and on a label),
# a migrate.merge() (empty upgrade) and a last revision with down_revision
# omitted.
side() {	# side-effect SQL of revision $1
	printf "\$\$INSERT INTO race.side_effects (revision) VALUES ('%s');\nCREATE TABLE IF NOT EXISTS race.t_%s (id int)\$\$" "$1" "$1"
}
rev() {		# rev ID PARENTS [EXTRA ARGUMENTS]
	echo "SELECT migrate.revision(id => '$1', down_revision => '$2', upgrade => $(side "$1"), downgrade => 'DROP TABLE race.t_$1'${3:+, $3});"
}
{
	echo "SELECT migrate.revision(id => 'r01', down_revision => '{}', message => 'side-effect table',"
	echo "    upgrade => \$\$CREATE SCHEMA IF NOT EXISTS race;"
	echo "CREATE TABLE IF NOT EXISTS race.side_effects (revision text NOT NULL, pid int NOT NULL DEFAULT pg_backend_pid());"
	echo "INSERT INTO race.side_effects (revision) VALUES ('r01');"
	echo "CREATE TABLE IF NOT EXISTS race.t_r01 (id int)\$\$,"
	echo "    downgrade => 'DROP SCHEMA race CASCADE');"
	for i in $(seq 2 20); do						# r02 .. r20: 19
		rev "$(printf 'r%02d' "$i")" "{$(printf 'r%02d' $((i - 1)))}"
	done
	rev s01 '{r10}' "branch_labels => '{side}'"	# s01 .. s10: 10
	for i in $(seq 2 10); do
		if [ "$i" -eq 5 ]; then
			rev "$(printf 's%02d' "$i")" "{$(printf 's%02d' $((i - 1)))}" "depends_on => '{r15}'"
		else
			rev "$(printf 's%02d' "$i")" "{$(printf 's%02d' $((i - 1)))}"
		fi
	done
	rev m01 '{r20,s10}' "message => 'merge side, with an upgrade'"
	rev x01 '{m01}' "branch_labels => '{extra}'"	# x01 .. x04: 4
	rev x02 '{x01}' "depends_on => '{r20}'"
	rev x03 '{x02}'
	rev x04 '{x03}'
	rev r21 '{m01}'									# r21 .. r23: 3
	rev r22 '{r21}' "depends_on => '{x02}'"
	rev r23 '{r22}'
	echo "SELECT migrate.merge(ARRAY['r23', 'x04'], id => 'm02', message => 'merge extra');"
	echo "SELECT migrate.revision(id => 'r40', upgrade => $(side r40), downgrade => 'DROP TABLE race.t_r40', message => 'last');"
} > "$work/revisions.sql"
expected=$(grep -c '^SELECT' "$work/revisions.sql")	# 40
with_side=$((expected - 1))								# all but m02
head=r40

# The sessions start together: each first waits on a barrier (advisory lock
# (7, 7), a different lock tag from the runner's bigint key) that a gate
# session holds until all of them are queued behind it.
cat > "$work/gate.sql" <<EOF
DO \$\$
DECLARE
	deadline timestamptz := clock_timestamp() + interval '30 s';
BEGIN
	PERFORM pg_advisory_lock(7, 7);
	LOOP
		EXIT WHEN (SELECT count(*) FROM pg_locks
				   WHERE locktype = 'advisory' AND classid = 7 AND objid = 7
				     AND objsubid = 2 AND NOT granted
				     AND database = (SELECT oid FROM pg_database
				                     WHERE datname = current_database())) >= $sessions;
		IF clock_timestamp() > deadline THEN
			RAISE EXCEPTION 'only % of $sessions sessions reached the barrier',
				(SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
				 AND classid = 7 AND objid = 7 AND objsubid = 2 AND NOT granted);
		END IF;
		PERFORM pg_sleep(0.005);
	END LOOP;
	PERFORM pg_advisory_unlock(7, 7);
END
\$\$;
EOF
cat > "$work/session.sql" <<'EOF'
SELECT pg_advisory_lock_shared(7, 7) \g /dev/null
SELECT pg_advisory_unlock_shared(7, 7) \g /dev/null
SELECT 'rows=' || count(*) FROM migrate.upgrade('heads');
EOF

# gate_held: 0 when the gate session holds the barrier.
gate_held() {
	[ "$(psql_q -At -c "SELECT count(*) FROM pg_locks
		WHERE locktype = 'advisory' AND classid = 7 AND objid = 7
		  AND objsubid = 2 AND granted")" = 1 ]
}

reset() {
	psql_q -c 'SET client_min_messages = warning' \
		-c 'DROP EXTENSION IF EXISTS pg_migrate' \
		-c 'DROP SCHEMA IF EXISTS race CASCADE' \
		-c 'CREATE EXTENSION pg_migrate' &&
		psql_q -1 -f "$work/revisions.sql" > /dev/null
}

dropdb --if-exists "$db" >/dev/null 2>&1
createdb "$db" || { echo "1..0 # SKIP cannot create database $db"; exit 1; }

echo "1..$((trials * 7))"
n=0
fail=0
ok() {		# ok CONDITION-STATUS DESCRIPTION [DIAGNOSTICS]
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - trial $t: $2"
	else
		echo "not ok $n - trial $t: $2"
		[ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/# /'
		fail=1
	fi
}
start=$(date +%s)
for t in $(seq 1 "$trials"); do
	reset || { echo "Bail out! trial $t: could not reset $db"; exit 1; }

	PGAPPNAME=upgrade_race_gate timeout 120 psql -X -q -v ON_ERROR_STOP=1 -d "$db" \
		-f "$work/gate.sql" > "$work/gate.out" 2>&1 &
	gate=$!
	for _ in $(seq 1 1000); do		# at most ~10 s
		gate_held && break
		kill -0 "$gate" 2>/dev/null || break
		sleep 0.01
	done
	pids=()
	for s in $(seq 1 "$sessions"); do
		PGAPPNAME="upgrade_race_$s" timeout 120 psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" \
			-f "$work/session.sql" > "$work/out.$s" 2> "$work/err.$s" &
		pids+=($!)
	done
	bad=0
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || bad=$((bad + 1))
	done
	wait "$gate" || bad=$((bad + 1))

	# 1. every session exited 0 without an ERROR
	errs=$(cat "$work"/err.* | grep -E '^(psql:.*)?(ERROR|FATAL|PANIC)' | sort | uniq -c | head -5)
	[ "$bad" -eq 0 ] && [ -z "$errs" ]
	ok $? "$sessions sessions called upgrade('heads') at once, none failed" \
		"$bad process(es) exited non-zero$(printf '\n%s' "$errs" "$(cat "$work/gate.out")")"

	# 2. the rows add up to exactly the pending revisions, all from one session
	sum=0 winners=0 dist=""
	for s in $(seq 1 "$sessions"); do
		r=$(sed -n 's/^rows=//p' "$work/out.$s")
		r=${r:-none}
		dist="$dist $r"
		if [ "$r" != none ]; then
			sum=$((sum + r))
			[ "$r" -gt 0 ] && winners=$((winners + 1))
		fi
	done
	[ "$sum" -eq "$expected" ] && [ "$winners" -eq 1 ]
	ok $? "$winners session(s) applied $sum revisions, expected one session and $expected" \
		"rows per session:$dist"

	# 3. each loser said in a NOTICE that there was nothing left to do
	silent=""
	for s in $(seq 1 "$sessions"); do
		if [ "$(sed -n 's/^rows=//p' "$work/out.$s")" = 0 ] &&
			! grep -Eiq '(^|: )NOTICE: .*already' "$work/err.$s"; then
			silent="$silent $s"
		fi
	done
	[ -z "$silent" ]
	ok $? "every session that found nothing to do said so in a NOTICE" \
		"silent sessions:$silent"

	# 4-7. the database state
	if ! state=$(psql_q -At -F ' ' -c "
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
		printf '%s\n' "$state" | sed 's/^/# /'
		state=
	fi
	read -r se_rows se_revs se_bad se_tables applied current events ev_revs <<< "$state"
	[ "${se_rows:-}" = "$with_side" ] && [ "${se_revs:-}" = "$with_side" ] &&
		[ "${se_bad:-}" = - ] && [ "${se_tables:-}" = "$with_side" ]
	ok $? "each of $with_side upgrade side effects happened exactly once" \
		"side_effects rows ${se_rows:-?}, revisions ${se_revs:-?}, not once: ${se_bad:-?}, tables ${se_tables:-?}"
	[ "${applied:-}" = "$expected" ]
	ok $? "migrate.applied has $expected rows" "got ${applied:-?}"
	[ "${current:-}" = "$head" ]
	ok $? "migrate.current() is $head" "got ${current:-?}"
	[ "${events:-}" = "$expected" ] && [ "${ev_revs:-}" = "$expected" ]
	ok $? "$expected upgrade events, one per revision" \
		"got ${events:-?} events for ${ev_revs:-?} revisions"

	if [ "$fail" -ne 0 ] && [ -z "${keep_going:-}" ]; then
		for s in $(seq 1 "$sessions"); do
			grep -q . "$work/err.$s" && sed "s/^/# session $s: /" "$work/err.$s" | head -3
		done
		keep_going=1	# show the sessions' stderr of the first failing trial only
	fi
	rm -f "$work"/out.* "$work"/err.*
done
echo "# $trials trials of $sessions sessions in $(($(date +%s) - start)) s"
dropdb "$db" >/dev/null 2>&1
exit "$fail"
