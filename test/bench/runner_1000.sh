#!/usr/bin/env bash
# test/bench/runner_1000.sh: the cost of running revisions through
# migrate.upgrade() / migrate.downgrade(), against the same DDL sent by hand.
#
# Run by "make bench" (test/scripts/bench.sh) in a fresh database with
# pg_migrate created; PGHOST/PGPORT/PGUSER/PGDATABASE come from the runner.
# It can also be pointed at any database that has the extension, no
# registered revision and no table named t0001..:
#
#   PGHOST=... PGPORT=... PGUSER=... PGDATABASE=... bash test/bench/runner_1000.sh
#
# It prints figures measured in this one run and their ratios, each marked
# "within target" or "OVER TARGET"; it does not fail on a missed target
# (machines differ), only when something does not work (exit status 1).
#
# The revisions: a chain r0001 -> r0002 -> ... -> r1000 (explicit
# down_revision), each
#
#   upgrade   CREATE TABLE tNNNN (id int PRIMARY KEY, a text);
#             CREATE INDEX ON tNNNN (a); ALTER TABLE tNNNN ADD COLUMN b int;
#   downgrade DROP TABLE tNNNN;
#
# registered by one statement (timed separately).
#
# Variants, each timed end to end as one psql process (date +%s.%N around
# it: process start, connection, the work, the commit), so that the fixed
# cost of a psql process is the same in every figure:
#
#   up   floor     the 3,000 upgrade statements as ONE query message, with
#                  BEGIN and COMMIT in the same message (statements joined
#                  by psql's \; on stdin, so psql sends one query string)
#   up   psql -1   psql -1 -f of the same statements, one per line (one
#                  round trip per statement)
#   up   runner    SET pg_migrate.quiet = on;
#                  SELECT count(*) FROM migrate.upgrade('heads')
#   up   runner+N  the same without quiet (a NOTICE per step, sent to psql)
#   down floor     the 1,000 DROP TABLE statements as one message
#   down psql -1   psql -1 -f of them
#   down runner    SELECT count(*) FROM migrate.downgrade('base'), quiet
#   down runner+N  the same without quiet
#
# Every timed run works in a schema of its own (search_path set for the
# connection through PGOPTIONS; the revision SQL names its tables
# unqualified): each upgrade fills a new, empty schema bench_run_NNN, and
# the runner variants start from a recorded state stamped to base (no SQL
# run).  All upgrades run first -- one untimed run of each variant, then
# REPS rounds of all of them in a rotating order -- then all downgrades in
# the same way, each emptying one of the filled schemas (the runner's after
# a stamp to the head).  The median of each variant is reported and ratios
# are ratios of medians.  Before every timed run the catalogs and
# pg_migrate's tables are vacuumed and a checkpoint is taken (when
# allowed), so that no run pays for the previous one's garbage.
#
# Where the server lets a superuser read /proc/self/stat (Linux), the floor
# and runner variants also report the backend's CPU time (user and system,
# read after the commit in the same session), blind to waits (fsync),
# which are the same for all.
#
# Why no upgrade follows a DROP: on ext4 without a journal, creating a
# file skips inodes freed in the last 60 s (longer while their inode block
# is dirty), scanning past each of them, so an upgrade run right after the
# DROP of ~5 files per revision pays a kernel cost (ext4 find_inode_bit /
# recently_deleted) quadratic in the files dropped, that varies from run to
# run by a second or more and swamped the differences measured here.  No
# migration on a live database drops and recreates 5,000 files a minute.
# The same holds for a run started right after something else deleted
# thousands of files (an earlier run of this script): wait a few minutes.
#
# Targets (from the issue):
#   upgrade runner   <= 1.10 x the upgrade floor, and faster than psql -1 -f
#   downgrade runner <= 1.10 x the downgrade floor
# For information: registration, migrate.plan('heads') cold (first call of
# a session: includes loading the graph cache) and warm, the NOTICE cost.
#
# Settings (environment): PGM_RUNNER_N (1000 revisions), PGM_RUNNER_REPS (5),
# PGM_RUNNER_MAX_RATIO (1.10), PGM_RUNNER_SETTLE (1: vacuum + checkpoint
# before each timed run; 0: not).

set -uo pipefail

N=${PGM_RUNNER_N:-1000}
REPS=${PGM_RUNNER_REPS:-5}
MAX_RATIO=${PGM_RUNNER_MAX_RATIO:-1.10}
SETTLE=${PGM_RUNNER_SETTLE:-1}

bindir=$("${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}" --bindir 2>/dev/null) ||
	bindir=/usr/lib/postgresql/15/bin
PSQL=$bindir/psql
[ -x "$PSQL" ] || PSQL=psql

die()
{
	echo "runner_1000: $*" >&2
	exit 1
}

# q ARGS...: one psql session, quiet, tuples only, stop on error.
q()
{
	"$PSQL" -X -q -At -v ON_ERROR_STOP=1 "$@"
}

now()
{
	date +%s.%N
}

case $N$REPS in *[!0-9]*) die "PGM_RUNNER_N and PGM_RUNNER_REPS must be integers" ;; esac
[ "$N" -ge 1 ] || die "PGM_RUNNER_N must be at least 1"
[ "$REPS" -ge 1 ] || die "PGM_RUNNER_REPS must be at least 1"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pgm_runner.XXXXXX") || die "cannot create a temporary directory"
trap 'rm -rf "$tmp"' EXIT

# ------------------------------------------------------------------------
# Setup checks.
# ------------------------------------------------------------------------
W=${#N}
[ "$W" -ge 4 ] || W=4
tname()
{
	printf 't%0*d' "$W" "$1"
}

existing=$(q -c "SELECT count(*) FROM migrate.revisions") ||
	die "cannot read migrate.revisions (is pg_migrate created in database ${PGDATABASE:-?}?)"
[ "$existing" = 0 ] || die "migrate.revisions already holds $existing revisions: run in an empty database"

# The number of our tables in schema $1 (default public).
ntables()
{
	q -v schema="${1:-public}" <<SQL
SELECT count(*) FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = :'schema' AND c.relkind = 'r'
   AND c.relname ~ '^t[0-9]{$W}\$';
SQL
}
have=$(ntables) || die "cannot read pg_class"
[ "$have" = 0 ] || die "$have tables named t$(printf '%0*d' "$W" 0 | tr 0 N) already exist in schema public: run in an empty database"

has_runner=$(q -c "SELECT 1 FROM pg_catalog.pg_proc p
                      JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
                     WHERE n.nspname = 'migrate' AND p.proname IN ('upgrade', 'downgrade')
                    HAVING count(DISTINCT p.proname) = 2") || die "cannot read pg_proc"
[ -n "$has_runner" ] || has_runner=0

# May we checkpoint (superuser, or pg_checkpoint)?
can_checkpoint=0
if [ "$SETTLE" = 1 ] && q -c "CHECKPOINT" >/dev/null 2>&1; then
	can_checkpoint=1
fi

# What settle() vacuums: the catalogs DDL writes and pg_migrate's tables
# (not the whole database: it holds thousands of the runs' tables).
VACUUM_LIST="pg_catalog.pg_class, pg_catalog.pg_attribute, pg_catalog.pg_type,
	pg_catalog.pg_depend, pg_catalog.pg_index, pg_catalog.pg_constraint,
	pg_catalog.pg_attrdef, pg_catalog.pg_statistic"
migrate_tables=$(q -c "SELECT pg_catalog.string_agg(pg_catalog.format('%I.%I', n.nspname, c.relname), ', ')
                         FROM pg_catalog.pg_class c
                         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                        WHERE n.nspname = 'migrate' AND c.relkind = 'r'") || die "cannot read pg_class"
[ -n "$migrate_tables" ] && VACUUM_LIST="$VACUUM_LIST, $migrate_tables"

settle()
{
	if [ "$SETTLE" = 1 ]; then
		q -c "VACUUM $VACUUM_LIST" >/dev/null 2>&1
		[ "$can_checkpoint" = 1 ] && q -c "CHECKPOINT" >/dev/null 2>&1
	fi
	return 0
}

# ------------------------------------------------------------------------
# The statements, as files.
# ------------------------------------------------------------------------
{
	printf 'SET pg_migrate.drift = off\\;\nBEGIN\\;\n'
	for ((i = 1; i <= N; i++)); do
		t=$(tname "$i")
		printf 'CREATE TABLE %s (id int PRIMARY KEY, a text)\\;\nCREATE INDEX ON %s (a)\\;\nALTER TABLE %s ADD COLUMN b int\\;\n' "$t" "$t" "$t"
	done
	printf 'COMMIT;\n'
} >"$tmp/up_floor.sql"
{
	printf 'SET pg_migrate.drift = off;\n'
	for ((i = 1; i <= N; i++)); do
		t=$(tname "$i")
		printf 'CREATE TABLE %s (id int PRIMARY KEY, a text);\nCREATE INDEX ON %s (a);\nALTER TABLE %s ADD COLUMN b int;\n' "$t" "$t" "$t"
	done
} >"$tmp/up_script.sql"
# Downgrades in the order migrate.downgrade('base') runs them: newest first.
{
	printf 'SET pg_migrate.drift = off\\;\nBEGIN\\;\n'
	for ((i = N; i >= 1; i--)); do
		printf 'DROP TABLE %s\\;\n' "$(tname "$i")"
	done
	printf 'COMMIT;\n'
} >"$tmp/down_floor.sql"
{
	printf 'SET pg_migrate.drift = off;\n'
	for ((i = N; i >= 1; i--)); do
		printf 'DROP TABLE %s;\n' "$(tname "$i")"
	done
} >"$tmp/down_script.sql"

printf 'SET pg_migrate.quiet = on;\nSELECT count(*) FROM migrate.upgrade(%s);\n' "'heads'" >"$tmp/up_runner.sql"
printf 'SET pg_migrate.quiet = off;\nSELECT count(*) FROM migrate.upgrade(%s);\n' "'heads'" >"$tmp/up_runner_notice.sql"
printf 'SET pg_migrate.quiet = on;\nSELECT count(*) FROM migrate.downgrade(%s);\n' "'base'" >"$tmp/down_runner.sql"
printf 'SET pg_migrate.quiet = off;\nSELECT count(*) FROM migrate.downgrade(%s);\n' "'base'" >"$tmp/down_runner_notice.sql"
# The runner with lineage off: the event triggers disabled for the call.
for d in up down; do
	if [ "$d" = up ]; then call="migrate.upgrade('heads')"; else call="migrate.downgrade('base')"; fi
	printf 'SET pg_migrate.quiet = on;\nBEGIN;\nALTER EVENT TRIGGER pg_migrate_ddl_command_end DISABLE;\nALTER EVENT TRIGGER pg_migrate_sql_drop DISABLE;\nSELECT count(*) FROM %s;\nALTER EVENT TRIGGER pg_migrate_ddl_command_end ENABLE;\nALTER EVENT TRIGGER pg_migrate_sql_drop ENABLE;\nCOMMIT;\n' "$call" >"$tmp/${d}_runner_nolineage.sql"
done

# CPU time of the backend (information, robust against a busy machine):
# where the server lets us read its /proc/self/stat (Linux, superuser or
# pg_read_server_files), the floor and runner variants end with a read of
# it, after their commit; psql -1 -f cannot (its COMMIT comes last).
CPU_PROBE="\\o '$tmp/cpu'
SELECT pg_catalog.pg_read_file('/proc/self/stat');"
has_cpu=0
if q -c "SELECT pg_catalog.pg_read_file('/proc/self/stat')" 2>/dev/null | grep -q '^[0-9]* (.*) '; then
	has_cpu=1
	for f in up_floor down_floor up_runner up_runner_notice down_runner down_runner_notice; do
		printf '%s\n' "$CPU_PROBE" >>"$tmp/$f.sql"
	done
fi
hz=$(getconf CLK_TCK 2>/dev/null) || hz=100

upbytes=$(wc -c <"$tmp/up_floor.sql")
echo "runner: $N revisions in a chain, $((3 * N)) upgrade statements ($upbytes bytes as one message), $N downgrade statements"

# ------------------------------------------------------------------------
# 1. Registering the N revisions in one statement.
# ------------------------------------------------------------------------
TB="'t' || lpad(i::text, $W, '0')"
reg_sql="SELECT count(migrate.revision(
	id            => 'r' || lpad(i::text, $W, '0'),
	down_revision => CASE WHEN i = 1 THEN '{}'::text[]
	                      ELSE ARRAY['r' || lpad((i - 1)::text, $W, '0')] END,
	upgrade       => format('CREATE TABLE %1\$s (id int PRIMARY KEY, a text); CREATE INDEX ON %1\$s (a); ALTER TABLE %1\$s ADD COLUMN b int;', $TB),
	downgrade     => format('DROP TABLE %s;', $TB),
	message       => 'bench ' || $TB))
  FROM generate_series(1, $N) AS i;"
t0=$(now)
registered=$(q -c "$reg_sql") || die "registering $N revisions failed"
t1=$(now)
[ "$registered" = "$N" ] || die "registered $registered revisions, expected $N"
reg_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')

# The registered SQL must be exactly the statements of the baselines.
same=$(q -c "SELECT string_agg(upgrade, E'\n' ORDER BY seq) FROM migrate.revisions" |
	sed 's/; /;\n/g' | cmp -s - <(tail -n +2 "$tmp/up_script.sql") && echo yes)
[ "$same" = yes ] || die "the registered upgrade SQL differs from the baseline statements"

# ------------------------------------------------------------------------
# 2. migrate.plan('heads'): cold (a new session: loads the graph cache),
#    then warm in the same session.
# ------------------------------------------------------------------------
plan_out=$(q <<'SQL'
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
SELECT count(*) AS n0 FROM migrate.plan('heads') \gset
SELECT extract(epoch FROM clock_timestamp()) AS t1 \gset
SELECT count(*) AS n1 FROM migrate.plan('heads') \gset
SELECT extract(epoch FROM clock_timestamp()) AS t2 \gset
SELECT count(*) AS n2 FROM migrate.plan('heads') \gset
SELECT extract(epoch FROM clock_timestamp()) AS t3 \gset
SELECT count(*) AS n3 FROM migrate.plan('heads') \gset
SELECT extract(epoch FROM clock_timestamp()) AS t4 \gset
SELECT :n0, (:t1 - :t0) * 1000,
       (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x)
          FROM unnest(ARRAY[:t2 - :t1, :t3 - :t2, :t4 - :t3]) AS x) * 1000;
SQL
) || die "migrate.plan('heads') failed"
IFS='|' read -r plan_rows plan_cold_ms plan_warm_ms <<<"$plan_out"
[ "$plan_rows" = "$N" ] || die "migrate.plan('heads') has $plan_rows steps, expected $N"
# Loading alone: heads() as the first call of a session, and warm.
load_out=$(q <<'SQL'
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
SELECT count(*) AS n0 FROM migrate.heads() \gset
SELECT extract(epoch FROM clock_timestamp()) AS t1 \gset
SELECT count(*) AS n1 FROM migrate.heads() \gset
SELECT extract(epoch FROM clock_timestamp()) AS t2 \gset
SELECT (:t1 - :t0) * 1000, (:t2 - :t1) * 1000;
SQL
) || die "migrate.heads() failed"
IFS='|' read -r heads_cold_ms heads_warm_ms <<<"$load_out"

# ------------------------------------------------------------------------
# 3. The timed runs.
# ------------------------------------------------------------------------
declare -A T		# variant -> " s1 s2 ..."
declare -A NOTICES	# variant -> notices seen in the last run
declare -A CU CS	# variant -> " cpu1 cpu2 ..." (backend user, system CPU s)
declare -A UPT UPCU UPCS	# the same for the upgrades, kept while the downgrades run

# timed VARIANT SCHEMA EXPECTED_TABLES_AFTER CMD...: run CMD (a psql) with
# search_path = SCHEMA, time it, check the result.
timed()
{
	local v=$1 schema=$2 want=$3 a b got
	shift 3
	settle
	rm -f "$tmp/cpu"
	a=$(now)
	PGOPTIONS="-c search_path=$schema" "$@" >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	b=$(now)
	if [ "$rc" -ne 0 ]; then
		cat "$tmp/err" >&2
		die "$v: failed (exit status $rc)"
	fi
	got=$(ntables "$schema") || die "cannot read pg_class"
	[ "$got" = "$want" ] || die "$v: $got tables in schema $schema afterwards, expected $want"
	case $v in
	*runner*)
		# The runner returns one row per step.
		[ "$(tail -n 1 "$tmp/out")" = "$N" ] ||
			die "$v: returned $(tail -n 1 "$tmp/out") rows, expected $N"
		NOTICES[$v]=$(grep -c 'NOTICE' "$tmp/err")
		;;
	esac
	if [ -s "$tmp/cpu" ]; then
		CU[$v]+=" $(sed 's/.*) //' "$tmp/cpu" | awk -v hz="$hz" 'NF { printf "%.2f", $12 / hz; exit }')"
		CS[$v]+=" $(sed 's/.*) //' "$tmp/cpu" | awk -v hz="$hz" 'NF { printf "%.2f", $13 / hz; exit }')"
	fi
	T[$v]+=" $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.4f", b - a }')"
}

# The recorded state the runner variants start from: stamped (no SQL run)
# to base before an upgrade, to the head before a downgrade.
at()
{
	local want=$1 cur
	cur=$(q -c "SELECT count(*) FROM migrate.applied") || die "cannot read migrate.applied"
	case $want in
	base) [ "$cur" = 0 ] && return 0 ;;
	heads) [ "$cur" = "$N" ] && return 0 ;;
	esac
	q -c "SELECT count(*) FROM migrate.stamp('$want')" >/dev/null || die "stamp('$want') failed"
}

# A new, empty schema for the next upgrade, its name printed.
nschemas=0
SCHEMAS=()		# every schema an upgrade filled, in order
new_schema()
{
	nschemas=$((nschemas + 1))
	NEW_SCHEMA=$(printf 'bench_run_%03d' "$nschemas")
	q -c "CREATE SCHEMA $NEW_SCHEMA" >/dev/null || die "cannot create schema $NEW_SCHEMA"
	SCHEMAS+=("$NEW_SCHEMA")
}
# The next filled schema for a downgrade to empty.
next_down=0
take_schema()
{
	[ "$next_down" -lt "${#SCHEMAS[@]}" ] || die "no upgraded schema left to downgrade"
	DOWN_SCHEMA=${SCHEMAS[$next_down]}
	next_down=$((next_down + 1))
}

up_floor()		{ new_schema; timed "up floor" "$NEW_SCHEMA" "$N" q -f - <"$tmp/up_floor.sql"; }
up_script()		{ new_schema; timed "up psql -1 -f" "$NEW_SCHEMA" "$N" q -1 -f "$tmp/up_script.sql"; }
up_runner()		{ new_schema; at base; timed "up runner" "$NEW_SCHEMA" "$N" q -f "$tmp/up_runner.sql"; }
up_runner_notice()	{ new_schema; at base; timed "up runner, NOTICEs" "$NEW_SCHEMA" "$N" q -f "$tmp/up_runner_notice.sql"; }
up_runner_nolineage()	{ new_schema; at base; timed "up runner, lineage off" "$NEW_SCHEMA" "$N" q -f "$tmp/up_runner_nolineage.sql"; }
down_floor()		{ take_schema; timed "down floor" "$DOWN_SCHEMA" 0 q -f - <"$tmp/down_floor.sql"; }
down_script()		{ take_schema; timed "down psql -1 -f" "$DOWN_SCHEMA" 0 q -1 -f "$tmp/down_script.sql"; }
down_runner()		{ take_schema; at heads; timed "down runner" "$DOWN_SCHEMA" 0 q -f "$tmp/down_runner.sql"; }
down_runner_notice()	{ take_schema; at heads; timed "down runner, NOTICEs" "$DOWN_SCHEMA" 0 q -f "$tmp/down_runner_notice.sql"; }
down_runner_nolineage()	{ take_schema; at heads; timed "down runner, lineage off" "$DOWN_SCHEMA" 0 q -f "$tmp/down_runner_nolineage.sql"; }

UPS=(up_floor up_script)
DOWNS=(down_floor down_script)
if [ "$has_runner" = 1 ]; then
	UPS+=(up_runner up_runner_notice up_runner_nolineage)
	DOWNS+=(down_runner down_runner_notice down_runner_nolineage)
fi

# rounds NAME...: REPS rounds of the variants, in a rotating order.
rounds()
{
	local fns=("$@") n=$#
	for ((r = 0; r < REPS; r++)); do
		for ((j = 0; j < n; j++)); do
			"${fns[(r + j) % n]}"
		done
	done
}

# All upgrades first, each into a schema of its own, then all downgrades,
# each emptying one of those schemas: no upgrade creates its files right
# after a DROP (see the note on ext4 at the top).  One untimed run of each
# variant first: the first CREATE TABLE of a database pays for things no
# later run does (catalog caches, relation files, the relmapper).
for f in "${UPS[@]}"; do "$f"; done
T=() CU=() CS=()
rounds "${UPS[@]}"
for f in "${DOWNS[@]}"; do "$f"; done
for v in "up floor" "up psql -1 -f" "up runner" "up runner, NOTICEs" "up runner, lineage off"; do
	UPT[$v]=${T[$v]:-}
	UPCU[$v]=${CU[$v]:-}
	UPCS[$v]=${CS[$v]:-}
done
T=() CU=() CS=()
rounds "${DOWNS[@]}"
for v in "${!UPT[@]}"; do
	T[$v]=${UPT[$v]}
	CU[$v]=${UPCU[$v]}
	CS[$v]=${UPCS[$v]}
done
[ "$next_down" = "$nschemas" ] || die "$((nschemas - next_down)) upgraded schemas were not downgraded"
for sch in "${SCHEMAS[@]}"; do
	q -c "DROP SCHEMA $sch" >/dev/null || die "cannot drop schema $sch"
done

# ------------------------------------------------------------------------
# Report.
# ------------------------------------------------------------------------
median()
{
	# shellcheck disable=SC2086
	printf '%s\n' $1 | sort -g | awk '{ v[NR] = $1 } END {
		if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

declare -A MED CUMED CSMED
VARIANTS=("up floor" "up psql -1 -f" "down floor" "down psql -1 -f")
[ "$has_runner" = 1 ] &&
	VARIANTS=("up floor" "up psql -1 -f" "up runner" "up runner, NOTICEs" "up runner, lineage off"
		"down floor" "down psql -1 -f" "down runner" "down runner, NOTICEs" "down runner, lineage off")
for v in "${VARIANTS[@]}"; do
	MED[$v]=$(median "${T[$v]}")
	CUMED[$v]=-
	CSMED[$v]=-
	[ -n "${CU[$v]:-}" ] && CUMED[$v]=$(median "${CU[$v]}") && CSMED[$v]=$(median "${CS[$v]}")
done

# ratio A B: A / B
ratio()
{
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0) ? a / b : 999999 }'
}
# verdict RATIO MAX: within if RATIO <= MAX (strictly below when strict)
verdict()
{
	awk -v r="$1" -v m="$2" -v strict="${3:-0}" 'BEGIN {
		ok = strict ? (r < m) : (r <= m)
		print ok ? "within target" : "OVER TARGET" }'
}

echo
echo "== registering (one statement: SELECT count(migrate.revision(...)) FROM generate_series(1, $N))"
printf '%-40s %9.3f s  (%.0f rev/s, one psql process)\n' "$N revisions registered in" "$reg_s" \
	"$(awk -v n="$N" -v s="$reg_s" 'BEGIN { print (s > 0) ? n / s : 0 }')"

echo
echo "== planning and loading (information; ms, in-session clock)"
printf '%-40s %9.2f ms  (first call of a session: loads the graph cache)\n' "plan('heads') cold, $plan_rows steps" "$plan_cold_ms"
printf '%-40s %9.2f ms  (median of 3 in the same session)\n' "plan('heads') warm" "$plan_warm_ms"
printf '%-40s %9.2f ms  (heads() as the first call of a session)\n' "loading the cache (cold heads())" "$heads_cold_ms"
printf '%-40s %9.2f ms\n' "heads() warm" "$heads_warm_ms"

echo
echo "== running (s, end to end: a psql process, connection, work, commit; each run in a schema of its own;"
settled=none
[ "$SETTLE" = 1 ] && settled="VACUUM (catalogs, migrate)$([ "$can_checkpoint" = 1 ] && echo ' + CHECKPOINT')"
echo "   median of $REPS interleaved runs; before each: ${settled#none + })"
[ "$has_cpu" = 1 ] &&
	echo "   usr, sys = the backend's user and system CPU time (medians), from /proc/self/stat after the commit)"
printf '%-24s %9s %7s %7s   %s\n' variant median usr sys "runs (wall)"
for v in "${VARIANTS[@]}"; do
	printf '%-24s %9.3f %7s %7s   %s\n' "$v" "${MED[$v]}" "${CUMED[$v]}" "${CSMED[$v]}" "${T[$v]# }"
done

if [ "$has_runner" != 1 ]; then
	echo
	printf '%-46s %7s\n' "up: psql -1 -f / floor" "$(ratio "${MED[up psql -1 -f]}" "${MED[up floor]}")"
	printf '%-46s %7s\n' "down: psql -1 -f / floor" "$(ratio "${MED[down psql -1 -f]}" "${MED[down floor]}")"
	echo
	die "migrate.upgrade() and migrate.downgrade() do not exist in this build: only the baselines were measured"
fi

# minimum of a variant's runs, for the information line on the fastest runs
fastest()
{
	# shellcheck disable=SC2086
	printf '%s\n' $1 | sort -g | head -n 1
}

up_floor=$(ratio "${MED[up runner]}" "${MED[up floor]}")
up_script=$(ratio "${MED[up runner]}" "${MED[up psql -1 -f]}")
down_floor=$(ratio "${MED[down runner]}" "${MED[down floor]}")
echo
echo "== ratios of medians"
printf '%-46s %7s  target <= %s   %s\n' "upgrade runner / upgrade floor" "$up_floor" "$MAX_RATIO" "$(verdict "$up_floor" "$MAX_RATIO")"
printf '%-46s %7s  target <  1      %s\n' "upgrade runner / psql -1 -f" "$up_script" "$(verdict "$up_script" 1 1)"
printf '%-46s %7s  target <= %s   %s\n' "downgrade runner / downgrade floor" "$down_floor" "$MAX_RATIO" "$(verdict "$down_floor" "$MAX_RATIO")"
printf '%-46s %7s  (information: the same on the fastest of each variant'"'"'s runs)\n' "upgrade runner / floor, fastest runs" \
	"$(ratio "$(fastest "${T[up runner]}")" "$(fastest "${T[up floor]}")")"
printf '%-46s %7s  (information)\n' "downgrade runner / floor, fastest runs" \
	"$(ratio "$(fastest "${T[down runner]}")" "$(fastest "${T[down floor]}")")"
if [ "$has_cpu" = 1 ]; then
	printf '%-46s %7s  (information: backend user CPU time)\n' "upgrade runner / floor, user CPU" \
		"$(ratio "${CUMED[up runner]}" "${CUMED[up floor]}")"
	printf '%-46s %7s  (information: backend user CPU time)\n' "downgrade runner / floor, user CPU" \
		"$(ratio "${CUMED[down runner]}" "${CUMED[down floor]}")"
fi
lin_up=$(ratio "${MED[up runner]}" "${MED[up runner, lineage off]}")
lin_down=$(ratio "${MED[down runner]}" "${MED[down runner, lineage off]}")
printf '%-46s %7s  target <= %s   %s\n' "upgrade lineage on / off" "$lin_up" "$MAX_RATIO" "$(verdict "$lin_up" "$MAX_RATIO")"
printf '%-46s %7s  target <= %s   %s\n' "downgrade lineage on / off" "$lin_down" "$MAX_RATIO" "$(verdict "$lin_down" "$MAX_RATIO")"
printf '%-46s %7s  (information)\n' "upgrade psql -1 -f / upgrade floor" "$(ratio "${MED[up psql -1 -f]}" "${MED[up floor]}")"
printf '%-46s %7s  (information)\n' "downgrade psql -1 -f / downgrade floor" "$(ratio "${MED[down psql -1 -f]}" "${MED[down floor]}")"
printf '%-46s %7s  (information: %s NOTICEs)\n' "upgrade with NOTICEs / quiet" \
	"$(ratio "${MED[up runner, NOTICEs]}" "${MED[up runner]}")" "${NOTICES[up runner, NOTICEs]:-?}"
printf '%-46s %7s  (information: %s NOTICEs)\n' "downgrade with NOTICEs / quiet" \
	"$(ratio "${MED[down runner, NOTICEs]}" "${MED[down runner]}")" "${NOTICES[down runner, NOTICEs]:-?}"
printf '%-46s %7s  (information: (runner - floor) / %s, wall)\n' "runner overhead per revision, upgrade" \
	"$(awk -v a="${MED[up runner]}" -v b="${MED[up floor]}" -v n="$N" 'BEGIN { printf "%.3f ms", (a - b) * 1000 / n }')" "$N"
printf '%-46s %7s  (information: (runner - floor) / %s, wall)\n' "runner overhead per revision, downgrade" \
	"$(awk -v a="${MED[down runner]}" -v b="${MED[down floor]}" -v n="$N" 'BEGIN { printf "%.3f ms", (a - b) * 1000 / n }')" "$N"
[ "${NOTICES[up runner]:-0}${NOTICES[down runner]:-0}" = 00 ] ||
	echo "note: the quiet runs printed ${NOTICES[up runner]} and ${NOTICES[down runner]} NOTICEs"

met=0
[ "$(verdict "$up_floor" "$MAX_RATIO")" = "within target" ] && met=$((met + 1))
[ "$(verdict "$up_script" 1 1)" = "within target" ] && met=$((met + 1))
[ "$(verdict "$down_floor" "$MAX_RATIO")" = "within target" ] && met=$((met + 1))
echo
echo "targets met: $met of 3"
