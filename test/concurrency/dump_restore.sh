#!/usr/bin/env bash
# test/concurrency/dump_restore.sh: pg_dump keeps pg_migrate's catalog.  A
# database with the model registry example (test/registry/*.sql, upgraded to
# heads, with test/demo/registry_seed.sql) is dumped in the custom format
# and restored with pg_restore into a new database; there the recorded state
# (current, applied, events, object_changes, lineage) must be the one of the
# original, validate() must find no error, and the monitoring branch must go
# down and up again with the data intact.  Prints TAP; uses the PG*
# environment.

set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
a=pg_migrate_dump_a
b=pg_migrate_dump_b
work=$(mktemp -d)
trap 'rm -rf "$work"; dropdb --force --if-exists "$a" >/dev/null 2>&1; dropdb --force --if-exists "$b" >/dev/null 2>&1' EXIT

q() {	# q DB SQL: one value or rows, unaligned
	psql -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"
}

for db in "$a" "$b"; do
	dropdb --force --if-exists "$db" >/dev/null 2>&1
done
createdb "$a" || exit 1
{
	echo 'SET pg_migrate.quiet = on;'
	echo 'CREATE EXTENSION pg_migrate;'
	# the revision files in reverse order: parents are registered after their children
	for f in $(ls "$root"/test/registry/*.sql | sort -r); do
		echo "\\i $f"
	done
	echo "SELECT count(*) FROM migrate.upgrade('heads');"
	echo "\\i $root/test/demo/registry_seed.sql"
} > "$work/setup.sql"
if ! psql -X -q -v ON_ERROR_STOP=1 -d "$a" -f "$work/setup.sql" > "$work/setup.out" 2>&1; then
	echo "Bail out! setting up $a failed"
	sed 's/^/# /' "$work/setup.out"
	exit 1
fi

echo "1..14"
fail=0
n=0
check() {	# check DESCRIPTION CONDITION-EXIT-STATUS [DIAGNOSTICS]
	n=$((n + 1))
	if [ "$2" -eq 0 ]; then
		echo "ok $n - $1"
	else
		fail=1
		echo "not ok $n - $1"
		[ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/# /'
	fi
}
same() {	# same DESCRIPTION SQL: the query gives the same rows in A and in B
	local va vb
	va=$(q "$a" "$2" 2>&1)
	vb=$(q "$b" "$2" 2>&1)
	[ "$va" = "$vb" ] && [ -n "$va" ]
	check "$1" $? "$(printf 'A: %.600s\nB: %.600s' "$va" "$vb")"
}

# 1. dump A, restore into B
start=$(date +%s%N)
pg_dump -Fc -d "$a" -f "$work/a.dump" > "$work/dump.out" 2>&1 &&
	createdb "$b" >> "$work/dump.out" 2>&1 &&
	pg_restore --exit-on-error -d "$b" "$work/a.dump" >> "$work/dump.out" 2>&1
check "pg_dump -Fc of $a restores into $b with pg_restore ($(( ($(date +%s%N) - start) / 1000000 )) ms)" $? \
	"$(cat "$work/dump.out")"

# 2-9. the recorded state came along
same "migrate.current() is the same in the restored database" \
	"SELECT string_agg(revision, ',' ORDER BY revision) FROM migrate.current()"
same "migrate.applied has the same rows (revision, checksum) in the restored database" \
	"SELECT count(*) || ': ' || string_agg(revision || '=' || checksum, ',' ORDER BY revision) FROM migrate.applied"
same "migrate.events has the same number of rows in the restored database" \
	"SELECT count(*) FROM migrate.events"
same "migrate.object_changes has the same number of rows in the restored database" \
	"SELECT count(*) FROM migrate.object_changes"
same "migrate.lineage('public.model_versions.stage') is the same in the restored database" \
	"SELECT string_agg(concat_ws('/', revision, action, object_identity), ', ') FROM migrate.lineage('public.model_versions.stage')"
out=$(q "$b" "SELECT revision || ': ' || problem FROM migrate.validate() WHERE severity = 'error'" 2>&1)
[ -z "$out" ]
check "migrate.validate() reports no error in the restored database" $? "$out"
same "migrate.validate() gives the same rows as in the original (the restore is no drift)" \
	"SELECT count(*) || ': ' || coalesce(string_agg(concat_ws('/', severity, revision, problem), ', ' ORDER BY severity, revision, problem), '') FROM migrate.validate()"
same "migrate.objects is the same in the restored database (created_by, last_changed_by)" \
	"SELECT count(*) || ': ' || string_agg(concat_ws('/', object_identity, created_by, last_changed_by), ', ' ORDER BY object_identity) FROM migrate.objects"

# 10-12. the monitoring branch down and up again in the restored database, in
# one session that has read the graph first (its cache must hold the restored rows)
counts="SELECT concat_ws(',', (SELECT count(*) FROM models), (SELECT count(*) FROM model_versions),
	(SELECT count(*) FROM features), (SELECT count(*) FROM model_version_inputs),
	(SELECT count(*) FROM promotion_events))"
before=$(q "$b" "$counts" 2>&1)
out=$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$b" 2>&1 <<SQL
SET pg_migrate.quiet = on;
SELECT 'status:' || pending FROM migrate.status();
BEGIN;
SELECT 'down:' || string_agg(revision, ',' ORDER BY step) FROM migrate.downgrade('monitoring@r04_promotion_audit');
SELECT 'current:' || string_agg(revision, ',') FROM migrate.current();
SELECT 'up:' || string_agg(revision, ',' ORDER BY revision) FROM migrate.upgrade('heads');
COMMIT;
SELECT 'status:' || pending FROM migrate.status();
SQL
)
rc=$?
want="status:0
down:r10_artifact_url,r09_framework,r08_merge,r05_monitoring
current:r07_catalog_tags
up:r05_monitoring,r08_merge,r09_framework,r10_artifact_url
status:0"
[ "$rc" -eq 0 ] && [ "$out" = "$want" ]
check "in the restored database, downgrade('monitoring@r04_promotion_audit') and upgrade('heads') run" $? \
	"$(printf 'got:\n%s\nwanted:\n%s' "$out" "$want")"
after=$(q "$b" "$counts" 2>&1)
[ -n "$before" ] && [ "$before" = "$after" ]
check "the seed data survives the branch going down and up ($after rows)" $? \
	"$(printf 'before: %s\nafter:  %s' "$before" "$after")"
out=$(q "$b" "SELECT revision || ': ' || problem FROM migrate.validate() WHERE severity = 'error'" 2>&1)
[ -z "$out" ]
check "migrate.validate() reports no error after the branch went down and up" $? "$out"

# 13. the new steps are logged after the restored events (events_id_seq came along)
amax=$(q "$a" "SELECT max(id) FROM migrate.events" 2>&1)
out=$(q "$b" "SELECT count(*) FILTER (WHERE id > $amax) || '/' || count(*) FILTER (WHERE id <= $amax) FROM migrate.events" 2>&1)
[ "$out" = "8/$(q "$a" "SELECT count(*) FROM migrate.events")" ]
check "the restored database logs the 8 new steps after the restored events" $? \
	"events of B after / up to A's last id $amax: $out"

# 14. the original database is untouched
same_a=$(q "$a" "SELECT string_agg(revision, ',' ORDER BY revision) FROM migrate.current()" 2>&1)
[ "$same_a" = r10_artifact_url ]
check "the original database is still at r10_artifact_url" $? "current: $same_a"

exit "$fail"
