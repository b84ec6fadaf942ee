package audio

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// This is a small streaming RIFF/WAVE reader of our own rather than go-audio/wav: that one
// allocates whatever size a LIST chunk claims and wants a seekable file. Here every chunk
// we do not need is skipped by reading it through a fixed buffer, the fmt chunk is read
// into a fixed array, and the data chunk is decoded as it streams by.

const (
	wavTagPCM        = 0x0001
	wavTagFloat      = 0x0003
	wavTagAlaw       = 0x0006
	wavTagMulaw      = 0x0007
	wavTagGSM        = 0x0031
	wavTagExtensible = 0xFFFE
	// sizeToEnd is what streaming writers put in a data chunk's size when they do not know
	// it (as does RF64, whose real size is in ds64): the data runs to the end of the stream.
	sizeToEnd = 0xFFFFFFFF
)

type wavKey struct {
	tag  uint16
	bits int
}

// wavEncodings are the sample encodings of a WAV data chunk by format tag and bits per
// sample. GSM 6.10, a block codec, is handled beside them.
var wavEncodings = map[wavKey]sampleEncoding{
	{wavTagPCM, 8}:    encU8,
	{wavTagPCM, 16}:   encS16,
	{wavTagPCM, 24}:   encS24,
	{wavTagPCM, 32}:   encS32,
	{wavTagFloat, 32}: encF32,
	{wavTagFloat, 64}: encF64,
	{wavTagMulaw, 8}:  encMulaw,
	{wavTagAlaw, 8}:   encAlaw,
}

// wavTagNames name the encodings, the ones we do not decode included, for messages.
var wavTagNames = map[uint16]string{
	0x0001: "PCM",
	0x0002: "MS ADPCM",
	0x0003: "IEEE float",
	0x0006: "A-law",
	0x0007: "µ-law",
	0x0011: "IMA ADPCM",
	0x0022: "TrueSpeech",
	0x0031: "GSM 6.10",
	0x0040: "G.721 ADPCM",
	0x0050: "MPEG",
	0x0055: "MP3",
	0x0064: "G.726 ADPCM",
	0x0065: "G.722 ADPCM",
	0x0161: "WMA",
	0x0164: "G.729",
}

// ksdataformatBase is the tail every KSDATAFORMAT_SUBTYPE GUID of a classic format tag
// shares (XXXXXXXX-0000-0010-8000-00AA00389B71, the tag in the first two bytes).
var ksdataformatBase = [14]byte{0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71}

func matchWAV(head []byte) bool {
	if len(head) < 12 {
		// Too short to be a WAV file, but if it starts like one, say what is wrong with it
		// rather than calling it an unknown format.
		return len(head) >= 4 && (string(head[:4]) == "RIFF" || string(head[:4]) == "RF64")
	}
	return (string(head[:4]) == "RIFF" || string(head[:4]) == "RF64") && string(head[8:12]) == "WAVE"
}

func openWAV(br *bufio.Reader) (codec, error) {
	var off int64 // bytes consumed, for messages
	var hdr [12]byte
	if n, err := io.ReadFull(br, hdr[:]); err != nil {
		return nil, readErr(err, "wav: truncated header: %d of 12 bytes of the RIFF header", n)
	}
	off = 12
	if string(hdr[8:12]) != "WAVE" {
		return nil, unreadable("wav: RIFF file of type %q, not WAVE", hdr[8:12])
	}
	rf64 := string(hdr[:4]) == "RF64"
	var (
		fmtChunk [40]byte
		fmtLen   int
		fmtAt    int64
		ds64Data int64 = -1
	)
	for {
		var ch [8]byte
		if n, err := io.ReadFull(br, ch[:]); err != nil {
			if fmtLen == 0 {
				return nil, readErr(err, "wav: truncated header: stream ends at byte %d before the fmt chunk", off+int64(n))
			}
			return nil, readErr(err, "wav: truncated header: stream ends at byte %d before the data chunk", off+int64(n))
		}
		id, size := string(ch[:4]), binary.LittleEndian.Uint32(ch[4:])
		at := off
		off += 8
		switch id {
		case "fmt ":
			if size < 16 {
				return nil, unreadable("wav: fmt chunk at byte %d is %d bytes; want at least 16", at, size)
			}
			fmtLen, fmtAt = int(min(size, uint32(len(fmtChunk)))), at
			if n, err := io.ReadFull(br, fmtChunk[:fmtLen]); err != nil {
				return nil, readErr(err, "wav: truncated header: fmt chunk at byte %d claims %d bytes, stream ends after %d", at, size, n)
			}
			off += int64(fmtLen)
			if err := skip(br, int64(size)-int64(fmtLen)+int64(size&1), &off, at, id, size); err != nil {
				return nil, err
			}
		case "ds64":
			var d [16]byte
			k := int(min(size, 16))
			if n, err := io.ReadFull(br, d[:k]); err != nil {
				return nil, readErr(err, "wav: truncated header: ds64 chunk at byte %d claims %d bytes, stream ends after %d", at, size, n)
			}
			off += int64(k)
			if k == 16 {
				if v := binary.LittleEndian.Uint64(d[8:]); v < 1<<62 {
					ds64Data = int64(v)
				}
			}
			if err := skip(br, int64(size)-int64(k)+int64(size&1), &off, at, id, size); err != nil {
				return nil, err
			}
		case "data":
			if fmtLen == 0 {
				return nil, unreadable("wav: data chunk at byte %d comes before any fmt chunk", at)
			}
			declared := int64(size)
			switch {
			case rf64 && size == sizeToEnd && ds64Data >= 0:
				declared = ds64Data
			case size == 0 || size == sizeToEnd:
				declared = -1
			}
			w, err := parseFmt(fmtChunk[:fmtLen], fmtAt)
			if err != nil {
				return nil, err
			}
			dec := w.dec
			if w.codec == "gsm_ms" {
				g, err := newGSM(true)
				if err != nil {
					return nil, err
				}
				dec = g
			}
			f := Format{Container: "wav", Codec: w.codec, SampleRate: w.rate, Channels: w.channels}
			return newBlockStream("wav", br, f, dec, w.blockBytes, w.blockSamples, off, declared), nil
		default:
			if err := skip(br, int64(size)+int64(size&1), &off, at, id, size); err != nil {
				return nil, err
			}
		}
	}
}

// skip discards n bytes of a chunk through a fixed buffer, however large the chunk claims
// to be: a lying size costs reading to the end of the stream, never memory.
func skip(br *bufio.Reader, n int64, off *int64, at int64, id string, size uint32) error {
	if n <= 0 {
		return nil
	}
	got, err := br.Discard(int(min(n, 1<<30)))
	for err == nil && int64(got) < n {
		var k int
		k, err = br.Discard(int(min(n-int64(got), 1<<30)))
		got += k
	}
	*off += int64(got)
	if err != nil {
		return readErr(err, "wav: truncated: %s chunk at byte %d claims %d bytes, stream ends at byte %d",
			printable(id), at, size, *off)
	}
	return nil
}

// printable quotes a chunk id for a message without letting control bytes through.
func printable(id string) string {
	b := []byte(id)
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return fmt.Sprintf("%q", bytes.TrimRight(b, " "))
}

// wavFmt is what a fmt chunk says about the data.
type wavFmt struct {
	codec        string
	rate         int
	channels     int
	dec          blockDecoder // nil for GSM, which needs a decoder per stream
	blockBytes   int
	blockSamples int
}

// parseFmt reads a fmt chunk (at byte at of the stream) and checks it is consistent.
func parseFmt(b []byte, at int64) (wavFmt, error) {
	tag := binary.LittleEndian.Uint16(b[0:])
	channels := int(binary.LittleEndian.Uint16(b[2:]))
	rate := binary.LittleEndian.Uint32(b[4:])
	blockAlign := int(binary.LittleEndian.Uint16(b[12:]))
	bits := int(binary.LittleEndian.Uint16(b[14:]))
	if tag == wavTagExtensible {
		if len(b) < 40 {
			return wavFmt{}, unreadable("wav: extensible fmt chunk at byte %d is %d bytes; want 40", at, len(b))
		}
		// The sub-format GUID starts with the classic tag; the rest must be the base GUID.
		tag = binary.LittleEndian.Uint16(b[24:])
		if [14]byte(b[26:40]) != ksdataformatBase {
			return wavFmt{}, unreadable("wav: extensible fmt chunk at byte %d has sub-format GUID % x, not a known encoding", at, b[24:40])
		}
	}
	name := wavTagNames[tag]
	if name == "" {
		name = "unknown"
	}
	switch {
	case channels == 0:
		return wavFmt{}, unreadable("wav: fmt chunk at byte %d says 0 channels", at)
	case channels > MaxChannels:
		return wavFmt{}, unreadable("wav: fmt chunk at byte %d says %d channels; at most %d are supported", at, channels, MaxChannels)
	case rate < MinSampleRate || rate > MaxSampleRate:
		return wavFmt{}, unreadable("wav: fmt chunk at byte %d says sample rate %d Hz; want %d to %d", at, rate, MinSampleRate, MaxSampleRate)
	}
	w := wavFmt{rate: int(rate), channels: channels}
	if tag == wavTagGSM {
		// Microsoft's GSM 6.10 (Asterisk's wav49): 65-byte blocks of two frames, 320
		// samples, mono only (as sox has it).
		switch {
		case channels != 1:
			return wavFmt{}, unreadable("wav: fmt chunk at byte %d says GSM 6.10 with %d channels; only mono is supported", at, channels)
		case blockAlign != gsmWAV49BlockBytes:
			return wavFmt{}, unreadable("wav: fmt chunk at byte %d says block align %d; want %d for GSM 6.10", at, blockAlign, gsmWAV49BlockBytes)
		}
		w.codec, w.blockBytes, w.blockSamples = "gsm_ms", gsmWAV49BlockBytes, gsmWAV49BlockSamples
		return w, nil
	}
	enc, ok := wavEncodings[wavKey{tag, bits}]
	if !ok {
		return wavFmt{}, unreadable("wav: %s encoding (format tag 0x%04x, %d-bit) in the fmt chunk at byte %d is not supported", name, tag, bits, at)
	}
	if want := channels * enc.bytes; blockAlign != want {
		return wavFmt{}, unreadable("wav: fmt chunk at byte %d says block align %d; want %d for %d channels of %d-bit samples",
			at, blockAlign, want, channels, bits)
	}
	w.codec, w.dec, w.blockBytes, w.blockSamples = enc.codec, enc.decode, blockAlign, channels
	return w, nil
}
