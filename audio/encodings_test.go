package audio

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"callscribe/internal/testcall"
)

// soxPCM returns sox's own 16-bit decoding of path (without dither: -D), inArgs being
// what sox needs to know of a headerless input.
func soxPCM(t testing.TB, path string, inArgs ...string) []int16 {
	t.Helper()
	args := append(append([]string{"-D"}, inArgs...), path, "-t", "raw", "-e", "signed", "-b", "16", "-")
	var stderr bytes.Buffer
	cmd := exec.Command("sox", args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sox %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return pcmSamples(out)
}

// TestEncodingsMatchSox has sox write each encoding we decode, from flite speech and from
// a loud synthesised sweep (which reaches full scale, so clipping and rounding are
// exercised), and compares our samples with sox's decoding of the same file: exactly, or
// within ±1 where sox rounds a wider sample differently (tol).
func TestEncodingsMatchSox(t *testing.T) {
	t.Parallel()
	testcall.Require(t, "flite", "sox")
	dir := t.TempDir()
	speech := testcall.Mono(t, dir, testcall.Agent, 0.1, testcall.Sentences[0])
	// Two channels that differ, so a channel swap or a frame slip shows.
	sweep := filepath.Join(dir, "sweep.wav")
	run(t, "sox", "-n", "-r", "48000", "-b", "32", "-c", "2", sweep,
		"synth", "0.73", "sine", "60:7000", "sine", "3000:100", "vol", "0.999")

	type row struct {
		name     string
		src      string   // speech or sweep
		args     []string // sox options of the file written
		ext      string
		raw      *RawFormat // nil: a WAV, sniffed by Open
		codec    string
		channels int
		tol      int
	}
	rows := []row{
		{"u8", sweep, []string{"-r", "11025", "-e", "unsigned", "-b", "8"}, "wav", nil, "pcm_u8", 2, 0},
		{"s16", speech, []string{"-r", "8000"}, "wav", nil, "pcm_s16le", 1, 0},
		{"s16 plain stereo", sweep, []string{"-t", "wavpcm", "-r", "22050", "-b", "16"}, "wav", nil, "pcm_s16le", 2, 0},
		{"s24 extensible", sweep, []string{"-r", "44100", "-b", "24"}, "wav", nil, "pcm_s24le", 2, 0},
		{"s24 plain", sweep, []string{"-t", "wavpcm", "-r", "48000", "-b", "24"}, "wav", nil, "pcm_s24le", 2, 0},
		{"s32", sweep, []string{"-r", "32000", "-b", "32"}, "wav", nil, "pcm_s32le", 2, 0},
		{"f32", sweep, []string{"-r", "16000", "-e", "floating-point", "-b", "32"}, "wav", nil, "pcm_f32le", 2, 0},
		{"f64", sweep, []string{"-r", "48000", "-e", "floating-point", "-b", "64"}, "wav", nil, "pcm_f64le", 2, 0},
		{"f32 speech", speech, []string{"-r", "16000", "-e", "floating-point", "-b", "32"}, "wav", nil, "pcm_f32le", 1, 0},
		{"ulaw", speech, []string{"-r", "8000", "-e", "u-law"}, "wav", nil, "pcm_mulaw", 1, 0},
		{"ulaw stereo", sweep, []string{"-r", "8000", "-e", "u-law"}, "wav", nil, "pcm_mulaw", 2, 0},
		{"alaw", speech, []string{"-r", "8000", "-e", "a-law"}, "wav", nil, "pcm_alaw", 1, 0},
		{"alaw stereo", sweep, []string{"-r", "16000", "-e", "a-law"}, "wav", nil, "pcm_alaw", 2, 0},
		{"gsm wav49", speech, []string{"-r", "8000", "-e", "gsm-full-rate"}, "wav", nil, "gsm_ms", 1, 0},
		{"gsm wav49 sweep", sweep, []string{"-r", "8000", "-c", "1", "-e", "gsm-full-rate"}, "wav", nil, "gsm_ms", 1, 0},
		{"raw s16 stereo", sweep, []string{"-t", "raw", "-r", "8000", "-e", "signed", "-b", "16"}, "raw", &RawFormat{"s16", 8000, 2}, "pcm_s16le", 2, 0},
		{"raw ulaw", speech, []string{"-t", "raw", "-r", "8000", "-e", "u-law"}, "raw", &RawFormat{"ulaw", 8000, 1}, "pcm_mulaw", 1, 0},
		{"raw alaw stereo", sweep, []string{"-t", "raw", "-r", "8000", "-e", "a-law"}, "raw", &RawFormat{"alaw", 8000, 2}, "pcm_alaw", 2, 0},
		{"raw gsm", speech, []string{"-t", "gsm", "-r", "8000"}, "gsm", &RawFormat{"gsm", 8000, 1}, "gsm", 1, 0},
	}
	for i, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			out := filepath.Join(dir, fmt.Sprintf("enc-%d.%s", i, r.ext))
			testcall.Convert(t, r.src, out, r.args...)
			rate, _ := strconv.Atoi(r.args[slicesIndex(r.args, "-r")+1])

			var inArgs []string
			if r.raw != nil {
				enc := map[string][]string{
					"s16": {"-t", "raw", "-e", "signed", "-b", "16"}, "ulaw": {"-t", "raw", "-e", "u-law"},
					"alaw": {"-t", "raw", "-e", "a-law"}, "gsm": {"-t", "gsm"},
				}[r.raw.Encoding]
				inArgs = append(enc, "-r", strconv.Itoa(rate), "-c", strconv.Itoa(r.channels))
			}
			want := soxPCM(t, out, inArgs...)

			f, err := os.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var d *Decoder
			if r.raw != nil {
				d, err = OpenRaw(f, *r.raw)
			} else {
				d, err = Open(f)
			}
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			format, got, err := readAll(t, d)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			container := "wav"
			if r.raw != nil {
				container = "raw"
			}
			if wantF := (Format{container, r.codec, rate, r.channels}); format != wantF {
				t.Errorf("Format() = %+v, want %+v", format, wantF)
			}
			if len(got) != len(want) {
				t.Errorf("decoded %d samples, sox %d", len(got), len(want))
			}
			diffs, worst, at := 0, 0, -1
			for i := range min(len(got), len(want)) {
				if d := intAbs(int(got[i]) - int(want[i])); d > 0 {
					diffs++
					if d > worst {
						worst, at = d, i
					}
				}
			}
			t.Logf("%d samples, %d differ from sox's, by at most %d", len(got), diffs, worst)
			if worst > r.tol {
				t.Errorf("sample %d: ours %d, sox %d (%d samples differ); want within ±%d", at, got[at], want[at], diffs, r.tol)
			}
			if rms(got) < 100 {
				t.Errorf("RMS %.1f: want audio, not near silence", rms(got))
			}
		})
	}
}

func slicesIndex(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func intAbs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// TestSampleEncodingsRoundTrip: every WAV encoding, plain and extensible, mono and stereo,
// decodes the samples it was built from: exactly for PCM and float, to the nearest G.711
// code for µ-law and A-law (whose tables sox's tests above check).
func TestSampleEncodingsRoundTrip(t *testing.T) {
	t.Parallel()
	tone := sine(2000, 1000, 8000, 32767)
	tone = append(tone, -32768, 32767, 0, -1, 1, 0)
	for _, e := range seedEncodings {
		for _, ext := range []bool{false, true} {
			for _, ch := range []int{1, 2} {
				t.Run(fmt.Sprintf("%s/ext=%v/%dch", e.name, ext, ch), func(t *testing.T) {
					f, got, err := decodeAll(t, bytes.NewReader(encodedWAV(e.tag, e.bits, ch, 8000, tone, ext)))
					if err != nil {
						t.Fatal(err)
					}
					if f.Channels != ch {
						t.Errorf("Format().Channels = %d, want %d", f.Channels, ch)
					}
					want := tone
					switch e.name {
					case "u8":
						want = make([]int16, len(tone))
						for i, s := range tone {
							want[i] = s &^ 0xFF
						}
					case "ulaw", "alaw":
						table := mulawTable
						if e.name == "alaw" {
							table = alawTable
						}
						want = make([]int16, len(tone))
						for i, c := range encodeG711(tone, table) {
							want[i] = table[c]
						}
					}
					if !slicesEqual(got, want) {
						t.Errorf("decoded samples differ from the %d encoded", len(want))
					}
				})
			}
		}
	}
}
