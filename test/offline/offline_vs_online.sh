#!/usr/bin/env bash
# test/offline/offline_vs_online.sh: the script of migrate.upgrade_sql() /
# migrate.downgrade_sql(), run with psql -1 -f, must leave exactly the
# schema, data and migrate state that the online migrate.upgrade() /
# migrate.downgrade() leave.  Two databases get the same revisions; one
# migrates online, the other offline; pg_dump and the catalog are compared
# after each move.  Prints TAP; uses the PG* environment.

set -uo pipefail

online=pg_migrate_online
offline=pg_migrate_offline
work=$(mktemp -d)
trap 'rm -rf "$work"; dropdb --if-exists "$online" >/dev/null 2>&1; dropdb --if-exists "$offline" >/dev/null 2>&1' EXIT

q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }

cat > "$work/revisions.sql" <<'SQL'
SET pg_migrate.quiet = on;
SELECT migrate.revision(id => 'm1_models', down_revision => '{}',
    upgrade => $$CREATE TABLE models (id bigint PRIMARY KEY, name text NOT NULL UNIQUE);
                 INSERT INTO models VALUES (1, 'churn'), (2, 'fraud');$$,
    downgrade => $$DROP TABLE models$$, message => 'models, seeded');
SELECT migrate.revision(id => 'm2_versions',
    upgrade => $$CREATE TABLE model_versions (model_id bigint REFERENCES models, version int,
                 stage text NOT NULL DEFAULT 'dev', PRIMARY KEY (model_id, version));
                 -- one blessed version per model
                 CREATE UNIQUE INDEX one_prod ON model_versions (model_id) WHERE stage = 'prod';$$,
    downgrade => $$DROP TABLE model_versions$$, message => 'versions',
    verify => $$SELECT count(*) = 0 FROM model_versions$$);
SELECT migrate.revision(id => 'm3_features', down_revision => '{m1_models}', branch_labels => '{features}',
    upgrade => $$CREATE TYPE dtype AS ENUM ('int', 'float', 'text');
                 CREATE TABLE features (id serial PRIMARY KEY, name text, type dtype) -- trailing comment$$,
    downgrade => $$DROP TABLE features; DROP TYPE dtype$$, message => 'features');
SELECT migrate.merge(ARRAY['m2_versions', 'm3_features'], id => 'm4_merge', message => 'merge');
SELECT migrate.revision(id => 'm5_search_path', down_revision => '{m4_merge}',
    upgrade => $$CREATE SCHEMA reg; SET search_path = reg; CREATE TABLE audit (at timestamptz);$$,
    downgrade => $$DROP SCHEMA reg CASCADE$$, message => 'changes search_path');
SELECT migrate.revision(id => 'm6_after', down_revision => '{m5_search_path}',
    upgrade => $$CREATE TABLE after_path (id int); COMMENT ON TABLE after_path IS 'in public, not reg';$$,
    downgrade => $$DROP TABLE after_path$$, message => 'relies on search_path being restored');
SQL

for db in "$online" "$offline"; do
	dropdb --if-exists "$db" >/dev/null 2>&1
	createdb "$db" || exit 1
	q "$db" 'CREATE EXTENSION pg_migrate' || exit 1
	psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$work/revisions.sql" >/dev/null || exit 1
done

state()
{
	pg_dump --no-owner --exclude-schema=migrate "$1" | grep -v -e '^--' -e '^$' -e '^\\restrict' -e '^\\unrestrict' > "$work/$1.dump"
	q "$1" "SELECT revision || ' ' || applied_by || ' ' || checksum FROM migrate.applied ORDER BY revision" > "$work/$1.applied"
	q "$1" "SELECT kind || ' ' || coalesce(revision, '-') || ' ' || coalesce(target, '-') || ' ' ||
	               coalesce(checksum, '-') || ' ' || (duration IS NOT NULL)
	        FROM migrate.events WHERE kind IN ('upgrade', 'downgrade') ORDER BY id" > "$work/$1.events"
	q "$1" "SELECT coalesce(revision, 'DRIFT') || ' ' || coalesce(direction, '-') || ' ' || action || ' ' ||
	               object_type || ' ' || object_identity || ' ' || coalesce(old_identity, '-')
	        FROM migrate.object_changes ORDER BY id" > "$work/$1.lineage"
}

n=0
fail=0
compare()
{
	local what=$1 part
	state "$online"
	state "$offline"
	for part in dump applied events lineage; do
		n=$((n + 1))
		if diff -u "$work/$online.$part" "$work/$offline.$part" > "$work/diff"; then
			echo "ok $n - $what: same $part ($(wc -l < "$work/$online.$part") lines)"
		else
			echo "not ok $n - $what: $part differs (online -, offline +)"
			head -20 "$work/diff" | sed 's/^/# /'
			fail=1
		fi
	done
}

move()
{
	local label=$1 online_sql=$2 script_sql=$3
	q "$online" "SET pg_migrate.quiet = on; $online_sql" >/dev/null || { echo "not ok - $label: online call failed"; fail=1; }
	q "$offline" "$script_sql" > "$work/script.sql" || { echo "not ok - $label: writing the script failed"; fail=1; }
	psql -X -q -1 -v ON_ERROR_STOP=1 -d "$offline" -f "$work/script.sql" >/dev/null 2> "$work/err" ||
		{ echo "# script failed:"; sed 's/^/# /' "$work/err"; fail=1; }
	compare "$label"
}

echo "1..20"
move "upgrade to m3_features" "SELECT count(*) FROM migrate.upgrade('m3_features')" "SELECT migrate.upgrade_sql('m3_features')"
move "upgrade to heads" "SELECT count(*) FROM migrate.upgrade('heads')" "SELECT migrate.upgrade_sql('heads')"
move "downgrade -2" "SELECT count(*) FROM migrate.downgrade('-2')" "SELECT migrate.downgrade_sql('-2')"
move "downgrade to base" "SELECT count(*) FROM migrate.downgrade('base')" "SELECT migrate.downgrade_sql('base')"
move "upgrade from base again" "SELECT count(*) FROM migrate.upgrade('heads')" "SELECT migrate.upgrade_sql('heads', from_revision => 'base')"
exit "$fail"
