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
// (see stagedDuration); 0 when it cannot be told (the call has ended, say). The key of
// audio on a shared stage is read for this and cleared again: it is kept only by the
// attempt that recognises the call.
func (p *Pipeline) QueuedDuration(ctx context.Context, callID uuid.UUID) time.Duration {
	st, ok := p.cfg.Store.(ServiceStore)
	if !ok {
		return 0
	}
	c, _, err := st.CallForWork(ctx, callID)
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
	var rate float64 // bytes per second
	if raw != nil {
		rate = rawByteRate(*raw)
	} else {
		if key == nil {
			return 0
		}
		obj, err := p.cfg.Stage.Open(ctx, objectKey(callID))
		if err != nil {
			return 0
		}
		defer obj.Close()
		plain, err := sio.DecryptReader(obj, sioConfig(key))
		if err != nil {
			return 0
		}
		head, err := bufio.NewReaderSize(plain, sniffBytes).Peek(sniffBytes)
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
			return 0
		}
		var r io.Reader = bytes.NewReader(head)
		if len(head) == sniffBytes {
			r = io.MultiReader(r, errorReader{errSniffEnd})
		}
		d, err := audio.Open(r)
		if err != nil {
			return 0
		}
		rate = byteRate(d.Format())
	}
	if rate <= 0 || total <= 0 {
		return 0
	}
	d := time.Duration(float64(total) / rate * float64(time.Second))
	if p.cfg.MaxDuration > 0 {
		d = min(d, p.cfg.MaxDuration)
	}
	return d
}

// lowestMP3BitRate is the lowest bit rate of MPEG audio layer III (MPEG-2.5), in bytes
// per second: an MP3's duration estimated with it is never short.
const lowestMP3BitRate = 8000 / 8

// byteRate is how many bytes a second of audio of format f takes; 0 when not known.
func byteRate(f audio.Format) float64 {
	perSample := map[string]float64{
		"pcm_u8": 1, "pcm_s16le": 2, "pcm_s24le": 3, "pcm_s32le": 4, "pcm_f32le": 4, "pcm_f64le": 8,
		"pcm_mulaw": 1, "pcm_alaw": 1,
		"gsm_ms": 65.0 / 320, // WAV49: two 160-sample GSM frames in 65 bytes
		"gsm":    33.0 / 160, // one 160-sample frame in 33 bytes
	}
	if f.Codec == "mp3" {
		return lowestMP3BitRate
	}
	return perSample[f.Codec] * float64(f.SampleRate*f.Channels)
}

// rawByteRate is byteRate of headerless audio.
func rawByteRate(f callscribe.RawFormat) float64 {
	perSample := map[string]float64{"s16": 2, "ulaw": 1, "alaw": 1, "gsm": 33.0 / 160}
	return perSample[f.Encoding] * float64(f.SampleRate*f.Channels)
}
