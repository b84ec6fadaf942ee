package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"callscribe"
	"callscribe/internal/eventually"
	"callscribe/privacy"
	"callscribe/storage/pgtest"
)

// subject is a user of the harness's organization with stored calls.
type subject struct {
	user  callscribe.User
	calls []uuid.UUID
	words []string
}

// needles are what a whole-database scan must not find once the subject is erased.
func (s subject) needles() []string {
	n := []string{s.user.ID.String(), s.user.Email, s.user.Surname, "9161234567"}
	for _, c := range s.calls {
		n = append(n, c.String())
	}
	return append(n, s.words...)
}

// storedCall stores a completed call of u's whose segments say words, with a summary of
// them and the receipt of its audio, as the pipeline does.
func (h *harness) storedCall(u callscribe.User, words ...string) uuid.UUID {
	h.t.Helper()
	ctx := callscribe.AsSystem(context.Background())
	id, err := h.db.CreateCall(ctx, u.OrgID, u.ID, []string{"agent", "client"})
	if err != nil {
		h.t.Fatal(err)
	}
	staged := time.Now()
	if err := h.db.RecordStaging(ctx, id, callscribe.Staging{Stage: "memory", ObjectKey: "calls/" + id.String(),
		Bytes: 1000, SHA256: strings.Repeat("cd", 32), StagedAt: staged}); err != nil {
		h.t.Fatal(err)
	}
	if err := h.db.SetProcessing(ctx, id); err != nil {
		h.t.Fatal(err)
	}
	tr := callscribe.Transcript{CallID: id, Engine: "test", Text: strings.Join(words, " "), DurationMS: 5000,
		Summary: &callscribe.Summary{Engine: "extractive", Text: "agent: " + strings.Join(words, " ")}}
	for i, w := range words {
		tr.Segments = append(tr.Segments, callscribe.Segment{Channel: i % 2, Speaker: []string{"agent", "client"}[i%2],
			StartMS: int64(i * 1000), EndMS: int64(i*1000 + 900), Text: w, Confidence: 0.9})
	}
	if done, err := h.db.CompleteCall(ctx, u.ID, tr); err != nil || !done.Stored {
		h.t.Fatalf("store call: %+v, %v", done, err)
	}
	if _, err := h.db.ConfirmDeletion(ctx, id, staged, staged); err != nil {
		h.t.Fatal(err)
	}
	return id
}

// person adds a consenting user named surname with n stored calls.
func (h *harness) person(orgID uuid.UUID, surname string, n int) subject {
	h.t.Helper()
	ctx := callscribe.AsSystem(context.Background())
	u, err := h.db.CreateUser(ctx, callscribe.User{OrgID: orgID, Email: surname + "@example.ru", Surname: surname, Phone: "+7 916 123-45-67"})
	if err != nil {
		h.t.Fatal(err)
	}
	for _, p := range []callscribe.Purpose{callscribe.PurposeTranscription, callscribe.PurposeSummarization} {
		if _, err := h.db.GrantConsent(ctx, u.ID, p, "1", callscribe.ConsentViaAPI, time.Now()); err != nil {
			h.t.Fatal(err)
		}
	}
	s := subject{user: u}
	for i := range n {
		w := []string{surname + "alpha" + string(rune('a'+i)), surname + "beta" + string(rune('a'+i))}
		s.calls = append(s.calls, h.storedCall(u, w...))
		s.words = append(s.words, w...)
	}
	return s
}

// closeErasure records an erasure request for u over the API, starts it and completes it.
func (h *harness) closeErasure(key string, u callscribe.User) string {
	h.t.Helper()
	r := h.do("POST", "/v1/requests", key, "application/json", strings.NewReader(`{"kind":"erasure","user_id":"`+u.ID.String()+`"}`))
	if r.status != http.StatusCreated {
		h.t.Fatalf("POST erasure request: %d %s", r.status, r.body)
	}
	id, _ := r.json(h.t)["id"].(string)
	if r := h.do("POST", "/v1/requests/"+id+"/start", key, "", nil); r.status != http.StatusOK {
		h.t.Fatalf("start: %d %s", r.status, r.body)
	}
	if r := h.do("POST", "/v1/requests/"+id+"/close", key, "application/json", strings.NewReader(`{}`)); r.status != http.StatusOK {
		h.t.Fatalf("close: %d %s", r.status, r.body)
	}
	return id
}

// TestErasureOverHTTP: closing an erasure request over the API takes the subject out of
// every read at once (list, search, get, transcript, export), and the purge it queued in the
// closing transaction leaves nothing of them in any table, with its ledger entry, within
// 10 s, without waiting for the retention pass. The other user is intact.
func TestErasureOverHTTP(t *testing.T) {
	t.Parallel()
	// No worker yet: what the reads show right after the close is the close's own doing.
	h := newHarness(t, options{})
	ctx := callscribe.AsSystem(context.Background())
	org, key := h.org("acme")
	alice := h.person(org, "quokkova", 2)
	bob := h.person(org, "wombatova", 1)
	if list := h.get("/v1/calls", key); !strings.Contains(string(list.body), alice.calls[0].String()) {
		t.Fatalf("before the close the list lacks alice's call: %s", list.body)
	}
	search := "/v1/calls?q=" + alice.words[0]
	if found := h.get(search, key); !strings.Contains(string(found.body), alice.calls[0].String()) {
		t.Fatalf("before the close a search for alice's word lacks her call: %d %s", found.status, found.body)
	}
	request := h.closeErasure(key, alice.user)
	if found := h.get(search, key); found.status != http.StatusOK || strings.Contains(string(found.body), alice.calls[0].String()) ||
		strings.Contains(string(found.body), alice.words[0]) {
		t.Errorf("GET %s after the close: %d %s; want 200 without alice's call or words", search, found.status, found.body)
	}

	list := h.get("/v1/calls", key)
	if list.status != http.StatusOK || !strings.Contains(string(list.body), bob.calls[0].String()) {
		t.Fatalf("GET /v1/calls after the close: %d %s; want bob's call listed", list.status, list.body)
	}
	for _, needle := range alice.needles() {
		if strings.Contains(string(list.body), needle) {
			t.Errorf("GET /v1/calls after the close holds alice's %q", needle)
		}
	}
	reads := []string{ownerQuery(alice.user.Email), "/v1/users/" + alice.user.ID.String() + "/export",
		"/v1/users/" + alice.user.ID.String() + "/consents"}
	for _, c := range alice.calls {
		reads = append(reads, "/v1/calls/"+c.String(), "/v1/calls/"+c.String()+"/transcript", "/v1/calls/"+c.String()+"/transcript?format=txt")
	}
	for _, path := range reads {
		r := h.get(path, key)
		if r.status != http.StatusNotFound {
			t.Errorf("GET %s after the close: %d %s; want 404", path, r.status, r.body)
		}
		for _, needle := range []string{alice.user.Email, alice.user.Surname, alice.words[0]} {
			if strings.Contains(string(r.body), needle) {
				t.Errorf("GET %s after the close names %q: %s", path, needle, r.body)
			}
		}
	}

	// The purge the close queued: a worker of the erasure queue starts now.
	workers := river.NewWorkers()
	river.AddWorker(workers, &privacy.EraseWorker{Requests: h.db, Eraser: h.eraser})
	client, err := river.NewClient(riverpgxv5.New(h.db.Pool()), &river.Config{Workers: workers,
		Queues: map[string]river.QueueConfig{callscribe.EraseQueue: {MaxWorkers: 1}}, FetchPollInterval: 100 * time.Millisecond, FetchCooldown: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	if err := client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Stop(context.WithoutCancel(ctx)) })
	eventually.True(t, 10*time.Second, "erasure ledger entry for the request", func() bool {
		return h.count(`SELECT count(*) FROM erasure_ledger WHERE request_id = $1`, request) == 1
	})
	t.Logf("purge and ledger entry %s after the worker started", time.Since(started).Round(time.Millisecond))
	if hits := pgtest.Scan(t, h.url, alice.needles()); len(hits) != 0 {
		t.Errorf("after the purge the database still holds alice's data:\n%s", strings.Join(hits, "\n"))
	}
	entries, err := h.eraser.Ledger.Read()
	if err != nil || len(entries) != 1 || entries[0].RequestID != request || entries[0].Counts["calls"] != 2 {
		t.Errorf("ledger file: %+v, %v; want one entry for request %s counting 2 calls", entries, err, request)
	}
	if r := h.get("/v1/calls/"+bob.calls[0].String()+"/transcript", key); r.status != http.StatusOK || !strings.Contains(string(r.body), bob.words[0]) {
		t.Errorf("bob's transcript after alice's erasure: %d %s", r.status, r.body)
	}
	if r := h.get("/v1/requests/"+request, key); r.status != http.StatusOK || r.json(t)["status"] != "completed" {
		t.Errorf("the request after the purge: %d %s; want kept, completed", r.status, r.body)
	}
}

// TestErasedOwnersCallNamesNoOne: a call of a user marked erased (their purge not run
// yet) is not found, and the answer names nothing but the call id.
func TestErasedOwnersCallNamesNoOne(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	org, key := h.org("acme")
	alice := h.person(org, "quokkova", 1)
	h.closeErasure(key, alice.user)
	for _, path := range []string{"/v1/calls/" + alice.calls[0].String(), "/v1/calls/" + alice.calls[0].String() + "/transcript"} {
		r := h.get(path, key)
		if r.status != http.StatusNotFound || r.errorCode(t) != "not_found" {
			t.Errorf("GET %s: %d %s; want 404 not_found", path, r.status, r.body)
		}
		body := string(r.body)
		for _, needle := range []string{alice.user.Email, "quokkova", alice.user.ID.String()} {
			if strings.Contains(body, needle) {
				t.Errorf("GET %s names %q: %s", path, needle, body)
			}
		}
	}
}

// TestReceivedAtHasOneForm: a request's received_at is written the same way, UTC, by
// every answer about it: created with a Moscow day, read back, listed, moved on.
func TestReceivedAtHasOneForm(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	org, key := h.org("acme")
	u := h.user(org, "sokolova@example.ru", true)
	created := h.do("POST", "/v1/requests", key, "application/json",
		strings.NewReader(`{"kind":"access","user_id":"`+u.ID.String()+`","received":"2026-03-02"}`))
	if created.status != http.StatusCreated {
		t.Fatalf("POST: %d %s", created.status, created.body)
	}
	id, _ := created.json(t)["id"].(string)
	const want = "2026-03-01T21:00:00Z" // the start of 2 March in Moscow
	seen := map[string]string{"POST /v1/requests": created.json(t)["received_at"].(string)}
	seen["GET /v1/requests/{id}"], _ = h.get("/v1/requests/"+id, key).json(t)["received_at"].(string)
	var list struct {
		Requests []struct {
			ReceivedAt string `json:"received_at"`
		} `json:"requests"`
	}
	if err := json.Unmarshal(h.get("/v1/requests", key).body, &list); err != nil || len(list.Requests) != 1 {
		t.Fatalf("list: %+v, %v", list, err)
	}
	seen["GET /v1/requests"] = list.Requests[0].ReceivedAt
	seen["POST start"], _ = h.do("POST", "/v1/requests/"+id+"/start", key, "", nil).json(t)["received_at"].(string)
	seen["POST close"], _ = h.do("POST", "/v1/requests/"+id+"/close", key, "application/json",
		strings.NewReader(`{"reject":true,"reason":"duplicate"}`)).json(t)["received_at"].(string)
	for what, got := range seen {
		if got != want {
			t.Errorf("%s: received_at %q, want %q", what, got, want)
		}
	}
}

// TestCorrectionReachesTheSummary: a corrected segment's words reach the summary at
// once while summarization consent is in force (written again by the configured
// summarizer); without that consent the summary is kept, marked stale, and the API says
// so.
func TestCorrectionReachesTheSummary(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	ctx := callscribe.AsSystem(context.Background())
	org, key := h.org("acme")
	alice := h.person(org, "quokkova", 0)
	call := h.storedCall(alice.user, "The invoice number is wrongword.", "Please send it to the office today.")
	summary := func() map[string]any {
		t.Helper()
		r := h.get("/v1/calls/"+call.String()+"/transcript", key)
		if r.status != http.StatusOK {
			t.Fatalf("GET transcript: %d %s", r.status, r.body)
		}
		s, _ := r.json(t)["summary"].(map[string]any)
		return s
	}
	patch := func(n int, text string) map[string]any {
		t.Helper()
		b, _ := json.Marshal(map[string]string{"text": text})
		r := h.do("PATCH", "/v1/calls/"+call.String()+"/transcript/segments/"+string(rune('0'+n)), key, "application/json", strings.NewReader(string(b)))
		if r.status != http.StatusOK {
			t.Fatalf("PATCH segment %d: %d %s", n, r.status, r.body)
		}
		return r.json(t)
	}
	if s := summary(); !strings.Contains(s["text"].(string), "wrongword") {
		t.Fatalf("summary before the correction: %v", s)
	}

	if got := patch(1, "The invoice number is rightword."); got["summary"] != "regenerated" {
		t.Errorf("PATCH answered %v; want summary regenerated", got)
	}
	s := summary()
	if text, _ := s["text"].(string); strings.Contains(text, "wrongword") || !strings.Contains(text, "rightword") || s["stale"] != false || s["engine"] != "extractive" {
		t.Errorf("summary after the correction: %v; want it written again by the extractive summarizer from the corrected words, not stale", s)
	}

	// A speaker label changes no words: the summary is left as it is.
	r := h.do("PATCH", "/v1/calls/"+call.String()+"/transcript/segments/2", key, "application/json", strings.NewReader(`{"speaker":"client"}`))
	if r.status != http.StatusOK || r.json(t)["summary"] != "unchanged" {
		t.Errorf("PATCH of a speaker label: %d %s; want summary unchanged", r.status, r.body)
	}

	// Without consent to summarization the summarizer is not called: the summary stays,
	// marked stale, and both the PATCH and the transcript say so.
	if _, err := h.db.WithdrawConsent(ctx, alice.user.ID, callscribe.PurposeSummarization, callscribe.ConsentViaAPI, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := patch(1, "The invoice number is thirdword."); got["summary"] != "stale" {
		t.Errorf("PATCH without summarization consent answered %v; want summary stale", got)
	}
	if s := summary(); s["stale"] != true || strings.Contains(s["text"].(string), "thirdword") {
		t.Errorf("summary after a correction without consent: %v; want the old one, stale", s)
	}
}
