package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"callscribe"
	"callscribe/internal/testcall"
	"callscribe/storage/memory"
)

func TestAttemptTimeout(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		floor, audio, want time.Duration
	}{
		{10 * time.Minute, 0, 10 * time.Minute},                  // duration unknown: the floor
		{10 * time.Minute, 30 * time.Second, 10 * time.Minute},   // a short call: the floor
		{10 * time.Minute, time.Hour, 3 * time.Hour},             // a long call: 3 × its duration
		{time.Second, 30 * time.Second, 90 * time.Second},        // a floor far below the call
		{10 * time.Minute, 200 * time.Second, 10 * time.Minute},  // 600 s = the floor exactly
		{10 * time.Minute, 201 * time.Second, 603 * time.Second}, // just past it
		{10 * time.Minute, 4 * time.Hour, 12 * time.Hour},        // the longest call by default
	} {
		if got := AttemptTimeout(tc.floor, tc.audio); got != tc.want {
			t.Errorf("AttemptTimeout(floor %s, audio %s) = %s; want %s", tc.floor, tc.audio, got, tc.want)
		}
	}
}

// TestStagedDuration: a staged call's duration, told from its size and the header at the
// start of its staged (encrypted) audio, is within 2% of what sox measures for every
// WAV encoding a PBX writes, exact for raw audio, never short for MP3 (the lowest bit
// rate is assumed), and capped at the duration limit.
func TestStagedDuration(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	speech := testcall.Mono(t, dir, testcall.Agent, 0.5, testcall.Sentences[:3]...)
	for _, tc := range []struct {
		name    string
		args    []string // sox output options
		ext     string
		raw     *callscribe.RawFormat
		atLeast bool // MP3: an upper bound
	}{
		{"pcm 16 kHz mono", nil, "wav", nil, false},
		{"pcm 8 kHz stereo", []string{"-r", "8000", "-c", "2"}, "wav", nil, false},
		{"mu-law 8 kHz", []string{"-r", "8000", "-e", "u-law"}, "wav", nil, false},
		{"a-law 8 kHz stereo", []string{"-r", "8000", "-e", "a-law", "-c", "2"}, "wav", nil, false},
		{"gsm (wav49) 8 kHz", []string{"-r", "8000", "-e", "gsm-full-rate"}, "wav", nil, false},
		{"mp3 8 kHz", []string{"-r", "8000", "-C", "16"}, "mp3", nil, true},
		{"raw s16 8 kHz", []string{"-r", "8000", "-e", "signed", "-b", "16", "-t", "raw"}, "raw",
			&callscribe.RawFormat{Encoding: "s16", SampleRate: 8000, Channels: 1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := testcall.Convert(t, speech, filepath.Join(t.TempDir(), "call."+tc.ext), tc.args...)
			want := time.Duration(testcall.Duration(t, speech) * float64(time.Second))
			got, bytes := stagedDurationOf(t, out, tc.raw, 0)
			t.Logf("%d bytes: told %s, sox measures %s", bytes, got, want)
			switch {
			case tc.atLeast && got < want:
				t.Errorf("told %s from %d bytes; want at least %s", got, bytes, want)
			case !tc.atLeast && (got < want*98/100 || got > want*102/100):
				t.Errorf("told %s from %d bytes; want %s ± 2%%", got, bytes, want)
			}
		})
	}
	if got, _ := stagedDurationOf(t, speech, nil, 2*time.Second); got != 2*time.Second {
		t.Errorf("with a 2 s duration limit: told %s; want 2s", got)
	}
}

// stagedDurationOf stages file in a memory stage as Accept does and tells its duration.
func stagedDurationOf(t *testing.T, file string, raw *callscribe.RawFormat, limit time.Duration) (time.Duration, int64) {
	t.Helper()
	ctx := callscribe.AsSystem(context.Background())
	p := New(Config{Stage: memory.New(0), MaxDuration: limit})
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	id := uuid.New()
	s, err := p.stage(ctx, id, f, -1, false)()
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	key := p.keys[id]
	p.mu.Unlock()
	return p.stagedDuration(ctx, id, key, s.Bytes, raw), s.Bytes
}
