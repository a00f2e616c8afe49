# shellcheck shell=bash
# test/scripts/cluster.sh: private PostgreSQL 15 clusters built with initdb
# and pg_ctl in a temporary directory, for tests that must kill, stop or
# replicate a server (test/fault/, test/replica/), which the clusters of
# pg_virtualenv do not let them do.
#
# Source it from bash (after lib.sh, or alone: it needs only PGM_PG_BINDIR,
# which it defaults).  As root every server command runs as "postgres"
# (initdb and the server refuse root); otherwise as the calling user.
#
#   pgm_cl_tmpdir                a fresh temporary directory the server user owns
#   pgm_cl_free_port [FROM]      a TCP port nobody listens on, FROM or above
#   pgm_cl_init DIR PORT DESTDIR [SETTING...]
#                                initdb DIR for a server on 127.0.0.1:PORT (and
#                                a socket in DIR), loading extensions from
#                                DESTDIR; extra settings as "name = value"
#   pgm_cl_start DIR / pgm_cl_stop DIR [MODE]
#   pgm_cl_wait_ready DIR        until the server accepts connections again
#   pgm_cl_postmaster_pid DIR / pgm_cl_port DIR
#   pgm_cl_psql DIR ARGS...      psql -X as postgres to that server
#   pgm_cl_as_server CMD...      CMD as the server user

PGM_PG_VERSION=${PGM_PG_VERSION:-15}
PGM_PG_BINDIR=${PGM_PG_BINDIR:-/usr/lib/postgresql/$PGM_PG_VERSION/bin}

pgm_cl_as_server()
{
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

pgm_cl_tmpdir()
{
	local d
	d=$(mktemp -d -t pg_migrate-cluster.XXXXXX) || return 1
	if [ "$(id -u)" = 0 ]; then
		chown postgres: "$d" || return 1
	fi
	chmod 700 "$d"
	echo "$d"
}

# A port with no TCP listener on any address, and no socket file of ours.
pgm_cl_free_port()
{
	local p=${1:-54300}
	while [ "$p" -lt 65000 ]; do
		if ! ss -Htln "sport = :$p" 2>/dev/null | grep -q .; then
			echo "$p"
			return 0
		fi
		p=$((p + 1))
	done
	return 1
}

pgm_cl_init()
{
	local dir=$1 port=$2 destdir=$3 s
	shift 3
	pgm_cl_as_server "$PGM_PG_BINDIR/initdb" -D "$dir/data" -A trust -U postgres \
		--no-sync -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; return 1; }
	{
		echo "# pg_migrate test cluster"
		echo "port = $port"
		echo "listen_addresses = '127.0.0.1'"
		echo "unix_socket_directories = '$dir'"
		echo "extension_destdir = '$destdir'"
		echo "fsync = off"
		echo "max_connections = 40"
		for s in "$@"; do
			echo "$s"
		done
	} | pgm_cl_as_server tee -a "$dir/data/postgresql.conf" >/dev/null &&
		echo "$port" | pgm_cl_as_server tee "$dir/port" >/dev/null
}

pgm_cl_start()
{
	pgm_cl_as_server "$PGM_PG_BINDIR/pg_ctl" -D "$1/data" -l "$1/server.log" \
		-w -t 120 start >/dev/null
}

pgm_cl_stop()
{
	pgm_cl_as_server "$PGM_PG_BINDIR/pg_ctl" -D "$1/data" -m "${2:-fast}" \
		-w -t 120 stop >/dev/null
}

pgm_cl_postmaster_pid()
{
	head -1 "$1/data/postmaster.pid" 2>/dev/null
}

pgm_cl_port()
{
	cat "$1/port"
}

pgm_cl_psql()
{
	local dir=$1
	shift
	"$PGM_PG_BINDIR/psql" -X -h "$dir" -p "$(pgm_cl_port "$dir")" -U postgres "$@"
}

# After a crash the postmaster kills every backend and replays WAL: wait
# (up to 120 s) until a real query works again.
pgm_cl_wait_ready()
{
	for _ in $(seq 1 1200); do
		if pgm_cl_psql "$1" -d postgres -Atc 'SELECT 1' >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}
