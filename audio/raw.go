package audio

import (
	"bufio"
	"io"
	"slices"

	"callscribe"
)

// RawFormat describes headerless audio: the caller says what it is.
type RawFormat struct {
	Encoding   string // "s16" (signed 16-bit little-endian), "ulaw", "alaw", "gsm"
	SampleRate int
	Channels   int // interleaved; Asterisk MixMonitor's stereo .raw
}

// RawEncodings are the encodings OpenRaw accepts.
var RawEncodings = []string{"s16", "ulaw", "alaw", "gsm"}

// OpenRaw returns a streaming decoder of headerless audio in format f. Nothing in the
// bytes can confirm f: a wrong format decodes to noise, not an error, except for GSM,
// whose frames carry a magic number. A format that is not valid is an EINVALID error naming
// the field. Raw GSM is the plain framing of 33-byte frames (FreeSWITCH's .gsm, sox -t gsm),
// mono at 8 kHz only. Sample rates are those of WAV: MinSampleRate to MaxSampleRate (the
// resampler handles any pair; the telephony and studio rates are the ones tested).
func OpenRaw(r io.Reader, f RawFormat) (*Decoder, error) {
	return OpenRawLimited(r, f, Limits{})
}

// OpenRawLimited is OpenRaw with limits on what decoding may consume.
func OpenRawLimited(r io.Reader, f RawFormat, l Limits) (*Decoder, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	return openWith(r, l, func(br *bufio.Reader) (codec, error) { return openRaw(br, f) })
}

func (f RawFormat) validate() error {
	invalid := func(format string, args ...any) error {
		return callscribe.Errorf(callscribe.EINVALID, "audio: raw format: "+format, args...)
	}
	switch {
	case !slices.Contains(RawEncodings, f.Encoding):
		return invalid("encoding %q is not one of s16, ulaw, alaw, gsm", f.Encoding)
	case f.SampleRate < MinSampleRate || f.SampleRate > MaxSampleRate:
		return invalid("sample rate %d Hz; want %d to %d", f.SampleRate, MinSampleRate, MaxSampleRate)
	case f.Channels < 1 || f.Channels > MaxChannels:
		return invalid("channels %d; want 1 to %d", f.Channels, MaxChannels)
	case f.Encoding == "gsm" && f.Channels != 1:
		return invalid("channels %d; GSM is mono only", f.Channels)
	case f.Encoding == "gsm" && f.SampleRate != 8000:
		// GSM 6.10 is defined at 8 kHz; another rate is a mistake in the caller's format.
		return invalid("sample rate %d Hz; GSM is 8000 Hz only", f.SampleRate)
	}
	return nil
}

func openRaw(br *bufio.Reader, f RawFormat) (codec, error) {
	var (
		enc sampleEncoding
		dec blockDecoder
	)
	switch f.Encoding {
	case "s16":
		enc = encS16
	case "ulaw":
		enc = encMulaw
	case "alaw":
		enc = encAlaw
	case "gsm":
		g, err := newGSM(false)
		if err != nil {
			return nil, err
		}
		format := Format{Container: "raw", Codec: "gsm", SampleRate: f.SampleRate, Channels: 1}
		return newBlockStream("raw", br, format, g, gsmFrameBytes, gsmFrameSamples, 0, -1), nil
	}
	dec = enc.decode
	format := Format{Container: "raw", Codec: enc.codec, SampleRate: f.SampleRate, Channels: f.Channels}
	return newBlockStream("raw", br, format, dec, enc.bytes*f.Channels, f.Channels, 0, -1), nil
}
