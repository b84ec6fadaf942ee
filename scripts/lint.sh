#!/usr/bin/env bash
# The lint gate of `make test`: fails on gofmt output, go vet, staticcheck or an untidy
# go.mod. staticcheck is the pinned release below, installed with `go install` into
# ${CALLSCRIBE_TOOLS_DIR:-$HOME/.cache/callscribe/bin} (outside the repository) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}

staticcheck_version=v0.8.2 # honnef.co/go/tools; bump deliberately
tools=${CALLSCRIBE_TOOLS_DIR:-$HOME/.cache/callscribe/bin}
staticcheck=$tools/staticcheck-$staticcheck_version
if [ ! -x "$staticcheck" ]; then
	echo "lint.sh: installing staticcheck $staticcheck_version into $tools" >&2
	mkdir -p "$tools"
	build=$(mktemp -d)
	(cd "$build" && GOBIN="$build" GOFLAGS=-mod=mod $GO install "honnef.co/go/tools/cmd/staticcheck@$staticcheck_version")
	mv "$build/staticcheck" "$staticcheck"
	rm -rf "$build"
fi

status=0
unformatted=$(gofmt -l $(git ls-files -co --exclude-standard -- '*.go'))
if [ -n "$unformatted" ]; then
	echo "lint.sh: gofmt would change:" >&2
	echo "$unformatted" >&2
	status=1
fi
$GO vet ./... || status=1
"$staticcheck" ./... || status=1
if ! $GO mod tidy -diff; then
	echo "lint.sh: go.mod/go.sum are not tidy: run 'go mod tidy'" >&2
	status=1
fi
[ $status -eq 0 ] && echo "lint.sh: gofmt, vet, staticcheck and go mod tidy are clean"
exit $status
