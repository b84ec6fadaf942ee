package testcall

import (
	"bytes"
	"math"
	"os"
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

// TestCallsRepeat: the same turns make the same bytes, so a speech test hears the same
// call in every run (sox's dither is random unless it runs with -R).
func TestCallsRepeat(t *testing.T) {
	t.Parallel()
	var calls [2][]byte
	for i := range calls {
		path, _ := Stereo(t, t.TempDir(), 0.5, Dialogue(Sentences[0], Sentences[1]))
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		calls[i] = b
	}
	if !bytes.Equal(calls[0], calls[1]) {
		t.Error("two calls made of the same turns differ")
	}
}
