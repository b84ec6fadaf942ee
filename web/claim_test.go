package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestClaimOverTheAPI files a pre-trial claim: due on the 14th business day after it was
// received, and its term is never extended (409, saying why).
func TestClaimOverTheAPI(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	org, key := h.org("acme")
	u := h.user(org, "claimant@example.ru", true)
	post := func(path, body string) reply {
		return h.do("POST", path, key, "application/json", strings.NewReader(body))
	}
	r := post("/v1/requests", fmt.Sprintf(`{"kind": "claim", "email": %q, "received": "2026-11-02"}`, u.Email))
	if r.status != http.StatusCreated {
		t.Fatalf("add: %d %s", r.status, r.body)
	}
	got := r.json(t)
	if got["kind"] != "claim" || got["due_at"] != "2026-11-23" {
		t.Errorf("claim %v: want kind claim, due 2026-11-23 (14 business days, 4 November off)", got)
	}
	fresh := post("/v1/requests", fmt.Sprintf(`{"kind": "claim", "email": %q}`, u.Email)).json(t)["id"].(string)
	if r := post("/v1/requests/"+fresh+"/extend", `{"reason": "need more time"}`); r.status != http.StatusConflict || !strings.Contains(string(r.body), "cannot be extended") {
		t.Errorf("extend a claim: %d %s; want 409 saying it cannot be extended", r.status, r.body)
	}
}
