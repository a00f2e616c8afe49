#!/usr/bin/env bash
# test/concurrency/deploy_race.sh: CALL migrate.deploy() and
# migrate.upgrade() racing each other.  Deploy takes the migration lock
# once per revision and commits in between, so upgrades and other deploys
# slip in between its revisions; every revision must still run exactly once,
# and no session may fail.
#
# The graph: 20 ordinary revisions r01..r20, each inserting a row into
# race.side_effects and creating a table (IF NOT EXISTS, no unique
# constraint: a double apply shows as a count of 2, not as an error), then
# c01, registered with transactional => false (CREATE INDEX CONCURRENTLY,
# run by deploy in a background worker), then r21..r25.  Half the sessions
# call upgrade('r20') (upgrade() refuses c01, so they stop before it), the
# other half CALL migrate.deploy(); half of those run under REPEATABLE
# READ.  The sessions start together behind a barrier (advisory lock (7, 8)).
#
# Per trial, one TAP line each:
#   1. every session exited 0 with no ERROR
#   2. each side effect happened exactly once
#   3. migrate.applied has every revision; migrate.current() is r25
#   4. one upgrade event per revision, each in a transaction of its own
#      when deploy ran it
#   5. the index of c01 exists, is valid, and its lineage is c01's
# and once: 6. the deploy that applied revisions said so in NOTICEs of the
# form "[n/m] upgrade id message (0.12 s)".
#
# Prints TAP.  Uses the PG* environment.  DEPLOY_SESSIONS (default 8),
# DEPLOY_TRIALS (default 4).

set -uo pipefail

sessions=${DEPLOY_SESSIONS:-8}
trials=${DEPLOY_TRIALS:-4}
db=pg_migrate_deploy_race
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

export PGOPTIONS="${PGOPTIONS:-} -c statement_timeout=60s -c client_min_messages=notice"

psql_q() { timeout 120 psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }

side() {	# side-effect SQL of revision $1
	printf "\$\$INSERT INTO race.side_effects (revision, xid) VALUES ('%s', pg_current_xact_id());\nCREATE TABLE IF NOT EXISTS race.t_%s (id int)\$\$" "$1" "$1"
}
{
	echo "SELECT migrate.revision(id => 'r01', down_revision => '{}', message => 'side-effect table',"
	echo "    upgrade => \$\$CREATE SCHEMA IF NOT EXISTS race;"
	echo "CREATE TABLE IF NOT EXISTS race.side_effects (revision text NOT NULL, xid xid8 NOT NULL);"
	echo "CREATE TABLE IF NOT EXISTS race.items AS SELECT g AS id, g % 97 AS v FROM generate_series(1, 20000) g;"
	echo "INSERT INTO race.side_effects (revision, xid) VALUES ('r01', pg_current_xact_id())\$\$);"
	for i in $(seq 2 20); do
		id=$(printf 'r%02d' "$i")
		echo "SELECT migrate.revision(id => '$id', message => 'revision $i', upgrade => $(side "$id"));"
	done
	echo "SELECT migrate.revision(id => 'c01', message => 'index on items', transactional => false,"
	echo "    upgrade => 'CREATE INDEX CONCURRENTLY items_v ON race.items (v)');"
	for i in $(seq 21 25); do
		id=$(printf 'r%02d' "$i")
		echo "SELECT migrate.revision(id => '$id', message => 'revision $i', upgrade => $(side "$id"));"
	done
} > "$work/revisions.sql"
expected=26
with_side=25

cat > "$work/gate.sql" <<EOF
DO \$\$
DECLARE
	deadline timestamptz := clock_timestamp() + interval '30 s';
BEGIN
	PERFORM pg_advisory_lock(7, 8);
	LOOP
		EXIT WHEN (SELECT count(*) FROM pg_locks
				   WHERE locktype = 'advisory' AND classid = 7 AND objid = 8
				     AND objsubid = 2 AND NOT granted
				     AND database = (SELECT oid FROM pg_database
				                     WHERE datname = current_database())) >= $sessions;
		IF clock_timestamp() > deadline THEN
			RAISE EXCEPTION 'not every session reached the barrier';
		END IF;
		PERFORM pg_sleep(0.005);
	END LOOP;
	PERFORM pg_advisory_unlock(7, 8);
END
\$\$;
EOF
barrier='SELECT pg_advisory_lock_shared(7, 8) \g /dev/null
SELECT pg_advisory_unlock_shared(7, 8) \g /dev/null'
printf '%s\n%s\n' "$barrier" "SELECT 'rows=' || count(*) FROM migrate.upgrade('r20');" > "$work/upgrade.sql"
printf '%s\n%s\n' "$barrier" "CALL migrate.deploy();" > "$work/deploy.sql"

gate_held() {
	[ "$(psql_q -At -c "SELECT count(*) FROM pg_locks
		WHERE locktype = 'advisory' AND classid = 7 AND objid = 8
		  AND objsubid = 2 AND granted")" = 1 ]
}

reset() {
	psql_q -c 'SET client_min_messages = warning' \
		-c 'DROP EXTENSION IF EXISTS pg_migrate' \
		-c 'DROP SCHEMA IF EXISTS race CASCADE' \
		-c 'CREATE EXTENSION pg_migrate' &&
		psql_q -1 -f "$work/revisions.sql" > /dev/null
}

dropdb --force --if-exists "$db" >/dev/null 2>&1
createdb "$db" || { echo "Bail out! cannot create database $db"; exit 1; }

echo "1..$((trials * 5 + 1))"
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
start=$(date +%s)
notices_ok=1
notice_example=
for t in $(seq 1 "$trials"); do
	reset || { echo "Bail out! trial $t: could not reset $db"; exit 1; }

	timeout 120 psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$work/gate.sql" > "$work/gate.out" 2>&1 &
	gate=$!
	for _ in $(seq 1 1000); do
		gate_held && break
		kill -0 "$gate" 2>/dev/null || break
		sleep 0.01
	done
	pids=()
	for s in $(seq 1 "$sessions"); do
		if [ $((s % 2)) -eq 0 ]; then
			opts=""
			[ $((s % 4)) -eq 0 ] && opts="-c default_transaction_isolation=repeatable\\ read"
			PGOPTIONS="$PGOPTIONS $opts" PGAPPNAME="deploy_race_$s" timeout 120 \
				psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -f "$work/deploy.sql" \
				> "$work/out.$s" 2> "$work/err.$s" &
		else
			PGAPPNAME="upgrade_race_$s" timeout 120 \
				psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -f "$work/upgrade.sql" \
				> "$work/out.$s" 2> "$work/err.$s" &
		fi
		pids+=($!)
	done
	bad=0
	for p in "${pids[@]}"; do
		wait "$p" || bad=$((bad + 1))
	done
	wait "$gate" || bad=$((bad + 1))

	errs=$(cat "$work"/err.* "$work/gate.out" | grep -E '(ERROR|FATAL|PANIC)' | sort | uniq -c | head -5)
	[ "$bad" -eq 0 ] && [ -z "$errs" ]
	ok $? "trial $t: $sessions sessions (deploy and upgrade) at once, none failed" \
		"$bad process(es) exited non-zero$(printf '\n%s' "$errs")"

	state=$(psql_q -At -F ' ' -c "
		SELECT (SELECT count(*) FROM race.side_effects),
		       (SELECT count(DISTINCT revision) FROM race.side_effects),
		       (SELECT coalesce(string_agg(revision || ':' || c, ','), '-') FROM
		          (SELECT revision, count(*) AS c FROM race.side_effects
		           GROUP BY revision HAVING count(*) <> 1) d),
		       (SELECT count(*) FROM migrate.applied),
		       (SELECT coalesce(string_agg(revision, ','), '-') FROM migrate.current()),
		       (SELECT count(*) FROM migrate.events WHERE kind = 'upgrade'),
		       (SELECT count(DISTINCT revision) FROM migrate.events WHERE kind = 'upgrade'),
		       (SELECT count(*) FROM migrate.events WHERE kind = 'failure'),
		       (SELECT coalesce(bool_and(indisvalid)::text, 'none') FROM pg_index
		          WHERE indexrelid = to_regclass('race.items_v')),
		       (SELECT count(*) FROM migrate.object_changes
		          WHERE revision = 'c01' AND object_identity = 'race.items_v')" 2>&1) || {
		printf '%s\n' "$state" | sed 's/^/# /'
		state=
	}
	read -r se_rows se_revs se_bad applied current events ev_revs failures valid lineage <<< "$state"
	[ "${se_rows:-}" = "$with_side" ] && [ "${se_revs:-}" = "$with_side" ] && [ "${se_bad:-}" = - ]
	ok $? "trial $t: each of $with_side side effects happened exactly once" \
		"rows ${se_rows:-?}, revisions ${se_revs:-?}, not once: ${se_bad:-?}"
	[ "${applied:-}" = "$expected" ] && [ "${current:-}" = r25 ]
	ok $? "trial $t: $expected revisions applied, current is r25" \
		"applied ${applied:-?}, current ${current:-?}"
	[ "${events:-}" = "$expected" ] && [ "${ev_revs:-}" = "$expected" ] && [ "${failures:-}" = 0 ]
	ok $? "trial $t: one upgrade event per revision, no failure" \
		"events ${events:-?} for ${ev_revs:-?} revisions, failures ${failures:-?}"
	[ "${valid:-}" = true ] && [ "${lineage:-}" = 1 ]
	ok $? "trial $t: the index of c01 is valid and recorded as c01's" \
		"valid ${valid:-?}, lineage rows ${lineage:-?}"

	echo "# trial $t, revisions applied per session: $(psql_q -At -c "
		SELECT string_agg(application_name || '=' || c, ' ' ORDER BY first)
		FROM (SELECT application_name, count(*) AS c, min(id) AS first
		      FROM migrate.events WHERE kind = 'upgrade' GROUP BY 1) x")"

	# the progress NOTICEs of the deploys
	for s in $(seq 2 2 "$sessions"); do
		while IFS= read -r line; do
			if ! printf '%s\n' "$line" | grep -Eq '^psql:.*NOTICE:  \[[0-9]+/[0-9]+\] upgrade [a-z0-9]+ .+ \([0-9]+\.[0-9]{2} s\)$'; then
				notices_ok=0
				notice_example=$line
			elif [ -z "$notice_example" ]; then
				notice_example=$line
			fi
		done < <(grep 'NOTICE:  \[' "$work/err.$s")
	done
	rm -f "$work"/out.* "$work"/err.*
done
[ "$notices_ok" = 1 ] && [ -n "$notice_example" ]
ok $? "deploy's progress NOTICEs read \"[n/m] upgrade id message (0.12 s)\"" "${notice_example:-no NOTICE seen}"
echo "# $trials trials of $sessions sessions in $(($(date +%s) - start)) s"
dropdb --force "$db" >/dev/null 2>&1
exit "$fail"
