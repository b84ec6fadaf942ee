// Package audio owns telephony audio in and PCM out: it sniffs a recording's format from
// its bytes, decodes it as a stream, splits the channels and resamples them with a
// band-limited filter for the recogniser. It decodes:
//
//   - WAV (RIFF, RF64, WAVE_FORMAT_EXTENSIBLE): PCM 8-bit unsigned, 16, 24 and 32-bit;
//     IEEE float 32 and 64-bit; G.711 µ-law and A-law; GSM 6.10 in Microsoft's framing
//     (format tag 0x31, Asterisk's wav49, mono), through libgsm;
//   - MP3: MPEG-1, 2 and 2.5 Layer III, through libmpg123;
//   - headerless audio whose format the caller states (OpenRaw): 16-bit PCM, µ-law, A-law
//     and plain GSM 6.10 frames (FreeSWITCH's .gsm).
//
// Wider samples are rounded to 16 bits as sox rounds them (tests compare with sox).
//
// It never buffers a whole call, never allocates a size read from a header without a
// bound, never trusts a file name or content type, and never writes audio anywhere: what
// comes in as an io.Reader leaves as io.Readers. Input it cannot decode is reported as a
// *callscribe.Error with code EUNREADABLE and a message that says what is wrong; input
// beyond the caller's Limits (bytes, duration, deadline) as one with code ETOOLARGE.
package audio

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"time"

	"callscribe"
)

// Format describes a decoded stream.
type Format struct {
	Container string // "wav", "mp3", "raw"
	// Codec is named as ffmpeg names it: "pcm_u8", "pcm_s16le", "pcm_s24le", "pcm_s32le",
	// "pcm_f32le", "pcm_f64le", "pcm_mulaw", "pcm_alaw", "gsm_ms" (wav49), "gsm", "mp3".
	Codec      string
	SampleRate int
	Channels   int
}

// Limits every codec enforces on what a header may claim.
const (
	MinSampleRate = 1000
	MaxSampleRate = 384000
	MaxChannels   = 8
)

// codec is what each container/codec pair implements; Decoder adds the shared rules
// (whole frames, sticky errors) on top. A new codec is a new codec plus a row in formats.
type codec interface {
	format() Format
	// read fills p with interleaved samples, whole frames only, and returns io.EOF at a
	// clean end or an EUNREADABLE error. len(p) is at least one frame.
	read(p []int16) (int, error)
}

// sniffLen is how many leading bytes the sniffers look at.
const sniffLen = 12

// formats is the sniffing table: the first row whose match accepts the leading bytes opens
// the stream. Rows are tried in order, so put the most specific magic first.
var formats = []struct {
	name  string
	match func(head []byte) bool
	open  func(br *bufio.Reader) (codec, error)
}{
	{"wav", matchWAV, openWAV},
	{"mp3", matchMP3, openMP3},
}

// Limits bound what one decoder may consume. A zero field is no limit.
type Limits struct {
	MaxInputBytes int64            // bytes read from the input, headers included
	MaxDuration   time.Duration    // audio decoded, at the stream's own rate
	Deadline      time.Time        // wall-clock time by which decoding must be done
	Now           func() time.Time // the clock for Deadline; time.Now when nil
}

// Decoder is a streaming decoder of one recording. It is not safe for concurrent use.
type Decoder struct {
	c         codec
	f         Format
	in        *limitedReader
	maxFrames int64 // -1: no cap
	maxDur    time.Duration
	frames    int64 // frames handed out so far
	err       error // sticky: once set, every Read returns it
}

// Open sniffs the format from the bytes (never a file name or content type) and returns a
// streaming decoder. Unreadable input yields a *callscribe.Error with code
// callscribe.EUNREADABLE and a message naming what is wrong.
func Open(r io.Reader) (*Decoder, error) {
	return OpenLimited(r, Limits{})
}

// OpenLimited is Open with limits: crossing one fails Open or Read with a
// *callscribe.Error of code ETOOLARGE naming the limit, after the audio decoded within it.
func OpenLimited(r io.Reader, l Limits) (*Decoder, error) {
	return openWith(r, l, sniff)
}

// sniff picks the codec by the leading bytes.
func sniff(br *bufio.Reader) (codec, error) {
	head, err := br.Peek(sniffLen)
	if len(head) == 0 {
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("audio: read input: %w", err)
		}
		return nil, callscribe.Errorf(callscribe.EUNREADABLE, "audio: input is empty")
	}
	for _, f := range formats {
		if f.match(head) {
			return f.open(br)
		}
	}
	return nil, callscribe.Errorf(callscribe.EUNREADABLE,
		"unknown format: first bytes are not RIFF/WAVE or MPEG audio (% x)", head[:min(len(head), 4)])
}

// openWith opens a codec on r under the limits l. The limits live here, not in the
// codecs: the input is counted and timed below the codec, the audio counted above it.
func openWith(r io.Reader, l Limits, open func(*bufio.Reader) (codec, error)) (*Decoder, error) {
	in := &limitedReader{r: r, max: l.MaxInputBytes, left: l.MaxInputBytes, deadline: l.Deadline, now: l.Now}
	if in.now == nil {
		in.now = time.Now
	}
	c, err := open(bufio.NewReaderSize(in, 16<<10))
	if err != nil {
		if in.err != nil {
			return nil, in.err // a limit is what went wrong, whatever the codec made of it
		}
		return nil, err
	}
	d := &Decoder{c: c, f: c.format(), in: in, maxFrames: -1, maxDur: l.MaxDuration}
	if l.MaxDuration > 0 {
		rate := int64(d.f.SampleRate)
		d.maxFrames = int64(l.MaxDuration/time.Second)*rate +
			int64(l.MaxDuration%time.Second)*rate/int64(time.Second)
	}
	return d, nil
}

// Format returns what Open found.
func (d *Decoder) Format() Format { return d.f }

// Read fills p with interleaved int16 samples (whole frames) and returns io.EOF at the end.
// A truncated stream returns what was decoded and then an EUNREADABLE error saying so,
// marked ErrTruncated.
// p must hold at least one frame (Format().Channels samples).
func (d *Decoder) Read(p []int16) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	ch := d.f.Channels
	p = p[:len(p)/ch*ch]
	if len(p) == 0 {
		return 0, io.ErrShortBuffer
	}
	if err := d.in.checkDeadline(); err != nil {
		d.stop(err)
		return 0, err
	}
	n, err := d.c.read(p)
	if err != nil && d.in.err != nil {
		err = d.in.err
	}
	if d.maxFrames >= 0 {
		if left := d.maxFrames - d.frames; int64(n/ch) > left {
			n = int(left) * ch
			err = callscribe.Errorf(callscribe.ETOOLARGE, "audio: longer than the %v limit on duration", d.maxDur)
		}
		d.frames += int64(n / ch)
	}
	if err != nil {
		d.stop(err)
		if n > 0 {
			return n, nil // hand over what was decoded; the error comes next call
		}
	}
	return n, err
}

// stop makes err the decoder's last word and lets the codec free what it holds outside the
// Go heap (libgsm's state, libmpg123's handle) now, not when the garbage collector runs: a limit may stop a
// stream long before its end.
func (d *Decoder) stop(err error) {
	d.err = err
	if c, ok := d.c.(closer); ok {
		c.close()
	}
}

// limitedReader enforces the input limits under the codec's buffered reader.
type limitedReader struct {
	r        io.Reader
	max      int64 // 0: no limit
	left     int64
	deadline time.Time
	now      func() time.Time
	err      error // the limit crossed, once one is
}

func (l *limitedReader) checkDeadline() error {
	if l.err == nil && !l.deadline.IsZero() && !l.now().Before(l.deadline) {
		l.err = callscribe.Errorf(callscribe.ETOOLARGE,
			"audio: decoding did not finish by its deadline (%s)", l.deadline.UTC().Format(time.RFC3339))
	}
	return l.err
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if err := l.checkDeadline(); err != nil {
		return 0, err
	}
	if l.max > 0 {
		if l.left <= 0 {
			// At the limit: the input is too large only if there is more of it.
			var one [1]byte
			if n, err := io.ReadAtLeast(l.r, one[:], 1); n == 0 {
				return 0, err
			}
			l.err = callscribe.Errorf(callscribe.ETOOLARGE, "audio: input is larger than the %d-byte limit", l.max)
			return 0, l.err
		}
		p = p[:min(int64(len(p)), l.left)]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// closer is implemented by codecs that hold memory outside the Go heap.
type closer interface{ close() }

// Close frees what the decoder holds outside the Go heap (the MP3 decoder's C state) when
// the stream is not read to its end; reading to io.EOF or an error frees it too, and so
// does the garbage collector for a decoder dropped unread. Not concurrently with Read:
// a decoder handed to Channels belongs to its goroutine.
func (d *Decoder) Close() error {
	if c, ok := d.c.(closer); ok {
		c.close()
	}
	if d.err == nil {
		d.err = callscribe.Errorf(callscribe.EINVALID, "audio: decoder is closed")
	}
	return nil
}

// ErrTruncated is in the chain (errors.Is) of the EUNREADABLE error of a stream that
// ends before its header or its last frame said it would: the audio decoded before the
// error is sound, and a caller may keep it.
var ErrTruncated = errors.New("audio: the stream was cut short")

// truncated returns an EUNREADABLE application error, marked ErrTruncated, with a
// formatted message.
func truncated(format string, args ...any) error {
	return callscribe.Wrap(callscribe.EUNREADABLE, ErrTruncated, format, args...)
}

// unreadable returns an EUNREADABLE application error with a formatted message.
func unreadable(format string, args ...any) error {
	return callscribe.Errorf(callscribe.EUNREADABLE, format, args...)
}

// readErr turns an error from the underlying reader into the decoder's error: a short
// stream is unreadable and truncated (ErrTruncated, described by format), anything else is the reader's own
// failure, returned wrapped so the caller classifies it (a stage that cannot decrypt, a
// cancelled request), since the bytes were not shown to be bad.
func readErr(err error, format string, args ...any) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return truncated(format, args...)
	}
	return fmt.Errorf("audio: read input: %w", err)
}
