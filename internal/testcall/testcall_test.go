package testcall

import (
	"math"
	"testing"
)

func TestWER(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ref, hyp string
		want     float64
	}{
		{"a b c d", "a b c d", 0},
		{"a b c d", "a x c d", 0.25},
		{"a b c d", "a c d", 0.25},
		{"a b c d", "a b c d e f", 0.5},
		{"", "", 0},
		{"Hello World", "hello world", 0},
	}
	for _, tt := range tests {
		if got := WER(tt.ref, tt.hyp); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("WER(%q, %q) = %v, want %v", tt.ref, tt.hyp, got, tt.want)
		}
	}
}

func TestStereo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path, spoken := Stereo(t, dir, 0.5, Dialogue(Sentences[0], Sentences[1], Sentences[2]))
	if got := len(spoken[0]); got != 2 {
		t.Errorf("channel 0 sentences = %d, want 2", got)
	}
	if got := len(spoken[1]); got != 1 {
		t.Errorf("channel 1 sentences = %d, want 1", got)
	}
	if d := Duration(t, path); d < 3 {
		t.Errorf("duration = %.2fs, want at least 3s for three sentences", d)
	}
}
