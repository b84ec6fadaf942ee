package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"callscribe"
	"callscribe/asr"
	"callscribe/audio"
)

const convertUsage = "usage: callscribe convert [--channel N] [--dither-seed N] [--raw s16|ulaw|alaw|gsm --rate HZ [--channel-count N]] IN OUT.wav"

// cmdConvert writes what the recogniser hears of one channel of a recording: 16 kHz,
// 16-bit mono PCM in a WAV file, decoded and resampled exactly as transcribe does it. It
// is a local tool for checking a problem file: it touches no database and no stage, and
// writes audio only to the OUT the user names.
//
// Without --channel it writes channel 0 and says on stderr how many channels there are:
// one pass over the input, one file out, the same with a pipe as with a file.
func cmdConvert(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("convert")
	channel := fs.Int("channel", -1, "channel to write, from 0 (default 0)")
	seed := fs.Uint64("dither-seed", audio.DefaultDitherSeed, "seed of the resampler's dither noise; the default is the one transcribe uses")
	raw := addRawFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef(convertUsage)
	}
	format, err := raw.format()
	if err != nil {
		return err
	}
	inName, outName := pos[0], pos[1]
	if *channel < -1 {
		return usagef("--channel %d: channels count from 0", *channel)
	}

	// Input problems are reported as transcribe reports them: the file, then what is wrong.
	fail := func(file string, err error) error {
		fmt.Fprintf(stderr, "callscribe convert: %s: %s\n", file, message(err))
		return &reportedError{exitCode(err)}
	}
	in, closeIn, err := openInput(inName, stdin)
	if inName == "-" {
		inName = "stdin"
	}
	if err != nil {
		return fail(inName, err)
	}
	defer closeIn()
	d, err := openDecoder(in, format, audio.Limits{}) // the user's own file, converted where they ask: no limits
	if err != nil {
		return fail(inName, err)
	}
	f := d.Format()
	ch := max(*channel, 0)
	if ch >= f.Channels {
		return fail(inName, callscribe.Errorf(callscribe.EINVALID, "has %d channel(s); --channel %d is not one of them (0 to %d)", f.Channels, ch, f.Channels-1))
	}
	pcm := audio.Channel(ctx, d, ch, asr.SampleRate, audio.WithDitherSeed(*seed))
	defer pcm.Close()

	out, closeOut, err := createOutput(outName, stdout)
	if outName == "-" {
		outName = "stdout"
	}
	if err != nil {
		return fail(outName, err)
	}
	n, werr, rerr := writeWAV(out, pcm, asr.SampleRate)
	if cerr := closeOut(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fail(outName, callscribe.Wrap(callscribe.EINTERNAL, werr, "cannot write: %v", werr))
	}
	secs := float64(n) / 2 / asr.SampleRate
	if rerr != nil {
		// What was decoded before the damage is in OUT, with a header that says so.
		fmt.Fprintf(stderr, "callscribe convert: %s: wrote the %.2f s before the error to %s\n", inName, secs, outName)
		return fail(inName, rerr)
	}
	note := ""
	switch {
	case *channel >= 0 || f.Channels == 1:
	case f.Channels == 2:
		note = "; --channel 1 for the other"
	default:
		note = fmt.Sprintf("; --channel 1 to %d for the others", f.Channels-1)
	}
	fmt.Fprintf(stderr, "callscribe convert: %s: channel %d of %d (%s %s, %d Hz) → %s: %.2f s, %d Hz 16-bit mono%s\n",
		inName, ch, f.Channels, f.Container, f.Codec, f.SampleRate, outName, secs, asr.SampleRate, note)
	return nil
}

// openInput opens a file to read, or standard input for "-".
func openInput(name string, stdin io.Reader) (io.Reader, func(), error) {
	if name == "-" {
		return stdin, func() {}, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, callscribe.Wrap(callscribe.EUNREADABLE, err, "cannot open: %v", unwrapPathError(err))
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, callscribe.Wrap(callscribe.EUNREADABLE, err, "cannot read: %v", unwrapPathError(err))
	}
	if st.IsDir() {
		f.Close()
		return nil, nil, callscribe.Errorf(callscribe.EUNREADABLE, "is a directory, not an audio file")
	}
	return f, func() { f.Close() }, nil
}

// createOutput creates the file to write, or takes standard output for "-".
func createOutput(name string, stdout io.Writer) (io.Writer, func() error, error) {
	if name == "-" {
		return stdout, func() error { return nil }, nil
	}
	f, err := os.Create(name)
	if err != nil {
		return nil, nil, callscribe.Wrap(callscribe.EINVALID, err, "cannot create: %v", unwrapPathError(err))
	}
	return f, f.Close, nil
}

// writeWAV writes a 16-bit mono PCM WAV of pcm at rate to w, streaming. The header is
// written first with the sizes unknown (0xFFFFFFFF, "to the end of the stream", as
// streaming writers do); when w is a regular file it is rewritten with the real sizes at
// the end. It returns the PCM bytes written, the error writing w and the error reading pcm.
func writeWAV(w io.Writer, pcm io.Reader, rate int) (n int64, werr, rerr error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := bw.Write(audio.WAVHeader(rate, 1, -1)); err != nil {
		return 0, err, nil
	}
	n, err := io.Copy(bw, readErrTag{pcm})
	var tagged readErrTagged
	if errors.As(err, &tagged) {
		rerr, err = tagged.err, nil
	}
	if err != nil {
		return n, err, rerr
	}
	if err := bw.Flush(); err != nil {
		return n, err, rerr
	}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			if _, err := f.WriteAt(audio.WAVHeader(rate, 1, n), 0); err != nil {
				return n, err, rerr
			}
		}
	}
	return n, nil, rerr
}

// readErrTag marks errors from reading the PCM, so writeWAV tells them from write errors.
type readErrTag struct{ r io.Reader }

type readErrTagged struct{ err error }

func (e readErrTagged) Error() string { return e.err.Error() }

func (t readErrTag) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF {
		err = readErrTagged{err}
	}
	return n, err
}
