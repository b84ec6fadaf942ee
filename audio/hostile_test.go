package audio

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"callscribe"
	"callscribe/internal/testcall"
)

// soxGSMWAV returns a GSM 6.10 WAV (wav49 framing) and a plain .gsm file of speech made
// by sox, and the offset of the WAV's data.
func soxGSM(t testing.TB) (wav []byte, dataAt int, raw []byte) {
	t.Helper()
	dir := t.TempDir()
	speech := testcall.Speak(t, dir, testcall.Agent, "the number is four five six seven")
	wavPath := testcall.Convert(t, speech, filepath.Join(dir, "x.wav"), "-r", "8000", "-e", "gsm-full-rate")
	gsmPath := testcall.Convert(t, speech, filepath.Join(dir, "x.gsm"), "-r", "8000")
	wav, err := os.ReadFile(wavPath)
	if err != nil {
		t.Fatal(err)
	}
	raw, err = os.ReadFile(gsmPath)
	if err != nil {
		t.Fatal(err)
	}
	dataAt = bytes.Index(wav, []byte("data")) + 8
	if dataAt < 8 {
		t.Fatalf("sox's GSM WAV has no data chunk")
	}
	return wav, dataAt, raw
}

// TestHostileWAV: inputs that broke or bloated other WAV readers (go-audio/wav allocates
// the size a LIST chunk claims). Each is decoded correctly or refused with an EUNREADABLE
// error, and the whole parse allocates less than 1 MiB, whatever a header claims.
func TestHostileWAV(t *testing.T) {
	// Not parallel: it weighs the heap, which other tests would share.
	s16 := make([]byte, 100)
	for i := range 50 {
		binary.LittleEndian.PutUint16(s16[2*i:], uint16(int16(i*100-2500)))
	}
	want16 := pcmSamples(s16)
	mono16 := fmtChunk(1, 1, 8000, 16, 2)
	huge := func(id string) []byte {
		// 12 + 24 + 8 + 20 = 64 bytes, the chunk claiming 4 GiB.
		b := wavBytes(mono16, chunk(id, 0xFFFFFFF0, make([]byte, 20)))
		if len(b) != 64 {
			t.Fatalf("%s case is %d bytes, want 64", id, len(b))
		}
		return b
	}
	// Full scale, most negative, +½ LSB of 16 bits (rounds up), -½ LSB (rounds up to 0),
	// just under full scale (rounds past it: clipped), just under ½ LSB.
	s24 := []byte{0xFF, 0xFF, 0x7F, 0x00, 0x00, 0x80, 0x80, 0x00, 0x00, 0x80, 0xFF, 0xFF, 0x80, 0xFF, 0x7F, 0x7F, 0x00, 0x00}
	f32 := make([]byte, 24)
	for i, v := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 2, -0.5, 0.25} {
		binary.LittleEndian.PutUint32(f32[4*i:], math.Float32bits(v))
	}
	ext := func(guid []byte) []byte {
		b := make([]byte, 40)
		copy(b, fmtChunk(1, 1, 8000, 16, 2)[8:])
		binary.LittleEndian.PutUint16(b[0:], 0xFFFE)
		binary.LittleEndian.PutUint16(b[16:], 22)
		copy(b[24:], guid)
		return chunk("fmt ", 40, b)
	}
	rf64 := func(dataSize uint64) []byte {
		ds64 := make([]byte, 28)
		binary.LittleEndian.PutUint64(ds64[8:], dataSize)
		b := wavBytes(chunk("ds64", 28, ds64), mono16, chunk("data", 0xFFFFFFFF, s16))
		copy(b, "RF64")
		return b
	}
	gsmWAV, gsmAt, _ := soxGSM(t)
	gsmFmt := bytes.Clone(gsmWAV[:gsmAt])

	tests := []struct {
		name string
		in   []byte
		want []int16 // the samples, before the error if there is one
		err  string  // "" for a clean end
	}{
		{"LIST claims 4 GiB", huge("LIST"), nil, `"LIST" chunk at byte 36 claims 4294967280 bytes, stream ends at byte 64`},
		{"smpl claims 4 GiB", huge("smpl"), nil, `"smpl" chunk at byte 36 claims 4294967280 bytes`},
		{"cue claims 4 GiB", huge("cue "), nil, `"cue" chunk at byte 36 claims 4294967280 bytes`},
		{"bext claims 4 GiB before fmt", wavBytes(chunk("bext", 0xFFFFFFFF, make([]byte, 44))), nil, `"bext" chunk at byte 12 claims 4294967295 bytes`},
		{"LIST claims 4 GiB after the data", wavBytes(mono16, chunk("data", 100, s16), chunk("LIST", 0xFFFFFFF0, make([]byte, 8))), want16, ""},
		{"data size 0", wavBytes(mono16, chunk("data", 0, s16)), want16, ""},
		{"data size 0xFFFFFFFF", wavBytes(mono16, chunk("data", 0xFFFFFFFF, s16)), want16, ""},
		{"data size 0, no data", wavBytes(mono16, chunk("data", 0, nil)), nil, ""},
		{"truncated mid-sample", wavBytes(mono16, chunk("data", 100, s16[:51])), want16[:25], "wav: truncated: data chunk at byte 44 claims 100 bytes, stream ends after 51"},
		{"to the end, ends mid-sample", wavBytes(mono16, chunk("data", 0xFFFFFFFF, s16[:51])), want16[:25], "stream ends inside a 2-byte frame at byte 95"},
		{"24-bit stereo ends mid-frame", wavBytes(fmtChunk(1, 2, 8000, 24, 6), chunk("data", 0, s24[:9])), []int16{32767, -32768}, "stream ends inside a 6-byte frame"},
		{"24-bit rounding and clipping", wavBytes(fmtChunk(1, 2, 8000, 24, 6), chunk("data", 18, s24)), []int16{32767, -32768, 1, 0, 32767, 0}, ""},
		{"float NaN, infinities, out of range", wavBytes(fmtChunk(3, 1, 8000, 32, 4), chunk("fact", 4, []byte{6, 0, 0, 0}), chunk("data", 24, f32)), []int16{0, 32767, -32768, 32767, -16384, 8192}, ""},
		{"odd chunks with pad bytes", wavBytes(chunk("junk", 1, []byte{9, 0}), mono16, chunk("LIST", 5, []byte("INFOx\x00")), chunk("data", 100, s16)), want16, ""},
		{"odd fmt chunk with pad byte", wavBytes(chunk("fmt ", 17, append(bytes.Clone(mono16[8:]), 0, 0)), chunk("data", 100, s16)), want16, ""},
		{"odd 8-bit data then a chunk", wavBytes(fmtChunk(1, 1, 8000, 8, 1), chunk("data", 3, []byte{0, 128, 255, 0}), chunk("LIST", 2, []byte("ab"))), []int16{-32768, 0, 32512}, ""},
		{"RF64 with ds64", rf64(40), want16[:20], ""},
		{"RF64 ds64 size absurd", rf64(math.MaxUint64), want16, ""},
		{"extensible PCM", wavBytes(ext(append([]byte{1, 0}, ksdataformatBase[:]...)), chunk("data", 100, s16)), want16, ""},
		{"extensible unknown GUID", wavBytes(ext(bytes.Repeat([]byte{0xAB}, 16)), chunk("data", 100, s16)), nil, "extensible fmt chunk at byte 12 has sub-format GUID ab ab"},
		{"extensible ADPCM", wavBytes(ext(append([]byte{2, 0}, ksdataformatBase[:]...)), chunk("data", 100, s16)), nil, "MS ADPCM encoding (format tag 0x0002, 16-bit) in the fmt chunk at byte 12"},
		{"extensible chunk too short", wavBytes(chunk("fmt ", 18, append(bytes.Clone(ext(nil)[8:24]), 0, 0)), chunk("data", 0, nil)), nil, "extensible fmt chunk at byte 12 is 18 bytes; want 40"},
		{"GSM stereo", wavBytes(fmtChunk(0x31, 2, 8000, 0, 65), chunk("data", 0, make([]byte, 130))), nil, "GSM 6.10 with 2 channels; only mono is supported"},
		{"GSM block align 64", wavBytes(fmtChunk(0x31, 1, 8000, 0, 64), chunk("data", 0, make([]byte, 130))), nil, "block align 64; want 65 for GSM 6.10"},
		{"GSM truncated mid-block", gsmWAV[:gsmAt+3*65+20], nil, "stream ends after 215"},
		{"GSM to the end, ends mid-block", append(setDataSize(gsmFmt, 0xFFFFFFFF), gsmWAV[gsmAt:gsmAt+2*65+1]...), nil, "stream ends inside a 65-byte block"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []int16
			var err error
			alloc := allocated(func() { _, got, err = decodeAll(t, bytes.NewReader(tt.in)) })
			if alloc >= 1<<20 {
				t.Errorf("allocated %d bytes for %d bytes of input, want < 1 MiB", alloc, len(tt.in))
			}
			if tt.err == "" {
				if err != nil {
					t.Fatalf("decode: %v", err)
				}
			} else {
				wantUnreadable(t, err, tt.err)
			}
			if tt.want != nil && !slicesEqual(got, tt.want) {
				t.Errorf("samples = %v, want %v", got, tt.want)
			}
			if strings.HasPrefix(tt.name, "GSM truncated") && len(got) != 3*320 {
				t.Errorf("decoded %d samples before the error, want the 3 whole blocks (960)", len(got))
			}
			if strings.HasPrefix(tt.name, "GSM to the end") && len(got) != 2*320 {
				t.Errorf("decoded %d samples before the error, want the 2 whole blocks (640)", len(got))
			}
		})
	}
}

// setDataSize returns a WAV header (ending with a data chunk's header) with that chunk's
// size replaced.
func setDataSize(hdr []byte, size uint32) []byte {
	hdr = bytes.Clone(hdr)
	binary.LittleEndian.PutUint32(hdr[len(hdr)-4:], size)
	return hdr
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestRawGSM: plain GSM frames decode until a frame lacks the magic number or the stream
// ends inside one; both are errors after the frames before them.
func TestRawGSM(t *testing.T) {
	t.Parallel()
	_, _, raw := soxGSM(t)
	if len(raw) < 10*33 {
		t.Fatalf("sox's .gsm is %d bytes, want at least 10 frames", len(raw))
	}
	f := RawFormat{"gsm", 8000, 1}
	_, whole, err := decodeAllRaw(t, bytes.NewReader(raw), f)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(raw) / 33 * 160; len(whole) != want {
		t.Errorf("decoded %d samples from %d frames, want %d", len(whole), len(raw)/33, want)
	}

	_, got, err := decodeAllRaw(t, bytes.NewReader(raw[:5*33+10]), f)
	wantUnreadable(t, err, "raw: truncated: stream ends inside a 33-byte block at byte 175")
	if !slicesEqual(got, whole[:5*160]) {
		t.Errorf("decoded %d samples before the truncation, want the 800 of the 5 whole frames", len(got))
	}

	bad := bytes.Clone(raw[:10*33])
	bad[7*33] = 0x00 // the magic nibble is 0xD
	_, got, err = decodeAllRaw(t, bytes.NewReader(bad), f)
	wantUnreadable(t, err, "raw: corrupt gsm block at byte 231: not a GSM 6.10 frame")
	if !slicesEqual(got, whole[:7*160]) {
		t.Errorf("decoded %d samples before the bad frame, want the 1120 of the 7 good frames", len(got))
	}

	// A reader that hands out less than a block per call still gets every sample.
	d, err := OpenRaw(bytes.NewReader(raw), f)
	if err != nil {
		t.Fatal(err)
	}
	var small []int16
	buf := make([]int16, 7)
	for {
		n, err := d.Read(buf)
		small = append(small, buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !slicesEqual(small, whole) {
		t.Errorf("reading 7 samples at a time gave %d samples, want the same %d as in one go", len(small), len(whole))
	}
}

// zeros is an endless stream of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func wantCode(t testing.TB, err error, code, msg string) {
	t.Helper()
	if got := callscribe.ErrorCode(err); got != code {
		t.Fatalf("error %v has code %q, want %q", err, got, code)
	}
	if m := callscribe.ErrorMessage(err); !strings.Contains(m, msg) {
		t.Errorf("error message %q, want it to contain %q", m, msg)
	}
}

func TestLimits(t *testing.T) {
	t.Parallel()
	second := pcmWAV(1, 8000, sine(8000, 440, 8000, 10000)) // 1 s, 16044 bytes

	t.Run("input bytes", func(t *testing.T) {
		d, err := OpenLimited(bytes.NewReader(second), Limits{MaxInputBytes: 10000})
		if err != nil {
			t.Fatal(err)
		}
		_, got, err := readAll(t, d)
		wantCode(t, err, callscribe.ETOOLARGE, "input is larger than the 10000-byte limit")
		if len(got) == 0 || len(got) > (10000-44)/2 {
			t.Errorf("decoded %d samples before the error, want some and at most %d", len(got), (10000-44)/2)
		}
		d, err = OpenLimited(bytes.NewReader(second), Limits{MaxInputBytes: int64(len(second))})
		if err != nil {
			t.Fatal(err)
		}
		if _, got, err := readAll(t, d); err != nil || len(got) != 8000 {
			t.Errorf("at exactly the limit: %d samples, err %v; want 8000, nil", len(got), err)
		}
	})
	t.Run("input bytes while skipping a chunk", func(t *testing.T) {
		// A chunk that claims 4 GiB on an endless stream: without a limit the skip would
		// read 4 GiB; with one it stops at the limit.
		in := io.MultiReader(bytes.NewReader(wavBytes(mono16(), chunk("LIST", 0xFFFFFFF0, nil))), zeros{})
		_, err := OpenLimited(in, Limits{MaxInputBytes: 1 << 20})
		wantCode(t, err, callscribe.ETOOLARGE, "input is larger than the 1048576-byte limit")
	})
	t.Run("duration", func(t *testing.T) {
		d, err := OpenLimited(bytes.NewReader(second), Limits{MaxDuration: 500 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		_, got, err := readAll(t, d)
		wantCode(t, err, callscribe.ETOOLARGE, "longer than the 500ms limit on duration")
		if len(got) != 4000 {
			t.Errorf("decoded %d samples before the error, want the 4000 within the limit", len(got))
		}
		d, err = OpenLimited(bytes.NewReader(second), Limits{MaxDuration: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if _, got, err := readAll(t, d); err != nil || len(got) != 8000 {
			t.Errorf("at exactly the limit: %d samples, err %v; want 8000, nil", len(got), err)
		}
	})
	t.Run("duration of raw stereo", func(t *testing.T) {
		d, err := OpenRawLimited(zeros{}, RawFormat{"ulaw", 8000, 2}, Limits{MaxDuration: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		_, got, err := readAll(t, d)
		wantCode(t, err, callscribe.ETOOLARGE, "longer than the 2s limit on duration")
		if len(got) != 2*16000 {
			t.Errorf("decoded %d samples, want the 32000 of 2 s of stereo", len(got))
		}
	})
	t.Run("MP3", func(t *testing.T) {
		// The limits hold for every codec: they are the Decoder's, not the codec's.
		mp3 := makeMP3(t, "16000", "1")
		d, err := OpenLimited(bytes.NewReader(mp3), Limits{MaxDuration: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		_, got, err := readAll(t, d)
		wantCode(t, err, callscribe.ETOOLARGE, "longer than the 200ms limit on duration")
		if len(got) != 3200 {
			t.Errorf("decoded %d samples before the error, want the 3200 of 200 ms", len(got))
		}
		d, err = OpenLimited(bytes.NewReader(mp3), Limits{MaxInputBytes: int64(len(mp3) / 2)})
		if err != nil {
			t.Fatal(err)
		}
		// How much audio comes out before the error depends on how far ahead the codec
		// reads; that the error is the limit's does not.
		_, _, err = readAll(t, d)
		wantCode(t, err, callscribe.ETOOLARGE, "input is larger than the")
	})
	t.Run("deadline", func(t *testing.T) {
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		clock := func() time.Time { return now }
		d, err := OpenLimited(bytes.NewReader(second), Limits{Deadline: now.Add(time.Second), Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]int16, 1000)
		if n, err := d.Read(buf); n != 1000 || err != nil {
			t.Fatalf("Read before the deadline = %d, %v; want 1000, nil", n, err)
		}
		now = now.Add(time.Second)
		_, err = d.Read(buf)
		wantCode(t, err, callscribe.ETOOLARGE, "decoding did not finish by its deadline (2026-01-01T00:00:01Z)")

		_, err = OpenLimited(bytes.NewReader(second), Limits{Deadline: now, Now: clock})
		wantCode(t, err, callscribe.ETOOLARGE, "deadline")
	})
}

func mono16() []byte { return fmtChunk(1, 1, 8000, 16, 2) }

// TestGSMFreedAtLimit checks that a limit stopping a GSM decode frees its libgsm state.
// Not parallel: it counts the process's open libgsm states, which parallel tests change.
func TestGSMFreedAtLimit(t *testing.T) {
	_, _, raw := soxGSM(t)
	d, err := OpenRawLimited(bytes.NewReader(raw), RawFormat{"gsm", 8000, 1}, Limits{MaxDuration: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if n := gsmHandles.Load(); n != 1 {
		t.Fatalf("%d libgsm states open while decoding, want 1", n)
	}
	_, got, err := readAll(t, d)
	wantCode(t, err, callscribe.ETOOLARGE, "longer than the 100ms limit on duration")
	if len(got) != 800 {
		t.Errorf("decoded %d samples, want the 800 of 100 ms", len(got))
	}
	if n := gsmHandles.Load(); n != 0 {
		t.Errorf("%d libgsm states open after the limit stopped decoding, want 0", n)
	}
}
