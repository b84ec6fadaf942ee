# The two commands of the quick start: `make demo` and `make test`. Both install what is
# missing first (Debian packages), so they work on a fresh machine.
SHELL := /bin/bash
GO ?= go
BIN := bin/callscribe
TESTDB := $(CURDIR)/.testdb
TESTS3 := $(CURDIR)/.tests3

.PHONY: demo test bench build deps lint clean screenshots

deps:
	@scripts/deps.sh

build: deps
	$(GO) build -o $(BIN) ./cmd/callscribe

demo: build
	@scripts/demo.sh $(BIN)

# One PostgreSQL server for the whole run (started as an unprivileged user when root);
# every test gets its own database from a migrated template. One MinIO likewise (built
# once into ~/.cache/callscribe/bin); every object-store test gets its own bucket.
# The lint gate (gofmt, vet, staticcheck, go mod tidy) runs first: it fails in seconds.
lint:
	@GO=$(GO) scripts/lint.sh

test: deps lint
	@scripts/test-postgres.sh start $(TESTDB)
	@scripts/test-minio.sh start $(TESTS3) || { scripts/test-postgres.sh stop $(TESTDB); exit 1; }
	@set -o pipefail; set -a; . $(TESTS3)/env; set +a; \
	  CALLSCRIBE_TEST_DATABASE_URL="$$(cat $(TESTDB)/url)" $(GO) test -count=1 -timeout 40m ./... ; \
	  status=$$?; scripts/test-minio.sh stop $(TESTS3); scripts/test-postgres.sh stop $(TESTDB); exit $$status

bench: build
	@scripts/bench.sh

# The README's screenshots of the web app, taken by its browser tests (docs/screenshots).
screenshots: deps
	@scripts/screenshots.sh

clean:
	rm -rf bin $(TESTDB) $(TESTS3)
