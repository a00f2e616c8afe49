#!/usr/bin/env bash
# test/load/load.sh: what a schema change does to the traffic of a hot table,
# made the naive way and the pg_migrate way.
#
# Run by "make load" (test/scripts/load.sh) in a throwaway cluster, or
# against any database where pg_migrate is created and no table named
# load_accounts / load_owners exists:
#
#   PGHOST=... PGPORT=... PGUSER=... PGDATABASE=... bash test/load/load.sh
#
# The table: load_accounts, PGM_LOAD_ROWS rows (5,000,000), with a primary
# key; load_owners, 1,000 rows.  The traffic: pgbench, PGM_LOAD_CLIENTS (8)
# clients, each transaction a primary-key read and a primary-key update of
# one random row of load_accounts.  Every phase runs the traffic, starts
# the change after PGM_LOAD_LEAD seconds, and stops the traffic
# PGM_LOAD_TAIL seconds after the change ended.  Per phase it prints:
# transactions, failed transactions (clients that got an error), the 99th
# percentile and the worst transaction latency, and how long the change
# took.
#
# Phases:
#   baseline      the traffic alone (what this machine's latencies are)
#   naive         CREATE INDEX; ALTER TABLE ... ADD COLUMN ... NOT NULL
#                 DEFAULT 0; ADD FOREIGN KEY (validated at once); one
#                 UPDATE of every row -- each statement on its own
#   safe          the same change as revisions run by CALL migrate.deploy()
#                 with pg_migrate.lock_timeout = PGM_LOAD_LOCK_TIMEOUT:
#                 CREATE INDEX CONCURRENTLY (transactional => false, in a
#                 background worker), ADD COLUMN, ADD FOREIGN KEY ... NOT
#                 VALID, VALIDATE CONSTRAINT, CALL migrate.backfill() in
#                 batches of PGM_LOAD_BATCH rows
#   naive+holder  a session holds ACCESS SHARE on the table in an open
#                 transaction for PGM_LOAD_HOLD seconds; ALTER TABLE ...
#                 ADD COLUMN waits behind it, and every client behind that
#   safe+holder   the same ALTER as a revision run by deploy: it gives up
#                 its place in the lock queue after the lock timeout,
#                 waits, retries, and succeeds once the holder is gone
#
# Targets (from the design): safe and safe+holder have no failed client
# transaction and a worst latency <= PGM_LOAD_MAX_STALL_MS (250 ms); the
# naive phases show the stall they cause.  The figures are printed, marked
# "within target" or "OVER TARGET"; the script fails (exit status 1) only
# when something does not work (a phase errors, the schema is not what the
# change should give).
#
# Settings (environment): PGM_LOAD_ROWS (5000000), PGM_LOAD_CLIENTS (8),
# PGM_LOAD_LOCK_TIMEOUT (100ms), PGM_LOAD_BATCH (2000), PGM_LOAD_HOLD (5 s),
# PGM_LOAD_LEAD (3 s), PGM_LOAD_TAIL (2 s), PGM_LOAD_BASELINE (10 s),
# PGM_LOAD_MAX_STALL_MS (250).

set -uo pipefail

ROWS=${PGM_LOAD_ROWS:-5000000}
CLIENTS=${PGM_LOAD_CLIENTS:-8}
LOCK_TIMEOUT=${PGM_LOAD_LOCK_TIMEOUT:-100ms}
BATCH=${PGM_LOAD_BATCH:-2000}
HOLD=${PGM_LOAD_HOLD:-5}
LEAD=${PGM_LOAD_LEAD:-3}
TAIL=${PGM_LOAD_TAIL:-2}
BASELINE=${PGM_LOAD_BASELINE:-10}
MAX_STALL_MS=${PGM_LOAD_MAX_STALL_MS:-250}

bindir=$("${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}" --bindir 2>/dev/null) ||
	bindir=/usr/lib/postgresql/15/bin
PSQL=$bindir/psql
PGBENCH=$bindir/pgbench

die()
{
	echo "load: $*" >&2
	exit 1
}

q()
{
	"$PSQL" -X -q -At -v ON_ERROR_STOP=1 "$@"
}

now()
{
	date +%s.%N
}

for v in ROWS CLIENTS BATCH HOLD LEAD TAIL BASELINE MAX_STALL_MS; do
	case ${!v} in '' | *[!0-9]*) die "PGM_LOAD_$v must be a positive integer" ;; esac
done
[ -x "$PGBENCH" ] || die "pgbench not found in $bindir"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pgm_load.XXXXXX") || die "cannot create a temporary directory"
chmod 755 "$tmp"
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT

have_deploy=$(q -c "SELECT count(*) FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
                     WHERE n.nspname = 'migrate' AND p.proname IN ('deploy', 'backfill') AND p.prokind = 'p'") ||
	die "cannot read pg_proc (is pg_migrate created in database ${PGDATABASE:-?}?)"
[ "$have_deploy" = 2 ] || die "migrate.deploy() and migrate.backfill() are needed"
[ "$(q -c "SELECT count(*) FROM migrate.revisions")" = 0 ] ||
	die "migrate.revisions is not empty: run in an empty database"

# ------------------------------------------------------------------------
# The table and the traffic.
# ------------------------------------------------------------------------
echo "load: creating load_accounts with $ROWS rows"
t0=$(now)
q <<SQL || die "cannot create the tables"
SET pg_migrate.drift = off;
CREATE TABLE load_owners (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO load_owners SELECT i, 'owner ' || i FROM generate_series(1, 1000) AS i;
CREATE TABLE load_accounts (
	id		bigint PRIMARY KEY,
	owner	int NOT NULL,
	balance	int NOT NULL DEFAULT 0,
	note	text
) WITH (fillfactor = 90);
INSERT INTO load_accounts (id, owner, balance)
SELECT i, 1 + (i % 1000), 0 FROM generate_series(1, $ROWS) AS i;
VACUUM ANALYZE load_owners, load_accounts;
CHECKPOINT;
SQL
t1=$(now)
printf 'load: table ready in %.1f s (%s)\n' "$(echo "$t1 - $t0" | bc)" \
	"$(q -c "SELECT pg_size_pretty(pg_total_relation_size('load_accounts'))")"

cat >"$tmp/traffic.sql" <<SQL
\\set id random(1, $ROWS)
BEGIN;
SELECT balance FROM load_accounts WHERE id = :id;
UPDATE load_accounts SET balance = balance + 1 WHERE id = :id;
END;
SQL

# reset: back to the table without the change (outside any timed window).
reset_schema()
{
	q <<'SQL' >/dev/null || die "cannot reset the schema"
SET pg_migrate.drift = off;
SET client_min_messages = warning;
DROP INDEX IF EXISTS load_accounts_owner_idx;
ALTER TABLE load_accounts DROP CONSTRAINT IF EXISTS load_accounts_owner_fkey;
ALTER TABLE load_accounts DROP COLUMN IF EXISTS flag;
ALTER TABLE load_accounts DROP COLUMN IF EXISTS extra;
UPDATE load_accounts SET note = NULL WHERE note IS NOT NULL;
VACUUM ANALYZE load_accounts;
CHECKPOINT;
SQL
	q -c "SELECT count(*) FROM migrate.applied" | grep -qx 0 ||
		q -c "CALL migrate.deploy('base')" >/dev/null 2>&1 || true
}

declare -A RES_TX RES_FAIL RES_P99 RES_MAX RES_CHANGE RES_NOTE RES_WORST_AT CHANGE_START
PHASES=()

# phase NAME CHANGE_FUNCTION: traffic, the change after LEAD s, traffic
# stopped TAIL s after the change ended; then the figures.
phase()
{
	local name=$1 change=$2 bench_pid c0 c1 rc aborted stats
	PHASES+=("$name")
	echo "load: phase $name"
	rm -f "$tmp"/log.* "$tmp/bench.err"
	(cd "$tmp" && exec "$PGBENCH" -n -M prepared -c "$CLIENTS" -j 2 -T 3600 \
		-f "$tmp/traffic.sql" -l --log-prefix="$tmp/log" >/dev/null 2>"$tmp/bench.err") &
	bench_pid=$!
	sleep "$LEAD"
	c0=$(now)
	"$change" >"$tmp/change.out" 2>&1
	rc=$?
	c1=$(now)
	sleep "$TAIL"
	# pgbench has no clean stop: the transactions under way are lost, the
	# logged ones (written as each ends) are what counts.  It does not
	# always end on SIGTERM while its clients wait: then SIGKILL (the last
	# few log lines of each thread, written after the tail began, may be
	# lost with it).
	kill -TERM "$bench_pid" 2>/dev/null
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		kill -0 "$bench_pid" 2>/dev/null || break
		sleep 0.3
	done
	kill -KILL "$bench_pid" 2>/dev/null
	wait "$bench_pid" 2>/dev/null
	if [ "$rc" -ne 0 ]; then
		cat "$tmp/change.out" >&2
		die "phase $name: the change failed"
	fi
	aborted=$(grep -c 'aborted' "$tmp/bench.err")
	stats=$(cat "$tmp"/log.* 2>/dev/null | awk '{ print $3 }' | sort -n | awk '
		{ lat[NR] = $1 / 1000.0 }
		END {
			if (NR == 0) { print "0 0 0"; exit }
			i = int(NR * 0.99); if (i < 1) i = 1
			printf "%d %.1f %.1f\n", NR, lat[i], lat[NR]
		}')
	read -r RES_TX[$name] RES_P99[$name] RES_MAX[$name] <<<"$stats"
	# when the worst transaction ended, in seconds after the change began
	RES_WORST_AT[$name]=$(cat "$tmp"/log.* 2>/dev/null | sort -k3,3n | tail -1 |
		awk -v c0="$c0" '{ printf "%+.1f", $5 + $6 / 1000000.0 - c0 }')
	CHANGE_START[$name]=$c0
	RES_FAIL[$name]=$aborted
	RES_CHANGE[$name]=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }')
	[ "${RES_TX[$name]}" -gt 0 ] || die "phase $name: pgbench logged no transaction ($(head -3 "$tmp/bench.err"))"
}

change_none()
{
	sleep "$BASELINE"
}

change_naive()
{
	q <<'SQL'
SET pg_migrate.drift = off;
CREATE INDEX load_accounts_owner_idx ON load_accounts (owner);
ALTER TABLE load_accounts ADD COLUMN flag int NOT NULL DEFAULT 0;
ALTER TABLE load_accounts ADD CONSTRAINT load_accounts_owner_fkey
	FOREIGN KEY (owner) REFERENCES load_owners (id);
UPDATE load_accounts SET note = 'naive';
SQL
}

register_safe()
{
	q <<SQL >/dev/null
SELECT migrate.revision(id => 'l1_index', down_revision => '{}',
	message => 'index on owner, built concurrently',
	upgrade => 'CREATE INDEX CONCURRENTLY load_accounts_owner_idx ON load_accounts (owner);',
	downgrade => 'DROP INDEX CONCURRENTLY load_accounts_owner_idx;',
	transactional => false);
SELECT migrate.revision(id => 'l2_flag', down_revision => '{l1_index}',
	message => 'flag column (constant default: no rewrite)',
	upgrade => 'ALTER TABLE load_accounts ADD COLUMN flag int NOT NULL DEFAULT 0;',
	downgrade => 'ALTER TABLE load_accounts DROP COLUMN flag;');
SELECT migrate.revision(id => 'l3_fk', down_revision => '{l2_flag}',
	message => 'foreign key, not validated yet',
	upgrade => 'ALTER TABLE load_accounts ADD CONSTRAINT load_accounts_owner_fkey FOREIGN KEY (owner) REFERENCES load_owners (id) NOT VALID;',
	downgrade => 'ALTER TABLE load_accounts DROP CONSTRAINT load_accounts_owner_fkey;');
SELECT migrate.revision(id => 'l4_validate', down_revision => '{l3_fk}',
	message => 'validate the foreign key (writes go on)',
	upgrade => 'ALTER TABLE load_accounts VALIDATE CONSTRAINT load_accounts_owner_fkey;',
	downgrade => NULL::text);
SELECT migrate.revision(id => 'l5_backfill', down_revision => '{l4_validate}',
	message => 'backfill note in batches',
	upgrade => \$b\$CALL migrate.backfill('load_accounts', \$\$note = 'safe'\$\$, \$\$note IS DISTINCT FROM 'safe'\$\$, $BATCH);\$b\$,
	downgrade => NULL::text,
	transactional => false);
SELECT migrate.revision(id => 'l6_extra', down_revision => '{l5_backfill}',
	message => 'one more column, behind a long transaction',
	upgrade => 'ALTER TABLE load_accounts ADD COLUMN extra int;',
	downgrade => 'ALTER TABLE load_accounts DROP COLUMN extra;');
SQL
}

deploy_to()
{
	q <<SQL
SET pg_migrate.lock_timeout = '$LOCK_TIMEOUT';
SET pg_migrate.lock_retries = 100;
CALL migrate.deploy('$1');
SQL
}

change_safe()
{
	deploy_to l5_backfill
}

# hold_lock: ACCESS SHARE on load_accounts for HOLD s, in the background
# (its pid in holder_pid).
holder_pid=
hold_lock()
{
	q -c "BEGIN; SELECT count(*) FROM (SELECT 1 FROM load_accounts LIMIT 1) s; SELECT pg_sleep($HOLD); COMMIT;" >/dev/null &
	holder_pid=$!
	sleep 0.3
}

change_naive_holder()
{
	hold_lock
	q -c "SET pg_migrate.drift = off; ALTER TABLE load_accounts ADD COLUMN extra int;"
	wait "$holder_pid"
}

change_safe_holder()
{
	hold_lock
	deploy_to l6_extra
	wait "$holder_pid"
}

# ------------------------------------------------------------------------
# The runs.
# ------------------------------------------------------------------------
phase baseline change_none

phase naive change_naive
q -c "SELECT count(*) FROM load_accounts WHERE note = 'naive'" | grep -qx "$ROWS" ||
	die "naive: the update did not reach every row"
reset_schema

register_safe || die "cannot register the revisions"
phase safe change_safe
[ "$(q -c "SELECT count(*) FROM load_accounts WHERE note IS DISTINCT FROM 'safe'")" = 0 ] ||
	die "safe: the backfill did not reach every row"
[ "$(q -c "SELECT indisvalid FROM pg_index WHERE indexrelid = 'load_accounts_owner_idx'::regclass")" = t ] ||
	die "safe: the index is not valid"
[ "$(q -c "SELECT convalidated FROM pg_constraint WHERE conname = 'load_accounts_owner_fkey'")" = t ] ||
	die "safe: the foreign key is not validated"
RES_NOTE[safe]="retries: $(grep -c 'retrying' "$tmp/change.out" || true)"
# When each revision of the safe path ran, from its upgrade event.
TIMELINE=$(q -c "SELECT string_agg(format('%s %s..%s s', revision,
		round((extract(epoch FROM occurred_at - coalesce(duration, '0')) - ${CHANGE_START[safe]})::numeric, 1),
		round((extract(epoch FROM occurred_at) - ${CHANGE_START[safe]})::numeric, 1)), ', ' ORDER BY id)
	FROM migrate.events WHERE kind = 'upgrade'")

phase naive+holder change_naive_holder
q -c "SET pg_migrate.drift = off; ALTER TABLE load_accounts DROP COLUMN extra" >/dev/null ||
	die "cannot drop the column extra"
phase safe+holder change_safe_holder
[ "$(q -c "SELECT count(*) FROM migrate.applied WHERE revision = 'l6_extra'")" = 1 ] ||
	die "safe+holder: l6_extra was not applied"
RES_NOTE[safe+holder]="retries: $(grep -c 'retrying' "$tmp/change.out" || true)"

# ------------------------------------------------------------------------
# Report.
# ------------------------------------------------------------------------
echo
echo "== $ROWS rows, $CLIENTS clients; lock timeout $LOCK_TIMEOUT; backfill batches of $BATCH; holder $HOLD s"
printf '%-14s %10s %8s %10s %10s %9s %10s  %s\n' phase transactions failed "p99 ms" "worst ms" "worst at" "change s" ""
for p in "${PHASES[@]}"; do
	printf '%-14s %10s %8s %10s %10s %9s %10s  %s\n' "$p" "${RES_TX[$p]}" "${RES_FAIL[$p]}" \
		"${RES_P99[$p]}" "${RES_MAX[$p]}" "${RES_WORST_AT[$p]}" "${RES_CHANGE[$p]}" "${RES_NOTE[$p]:-}"
done
echo "(worst at: when the worst transaction ended, in seconds after the change began)"
echo "safe path, revision by revision: $TIMELINE"
echo
met=0
total=0
for p in safe safe+holder; do
	total=$((total + 1))
	if [ "${RES_FAIL[$p]}" = 0 ] && awk -v m="${RES_MAX[$p]}" -v t="$MAX_STALL_MS" 'BEGIN { exit !(m <= t) }'; then
		verdict="within target"
		met=$((met + 1))
	else
		verdict="OVER TARGET"
	fi
	printf '%-14s failed %s, worst %s ms   target: 0 failed, worst <= %s ms   %s\n' \
		"$p" "${RES_FAIL[$p]}" "${RES_MAX[$p]}" "$MAX_STALL_MS" "$verdict"
done
for p in naive naive+holder; do
	printf '%-14s failed %s, worst %s ms   (the stall the naive way causes)\n' "$p" "${RES_FAIL[$p]}" "${RES_MAX[$p]}"
done
echo "targets met: $met of $total"
