package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"callscribe/internal/testcall"
)

// TestTranscribeTruncated: a recording cut short is transcribed up to the cut, exits 0,
// and both outputs say it was truncated; a whole one says nothing of the kind.
func TestTranscribeTruncated(t *testing.T) {
	t.Parallel()
	env := dbEnv(t)
	mustRun(t, env, "consent", "grant", "--email", "local@localhost", "--purpose", "transcription")
	dir := t.TempDir()
	whole := testcall.Speak(t, dir, testcall.Agent, testcall.Sentences[3])
	b, err := os.ReadFile(whole)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.wav")
	if err := os.WriteFile(cut, b[:len(b)*2/3], 0o600); err != nil { // the header still claims it all
		t.Fatal(err)
	}
	var got struct {
		Status    string `json:"status"`
		Truncated bool   `json:"truncated"`
		Text      string `json:"text"`
	}
	if err := json.NewDecoder(bytes.NewReader([]byte(mustRun(t, env, "transcribe", "--json", cut)))).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.Status != "completed" || !got.Truncated || got.Text == "" {
		t.Errorf("--json of a truncated file: %+v; want completed, truncated, some text", got)
	}
	if out := mustRun(t, env, "transcribe", cut); !strings.Contains(out, "-- truncated:") {
		t.Errorf("text output of a truncated file does not say so:\n%s", out)
	}
	if out := mustRun(t, env, "transcribe", whole); strings.Contains(out, "truncated") {
		t.Errorf("text output of a whole file says truncated:\n%s", out)
	}
}
