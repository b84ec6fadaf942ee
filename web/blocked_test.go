package web_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"callscribe"
)

// TestBlockedOwnerOverHTTP: a blocked user's data is kept but not shown or processed.
// Their new calls are refused with 403 blocked before anything is staged (a repeat of an
// external id too), their calls and transcripts are refused with 403 blocked, and the
// call list leaves their calls out; another user's calls are unaffected, and unblocking shows
// everything again.
func TestBlockedOwnerOverHTTP(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{work: true})
	org, key := h.org("acme")
	u := h.user(org, "ivanova@example.ru", true)
	other := h.user(org, "petrov@example.ru", true)
	ctx := callscribe.AsSystem(context.Background())

	upload := func(email, externalID string) reply {
		t.Helper()
		return h.do("POST", ownerQuery(email, "&external_id="+externalID), key, "audio/wav", bytes.NewReader(silence(16000)))
	}
	r := upload(u.Email, "b-1")
	if r.status != http.StatusAccepted {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	id := r.json(t)["id"].(string)
	ro := upload(other.Email, "o-1")
	if ro.status != http.StatusAccepted {
		t.Fatalf("upload: %d %s", ro.status, ro.body)
	}
	otherID := ro.json(t)["id"].(string)
	for _, c := range []string{id, otherID} {
		if got := h.waitEnded(key, c); got["status"] != "completed" {
			t.Fatalf("call %s ended %v; want completed", c, got)
		}
		h.waitReceipt(key, c)
	}
	if r := h.get("/v1/calls/"+id+"/transcript", key); r.status != http.StatusOK {
		t.Fatalf("transcript before the block: %d %s", r.status, r.body)
	}

	if _, err := h.db.BlockUser(ctx, u.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if r := h.get("/v1/calls/"+id+"/transcript?format=txt", key); r.status != http.StatusForbidden || r.errorCode(t) != callscribe.EBLOCKED {
		t.Errorf("transcript of a blocked user's call: %d %s; want 403 blocked", r.status, r.body)
	}
	if r := h.get("/v1/calls/"+id, key); r.status != http.StatusForbidden || r.errorCode(t) != callscribe.EBLOCKED {
		t.Errorf("GET a blocked user's call: %d %s; want 403 blocked", r.status, r.body)
	}
	if r := h.get("/v1/calls/"+otherID, key); r.status != http.StatusOK {
		t.Errorf("GET another user's call: %d %s; want 200", r.status, r.body)
	}
	list := func(query string) []string {
		t.Helper()
		r := h.get("/v1/calls"+query, key)
		if r.status != http.StatusOK {
			t.Fatalf("list %s: %d %s", query, r.status, r.body)
		}
		var ids []string
		calls, _ := r.json(t)["calls"].([]any)
		for _, c := range calls {
			ids = append(ids, c.(map[string]any)["id"].(string))
		}
		return ids
	}
	if got := list(""); len(got) != 1 || got[0] != otherID {
		t.Errorf("list while %s is blocked: %v; want only the other user's call %s", u.Email, got, otherID)
	}
	if got := list("?owner=" + url.QueryEscape(u.Email)); len(got) != 0 {
		t.Errorf("list of the blocked owner's calls: %v; want none", got)
	}

	for _, ext := range []string{"b-2", "b-1"} {
		r := upload(u.Email, ext)
		if r.status != http.StatusForbidden || r.errorCode(t) != callscribe.EBLOCKED {
			t.Errorf("upload (external_id %s) for a blocked owner: %d %s; want 403 blocked", ext, r.status, r.body)
		}
	}
	if n := h.count(`SELECT count(*) FROM calls`); n != 2 {
		t.Errorf("%d calls after the refused uploads; want the 2 from before", n)
	}
	h.stageEmpty()
	if n := h.count(`SELECT count(*) FROM transcripts t JOIN calls c ON c.id = t.call_id WHERE c.owner_id = $1`, u.ID); n != 1 {
		t.Errorf("the blocked user's transcripts: %d rows; want 1 (kept, not shown)", n)
	}

	if _, err := h.db.UnblockUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if got := list(""); len(got) != 2 {
		t.Errorf("list after unblocking: %v; want both calls", got)
	}
	if r := h.get("/v1/calls/"+id+"/transcript", key); r.status != http.StatusOK {
		t.Errorf("transcript after unblocking: %d %s; want 200", r.status, r.body)
	}
}
