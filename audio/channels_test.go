package audio

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"callscribe"
)

// longWAV streams a generated 16-bit stereo WAV of the given length without holding it:
// a 440 Hz tone on the left, a 1 kHz tone on the right.
type longWAV struct {
	header []byte
	frames int64 // frames still to generate
	n      int64 // frames generated
	rate   float64
}

func newLongWAV(rate int, secs int) *longWAV {
	frames := int64(rate * secs)
	h := wavBytes(fmtChunk(1, 2, uint32(rate), 16, 4), chunk("data", uint32(frames*4), nil))
	return &longWAV{header: h, frames: frames, rate: float64(rate)}
}

func (w *longWAV) Read(p []byte) (int, error) {
	if len(w.header) > 0 {
		n := copy(p, w.header)
		w.header = w.header[n:]
		return n, nil
	}
	if w.frames == 0 {
		return 0, io.EOF
	}
	k := min(int64(len(p)/4), w.frames)
	for i := range k {
		t := float64(w.n+i) / w.rate
		binary.LittleEndian.PutUint16(p[4*i:], uint16(int16(8000*math.Sin(2*math.Pi*440*t))))
		binary.LittleEndian.PutUint16(p[4*i+2:], uint16(int16(8000*math.Sin(2*math.Pi*1000*t))))
	}
	w.n += k
	w.frames -= k
	return int(4 * k), nil
}

// TestChannelsMemoryFlat decodes a 10-minute stereo call through Channels and checks the
// heap stays small and what is allocated does not grow with the call's length.
func TestChannelsMemoryFlat(t *testing.T) {
	// Not parallel: it weighs the heap, which other tests would share.
	measure := func(secs int) (total uint64, peak uint64, outBytes [2]int64) {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		d, err := Open(newLongWAV(8000, secs))
		if err != nil {
			t.Fatal(err)
		}
		rs := Channels(context.Background(), d, 16000)
		var wg sync.WaitGroup
		for i, r := range rs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := io.Copy(io.Discard, r)
				if err != nil {
					t.Errorf("channel %d: %v", i, err)
				}
				outBytes[i] = n
			}()
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		var ms runtime.MemStats
		for {
			select {
			case <-done:
				runtime.ReadMemStats(&ms)
				return ms.TotalAlloc - before.TotalAlloc, peak, outBytes
			case <-time.After(50 * time.Millisecond):
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
			}
		}
	}
	shortAlloc, _, _ := measure(60)
	longAlloc, peak, out := measure(600)
	t.Logf("allocated: 1 min %d KiB, 10 min %d KiB; peak heap during 10 min %d KiB", shortAlloc>>10, longAlloc>>10, peak>>10)
	for c, n := range out {
		if want := int64(2 * 600 * 16000); n != want {
			t.Errorf("channel %d: %d bytes out, want %d (10 minutes at 16 kHz)", c, n, want)
		}
	}
	if longAlloc > shortAlloc+(1<<20) {
		t.Errorf("10 minutes allocated %d bytes, 1 minute %d: allocation grows with the call", longAlloc, shortAlloc)
	}
	if peak > 16<<20 {
		t.Errorf("peak heap %d bytes while decoding, want < 16 MiB", peak)
	}
}

// TestChannelsCloseOneReader: closing one reader leaves the other to read to the end.
func TestChannelsCloseOneReader(t *testing.T) {
	t.Parallel()
	d, err := Open(newLongWAV(16000, 30))
	if err != nil {
		t.Fatal(err)
	}
	rs := Channels(context.Background(), d, 16000)
	rs[0].Close()
	if _, err := rs[0].Read(make([]byte, 10)); err == nil {
		t.Errorf("Read after Close: err = nil, want an error")
	}
	done := make(chan int64)
	go func() {
		n, err := io.Copy(io.Discard, rs[1])
		if err != nil {
			t.Errorf("channel 1: %v", err)
		}
		done <- n
	}()
	select {
	case n := <-done:
		if want := int64(2 * 30 * 16000); n != want {
			t.Errorf("channel 1: %d bytes, want %d", n, want)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("channel 1 stalled after channel 0 was closed")
	}
}

// TestChannelsCancel: cancelling the context makes every reader return ctx.Err().
func TestChannelsCancel(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	d, err := Open(newLongWAV(44100, 600))
	if err != nil {
		t.Fatal(err)
	}
	rs := Channels(ctx, d, 16000)
	buf := make([]byte, 4096)
	if _, err := io.ReadFull(rs[0], buf); err != nil {
		t.Fatalf("first read: %v", err)
	}
	cancel()
	for c, r := range rs {
		errc := make(chan error, 1)
		go func() {
			_, err := io.Copy(io.Discard, r)
			errc <- err
		}()
		select {
		case err := <-errc:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("channel %d after cancel: err = %v, want context.Canceled", c, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("channel %d still reading 10s after cancel", c)
		}
	}
}

// TestChannelsDecodeError: a truncated file gives every reader the audio before the damage
// and then the same EUNREADABLE error.
func TestChannelsDecodeError(t *testing.T) {
	t.Parallel()
	wav := pcmWAV(2, 16000, sine(2*16000, 440, 16000, 5000))
	d, err := Open(bytes.NewReader(wav[:len(wav)/2+1]))
	if err != nil {
		t.Fatal(err)
	}
	chans, errs := readChannels(t, context.Background(), d, 16000)
	for c := range chans {
		wantUnreadable(t, errs[c], "wav: truncated: data chunk")
		if len(chans[c]) < 7000 {
			t.Errorf("channel %d: %d samples before the error, want the ~8000 before the cut", c, len(chans[c]))
		}
	}
}

func TestChannelsBadRate(t *testing.T) {
	t.Parallel()
	d, err := Open(bytes.NewReader(pcmWAV(1, 8000, make([]int16, 100))))
	if err != nil {
		t.Fatal(err)
	}
	_, errs := readChannels(t, context.Background(), d, 0)
	if code := callscribe.ErrorCode(errs[0]); code != callscribe.EINVALID {
		t.Errorf("rate 0: error %v (code %q), want code %q", errs[0], code, callscribe.EINVALID)
	}
}

// TestChannelMatchesChannels: one channel read alone is the same PCM as that channel
// read with the others.
func TestChannelMatchesChannels(t *testing.T) {
	t.Parallel()
	n := 44100
	samples := make([]int16, 2*n)
	left, right := sine(n, 440, 44100, 8000), sine(n, 1000, 44100, 5000)
	for i := range n {
		samples[2*i], samples[2*i+1] = left[i], right[i]
	}
	wav := pcmWAV(2, 44100, samples)
	open := func() *Decoder {
		d, err := Open(bytes.NewReader(wav))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	all, errs := readChannels(t, context.Background(), open(), 16000)
	for ch := range all {
		if errs[ch] != nil {
			t.Fatal(errs[ch])
		}
		b, err := io.ReadAll(Channel(context.Background(), open(), ch, 16000))
		if err != nil {
			t.Fatalf("channel %d: %v", ch, err)
		}
		got := pcmSamples(b)
		if len(got) == 0 || len(got) != len(all[ch]) {
			t.Fatalf("channel %d alone: %d samples, with the others %d", ch, len(got), len(all[ch]))
		}
		for i := range got {
			if got[i] != all[ch][i] {
				t.Fatalf("channel %d alone differs at sample %d: %d, with the others %d", ch, i, got[i], all[ch][i])
			}
		}
	}
	_, err := io.ReadAll(Channel(context.Background(), open(), 2, 16000))
	if callscribe.ErrorCode(err) != callscribe.EINVALID {
		t.Errorf("channel 2 of a stereo stream: err %v, want EINVALID", err)
	}
}

// TestChannelsDitherIndependently: two channels carrying the same audio are dithered with
// different noise, as sox dithers each channel, and WithDitherSeed draws other noise.
func TestChannelsDitherIndependently(t *testing.T) {
	t.Parallel()
	n := 8000
	tone := sine(n, 440, 8000, 6000)
	samples := make([]int16, 2*n)
	for i, v := range tone {
		samples[2*i], samples[2*i+1] = v, v
	}
	wav := pcmWAV(2, 8000, samples)
	read := func(opts ...Option) [2][]int16 {
		var out [2][]int16
		for ch := range out {
			d, err := Open(bytes.NewReader(wav))
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(Channel(context.Background(), d, ch, 16000, opts...))
			if err != nil {
				t.Fatal(err)
			}
			out[ch] = pcmSamples(b)
		}
		return out
	}
	def, other := read(), read(WithDitherSeed(DefaultDitherSeed+7))
	if slices.Equal(def[0], def[1]) {
		t.Errorf("both channels of the same audio came out bit for bit the same: one noise for both")
	}
	if slices.Equal(def[0], other[0]) {
		t.Errorf("WithDitherSeed did not change the noise")
	}
	if again := read(); !slices.Equal(def[0], again[0]) || !slices.Equal(def[1], again[1]) {
		t.Errorf("the default seed gave other bits on a second conversion")
	}
}
