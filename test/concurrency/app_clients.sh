#!/usr/bin/env bash
# test/concurrency/app_clients.sh: application instances written in Python
# (psycopg2) and JavaScript (node-postgres) start at the same moment, each
# registering the revision files of test/clients/revisions and calling
# migrate.upgrade('heads') through its normal connection
# (test/clients/app_start.py, test/clients/app_start.js).
#
# Each trial starts CLIENT_PY (default 4) Python and CLIENT_JS (default 4)
# JavaScript clients against a fresh database and checks: every client exits
# 0; exactly one of them ran the steps (the others return no rows); every
# revision ran exactly once (app_migration_log, written by the revisions
# themselves); migrate.applied holds every revision; current() is the single
# head; migrate.events has one 'upgrade' event per revision.  From the second
# trial on, a session holds an ACCESS EXCLUSIVE lock on migrate.applied while
# the clients start, so that they all pile up and are let go at once.
#
# Then a release with a failing revision: on a database at the head, one
# Python and one JavaScript client load a copy of the revision files plus a
# good revision and a revision whose upgrade divides by zero.  Both must
# exit 3, name the failing revision and SQLSTATE 22012 (and the step 2/2 of
# the error's CONTEXT), and leave nothing of the call applied.
#
# Prints TAP.  Uses the PG* environment (a throwaway cluster from
# test/scripts/test.sh, or any server with pg_migrate installed).
# CLIENT_TRIALS (default 3) trials.  NODE (default /usr/bin/node) runs the
# JavaScript client with /usr/share/nodejs, where Debian's node-pg puts the
# pg module, appended to NODE_PATH (set NODE_PATH to use a pg module from
# elsewhere).  When node or the pg module is missing, Python clients take the
# JavaScript clients' places and the JavaScript checks are reported as
# "# SKIP"; when the node-pg package is installed but pg cannot be loaded,
# the script fails.

set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
clients=$(cd "$here/../clients" && pwd)
trials=${CLIENT_TRIALS:-3}
n_py=${CLIENT_PY:-4}
n_js=${CLIENT_JS:-4}
python=${PYTHON:-/usr/bin/python3}
node=${NODE:-/usr/bin/node}
export NODE_PATH=${NODE_PATH:+$NODE_PATH:}/usr/share/nodejs
db=pg_migrate_clients
export PGDATABASE=$db	# for the clients
work=$(mktemp -d)
lock_pid=

# shellcheck disable=SC2317  # called by the EXIT trap
cleanup()
{
	[ -n "$lock_pid" ] && kill "$lock_pid" 2>/dev/null
	dropdb --if-exists "$db" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

psql_q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
# q SQL: one row, fields separated by blanks; an error on one line.
q() { psql_q -F ' ' -c "$1" 2>&1 | tr '\n' ' ' | sed 's/ *$//'; }

# The server may be restarting (a development cluster): wait for it.
wait_server()
{
	local i
	for i in $(seq 1 60); do
		psql -X -q -At -d postgres -c 'SELECT 1' >/dev/null 2>&1 && return 0
		sleep 1
	done
	return 1
}

fresh_db()
{
	wait_server || return 1
	dropdb --if-exists "$db" >/dev/null 2>&1
	createdb "$db" && psql_q -c 'CREATE EXTENSION pg_migrate'
}

n=0
fail=0
ok()
{
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		fail=1
	fi
}
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $skip_js"; }
# diag FILE...: the files' contents as TAP comments.
diag() { local f; for f in "$@"; do sed "s|^|# $(basename "$f"): |" "$f"; done; }

# --- what is available ------------------------------------------------------

if ! "$python" -c 'import psycopg2' 2>/dev/null; then
	echo "1..0 # SKIP $python cannot import psycopg2"
	exit 0
fi
skip_js=
if [ ! -x "$node" ]; then
	skip_js="no $node"
elif ! "$node" -e "require('pg')" 2>/dev/null; then
	skip_js="$node cannot load the pg module (Debian package node-pg; NODE_PATH=$NODE_PATH)"
fi
if [ -n "$skip_js" ] && [ "$(dpkg-query -W -f='${Status}' node-pg 2>/dev/null)" = "install ok installed" ]; then
	# Installed but not loadable: a broken set-up, not a missing package.
	echo "1..1"
	echo "not ok 1 - node-pg is installed but $skip_js"
	exit 1
fi
if [ -n "$skip_js" ]; then
	# Python clients take the JavaScript clients' places.
	echo "# JavaScript clients skipped: $skip_js"
	n_py=$((n_py + n_js))
	n_js=0
fi
total=$((n_py + n_js))
revs=$(cat "$clients"/revisions/*.sql | grep -c "^SELECT migrate.revision(")
head=r7_predictions

if ! wait_server; then
	echo "1..0 # SKIP no server (PG* environment)"
	exit 1
fi

echo "1..$((trials * 8 + 10))"
echo "# $n_py Python and $n_js JavaScript clients, $revs revisions, $trials trial(s)"

# run_client KIND I DIR: one application instance; its output goes to
# $work/KIND_I.{out,err,rc}.
run_client()
{
	local kind=$1 i=$2 dir=$3 rc
	while [ ! -e "$work/go" ]; do sleep 0.01; done
	if [ "$kind" = py ]; then
		MIGRATE_REVISIONS=$dir PGAPPNAME="app_py_$i" \
			"$python" "$clients/app_start.py" > "$work/py_$i.out" 2> "$work/py_$i.err"
	else
		MIGRATE_REVISIONS=$dir PGAPPNAME="app_js_$i" \
			"$node" "$clients/app_start.js" > "$work/js_$i.out" 2> "$work/js_$i.err"
	fi
	rc=$?
	echo "$rc" > "$work/${kind}_$i.rc"
}

# start_clients DIR PY JS: start the clients, all waiting for $work/go.
start_clients()
{
	local i
	rm -f "$work"/go "$work"/*.out "$work"/*.err "$work"/*.rc
	pids=()
	for i in $(seq 1 "$2"); do run_client py "$i" "$1" & pids+=($!); done
	for i in $(seq 1 "$3"); do run_client js "$i" "$1" & pids+=($!); done
}

wait_clients()
{
	local p
	for p in "${pids[@]}"; do wait "$p"; done
}

# --- many instances start at once -------------------------------------------

for t in $(seq 1 "$trials"); do
	if ! fresh_db; then
		for i in $(seq 1 8); do ok 1 "trial $t: could not create database $db"; done
		continue
	fi
	mode="started together"
	start_clients "$clients/revisions" "$n_py" "$n_js"
	if [ "$t" -ge 2 ]; then
		# Hold every client back on migrate.applied, then let all go at once.
		mode="released together from a lock on migrate.applied"
		psql -X -q -d "$db" -c 'BEGIN' \
			-c 'LOCK TABLE migrate.applied IN ACCESS EXCLUSIVE MODE' \
			-c 'SELECT pg_sleep(1.5)' -c 'COMMIT' >/dev/null 2>&1 &
		lock_pid=$!
		sleep 0.3
	fi
	touch "$work/go"
	[ -n "$lock_pid" ] && { wait "$lock_pid"; lock_pid=; }
	wait_clients

	bad=0
	for f in "$work"/*.rc; do [ "$(cat "$f")" = 0 ] || bad=$((bad + 1)); done
	ok $((bad != 0)) "trial $t ($mode): all $total clients exited 0"
	[ "$bad" = 0 ] || diag "$work"/*.err

	# Step lines look like "[3] upgrade r3_features: ...".
	workers=$(grep -l '^\[[0-9]*\] upgrade ' "$work"/*.out | wc -l)
	steps=$(cat "$work"/*.out | grep -c '^\[[0-9]*\] upgrade ')
	ok $((workers != 1 || steps != revs)) \
		"trial $t: one client ran the $revs steps (clients with steps: $workers, step lines: $steps)"

	quiet=0
	for f in "$work"/*.out; do
		grep -q '^\[[0-9]*\] ' "$f" && continue
		grep -q '^NOTICE: ' "$f" && quiet=$((quiet + 1))
	done
	ok $((quiet != total - 1)) \
		"trial $t: the other $((total - 1)) clients returned no steps and printed a NOTICE ($quiet did)"
	[ "$quiet" = $((total - 1)) ] || diag "$work"/*.out
	echo "# trial $t: $(grep -l 'NOTICE: .*waiting' "$work"/*.out | wc -l) client(s) reported waiting for the migration lock"

	read -r rows distinct pids_ < <(q "SELECT count(*), count(DISTINCT revision), count(DISTINCT pid) FROM app_migration_log")
	[ "$rows" = "$revs" ] && [ "$distinct" = "$revs" ] && [ "$pids_" = 1 ]
	ok $? \
		"trial $t: every revision ran exactly once, in one backend ($rows runs of $distinct revisions, $pids_ backend(s))"

	missing=$(q "SELECT count(*) FROM migrate.revisions r
	                      WHERE NOT EXISTS (SELECT FROM migrate.applied a WHERE a.revision = r.id)")
	applied=$(q "SELECT count(*) FROM migrate.applied")
	[ "$missing" = 0 ] && [ "$applied" = "$revs" ]
	ok $? \
		"trial $t: migrate.applied holds all $revs revisions ($applied applied, $missing registered but not applied)"

	current=$(q "SELECT string_agg(revision, ',') FROM migrate.current()")
	[ "$current" = "$head" ]
	ok $? \
		"trial $t: current() is the single head $head (got: $current)"

	read -r ev_total ev_distinct < <(q "SELECT count(*), count(DISTINCT revision) FROM migrate.events WHERE kind = 'upgrade'")
	[ "$ev_total" = "$revs" ] && [ "$ev_distinct" = "$revs" ]
	ok $? \
		"trial $t: one 'upgrade' event per revision ($ev_total events for $ev_distinct revisions)"

	registered=$(q "SELECT count(*) FROM migrate.events WHERE kind = 'register'")
	[ "$registered" = "$revs" ]
	ok $? \
		"trial $t: each revision registered once by $total clients ($registered register events)"
done

# --- a release with a failing revision --------------------------------------

cp -r "$clients/revisions" "$work/bad"
cat > "$work/bad/008_model_tags.sql" <<'EOF'
SELECT migrate.revision(
    id            => 'r8_tags',
    down_revision => '{r7_predictions}',
    upgrade       => $$
        CREATE TABLE model_tags (model_id bigint NOT NULL REFERENCES models, tag text NOT NULL);
        INSERT INTO app_migration_log (revision, pid) VALUES ('r8_tags', pg_backend_pid());
    $$,
    downgrade     => $$
        DROP TABLE model_tags;
        DELETE FROM app_migration_log WHERE revision = 'r8_tags';
    $$,
    message       => 'create model_tags');
EOF
cat > "$work/bad/009_broken.sql" <<'EOF'
SELECT migrate.revision(
    id            => 'r9_broken',
    down_revision => '{r8_tags}',
    upgrade       => $$
        INSERT INTO app_migration_log (revision, pid) VALUES ('r9_broken', pg_backend_pid());
        SELECT 1 / 0;
    $$,
    downgrade     => $$SELECT 1$$,
    message       => 'divide by zero');
EOF

failed_setup=0
if fresh_db; then
	MIGRATE_REVISIONS=$clients/revisions "$python" "$clients/app_start.py" \
		> "$work/setup.out" 2>&1 || failed_setup=1
else
	failed_setup=1
fi
ok "$failed_setup" "failing release: the database is at $head first"
[ "$failed_setup" = 0 ] || diag "$work/setup.out"

start_clients "$work/bad" 1 $((n_js > 0 ? 1 : 0))
touch "$work/go"
wait_clients

for kind in py js; do
	name=Python
	[ "$kind" = js ] && name=JavaScript
	if [ "$kind" = js ] && [ -n "$skip_js" ]; then
		skip "failing release: the $name client exits 3"
		skip "failing release: the $name client names r9_broken and SQLSTATE 22012"
		skip "failing release: the $name client shows the CONTEXT naming the revision and step 2/2"
		continue
	fi
	rc=$(cat "$work/${kind}_1.rc" 2>/dev/null)
	[ "$rc" = 3 ]
	ok $? "failing release: the $name client exits 3 (got: $rc)"
	grep -q 'r9_broken.*SQLSTATE 22012' "$work/${kind}_1.err"
	ok $? "failing release: the $name client names r9_broken and SQLSTATE 22012"
	grep -q 'r9_broken.*step 2/2' "$work/${kind}_1.err"
	ok $? "failing release: the $name client shows the CONTEXT naming the revision and step 2/2"
	diag "$work/${kind}_1.err"
done

read -r applied rows tags events < <(q "SELECT (SELECT count(*) FROM migrate.applied),
	        (SELECT count(*) FROM app_migration_log),
	        to_regclass('model_tags') IS NOT NULL,
	        (SELECT count(*) FROM migrate.events WHERE kind = 'upgrade')")
[ "$applied" = "$revs" ] && [ "$rows" = "$revs" ] && [ "$tags" = f ] && [ "$events" = "$revs" ]
ok $? \
	"failing release: nothing of the call was applied ($applied applied, $rows log rows, model_tags exists: $tags, $events upgrade events)"

current=$(q "SELECT string_agg(revision, ',') FROM migrate.current()")
[ "$current" = "$head" ]
ok $? \
	"failing release: current() is still $head (got: $current)"

registered=$(q "SELECT count(*) FROM migrate.revisions WHERE id IN ('r8_tags', 'r9_broken')")
[ "$registered" = 2 ]
ok $? \
	"failing release: its revisions stay registered, for the fixed release to replace ($registered of 2)"

exit "$fail"
