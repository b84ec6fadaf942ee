package pipeline_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"callscribe"
	"callscribe/internal/testcall"
	"callscribe/pipeline"
)

// countingZeros is an upload's body past the real file: zeros, counted, and an error
// after a megabyte, so that a call that is staged instead of refused fails fast.
type countingZeros struct{ n int64 }

func (c *countingZeros) Read(p []byte) (int, error) {
	if c.n >= 1<<20 {
		return 0, errors.New("the test's upload ends here: the call should have been refused from its header")
	}
	n := min(len(p), int(1<<20-c.n))
	clear(p[:n])
	c.n += int64(n)
	return n, nil
}

// TestTooLongRefusedFromTheHeader: an upload whose size and byte rate say it lasts
// longer than MaxDuration is refused (ETOOLARGE) from its first bytes, before it is
// staged, whatever its codec: every WAV encoding, raw audio, and MP3 whose start tells
// its length (constant bitrate with or without an Info tag, variable with a Xing tag).
// The estimate is within 10% of the real length: a call a little shorter than the limit
// is accepted, one a little longer refused.
func TestTooLongRefusedFromTheHeader(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	speech := testcall.Speak(t, dir, testcall.Agent, testcall.Sentences[1])
	secs := testcall.Duration(t, speech)
	lame := func(args ...string) func(t *testing.T, out string) {
		return func(t *testing.T, out string) {
			t.Helper()
			if b, err := exec.Command("lame", append(append([]string{"--quiet"}, args...), speech, out)...).CombinedOutput(); err != nil {
				t.Fatalf("lame: %v\n%s", err, b)
			}
		}
	}
	sox := func(args ...string) func(t *testing.T, out string) {
		return func(t *testing.T, out string) { t.Helper(); testcall.Convert(t, speech, out, args...) }
	}
	raw := func(enc string, rate, channels int) *callscribe.RawFormat {
		return &callscribe.RawFormat{Encoding: enc, SampleRate: rate, Channels: channels}
	}
	tests := []struct {
		name string
		ext  string
		make func(t *testing.T, out string)
		raw  *callscribe.RawFormat
	}{
		{"pcm_u8", "wav", sox("-r", "8000", "-e", "unsigned", "-b", "8"), nil},
		{"pcm_s16le", "wav", sox("-r", "8000", "-b", "16"), nil},
		{"pcm_s16le stereo", "wav", sox("-r", "16000", "-b", "16", "-c", "2"), nil},
		{"pcm_s24le", "wav", sox("-r", "16000", "-b", "24"), nil},
		{"pcm_s32le", "wav", sox("-r", "16000", "-b", "32"), nil},
		{"pcm_f32le", "wav", sox("-r", "16000", "-e", "floating-point", "-b", "32"), nil},
		{"pcm_f64le", "wav", sox("-r", "8000", "-e", "floating-point", "-b", "64"), nil},
		{"pcm_mulaw", "wav", sox("-r", "8000", "-e", "u-law"), nil},
		{"pcm_alaw stereo", "wav", sox("-r", "8000", "-e", "a-law", "-c", "2"), nil},
		{"gsm_ms (wav49)", "wav", sox("-r", "8000", "-e", "gsm-full-rate"), nil},
		{"raw s16 stereo", "raw", sox("-t", "raw", "-r", "8000", "-e", "signed", "-b", "16", "-c", "2"), raw("s16", 8000, 2)},
		{"raw ulaw", "raw", sox("-t", "raw", "-r", "8000", "-e", "u-law"), raw("ulaw", 8000, 1)},
		{"raw alaw", "raw", sox("-t", "raw", "-r", "8000", "-e", "a-law"), raw("alaw", 8000, 1)},
		{"raw gsm", "gsm", sox("-t", "gsm", "-r", "8000"), raw("gsm", 8000, 1)},
		{"mp3 constant bitrate, no tag", "mp3", lame("-b", "32", "-t"), nil},
		{"mp3 constant bitrate, Info tag", "mp3", lame("-b", "48"), nil},
		{"mp3 variable bitrate, Xing tag", "mp3", lame("-V", "6"), nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(dir, "call-"+string(rune('a'+i))+"."+tt.ext)
			tt.make(t, out)
			file, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			e := newEnv(t, callscribe.PurposeTranscription)
			q := queued(t, e)
			accept := func(limit time.Duration, size int64, body io.Reader) error {
				p := pipeline.New(pipeline.Config{Store: q, Service: q, Stage: e.stage, Decode: decode, DecodeRaw: decodeRawUnused,
					Transcriber: fixedTranscriber{}, MaxDuration: limit})
				_, err := p.Accept(callscribe.AsSystem(context.Background()), pipeline.Upload{Owner: e.user, Raw: tt.raw, Audio: body, Size: size})
				return err
			}

			// Five hours of it, against a limit of one: refused from the first bytes.
			rest := &countingZeros{}
			fiveHours := int64(float64(len(file)) * 5 * 3600 / secs)
			head := bytes.Clone(file)
			if tt.ext == "wav" { // the header says five hours too
				at := bytes.Index(head, []byte("data"))
				binary.LittleEndian.PutUint32(head[at+4:], uint32(fiveHours-int64(at)-8))
				binary.LittleEndian.PutUint32(head[4:], uint32(fiveHours-8))
			}
			began := time.Now()
			err = accept(time.Hour, fiveHours, io.MultiReader(bytes.NewReader(head), rest))
			if callscribe.ErrorCode(err) != callscribe.ETOOLARGE {
				t.Errorf("five hours: %v (code %q), want %s from the header", err, callscribe.ErrorCode(err), callscribe.ETOOLARGE)
			}
			if read := int64(min(len(file), 4096)) + rest.n; read > 8192 {
				t.Errorf("five hours: %d bytes read before the refusal, want the sniffed bytes only", read)
			}
			if d := time.Since(began); d > 5*time.Second {
				t.Errorf("five hours refused after %v, want at once", d)
			}
			if e.stage.Bytes() != 0 {
				t.Errorf("five hours: %d bytes staged, want none", e.stage.Bytes())
			}

			// The estimate is close: 10% over the real length passes, 10% under is refused.
			limit := time.Duration(secs * float64(time.Second))
			if err := accept(limit*11/10, int64(len(file)), bytes.NewReader(file)); err != nil {
				t.Errorf("a %.1f s call against a limit of %v: %v, want it accepted", secs, limit*11/10, err)
			}
			if err := accept(limit*9/10, int64(len(file)), bytes.NewReader(file)); callscribe.ErrorCode(err) != callscribe.ETOOLARGE {
				t.Errorf("a %.1f s call against a limit of %v: %v, want %s from the header", secs, limit*9/10, err, callscribe.ETOOLARGE)
			}
		})
	}
}

func decodeRawUnused(ctx context.Context, r io.Reader, f callscribe.RawFormat, ch int) (int, io.ReadCloser, error) {
	return 0, nil, errors.New("not decoded in this test")
}
