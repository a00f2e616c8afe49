#!/usr/bin/env bash
# test/replica/standby.sh: pg_migrate on a streaming hot standby.
#
# Builds its own primary and standby on this machine (initdb and
# pg_basebackup -R as the server user in a temporary directory, loopback
# ports, both loading pg_migrate from the same extension_destdir), then:
#
#   - every read function answers on the standby exactly what it answers on
#     the primary (status, heads, bases, branches, current, history, show,
#     resolve, plan, lineage, objects, validate, fingerprint, describe, and
#     upgrade_sql / downgrade_sql, which only write text);
#   - every write function refuses at once on the standby with SQLSTATE
#     25006, a message naming it and a hint to run it on the primary
#     (upgrade, downgrade, revision, merge, both stamps, repair,
#     check_roundtrip, the offline script calls; deploy, backfill and
#     backfill_reset too when this build has them);
#   - after an upgrade on the primary, once the standby has replayed it, a
#     standby session that had already read the state (and cached the
#     graph) shows the same current revisions, status and schema
#     fingerprint as the primary.
#
# Prints TAP (the plan at the end).  Needs no running server: PGM_SERVER_DESTDIR (set by
# test/scripts/test.sh and replica.sh) or build/destdir holds the built
# extension.  Takes about 10 s.

set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../scripts/cluster.sh
. "$root/test/scripts/cluster.sh"

destdir=${PGM_SERVER_DESTDIR:-$root/build/destdir}
db=pg_migrate_standby
work=$(pgm_cl_tmpdir) || { echo "Bail out! cannot create a temporary directory"; exit 1; }
primary=$work/primary
standby=$work/standby

cleanup()
{
	[ -f "$standby/data/postmaster.pid" ] && pgm_cl_stop "$standby" immediate
	[ -f "$primary/data/postmaster.pid" ] && pgm_cl_stop "$primary" immediate
	rm -rf "$work"
}
trap cleanup EXIT

n=0
failed=0
ok()
{
	n=$((n + 1))
	echo "ok $n - $1"
}
not_ok()
{
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
	[ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/# /'
	return 0
}
bail()
{
	echo "Bail out! $1"
	[ -f "$primary/server.log" ] && tail -20 "$primary/server.log" | sed 's/^/# primary: /'
	[ -f "$standby/server.log" ] && tail -20 "$standby/server.log" | sed 's/^/# standby: /'
	exit 1
}

on_primary() { pgm_cl_psql "$primary" -d "$db" -v ON_ERROR_STOP=1 "$@"; }
on_standby() { pgm_cl_psql "$standby" -d "$db" -v ON_ERROR_STOP=1 "$@"; }

# --- the two servers ---------------------------------------------------
mkdir -p "$primary" "$standby" || bail "cannot create $work"
if [ "$(id -u)" = 0 ]; then
	chown postgres: "$primary" "$standby" || bail "cannot give $work to postgres"
fi
base=$((20000 + RANDOM % 30000))
pport=$(pgm_cl_free_port "$base") || bail "no free port"
sport=$(pgm_cl_free_port $((pport + 1))) || bail "no free port"
pgm_cl_init "$primary" "$pport" "$destdir" "wal_level = replica" "max_wal_senders = 4" \
	|| bail "initdb of the primary failed"
pgm_cl_start "$primary" || bail "the primary did not start"

pgm_cl_psql "$primary" -d postgres -q -c "CREATE DATABASE $db" || bail "createdb failed"
PGOPTIONS="-c client_min_messages=warning" on_primary -q <<'SQL' >/dev/null || bail "could not set up the primary"
CREATE EXTENSION pg_migrate;
SELECT migrate.revision(id => 's1', down_revision => '{}', message => 'items',
    upgrade => 'CREATE TABLE items (id int PRIMARY KEY, name text)',
    downgrade => 'DROP TABLE items');
SELECT migrate.revision(id => 's2', message => 'price',
    upgrade => 'ALTER TABLE items ADD COLUMN price numeric',
    downgrade => 'ALTER TABLE items DROP COLUMN price');
SELECT migrate.revision(id => 'b1', down_revision => '{s2}', branch_labels => '{side}',
    message => 'tags', upgrade => 'CREATE TABLE tags (id int)', downgrade => 'DROP TABLE tags');
SELECT migrate.revision(id => 's3', down_revision => '{s2}', message => 'items index',
    upgrade => 'CREATE INDEX items_name ON items (name)', downgrade => 'DROP INDEX items_name');
SELECT count(*) FROM migrate.upgrade('s2');
SQL

# the base backup: a standby streaming from the primary
pgm_cl_as_server "$PGM_PG_BINDIR/pg_basebackup" -h 127.0.0.1 -p "$pport" -U postgres \
	-D "$standby/data" -R -X stream -c fast >"$standby/basebackup.log" 2>&1 ||
	{ cat "$standby/basebackup.log"; bail "pg_basebackup failed"; }
{
	echo "port = $sport"
	echo "unix_socket_directories = '$standby'"
	echo "hot_standby = on"
} | pgm_cl_as_server tee -a "$standby/data/postgresql.conf" >/dev/null
echo "$sport" | pgm_cl_as_server tee "$standby/port" >/dev/null
pgm_cl_start "$standby" || bail "the standby did not start"
pgm_cl_wait_ready "$standby" || bail "the standby does not accept connections"

# wait_replay: until the standby has replayed everything the primary wrote
wait_replay()
{
	local lsn
	lsn=$(pgm_cl_psql "$primary" -d postgres -Atc 'SELECT pg_current_wal_lsn()') || return 1
	for _ in $(seq 1 300); do
		if [ "$(pgm_cl_psql "$standby" -d postgres -Atc \
			"SELECT pg_last_wal_replay_lsn() >= '$lsn'::pg_lsn")" = t ]; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}
wait_replay || bail "the standby did not replay the primary's WAL within 30 s"

# --- 1. it is a hot standby ----------------------------------------------
if [ "$(on_standby -Atc 'SELECT pg_is_in_recovery()')" = t ]; then
	ok "the standby is in recovery (a hot standby)"
else
	not_ok "the standby is in recovery (a hot standby)"
fi

# --- 2. read functions: the same answer on both servers --------------------
has() { [ "$(on_primary -Atc "SELECT count(*) FROM pg_proc WHERE pronamespace = 'migrate'::regnamespace AND proname = '$1'")" != 0 ]; }

reads=(
	"SELECT * FROM migrate.status()"
	"SELECT * FROM migrate.heads()"
	"SELECT * FROM migrate.bases()"
	"SELECT * FROM migrate.branches()"
	"SELECT * FROM migrate.current()"
	"SELECT * FROM migrate.history()"
	"SELECT * FROM migrate.show('s2')"
	"SELECT * FROM migrate.resolve('side@head')"
	"SELECT * FROM migrate.plan('heads')"
	"SELECT * FROM migrate.plan('base', 'downgrade')"
	"SELECT revision, direction, action, command, object_identity FROM migrate.lineage('public.items.price')"
	"SELECT object_type, object_identity, created_by, last_changed_by FROM migrate.objects ORDER BY 2"
	"SELECT * FROM migrate.validate()"
	"SELECT migrate.fingerprint()"
	"SELECT * FROM migrate.describe()"
	"SELECT migrate.upgrade_sql('heads')"
	"SELECT migrate.downgrade_sql('base')"
)
if has lint; then
	# every finding, however small the table (the default weighs them out)
	reads+=("SET pg_migrate.lint_min_rows = 0; SELECT * FROM migrate.lint('CREATE INDEX items_name ON items (name)')")
fi
for q in "${reads[@]}"; do
	p_out=$(on_primary -At -c "$q" 2>&1)
	p_rc=$?
	s_out=$(on_standby -At -c "$q" 2>&1)
	s_rc=$?
	if [ "$p_rc" -eq 0 ] && [ "$s_rc" -eq 0 ] && [ "$p_out" = "$s_out" ] && [ -n "$p_out" ]; then
		ok "on the standby as on the primary: $q"
	else
		not_ok "on the standby as on the primary: $q" \
			"primary (exit $p_rc): $p_out"$'\n'"standby (exit $s_rc): $s_out"
	fi
done

# --- 3. write functions: 25006 at once, with a hint ------------------------
# refuses NAME SQL: the call fails with 25006, names NAME, hints at the
# primary, and comes back fast (it neither waits for nor locks anything).
refuses()
{
	local name=$1 sql=$2 out rc start ms
	start=$(date +%s%N)
	out=$(on_standby -c '\set VERBOSITY verbose' -c "$sql" 2>&1)
	rc=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	if [ "$rc" -ne 0 ] &&
		grep -q "ERROR:  25006: $name cannot run on a hot standby" <<<"$out" &&
		grep -q "HINT:  Run it on the primary" <<<"$out" &&
		[ "$ms" -lt 5000 ]; then
		ok "$name refuses on the standby: 25006 with a hint to use the primary (${ms} ms)"
	else
		not_ok "$name refuses on the standby: 25006 with a hint to use the primary" \
			"exit $rc after ${ms} ms: $out"
	fi
}
refuses "migrate.upgrade()" "SELECT * FROM migrate.upgrade('heads')"
refuses "migrate.downgrade()" "SELECT * FROM migrate.downgrade('base')"
refuses "migrate.revision()" "SELECT migrate.revision(id => 'x1', upgrade => 'CREATE TABLE x1 (id int)')"
refuses "migrate.merge()" "SELECT migrate.merge(ARRAY['s3', 'b1'])"
refuses "migrate.stamp()" "SELECT * FROM migrate.stamp('heads')"
refuses "migrate.stamp()" "SELECT * FROM migrate.stamp(ARRAY['s3', 'b1'], purge => true)"
refuses "migrate.repair()" "SELECT * FROM migrate.repair(reason => 'reviewed')"
refuses "migrate.check_roundtrip()" "SELECT * FROM migrate.check_roundtrip('heads')"
refuses "migrate.offline_begin()" "BEGIN; SELECT migrate.offline_begin('upgrade', 'heads', ARRAY['s2']); COMMIT"
refuses "migrate.offline_verify()" "SELECT migrate.offline_verify('s3', 'SELECT true')"
refuses "migrate.offline_record()" "SELECT migrate.offline_record('upgrade', 's3', 'x')"

# The calls of the Production chapter, when this build has them, refuse
# the same way (pgm_refuse_on_standby() first thing).
if has deploy; then
	refuses "migrate.deploy()" "CALL migrate.deploy('heads')"
else
	ok "# SKIP migrate.deploy() is not in this build"
fi
if has backfill; then
	refuses "migrate.backfill()" "CALL migrate.backfill('items', 'name = ''x''', 'name IS NULL')"
else
	ok "# SKIP migrate.backfill() is not in this build"
fi
if has backfill_reset; then
	refuses "migrate.backfill_reset()" "SELECT migrate.backfill_reset('items', 'name = ''x''')"
fi

# nothing reached the catalog of either server
if [ "$(on_primary -Atc "SELECT count(*) FROM migrate.revisions WHERE id = 'x1'")" = 0 ] &&
	[ "$(on_primary -Atc "SELECT string_agg(revision, ',' ORDER BY revision) FROM migrate.applied")" = "s1,s2" ]; then
	ok "the refused calls changed nothing"
else
	not_ok "the refused calls changed nothing"
fi

# --- 4. an upgrade on the primary reaches the standby ------------------------
# One standby session reads the state (filling its graph cache), then the
# primary upgrades and the standby replays it, then the same session reads
# again: the cache must notice the replayed change.
cat >"$work/upgrade_and_wait.sh" <<EOF
set -e
. "$root/test/scripts/cluster.sh"
$(declare -f wait_replay)
primary=$primary standby=$standby
pgm_cl_psql "\$primary" -d $db -q -v ON_ERROR_STOP=1 \
	-c "SELECT count(*) FROM migrate.upgrade('heads')" \
	-c "SELECT migrate.revision(id => 's4', down_revision => '{s3}', upgrade => 'ALTER TABLE items ADD COLUMN sku text')" \
	-c "SELECT count(*) FROM migrate.upgrade('s4')" >/dev/null
wait_replay
EOF
chmod a+r "$work/upgrade_and_wait.sh"
s_out=$(on_standby -At <<EOF 2>&1
SELECT 'before:' || string_agg(revision, ',' ORDER BY revision) FROM migrate.current();
\! bash "$work/upgrade_and_wait.sh" && echo replayed
SELECT 'after:' || string_agg(revision, ',' ORDER BY revision) FROM migrate.current();
SELECT 'fingerprint:' || migrate.fingerprint();
SELECT 'status:' || s::text FROM migrate.status() s;
EOF
)
s_rc=$?
if [ "$s_rc" -eq 0 ] && grep -qx 'before:s2' <<<"$s_out" && grep -qx replayed <<<"$s_out"; then
	ok "the standby showed the state before the upgrade, then replayed the upgrade"
else
	not_ok "the standby showed the state before the upgrade, then replayed the upgrade" "exit $s_rc: $s_out"
fi
p_cur=$(on_primary -Atc "SELECT 'after:' || string_agg(revision, ',' ORDER BY revision) FROM migrate.current()")
if [ "$p_cur" = "after:b1,s4" ] && grep -qx "$p_cur" <<<"$s_out"; then
	ok "a standby session with a warm cache shows the primary's current revisions ($p_cur)"
else
	not_ok "a standby session with a warm cache shows the primary's current revisions" \
		"primary: $p_cur"$'\n'"standby: $s_out"
fi
p_fp=$(on_primary -Atc "SELECT 'fingerprint:' || migrate.fingerprint()")
if [ -n "$p_fp" ] && grep -qxF "$p_fp" <<<"$s_out"; then
	ok "the standby's schema fingerprint equals the primary's"
else
	not_ok "the standby's schema fingerprint equals the primary's" "primary: $p_fp"$'\n'"standby: $s_out"
fi
p_status=$(on_primary -Atc "SELECT 'status:' || s::text FROM migrate.status() s")
if [ -n "$p_status" ] && grep -qxF "$p_status" <<<"$s_out"; then
	ok "the standby's migrate.status() equals the primary's"
else
	not_ok "the standby's migrate.status() equals the primary's" "primary: $p_status"$'\n'"standby: $s_out"
fi

# and a fresh session agrees on the whole applied set and history
q="SELECT revision, checksum FROM migrate.applied ORDER BY revision"
if [ "$(on_primary -Atc "$q")" = "$(on_standby -Atc "$q")" ] &&
	[ "$(on_primary -Atc 'SELECT * FROM migrate.history()')" = "$(on_standby -Atc 'SELECT * FROM migrate.history()')" ]; then
	ok "a new standby session sees the same applied set and history"
else
	not_ok "a new standby session sees the same applied set and history"
fi

# the standby still refuses after the replay (it is still a standby)
refuses "migrate.upgrade()" "SELECT * FROM migrate.upgrade('heads')"

echo "1..$n"
exit $((failed > 0))
