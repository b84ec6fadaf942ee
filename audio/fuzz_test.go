package audio

import (
	"bytes"
	"path/filepath"
	"testing"

	"callscribe"
	"callscribe/internal/testcall"
)

// FuzzOpen feeds Open arbitrary bytes: it must never panic or hang, every failure must be
// an EUNREADABLE error, and the samples decoded must be bounded by the input's size (no
// lying header makes audio out of nothing), and no libmpg123 handle may be left open.
// Seeds are small generated WAV and MP3 files.
func FuzzOpen(f *testing.F) {
	f.Add(pcmWAV(1, 8000, sine(400, 440, 8000, 5000)))
	f.Add(pcmWAV(2, 44100, sine(600, 440, 44100, 5000)))
	f.Add(wavBytes(chunk("LIST", 3, []byte{1, 2, 3, 0}), fmtChunk(1, 1, 16000, 16, 2), chunk("data", 0xFFFFFFFF, make([]byte, 64))))
	mono := makeMP3(f, "16000", "1")
	f.Add(mono[:min(len(mono), 3000)])
	stereo := makeMP3(f, "44100", "2")
	f.Add(stereo[:min(len(stereo), 3000)])
	f.Add(append([]byte("ID3\x03\x00\x00\x00\x00\x00\x04abcd"), stereo[:min(len(stereo), 2000)]...))
	mpeg25 := makeMP3(f, "8000", "1")
	f.Add(mpeg25[:min(len(mpeg25), 1500)])
	mpeg2 := makeMP3(f, "22050", "2")
	f.Add(mpeg2[:min(len(mpeg2), 2000)])
	f.Add(lameVBR(f)[:2500]) // an Info frame with lame's delay and padding, then VBR frames
	f.Add(append([]byte{0xFF, 0xE3, 0x18, 0xC0, 0xFF}, make([]byte, 67)...))
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVE"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, samples, err := decodeAll(t, bytes.NewReader(data))
		if err != nil && callscribe.ErrorCode(err) != callscribe.EUNREADABLE {
			t.Fatalf("error %v has code %q, want %q", err, callscribe.ErrorCode(err), callscribe.EUNREADABLE)
		}
		// The densest case is MPEG-2 at 8 kbit/s: 24 bytes decode to 1152 samples.
		if limit := 64 * len(data); len(samples) > limit {
			t.Fatalf("%d samples out of %d bytes, want at most %d", len(samples), len(data), limit)
		}
		if n := mpg123Handles.Load(); n != 0 {
			t.Fatalf("%d libmpg123 handles open after decoding to the end", n)
		}
	})
}

// lameVBR returns the bytes of a short VBR MP3 made by lame, which starts with an Info
// frame.
func lameVBR(t testing.TB) []byte {
	t.Helper()
	dir := t.TempDir()
	speech := testcall.Speak(t, dir, testcall.Agent, "the number is four five six seven")
	mp3 := filepath.Join(dir, "vbr.mp3")
	run(t, "lame", "--quiet", "-V", "6", speech, mp3)
	return readFile(t, mp3)
}
