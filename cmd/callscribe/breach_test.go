package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestBreachCommand drives the breach procedure as an operator does: open an incident
// for listed users (one email matching nobody), see the regulator's deadlines, queue the
// notices from a template file once, and follow them per user.
func TestBreachCommand(t *testing.T) {
	t.Parallel()
	env := dbEnv(t)
	mustRun(t, env, "users", "add", "--email", "ivanova@example.ru")
	mustRun(t, env, "users", "add", "--email", "petrov@example.ru")
	dir := t.TempDir()
	list := filepath.Join(dir, "users.txt")
	os.WriteFile(list, []byte("# affected\nivanova@example.ru\nPETROV@example.ru\nnobody@example.ru\n"), 0o600)
	out := mustRun(t, env, "breach", "open", "--description", "a backup copy was exposed", "--users", list, "--detected", "2026-12-01 10:00")
	id := regexp.MustCompile(`breach ([0-9a-f-]{36}) opened: 2 users affected`).FindStringSubmatch(out)
	if id == nil || !strings.Contains(out, "no user with email nobody@example.ru") {
		t.Fatalf("breach open printed:\n%s\nwant the id, 2 users affected and the unmatched email", out)
	}
	for _, want := range []string{"first report to Roskomnadzor (24 h): due 2026-12-02T07:00:00Z", "investigation results to Roskomnadzor (72 h): due 2026-12-04T07:00:00Z"} {
		if !strings.Contains(out, want) {
			t.Errorf("breach open printed:\n%s\nwant %q", out, want)
		}
	}
	if r := runCLI(t, env, "breach", "open", "--description", "x"); r.code != exitBadInput {
		t.Errorf("breach open with neither window nor list: exit %d, want %d", r.code, exitBadInput)
	}
	status := mustRun(t, env, "breach", "status", id[1])
	if !strings.Contains(status, "users notified: not yet") || !strings.Contains(status, "not notified 2") {
		t.Errorf("status before notify:\n%s", status)
	}
	tmpl := filepath.Join(dir, "notice.txt")
	os.WriteFile(tmpl, []byte("[ru]\nРезервная копия была доступна посторонним.\n[en]\nA backup copy was exposed.\n"), 0o600)
	if out := mustRun(t, env, "breach", "notify", id[1], "--template", tmpl); !strings.Contains(out, "2 notices queued") {
		t.Errorf("breach notify printed %q, want 2 notices queued (2 users by email: no messenger is configured)", out)
	}
	if r := runCLI(t, env, "breach", "notify", id[1], "--template", tmpl); r.code != exitFailure || !strings.Contains(r.stderr, "notified already") {
		t.Errorf("second notify: exit %d, %q; want %d, notified already", r.code, r.stderr, exitFailure)
	}
	status = mustRun(t, env, "breach", "status", id[1])
	if !strings.Contains(status, "pending 2") || strings.Count(status, "pending") < 3 {
		t.Errorf("status after notify (nothing works the queue here):\n%s", status)
	}
	if list := mustRun(t, env, "breach", "list"); !strings.Contains(list, id[1]) {
		t.Errorf("breach list:\n%s\nlacks %s", list, id[1])
	}
}
