// Package sphinx recognises speech offline with CMU PocketSphinx (the Debian 5prealpha
// library, through cgo). It owns the decoders and the way audio is fed to them, which is
// exactly pocketsphinx_continuous -infile's, so that its words equal the CLI's.
//
// Its decoders share one dictionary pruned to the language model's words, held in an
// anonymous in-memory file: nothing is written to disk.
//
// It must never keep audio: samples pass through a fixed-size buffer into the decoder
// (whose raw-data store stays off) and are gone when Transcribe returns. It never logs:
// PocketSphinx's own logging is switched off for the whole process, and its errors carry
// no words.
package sphinx

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"

	"callscribe"
	"callscribe/asr"
)

// Paths of the model that Debian's pocketsphinx-en-us package installs.
const (
	DefaultModelDir = "/usr/share/pocketsphinx/model/en-us/en-us"
	DefaultDict     = "/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict"
	DefaultLM       = "/usr/share/pocketsphinx/model/en-us/en-us.lm.bin"
)

// Engine is the name a Result carries.
const Engine = "pocketsphinx"

// chunkSamples is how many samples pocketsphinx_continuous hands ps_process_raw at a
// time. The VAD is asked whether speech goes on after each chunk, so the chunk size
// decides where utterances end; it must stay equal to the CLI's for equal words.
const chunkSamples = 2048

// Config says which model to load. Empty fields take the defaults above.
type Config struct {
	ModelDir string // acoustic model directory (holds mdef, means, ...)
	Dict     string // pronunciation dictionary
	LM       string // n-gram language model
	// Decoders caps how many calls decode at once; each holds a loaded model (about
	// 100 MB). Zero means runtime.GOMAXPROCS(0), but at least 2: the two channels of a
	// stereo call decode at once. Further calls wait for a free decoder.
	Decoders int
	// Progress, if set, receives the milliseconds of audio consumed so far, after each
	// chunk, from the goroutine running Transcribe. Concurrent calls report through
	// the same function.
	Progress asr.Progress
}

// Recognizer is a pool of PocketSphinx decoders. A ps_decoder_t is not thread-safe, so
// each call borrows one; decoders are made on first need (loading the model takes about
// half a second) and kept for the next call. It is safe for concurrent use.
type Recognizer struct {
	cfg   Config
	slots chan struct{} // one token per decoder in use; its capacity is cfg.Decoders

	// dict is the dictionary every decoder loads: cfg.Dict pruned to the LM's words, in
	// the memfd dictFile (nil when pruning failed, and dict is cfg.Dict). dictFile is
	// closed by Close, under initMu, so that no ps_init can open its path once the
	// descriptor number may name another file.
	dict     string
	dictFile *os.File

	mu     sync.Mutex
	idle   []*decoder
	closed bool

	// ps_init touches process-wide state in sphinxbase (its logging set-up); one
	// decoder is made at a time. It also guards dictFile.
	initMu sync.Mutex
}

var _ asr.Transcriber = (*Recognizer)(nil)

var quietOnce sync.Once

// New checks that the model files exist, prunes the dictionary to the language model's
// words (about 0.15 s) and returns a Recognizer that loads the model when the first call
// needs a decoder.
func New(cfg Config) (*Recognizer, error) {
	if cfg.ModelDir == "" {
		cfg.ModelDir = DefaultModelDir
	}
	if cfg.Dict == "" {
		cfg.Dict = DefaultDict
	}
	if cfg.LM == "" {
		cfg.LM = DefaultLM
	}
	if cfg.Decoders <= 0 {
		cfg.Decoders = max(2, runtime.GOMAXPROCS(0))
	}
	for _, f := range []struct {
		what, path string
		dir        bool
	}{
		{"acoustic model directory", cfg.ModelDir, true},
		{"acoustic model definition", cfg.ModelDir + "/mdef", false},
		{"dictionary", cfg.Dict, false},
		{"language model", cfg.LM, false},
	} {
		fi, err := os.Stat(f.path)
		if err != nil || fi.IsDir() != f.dir {
			return nil, callscribe.Errorf(callscribe.EINVALID,
				"sphinx: %s %s not found (Debian: apt-get install pocketsphinx-en-us)", f.what, f.path)
		}
	}
	quietOnce.Do(quiet)
	r := &Recognizer{cfg: cfg, slots: make(chan struct{}, cfg.Decoders), dict: cfg.Dict}
	// Pruning only saves memory: if it fails, the decoders load the full dictionary,
	// which decodes the same, and an unreadable LM fails ps_init with its own error.
	if f, err := prunedDict(cfg.LM, cfg.Dict); err == nil {
		r.dictFile = f
		r.dict = fmt.Sprintf("/proc/self/fd/%d", f.Fd())
	}
	return r, nil
}

// Transcribe decodes pcm (16 kHz s16le mono) to its end. Utterances end where the
// VAD hears speech stop, as in pocketsphinx_continuous; each becomes one Segment, with
// times from the start of pcm. A cancelled ctx stops it within one chunk (128 ms of
// audio) and the error wraps ctx.Err(). An error reading pcm is returned wrapped, so an
// application error code it carries survives.
func (r *Recognizer) Transcribe(ctx context.Context, pcm io.Reader) (asr.Result, error) {
	res := asr.Result{Engine: Engine, Segments: []asr.Segment{}}
	if err := ctx.Err(); err != nil {
		return asr.Result{}, fmt.Errorf("sphinx: %w", err)
	}
	d, err := r.acquire(ctx)
	if err != nil {
		return asr.Result{}, err
	}
	broken := true // until proven otherwise: engine failures leave it unfit for reuse
	defer func() { r.release(d, broken) }()

	if !d.startStream() || !d.startUtt() {
		return asr.Result{}, callscribe.Errorf(callscribe.EINTERNAL, "sphinx: start utterance")
	}
	broken = false
	buf := make([]byte, 2*chunkSamples)
	samples := make([]int16, chunkSamples)
	var done int64 // samples consumed
	uttStarted := false
	for {
		if err := ctx.Err(); err != nil {
			return asr.Result{}, fmt.Errorf("sphinx: %w", err)
		}
		n, rerr := io.ReadFull(pcm, buf)
		if rerr != nil && rerr != io.EOF && rerr != io.ErrUnexpectedEOF {
			return asr.Result{}, fmt.Errorf("sphinx: read pcm: %w", rerr)
		}
		k := n / 2 // like fread, a trailing odd byte is not a sample
		if k == 0 {
			break
		}
		for i := range k {
			samples[i] = int16(binary.LittleEndian.Uint16(buf[2*i:]))
		}
		if !d.processRaw(samples[:k]) {
			broken = true
			return asr.Result{}, callscribe.Errorf(callscribe.EINTERNAL, "sphinx: process audio")
		}
		done += int64(k)
		if r.cfg.Progress != nil {
			r.cfg.Progress(done * 1000 / asr.SampleRate)
		}
		// pocketsphinx_continuous's recognize_from_file: an utterance ends at the first
		// chunk after which the VAD no longer hears speech.
		in := d.inSpeech()
		if in && !uttStarted {
			uttStarted = true
		}
		if !in && uttStarted {
			if !d.endUtt() {
				broken = true
				return asr.Result{}, callscribe.Errorf(callscribe.EINTERNAL, "sphinx: end utterance")
			}
			if seg, has := d.segment(); has {
				res.Segments = append(res.Segments, seg)
			}
			if !d.startUtt() {
				broken = true
				return asr.Result{}, callscribe.Errorf(callscribe.EINTERNAL, "sphinx: start utterance")
			}
			uttStarted = false
		}
		if rerr != nil { // a short read is the end of the stream
			break
		}
	}
	// The last utterance may have no audio at all (empty input); ending it then fails
	// harmlessly, and the CLI ignores it too.
	ended := d.endUtt()
	if uttStarted && ended {
		if seg, has := d.segment(); has {
			res.Segments = append(res.Segments, seg)
		}
	}
	return res, nil
}

// Close frees the idle decoders; decoders still in use are freed when their calls end.
// Transcribe fails after Close. Close is idempotent.
func (r *Recognizer) Close() error {
	r.mu.Lock()
	r.closed = true
	for _, d := range r.idle {
		d.free()
	}
	r.idle = nil
	r.mu.Unlock()

	r.initMu.Lock()
	defer r.initMu.Unlock()
	if r.dictFile != nil {
		r.dictFile.Close()
		r.dictFile = nil
	}
	return nil
}

func (r *Recognizer) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

var errClosed = callscribe.Errorf(callscribe.EINTERNAL, "sphinx: recognizer closed")

// acquire waits for a free slot and returns an idle decoder or a new one.
func (r *Recognizer) acquire(ctx context.Context) (*decoder, error) {
	select {
	case r.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("sphinx: wait for a decoder: %w", ctx.Err())
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		<-r.slots
		return nil, errClosed
	}
	if n := len(r.idle); n > 0 {
		d := r.idle[n-1]
		r.idle = r.idle[:n-1]
		r.mu.Unlock()
		return d, nil
	}
	r.mu.Unlock()

	r.initMu.Lock()
	if r.isClosed() { // Close may have closed dictFile since the check above
		r.initMu.Unlock()
		<-r.slots
		return nil, errClosed
	}
	d := newDecoder(r.cfg.ModelDir, r.cfg.LM, r.dict)
	r.initMu.Unlock()
	if d == nil {
		<-r.slots
		return nil, callscribe.Errorf(callscribe.EINTERNAL, "sphinx: load model from %s", r.cfg.ModelDir)
	}
	return d, nil
}

// release returns d to the pool. A cancelled or failed read leaves an utterance open,
// which is ended here; a decoder the engine failed on is freed rather than trusted with
// the next call.
func (r *Recognizer) release(d *decoder, broken bool) {
	defer func() { <-r.slots }()
	if d.inUtt {
		d.endUtt() // fails harmlessly when the utterance has no audio
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if broken || r.closed {
		d.free()
		return
	}
	r.idle = append(r.idle, d)
}
