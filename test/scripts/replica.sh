#!/usr/bin/env bash
# test/scripts/replica.sh: build pg_migrate, install it into build/destdir
# and run every test/replica/*.sh, each of which builds its own primary and
# hot standby (see cluster.sh).  make test runs the same scripts; this
# target runs only them.  Output is kept in build/replica.log; exit status 1
# when any script fails.

set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

main()
{
	local f failed=0

	trap pgm_cleanup EXIT
	pgm_prepare || return 1
	export PGM_SERVER_DESTDIR
	for f in "$PGM_ROOT"/test/replica/*.sh; do
		[ -f "$f" ] || continue
		pgm_say "${f#"$PGM_ROOT"/}"
		bash "$f" </dev/null || failed=1
	done
	return $failed
}

mkdir -p "$PGM_BUILD" || exit 1
main 2>&1 | tee "$PGM_BUILD/replica.log"
exit "${PIPESTATUS[0]}"
