#!/usr/bin/env bash
# test/concurrency/sql_random.sh: a short run of the random SQL tester
# (test/fuzz/sql_random.py; "make fuzz-sql" is the long one): 300 random
# and hostile calls of every function of schema migrate, within 60
# seconds, as the superuser, a migrator role and a role without grants.
# The server must not crash, no call may raise an internal error (XX) or
# leave a resource-leak warning, and the catalog must be consistent.
#
# Prints TAP.  Uses the PG* environment (a throwaway cluster from
# test/scripts/test.sh, or any server with pg_migrate installed; it creates
# the roles pgm_fuzz_migrator and pgm_fuzz_reader and the databases
# pgm_fuzz_*).  SQL_RANDOM_CALLS, SQL_RANDOM_SEED override the defaults.

set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
python=${PYTHON:-/usr/bin/python3}

if ! "$python" -c 'import psycopg2' 2>/dev/null; then
	echo "1..0 # SKIP python3-psycopg2 is not installed"
	exit 0
fi
# pg_virtualenv -t keeps the server log next to the cluster's configuration
log=
if [ -n "${PG_CLUSTER_CONF_ROOT:-}" ]; then
	log=$(dirname "$PG_CLUSTER_CONF_ROOT")/log/postgresql-${PGVERSION:-15}-regress.log
	[ -r "$log" ] || log=
fi

exec "$python" "$root/test/fuzz/sql_random.py" --tap --quick \
	--calls "${SQL_RANDOM_CALLS:-300}" --epoch 150 --max-seconds 60 \
	${SQL_RANDOM_SEED:+--seed "$SQL_RANDOM_SEED"} ${log:+--log "$log"}
