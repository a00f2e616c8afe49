#!/usr/bin/env bash
# test/concurrency/statement_faults.sh: the caller's statement_timeout and
# lock_timeout cut a migration short, and revisions of extreme size.
#
#   statement_timeout  a revision sleeps past the caller's statement_timeout:
#                      the call fails with 57014 naming the revision and
#                      statement, nothing is applied (not even the revisions
#                      before it), no migration lock is left, and the same
#                      call with a larger timeout applies everything.
#   lock_timeout       a revision's ALTER TABLE waits for a lock another
#                      session holds; the caller's lock_timeout ends it with
#                      55P03 naming the revision and statement, nothing is
#                      applied, the other session is unharmed, and once it
#                      ends the call goes through.
#   size               a 10 MB revision (100,000 INSERTs) registers, runs and
#                      downgrades; a 100 MB one is refused at registration
#                      with 54000 and nothing is registered; the limit is
#                      pg_migrate.max_revision_size.
#
# Prints TAP; uses the PG* environment.  Takes about 15 s.

set -uo pipefail

db=pg_migrate_stmtfaults
work=$(mktemp -d)
holder=
trap 'kill $holder 2>/dev/null; rm -rf "$work"; dropdb --force --if-exists "$db" >/dev/null 2>&1' EXIT
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"

dropdb --force --if-exists "$db" >/dev/null 2>&1
createdb "$db" || exit 1
q() { timeout 120 psql -X -At -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }

n=0
failed=0
check()		# check DESCRIPTION COMMAND...: ok when COMMAND succeeds
{
	local desc=$1
	shift
	n=$((n + 1))
	if "$@"; then
		echo "ok $n - $desc"
	else
		failed=$((failed + 1))
		echo "not ok $n - $desc"
		[ -s "$work/diag" ] && sed 's/^/# /' "$work/diag"
	fi
	: >"$work/diag"
}
has() { grep -qF -- "$1" "$work/out" || { cat "$work/out" >"$work/diag"; return 1; }; }
is() { [ "$1" = "$2" ] || { echo "got \"$1\", expected \"$2\"" >"$work/diag"; return 1; }; }
no_lock()
{
	is "$(q -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = (8099547378373587553 >> 32)::oid AND objid = (8099547378373587553 & 4294967295)::oid")" 0
}

q >/dev/null <<'SQL' || exit 1
CREATE EXTENSION pg_migrate;
SELECT migrate.revision(id => 't1', down_revision => '{}', upgrade => 'CREATE TABLE tf1 (id int)', downgrade => 'DROP TABLE tf1');
SELECT migrate.revision(id => 't2', upgrade => $$CREATE TABLE tf2 (id int);
SELECT pg_sleep(1.5)$$, downgrade => 'DROP TABLE tf2');
SELECT migrate.revision(id => 't3', upgrade => 'CREATE TABLE tf3 (id int)', downgrade => 'DROP TABLE tf3');
SQL

# --- statement_timeout ----------------------------------------------------
q -c '\set VERBOSITY verbose' -c "SET statement_timeout = '300ms'" \
	-c "SELECT * FROM migrate.upgrade('heads')" >"$work/out" 2>&1
rc=$?
check "statement_timeout: the call fails with 57014" \
	eval '[ $rc -ne 0 ] && has "ERROR:  57014: canceling statement due to statement timeout"'
check "statement_timeout: the error names the revision, step and statement" \
	has 'upgrade of revision "t2" (step 2/3), statement 2: SELECT pg_sleep(1.5)'
check "statement_timeout: nothing applied, not even the revision before" \
	is "$(q -c "SELECT count(*) FROM migrate.applied")|$(q -c "SELECT count(*) FROM pg_class WHERE relname IN ('tf1', 'tf2')")|$(q -c "SELECT count(*) FROM migrate.events WHERE kind = 'upgrade'")" "0|0|0"
check "statement_timeout: no migration lock is left" no_lock
q -c "SET statement_timeout = '30s'" -c "SELECT count(*) FROM migrate.upgrade('heads')" >"$work/out" 2>&1
check "statement_timeout: with a larger timeout the same call applies everything" \
	is "$(q -c "SELECT string_agg(revision, ',' ORDER BY revision) FROM migrate.applied")" "t1,t2,t3"

# --- lock_timeout -----------------------------------------------------------
q >/dev/null <<'SQL' || exit 1
SELECT migrate.revision(id => 'l0', upgrade => 'CREATE TABLE tf4 (id int)', downgrade => 'DROP TABLE tf4');
SELECT migrate.revision(id => 'l1', upgrade => 'ALTER TABLE tf1 ADD COLUMN c int', downgrade => 'ALTER TABLE tf1 DROP COLUMN c');
SQL
# another session reads tf1 in an open transaction, as application traffic does
psql -X -q -At -d "$db" >/dev/null 2>&1 <<SQL &
BEGIN;
SELECT count(*) FROM tf1;
SELECT pg_backend_pid() \\g $work/holder.pid
SELECT pg_sleep(60);
COMMIT;
SQL
holder=$!
for _ in $(seq 1 100); do
	[ -s "$work/holder.pid" ] && break
	sleep 0.1
done
hpid=$(tr -dc '0-9' <"$work/holder.pid")
start=$(date +%s%N)
q -c '\set VERBOSITY verbose' -c "SET lock_timeout = '200ms'" \
	-c "SELECT * FROM migrate.upgrade('heads')" >"$work/out" 2>&1
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
check "lock_timeout: the call fails with 55P03" \
	eval '[ $rc -ne 0 ] && has "ERROR:  55P03:"'
check "lock_timeout: the error names the revision, step and statement" \
	has 'upgrade of revision "l1" (step 2/2), statement 1: ALTER TABLE tf1 ADD COLUMN c int'
check "lock_timeout: it gave up instead of waiting for the other session (${ms} ms)" \
	is "$([ "$ms" -lt 30000 ] && echo yes)" yes
check "lock_timeout: nothing applied (l0's table and l1's column are absent)" \
	is "$(q -c "SELECT string_agg(revision, ',' ORDER BY revision) FROM migrate.applied")|$(q -c "SELECT to_regclass('tf4') IS NULL")|$(q -c "SELECT count(*) FROM pg_attribute WHERE attrelid = 'tf1'::regclass AND attname = 'c'")" "t1,t2,t3|t|0"
check "lock_timeout: the other session is unharmed, still in its transaction" \
	is "$(q -c "SELECT state FROM pg_stat_activity WHERE pid = $hpid")" active
check "lock_timeout: no migration lock is left" no_lock
q -c "SELECT pg_terminate_backend($hpid)" >/dev/null
wait "$holder" 2>/dev/null
holder=
q -c "SET lock_timeout = '5s'" -c "SELECT count(*) FROM migrate.upgrade('heads')" >"$work/out" 2>&1
check "lock_timeout: once the other session ended, the call goes through" \
	is "$(q -c "SELECT string_agg(revision, ',' ORDER BY revision) FROM migrate.applied")" "l0,l1,t1,t2,t3"

# --- size ---------------------------------------------------------------------
# gen_revision ID MB: a revision file of about MB megabytes of INSERTs
gen_revision()
{
	awk -v id="$1" -v mb="$2" 'BEGIN {
		pad = sprintf("%60s", ""); gsub(/ /, "x", pad)
		printf "SELECT migrate.revision(id => %c%s%c, upgrade => $big$\nCREATE TABLE %s (id int, t text);\n", 39, id, 39, id
		limit = mb * 1048576
		for (i = 0; size < limit; i++) {
			s = sprintf("INSERT INTO %s VALUES (%d, %c%s%c);\n", id, i, 39, pad, 39)
			printf "%s", s
			size += length(s)
		}
		printf "$big$, downgrade => %cDROP TABLE %s%c);\n", 39, id, 39
	}' >"$work/$1.sql"
}
gen_revision big10 10
start=$(date +%s%N)
q -f "$work/big10.sql" >"$work/out" 2>&1 &&
	q -c "SET pg_migrate.quiet = on" -c "SELECT count(*) FROM migrate.upgrade('big10')" >>"$work/out" 2>&1
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
check "size: a 10 MB revision registers and runs ($(($(wc -c <"$work/big10.sql") / 1048576)) MB, ${ms} ms)" \
	is "$rc|$(q -c "SELECT count(*) > 100000 FROM big10")" "0|t"
check "size: and downgrades" \
	is "$(q -c "SET pg_migrate.quiet = on" -c "SELECT count(*) FROM migrate.downgrade('l1')")|$(q -c "SELECT to_regclass('big10') IS NULL")" "1|t"

# 100 MB built in the server (sending it from psql takes 5 to 15 s more:
# test/fault/large_revision.sh does that, and measures)
start=$(date +%s%N)
q -c '\set VERBOSITY verbose' -c "SELECT migrate.revision(id => 'big100', upgrade => repeat(E'INSERT INTO big100 VALUES (1);\\n', 3382503))" >"$work/out" 2>&1
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
check "size: a 100 MB revision is refused with 54000 (${ms} ms)" \
	eval '[ $rc -ne 0 ] && has "ERROR:  54000: revision \"big100\" is too large: 100 MB of SQL, the limit is 16 MB"'
check "size: the error says what to do instead" \
	has "HINT:  Split the revision into several, load bulk data with COPY outside the migration, or raise pg_migrate.max_revision_size for this session."
check "size: nothing was registered" \
	is "$(q -c "SELECT count(*) FROM migrate.revisions WHERE id = 'big100'")" 0
q -c '\set VERBOSITY verbose' -c "SET pg_migrate.max_revision_size = '1MB'" \
	-c "SELECT migrate.revision(upgrade => repeat(E'SELECT 1;\\n', 100000), downgrade => repeat(E'SELECT 1;\\n', 20000))" >"$work/out" 2>&1
check "size: the limit counts upgrade and downgrade SQL together, and names a generated id" \
	has 'ERROR:  54000: revision "(generated id)" is too large: 1172 kB of SQL, the limit is 1024 kB'
q -c "SET pg_migrate.max_revision_size = '2MB'" -c "SELECT migrate.revision(id => 'mid', upgrade => repeat(E'SELECT 1;\\n', 100000))" >"$work/out" 2>&1
check "size: a raised pg_migrate.max_revision_size lets it in" \
	is "$(q -c "SELECT length(upgrade) FROM migrate.revisions WHERE id = 'mid'")" 1000000

echo "1..$n"
exit $((failed > 0))
