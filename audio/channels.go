package audio

import (
	"context"
	"encoding/binary"
	"io"
	"sync"

	"callscribe"
)

const (
	chunkFrames = 4096 // frames decoded per step
	chanDepth   = 4    // chunks a stage may run ahead of the next before it waits
)

// Channels decodes d to the end and returns one reader per channel, each carrying that
// channel as 16-bit little-endian mono PCM at rate Hz (resampled with a Resampler; copied
// when the rates match). d belongs to the decoding goroutine from now on.
//
// One goroutine decodes and splits the channels; each channel is resampled in a goroutine
// of its own, so decoding and resampling run on different cores. Every hand-over goes
// through a bounded queue of reused buffers, so memory does not grow with the call.
//
// All readers must be read concurrently: they are fed by the same decoder through bounded
// buffers, so one reader left unread stalls the rest. Closing a reader discards the rest
// of its channel without stalling the others; when every reader is closed, decoding
// stops. A decode error is returned by Read on every reader, after the audio decoded before
// it. Cancelling ctx stops decoding and makes every reader return ctx.Err().
//
// Resampled channels are dithered (see DefaultDitherSeed); WithDitherSeed picks another
// draw of that noise.
func Channels(ctx context.Context, d *Decoder, rate int, opts ...Option) []io.ReadCloser {
	o := options{seed: DefaultDitherSeed}
	for _, opt := range opts {
		opt(&o)
	}
	f := d.Format()
	readers := make([]*channelReader, f.Channels)
	out := make([]io.ReadCloser, f.Channels)
	for i := range readers {
		readers[i] = &channelReader{
			ctx:    ctx,
			data:   make(chan []byte, chanDepth),
			free:   make(chan []byte, chanDepth+2),
			closed: make(chan struct{}),
		}
		out[i] = readers[i]
	}
	if rate < MinSampleRate || rate > MaxSampleRate {
		err := callscribe.Errorf(callscribe.EINVALID, "audio: output rate %d Hz; want %d to %d", rate, MinSampleRate, MaxSampleRate)
		for _, r := range readers {
			r.err = err
			close(r.data)
		}
		return out
	}
	lanes := make([]*lane, f.Channels)
	proto := NewResampler(f.SampleRate, rate)
	for c := range lanes {
		lanes[c] = &lane{
			in:   make(chan []float32, chanDepth),
			free: make(chan []float32, chanDepth+2),
		}
		res := proto
		if c > 0 {
			res = proto.clone() // the filter table is read-only and shared
		}
		res.SetDitherSeed(o.seed + uint64(c)) // independent noise per channel, as sox's
		go resampleChannel(res, lanes[c], readers[c], chunkFrames*rate/f.SampleRate+16)
	}
	go decodeChannels(ctx, d, lanes, readers)
	return out
}

// An Option changes how Channels converts.
type Option func(*options)

type options struct {
	seed uint64
}

// WithDitherSeed seeds the dither of the resampled channels (DefaultDitherSeed if not
// given): another seed, another draw of the same noise, as another run of sox gives.
func WithDitherSeed(seed uint64) Option {
	return func(o *options) { o.seed = seed }
}

// lane carries one channel's samples, split and converted to float32, from the decoding
// goroutine to that channel's resampling goroutine.
type lane struct {
	in   chan []float32 // chunks in order; closed after err is set
	free chan []float32 // chunks resampled, for the decoder to reuse
	err  error          // why decoding ended: io.EOF, the decode error or ctx.Err()
}

// decodeChannels decodes d, splits each chunk of frames into the lanes of the channels
// still read, and closes every lane with the reason decoding ended.
func decodeChannels(ctx context.Context, d *Decoder, lanes []*lane, readers []*channelReader) {
	err := io.EOF
	defer func() {
		for _, l := range lanes {
			l.err = err // published by close(l.in)
			close(l.in)
		}
	}()
	nch := len(lanes)
	frames := make([]int16, chunkFrames*nch)
	for {
		n, rerr := d.Read(frames)
		k := n / nch
		for c, l := range lanes {
			if k == 0 || readers[c].isClosed() {
				continue
			}
			var buf []float32
			select {
			case buf = <-l.free:
			default:
				buf = make([]float32, chunkFrames)
			}
			buf = buf[:k]
			for i, j := 0, c; i < len(buf); i, j = i+1, j+nch {
				buf[i] = float32(frames[j])
			}
			select {
			case l.in <- buf:
			case <-readers[c].closed:
			case <-ctx.Done():
				err = ctx.Err()
				return
			}
		}
		if rerr != nil {
			err = rerr
			return
		}
		if e := ctx.Err(); e != nil {
			err = e
			return
		}
		if allClosed(readers) {
			return
		}
	}
}

// resampleChannel resamples one lane to the end and hands the PCM to its reader; at the
// end of the lane it flushes the filter and ends the reader with the lane's error.
func resampleChannel(res *Resampler, l *lane, r *channelReader, outCap int) {
	err := error(nil)
	defer func() {
		r.err = err // published by close(r.data)
		close(r.data)
	}()
	pcm := make([]int16, 0, outCap)
	for buf := range l.in {
		if err != nil || r.isClosed() {
			continue // drain, so the decoder never waits on us
		}
		pcm = res.processFloat(pcm[:0], buf)
		select {
		case l.free <- buf:
		default:
		}
		if len(pcm) > 0 {
			err = r.send(pcm)
		}
	}
	if err != nil {
		return
	}
	if pcm = res.Flush(pcm[:0]); len(pcm) > 0 && !r.isClosed() {
		if err = r.send(pcm); err != nil {
			return
		}
	}
	err = l.err
}

func allClosed(readers []*channelReader) bool {
	for _, r := range readers {
		if !r.isClosed() {
			return false
		}
	}
	return true
}

// channelReader is one channel's end of a bounded queue of PCM chunks. Buffers go back to
// the decoder through free, so a long call reuses the same few buffers.
type channelReader struct {
	ctx       context.Context
	data      chan []byte // chunks in order; closed after err is set
	free      chan []byte // chunks read, for the decoder to reuse
	closed    chan struct{}
	closeOnce sync.Once
	err       error // why the stream ended: io.EOF or the decode error

	cur  []byte // unread part of buf
	buf  []byte // chunk being read
	done bool
}

// send encodes pcm and queues it, waiting while the reader is chunkDepth behind. It
// returns ctx.Err() if the context ends first; a reader closed meanwhile drops it.
func (r *channelReader) send(pcm []int16) error {
	var b []byte
	select {
	case b = <-r.free:
	default:
	}
	if cap(b) < 2*len(pcm) {
		b = make([]byte, 2*len(pcm))
	}
	b = b[:2*len(pcm)]
	for i, s := range pcm {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(s))
	}
	select {
	case r.data <- b:
		return nil
	case <-r.closed:
		return nil
	case <-r.ctx.Done():
		return r.ctx.Err()
	}
}

func (r *channelReader) isClosed() bool {
	select {
	case <-r.closed:
		return true
	default:
		return false
	}
}

// Read reads the channel's PCM: 16-bit little-endian samples.
func (r *channelReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	if r.isClosed() {
		return 0, io.ErrClosedPipe
	}
	for len(r.cur) == 0 {
		if r.done {
			return 0, r.err
		}
		if r.buf != nil {
			select {
			case r.free <- r.buf:
			default:
			}
			r.buf = nil
		}
		select {
		case b, ok := <-r.data:
			if !ok {
				r.done = true
				return 0, r.err
			}
			r.cur, r.buf = b, b
		case <-r.ctx.Done():
			return 0, r.ctx.Err()
		}
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

// Close discards the rest of the channel; the others go on.
func (r *channelReader) Close() error {
	r.closeOnce.Do(func() { close(r.closed) })
	return nil
}

// Channel is Channels for channel ch alone: the other channels are decoded and dropped,
// never resampled, and channel ch is dithered as Channels would dither it. Reading one
// channel from its own Decoder lets each channel of a call go at its own pace, where
// Channels ties them together through bounded buffers.
func Channel(ctx context.Context, d *Decoder, ch, rate int, opts ...Option) io.ReadCloser {
	readers := Channels(ctx, d, rate, opts...)
	if ch < 0 || ch >= len(readers) {
		for _, r := range readers {
			r.Close()
		}
		return failedReader{callscribe.Errorf(callscribe.EINVALID, "audio: channel %d of a %d-channel stream", ch, len(readers))}
	}
	for i, r := range readers {
		if i != ch {
			r.Close()
		}
	}
	return readers[ch]
}

type failedReader struct{ err error }

func (e failedReader) Read([]byte) (int, error) { return 0, e.err }
func (e failedReader) Close() error             { return nil }
