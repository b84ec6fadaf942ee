#!/usr/bin/env bash
# Regenerates the README's screenshots of the web app: runs the browser tests that walk
# through it (headless Chromium) with `go test -artifacts`, and copies the pages the tour
# shows into docs/screenshots/. Needs what `make test` starts: a PostgreSQL (started here).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d /tmp/cs-shots-XXXXXX)
db=$(mktemp -d /tmp/cs-shotsdb-XXXXXX)
trap 'scripts/test-postgres.sh stop "$db" >/dev/null 2>&1 || true; rm -rf "$out" "$db"' EXIT
scripts/test-postgres.sh start "$db"
CALLSCRIBE_TEST_DATABASE_URL="$(cat "$db/url")" go test -count=1 -run 'TestBrowserStory|TestBrowserAccountFlow|TestBrowserOrganization' \
  -artifacts -outputdir "$out" ./webapp/
mkdir -p docs/screenshots
# tour name <- the test's screenshot name
for pair in register:register-error profile:profile calls:01-calls search:02-search-russian \
            transcript:05-transcript desk:09-desk officer:12-officer organization:organization; do
  name=${pair%%:*} shot=${pair#*:}
  file=$(find "$out" -name "$shot.png" | head -1)
  [ -n "$file" ] || { echo "screenshots: the tests saved no $shot.png" >&2; exit 1; }
  cp "$file" "docs/screenshots/$name.png"
done
ls -l docs/screenshots
