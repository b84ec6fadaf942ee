package asrtest

import (
	"encoding/binary"
	"os"
	"testing"

	"callscribe/asr"
)

// maxWAV bounds what PCM reads: a test clip, not a call (about 5 minutes of audio).
const maxWAV = 10 << 20

// PCM reads a 16 kHz, 16-bit mono PCM WAV (as flite and sox write it) and returns its
// samples as s16le bytes, the form every Transcriber takes. It fails the test for any
// other format or for a file over 10 MiB: it is for test clips only.
func PCM(t testing.TB, wavPath string) []byte {
	t.Helper()
	fi, err := os.Stat(wavPath)
	if err != nil {
		t.Fatalf("PCM: %v", err)
	}
	if fi.Size() > maxWAV {
		t.Fatalf("PCM(%s): %d bytes, want a test clip under %d", wavPath, fi.Size(), maxWAV)
	}
	b, err := os.ReadFile(wavPath)
	if err != nil {
		t.Fatalf("PCM: %v", err)
	}
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		t.Fatalf("PCM(%s): not a RIFF/WAVE file", wavPath)
	}
	var fmtOK bool
	for p := 12; p+8 <= len(b); {
		id, size := string(b[p:p+4]), int(binary.LittleEndian.Uint32(b[p+4:p+8]))
		body := b[p+8:]
		if size > len(body) {
			size = len(body) // sox leaves the size of a streamed data chunk unset
		}
		body = body[:size]
		switch id {
		case "fmt ":
			if size < 16 {
				t.Fatalf("PCM(%s): short fmt chunk", wavPath)
			}
			format := binary.LittleEndian.Uint16(body[0:2])
			channels := binary.LittleEndian.Uint16(body[2:4])
			rate := binary.LittleEndian.Uint32(body[4:8])
			bits := binary.LittleEndian.Uint16(body[14:16])
			if format != 1 || channels != 1 || rate != asr.SampleRate || bits != 16 {
				t.Fatalf("PCM(%s): format %d, %d channels, %d Hz, %d bits; want PCM (1), 1 channel, %d Hz, 16 bits",
					wavPath, format, channels, rate, bits, asr.SampleRate)
			}
			fmtOK = true
		case "data":
			if !fmtOK {
				t.Fatalf("PCM(%s): data chunk before fmt chunk", wavPath)
			}
			return body[:size&^1]
		}
		p += 8 + size + size&1 // chunks are padded to an even length
	}
	t.Fatalf("PCM(%s): no data chunk", wavPath)
	return nil
}

// Silence returns ms milliseconds of digital silence as s16le PCM.
func Silence(ms int) []byte {
	return make([]byte, 2*ms*asr.SampleRate/1000)
}

// DurationMS is the length of s16le PCM in milliseconds.
func DurationMS(pcm []byte) int64 {
	return int64(len(pcm)/2) * 1000 / asr.SampleRate
}
