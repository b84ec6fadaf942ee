package web_test

import (
	"bytes"
	"net/http"
	"os"
	"strings"
	"testing"

	"callscribe/internal/testcall"
)

// TestUploadedCallIsRedacted: a call uploaded over the API, in which flite dictates a
// card, goes through the worker (the queued path) and its transcript comes back with the
// card replaced and "redactions": {"card": 1}, in every format.
func TestUploadedCallIsRedacted(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{work: true})
	org, key := h.org("acme")
	u := h.user(org, "ivanova@example.ru", true)
	path := testcall.Mono(t, t.TempDir(), testcall.Agent, 0.6,
		"good morning i would like to pay for my order",
		"my card number is five five one seven, one seven three six, eight seven six nine, five six seven six")
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := h.do("POST", ownerQuery(u.Email), key, "audio/wav", bytes.NewReader(file))
	if r.status != http.StatusAccepted {
		t.Fatalf("upload: %d %s; want 202", r.status, r.body)
	}
	id, _ := r.json(t)["id"].(string)
	if c := h.waitEnded(key, id); c["status"] != "completed" {
		t.Fatalf("call ended %v; want completed", c)
	}
	tj := h.get("/v1/calls/"+id+"/transcript", key)
	if tj.status != http.StatusOK {
		t.Fatalf("transcript: %d %s", tj.status, tj.body)
	}
	red, _ := tj.json(t)["redactions"].(map[string]any)
	if red["card"] != float64(1) {
		t.Errorf("redactions %v in %s; want {\"card\": 1}", tj.json(t)["redactions"], tj.body)
	}
	for _, format := range []string{"json", "txt", "srt", "vtt"} {
		b := string(h.get("/v1/calls/"+id+"/transcript?format="+format, key).body)
		if strings.Contains(b, "eight seven six nine") || !strings.Contains(b, "[CARD]") || !strings.Contains(b, "order") {
			t.Errorf("transcript as %s: %s; want the card as [CARD], the rest kept", format, b)
		}
	}
}
