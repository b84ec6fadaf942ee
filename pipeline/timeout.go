package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"time"

	"github.com/google/uuid"
	"github.com/minio/sio"

	"callscribe"
	"callscribe/audio"
)

// TimeoutPerAudio is how many times its own duration an attempt at a call may take to
// recognise it (CALLSCRIBE_JOB_TIMEOUT is the floor): PocketSphinx hears a call in well
// under its duration, so a long call is not timed out by a floor sized for short ones,
// even on a machine busy with CALLSCRIBE_WORKERS calls at once.
const TimeoutPerAudio = 3

// AttemptTimeout is how long an attempt at a call of the given audio duration may run:
// TimeoutPerAudio times the duration, and never less than floor. A duration of 0 (not
// known) gets the floor.
func AttemptTimeout(floor, audio time.Duration) time.Duration {
	return max(floor, TimeoutPerAudio*audio)
}

// QueuedDuration tells how long the queued call callID lasts, from its staged audio
// (see stagedDuration); 0 when it cannot be told (the call has ended, say, or the
// pipeline has no Config.Service, as in the CLI). The key of
// audio on a shared stage is read for this and cleared again: it is kept only by the
// attempt that recognises the call.
func (p *Pipeline) QueuedDuration(ctx context.Context, callID uuid.UUID) time.Duration {
	if p.cfg.Service == nil {
		return 0
	}
	c, _, err := p.cfg.Service.CallForWork(ctx, callID)
	if err != nil || c.Status.Ended() || c.Staging == nil {
		return 0
	}
	defer clear(c.Staging.Key)
	p.mu.Lock()
	key := p.keys[callID]
	p.mu.Unlock()
	if key == nil {
		key = c.Staging.Key
	}
	return p.stagedDuration(ctx, callID, key, c.Staging.Bytes, c.Raw)
}

// stagedDuration tells how long a staged call lasts from its size and the header at the
// start of its staged audio (read back and decrypted), or from its raw format: an
// estimate, on the long side when the header does not tell the byte rate (MP3: the
// lowest bit rate is assumed). It is capped at MaxDuration, which the decoder enforces.
// 0 when it cannot be told.
func (p *Pipeline) stagedDuration(ctx context.Context, callID uuid.UUID, key []byte, total int64, raw *callscribe.RawFormat) time.Duration {
	if total <= 0 {
		return 0
	}
	var d *audio.Decoder
	var err error
	if raw != nil {
		// Headerless audio: its format says it all, nothing need be read.
		d, err = audio.OpenRaw(bytes.NewReader(nil), audio.RawFormat{Encoding: raw.Encoding, SampleRate: raw.SampleRate, Channels: raw.Channels})
	} else {
		var head io.Reader
		if head, err = p.stagedHead(ctx, callID, key); err == nil {
			d, err = audio.Open(head)
		}
	}
	if err != nil {
		return 0
	}
	defer d.Close()
	// The decoder's own reckoning, the one the upload's early refusal uses; an MP3 whose
	// start does not tell is taken at the lowest bit rate, so never short.
	length, ok := d.Duration(total)
	if !ok {
		if d.Format().Codec != "mp3" {
			return 0
		}
		length = time.Duration(float64(total) / lowestMP3BitRate * float64(time.Second))
	}
	if p.cfg.MaxDuration > 0 {
		length = min(length, p.cfg.MaxDuration)
	}
	return length
}

// lowestMP3BitRate is the lowest bit rate of MPEG audio layer III (MPEG-2.5), in bytes
// per second: an MP3's duration estimated with it is never short.
const lowestMP3BitRate = 8000 / 8

// stagedHead reads back and decrypts the first sniffBytes of a staged call's audio; a
// read past them ends in errSniffEnd, as at the upload's sniff.
func (p *Pipeline) stagedHead(ctx context.Context, callID uuid.UUID, key []byte) (io.Reader, error) {
	if key == nil {
		return nil, errors.New("no key for the staged audio")
	}
	obj, err := p.cfg.Stage.Open(ctx, objectKey(callID))
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	plain, err := sio.DecryptReader(obj, sioConfig(key))
	if err != nil {
		return nil, err
	}
	head, err := bufio.NewReaderSize(plain, sniffBytes).Peek(sniffBytes)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, err
	}
	var r io.Reader = bytes.NewReader(head)
	if len(head) == sniffBytes {
		r = io.MultiReader(r, errorReader{errSniffEnd})
	}
	return r, nil
}
