// Package audio owns telephony audio in and PCM out: it sniffs a recording's format from
// its bytes, decodes it as a stream (WAV 16-bit PCM; MP3, MPEG-1, 2 and 2.5 Layer III,
// through libmpg123), splits the channels and resamples them with a band-limited filter
// for the recogniser.
//
// It never buffers a whole call, never allocates a size read from a header without a
// bound, never trusts a file name or content type, and never writes audio anywhere: what
// comes in as an io.Reader leaves as io.Readers. Input it cannot decode is reported as a
// *callscribe.Error with code EUNREADABLE and a message that says what is wrong.
package audio

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"callscribe"
)

// Format describes a decoded stream.
type Format struct {
	Container  string // "wav", "mp3"
	Codec      string // "pcm_s16le", "mp3"
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

// Decoder is a streaming decoder of one recording. It is not safe for concurrent use.
type Decoder struct {
	c   codec
	f   Format
	err error // sticky: once set, every Read returns it
}

// Open sniffs the format from the bytes (never a file name or content type) and returns a
// streaming decoder. Unreadable input yields a *callscribe.Error with code
// callscribe.EUNREADABLE and a message naming what is wrong.
func Open(r io.Reader) (*Decoder, error) {
	br := bufio.NewReaderSize(r, 16<<10)
	head, err := br.Peek(sniffLen)
	if len(head) == 0 {
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("audio: read input: %w", err)
		}
		return nil, callscribe.Errorf(callscribe.EUNREADABLE, "audio: input is empty")
	}
	for _, f := range formats {
		if !f.match(head) {
			continue
		}
		c, err := f.open(br)
		if err != nil {
			return nil, err
		}
		return &Decoder{c: c, f: c.format()}, nil
	}
	return nil, callscribe.Errorf(callscribe.EUNREADABLE,
		"unknown format: first bytes are not RIFF/WAVE or MPEG audio (% x)", head[:min(len(head), 4)])
}

// Format returns what Open found.
func (d *Decoder) Format() Format { return d.f }

// Read fills p with interleaved int16 samples (whole frames) and returns io.EOF at the end.
// A truncated stream returns what was decoded and then an EUNREADABLE error saying so.
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
	n, err := d.c.read(p)
	if err != nil {
		d.err = err
		if n > 0 {
			return n, nil // hand over what was decoded; the error comes next call
		}
	}
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

// unreadable returns an EUNREADABLE application error with a formatted message.
func unreadable(format string, args ...any) error {
	return callscribe.Errorf(callscribe.EUNREADABLE, format, args...)
}

// readErr turns an error from the underlying reader into the decoder's error: a short
// stream is unreadable (truncated, described by format), anything else is the reader's own
// failure, returned wrapped so the caller classifies it (a stage that cannot decrypt, a
// cancelled request), since the bytes were not shown to be bad.
func readErr(err error, format string, args ...any) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return unreadable(format, args...)
	}
	return fmt.Errorf("audio: read input: %w", err)
}
