package main

import (
	"flag"
	"io"
	"slices"
	"strings"

	"callscribe/audio"
)

// rawFlags are --raw, --rate and --channel-count: headerless audio (Asterisk's .raw/.sln,
// FreeSWITCH's .gsm, G.711 dumps) has nothing to sniff, so the user says what it is.
type rawFlags struct {
	encoding string
	rate     int
	channels int
	fs       *flag.FlagSet
}

func addRawFlags(fs *flag.FlagSet) *rawFlags {
	r := &rawFlags{fs: fs}
	fs.StringVar(&r.encoding, "raw", "", "headerless input in this encoding: "+strings.Join(audio.RawEncodings, "|"))
	fs.IntVar(&r.rate, "rate", 0, "sample rate of --raw input, Hz")
	fs.IntVar(&r.channels, "channel-count", 1, "interleaved channels of --raw input")
	return r
}

// format returns the raw format the flags give, nil when the input is to be sniffed. Call
// it after parsing.
func (r *rawFlags) format() (*audio.RawFormat, error) {
	set := map[string]bool{}
	r.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if r.encoding == "" {
		for _, name := range []string{"rate", "channel-count"} {
			if set[name] {
				return nil, usagef("--%s describes --raw input; without --raw the format is read from the file", name)
			}
		}
		return nil, nil
	}
	if !slices.Contains(audio.RawEncodings, r.encoding) {
		return nil, usagef("--raw %q: want one of %s", r.encoding, strings.Join(audio.RawEncodings, ", "))
	}
	if !set["rate"] {
		return nil, usagef("--raw %s needs --rate: headerless audio does not say its sample rate", r.encoding)
	}
	if r.rate < audio.MinSampleRate || r.rate > audio.MaxSampleRate {
		return nil, usagef("--rate %d: want %d to %d Hz", r.rate, audio.MinSampleRate, audio.MaxSampleRate)
	}
	if r.channels < 1 || r.channels > audio.MaxChannels {
		return nil, usagef("--channel-count %d: want 1 to %d", r.channels, audio.MaxChannels)
	}
	return &audio.RawFormat{Encoding: r.encoding, SampleRate: r.rate, Channels: r.channels}, nil
}

// openDecoder opens r as raw audio in format f, or sniffs its format when f is nil, within
// the limits lim (zero: none).
func openDecoder(r io.Reader, f *audio.RawFormat, lim audio.Limits) (*audio.Decoder, error) {
	if f != nil {
		return audio.OpenRawLimited(r, *f, lim)
	}
	return audio.OpenLimited(r, lim)
}
