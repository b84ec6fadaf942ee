package audio

import (
	"bytes"
	"testing"

	"callscribe"
)

// FuzzOpen feeds Open arbitrary bytes: it must never panic or hang, every failure must be
// an EUNREADABLE error, and the samples decoded must be bounded by the input's size (no
// lying header makes audio out of nothing). Seeds are small generated WAV and MP3 files.
func FuzzOpen(f *testing.F) {
	f.Add(pcmWAV(1, 8000, sine(400, 440, 8000, 5000)))
	f.Add(pcmWAV(2, 44100, sine(600, 440, 44100, 5000)))
	f.Add(wavBytes(chunk("LIST", 3, []byte{1, 2, 3, 0}), fmtChunk(1, 1, 16000, 16, 2), chunk("data", 0xFFFFFFFF, make([]byte, 64))))
	mono := makeMP3(f, "16000", "1")
	f.Add(mono[:min(len(mono), 3000)])
	stereo := makeMP3(f, "44100", "2")
	f.Add(stereo[:min(len(stereo), 3000)])
	f.Add(append([]byte("ID3\x03\x00\x00\x00\x00\x00\x04abcd"), stereo[:min(len(stereo), 2000)]...))
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
	})
}
