// Package pgtest gives tests a real, isolated PostgreSQL: one server per test
// run (or per test binary), one migrated template database per test binary,
// and a fresh database cloned from it for every DB call, dropped at cleanup.
//
// It owns only databases it created (named pgtest_…); it must never touch
// other databases on the server it is given, and it must never be imported
// by non-test code.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"callscribe/storage/pglocal"
)

// EnvURL names the variable holding a server URL shared by a whole test run
// (make test starts one with scripts/test-postgres.sh). The URL's database is
// used only to issue CREATE/DROP DATABASE.
const EnvURL = "CALLSCRIBE_TEST_DATABASE_URL"

// Main is called from a package's TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, migrate)) }
//
// It uses the server at $CALLSCRIBE_TEST_DATABASE_URL when set, otherwise
// starts a pglocal cluster in a temporary directory for this test binary and
// stops it afterwards. It runs migrate once on a template database; every
// DB call then gets a copy of it.
func Main(m *testing.M, migrate func(ctx context.Context, url string) error) int {
	if !flag.Parsed() {
		flag.Parse() // testing.Verbose needs the flags
	}
	code, err := run(m, migrate)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// The state Main sets up for DB.
var (
	admin  *pgxpool.Pool
	server string // URL of the server, any database
	prefix string // pgtest_<binary>_<pid>_<random>: names this binary's databases
	tmpl   string
	seq    atomic.Int64
)

func run(m *testing.M, migrate func(ctx context.Context, url string) error) (code int, err error) {
	ctx := context.Background()
	server = os.Getenv(EnvURL)
	if server == "" {
		dir, err := os.MkdirTemp("", "pgtest-")
		if err != nil {
			return 0, err
		}
		defer os.RemoveAll(dir)
		if err := removeWhenGone(dir); err != nil {
			return 0, err
		}
		logf := func(string, ...any) {}
		if testing.Verbose() {
			logf = func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
		}
		c, err := pglocal.Start(ctx, pglocal.Options{DataDir: dir, Logf: logf})
		if err != nil {
			return 0, fmt.Errorf("%s is unset, and starting a local server failed: %w", EnvURL, err)
		}
		defer func() {
			if cerr := c.Close(ctx); cerr != nil && err == nil {
				err = cerr
			}
		}()
		server = c.URL()
	}
	cfg, err := pgxpool.ParseConfig(server)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", EnvURL, err)
	}
	cfg.MaxConns = 4
	if admin, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return 0, fmt.Errorf("connect to test server: %w", err)
	}
	defer admin.Close()
	if os.Getenv(EnvURL) == "" {
		// A throwaway cluster needs no crash safety; skipping fsync makes
		// CREATE DATABASE and commits several times faster.
		for _, q := range []string{
			"ALTER SYSTEM SET fsync = off",
			"ALTER SYSTEM SET synchronous_commit = off",
			"ALTER SYSTEM SET full_page_writes = off",
			"SELECT pg_reload_conf()",
		} {
			if _, err := admin.Exec(ctx, q); err != nil {
				return 0, fmt.Errorf("tune test server: %s: %w", q, err)
			}
		}
	}

	// The pid keeps parallel test binaries on one server apart; the random
	// part covers binaries on different machines sharing a server.
	var r [3]byte
	rand.Read(r[:])
	prefix = fmt.Sprintf("pgtest_%s_%d_%s", binaryName(), os.Getpid(), hex.EncodeToString(r[:]))
	tmpl = prefix + "_tmpl"
	if err := makeTemplate(ctx, migrate); err != nil {
		dropTemplate(ctx)
		return 0, err
	}
	defer func() {
		if derr := dropTemplate(ctx); derr != nil && err == nil {
			err = derr
		}
	}()
	return m.Run(), nil
}

// removeWhenGone makes sure a test binary that dies without running its
// defers (a panicking test, a timeout, Ctrl-C) does not leave a server behind:
// a watchdog shell waits for this process's end (its stdin pipe closing) and
// then deletes dir. The orphaned server notices that its postmaster.pid is
// gone and shuts down within a minute. Normally Main has already stopped the
// server and removed dir by then, and the watchdog finds nothing to do.
func removeWhenGone(dir string) error {
	cmd := exec.Command("/bin/sh", "-c", `cat >/dev/null; rm -rf "$0"`, dir)
	// Own process group, so a Ctrl-C that kills us leaves the watchdog to
	// clean up. No stdout/stderr: go test waits for those to close.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if _, err := cmd.StdinPipe(); err != nil { // held open until we exit
		return fmt.Errorf("start cleanup watchdog: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start cleanup watchdog: %w", err)
	}
	go cmd.Wait()
	return nil
}

func makeTemplate(ctx context.Context, migrate func(ctx context.Context, url string) error) error {
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+ident(tmpl)); err != nil {
		return fmt.Errorf("create template database %s: %w", tmpl, err)
	}
	if err := migrate(ctx, withDatabase(server, tmpl)); err != nil {
		return fmt.Errorf("migrate template database %s: %w", tmpl, err)
	}
	// CREATE DATABASE … TEMPLATE fails while anyone is connected to the
	// template, so lock it and end the connections migrate left behind.
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+ident(tmpl)+" WITH ALLOW_CONNECTIONS false IS_TEMPLATE true"); err != nil {
		return fmt.Errorf("seal template database %s: %w", tmpl, err)
	}
	if _, err := admin.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", tmpl); err != nil {
		return fmt.Errorf("disconnect template database %s: %w", tmpl, err)
	}
	return nil
}

func dropTemplate(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	_, err1 := admin.Exec(ctx, "ALTER DATABASE "+ident(tmpl)+" WITH IS_TEMPLATE false")
	_, err2 := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(tmpl)+" WITH (FORCE)")
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("drop template database %s: %w", tmpl, err)
	}
	return nil
}

// DB returns the URL of a fresh database holding the migrated schema, dropped
// when t and its subtests finish. Safe to call from parallel tests.
func DB(t testing.TB) string {
	t.Helper()
	if admin == nil {
		t.Fatal("pgtest.DB: no test server: call pgtest.Main from the package's TestMain")
	}
	name := fmt.Sprintf("%s_%d", prefix, seq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+ident(name)+" TEMPLATE "+ident(tmpl)); err != nil {
		t.Fatalf("pgtest: create database %s from template %s: %v", name, tmpl, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// FORCE ends the connections a test's pool may still hold (PG 13+).
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(name)+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return withDatabase(server, name)
}

// withDatabase returns connection string s pointing at database db instead.
// s is either a postgres:// URL or libpq keyword=value pairs.
func withDatabase(s, db string) string {
	if strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") {
		if u, err := url.Parse(s); err == nil {
			q := u.Query()
			q.Del("dbname")
			u.RawQuery = q.Encode()
			u.Path, u.RawPath = "/"+db, ""
			return u.String()
		}
	}
	return strings.TrimSpace(s) + " dbname=" + db // the last setting wins
}

var notIdent = regexp.MustCompile(`[^a-z0-9]+`)

// binaryName is the test binary's name made fit for a database name:
// "pgtest.test" → "pgtest_test".
func binaryName() string {
	n := notIdent.ReplaceAllString(strings.ToLower(filepath.Base(os.Args[0])), "_")
	return strings.Trim(n[:min(len(n), 24)], "_")
}

func ident(s string) string { return pgx.Identifier{s}.Sanitize() }
