package privacy_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"callscribe"
	"callscribe/privacy"
	"callscribe/storage/pgtest"
	"callscribe/storage/postgres"
)

type world struct {
	db    *postgres.DB
	user  callscribe.User
	clock time.Time
	reqs  *privacy.Requests
}

func newWorld(t *testing.T, now time.Time) *world {
	t.Helper()
	ctx := callscribe.AsSystem(context.Background())
	db, err := postgres.Open(ctx, pgtest.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	org, err := db.EnsureOrganization(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	u, err := db.CreateUser(ctx, callscribe.User{OrgID: org, Email: "kuznetsova@example.ru"})
	if err != nil {
		t.Fatal(err)
	}
	w := &world{db: db, user: u, clock: now}
	w.reqs = &privacy.Requests{Store: db, Now: func() time.Time { return w.clock }}
	return w
}

func (w *world) add(t *testing.T, kind callscribe.RequestKind, received string) callscribe.Request {
	t.Helper()
	r, err := w.reqs.Add(callscribe.AsSystem(context.Background()), privacy.NewRequest{OrgID: w.user.OrgID, UserID: w.user.ID, Kind: kind,
		ReceivedAt: date(t, received).In(privacy.Moscow), Actor: "cli:test"})
	if err != nil {
		t.Fatalf("add %s request received %s: %v", kind, received, err)
	}
	return r
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := callscribe.ErrorCode(err); got != code {
		t.Errorf("%s: code %q (%v), want %q", what, got, err, code)
	}
}

// TestRequestLifecycle walks a request through received → in_progress → extended →
// completed, checking the clock and the history at each step, and the refusals.
func TestRequestLifecycle(t *testing.T) {
	t.Parallel()
	ctx := callscribe.AsSystem(context.Background())
	w := newWorld(t, time.Date(2025, 11, 5, 10, 0, 0, 0, privacy.Moscow))
	r := w.add(t, callscribe.RequestAccess, "2025-10-31")
	if r.Status != callscribe.RequestReceived || r.DueAt != date(t, "2025-11-17") {
		t.Fatalf("new request: status %s, due %s; want received, due 2025-11-17", r.Status, r.DueAt)
	}
	stored, err := w.reqs.Get(ctx, r.ID)
	if err != nil || stored.DueAt != r.DueAt || !stored.ReceivedAt.Equal(r.ReceivedAt) {
		t.Fatalf("stored request %+v (%v) differs from the one returned %+v", stored, err, r)
	}

	_, err = w.reqs.Close(ctx, r.ID, privacy.Closing{Actor: "cli:test", Channel: callscribe.ConsentViaCLI})
	wantCode(t, "complete a request not started", err, callscribe.ECONFLICT)
	if _, err := w.reqs.Start(ctx, r.ID, "cli:test"); err != nil {
		t.Fatal(err)
	}
	_, err = w.reqs.Start(ctx, r.ID, "cli:test")
	wantCode(t, "start twice", err, callscribe.ECONFLICT)

	_, err = w.reqs.Extend(ctx, r.ID, privacy.Extension{Reason: " ", Actor: "cli:test"})
	wantCode(t, "extend without a reason", err, callscribe.EINVALID)
	_, err = w.reqs.Extend(ctx, r.ID, privacy.Extension{Days: 6, Reason: "archive", Actor: "cli:test"})
	wantCode(t, "extend by 6 business days", err, callscribe.EINVALID)
	w.clock = time.Date(2025, 11, 17, 18, 0, 0, 0, privacy.Moscow) // the last day of the term
	ext, err := w.reqs.Extend(ctx, r.ID, privacy.Extension{Reason: "the calls are in the archive", Actor: "cli:test"})
	if err != nil {
		t.Fatal(err)
	}
	if ext.ExtendedDueAt == nil || *ext.ExtendedDueAt != date(t, "2025-11-24") || ext.Due() != date(t, "2025-11-24") {
		t.Errorf("extended due %v, want 2025-11-24 (five business days after 2025-11-17)", ext.ExtendedDueAt)
	}
	if !strings.Contains(ext.NoticeText, "the calls are in the archive") || ext.NoticeAt == nil || !ext.NoticeAt.Equal(w.clock) {
		t.Errorf("notice %q at %v: want the reason in it, sent now", ext.NoticeText, ext.NoticeAt)
	}
	_, err = w.reqs.Extend(ctx, r.ID, privacy.Extension{Days: 1, Reason: "again", Actor: "cli:test"})
	wantCode(t, "extend twice", err, callscribe.ECONFLICT)

	_, err = w.reqs.Close(ctx, r.ID, privacy.Closing{Reject: true, Actor: "cli:test"})
	wantCode(t, "reject without a reason", err, callscribe.EINVALID)
	w.clock = w.clock.Add(24 * time.Hour)
	done, err := w.reqs.Close(ctx, r.ID, privacy.Closing{Notes: "export sent", Actor: "cli:boss", Channel: callscribe.ConsentViaCLI})
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != callscribe.RequestCompleted || done.ClosedAt == nil || !done.ClosedAt.Equal(w.clock) || done.Notes != "export sent" {
		t.Errorf("closed request %+v: want completed now with the notes", done)
	}
	_, err = w.reqs.Close(ctx, r.ID, privacy.Closing{Reject: true, Reason: "late", Actor: "cli:test"})
	wantCode(t, "close twice", err, callscribe.ECONFLICT)
	_, err = w.reqs.Start(ctx, uuid.New(), "cli:test")
	wantCode(t, "start a missing request", err, callscribe.ENOTFOUND)

	events, err := w.reqs.Events(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range events {
		got = append(got, e.Action+"/"+string(e.Status)+"/"+e.Actor)
	}
	want := "received/received/cli:test started/in_progress/cli:test extended/in_progress/cli:test completed/completed/cli:boss"
	if strings.Join(got, " ") != want {
		t.Errorf("history %q, want %q", strings.Join(got, " "), want)
	}
}

func TestRejectFromReceivedKeepsTheReason(t *testing.T) {
	t.Parallel()
	ctx := callscribe.AsSystem(context.Background())
	w := newWorld(t, time.Date(2026, 3, 2, 9, 0, 0, 0, privacy.Moscow))
	r := w.add(t, callscribe.RequestRectification, "2026-03-02")
	got, err := w.reqs.Close(ctx, r.ID, privacy.Closing{Reject: true, Reason: "identity not confirmed", Actor: "cli:test"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != callscribe.RequestRejected || got.Reason != "identity not confirmed" {
		t.Errorf("rejected request %+v, want status rejected with the reason", got)
	}
}

func TestExtensionMustComeBeforeTheTermEnds(t *testing.T) {
	t.Parallel()
	ctx := callscribe.AsSystem(context.Background())
	w := newWorld(t, time.Date(2025, 11, 18, 0, 30, 0, 0, privacy.Moscow)) // the day after the due day
	r := w.add(t, callscribe.RequestErasure, "2025-10-31")
	_, err := w.reqs.Extend(ctx, r.ID, privacy.Extension{Reason: "late", Actor: "cli:test"})
	wantCode(t, "extend an overdue request", err, callscribe.ECONFLICT)
	if !w.reqs.Overdue(r) {
		t.Errorf("request due %s is not overdue on %s", r.DueAt, w.reqs.Today())
	}
	_, err = w.reqs.Add(ctx, privacy.NewRequest{OrgID: w.user.OrgID, UserID: w.user.ID, Kind: callscribe.RequestAccess,
		ReceivedAt: w.clock.Add(time.Hour), Actor: "cli:test"})
	wantCode(t, "a request received in the future", err, callscribe.EINVALID)
}

func TestListRequests(t *testing.T) {
	t.Parallel()
	ctx := callscribe.AsSystem(context.Background())
	w := newWorld(t, time.Date(2026, 4, 13, 12, 0, 0, 0, privacy.Moscow)) // Monday
	overdue := w.add(t, callscribe.RequestAccess, "2026-03-27")           // due 2026-04-10
	dueSoon := w.add(t, callscribe.RequestErasure, "2026-04-01")          // due 2026-04-15
	later := w.add(t, callscribe.RequestBlocking, "2026-04-10")           // due 2026-04-24
	closed := w.add(t, callscribe.RequestWithdrawal, "2026-03-20")        // due 2026-04-03, rejected
	if _, err := w.reqs.Close(ctx, closed.ID, privacy.Closing{Reject: true, Reason: "duplicate", Actor: "cli:test"}); err != nil {
		t.Fatal(err)
	}
	ids := func(list []callscribe.Request) string {
		names := map[uuid.UUID]string{overdue.ID: "overdue", dueSoon.ID: "dueSoon", later.ID: "later", closed.ID: "closed"}
		var out []string
		for _, r := range list {
			out = append(out, names[r.ID])
		}
		return strings.Join(out, ",")
	}
	tests := []struct {
		name string
		opts privacy.ListOptions
		want string
	}{
		{"all, earliest due first", privacy.ListOptions{}, "closed,overdue,dueSoon,later"},
		{"overdue", privacy.ListOptions{Overdue: true}, "overdue"},
		{"due within 3 days", privacy.ListOptions{DueWithin: 3}, "overdue,dueSoon"},
		{"due within 11 days", privacy.ListOptions{DueWithin: 11}, "overdue,dueSoon,later"},
		{"rejected", privacy.ListOptions{Status: callscribe.RequestRejected}, "closed"},
		{"received", privacy.ListOptions{Status: callscribe.RequestReceived}, "overdue,dueSoon,later"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := w.reqs.List(ctx, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(list); got != tt.want {
				t.Errorf("List(%+v) = %s, want %s", tt.opts, got, tt.want)
			}
		})
	}
	_, err := w.reqs.List(ctx, privacy.ListOptions{Overdue: true, Status: callscribe.RequestCompleted})
	wantCode(t, "overdue completed requests", err, callscribe.EINVALID)
}

// TestClosingWithdrawalWithdrawsEveryConsent: completing a withdrawal request withdraws
// every purpose in force, each recorded as an event with the closer's channel.
func TestClosingWithdrawalWithdrawsEveryConsent(t *testing.T) {
	t.Parallel()
	ctx := callscribe.AsSystem(context.Background())
	w := newWorld(t, time.Now())
	c := &privacy.Consents{Store: w.db, PolicyVersion: "7"}
	if _, err := c.Grant(ctx, w.user.ID, callscribe.Purposes, callscribe.ConsentViaBot); err != nil {
		t.Fatal(err)
	}
	r := w.add(t, callscribe.RequestWithdrawal, time.Now().In(privacy.Moscow).Format(time.DateOnly))
	if _, err := w.reqs.Start(ctx, r.ID, "api:key1"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.reqs.Close(ctx, r.ID, privacy.Closing{Actor: "api:key1", Channel: callscribe.ConsentViaAPI}); err != nil {
		t.Fatal(err)
	}
	for _, p := range callscribe.Purposes {
		if ok, err := w.db.ConsentInForce(ctx, w.user.ID, p); err != nil || ok {
			t.Errorf("%s in force = %v (%v) after the withdrawal request closed, want false", p, ok, err)
		}
	}
	events, err := c.Events(ctx, w.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	withdrawals := 0
	for _, e := range events {
		if e.Action == callscribe.ConsentWithdraw {
			withdrawals++
			if e.Channel != callscribe.ConsentViaAPI || e.PolicyVersion != "7" {
				t.Errorf("withdrawal event %+v: want channel api, policy 7", e)
			}
		}
	}
	if withdrawals != len(callscribe.Purposes) || len(events) != 2*len(callscribe.Purposes) {
		t.Errorf("%d events, %d withdrawals; want a grant and a withdrawal per purpose", len(events), withdrawals)
	}
}

// TestClosingBlockingBlocks: completing a blocking request blocks the subject: a
// transcript already stored is no longer shown, and a call in flight is not stored.
func TestClosingBlockingBlocks(t *testing.T) {
	t.Parallel()
	ctx := callscribe.AsSystem(context.Background())
	w := newWorld(t, time.Now())
	w.db.GrantConsent(ctx, w.user.ID, callscribe.PurposeTranscription, "1", callscribe.ConsentViaCLI, time.Now())
	shown := completedCall(t, w.db, w.user)
	inFlight := stagedCall(t, w.db, w.user)
	r := w.add(t, callscribe.RequestBlocking, time.Now().In(privacy.Moscow).Format(time.DateOnly))
	w.reqs.Start(ctx, r.ID, "cli:test")
	if _, err := w.reqs.Close(ctx, r.ID, privacy.Closing{Actor: "cli:test", Channel: callscribe.ConsentViaCLI}); err != nil {
		t.Fatal(err)
	}
	if blocked, err := w.db.UserBlocked(ctx, w.user.ID); err != nil || !blocked {
		t.Fatalf("blocked = %v (%v) after the blocking request completed", blocked, err)
	}
	_, err := w.db.Transcript(ctx, shown)
	wantCode(t, "read a blocked user's transcript", err, callscribe.EBLOCKED)
	done, err := w.db.CompleteCall(ctx, w.user.ID, callscribe.Transcript{CallID: inFlight, Engine: "e", Text: "words"})
	if err != nil || done.Stored {
		t.Errorf("CompleteCall for a blocked owner = %+v, %v; want nothing stored", done, err)
	}
	if n := count(t, w.db, "transcripts"); n != 1 {
		t.Errorf("%d transcripts, want 1: the blocked user's data is kept, not deleted", n)
	}
	if _, err := w.db.UnblockUser(ctx, w.user.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.db.Transcript(ctx, shown); err != nil {
		t.Errorf("read after unblocking: %v", err)
	}
}

// TestErasureRunsInTheClosingTransaction: completing an erasure request marks the
// subject erased and enqueues their purge in the closing transaction, or does neither;
// without an Eraser an erasure request cannot be completed. The queued job names the
// request alone, and running it purges the subject and writes the ledger entry.
func TestErasureRunsInTheClosingTransaction(t *testing.T) {
	t.Parallel()
	ctx := callscribe.AsSystem(context.Background())
	w := newWorld(t, time.Now())
	w.db.GrantConsent(ctx, w.user.ID, callscribe.PurposeTranscription, "1", callscribe.ConsentViaCLI, time.Now())
	completedCall(t, w.db, w.user)
	r := w.add(t, callscribe.RequestErasure, time.Now().In(privacy.Moscow).Format(time.DateOnly))
	w.reqs.Start(ctx, r.ID, "cli:test")
	closing := privacy.Closing{Actor: "cli:test", Channel: callscribe.ConsentViaCLI}

	_, err := w.reqs.Close(ctx, r.ID, closing)
	wantCode(t, "complete an erasure without an eraser", err, callscribe.ECONFLICT)
	eraser := newEraser(t, w.db, filepath.Join(t.TempDir(), "ledger.jsonl"))
	w.reqs.Eraser = eraser
	// A store without a job queue cannot enqueue the purge: the close rolls back whole.
	if _, err := w.reqs.Close(ctx, r.ID, closing); err == nil {
		t.Fatal("Close succeeded although the purge could not be enqueued")
	}
	if got, _ := w.reqs.Get(ctx, r.ID); got.Status != callscribe.RequestInProgress {
		t.Fatalf("after a failed close: status %s; want in_progress (rolled back)", got.Status)
	}
	if _, err := w.db.UserByID(ctx, w.user.ID); err != nil {
		t.Fatalf("after a failed close the subject is out of reach: %v; want the mark rolled back", err)
	}
	jobs, err := river.NewClient(riverpgxv5.New(w.db.Pool()), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	w.reqs.Store = &postgres.Queued{DB: w.db, Jobs: jobs}
	if _, err := w.reqs.Close(ctx, r.ID, closing); err != nil {
		t.Fatal(err)
	}
	if _, err := w.db.UserByID(ctx, w.user.ID); callscribe.ErrorCode(err) != callscribe.ENOTFOUND {
		t.Errorf("after the close the subject is still read: %v; want ENOTFOUND", err)
	}
	var args string
	if err := w.db.Pool().QueryRow(ctx, `SELECT args::text FROM river_job WHERE kind = 'erase_subject' AND queue = $1`,
		callscribe.EraseQueue).Scan(&args); err != nil {
		t.Fatalf("no erase_subject job queued in the %s queue: %v", callscribe.EraseQueue, err)
	}
	if strings.Contains(args, w.user.ID.String()) || !strings.Contains(args, r.ID.String()) {
		t.Errorf("job args %s; want the request id and not the subject's", args)
	}
	var job callscribe.EraseSubjectJob
	if err := json.Unmarshal([]byte(args), &job); err != nil {
		t.Fatal(err)
	}
	worker := &privacy.EraseWorker{Requests: w.db, Eraser: eraser}
	if err := worker.Work(ctx, &river.Job[callscribe.EraseSubjectJob]{Args: job}); err != nil {
		t.Fatal(err)
	}
	if count(t, w.db, "calls") != 0 || count(t, w.db, "users") != 0 || count(t, w.db, "erasure_ledger") != 1 {
		t.Errorf("after the job: %d calls, %d users, %d ledger entries; want 0, 0, 1",
			count(t, w.db, "calls"), count(t, w.db, "users"), count(t, w.db, "erasure_ledger"))
	}
	// Run again (River runs a job at least once): nothing more happens.
	if err := worker.Work(ctx, &river.Job[callscribe.EraseSubjectJob]{Args: job}); err != nil || count(t, w.db, "erasure_ledger") != 1 {
		t.Errorf("second run: %v, %d ledger entries; want no error and still 1", err, count(t, w.db, "erasure_ledger"))
	}
	// The record that the request was answered outlives the subject.
	got, err := w.reqs.Get(ctx, r.ID)
	if err != nil || got.Status != callscribe.RequestCompleted || got.UserID != uuid.Nil {
		t.Errorf("request after its subject was erased: %+v, %v; want kept, completed, without the user", got, err)
	}
}

func TestRequestsCollector(t *testing.T) {
	t.Parallel()
	ctx := callscribe.AsSystem(context.Background())
	w := newWorld(t, time.Date(2026, 4, 13, 12, 0, 0, 0, privacy.Moscow))
	w.add(t, callscribe.RequestAccess, "2026-03-27")  // overdue
	w.add(t, callscribe.RequestAccess, "2026-04-10")  // open
	w.add(t, callscribe.RequestErasure, "2026-03-27") // overdue
	rej := w.add(t, callscribe.RequestBlocking, "2026-03-27")
	w.reqs.Close(ctx, rej.ID, privacy.Closing{Reject: true, Reason: "duplicate", Actor: "cli:test"})

	c := privacy.NewRequestsCollector(w.db)
	c.Now = func() time.Time { return w.clock }
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			got[f.GetName()+"/"+m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
		}
	}
	want := map[string]float64{
		"callscribe_privacy_requests_open/access": 2, "callscribe_privacy_requests_overdue/access": 1,
		"callscribe_privacy_requests_open/erasure": 1, "callscribe_privacy_requests_overdue/erasure": 1,
		"callscribe_privacy_requests_open/blocking": 0, "callscribe_privacy_requests_overdue/blocking": 0,
		"callscribe_privacy_requests_open/withdrawal": 0, "callscribe_privacy_requests_open/rectification": 0,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	if len(got) != 2*len(callscribe.RequestKinds) {
		t.Errorf("%d series, want open and overdue for each of %d kinds: %v", len(got), len(callscribe.RequestKinds), got)
	}
}

func TestLoadCalendarFileReplacesTheYearsItNames(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "calendar.txt")
	os.WriteFile(path, []byte("# our own 2026\n2026-11-05 off\n"), 0o600)
	cal, err := privacy.LoadCalendar(path)
	if err != nil {
		t.Fatal(err)
	}
	for day, want := range map[string]bool{
		"2026-11-05": false, // the file's day off
		"2026-11-04": true,  // off in the default, but the file defines 2026 wholly
		"2025-11-03": false, // 2025 still from the default
		"2025-11-01": true,
	} {
		if got := cal.IsBusinessDay(date(t, day)); got != want {
			t.Errorf("IsBusinessDay(%s) = %v, want %v", day, got, want)
		}
	}
	_, err = privacy.LoadCalendar(filepath.Join(t.TempDir(), "missing.txt"))
	wantCode(t, "a missing calendar file", err, callscribe.EINVALID)
}

// --- helpers ---

func stagedCall(t *testing.T, db *postgres.DB, u callscribe.User) uuid.UUID {
	t.Helper()
	ctx := callscribe.AsSystem(context.Background())
	id, err := db.CreateCall(ctx, u.OrgID, u.ID, []string{"agent"})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.RecordStaging(ctx, id, callscribe.Staging{Stage: "memory", ObjectKey: "calls/" + id.String(),
		Bytes: 10, SHA256: strings.Repeat("ab", 32), StagedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return id
}

func completedCall(t *testing.T, db *postgres.DB, u callscribe.User) uuid.UUID {
	t.Helper()
	id := stagedCall(t, db, u)
	done, err := db.CompleteCall(callscribe.AsSystem(context.Background()), u.ID, callscribe.Transcript{CallID: id, Engine: "e", Text: "words",
		Segments: []callscribe.Segment{{Speaker: "agent", StartMS: 0, EndMS: 10, Text: "words"}}})
	if err != nil || !done.Stored {
		t.Fatalf("CompleteCall = %+v, %v", done, err)
	}
	return id
}

func count(t *testing.T, db *postgres.DB, table string) int {
	t.Helper()
	var n int
	if err := db.Pool().QueryRow(callscribe.AsSystem(context.Background()), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
