package audio

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"math"
)

// Sample encodings shared by the containers (WAV, raw). Each decodes a whole buffer per
// call with a table or a shift per sample: no interface call, no allocation per sample.
// Rounding to 16 bits follows sox (round half up, clip), so our samples match its own.

// blockDecoder turns whole blocks of bytes into samples, as many blocks as it is given.
type blockDecoder interface {
	// decode decodes src (whole blocks) into dst (the samples of those blocks) and returns
	// how many samples it decoded: fewer only with an error about the block that failed.
	decode(dst []int16, src []byte) (int, error)
}

// sampleFunc is a stateless encoding of one sample in a fixed number of bytes.
type sampleFunc func(dst []int16, src []byte) // len(src) == len(dst) * bytes per sample

func (f sampleFunc) decode(dst []int16, src []byte) (int, error) {
	f(dst, src)
	return len(dst), nil
}

// sampleEncoding is a sample encoding by its codec name and width.
type sampleEncoding struct {
	codec  string
	bytes  int
	decode sampleFunc
}

var (
	encU8    = sampleEncoding{"pcm_u8", 1, decodeU8}
	encS16   = sampleEncoding{"pcm_s16le", 2, decodeS16LE}
	encS24   = sampleEncoding{"pcm_s24le", 3, decodeS24LE}
	encS32   = sampleEncoding{"pcm_s32le", 4, decodeS32LE}
	encF32   = sampleEncoding{"pcm_f32le", 4, decodeF32LE}
	encF64   = sampleEncoding{"pcm_f64le", 8, decodeF64LE}
	encMulaw = sampleEncoding{"pcm_mulaw", 1, decodeMulaw}
	encAlaw  = sampleEncoding{"pcm_alaw", 1, decodeAlaw}
)

func decodeU8(dst []int16, src []byte) {
	src = src[:len(dst)]
	for i, b := range src {
		dst[i] = int16(b-128) << 8 // two's complement of the offset value
	}
}

func decodeS16LE(dst []int16, src []byte) {
	src = src[:2*len(dst)]
	for i := range dst {
		dst[i] = int16(binary.LittleEndian.Uint16(src[2*i:]))
	}
}

// round32 rounds a 32-bit sample to 16 bits as sox does: half up, clipping the top.
func round32(v int32) int16 {
	if v >= math.MaxInt32-0x7FFF {
		return math.MaxInt16
	}
	return int16((v + 0x8000) >> 16)
}

func decodeS24LE(dst []int16, src []byte) {
	src = src[:3*len(dst)]
	for i := range dst {
		b := src[3*i : 3*i+3]
		v := int32(uint32(b[0])<<8 | uint32(b[1])<<16 | uint32(b[2])<<24)
		dst[i] = round32(v)
	}
}

func decodeS32LE(dst []int16, src []byte) {
	src = src[:4*len(dst)]
	for i := range dst {
		dst[i] = round32(int32(binary.LittleEndian.Uint32(src[4*i:])))
	}
}

// floatSample maps a float sample (full scale ±1) to 16 bits as sox does: scaled to 32
// bits with clipping, then rounded. NaN is silence.
func floatSample(x float64) int16 {
	v := x * 2147483648
	switch {
	case v >= math.MaxInt32:
		return math.MaxInt16
	case v <= math.MinInt32:
		return math.MinInt16
	case v != v: // NaN
		return 0
	}
	return round32(int32(v))
}

func decodeF32LE(dst []int16, src []byte) {
	src = src[:4*len(dst)]
	for i := range dst {
		dst[i] = floatSample(float64(math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))))
	}
}

func decodeF64LE(dst []int16, src []byte) {
	src = src[:8*len(dst)]
	for i := range dst {
		dst[i] = floatSample(math.Float64frombits(binary.LittleEndian.Uint64(src[8*i:])))
	}
}

// G.711 expansion tables, built once from the ITU-T G.711 segment formulas (as in the
// reference g711.c that sox and most telephony stacks carry).
var mulawTable, alawTable = g711Tables()

func g711Tables() (mu, a [256]int16) {
	for i := range 256 {
		u := ^byte(i)
		t := (int(u&0x0F) << 3) + 0x84
		t <<= (u & 0x70) >> 4
		if u&0x80 != 0 {
			mu[i] = int16(0x84 - t)
		} else {
			mu[i] = int16(t - 0x84)
		}

		v := byte(i) ^ 0x55
		t = int(v&0x0F) << 4
		switch seg := (v & 0x70) >> 4; seg {
		case 0:
			t += 8
		case 1:
			t += 0x108
		default:
			t += 0x108
			t <<= seg - 1
		}
		if v&0x80 != 0 {
			a[i] = int16(t)
		} else {
			a[i] = int16(-t)
		}
	}
	return mu, a
}

func decodeMulaw(dst []int16, src []byte) {
	src = src[:len(dst)]
	for i, b := range src {
		dst[i] = mulawTable[b]
	}
}

func decodeAlaw(dst []int16, src []byte) {
	src = src[:len(dst)]
	for i, b := range src {
		dst[i] = alawTable[b]
	}
}

// blockStream decodes a run of fixed-size blocks (a frame of PCM samples, a GSM block)
// from a reader through a fixed buffer: the data chunk of a WAV file, a raw stream. Its
// memory is fixed at open, whatever the stream's length.
type blockStream struct {
	name         string // "wav", "raw": the start of every message
	r            *bufio.Reader
	f            Format
	dec          blockDecoder
	blockBytes   int   // bytes of one block, all channels
	blockSamples int   // samples (interleaved) one block decodes to
	remaining    int64 // bytes of the data not yet read; -1 when it runs to the end
	declared     int64 // the data's size as declared, -1 when it runs to the end
	dataAt       int64 // byte offset of the data's first byte in the stream
	consumed     int64 // bytes of the data read so far
	buf          []byte
	spill        []int16 // one block's samples, when the caller's buffer holds less
	pending      []int16 // the part of spill not yet handed over
	later        error   // the error to return once pending is handed over
}

// streamBufBytes bounds what one read of the data holds in memory.
const streamBufBytes = 16 << 10

func newBlockStream(name string, r *bufio.Reader, f Format, dec blockDecoder, blockBytes, blockSamples int, dataAt, declared int64) *blockStream {
	s := &blockStream{
		name: name, r: r, f: f, dec: dec,
		blockBytes: blockBytes, blockSamples: blockSamples,
		remaining: declared, declared: declared, dataAt: dataAt,
	}
	// Whole blocks only, so a read never splits a block across two buffers.
	s.buf = make([]byte, max(1, streamBufBytes/blockBytes)*blockBytes)
	if blockSamples > f.Channels {
		s.spill = make([]int16, blockSamples)
	}
	return s
}

func (s *blockStream) format() Format { return s.f }

// close frees the block decoder's state, if it has any outside the Go heap.
func (s *blockStream) close() {
	if c, ok := s.dec.(interface{ close() }); ok {
		c.close()
	}
}

func (s *blockStream) read(p []int16) (int, error) {
	if len(s.pending) == 0 && s.later == nil && len(p) < s.blockSamples {
		n, err := s.readBlocks(s.spill)
		s.pending, s.later = s.spill[:n], err
	}
	if len(s.pending) > 0 || s.later != nil {
		n := copy(p, s.pending)
		s.pending = s.pending[n:]
		if len(s.pending) > 0 {
			return n, nil
		}
		err := s.later
		s.later = nil
		return n, err
	}
	return s.readBlocks(p)
}

// readBlocks reads and decodes as many whole blocks as p holds (at least one).
func (s *blockStream) readBlocks(p []int16) (int, error) {
	if s.remaining > 0 && s.remaining < int64(s.blockBytes) {
		// A declared size that is not a whole number of blocks: the tail cannot be
		// decoded (a sample of every channel, a whole GSM block), so it is dropped, as
		// other decoders do.
		s.remaining = 0
	}
	if s.remaining == 0 {
		return 0, io.EOF
	}
	want := min(len(p)/s.blockSamples*s.blockBytes, len(s.buf))
	if s.remaining > 0 && int64(want) > s.remaining {
		want = int(s.remaining) / s.blockBytes * s.blockBytes
	}
	n, err := io.ReadFull(s.r, s.buf[:want])
	at := s.dataAt + s.consumed
	s.consumed += int64(n)
	if s.remaining > 0 {
		s.remaining -= int64(n)
	}
	whole := n / s.blockBytes
	samples, derr := s.dec.decode(p[:whole*s.blockSamples], s.buf[:whole*s.blockBytes])
	if derr != nil {
		return samples, unreadable("%s: corrupt %s block at byte %d: %v", s.name, s.f.Codec,
			at+int64(samples/s.blockSamples*s.blockBytes), derr)
	}
	switch {
	case err == nil:
	case errors.Is(err, io.EOF) && s.declared < 0:
		s.remaining = 0
		return samples, io.EOF // the data ran to the end of the stream, as declared
	case errors.Is(err, io.ErrUnexpectedEOF) && s.declared < 0:
		if n%s.blockBytes != 0 {
			return samples, truncated("%s: truncated: stream ends inside a %d-byte %s at byte %d",
				s.name, s.blockBytes, s.unit(), s.dataAt+s.consumed)
		}
		s.remaining = 0
		return samples, io.EOF
	default:
		return samples, readErr(err, "%s: truncated: data chunk at byte %d claims %d bytes, stream ends after %d",
			s.name, s.dataAt, s.declared, s.consumed)
	}
	return samples, nil
}

// unit names what a block is, for messages.
func (s *blockStream) unit() string {
	if s.blockSamples == s.f.Channels {
		return "frame"
	}
	return "block"
}
