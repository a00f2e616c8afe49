#!/bin/bash
# Differential test of pg_migrate's graph answers against Alembic 1.8.
#
# Uses the server given by the usual PG* environment variables (for example
# inside `pg_virtualenv`), creates a fresh database (default
# pg_migrate_alembic, override with PG_MIGRATE_ALEMBIC_DB) with the extension,
# and runs diff_alembic.py with the system Python (which must have Debian's
# python3-alembic and python3-psycopg2).  Extra arguments go to
# diff_alembic.py (see --help).  Exit status: 0 clean, 1 mismatches,
# 2 setup failure.
set -u

here=$(cd "$(dirname "$0")" && pwd)
db=${PG_MIGRATE_ALEMBIC_DB:-pg_migrate_alembic}
python=${PG_MIGRATE_PYTHON:-/usr/bin/python3}

if ! "$python" -c 'import alembic, psycopg2' 2>/dev/null; then
	echo "Bail out! $python cannot import alembic and psycopg2" \
	     "(apt-get install python3-alembic python3-psycopg2)"
	exit 2
fi

psql -X -q -v ON_ERROR_STOP=1 -d postgres \
	-c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" \
	-c "CREATE DATABASE \"$db\"" >&2 || { echo "Bail out! cannot create database $db"; exit 2; }
psql -X -q -v ON_ERROR_STOP=1 -d "$db" \
	-c "CREATE EXTENSION pg_migrate" >&2 || { echo "Bail out! cannot create extension pg_migrate in $db"; exit 2; }

# Deliberate differences listed in README.md are reported but do not fail;
# pass --strict to count them too.
if [ "${1:-}" = "--strict" ]; then
	shift
	"$python" "$here/diff_alembic.py" --dbname "$db" "$@"
else
	"$python" "$here/diff_alembic.py" --dbname "$db" --allow-documented "$@"
fi
exit $?
