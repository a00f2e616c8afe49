# shellcheck shell=bash
# test/scripts/lib.sh: helpers shared by test.sh, demo.sh and bench.sh.
#
# Source it from bash; it defines functions and PGM_* variables (and unsets
# the make flags inherited from "make test").
#
# The flow of every script:
#   pgm_ensure_packages      install what is missing (root) or say what is (non-root)
#   pgm_build_install        make, then make install DESTDIR=build/destdir
#   pgm_server_destdir       make sure the server user can read that destdir
#                            (or use a readable copy): sets PGM_SERVER_DESTDIR
#   (pgm_prepare             the three above)
#   pgm_virtualenv DESTDIR CMD...
#                            run CMD against a throwaway PostgreSQL 15 cluster
#                            (pg_virtualenv -t), which finds the extension in
#                            DESTDIR through the Debian-only setting
#                            extension_destdir
#
# Counting (pgm_count_regress, pgm_count_tap, pgm_run_suite) is used inside
# the cluster by test.sh; the formats are described below.

# Called from "make test" and friends: do not let the outer make's flags
# (-j without a jobserver, -s, -k, variable overrides) leak into ours.
unset MAKEFLAGS MFLAGS MAKEOVERRIDES

PGM_PG_VERSION=${PGM_PG_VERSION:-15}
PGM_PG_BINDIR=/usr/lib/postgresql/$PGM_PG_VERSION/bin
PGM_PG_CONFIG=$PGM_PG_BINDIR/pg_config
PGM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PGM_BUILD=$PGM_ROOT/build
PGM_DESTDIR=$PGM_BUILD/destdir

# Debian packages the scripts need.
PGM_PACKAGES=(
	"postgresql-$PGM_PG_VERSION"
	"postgresql-server-dev-$PGM_PG_VERSION"
	"postgresql-$PGM_PG_VERSION-pgtap"
	libtap-parser-sourcehandler-pgtap-perl	# pg_prove (only Recommended by pgtap)
	python3-alembic
	python3-psycopg2
	build-essential
)

# Our own headings, easy to tell from the runners' output.
pgm_say()
{
	printf '\n==> %s\n' "$*"
}

pgm_warn()
{
	printf '%s: %s\n' "$(basename "$0")" "$*" >&2
}

pgm_is_root()
{
	[ "$(id -u)" = 0 ]
}

pgm_pkg_installed()
{
	[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

# Install the missing packages when root; otherwise list them and fail.
pgm_ensure_packages()
{
	local p missing=()

	for p in "${PGM_PACKAGES[@]}"; do
		pgm_pkg_installed "$p" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0

	if ! pgm_is_root; then
		pgm_warn "missing Debian packages: ${missing[*]}"
		pgm_warn "install them with: sudo apt-get install --no-install-recommends ${missing[*]}"
		return 1
	fi

	pgm_say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# No "main" cluster: it would take port 5432 and start a server we do
	# not use.  Only when the server package comes in now, so an existing
	# setup is left alone.
	if ! pgm_pkg_installed "postgresql-$PGM_PG_VERSION"; then
		mkdir -p /etc/postgresql-common/createcluster.d
		echo 'create_main_cluster = false' \
			> /etc/postgresql-common/createcluster.d/pg_migrate-test.conf
	fi
	apt-get update </dev/null || return 1
	apt-get install -y --no-install-recommends "${missing[@]}" </dev/null || return 1
}

# The JavaScript client (test/clients/app_start.js) needs node and the pg
# module.  Debian's nodejs with node-pg is installed when node is missing.
# A node from elsewhere (e.g. NodeSource) conflicts with Debian's node-pg
# package, so then the package and its dependencies are only unpacked into
# $PGM_BUILD/nodejs and NODE_PATH points there: nothing on the system changes.
# Returns non-zero when no usable pg module could be had (the JavaScript
# checks then report it).
pgm_ensure_node_pg()
{
	local unpack=$PGM_BUILD/nodejs debs=$PGM_BUILD/nodejs-debs deb
	local modules="node-pg node-split2 node-xtend node-readable-stream node-async"

	if ! command -v node >/dev/null 2>&1; then
		pgm_is_root || { pgm_warn "node is missing: apt-get install nodejs node-pg"; return 1; }
		pgm_say "installing nodejs node-pg"
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
			nodejs node-pg </dev/null || return 1
	fi
	node -e "require('pg')" 2>/dev/null && return 0
	if [ ! -d "$unpack/usr/share/nodejs/pg" ]; then
		pgm_say "unpacking Debian's node-pg into $unpack (for this node: $(node --version))"
		rm -rf "$debs" && mkdir -p "$debs" "$unpack" || return 1
		# shellcheck disable=SC2086
		(cd "$debs" && apt-get download $modules </dev/null) ||
			{ pgm_is_root && apt-get update </dev/null >/dev/null &&
				(cd "$debs" && apt-get download $modules </dev/null); } || return 1
		for deb in "$debs"/*.deb; do
			dpkg -x "$deb" "$unpack" || return 1
		done
	fi
	export NODE_PATH=$unpack/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}
	node -e "require('pg')" 2>/dev/null
}

# Build, then install into a fresh $PGM_DESTDIR (never the system dirs).
pgm_build_install()
{
	local jobs

	jobs=$(nproc 2>/dev/null || echo 2)
	pgm_say "building (PG_CONFIG=$PGM_PG_CONFIG)"
	make -C "$PGM_ROOT" --no-print-directory -j"$jobs" PG_CONFIG="$PGM_PG_CONFIG" || return 1
	pgm_say "installing into $PGM_DESTDIR"
	rm -rf "$PGM_DESTDIR"
	mkdir -p "$PGM_DESTDIR"
	make -C "$PGM_ROOT" --no-print-directory PG_CONFIG="$PGM_PG_CONFIG" \
		install DESTDIR="$PGM_DESTDIR" || return 1
}

# Set PGM_SERVER_DESTDIR to the destdir the server should use.  As root the
# server runs as "postgres": open up build/ and the destdir, and if postgres
# still cannot reach the files (a checkout under /root, say) copy them to a
# temporary directory, which pgm_cleanup removes.
# shellcheck disable=SC2034  # PGM_SERVER_DESTDIR is for the callers
pgm_server_destdir()
{
	local probe tmp

	PGM_SERVER_DESTDIR=$PGM_DESTDIR
	pgm_is_root || return 0
	chmod a+rX "$PGM_BUILD" || return 1
	chmod -R a+rX "$PGM_DESTDIR" || return 1
	probe=$PGM_DESTDIR$("$PGM_PG_CONFIG" --pkglibdir)/pg_migrate.so
	if runuser -u postgres -- test -r "$probe" 2>/dev/null; then
		return 0
	fi
	tmp=$(mktemp -d -t pg_migrate-destdir.XXXXXX) || return 1
	PGM_TMP_DESTDIR=$tmp
	cp -a "$PGM_DESTDIR/." "$tmp/" || return 1
	chmod -R a+rX "$tmp" || return 1
	echo "postgres cannot read $PGM_DESTDIR: the server uses a copy in $tmp"
	PGM_SERVER_DESTDIR=$tmp
}

pgm_cleanup()
{
	if [ -n "${PGM_TMP_DESTDIR:-}" ]; then
		rm -rf "$PGM_TMP_DESTDIR"
		PGM_TMP_DESTDIR=
	fi
}

# Packages, build, install and a readable destdir, in one step (demo.sh,
# bench.sh).
pgm_prepare()
{
	pgm_ensure_packages || return 1
	pgm_build_install || { pgm_warn "build or install failed"; return 1; }
	pgm_server_destdir || { pgm_warn "could not prepare $PGM_DESTDIR for the server"; return 1; }
}

# pgm_virtualenv DESTDIR CMD...: run CMD with PGHOST/PGPORT/PGUSER/PGPASSWORD
# pointing at a throwaway cluster that loads extensions from DESTDIR first
# (extension_destdir falls back to the normal directories, which is how the
# system-wide pgtap is found).  pg_virtualenv drops the cluster afterwards,
# also on failure, and prints the server log when CMD fails.  Connection
# settings of the caller are dropped so a free port is chosen.
# Callers may put more server settings in PGM_VENV_OPTS, as pairs
# (-o name=value ...).
PGM_VENV_OPTS=()
pgm_virtualenv()
{
	local destdir=$1
	shift
	env -u PGPORT -u PGHOST -u PGHOSTADDR -u PGDATABASE -u PGUSER \
		-u PGSERVICE -u PGSERVICEFILE -u PGPASSFILE -u PGSYSCONFDIR \
		PGM_SERVER_DESTDIR="$destdir" \
		pg_virtualenv -t -v "$PGM_PG_VERSION" \
		-o "extension_destdir=$destdir" "${PGM_VENV_OPTS[@]}" \
		-- "$@" </dev/null
}

# Inside the cluster: fail unless the server process can read our control
# file and module under extension_destdir, and sees the other extensions
# named (from the system directories; pgtap comes from apt).
# pg_available_extensions does not look at extension_destdir (Debian
# patch), so our files are checked with pg_stat_file, which the server
# itself runs.
pgm_check_available()
{
	local e rc=0 sharedir pkglibdir out

	sharedir=$("$PGM_PG_CONFIG" --sharedir)
	pkglibdir=$("$PGM_PG_CONFIG" --pkglibdir)
	out=$("$PGM_PG_BINDIR/psql" -X -At -v ON_ERROR_STOP=1 -d postgres \
		-v control="$sharedir/extension/pg_migrate.control" \
		-v module="$pkglibdir/pg_migrate.so" <<'SQL'
SELECT format('extension_destdir=%s control=%s module=%s',
       d, (pg_catalog.pg_stat_file(d || :'control', true)).size IS NOT NULL,
       (pg_catalog.pg_stat_file(d || :'module', true)).size IS NOT NULL)
  FROM pg_catalog.current_setting('extension_destdir') AS d;
SQL
	) || return 1
	echo "server sees: $out"
	case $out in
	*control=t\ module=t) ;;
	*)	pgm_warn "the server cannot read pg_migrate's files under extension_destdir"
		rc=1 ;;
	esac
	for e in "$@"; do
		out=$("$PGM_PG_BINDIR/psql" -X -At -d postgres -c \
			"SELECT default_version FROM pg_catalog.pg_available_extensions WHERE name = '$e'") || return 1
		if [ -z "$out" ]; then
			pgm_warn "extension $e is not available to the server"
			rc=1
		else
			echo "server sees: extension $e $out"
		fi
	done
	return $rc
}

# pgm_fresh_db NAME [EXTENSION...]: (re)create database NAME and create the
# extensions in it.
pgm_fresh_db()
{
	local db=$1 e
	shift
	PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning" \
		"$PGM_PG_BINDIR/dropdb" --if-exists "$db" || return 1
	"$PGM_PG_BINDIR/createdb" "$db" || return 1
	for e in "$@"; do
		"$PGM_PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d "$db" \
			-c "CREATE EXTENSION $e" || return 1
	done
}

# ------------------------------------------------------------------------
# Counting
#
# pgm_count_regress LOG and pgm_count_tap LOG print "PASSED FAILED" for a
# runner's output.
#
# pg_regress (one case per test):
#   PG <= 15:  "test 001_install      ... ok        12 ms"
#              "     001_install      ... FAILED    12 ms"  (parallel group)
#              "... failed (ignored)" counts as passed, as pg_regress does
#   PG >= 16:  "ok 1         - 001_install   12 ms" / "not ok 2     + name"
#
# TAP (one case per numbered top-level assertion; indented subtest lines
# are summarised by their parent line, and pg_prove's bare "ok" per file is
# not an assertion):
#   "ok N ..." passed; "not ok N ... # TODO ..." passed; "not ok N ..." failed;
#   a file listed in pg_prove's "Test Summary Report" with "Failed: 0"
#   (bad plan, died mid-plan) is one failed case.
# ------------------------------------------------------------------------
pgm_count_regress()
{
	awk '
		/^(test +| +)[^ ]+ +\.\.\. +ok([ \t]|$)/          { p++; next }
		/^(test +| +)[^ ]+ +\.\.\. +failed \(ignored\)/  { p++; next }
		/^(test +| +)[^ ]+ +\.\.\. +FAILED/               { f++; next }
		/^ok +[0-9]+ +[-+] /                              { p++; next }
		/^not ok +[0-9]+ +[-+] .*# *\(ignored\)/           { p++; next }
		/^not ok +[0-9]+ +[-+] /                          { f++; next }
		END { printf "%d %d\n", p, f }
	' "$1"
}

pgm_count_tap()
{
	awk '
		/^ok [0-9]+([^0-9]|$)/                            { p++; next }
		/^not ok [0-9]+([^0-9]|$)/ {
			if ($0 ~ /#[ \t]*[Tt][Oo][Dd][Oo]([ \t]|$)/) p++; else f++
			next
		}
		# pg_prove "Test Summary Report": a file that failed without a
		# failed assertion (bad plan, died, no plan) is one failed case.
		/^[^ ].* \(Wstat: .*Tests: [0-9]+ Failed: [0-9]+\)$/ {
			n = $0; sub(/.*Failed: /, "", n); sub(/\)$/, "", n)
			if (n + 0 == 0) { f++; bad++ }
			next
		}
		END {
			if (bad) printf "# %d file(s) failed without a failed assertion: counted as failed\n", bad > "/dev/stderr"
			printf "%d %d\n", p, f
		}
	' "$1"
}

PGM_PASSED=0
PGM_FAILED=0

# pgm_run_suite NAME KIND CMD...: run CMD, showing its output and keeping a
# copy in $PGM_LOGDIR/NAME.log, then add its cases to PGM_PASSED and
# PGM_FAILED.  KIND is "regress" or "tap".  A runner that exits non-zero
# without reporting any failed case (a crash, a bad plan, a connection
# error) counts as one failed case.  Returns the runner's exit status.
pgm_run_suite()
{
	local name=$1 kind=$2 log rc counts p f
	shift 2
	log=$PGM_LOGDIR/$name.log

	pgm_say "$name: $*"
	"$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	counts=$("pgm_count_$kind" "$log")
	p=${counts% *}
	f=${counts#* }
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "# $name exited with status $rc without a failed case: counted as 1 failed"
	fi
	echo "# $name: $p passed, $f failed (exit status $rc)"
	PGM_PASSED=$((PGM_PASSED + p))
	PGM_FAILED=$((PGM_FAILED + f))
	return "$rc"
}
