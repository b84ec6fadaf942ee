#!/bin/sh
# test-postgres.sh start DIR | stop DIR
#
# start: runs one throwaway PostgreSQL server for a test run, cluster in DIR/pg,
#        listening only on a unix socket in DIR/pg (no TCP), as user postgres
#        when run as root (PostgreSQL refuses root). Reuses DIR when run again.
#        Writes the server's URL (database "postgres", for CREATE/DROP
#        DATABASE) to DIR/url and prints nothing else unless it must change a
#        directory's permissions or something fails.
# stop:  stops that server (fast shutdown) and removes DIR/url; keeps DIR.
#
# make test: scripts/test-postgres.sh start "$d" &&
#            CALLSCRIBE_TEST_DATABASE_URL=$(cat "$d/url") go test ./... ;
#            scripts/test-postgres.sh stop "$d"
set -eu

me=test-postgres.sh
die() { echo "$me: $*" >&2; exit 1; }
[ $# -eq 2 ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
action=$1
# Variables that would point pg_ctl/initdb elsewhere.
unset PGDATA PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGOPTIONS PGSERVICE || true

case $action in
start) mkdir -p "$2" ;;
stop) [ -d "$2" ] || exit 0 ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
dir=$(cd "$2" && pwd -P)
pgdata=$dir/pg

bindir=
for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
	if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then bindir=$d; break; fi
done
if [ -z "$bindir" ] && command -v pg_ctl >/dev/null 2>&1; then bindir=$(dirname "$(command -v pg_ctl)"); fi
[ -n "$bindir" ] || die "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin nor on PATH: install the Debian package postgresql"

root=false
[ "$(id -u)" -eq 0 ] && root=true
# as_server runs a command as the server's user, from / (which it can enter).
as_server() {
	if $root; then (cd / && runuser -u postgres -- "$@"); else (cd / && "$@"); fi
}

if [ "$action" = stop ]; then
	if [ -f "$pgdata/postmaster.pid" ]; then
		if ! as_server "$bindir/pg_ctl" stop -D "$pgdata" -m fast -w -s 2>/dev/null; then
			# Already stopped (a stale pid file) is fine; still running is not.
			if as_server "$bindir/pg_ctl" status -D "$pgdata" >/dev/null 2>&1; then
				die "could not stop the server on $pgdata"
			fi
		fi
	fi
	rm -f "$dir/url"
	exit 0
fi

sock=$pgdata/.s.PGSQL.5432
[ ${#sock} -le 107 ] || die "socket path $sock is ${#sock} bytes, more than the 107 a unix socket allows: use a shorter DIR"

if $root; then
	id postgres >/dev/null 2>&1 || die "running as root and there is no user postgres to run the server as: install the Debian package postgresql"
	# The server must traverse every directory down to DIR. Give the postgres
	# user search permission where it lacks it: an ACL entry when setfacl
	# exists (nobody else gains anything), else o+x (anyone may traverse).
	# Top-down: a directory only looks blocked below a blocked ancestor.
	let_traverse() {
		[ "$1" = / ] && return 0
		let_traverse "$(dirname "$1")"
		runuser -u postgres -- test -x "$1" && return 0
		if command -v setfacl >/dev/null 2>&1 && setfacl -m u:postgres:x "$1" 2>/dev/null; then
			echo "$me: gave user postgres search permission on $1 (setfacl -m u:postgres:x)" >&2
		else
			chmod o+x "$1"
			echo "$me: made $1 traversable by all users (chmod o+x) so the server can reach $pgdata" >&2
		fi
	}
	let_traverse "$dir"
fi

if [ ! -f "$pgdata/PG_VERSION" ]; then
	mkdir -p "$pgdata"
	chmod 700 "$pgdata"
	$root && chown postgres:postgres "$pgdata"
	# --no-sync and, below, fsync=off: a test server needs no crash safety.
	as_server "$bindir/initdb" -D "$pgdata" -U postgres -E UTF8 --locale=C.UTF-8 \
		--auth-local=trust --auth-host=reject --no-instructions --no-sync >"$dir/initdb.log" 2>&1 ||
		{ tail -n 20 "$dir/initdb.log" >&2; die "initdb $pgdata failed"; }
fi

if ! as_server "$bindir/pg_ctl" status -D "$pgdata" >/dev/null 2>&1; then
	q=$(printf '%s' "$pgdata" | sed "s/'/'\\\\''/g")
	as_server "$bindir/pg_ctl" start -D "$pgdata" -l "$pgdata/server.log" -w -t 120 -s \
		-o "-c listen_addresses='' -k '$q' -p 5432 -c unix_socket_permissions=0700 -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" ||
		{ tail -n 20 "$pgdata/server.log" >&2 2>/dev/null; die "could not start the server on $pgdata (log: $pgdata/server.log)"; }
fi

# urlencode percent-encodes everything but unreserved characters and '/'.
urlencode() {
	printf '%s' "$1" | od -An -v -tx1 | tr -s ' \n' '\n\n' | while read -r h; do
		[ -n "$h" ] || continue
		case $h in
		2d | 2e | 2f | 5f | 7e | 3[0-9] | 4[1-9a-f] | 5[0-9a] | 6[1-9a-f] | 7[0-9a]) printf "\\$(printf '%03o' "0x$h")" ;;
		*) printf '%%%s' "$(echo "$h" | tr a-f A-F)" ;;
		esac
	done
}
printf 'postgres://postgres@/postgres?host=%s&port=5432&sslmode=disable\n' "$(urlencode "$pgdata")" >"$dir/url.tmp"
mv "$dir/url.tmp" "$dir/url"
