package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"callscribe/internal/testcall"
)

// BenchmarkDecodeWAV measures decoding alone (no resampling), per encoding, on 30 s of
// 8 kHz stereo: MB/s is of the encoded input, x_realtime how many seconds of audio one
// second of decoding turns out. GSM is sox's encoding of a 30 s mono sweep.
func BenchmarkDecodeWAV(b *testing.B) {
	const secs, rate = 30, 8000
	tone := sine(secs*rate*2, 440, rate, 20000)
	type input struct {
		name  string
		data  []byte
		audio float64 // seconds
	}
	var inputs []input
	for _, e := range seedEncodings {
		inputs = append(inputs, input{e.name, encodedWAV(e.tag, e.bits, 2, rate, tone, false), secs})
	}
	dir := b.TempDir()
	gsm := filepath.Join(dir, "sweep.wav")
	testcall.Require(b, "sox")
	run(b, "sox", "-n", "-r", "8000", "-c", "1", "-e", "gsm-full-rate", gsm, "synth", "30", "sine", "200:3000")
	data, err := os.ReadFile(gsm)
	if err != nil {
		b.Fatal(err)
	}
	inputs = append(inputs, input{"gsm", data, secs})
	raw := make([]byte, 2*len(tone))
	for i, s := range tone {
		binary.LittleEndian.PutUint16(raw[2*i:], uint16(s))
	}

	buf := make([]int16, 4096*2)
	decode := func(b *testing.B, open func() (*Decoder, error)) {
		d, err := open()
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, err := d.Read(buf)
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, in := range inputs {
		b.Run(in.name, func(b *testing.B) {
			b.SetBytes(int64(len(in.data)))
			start := time.Now()
			for b.Loop() {
				decode(b, func() (*Decoder, error) { return Open(bytes.NewReader(in.data)) })
			}
			b.ReportMetric(in.audio*float64(b.N)/time.Since(start).Seconds(), "x_realtime")
		})
	}
	b.Run("raw-s16", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		start := time.Now()
		for b.Loop() {
			decode(b, func() (*Decoder, error) { return OpenRaw(bytes.NewReader(raw), RawFormat{"s16", rate, 2}) })
		}
		b.ReportMetric(secs*float64(b.N)/time.Since(start).Seconds(), "x_realtime")
	})
}
