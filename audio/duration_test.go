package audio

import (
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"callscribe/internal/testcall"
)

// TestDurationFromTheStart: Duration, from the first 4 KiB and the input's size, is
// within 5% of the real length for MP3 whose start tells it (constant bitrate, a Xing or
// Info header, mono and stereo, MPEG-1 and 2), and does not guess (ok false) for an MP3
// of varying bitrate without a header: a guess from its first frames could refuse a call
// that is not too long.
func TestDurationFromTheStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	speech := testcall.Mono(t, dir, testcall.Agent, 0.3, testcall.Sentences[0], testcall.Sentences[1])
	stereo := testcall.Convert(t, speech, filepath.Join(dir, "stereo.wav"), "-r", "44100", "-c", "2")
	secs := testcall.Duration(t, speech)
	tests := []struct {
		name string
		src  string
		args []string
		ok   bool
	}{
		{"mpeg-2 mono cbr, no tag", speech, []string{"-b", "32", "-t"}, true},
		{"mpeg-2 mono cbr, info tag", speech, []string{"-b", "64"}, true},
		{"mpeg-2 mono vbr, xing tag", speech, []string{"-V", "4"}, true},
		{"mpeg-1 stereo vbr, xing tag", stereo, []string{"-V", "2"}, true},
		{"mpeg-1 stereo cbr, info tag", stereo, []string{"-b", "128"}, true},
		{"mpeg-2 mono vbr, no tag", speech, []string{"-V", "6", "-t"}, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(dir, string(rune('a'+i))+".mp3")
			if b, err := exec.Command("lame", append(append([]string{"--quiet"}, tt.args...), tt.src, out)...).CombinedOutput(); err != nil {
				t.Fatalf("lame: %v\n%s", err, b)
			}
			file, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			d, err := Open(io.MultiReader(bytes.NewReader(file[:4096]), failReader{}))
			if err != nil {
				t.Fatalf("Open of the first 4 KiB: %v", err)
			}
			got, ok := d.Duration(int64(len(file)))
			if ok != tt.ok {
				t.Fatalf("Duration = %v, ok %v; want ok %v", got, ok, tt.ok)
			}
			if ok && math.Abs(got.Seconds()-secs) > 0.05*secs {
				t.Errorf("Duration = %.2f s, want %.2f s ± 5%%", got.Seconds(), secs)
			}
		})
	}
}

// failReader ends the input where a sniffer's view of it ends.
type failReader struct{}

func (failReader) Read([]byte) (int, error) { return 0, errors.New("the sniffed bytes end here") }
