#!/usr/bin/python3
"""Migrate the database when an application instance starts (psycopg2).

    app_start.py [DSN]

Connects with DSN, or with the PG* environment when DSN is omitted, registers
every revision file of MIGRATE_REVISIONS (default: revisions/ next to this
file) in name order -- the files are idempotent, so every instance loads them
on every start -- then runs migrate.upgrade(MIGRATE_TARGET, default 'heads')
in one transaction and prints its steps and NOTICEs.  Any number of
instances may start at once: one applies the pending revisions, the others
wait for it and find nothing left to do.

Exit status: 0 migrated (or nothing to do), 3 a revision failed (nothing of
this call is applied), 1 any other error.
"""
import os
import re
import sys
from pathlib import Path

import psycopg2

REVISIONS = Path(os.environ.get("MIGRATE_REVISIONS",
                                Path(__file__).resolve().parent / "revisions"))
TARGET = os.environ.get("MIGRATE_TARGET", "heads")


def print_notices(conn):
    for notice in conn.notices:
        print(notice.rstrip())
    conn.notices.clear()


def main():
    conn = psycopg2.connect(sys.argv[1] if len(sys.argv) > 1 else "")
    try:
        # Register: each file commits on its own (identical content is a no-op).
        conn.autocommit = True
        with conn.cursor() as cur:
            for path in sorted(REVISIONS.glob("*.sql")):
                cur.execute(path.read_text())
        conn.autocommit = False

        # Upgrade: one transaction, all or nothing.
        try:
            with conn, conn.cursor() as cur:
                cur.execute("SELECT * FROM migrate.upgrade(%s)", (TARGET,))
                print_notices(conn)
                for step, revision, operation, message, duration in cur:
                    print(f"[{step}] {operation} {revision}: {message} "
                          f"({duration.total_seconds():.3f} s)")
        except psycopg2.Error as e:  # `with conn` has rolled back
            if e.pgcode is None:  # no SQLSTATE: the connection was lost
                raise
            print_notices(conn)
            where = re.search(r"revision \"?(\w+)", e.diag.context or "")
            print(f"migration failed: revision {where[1] if where else '?'}: "
                  f"SQLSTATE {e.pgcode}: {e.diag.message_primary}", file=sys.stderr)
            if e.diag.context:
                print("CONTEXT: " + e.diag.context.strip(), file=sys.stderr)
            return 3
        return 0
    finally:
        conn.close()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except psycopg2.Error as e:
        state = f"SQLSTATE {e.pgcode}: " if e.pgcode else ""
        print(f"error: {state}{str(e).strip()}", file=sys.stderr)
        sys.exit(1)
