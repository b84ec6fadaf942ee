#!/bin/sh
# test-minio.sh start DIR | stop DIR
#
# start: runs one throwaway MinIO server for a test run on 127.0.0.1 (a free
#        port), data in DIR/data, fresh random root credentials. Installs the
#        pinned MinIO first when it is missing, with `go install` into
#        ${CALLSCRIBE_TOOLS_DIR:-$HOME/.cache/callscribe/bin} (outside the
#        repository; the first build takes minutes). Waits until the server
#        answers /minio/health/ready, then writes DIR/env with lines
#          CALLSCRIBE_TEST_S3_ENDPOINT=127.0.0.1:PORT
#          CALLSCRIBE_TEST_S3_ACCESS_KEY=...
#          CALLSCRIBE_TEST_S3_SECRET_KEY=...
#          CALLSCRIBE_TEST_S3_BINARY=/path/to/minio   (tests start private servers with it)
#        and DIR/pid. Reuses a server still running from DIR.
# stop:  stops that server and removes DIR/env, DIR/pid and the data.
#
# make test: scripts/test-minio.sh start "$d" && set -a && . "$d/env" && go test ./... ;
#            scripts/test-minio.sh stop "$d"
set -eu

me=test-minio.sh
die() { echo "$me: $*" >&2; exit 1; }
[ $# -eq 2 ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
action=$1

# The MinIO release the tests are written against; bump deliberately.
minio_module=github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c

case $action in
start) mkdir -p "$2" ;;
stop) [ -d "$2" ] || exit 0 ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
dir=$(cd "$2" && pwd -P)

running() { [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; }

if [ "$action" = stop ]; then
	if running; then
		pid=$(cat "$dir/pid")
		kill "$pid"
		i=0
		while kill -0 "$pid" 2>/dev/null; do
			i=$((i + 1))
			[ $i -le 100 ] || { kill -9 "$pid" 2>/dev/null || true; break; }
			sleep 0.1
		done
	fi
	rm -rf "$dir/env" "$dir/pid" "$dir/data"
	exit 0
fi

tools=${CALLSCRIBE_TOOLS_DIR:-$HOME/.cache/callscribe/bin}
minio=$tools/minio
if [ ! -x "$minio" ]; then
	command -v go >/dev/null 2>&1 || die "MinIO is not installed in $tools and there is no go to build it"
	echo "$me: installing $minio_module into $tools (first run only; takes a few minutes)" >&2
	mkdir -p "$tools"
	# From an empty directory, so the build never reads or writes our go.mod.
	build=$(mktemp -d)
	(cd "$build" && GOBIN=$tools GOFLAGS=-mod=mod GOWORK=off go install "$minio_module") >"$dir/install.log" 2>&1 ||
		{ rm -rf "$build"; tail -n 20 "$dir/install.log" >&2; die "go install $minio_module failed (log: $dir/install.log)"; }
	rm -rf "$build"
fi

if running; then
	[ -f "$dir/env" ] && exit 0
	die "a server runs from $dir (pid $(cat "$dir/pid")) but $dir/env is missing: run $0 stop $dir first"
fi

# A free port: one in the ephemeral range where nothing answers (curl exit 7:
# connection refused). A small race with other programs remains; MinIO then
# fails to start and we say so.
free_port() {
	while :; do
		p=$((20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 30000))
		rc=0
		curl -s -o /dev/null --connect-timeout 1 "http://127.0.0.1:$p/" 2>/dev/null || rc=$?
		[ $rc -eq 7 ] && { echo "$p"; return 0; }
	done
}
port=$(free_port)
console=$(free_port)
rand() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
user=u$(rand 8)
pass=$(rand 20)

mkdir -p "$dir/data"
# MinIO reads its credentials from the environment; nothing else of ours leaks in.
MINIO_ROOT_USER=$user MINIO_ROOT_PASSWORD=$pass MINIO_BROWSER=off MINIO_UPDATE=off \
	MINIO_CI_CD=1 \
	nohup "$minio" server --quiet --address "127.0.0.1:$port" --console-address "127.0.0.1:$console" "$dir/data" \
	>"$dir/minio.log" 2>&1 </dev/null &
echo $! >"$dir/pid"

# Ready says the drives are up; the S3 API may still answer 503 ("server not
# initialized") for a moment after. An anonymous request gets 403 once it is up.
ready() {
	curl -fsS -o /dev/null "http://127.0.0.1:$port/minio/health/ready" 2>/dev/null &&
		[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/" 2>/dev/null)" = 403 ]
}
i=0
until ready; do
	running || { tail -n 20 "$dir/minio.log" >&2; rm -f "$dir/pid"; die "MinIO exited while starting (log: $dir/minio.log)"; }
	i=$((i + 1))
	[ $i -le 300 ] || { tail -n 20 "$dir/minio.log" >&2; die "MinIO on 127.0.0.1:$port not ready after 30 s (log: $dir/minio.log)"; }
	sleep 0.1
done

{
	echo "CALLSCRIBE_TEST_S3_ENDPOINT=127.0.0.1:$port"
	echo "CALLSCRIBE_TEST_S3_ACCESS_KEY=$user"
	echo "CALLSCRIBE_TEST_S3_SECRET_KEY=$pass"
	echo "CALLSCRIBE_TEST_S3_BINARY=$minio"
} >"$dir/env.tmp"
chmod 600 "$dir/env.tmp"
mv "$dir/env.tmp" "$dir/env"
