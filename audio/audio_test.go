package audio

import (
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"testing"

	"callscribe/internal/testcall"
)

// TestDecodeFormats decodes WAV and MP3 files made by sox and lame from flite speech, mono
// and stereo, at telephony and studio rates, and checks the format, the duration against
// soxi and what each channel carries: the stereo call has speech on the left only.
func TestDecodeFormats(t *testing.T) {
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
			// WAV must match to the sample; MP3 within two frames: soxi subtracts the
			// encoder's delay and padding when lame recorded them, we do not trim them.
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

// TestMPEG25Unsupported: sox writes 8 kHz MP3 as MPEG-2.5, which go-mp3 cannot decode;
// the caller must hear that plainly, not get silence.
func TestMPEG25Unsupported(t *testing.T) {
	dir := t.TempDir()
	mono := testcall.Mono(t, dir, testcall.Agent, 0, testcall.Sentences[3])
	mp3 := testcall.Convert(t, mono, filepath.Join(dir, "8k.mp3"), "-r", "8000")
	_, _, err := decodeAll(t, mustOpenFile(t, mp3))
	wantUnreadable(t, err, "MPEG-2.5 audio (8000 Hz) is not supported")
}

// TestMPEG2PaddedUnsupported: go-mp3 misreads the length of padded MPEG-2 frames (22050 Hz
// at most bitrates) and decodes noise from then on; that must be an error, not noise.
func TestMPEG2PaddedUnsupported(t *testing.T) {
	dir := t.TempDir()
	mono := testcall.Mono(t, dir, testcall.Agent, 0, testcall.Sentences[3])
	mp3 := testcall.Convert(t, mono, filepath.Join(dir, "22k.mp3"), "-r", "22050", "-C", "32")
	_, _, err := decodeAll(t, mustOpenFile(t, mp3))
	wantUnreadable(t, err, "padded MPEG-2 frame")
}

// TestMP3MatchesSox compares our MP3 decoding with sox's (libmad) on the same file.
func TestMP3MatchesSox(t *testing.T) {
	dir := t.TempDir()
	mono := testcall.Mono(t, dir, testcall.Agent, 0.2, testcall.Sentences[0])
	for _, rate := range []int{16000, 24000, 44100, 48000} {
		t.Run(strconv.Itoa(rate), func(t *testing.T) {
			mp3 := testcall.Convert(t, mono, filepath.Join(dir, fmt.Sprintf("m%d.mp3", rate)), "-r", strconv.Itoa(rate))
			ref := filepath.Join(dir, fmt.Sprintf("m%d-sox.wav", rate))
			run(t, "sox", "-D", mp3, "-b", "16", ref)
			_, got := decodeFile(t, mp3)
			_, want := decodeFile(t, ref)
			lag, corr := bestLag(got, want, 600)
			t.Logf("%d Hz: best lag %d samples, correlation %.4f, ours %d samples, sox %d", rate, lag, corr, len(got), len(want))
			if corr < 0.99 {
				t.Errorf("correlation with sox's decoding = %.4f (lag %d), want ≥ 0.99", corr, lag)
			}
		})
	}
}
