package web_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"callscribe"
	"callscribe/internal/testcall"
)

// TestResendFailedCall: a call that ended failed can be sent again under its external
// id: the upload is a new call (202, a new id, its own receipt) linked to the failed one
// by retry_of; the failed call keeps its status and receipt. A call that has not failed
// answers a repeat with itself (200): queued, completed and discarded alike. (Issue 11:
// the repeat of a failed call's external id returned the failed call, for ever.)
func TestResendFailedCall(t *testing.T) {
	t.Parallel()
	// One attempt per call: the first call's first recognition fails, and with it the call.
	h := newHarness(t, options{work: true, transcriber: &failingFirst{}, maxAttempts: 1})
	orgID, key := h.org("acme")
	h.user(orgID, "ivanova@example.ru", true)
	audio, err := os.ReadFile(testcall.Speak(t, t.TempDir(), testcall.Agent, testcall.Sentences[0]))
	if err != nil {
		t.Fatal(err)
	}
	upload := func(externalID string) (int, map[string]any) {
		t.Helper()
		r := h.do("POST", "/v1/calls?owner=ivanova@example.ru&channels=agent&external_id="+externalID, key, "audio/wav", bytes.NewReader(audio))
		return r.status, r.json(t)
	}

	code, first := upload("pbx-1")
	if code != http.StatusAccepted {
		t.Fatalf("first upload: %d %v", code, first)
	}
	firstID := first["id"].(string)
	if c := h.waitReceipt(key, firstID); c["status"] != "failed" {
		t.Fatalf("first call ended %v; want failed (its only attempt failed)", c["status"])
	}

	code, again := upload("pbx-1")
	if code != http.StatusAccepted || again["id"] == firstID || again["retry_of"] != firstID {
		t.Fatalf("upload again after the call failed: %d %v; want 202, a new call with retry_of %s", code, again, firstID)
	}
	secondID := again["id"].(string)
	second := h.waitReceipt(key, secondID)
	if second["status"] != "completed" || second["external_id"] != "pbx-1" || second["retry_of"] != firstID {
		t.Errorf("the call sent again: %v; want completed, external_id pbx-1, retry_of %s", second, firstID)
	}
	r1, _ := h.get("/v1/calls/"+firstID, key).json(t)["receipt"].(map[string]any)
	r2, _ := second["receipt"].(map[string]any)
	if r1 == nil || r2 == nil || r1["confirmed_at"] == nil || r2["confirmed_at"] == nil {
		t.Errorf("receipts: failed call %v, new call %v; want each its own, confirmed", r1, r2)
	}
	if c := h.get("/v1/calls/"+firstID, key).json(t); c["status"] != "failed" {
		t.Errorf("the failed call after it was sent again: %v; want still failed", c["status"])
	}

	// Completed is final: a repeat now answers with the completed call.
	if code, rep := upload("pbx-1"); code != http.StatusOK || rep["id"] != secondID || rep["status"] != "completed" {
		t.Errorf("repeat after the new call completed: %d %v; want 200 with call %s, completed", code, rep, secondID)
	}
	if n := h.count(`SELECT count(*) FROM calls WHERE external_id = 'pbx-1'`); n != 2 {
		t.Errorf("%d calls under pbx-1; want 2 (the failed one and the one that completed)", n)
	}
}

// TestRepeatOfALiveOrFinalCall: without a worker, a repeat of a queued call's external id
// returns that call; a discarded call stays final; concurrent uploads sending a failed
// call again make exactly one new call.
func TestRepeatOfALiveOrFinalCall(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	orgID, key := h.org("acme")
	u := h.user(orgID, "ivanova@example.ru", true)
	audio, err := os.ReadFile(testcall.Speak(t, t.TempDir(), testcall.Agent, testcall.Sentences[1]))
	if err != nil {
		t.Fatal(err)
	}
	upload := func(externalID string) (int, map[string]any) {
		t.Helper()
		r := h.do("POST", "/v1/calls?owner=ivanova@example.ru&channels=agent&external_id="+externalID, key, "audio/wav", bytes.NewReader(audio))
		return r.status, r.json(t)
	}
	_, queued := upload("pbx-q")
	if code, rep := upload("pbx-q"); code != http.StatusOK || rep["id"] != queued["id"] || rep["status"] != "queued" {
		t.Errorf("repeat of a queued call: %d %v; want 200 with call %v, queued", code, rep, queued["id"])
	}

	// Withdrawal discards the queued call; consent granted again, a repeat still finds it.
	consents := "/v1/users/" + u.ID.String() + "/consents"
	for _, action := range []string{"withdraw", "grant"} {
		if r := h.do("POST", consents, key, "application/json", strings.NewReader(`{"action": "`+action+`", "purposes": ["transcription"]}`)); r.status != http.StatusOK {
			t.Fatalf("%s consent: %d %s", action, r.status, r.body)
		}
	}
	if code, rep := upload("pbx-q"); code != http.StatusOK || rep["id"] != queued["id"] || rep["status"] != "discarded" {
		t.Errorf("repeat of a discarded call: %d %v; want 200 with call %v, discarded", code, rep, queued["id"])
	}

	// A failed call sent again by four uploads at once: one new call, the others see it.
	_, failed := upload("pbx-f")
	// Ended failed as a worker ends a call it gave up on (its audio stays staged here).
	failedID := uuid.MustParse(failed["id"].(string))
	if err := h.db.EndCall(callscribe.AsSystem(context.Background()), failedID, callscribe.CallFailed, callscribe.EUNAVAILABLE, "the recogniser is unavailable"); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	answers := map[int][]string{}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := h.do("POST", "/v1/calls?owner=ivanova@example.ru&channels=agent&external_id=pbx-f", key, "audio/wav", bytes.NewReader(audio))
			id, _ := r.json(t)["id"].(string)
			mu.Lock()
			answers[r.status] = append(answers[r.status], id)
			mu.Unlock()
		}()
	}
	wg.Wait()
	created := answers[http.StatusAccepted]
	if len(created) != 1 || len(answers[http.StatusOK]) != 3 {
		t.Fatalf("four concurrent uploads sending a failed call again: %v; want one 202 and three 200", answers)
	}
	for _, id := range answers[http.StatusOK] {
		if id != created[0] {
			t.Errorf("a concurrent upload answered call %s; want the new call %s", id, created[0])
		}
	}
	if n := h.count(`SELECT count(*) FROM calls WHERE external_id = 'pbx-f' AND status <> 'failed'`); n != 1 {
		t.Errorf("%d live calls under pbx-f; want 1", n)
	}
}
