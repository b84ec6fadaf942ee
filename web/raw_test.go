package web_test

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"callscribe/internal/testcall"
)

// TestRawUpload uploads headerless stereo recordings (Asterisk's .sln16 and MixMonitor's
// .raw with G.711 in it) with their format in the query: each is recognised exactly as the
// same samples in a WAV, and the 16-bit one as spoken. A headerless upload
// naming no known encoding is refused before anything is recorded.
func TestRawUpload(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{work: true})
	org, key := h.org("acme")
	u := h.user(org, "ivanova@example.ru", true)
	dir := t.TempDir()
	path, spoken := testcall.Stereo(t, dir, 0.6, testcall.Dialogue(testcall.Sentences[:2]...))
	convert := func(name string, args ...string) []byte {
		t.Helper()
		out := filepath.Join(dir, name) // -D: no dither, so each conversion has the same samples
		if b, err := exec.Command("sox", append(append([]string{"-D", path}, args...), out)...).CombinedOutput(); err != nil {
			t.Fatalf("sox: %v: %s", err, b)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	transcribe := func(query, contentType string, body []byte) map[string]string {
		t.Helper()
		r := h.do("POST", ownerQuery(u.Email, query), key, contentType, bytes.NewReader(body))
		if r.status != http.StatusAccepted {
			t.Fatalf("upload %s: %d %s; want 202", query, r.status, r.body)
		}
		id, _ := r.json(t)["id"].(string)
		if c := h.waitEnded(key, id); c["status"] != "completed" {
			t.Fatalf("call %s ended %v; want completed", query, c)
		}
		segs, _ := h.get("/v1/calls/"+id+"/transcript?format=json", key).json(t)["segments"].([]any)
		heard := map[string]string{}
		for _, s := range segs {
			seg := s.(map[string]any)
			heard[seg["speaker"].(string)] += " " + seg["text"].(string)
		}
		return heard
	}

	s16 := transcribe("&sample_rate=16000&encoding=s16&channel_count=2", "application/octet-stream",
		convert("call.sln16", "-t", "raw", "-r", "16000", "-e", "signed", "-b", "16", "-c", "2"))
	all := strings.Join(append(spoken[0], spoken[1]...), " ")
	if w := testcall.WER(all, s16["agent"]+s16["client"]); w > 0.5 {
		t.Errorf("raw s16: said %q, recognised %q: WER %.2f", all, s16["agent"]+s16["client"], w)
	}
	original, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	same := transcribe("", "audio/wav", original)
	for _, role := range []string{"agent", "client"} {
		if s16[role] != same[role] {
			t.Errorf("%s: raw s16 recognised as %q, the WAV it came from as %q; want the same words", role, s16[role], same[role])
		}
	}

	ulaw := transcribe("&sample_rate=8000&encoding=ulaw&channel_count=2", "application/octet-stream",
		convert("call.ulaw", "-t", "raw", "-r", "8000", "-e", "u-law", "-c", "2"))
	wav := transcribe("", "audio/wav", convert("call-ulaw.wav", "-t", "wav", "-r", "8000", "-e", "u-law", "-c", "2"))
	for _, role := range []string{"agent", "client"} {
		if ulaw[role] != wav[role] || wav[role] == "" {
			t.Errorf("%s: raw µ-law recognised as %q, the same samples in a µ-law WAV as %q; want the same words", role, ulaw[role], wav[role])
		}
	}

	before := h.count(`SELECT count(*) FROM calls`)
	r := h.do("POST", ownerQuery(u.Email, "&sample_rate=8000&encoding=mp3&channel_count=2"), key, "application/octet-stream", strings.NewReader("not audio"))
	if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "encoding") {
		t.Errorf("unknown raw encoding: %d %s; want 400 naming the encoding", r.status, r.body)
	}
	if after := h.count(`SELECT count(*) FROM calls`); after != before {
		t.Errorf("a refused raw upload left %d call rows", after-before)
	}
}
