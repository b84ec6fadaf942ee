package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"callscribe"
	"callscribe/internal/testcall"
)

type requestOut struct {
	ID            string `json:"id"`
	Kind          string `json:"kind"`
	Status        string `json:"status"`
	ReceivedAt    string `json:"received_at"`
	DueAt         string `json:"due_at"`
	ExtendedDueAt string `json:"extended_due_at"`
	Due           string `json:"due"`
	Overdue       bool   `json:"overdue"`
	Reason        string `json:"reason"`
	Events        []struct {
		Action string `json:"action"`
		Actor  string `json:"actor"`
	} `json:"events"`
}

func decodeRequest(t *testing.T, s string) requestOut {
	t.Helper()
	var r requestOut
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		t.Fatalf("output is not a request as JSON: %v\n%s", err, s)
	}
	return r
}

// TestRequestsCommand drives the requests commands as an operator does; the first
// request is the policy's check (received Friday 2025-10-31, due 2025-11-17).
func TestRequestsCommand(t *testing.T) {
	t.Parallel()
	env := dbEnv(t)
	mustRun(t, env, "users", "add", "--email", "sokolova@example.ru")
	old := decodeRequest(t, mustRun(t, env, "requests", "add", "--kind", "access", "--email", "sokolova@example.ru", "--received", "2025-10-31"))
	if old.ID == "" || old.Kind != "access" || old.Status != "received" || old.DueAt != "2025-11-17" || old.ReceivedAt != "2025-10-30T21:00:00Z" {
		t.Errorf("requests add printed %+v; want an id, kind access, status received, received 2025-10-31 (Moscow) written in UTC as the API writes it, due 2025-11-17", old)
	}
	if shown := decodeRequest(t, mustRun(t, env, "requests", "show", old.ID)); shown.ReceivedAt != old.ReceivedAt {
		t.Errorf("requests show printed received_at %q, add printed %q: one form everywhere", shown.ReceivedAt, old.ReceivedAt)
	}
	today := time.Now().In(time.FixedZone("MSK", 3*3600)).Format(time.DateOnly)
	fresh := decodeRequest(t, mustRun(t, env, "requests", "add", "--kind", "blocking", "--email", "sokolova@example.ru"))
	freshAt, err := time.Parse(time.RFC3339, fresh.ReceivedAt)
	if err != nil || !strings.HasSuffix(fresh.ReceivedAt, "Z") || freshAt.In(time.FixedZone("MSK", 3*3600)).Format(time.DateOnly) != today || fresh.Overdue {
		t.Errorf("request received now: %+v, want received %s and not overdue", fresh, today)
	}

	// The old request is long overdue: too late to extend.
	if r := runCLI(t, env, "requests", "extend", old.ID, "--reason", "archive"); r.code != exitFailure || !strings.Contains(r.stderr, "before the term ends") {
		t.Errorf("extend an overdue request: exit %d, %q; want %d and the reason", r.code, r.stderr, exitFailure)
	}
	overdue := strings.TrimSpace(mustRun(t, env, "requests", "list", "--overdue", "--json"))
	if got := decodeRequest(t, overdue); strings.Contains(overdue, "\n") || got.ID != old.ID || !got.Overdue {
		t.Errorf("list --overdue --json = %s, want the old request alone", overdue)
	}
	table := mustRun(t, env, "requests", "list")
	if !strings.Contains(table, old.ID) || !strings.Contains(table, "OVERDUE") || !strings.Contains(table, fresh.ID) {
		t.Errorf("list table lacks a request or the overdue mark:\n%s", table)
	}

	mustRun(t, env, "requests", "start", fresh.ID)
	ext := decodeRequest(t, mustRun(t, env, "requests", "extend", fresh.ID, "--reason", "records in the archive", "--days", "3"))
	if ext.ExtendedDueAt == "" || ext.Due != ext.ExtendedDueAt || ext.ExtendedDueAt <= ext.DueAt {
		t.Errorf("extended request %+v: want a later extended due date", ext)
	}
	within := mustRun(t, env, "requests", "list", "--due-within", "30d", "--json")
	if !strings.Contains(within, fresh.ID) {
		t.Errorf("list --due-within 30d lacks the fresh request:\n%s", within)
	}
	closed := decodeRequest(t, mustRun(t, env, "requests", "close", fresh.ID))
	if closed.Status != "completed" {
		t.Errorf("closed request status %s, want completed", closed.Status)
	}
	rejected := decodeRequest(t, mustRun(t, env, "requests", "close", old.ID, "--reject", "--reason", "identity not confirmed"))
	if rejected.Status != "rejected" || rejected.Reason != "identity not confirmed" {
		t.Errorf("rejected request %+v", rejected)
	}
	shown := decodeRequest(t, mustRun(t, env, "requests", "show", fresh.ID))
	var actions []string
	for _, e := range shown.Events {
		actions = append(actions, e.Action)
	}
	if got := strings.Join(actions, ","); got != "received,started,extended,completed" {
		t.Errorf("history %s, want received,started,extended,completed", got)
	}

	// Closing the blocking request blocked the subject.
	show := mustRun(t, env, "consent", "show", "--email", "sokolova@example.ru")
	if !strings.Contains(show, "blocked since") {
		t.Errorf("consent show does not say the user is blocked:\n%s", show)
	}

	for _, bad := range [][]string{
		{"requests", "add", "--kind", "marketing", "--email", "sokolova@example.ru"},
		{"requests", "add", "--kind", "access", "--email", "sokolova@example.ru", "--received", "31.10.2025"},
		{"requests", "start", "not-an-id"},
		{"requests", "close", fresh.ID, "--reject"},
		{"requests", "extend", fresh.ID, "--reason", "x", "--days", "6"},
		{"requests", "list", "--due-within", "three days"},
	} {
		if r := runCLI(t, env, bad...); r.code != exitBadInput || r.stderr == "" {
			t.Errorf("%s: exit %d (%q), want %d with a message", strings.Join(bad, " "), r.code, r.stderr, exitBadInput)
		}
	}
}

// TestBlockedUserCLI: a blocked user's calls are refused with their own exit status and
// nothing is recorded; unblocking lets them through again.
func TestBlockedUserCLI(t *testing.T) {
	t.Parallel()
	env := dbEnv(t)
	mustRun(t, env, "users", "add", "--email", "orlov@example.ru")
	mustRun(t, env, "consent", "grant", "--email", "orlov@example.ru", "--purpose", "transcription,crm_export")
	if out := mustRun(t, env, "users", "block", "orlov@example.ru"); !strings.Contains(out, "blocked") {
		t.Errorf("users block said %q", out)
	}
	file := testcall.Speak(t, t.TempDir(), testcall.Agent, testcall.Sentences[0])
	r := runCLI(t, env, "transcribe", "--owner", "orlov@example.ru", file)
	if r.code != exitBlocked || !strings.Contains(r.stderr, "blocked") {
		t.Errorf("transcribe for a blocked owner: exit %d, %q; want %d saying blocked", r.code, r.stderr, exitBlocked)
	}
	var calls int
	openDB(t, env).Pool().QueryRow(callscribe.AsSystem(t.Context()), "SELECT count(*) FROM calls").Scan(&calls)
	if calls != 0 {
		t.Errorf("%d calls recorded for a blocked owner, want 0", calls)
	}
	mustRun(t, env, "users", "unblock", "orlov@example.ru")
	if r := runCLI(t, env, "transcribe", "--owner", "orlov@example.ru", file); r.code != exitOK {
		t.Errorf("transcribe after unblocking: exit %d\n%s", r.code, r.stderr)
	}
	show := mustRun(t, env, "consent", "show", "--email", "orlov@example.ru")
	for _, want := range []string{"in force: transcription (policy 1), crm_export (policy 1)", "grant\ttranscription\tpolicy 1\tvia cli", "grant\tcrm_export"} {
		if !strings.Contains(show, want) {
			t.Errorf("consent show lacks %q:\n%s", want, show)
		}
	}
	if r := runCLI(t, env, "users", "block", "nobody@example.ru"); r.code != exitNotFound {
		t.Errorf("block an unknown user: exit %d, want %d", r.code, exitNotFound)
	}
}
