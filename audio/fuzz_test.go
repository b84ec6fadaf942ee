package audio

import (
	"bytes"
	"encoding/binary"
	"math"
	"path/filepath"
	"testing"

	"callscribe"
	"callscribe/internal/testcall"
)

// FuzzOpen feeds Open arbitrary bytes: it must never panic or hang, every failure must be
// an EUNREADABLE error, and the samples decoded must be bounded by the input's size (no
// lying header makes audio out of nothing), and no libgsm state or libmpg123 handle may be
// left open. Seeds are small generated files of every encoding we decode, WAV and MP3.
func FuzzOpen(f *testing.F) {
	f.Add(pcmWAV(1, 8000, sine(400, 440, 8000, 5000)))
	f.Add(pcmWAV(2, 44100, sine(600, 440, 44100, 5000)))
	f.Add(wavBytes(chunk("LIST", 3, []byte{1, 2, 3, 0}), fmtChunk(1, 1, 16000, 16, 2), chunk("data", 0xFFFFFFFF, make([]byte, 64))))
	tone := sine(300, 440, 8000, 30000)
	for _, e := range seedEncodings {
		f.Add(encodedWAV(e.tag, e.bits, 2, 8000, tone, false))
		f.Add(encodedWAV(e.tag, e.bits, 1, 16000, tone[:100], true))
	}
	gsm, gsmAt, _ := soxGSM(f)
	f.Add(gsm[:min(len(gsm), gsmAt+10*65)])
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
		if n := gsmHandles.Load(); n != 0 {
			t.Fatalf("%d libgsm states open after decoding to the end", n)
		}
		if n := mpg123Handles.Load(); n != 0 {
			t.Fatalf("%d libmpg123 handles open after decoding to the end", n)
		}
	})
}

// FuzzOpenRaw feeds OpenRaw arbitrary bytes in every raw encoding and arbitrary formats:
// no panic, an invalid format is EINVALID, bad bytes EUNREADABLE, and the samples are
// exactly what the whole frames in the input hold.
func FuzzOpenRaw(f *testing.F) {
	_, _, gsm := soxGSM(f)
	f.Add(gsm[:min(len(gsm), 20*33)], uint8(3), uint8(1), uint32(8000))
	f.Add(gsm[:min(len(gsm), 5*33+7)], uint8(3), uint8(1), uint32(8000))
	tone := sine(400, 440, 8000, 30000)
	s16 := make([]byte, 2*len(tone))
	for i, s := range tone {
		binary.LittleEndian.PutUint16(s16[2*i:], uint16(s))
	}
	f.Add(s16, uint8(0), uint8(2), uint32(8000))
	f.Add(s16[:401], uint8(0), uint8(1), uint32(16000))
	f.Add(encodeG711(tone, mulawTable), uint8(1), uint8(1), uint32(8000))
	f.Add(encodeG711(tone, alawTable), uint8(2), uint8(2), uint32(8000))
	f.Add([]byte{}, uint8(1), uint8(0), uint32(8000))
	f.Add([]byte{1, 2, 3}, uint8(9), uint8(1), uint32(8000))
	f.Fuzz(func(t *testing.T, data []byte, enc, channels uint8, rate uint32) {
		encoding := "bogus"
		if int(enc) < len(RawEncodings) {
			encoding = RawEncodings[enc]
		}
		rf := RawFormat{Encoding: encoding, SampleRate: int(rate), Channels: int(channels)}
		if rate == 0 {
			rf.SampleRate = 8000 // most inputs, so the fuzzer reaches decoding more often
		}
		d, err := OpenRaw(bytes.NewReader(data), rf)
		if err != nil {
			if code := callscribe.ErrorCode(err); code != callscribe.EINVALID {
				t.Fatalf("OpenRaw(%+v): error %v has code %q, want %q", rf, err, code, callscribe.EINVALID)
			}
			return
		}
		_, samples, err := readAll(t, d)
		if err != nil && callscribe.ErrorCode(err) != callscribe.EUNREADABLE {
			t.Fatalf("error %v has code %q, want %q", err, callscribe.ErrorCode(err), callscribe.EUNREADABLE)
		}
		// Every byte decodes but a partial frame at the end, which is an error; GSM frames
		// may also be refused for a bad magic number.
		frame := map[string]int{"s16": 2, "ulaw": 1, "alaw": 1, "gsm": 33}[encoding] * int(channels)
		perFrame := int(channels)
		if encoding == "gsm" {
			perFrame = 160
		}
		whole := len(data) / frame * perFrame
		switch {
		case len(samples) > whole || len(samples)%perFrame != 0:
			t.Fatalf("%d samples out of %d bytes of %+v, want whole frames, at most %d", len(samples), len(data), rf, whole)
		case encoding != "gsm" && len(samples) != whole:
			t.Fatalf("%d samples out of %d bytes of %+v, want %d", len(samples), len(data), rf, whole)
		case (err == nil) != (len(data)%frame == 0 && len(samples) == whole):
			t.Fatalf("%d bytes of %+v gave %d samples and error %v", len(data), rf, len(samples), err)
		}
		if n := gsmHandles.Load(); n != 0 {
			t.Fatalf("%d libgsm states open after decoding to the end", n)
		}
	})
}

// seedEncodings are the WAV encodings the fuzz seeds and benchmarks cover.
var seedEncodings = []struct {
	name string
	tag  uint16
	bits int
}{
	{"u8", 1, 8}, {"s16", 1, 16}, {"s24", 1, 24}, {"s32", 1, 32},
	{"f32", 3, 32}, {"f64", 3, 64}, {"ulaw", 7, 8}, {"alaw", 6, 8},
}

// encodedWAV builds a WAV of the samples (interleaved) in the encoding tag/bits, as a
// plain or an extensible fmt chunk.
func encodedWAV(tag uint16, bits, channels, rate int, samples []int16, extensible bool) []byte {
	samples = samples[:len(samples)/channels*channels]
	bps := bits / 8
	data := make([]byte, bps*len(samples))
	for i, s := range samples {
		b := data[bps*i:]
		switch {
		case tag == 1 && bits == 8:
			b[0] = byte(s>>8) + 128
		case tag == 1 && bits == 16:
			binary.LittleEndian.PutUint16(b, uint16(s))
		case tag == 1 && bits == 24:
			v := uint32(int32(s) << 8)
			b[0], b[1], b[2] = byte(v), byte(v>>8), byte(v>>16)
		case tag == 1 && bits == 32:
			binary.LittleEndian.PutUint32(b, uint32(int32(s)<<16))
		case tag == 3 && bits == 32:
			binary.LittleEndian.PutUint32(b, math.Float32bits(float32(s)/32768))
		case tag == 3 && bits == 64:
			binary.LittleEndian.PutUint64(b, math.Float64bits(float64(s)/32768))
		case tag == 7:
			b[0] = encodeG711([]int16{s}, mulawTable)[0]
		case tag == 6:
			b[0] = encodeG711([]int16{s}, alawTable)[0]
		default:
			panic("encodedWAV: no such encoding")
		}
	}
	blockAlign := uint16(bps * channels)
	fmtc := fmtChunk(tag, uint16(channels), uint32(rate), uint16(bits), blockAlign)
	if extensible {
		body := make([]byte, 40)
		copy(body, fmtc[8:])
		binary.LittleEndian.PutUint16(body[0:], 0xFFFE)
		binary.LittleEndian.PutUint16(body[16:], 22)
		binary.LittleEndian.PutUint16(body[18:], uint16(bits))
		binary.LittleEndian.PutUint16(body[24:], tag)
		copy(body[26:], ksdataformatBase[:])
		fmtc = chunk("fmt ", 40, body)
	}
	return wavBytes(fmtc, chunk("data", uint32(len(data)), data))
}

// encodeG711 encodes samples with the code whose expansion in table is nearest (slow;
// for building test input only).
func encodeG711(samples []int16, table [256]int16) []byte {
	out := make([]byte, len(samples))
	for i, s := range samples {
		best := 0
		for c := range 256 {
			if intAbs(int(table[c])-int(s)) < intAbs(int(table[best])-int(s)) {
				best = c
			}
		}
		out[i] = byte(best)
	}
	return out
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
