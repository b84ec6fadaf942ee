package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"callscribe/internal/testcall"
)

// TestTranscribeRaw: headerless 8 kHz µ-law, described by --raw/--rate, is transcribed
// to the same words as the same audio in a WAV file; without the flags it is refused
// (exit 2, naming the file), since there is nothing to sniff.
func TestTranscribeRaw(t *testing.T) {
	t.Parallel()
	env := dbEnv(t)
	mustRun(t, env, "consent", "grant", "--email", "local@localhost", "--purpose", "transcription")
	dir := t.TempDir()
	speech := testcall.Mono(t, dir, testcall.Agent, 0.5, testcall.Sentences[0], testcall.Sentences[4])
	wav := testcall.Convert(t, speech, filepath.Join(dir, "call-ulaw.wav"), "-r", "8000", "-e", "u-law")
	raw := testcall.Convert(t, wav, filepath.Join(dir, "call.ul"), "-t", "ul")
	transcribe := func(args ...string) output {
		t.Helper()
		var out output
		if err := json.Unmarshal([]byte(mustRun(t, env, append([]string{"transcribe", "--json"}, args...)...)), &out); err != nil {
			t.Fatalf("--json output: %v", err)
		}
		return out
	}
	fromRaw, fromWAV := transcribe("--raw", "ulaw", "--rate", "8000", raw), transcribe(wav)
	if want := int64(testcall.Duration(t, wav) * 1000); fromRaw.Status != "completed" || fromRaw.DurationMS < want-50 || fromRaw.DurationMS > want+50 {
		t.Errorf("status %s, duration %d ms; want completed, %d ± 50 ms", fromRaw.Status, fromRaw.DurationMS, want)
	}
	if fromRaw.Text == "" || fromRaw.Text != fromWAV.Text {
		t.Errorf("raw µ-law heard as %q, the same audio as WAV as %q; want the same words", fromRaw.Text, fromWAV.Text)
	}
	r := runCLI(t, env, "transcribe", raw)
	if r.code != exitBadInput || !strings.Contains(r.stderr, raw+": ") {
		t.Errorf("without --raw: exit %d, stderr %q; want %d naming the file", r.code, r.stderr, exitBadInput)
	}
	r = runCLI(t, env, "transcribe", "--raw", "ulaw", raw)
	if r.code != exitBadInput || !strings.Contains(r.stderr, "needs --rate") {
		t.Errorf("--raw without --rate: exit %d, stderr %q; want %d asking for --rate", r.code, r.stderr, exitBadInput)
	}
}
