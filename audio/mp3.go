package audio

/*
#cgo pkg-config: libmpg123
#include <mpg123.h>

#if MPG123_API_VERSION < 46
#error "libmpg123 1.27 or later is needed (mpg123_init is no longer called)"
#endif

// cs_mpg123_new opens a feed decoder whose output is fixed to signed 16-bit native-endian
// samples at rate Hz with channels channels (1 or 2), the stream's own: nothing is
// resampled or remixed, and the format cannot change under us. The framer hands it whole
// frames, so it need not read ahead to confirm a frame; it never prints.
static mpg123_handle *cs_mpg123_new(long rate, int channels, int *err) {
	mpg123_handle *mh = mpg123_new(NULL, err);
	if (mh == NULL)
		return NULL;
	if ((*err = mpg123_param(mh, MPG123_ADD_FLAGS,
			MPG123_QUIET | MPG123_GAPLESS | MPG123_NO_READAHEAD | MPG123_SKIP_ID3V2, 0)) != MPG123_OK
		|| (*err = mpg123_param(mh, MPG123_REMOVE_FLAGS, MPG123_AUTO_RESAMPLE, 0)) != MPG123_OK
		|| (*err = mpg123_format_none(mh)) != MPG123_OK
		|| (*err = mpg123_format(mh, rate, channels, MPG123_ENC_SIGNED_16)) != MPG123_OK
		|| (*err = mpg123_open_feed(mh)) != MPG123_OK) {
		mpg123_delete(mh);
		return NULL;
	}
	return mh;
}

enum { CS_FORMAT_CHANGED = -1000 };

// cs_mpg123_decode feeds in (when inlen > 0), then decodes into out until out is full
// (MPG123_OK) or the decoder needs more input (MPG123_NEED_MORE), in one cgo call. *done
// is the number of bytes written. The first frame announces its format; anything but the
// one allowed is CS_FORMAT_CHANGED.
static int cs_mpg123_decode(mpg123_handle *mh, const unsigned char *in, size_t inlen,
		unsigned char *out, size_t outcap, size_t *done, long rate, int channels) {
	*done = 0;
	if (inlen > 0) {
		int r = mpg123_feed(mh, in, inlen);
		if (r != MPG123_OK)
			return r;
	}
	for (;;) {
		size_t n = 0;
		int r = mpg123_read(mh, out + *done, outcap - *done, &n);
		*done += n;
		if (r == MPG123_NEW_FORMAT) {
			long grate;
			int gchannels, genc;
			if (mpg123_getformat(mh, &grate, &gchannels, &genc) != MPG123_OK
				|| grate != rate || gchannels != channels || genc != MPG123_ENC_SIGNED_16)
				return CS_FORMAT_CHANGED;
			continue;
		}
		if (r != MPG123_OK || *done == outcap)
			return r;
	}
}

static int cs_mpg123_errcode(mpg123_handle *mh) { return mpg123_errcode(mh); }
*/
import "C"

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync/atomic"
	"unsafe"

	"callscribe"
)

// MP3 is decoded by libmpg123 (the decoder of the mpg123 player) behind a framer of our
// own. The framer skips ID3v2 tags of any size by streaming past them, skips junk before
// the first frame, checks every frame header against the first, and hands libmpg123 whole
// frames only, in batches; so it can tell a truncated stream from a clean end, name the
// byte offset of a corrupt frame, and keep the rate and channel count fixed. libmpg123
// parses the Xing/Info frame itself and, where lame recorded its encoder delay and padding
// there, trims them (gapless): the samples line up with the audio that was encoded, where
// sox (libmad) adds a frame of silence for the Info frame and keeps the delay and padding.
// libmpg123's C memory is outside the Go heap and bounded per decoder; it is freed at the
// end of the stream, on an error, on Close, or by the garbage collector.

// mpegHeader is the part of an MPEG audio frame header the framer needs.
type mpegHeader struct {
	version   int // 1, 2, or 25 for MPEG-2.5
	layer     int // 1, 2, 3
	bitrate   int // bits per second; 0 for free format
	rate      int // Hz
	rateIndex int
	padding   int
	mono      bool
}

var (
	mpegRates = [4][3]int{ // by version bits, then rate index
		0: {11025, 12000, 8000}, // MPEG-2.5
		2: {22050, 24000, 16000},
		3: {44100, 48000, 32000},
	}
	layer3Kbps = [2][15]int{
		{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320}, // MPEG-1
		{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},     // MPEG-2 and 2.5
	}
)

// parseMPEGHeader decodes a frame header; ok is false when b cannot be one.
func parseMPEGHeader(b []byte) (h mpegHeader, ok bool) {
	if len(b) < 4 || b[0] != 0xFF || b[1]&0xE0 != 0xE0 {
		return h, false
	}
	vbits := int(b[1]>>3) & 3
	lbits := int(b[1]>>1) & 3
	brIndex := int(b[2] >> 4)
	h.rateIndex = int(b[2]>>2) & 3
	if vbits == 1 || lbits == 0 || brIndex == 15 || h.rateIndex == 3 || b[3]&3 == 2 {
		return h, false
	}
	h.version = [4]int{25, 0, 2, 1}[vbits]
	h.layer = 4 - lbits
	h.rate = mpegRates[vbits][h.rateIndex]
	h.padding = int(b[2]>>1) & 1
	h.mono = b[3]>>6 == 3
	if h.layer == 3 {
		h.bitrate = layer3Kbps[min(h.version-1, 1)][brIndex] * 1000
	} else if brIndex != 0 {
		h.bitrate = -1 // not decoded; only its presence matters for the error message
	}
	return h, true
}

// frameSize is the size in bytes of a Layer III frame, header included.
func (h mpegHeader) frameSize() int {
	if h.version == 1 {
		return 144*h.bitrate/h.rate + h.padding
	}
	return 72*h.bitrate/h.rate + h.padding
}

// samples is the number of samples per channel one Layer III frame decodes to.
func (h mpegHeader) samples() int {
	if h.version == 1 {
		return 1152
	}
	return 576
}

// sameStream says whether h can be a frame of the stream whose first frame is first.
func (h mpegHeader) sameStream(first mpegHeader) bool {
	return h.version == first.version && h.layer == first.layer && h.rateIndex == first.rateIndex &&
		h.mono == first.mono && h.bitrate > 0
}

func matchMP3(head []byte) bool {
	if len(head) >= 3 && string(head[:3]) == "ID3" {
		return true
	}
	_, ok := parseMPEGHeader(head)
	return ok
}

const (
	maxFrameBytes = 1441     // MPEG-1 Layer III, 320 kbit/s at 32 kHz, padded
	maxLeadJunk   = 64 << 10 // bytes tolerated between the ID3 tag and the first frame
	maxResync     = 8 << 10  // bytes tolerated between two frames before calling it corrupt
	// batchBytes is how much input is fed to libmpg123 per cgo call: whole frames, at
	// least one of the largest. Feeding one frame per call took about 10% more CPU time
	// on a 44.1 kHz stereo call (median of 3: 1.72 s against 1.55 s for 10 decodes of a
	// 3 MB file).
	batchBytes = 16 << 10
)

// mp3Framer reads whole, checked frames of one stream from r.
type mp3Framer struct {
	r     *bufio.Reader
	first mpegHeader
	off   int64 // input offset of the next byte not yet consumed
}

func (f *mp3Framer) discard(n int64) (int64, error) {
	var got int64
	for got < n {
		k, err := f.r.Discard(int(min(n-got, 1<<30)))
		got += int64(k)
		f.off += int64(k)
		if err != nil {
			return got, err
		}
	}
	return got, nil
}

// skipID3v2 skips one ID3v2 tag at the current offset, reading it through the bufio
// buffer whatever size it claims.
func (f *mp3Framer) skipID3v2() error {
	at := f.off
	var h [10]byte
	if n, err := io.ReadFull(f.r, h[:]); err != nil {
		f.off += int64(n)
		return readErr(err, "mp3: truncated: ID3v2 tag header at byte %d has %d of 10 bytes", at, n)
	}
	f.off += 10
	if h[6]|h[7]|h[8]|h[9] >= 0x80 {
		return unreadable("mp3: corrupt ID3v2 tag at byte %d: size is not syncsafe", at)
	}
	size := int64(h[6])<<21 | int64(h[7])<<14 | int64(h[8])<<7 | int64(h[9])
	if h[5]&0x10 != 0 {
		size += 10 // footer
	}
	if got, err := f.discard(size); err != nil {
		return readErr(err, "mp3: truncated: ID3v2 tag at byte %d claims %d bytes, stream ends after %d", at, size, got)
	}
	return nil
}

// next reads the next frame into dst (at least maxFrameBytes long) and returns its size
// and input offset. io.EOF means a clean end.
func (f *mp3Framer) next(dst []byte) (size int, at int64, err error) {
	junk := 0
	for {
		b, err := f.r.Peek(4)
		if len(b) < 4 {
			if err != nil && !errors.Is(err, io.EOF) {
				return 0, 0, readErr(err, "")
			}
			if len(b) > 0 && b[0] == 0xFF && junk == 0 {
				return 0, 0, truncated("mp3: truncated: stream ends inside a frame header at byte %d", f.off)
			}
			return 0, 0, io.EOF // nothing, or a few bytes of trailing junk
		}
		h, ok := parseMPEGHeader(b)
		if ok && h.sameStream(f.first) {
			size, at := h.frameSize(), f.off
			n, err := io.ReadFull(f.r, dst[:size])
			f.off += int64(n)
			if err != nil {
				return 0, 0, readErr(err, "mp3: truncated: frame at byte %d needs %d bytes, stream ends after %d", at, size, n)
			}
			return size, at, nil
		}
		if ok && junk == 0 && h.layer == 3 && h.bitrate > 0 && (h.rate != f.first.rate || h.mono != f.first.mono) {
			// Right where the next frame belongs: a stream stitched from two recordings.
			return 0, 0, unreadable("mp3: frame at byte %d changes the stream from %s to %s; one recording must keep one rate and channel count",
				f.off, f.first.describe(), h.describe())
		}
		switch {
		case junk == 0 && string(b[:3]) == "ID3": // a tag appended after the audio
			if err := f.skipID3v2(); err != nil {
				return 0, 0, err
			}
			continue
		case junk == 0 && string(b[:3]) == "TAG": // ID3v1: 128 bytes, always last
			if _, err := f.discard(128); err != nil {
				return 0, 0, io.EOF
			}
			continue
		}
		// Lost sync: look for the next frame a little further on. Trailing junk (APE or
		// Lyrics tags, a cut-off tail) ends the stream cleanly; junk in the middle that
		// goes on and on is corruption.
		if junk >= maxResync {
			return 0, 0, unreadable("mp3: corrupt frame at byte %d: no frame sync within %d bytes", f.off-int64(junk), junk)
		}
		if _, err := f.discard(1); err != nil {
			return 0, 0, io.EOF
		}
		junk++
	}
}

// describe names a header's rate and channels for error messages.
func (h mpegHeader) describe() string {
	if h.mono {
		return fmt.Sprintf("%d Hz mono", h.rate)
	}
	return fmt.Sprintf("%d Hz stereo", h.rate)
}

// findFirst skips the ID3v2 tags and any junk up to the first frame and returns its
// header, leaving the reader on it.
func (f *mp3Framer) findFirst() (mpegHeader, error) {
	for {
		b, _ := f.r.Peek(3)
		if string(b) != "ID3" {
			break
		}
		if err := f.skipID3v2(); err != nil {
			return mpegHeader{}, err
		}
	}
	// Writers pad tags with more zeros than they declare, and some put other junk before
	// the audio; a header found after junk counts only if the next frame follows it, so
	// that two bytes of noise that look like a header do not fix the stream's format.
	for lead := 0; ; lead++ {
		b, err := f.r.Peek(4)
		if h, ok := parseMPEGHeader(b); ok && (lead == 0 || f.confirmed(h)) {
			return h, nil
		}
		if len(b) < 4 {
			if err != nil && !errors.Is(err, io.EOF) {
				return mpegHeader{}, readErr(err, "")
			}
			return mpegHeader{}, unreadable("mp3: no MPEG audio frame in the stream (%d bytes after the tags)", lead)
		}
		if lead >= maxLeadJunk {
			return mpegHeader{}, unreadable("mp3: no MPEG audio frame within %d bytes after the ID3 tag", maxLeadJunk)
		}
		f.discard(1)
	}
}

// confirmed reports whether h, at the reader's position, is followed by a frame of the
// same stream (or by the end of the input).
func (f *mp3Framer) confirmed(h mpegHeader) bool {
	if h.layer != 3 || h.bitrate <= 0 {
		return false
	}
	size := h.frameSize()
	b, _ := f.r.Peek(size + 4)
	if len(b) <= size {
		return true // the input ends inside or right after it: nothing to check against
	}
	next, ok := parseMPEGHeader(b[size:])
	return len(b) < size+4 || ok && next.sameStream(h)
}

// mp3Decoder feeds the framer's frames to libmpg123.
type mp3Decoder struct {
	fr      *mp3Framer
	mh      *C.mpg123_handle // nil once freed
	cleanup runtime.Cleanup
	f       Format

	batch   []byte // frames read and not yet fed
	batchAt int64  // input offset of the first of them
	fedAt   int64  // input offsets of the batch most recently fed, for error messages
	fedEnd  int64
	end     error     // why the framer stopped (io.EOF for a clean end), once it has
	hungry  bool      // libmpg123 has decoded all it was fed
	length  mp3Length // what the stream's start says of its length (Duration)
}

func openMP3(br *bufio.Reader) (codec, error) {
	fr := &mp3Framer{r: br}
	first, err := fr.findFirst()
	if err != nil {
		return nil, err
	}
	switch {
	case first.layer != 3:
		return nil, unreadable("mp3: MPEG-%s Layer %s audio is not supported; only Layer III",
			first.versionName(), [4]string{"", "I", "II", "III"}[first.layer])
	case first.bitrate == 0:
		return nil, unreadable("mp3: free-format bitrate at byte %d is not supported", fr.off)
	}
	fr.first = first
	m := &mp3Decoder{fr: fr, batch: make([]byte, 0, batchBytes), hungry: true}
	m.f = Format{Container: "mp3", Codec: "mp3", SampleRate: first.rate, Channels: 2}
	if first.mono {
		m.f.Channels = 1
	}
	m.fill()
	if len(m.batch) == 0 {
		if errors.Is(m.end, io.EOF) {
			return nil, unreadable("mp3: no complete frame in the stream")
		}
		return nil, m.end
	}
	m.length = measureMP3(m.batch, m.batchAt, first)
	if isVBRI(m.batch) {
		// libmpg123 reads Xing/Info frames but not Fraunhofer's VBRI, which is metadata
		// shaped like a silent frame: decoding it would add silence the encoder never heard.
		size := first.frameSize()
		m.batch = m.batch[:copy(m.batch, m.batch[size:])]
		m.batchAt += int64(size)
	}
	var cerr C.int
	m.mh = C.cs_mpg123_new(C.long(m.f.SampleRate), C.int(m.f.Channels), &cerr)
	if m.mh == nil {
		return nil, fmt.Errorf("mp3: start libmpg123: %s", C.GoString(C.mpg123_plain_strerror(cerr)))
	}
	// A decoder dropped before the end of its stream (every channel reader closed, the
	// context cancelled) still frees its C memory.
	mpg123Handles.Add(1)
	m.cleanup = runtime.AddCleanup(m, deleteHandle, m.mh)
	return m, nil
}

// versionName is "1", "2" or "2.5".
func (h mpegHeader) versionName() string {
	if h.version == 25 {
		return "2.5"
	}
	return fmt.Sprint(h.version)
}

// isVBRI reports whether frame (header included) carries a VBRI header.
func isVBRI(frame []byte) bool {
	return len(frame) >= 40 && string(frame[36:40]) == "VBRI"
}

// fill reads frames into the batch until it is full or the framer stops.
func (m *mp3Decoder) fill() {
	m.batch = m.batch[:0]
	for m.end == nil && cap(m.batch)-len(m.batch) >= maxFrameBytes {
		n, at, err := m.fr.next(m.batch[len(m.batch):cap(m.batch)])
		if err != nil {
			m.end = err
			break
		}
		if len(m.batch) == 0 {
			m.batchAt = at
		}
		m.batch = m.batch[:len(m.batch)+n]
	}
}

func (m *mp3Decoder) format() Format { return m.f }

func (m *mp3Decoder) read(p []int16) (int, error) {
	if m.mh == nil {
		return 0, io.EOF // only after close; Decoder keeps the first error
	}
	out := 0
	for out < len(p) {
		var in []byte
		if m.hungry {
			if len(m.batch) == 0 && m.end == nil {
				m.fill()
			}
			if len(m.batch) == 0 {
				m.close()
				return out, m.end
			}
			in, m.fedAt, m.fedEnd = m.batch, m.batchAt, m.batchAt+int64(len(m.batch))
		}
		var done C.size_t
		var inp *C.uchar
		if len(in) > 0 {
			inp = (*C.uchar)(unsafe.Pointer(&in[0]))
		}
		r := C.cs_mpg123_decode(m.mh, inp, C.size_t(len(in)),
			(*C.uchar)(unsafe.Pointer(&p[out])), C.size_t(2*(len(p)-out)), &done,
			C.long(m.f.SampleRate), C.int(m.f.Channels))
		if len(in) > 0 {
			m.batch = m.batch[:0]
		}
		out += int(done) / 2
		switch r {
		case C.MPG123_OK:
			m.hungry = false
		case C.MPG123_NEED_MORE:
			m.hungry = true
		case C.CS_FORMAT_CHANGED:
			m.close()
			return out, unreadable("mp3: a frame between byte %d and %d changes the output format", m.fedAt, m.fedEnd)
		default:
			code := r
			if r == C.MPG123_ERR {
				code = C.cs_mpg123_errcode(m.mh)
			}
			m.close()
			return out, callscribe.Wrap(callscribe.EUNREADABLE,
				fmt.Errorf("libmpg123: %s", C.GoString(C.mpg123_plain_strerror(code))),
				"mp3: corrupt frame between byte %d and %d", m.fedAt, m.fedEnd)
		}
	}
	return out, nil
}

// close frees libmpg123's handle; the Decoder calls it early through Close.
func (m *mp3Decoder) close() {
	if m.mh != nil {
		m.cleanup.Stop()
		deleteHandle(m.mh)
		m.mh = nil
	}
}

// mpg123Handles counts the libmpg123 handles not yet freed, for the tests that prove
// none is left behind.
var mpg123Handles atomic.Int64

func deleteHandle(mh *C.mpg123_handle) {
	C.mpg123_delete(mh)
	mpg123Handles.Add(-1)
}
