package pgtest_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// scripts/test-postgres.sh is what make test uses to give every package
// one shared server through CALLSCRIBE_TEST_DATABASE_URL.
func TestTestPostgresScript(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	script, err := filepath.Abs("../../scripts/test-postgres.sh")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "run dir") // a space must survive quoting
	sh := func(action string) {
		t.Helper()
		out, err := exec.Command(script, action, dir).CombinedOutput()
		if err != nil {
			t.Fatalf("test-postgres.sh %s: %v\n%s", action, err, out)
		}
		if action == "start" {
			t.Logf("test-postgres.sh start said: %q", out)
		}
	}
	sh("start")
	t.Cleanup(func() { exec.Command(script, "stop", dir).Run() })
	b, err := os.ReadFile(filepath.Join(dir, "url"))
	if err != nil {
		t.Fatalf("start wrote no URL: %v", err)
	}
	url := strings.TrimSpace(string(b))

	query := func(q string) string {
		t.Helper()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatalf("connect %s: %v", url, err)
		}
		defer conn.Close(ctx)
		var s string
		if err := conn.QueryRow(ctx, q).Scan(&s); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return s
	}
	for q, want := range map[string]string{
		"SHOW listen_addresses":                    "",
		"SHOW unix_socket_directories":             filepath.Join(dir, "pg"),
		"SHOW fsync":                               "off",
		"SELECT current_database()":                "postgres",
		"SELECT (current_user = 'postgres')::text": "true",
	} {
		if got := query(q); got != want {
			t.Errorf("%s = %q; want %q", q, got, want)
		}
	}
	backendPID := query("SELECT pg_backend_pid()::text")
	status, err := os.ReadFile("/proc/" + backendPID + "/status")
	if err == nil && strings.Contains(string(status), "\nUid:\t0\t") {
		t.Errorf("server backend runs as root; want an unprivileged user")
	}

	started := query("SELECT pg_postmaster_start_time()::text")
	sh("start") // a second start reuses the running server
	if got := query("SELECT pg_postmaster_start_time()::text"); got != started {
		t.Errorf("second start restarted the server (start time %s → %s); want it reused", started, got)
	}

	sh("stop")
	if _, err := os.Stat(filepath.Join(dir, "url")); !os.IsNotExist(err) {
		t.Errorf("after stop, url file: %v; want removed", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if conn, err := pgx.Connect(cctx, url); err == nil {
		conn.Close(ctx)
		t.Errorf("connect after stop succeeded; want the server gone")
	}
}
