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
	chanDepth   = 4    // chunks a channel's reader may fall behind before decoding waits
)

// Channels decodes d to the end in one goroutine and returns one reader per channel, each
// carrying that channel as 16-bit little-endian mono PCM at rate Hz (resampled with a
// Resampler; copied when the rates match). d belongs to that goroutine from now on.
//
// All readers must be read concurrently: each is fed by the same goroutine through a
// bounded buffer, so one reader left unread stalls the rest. Closing a reader discards the
// rest of its channel without stalling the others; when every reader is closed, decoding
// stops. A decode error is returned by Read on every reader, after the audio decoded before
// it. Cancelling ctx stops decoding and makes every reader return ctx.Err().
func Channels(ctx context.Context, d *Decoder, rate int) []io.ReadCloser {
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
	go decodeChannels(ctx, d, rate, readers)
	return out
}

func decodeChannels(ctx context.Context, d *Decoder, rate int, readers []*channelReader) {
	err := io.EOF
	defer func() {
		for _, r := range readers {
			r.err = err // published by close(r.data)
			close(r.data)
		}
	}()
	if rate < MinSampleRate || rate > MaxSampleRate {
		err = callscribe.Errorf(callscribe.EINVALID, "audio: output rate %d Hz; want %d to %d", rate, MinSampleRate, MaxSampleRate)
		return
	}
	f := d.Format()
	nch := f.Channels
	res := make([]*Resampler, nch)
	res[0] = NewResampler(f.SampleRate, rate)
	for c := 1; c < nch; c++ {
		res[c] = res[0].clone() // the filter table is read-only and shared
	}
	frames := make([]int16, chunkFrames*nch)
	mono := make([]int16, chunkFrames)
	pcm := make([]int16, 0, chunkFrames*rate/f.SampleRate+16)

	// emit resamples one channel's samples and hands them to its reader.
	emit := func(c int, in []int16, flush bool) error {
		r := readers[c]
		if r.isClosed() {
			return nil
		}
		pcm = res[c].Process(pcm[:0], in)
		if flush {
			pcm = res[c].Flush(pcm)
		}
		if len(pcm) == 0 {
			return nil
		}
		return r.send(pcm)
	}
	for {
		n, rerr := d.Read(frames)
		k := n / nch
		for c := range nch {
			for i := range k {
				mono[i] = frames[i*nch+c]
			}
			if e := emit(c, mono[:k], rerr != nil); e != nil {
				err = e
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
// never resampled. Reading one channel from its own Decoder lets each channel of a call
// go at its own pace, where Channels ties them together through bounded buffers.
func Channel(ctx context.Context, d *Decoder, ch, rate int) io.ReadCloser {
	readers := Channels(ctx, d, rate)
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
