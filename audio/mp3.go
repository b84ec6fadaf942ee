package audio

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/hajimehoshi/go-mp3"

	"callscribe"
)

// MP3 is decoded by go-mp3 behind a framer of our own. The framer skips ID3v2 tags
// without allocating their claimed size (go-mp3 would), checks every frame header against
// the first, hands go-mp3 whole frames only, and so can tell a truncated stream (go-mp3
// reports it as a clean end) and name the byte offset of a corrupt frame. go-mp3 always
// writes 16-bit stereo; a mono stream (channel mode 0b11) is returned as its left channel.

// mpegHeader is the part of an MPEG audio frame header the framer needs.
type mpegHeader struct {
	version   int // 1, 2, or 25 for MPEG-2.5
	layer     int // 1, 2, 3
	bitrate   int // bits per second; 0 for free format
	rate      int // Hz
	rateIndex int
	padding   int
	crc       bool
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
	h.crc = b[1]&1 == 0
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

// goMP3Size is the frame size go-mp3 v0.3.4 computes. For padded MPEG-2 frames it halves
// after adding the padding byte, so at 22050 Hz it is one byte short at most bitrates and
// every later frame's bit reservoir is misaligned: the audio comes out as noise. The framer
// refuses such frames rather than hand the recogniser noise.
func (h mpegHeader) goMP3Size() int {
	if h.version == 1 {
		return 144*h.bitrate/h.rate + h.padding
	}
	return (144*h.bitrate/h.rate + h.padding) >> 1
}

// samples is the number of samples per channel one Layer III frame decodes to.
func (h mpegHeader) samples() int {
	if h.version == 1 {
		return 1152
	}
	return 576
}

// sideInfoSize is the size of the side information that follows the header (and CRC).
func (h mpegHeader) sideInfoSize() int {
	switch {
	case h.version == 1 && h.mono:
		return 17
	case h.version == 1:
		return 32
	case h.mono:
		return 9
	default:
		return 17
	}
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
)

// mp3Framer is the io.Reader go-mp3 reads: whole, checked frames, then io.EOF. Why it
// stopped (nil for a clean end) is in err.
type mp3Framer struct {
	r       *bufio.Reader
	first   mpegHeader
	off     int64 // input offset of the next byte not yet consumed
	frameAt int64 // input offset of the frame most recently handed out
	frame   [maxFrameBytes]byte
	cur     []byte // the rest of that frame, not yet read by go-mp3
	err     error
	done    bool
}

func (f *mp3Framer) Read(p []byte) (int, error) {
	if len(f.cur) == 0 {
		if f.done {
			return 0, io.EOF
		}
		if err := f.next(); err != nil {
			f.done = true
			if !errors.Is(err, io.EOF) {
				f.err = err
			}
			return 0, io.EOF
		}
	}
	n := copy(p, f.cur)
	f.cur = f.cur[n:]
	return n, nil
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

// next loads the next frame into f.cur. io.EOF means a clean end.
func (f *mp3Framer) next() error {
	junk := 0
	for {
		b, err := f.r.Peek(4)
		if len(b) < 4 {
			if err != nil && !errors.Is(err, io.EOF) {
				return readErr(err, "")
			}
			if len(b) > 0 && b[0] == 0xFF && junk == 0 {
				return unreadable("mp3: truncated: stream ends inside a frame header at byte %d", f.off)
			}
			return io.EOF // nothing, or a few bytes of trailing junk
		}
		if h, ok := parseMPEGHeader(b); ok && h.sameStream(f.first) {
			size := h.frameSize()
			at := f.off
			if h.goMP3Size() != size {
				return unreadable("mp3: padded MPEG-2 frame at byte %d (%d Hz, %d kbit/s) is not supported: "+
					"the decoder misreads its length", at, h.rate, h.bitrate/1000)
			}
			n, err := io.ReadFull(f.r, f.frame[:size])
			f.off += int64(n)
			if err != nil {
				return readErr(err, "mp3: truncated: frame at byte %d needs %d bytes, stream ends after %d", at, size, n)
			}
			f.frameAt = at
			f.cur = f.frame[:size]
			return nil
		}
		switch {
		case junk == 0 && string(b[:3]) == "ID3": // a tag appended after the audio
			if err := f.skipID3v2(); err != nil {
				return err
			}
			continue
		case junk == 0 && string(b[:3]) == "TAG": // ID3v1: 128 bytes, always last
			if _, err := f.discard(128); err != nil {
				return io.EOF
			}
			continue
		}
		// Lost sync: look for the next frame a little further on. Trailing junk (APE or
		// Lyrics tags, a cut-off tail) ends the stream cleanly; junk in the middle that
		// goes on and on is corruption.
		if junk >= maxResync {
			return unreadable("mp3: corrupt frame at byte %d: no frame sync within %d bytes", f.off-int64(junk), junk)
		}
		if _, err := f.discard(1); err != nil {
			return io.EOF
		}
		junk++
	}
}

// mp3Decoder adapts go-mp3 to codec.
type mp3Decoder struct {
	fr  *mp3Framer
	d   *mp3.Decoder
	f   Format
	buf []byte
}

func openMP3(br *bufio.Reader) (codec, error) {
	fr := &mp3Framer{r: br}
	for {
		b, _ := br.Peek(3)
		if string(b) != "ID3" {
			break
		}
		if err := fr.skipID3v2(); err != nil {
			return nil, err
		}
	}
	// Some writers pad the tag with more zeros than it declares; look a little way on.
	var first mpegHeader
	for lead := 0; ; lead++ {
		b, err := br.Peek(4)
		if h, ok := parseMPEGHeader(b); ok {
			first = h
			break
		}
		if len(b) < 4 {
			if err != nil && !errors.Is(err, io.EOF) {
				return nil, readErr(err, "")
			}
			return nil, unreadable("mp3: no MPEG audio frame in the stream (%d bytes after the tags)", lead)
		}
		if lead >= maxLeadJunk {
			return nil, unreadable("mp3: no MPEG audio frame within %d bytes after the ID3 tag", maxLeadJunk)
		}
		fr.discard(1)
	}
	switch {
	case first.version == 25:
		return nil, unreadable("mp3: MPEG-2.5 audio (%d Hz) is not supported", first.rate)
	case first.layer != 3:
		return nil, unreadable("mp3: MPEG-%d Layer %s audio is not supported; only Layer III", first.version, [4]string{"", "I", "II", "III"}[first.layer])
	case first.bitrate == 0:
		return nil, unreadable("mp3: free-format bitrate at byte %d is not supported", fr.off)
	}
	fr.first = first
	if err := fr.next(); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, unreadable("mp3: no complete frame in the stream")
		}
		return nil, err
	}
	if isInfoFrame(first, fr.cur) {
		// The Xing/Info/VBRI frame is metadata shaped like a silent frame; decoding it
		// would add a frame of silence the encoder never heard.
		fr.cur = nil
	}
	m := &mp3Decoder{fr: fr, buf: make([]byte, 4*first.samples())}
	m.f = Format{Container: "mp3", Codec: "mp3", SampleRate: first.rate, Channels: 2}
	if first.mono {
		m.f.Channels = 1
	}
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = m.corrupt(fmt.Errorf("go-mp3 panicked: %v", r))
			}
		}()
		m.d, err = mp3.NewDecoder(fr)
	}()
	if err != nil {
		if fr.err != nil {
			return nil, fr.err
		}
		if errors.Is(err, io.EOF) {
			return nil, unreadable("mp3: no audio frame after the Xing/Info frame")
		}
		var ae *callscribe.Error
		if errors.As(err, &ae) {
			return nil, err
		}
		return nil, m.corrupt(err)
	}
	return m, nil
}

// isInfoFrame reports whether frame (header included) is a Xing, Info or VBRI header.
func isInfoFrame(h mpegHeader, frame []byte) bool {
	at := 4 + h.sideInfoSize()
	if h.crc {
		at += 2
	}
	if len(frame) >= at+4 {
		if tag := string(frame[at : at+4]); tag == "Xing" || tag == "Info" {
			return true
		}
	}
	return len(frame) >= 40 && string(frame[36:40]) == "VBRI"
}

func (m *mp3Decoder) corrupt(err error) error {
	return callscribe.Wrap(callscribe.EUNREADABLE, err, "mp3: corrupt frame at byte %d", m.fr.frameAt)
}

func (m *mp3Decoder) format() Format { return m.f }

// decode reads go-mp3's interleaved stereo bytes into b, turning its panics on corrupt
// input into an EUNREADABLE error.
func (m *mp3Decoder) decode(b []byte) (n int, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = m.corrupt(fmt.Errorf("go-mp3 panicked: %v", r))
		}
	}()
	for n < len(b) && err == nil {
		var k int
		k, err = m.d.Read(b[n:])
		n += k
	}
	return n, err
}

func (m *mp3Decoder) read(p []int16) (int, error) {
	frames := min(len(p)/m.f.Channels, len(m.buf)/4)
	n, err := m.decode(m.buf[:4*frames])
	frames = n / 4
	if m.f.Channels == 1 {
		for i := range frames {
			p[i] = int16(uint16(m.buf[4*i]) | uint16(m.buf[4*i+1])<<8)
		}
	} else {
		decodeS16LE(p[:2*frames], m.buf[:4*frames])
	}
	out := frames * m.f.Channels
	switch {
	case err == nil:
		return out, nil
	case errors.Is(err, io.EOF):
		if m.fr.err != nil {
			return out, m.fr.err
		}
		return out, io.EOF
	default:
		var ae *callscribe.Error
		if errors.As(err, &ae) {
			return out, err
		}
		return out, m.corrupt(err)
	}
}
