package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"callscribe/internal/testcall"
)

// makeMP3 returns the bytes of a short MP3 of speech made by sox, at rate Hz.
func makeMP3(t testing.TB, rate string, channels string) []byte {
	t.Helper()
	dir := t.TempDir()
	speech := testcall.Speak(t, dir, testcall.Agent, "the number is four five six seven")
	mp3 := testcall.Convert(t, speech, filepath.Join(dir, "x.mp3"), "-r", rate, "-c", channels)
	b, err := os.ReadFile(mp3)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const anyCount = -2

// secondFrame returns the offset of the second frame header of a sox-made MP3.
func secondFrame(t testing.TB, b []byte) int {
	t.Helper()
	h, ok := parseMPEGHeader(b)
	if !ok {
		t.Fatalf("no frame header at byte 0: % x", b[:4])
	}
	at := h.frameSize()
	if _, ok := parseMPEGHeader(b[at:]); !ok {
		t.Fatalf("no frame header at byte %d", at)
	}
	return at
}

func TestBadInput(t *testing.T) {
	// Not parallel: it weighs the heap, which other tests would share.
	rng := rand.New(rand.NewPCG(7, 7))
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	// random must not start like a format we know, or the case tests something else.
	random[0] = 'x'

	mp3 := makeMP3(t, "44100", "2")
	audioAt := secondFrame(t, mp3)
	garbled := bytes.Clone(mp3)
	for i := audioAt + 4; i < min(audioAt+12000, len(garbled)); i++ {
		garbled[i] = byte(rng.Uint32())
	}
	id3Huge := []byte("ID3\x04\x00\x00\x7f\x7f\x7f\x7f")
	id3Huge = append(id3Huge, make([]byte, 100)...)
	id3ThenNoise := append([]byte("ID3\x04\x00\x00\x00\x00\x00\x10"), make([]byte, 16)...)
	id3ThenNoise = append(id3ThenNoise, bytes.Repeat([]byte{0x55}, 70000)...)
	layer2 := append([]byte{0xFF, 0xFD, 0x90, 0x00}, make([]byte, 500)...)

	samples := make([]byte, 400)
	fmt16 := fmtChunk(1, 2, 16000, 16, 4)
	tests := []struct {
		name string
		in   []byte
		// decoded is how many samples must come out before the error (Open fails if 0),
		// -1 for some, anyCount for any number.
		decoded int
		want    string
	}{
		{"empty", nil, 0, "input is empty"},
		{"random bytes", random, 0, "unknown format: first bytes are not RIFF/WAVE or MPEG audio"},
		{"RIFF only", []byte("RIFF"), 0, "wav: truncated header"},
		{"truncated RIFF header", []byte("RIFF\x24\x00\x00\x00WA"), 0, "wav: truncated header"},
		{"truncated before fmt", wavBytes()[:12], 0, "before the fmt chunk"},
		{"truncated fmt chunk", wavBytes(fmt16)[:24], 0, "wav: truncated header: fmt chunk at byte 12 claims 16 bytes"},
		{"RIFF but not WAVE", []byte("RIFF\x24\x00\x00\x00AVI LIST"), 0, "unknown format"},
		{"0 channels", wavBytes(fmtChunk(1, 0, 8000, 16, 0), chunk("data", 4, samples[:4])), 0, "wav: fmt chunk at byte 12 says 0 channels"},
		{"300 channels", wavBytes(fmtChunk(1, 300, 8000, 16, 600), chunk("data", 4, samples[:4])), 0, "fmt chunk at byte 12 says 300 channels"},
		{"absurd rate", wavBytes(fmtChunk(1, 1, 0xFFFFFFFF, 16, 2), chunk("data", 4, samples[:4])), 0, "sample rate 4294967295 Hz"},
		{"rate 0", wavBytes(fmtChunk(1, 1, 0, 16, 2), chunk("data", 4, samples[:4])), 0, "sample rate 0 Hz"},
		{"bad block align", wavBytes(fmtChunk(1, 2, 8000, 16, 3), chunk("data", 4, samples[:4])), 0, "block align 3; want 4"},
		{"MS ADPCM", wavBytes(chunk("LIST", 4, []byte("INFO")), fmtChunk(2, 1, 8000, 4, 256), chunk("data", 4, samples[:4])), 0, "MS ADPCM encoding (format tag 0x0002, 4-bit) in the fmt chunk at byte 24 is not supported"},
		{"IMA ADPCM", wavBytes(fmtChunk(0x11, 1, 8000, 4, 256), chunk("data", 4, samples[:4])), 0, "IMA ADPCM encoding (format tag 0x0011, 4-bit) in the fmt chunk at byte 12 is not supported"},
		{"MP3 in WAV", wavBytes(fmtChunk(0x55, 1, 8000, 0, 1), chunk("data", 4, samples[:4])), 0, "MP3 encoding (format tag 0x0055, 0-bit) in the fmt chunk at byte 12 is not supported"},
		{"unknown tag", wavBytes(fmtChunk(0x1234, 1, 8000, 16, 2), chunk("data", 4, samples[:4])), 0, "unknown encoding (format tag 0x1234, 16-bit) in the fmt chunk at byte 12 is not supported"},
		{"24-bit block align", wavBytes(fmtChunk(1, 2, 8000, 24, 4), chunk("data", 4, samples[:4])), 0, "block align 4; want 6 for 2 channels of 24-bit samples"},
		{"8-bit PCM odd size", wavBytes(fmtChunk(1, 1, 8000, 12, 2), chunk("data", 4, samples[:4])), 0, "PCM encoding (format tag 0x0001, 12-bit) in the fmt chunk at byte 12 is not supported"},
		{"short fmt chunk", wavBytes(chunk("fmt ", 8, samples[:8])), 0, "fmt chunk at byte 12 is 8 bytes; want at least 16"},
		{"data before fmt", wavBytes(chunk("data", 4, samples[:4]), fmt16), 0, "data chunk at byte 12 comes before any fmt chunk"},
		{"chunk claims 4 GiB", wavBytes(chunk("LIST", 0xFFFFFFFE, samples), fmt16), 0, `wav: truncated: "LIST" chunk at byte 12 claims 4294967294 bytes`},
		{"fmt claims 4 GiB", wavBytes(chunk("fmt ", 0xFFFFFFF0, samples)), 0, `"fmt" chunk at byte 12 claims 4294967280 bytes`},
		{"no data chunk", wavBytes(fmt16), 0, "before the data chunk"},
		{"truncated data", wavBytes(fmt16, chunk("data", 1000, samples[:100])), 50, "wav: truncated: data chunk at byte 44 claims 1000 bytes, stream ends after 100"},
		{"stream ends inside a frame", wavBytes(fmt16, chunk("data", 0xFFFFFFFF, samples[:102])), 50, "stream ends inside a 4-byte frame"},
		{"truncated mp3", mp3[:len(mp3)/2+7], -1, "mp3: truncated: frame at byte"},
		{"truncated mp3 header", mp3[:audioAt+2], -1, "mp3: truncated: stream ends inside a frame header at byte"},
		{"garbled mp3", garbled, -1, "mp3: corrupt frame at byte"},
		{"ID3 claims 256 MiB", id3Huge, 0, "ID3v2 tag at byte 0 claims 268435455 bytes, stream ends after 100"},
		{"ID3 size not syncsafe", []byte("ID3\x04\x00\x00\xff\xff\xff\xff"), 0, "corrupt ID3v2 tag at byte 0: size is not syncsafe"},
		{"ID3 header only", []byte("ID3\x04\x00\x00\x00\x00\x00\x00"), 0, "mp3: no MPEG audio frame in the stream (0 bytes after the tags)"},
		{"ID3 cut in its header", []byte("ID3\x04\x00\x00\x00"), 0, "mp3: truncated: ID3v2 tag header at byte 0 has 7 of 10 bytes"},
		{"ID3 then no audio", id3ThenNoise, 0, "mp3: no MPEG audio frame within 65536 bytes after the ID3 tag"},
		{"MPEG Layer II", layer2, 0, "MPEG-1 Layer II audio is not supported; only Layer III"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, got, err := decodeAll(t, bytes.NewReader(tt.in))
			runtime.ReadMemStats(&after)
			wantUnreadable(t, err, tt.want)
			switch {
			case tt.decoded == anyCount:
			case tt.decoded >= 0 && len(got) != tt.decoded:
				t.Errorf("decoded %d samples before the error, want %d", len(got), tt.decoded)
			case tt.decoded < 0 && len(got) == 0:
				t.Errorf("decoded nothing before the error, want the frames before the damage")
			}
			// Allocation may follow the bytes actually decoded, never a size a header
			// claims.
			if alloc, limit := after.TotalAlloc-before.TotalAlloc, uint64(1<<20+256*len(tt.in)); alloc > limit {
				t.Errorf("allocated %d bytes decoding %d bytes of input, want < %d", alloc, len(tt.in), limit)
			}
		})
	}
}

// TestWAVOddChunksAndStreamingSizes: chunks we skip (odd sizes padded to even), an
// extensible fmt chunk, and data sizes that mean "to the end of the stream".
func TestWAVOddChunksAndStreamingSizes(t *testing.T) {
	t.Parallel()
	samples := []int16{1, -1, 2, -2, 3, -3, 32767, -32768}
	data := make([]byte, 2*len(samples))
	for i, s := range samples {
		binary.LittleEndian.PutUint16(data[2*i:], uint16(s))
	}
	ext := make([]byte, 40)
	copy(ext, fmtChunk(1, 2, 8000, 16, 4)[8:])
	binary.LittleEndian.PutUint16(ext[0:], 0xFFFE)
	binary.LittleEndian.PutUint16(ext[16:], 22)
	binary.LittleEndian.PutUint16(ext[24:], 1) // KSDATAFORMAT_SUBTYPE_PCM
	copy(ext[26:], ksdataformatBase[:])
	fmt16 := fmtChunk(1, 2, 8000, 16, 4)
	tests := []struct {
		name string
		in   []byte
		want []int16
	}{
		{"plain", wavBytes(fmt16, chunk("data", uint32(len(data)), data)), samples},
		{"odd LIST chunk before fmt", wavBytes(chunk("LIST", 3, []byte{1, 2, 3, 0}), fmt16, chunk("data", uint32(len(data)), data)), samples},
		{"extensible", wavBytes(chunk("fmt ", 40, ext), chunk("data", uint32(len(data)), data)), samples},
		{"data size 0 means to the end", wavBytes(fmt16, chunk("data", 0, data)), samples},
		{"data size 0xFFFFFFFF means to the end", wavBytes(fmt16, chunk("data", 0xFFFFFFFF, data)), samples},
		{"data size shorter than the stream", wavBytes(fmt16, chunk("data", 8, data)), samples[:4]},
		{"data size not whole frames", wavBytes(fmt16, chunk("data", 10, data)), samples[:4]},
		{"trailing chunk ignored", wavBytes(fmt16, chunk("data", uint32(len(data)), data), chunk("LIST", 4, []byte("abcd"))), samples},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, got, err := decodeAll(t, bytes.NewReader(tt.in))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if want := (Format{"wav", "pcm_s16le", 8000, 2}); f != want {
				t.Errorf("Format() = %+v, want %+v", f, want)
			}
			if !slicesEqual(got, tt.want) {
				t.Errorf("samples = %v, want %v", got, tt.want)
			}
		})
	}
}

func slicesEqual(a, b []int16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// errReader fails after its bytes with a non-EOF error, as a stage that cannot decrypt.
type errReader struct {
	b   []byte
	err error
}

func (r *errReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, r.err
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

// TestReaderErrorIsNotUnreadable: when the reader under the decoder fails, the error is
// the reader's (wrapped), not a claim that the audio is bad.
func TestReaderErrorIsNotUnreadable(t *testing.T) {
	t.Parallel()
	boom := errors.New("stage: authentication failed")
	wav := pcmWAV(1, 8000, make([]int16, 5000))
	_, _, err := decodeAll(t, &errReader{b: wav[:3000], err: boom})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want it to wrap %v", err, boom)
	}
	if _, _, err := decodeAll(t, &errReader{err: boom}); !errors.Is(err, boom) {
		t.Fatalf("Open on a failing reader: err = %v, want it to wrap %v", err, boom)
	}
	_ = io.EOF
}
