package audio

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// This is a small streaming RIFF/WAVE reader of our own rather than go-audio/wav: that one
// allocates whatever size a LIST chunk claims and wants a seekable file. Here every chunk
// we do not need is skipped by reading it through a fixed buffer, the fmt chunk is read
// into a fixed array, and the data chunk is decoded as it streams by.

const (
	wavTagPCM        = 0x0001
	wavTagExtensible = 0xFFFE
	// sizeToEnd is what streaming writers put in a data chunk's size when they do not know
	// it (as does RF64, whose real size is in ds64): the data runs to the end of the stream.
	sizeToEnd = 0xFFFFFFFF
)

// wavEncoding decodes one sample encoding of a WAV data chunk. A later codec (G.711,
// float, 24-bit) is one more row in wavEncodings.
type wavEncoding struct {
	codec  string
	decode func(dst []int16, src []byte) // len(src) == len(dst) * bytes per sample
}

type wavKey struct {
	tag  uint16
	bits int
}

var wavEncodings = map[wavKey]wavEncoding{
	{wavTagPCM, 16}: {codec: "pcm_s16le", decode: decodeS16LE},
}

// wavTagNames name the encodings we recognise but do not decode yet, for the error message.
var wavTagNames = map[uint16]string{
	0x0001: "PCM",
	0x0002: "MS ADPCM",
	0x0003: "IEEE float",
	0x0006: "A-law",
	0x0007: "µ-law",
	0x0011: "IMA ADPCM",
	0x0031: "GSM 6.10",
	0x0055: "MP3",
}

func decodeS16LE(dst []int16, src []byte) {
	for i := range dst {
		dst[i] = int16(binary.LittleEndian.Uint16(src[2*i:]))
	}
}

func matchWAV(head []byte) bool {
	if len(head) < 12 {
		// Too short to be a WAV file, but if it starts like one, say what is wrong with it
		// rather than calling it an unknown format.
		return len(head) >= 4 && (string(head[:4]) == "RIFF" || string(head[:4]) == "RF64")
	}
	return (string(head[:4]) == "RIFF" || string(head[:4]) == "RF64") && string(head[8:12]) == "WAVE"
}

type wavDecoder struct {
	r          *bufio.Reader
	f          Format
	enc        wavEncoding
	frameBytes int
	remaining  int64 // bytes of the data chunk not yet read; -1 when it runs to the end
	declared   int64 // the data chunk's size as declared, -1 when it runs to the end
	dataAt     int64 // byte offset of the data chunk's first byte
	buf        []byte
}

// wavBufBytes bounds what one read of the data chunk holds in memory.
const wavBufBytes = 16 << 10

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
				return nil, unreadable("wav: fmt chunk is %d bytes; want at least 16", size)
			}
			fmtLen = int(min(size, uint32(len(fmtChunk))))
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
			d := &wavDecoder{r: br, dataAt: off, declared: int64(size)}
			switch {
			case rf64 && size == sizeToEnd && ds64Data >= 0:
				d.declared = ds64Data
			case size == 0 || size == sizeToEnd:
				d.declared = -1
			}
			d.remaining = d.declared
			if err := d.parseFmt(fmtChunk[:fmtLen]); err != nil {
				return nil, err
			}
			// Whole frames only, so a read never splits a frame across two buffers.
			d.buf = make([]byte, wavBufBytes/d.frameBytes*d.frameBytes)
			return d, nil
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

func (d *wavDecoder) parseFmt(b []byte) error {
	tag := binary.LittleEndian.Uint16(b[0:])
	channels := int(binary.LittleEndian.Uint16(b[2:]))
	rate := binary.LittleEndian.Uint32(b[4:])
	blockAlign := int(binary.LittleEndian.Uint16(b[12:]))
	bits := int(binary.LittleEndian.Uint16(b[14:]))
	if tag == wavTagExtensible {
		if len(b) < 40 {
			return unreadable("wav: extensible fmt chunk is %d bytes; want 40", len(b))
		}
		tag = binary.LittleEndian.Uint16(b[24:]) // the sub-format GUID starts with the tag
	}
	switch {
	case channels == 0:
		return unreadable("wav: fmt chunk says 0 channels")
	case channels > MaxChannels:
		return unreadable("wav: fmt chunk says %d channels; at most %d are supported", channels, MaxChannels)
	case rate < MinSampleRate || rate > MaxSampleRate:
		return unreadable("wav: fmt chunk says sample rate %d Hz; want %d to %d", rate, MinSampleRate, MaxSampleRate)
	}
	enc, ok := wavEncodings[wavKey{tag, bits}]
	if !ok {
		name := wavTagNames[tag]
		if name == "" {
			name = "unknown"
		}
		return unreadable("wav: %s encoding (format tag 0x%04x, %d-bit) is not supported", name, tag, bits)
	}
	if want := channels * ((bits + 7) / 8); blockAlign != want {
		return unreadable("wav: fmt chunk says block align %d; want %d for %d channels of %d-bit samples",
			blockAlign, want, channels, bits)
	}
	d.enc = enc
	d.frameBytes = blockAlign
	d.f = Format{Container: "wav", Codec: enc.codec, SampleRate: int(rate), Channels: channels}
	return nil
}

func (d *wavDecoder) format() Format { return d.f }

func (d *wavDecoder) read(p []int16) (int, error) {
	if d.remaining > 0 && d.remaining < int64(d.frameBytes) {
		// A declared size that is not a whole number of frames: the tail cannot be a
		// sample of every channel, so it is dropped, as other decoders do.
		d.remaining = 0
	}
	if d.remaining == 0 {
		return 0, io.EOF
	}
	bps := d.frameBytes / d.f.Channels
	want := min(len(p)/d.f.Channels*d.frameBytes, len(d.buf))
	if d.remaining > 0 && int64(want) > d.remaining {
		want = int(d.remaining)
	}
	n, err := io.ReadFull(d.r, d.buf[:want])
	whole := n / d.frameBytes * d.frameBytes
	d.enc.decode(p[:whole/bps], d.buf[:whole])
	if d.remaining > 0 {
		d.remaining -= int64(n)
	}
	samples := whole / bps
	switch {
	case err == nil:
	case errors.Is(err, io.EOF) && d.declared < 0:
		d.remaining = 0
		return samples, io.EOF // the data ran to the end of the stream, as declared
	case errors.Is(err, io.ErrUnexpectedEOF) && d.declared < 0:
		if n%d.frameBytes != 0 {
			return samples, unreadable("wav: truncated: stream ends inside a %d-byte frame", d.frameBytes)
		}
		d.remaining = 0
		return samples, io.EOF
	default:
		got := d.declared - d.remaining
		return samples, readErr(err, "wav: truncated: data chunk at byte %d claims %d bytes, stream ends after %d",
			d.dataAt, d.declared, got)
	}
	return samples, nil
}
