package audio

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"callscribe/internal/testcall"
)

// TestDecodeFormats decodes WAV and MP3 files made by sox and lame from flite speech, mono
// and stereo, at telephony and studio rates, and checks the format, the duration against
// soxi and what each channel carries: the stereo call has speech on the left only.
func TestDecodeFormats(t *testing.T) {
	t.Parallel()
	testcall.Require(t, "flite", "sox", "soxi", "lame")
	dir := t.TempDir()
	mono := testcall.Mono(t, dir, testcall.Agent, 0.2, testcall.Sentences[0])
	stereo, _ := testcall.Stereo(t, dir, 0.2, testcall.Dialogue(testcall.Sentences[1]))

	type file struct {
		name      string
		path      string
		container string
		codec     string
		rate      int
		channels  int
	}
	var files []file
	for _, src := range []struct {
		path     string
		channels int
	}{{mono, 1}, {stereo, 2}} {
		for _, rate := range []int{8000, 16000, 44100, 48000} {
			name := fmt.Sprintf("%dch-%d.wav", src.channels, rate)
			out := testcall.Convert(t, src.path, filepath.Join(dir, name), "-r", strconv.Itoa(rate))
			files = append(files, file{name, out, "wav", "pcm_s16le", rate, src.channels})
		}
		for _, rate := range []int{16000, 24000, 44100, 48000} {
			name := fmt.Sprintf("%dch-%d.mp3", src.channels, rate)
			out := testcall.Convert(t, src.path, filepath.Join(dir, name), "-r", strconv.Itoa(rate))
			files = append(files, file{name, out, "mp3", "mp3", rate, src.channels})
		}
	}
	// lame itself, with an ID3v2 tag in front of the audio.
	wav44 := testcall.Convert(t, stereo, filepath.Join(dir, "stereo-44100.wav"), "-r", "44100")
	tagged := filepath.Join(dir, "lame-id3.mp3")
	run(t, "lame", "--quiet", "--id3v2-only", "--tt", "a call", "--ta", "callscribe", wav44, tagged)
	files = append(files, file{"lame-id3.mp3", tagged, "mp3", "mp3", 44100, 2})
	lameMono := filepath.Join(dir, "lame-mono-16000.mp3")
	run(t, "lame", "--quiet", "-m", "m", "--resample", "16", wav44, lameMono)
	files = append(files, file{"lame-mono-16000.mp3", lameMono, "mp3", "mp3", 16000, 1})

	for _, f := range files {
		t.Run(f.name, func(t *testing.T) {
			got, samples := decodeFile(t, f.path)
			want := Format{Container: f.container, Codec: f.codec, SampleRate: f.rate, Channels: f.channels}
			if got != want {
				t.Fatalf("Format() = %+v, want %+v", got, want)
			}
			// WAV must match to the sample; MP3 within two frames: soxi's length of an MP3
			// is an estimate, not a decoding.
			tol := 1.0 / float64(f.rate)
			if f.container == "mp3" {
				tol = 2 * 1152.0 / float64(f.rate)
			}
			secs := float64(len(samples)/f.channels) / float64(f.rate)
			if soxi := testcall.Duration(t, f.path); math.Abs(secs-soxi) > tol+1e-6 {
				t.Errorf("decoded %.4fs, soxi -D says %.4fs (tolerance %.4fs)", secs, soxi, tol)
			}

			chans := channelsOfFile(t, f.path, 16000)
			if len(chans) != f.channels {
				t.Fatalf("Channels returned %d readers, want %d", len(chans), f.channels)
			}
			wantLen := int(math.Ceil(float64(len(samples)/f.channels) * 16000 / float64(f.rate)))
			speech := rms(chans[0])
			if speech < 300 {
				t.Errorf("channel 0 RMS = %.1f, want speech (> 300)", speech)
			}
			for c, ch := range chans {
				if len(ch) != wantLen {
					t.Errorf("channel %d: %d samples at 16 kHz, want %d", c, len(ch), wantLen)
				}
			}
			if f.channels == 2 {
				silence := rms(chans[1])
				if db := 20 * math.Log10((silence+1e-9)/speech); db > -40 {
					t.Errorf("channel 1 (silent) RMS = %.2f, %.1f dB below channel 0 (RMS %.1f); want at least 40 dB below", silence, -db, speech)
				}
			}
		})
	}
}

// TestMPEG25: sox writes 8 kHz MP3 as MPEG-2.5, as PBXs do; go-mp3, our decoder before
// libmpg123, refused it.
func TestMPEG25(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mono := testcall.Mono(t, dir, testcall.Agent, 0, testcall.Sentences[3])
	mp3 := testcall.Convert(t, mono, filepath.Join(dir, "8k.mp3"), "-r", "8000")
	if h, _ := parseMPEGHeader(readFile(t, mp3)); h.version != 25 {
		t.Fatalf("sox wrote MPEG-%s, want MPEG-2.5 for the test to mean something", h.versionName())
	}
	f, got, err := decodeAll(t, mustOpenFile(t, mp3))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if want := (Format{"mp3", "mp3", 8000, 1}); f != want {
		t.Errorf("Format() = %+v, want %+v", f, want)
	}
	if r := rms(got); r < 300 {
		t.Errorf("RMS = %.1f, want speech (> 300)", r)
	}
}

// TestMPEG2Padded: go-mp3 misread the length of padded MPEG-2 frames (22050 Hz at most
// bitrates) and decoded noise from the first one on.
func TestMPEG2Padded(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mono := testcall.Mono(t, dir, testcall.Agent, 0, testcall.Sentences[3])
	mp3 := testcall.Convert(t, mono, filepath.Join(dir, "22k.mp3"), "-r", "22050", "-C", "32")
	b := readFile(t, mp3)
	padded := 0
	for at := 0; at+4 <= len(b); {
		h, ok := parseMPEGHeader(b[at:])
		if !ok {
			t.Fatalf("no frame header at byte %d", at)
		}
		padded += h.padding
		at += h.frameSize()
	}
	if padded == 0 {
		t.Fatalf("sox wrote no padded frame; the test needs some")
	}
	_, got, err := decodeAll(t, bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	_, _, want := soxDecode(t, mp3)
	if lag, corr := align(got, want, 22050, 600); lag != 0 || corr < 0.99 {
		t.Errorf("against sox's decoding: best lag %d, correlation %.4f; want 0 and ≥ 0.99", lag, corr)
	}
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
