// Package pipeline owns a call's journey: consent check, encrypted staging, decoding,
// recognition per channel, merging, summary, the one transaction that stores what the
// owner consented to, and the deletion of the staged audio with its proof.
//
// It must never let audio out of the stage unencrypted except into the decoder, never
// store a transcript or summary without consent checked in the storing transaction, and
// never leave a staged object behind: every path that staged audio ends by deleting it,
// confirming it is gone and writing the receipt.
package pipeline

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/minio/sio"

	"callscribe"
	"callscribe/asr"
	"callscribe/audio"
	"callscribe/metrics"
	"callscribe/redact"
	"callscribe/summarize"
)

// Store is what the pipeline needs of the database.
type Store interface {
	// Admission is UserBlocked and ConsentInForce in one round trip: what every call is
	// asked before anything of it is read.
	Admission(ctx context.Context, userID uuid.UUID, purpose callscribe.Purpose) (blocked, consented bool, err error)
	ConsentInForce(ctx context.Context, userID uuid.UUID, purpose callscribe.Purpose) (bool, error)
	// UserBlocked reports whether the user is blocked: their calls are not processed.
	UserBlocked(ctx context.Context, userID uuid.UUID) (bool, error)
	CreateCall(ctx context.Context, orgID, ownerID uuid.UUID, channels []string) (uuid.UUID, error)
	RecordStaging(ctx context.Context, callID uuid.UUID, s callscribe.Staging) error
	SetProcessing(ctx context.Context, callID uuid.UUID) error
	// CompleteCall stores the transcript under the owner's row lock after re-checking
	// consent, and erases the staging key; Stored is false when the call was discarded.
	CompleteCall(ctx context.Context, ownerID uuid.UUID, t callscribe.Transcript) (callscribe.Completion, error)
	EndCall(ctx context.Context, callID uuid.UUID, status callscribe.CallStatus, code, message string) error
	ConfirmDeletion(ctx context.Context, callID uuid.UUID, deletedAt, confirmedAt time.Time) (callscribe.Receipt, error)
	// RedactionPolicy is the organization's redaction policy: the types it turned off
	// and its mask (empty: type tags).
	RedactionPolicy(ctx context.Context, orgID uuid.UUID) (off []string, mask string, err error)
}

// Streamer is a stage that can be read while it is still being written and can free what
// its readers have passed (the memory stage). Run streams a call through such a stage,
// so the memory a call takes does not grow with its length.
type Streamer interface {
	callscribe.Stage
	// Start creates the object under key, readable by Open at once, and copies r into it
	// in the background; wait returns when the copy ends, with Put's results.
	Start(ctx context.Context, key string, r io.Reader) (wait func() (int64, error), err error)
	// Seal says no reader will be opened on key again: what every reader has passed is freed.
	Seal(ctx context.Context, key string) error
}

// UserWatcher wakes the consent watcher as soon as a user's consent is withdrawn or the
// user is blocked (PostgreSQL LISTEN/NOTIFY), instead of at the next poll. The poll
// stays: a wake-up is a hint, and one may be lost.
type UserWatcher interface {
	WatchUser(ctx context.Context, userID uuid.UUID) (wake <-chan struct{}, stop func())
}

// Decoder sniffs and decodes audio and returns its number of channels and channel ch of
// it as 16 kHz mono PCM; the audio package provides it (see audio.Channel). The pipeline
// gives every channel its own stream of the staged audio, so a channel that is slow to
// recognise (speech) never holds back one that is fast (silence) and both cores work.
type Decoder func(ctx context.Context, r io.Reader, ch int) (channels int, pcm io.ReadCloser, err error)

// DefaultRoles are the speakers of channel 0 and 1 when the caller names none.
var DefaultRoles = []string{"agent", "client"}

// Config wires a Pipeline.
type Config struct {
	Store Store
	// Service is the service's store (the database with its job queue): Accept,
	// ProcessQueued and DiscardQueued need it; nil in the CLI, which runs calls itself.
	Service ServiceStore
	// Stage holds the staged audio. Stream is set instead for a stage that can be read
	// while it is written (the memory stage): Run then recognises a call while it is
	// staged. When Stream is set, Stage is Stream.
	Stage       callscribe.Stage
	Stream      Streamer
	Decode      Decoder
	Transcriber asr.Transcriber
	Summarizer  summarize.Summarizer // nil: summaries are off
	Logger      *slog.Logger
	Now         func() time.Time
	// ConsentPoll is how often a call in flight re-checks its owner's transcription
	// consent and block; a withdrawal or block cancels the call within this time, or at
	// once when Watcher is set and its message gets through. Default 1s.
	ConsentPoll time.Duration
	// Watcher, when set, wakes a call's consent watcher at a withdrawal or a block (the
	// database's notifications); nil: the poll alone.
	Watcher UserWatcher
	// MaxBytes refuses (ETOOLARGE) an upload longer than this as soon as it is crossed;
	// 0: no limit. MaxDuration fails a call whose audio is longer; 0: no limit.
	MaxBytes    int64
	MaxDuration time.Duration
	// DecodeRaw decodes headerless audio of a given format; nil: raw uploads are refused.
	DecodeRaw RawDecoder
	// Metrics counts calls, steps and staged bytes; nil: a registry of the pipeline's
	// own that nothing serves.
	Metrics *metrics.Metrics
}

// RawDecoder is Decoder for headerless audio whose format the uploader named.
type RawDecoder func(ctx context.Context, r io.Reader, f callscribe.RawFormat, ch int) (channels int, pcm io.ReadCloser, err error)

// Pipeline runs calls through their journey.
type Pipeline struct {
	cfg Config

	mu   sync.Mutex
	keys map[uuid.UUID][]byte // encryption keys of calls staged by this process
}

// New returns a Pipeline; the zero values of optional fields get their defaults.
func New(cfg Config) *Pipeline {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ConsentPoll <= 0 {
		cfg.ConsentPoll = time.Second
	}
	if cfg.Stream != nil {
		cfg.Stage = cfg.Stream
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New()
	}
	return &Pipeline{cfg: cfg, keys: map[uuid.UUID][]byte{}}
}

// Input is one call to transcribe.
type Input struct {
	Owner callscribe.User
	Audio io.Reader
	Size  int64    // bytes of Audio when known, -1 otherwise
	Roles []string // speaker of each channel; default DefaultRoles
	// Progress, when set, is told how many bytes of the staged audio the decoder has
	// read, out of total.
	Progress func(done, total int64)
}

// Result is the outcome of a call that was staged.
type Result struct {
	CallID     uuid.UUID
	Status     callscribe.CallStatus
	Transcript callscribe.Transcript // stored transcript; zero unless Status is completed
	Receipt    callscribe.Receipt    // the audio's deletion receipt
}

// Run ingests and processes one call in this process: the CLI's path. It admits the call
// as Accept does (a call refused for being blocked or for lack of consent is never read,
// recorded or staged), records it, and stages it through the one staging path (stage);
// a call that was staged always ends with its audio deleted and the deletion confirmed,
// and Result.Receipt says so. With a stage that streams (Config.Stream), recognition
// reads the audio while it is being staged.
func (p *Pipeline) Run(ctx context.Context, in Input) (Result, error) {
	if err := p.admit(ctx, in.Owner); err != nil {
		return Result{}, err
	}
	callID, err := p.cfg.Store.CreateCall(ctx, in.Owner.OrgID, in.Owner.ID, roles(in.Roles, 0))
	if err != nil {
		return Result{}, err
	}
	record := func(wait func() (callscribe.Staging, error)) error {
		staging, err := wait()
		if err == nil {
			err = p.cfg.Store.RecordStaging(ctx, callID, staging)
		}
		if err == nil {
			p.cfg.Logger.InfoContext(ctx, "call staged", "call_id", callID, "stage", staging.Stage, "bytes", staging.Bytes)
		}
		return err
	}
	st := p.cfg.Stream
	if st == nil {
		if err := record(p.stage(ctx, callID, in.Audio, in.Size, false)); err != nil {
			// Nothing of the audio may stay behind; the call ends failed.
			res := Result{CallID: callID, Status: callscribe.CallFailed}
			res.Receipt, err = p.end(ctx, callID, callscribe.CallFailed, err)
			return res, err
		}
		return p.process(ctx, in.Owner, callID, callRun{total: in.Size, roles: in.Roles, progress: in.Progress})
	}
	// Staging runs to the end of the input even if recognition stops early, so that the
	// receipt covers every byte received; sealed, the stage frees what nobody reads.
	wait := p.stage(context.WithoutCancel(ctx), callID, in.Audio, in.Size, true)
	seal := func() { st.Seal(context.WithoutCancel(ctx), objectKey(callID)) }
	staged := func() error { return record(wait) }
	return p.process(ctx, in.Owner, callID, callRun{total: in.Size, roles: in.Roles, progress: in.Progress, seal: seal, staged: staged})
}

// admit is the admission of every call, the CLI's (Run) and the API's (Accept): the
// owner's block and consent to transcription, asked in one round trip before anything
// of the call is read, recorded or staged. A blocked owner is refused first (EBLOCKED),
// then an owner without consent (ENOCONSENT).
func (p *Pipeline) admit(ctx context.Context, owner callscribe.User) error {
	blocked, consented, err := p.cfg.Store.Admission(ctx, owner.ID, callscribe.PurposeTranscription)
	switch {
	case err != nil:
		return err
	case blocked:
		return blockedError(owner)
	case !consented:
		return callscribe.Errorf(callscribe.ENOCONSENT, "user %s has not consented to transcription; nothing was stored", owner.Email)
	}
	return nil
}

// stage is the one way audio enters a stage, for the CLI and the API alike: it encrypts
// the audio with a fresh per-call key and puts it in the stage — in the background, and
// readable as it comes, when stream is set — hashing and counting the plaintext on the
// way. The key is registered for this process's readers (p.keys) before the first byte
// is staged; it is not in the staging record (see Accept). wait returns the staging record once the whole input is staged; on failure the record
// still counts what was received (a refused upload's receipt covers every byte) and the
// key is forgotten. Deleting what was staged is the caller's (finish, reject).
func (p *Pipeline) stage(ctx context.Context, callID uuid.UUID, audio io.Reader, size int64, stream bool) (wait func() (callscribe.Staging, error)) {
	s := callscribe.Staging{Stage: p.cfg.Stage.Name(), ObjectKey: objectKey(callID), StagedAt: p.cfg.Now()}
	failed := func(err error) func() (callscribe.Staging, error) {
		p.forget(callID)
		return func() (callscribe.Staging, error) { return s, fmt.Errorf("stage: %w", err) }
	}
	encSize := int64(-1)
	if size >= 0 {
		n, err := sio.EncryptedSize(uint64(size))
		if err != nil {
			return failed(callscribe.Wrap(callscribe.ETOOLARGE, err, "%d bytes is more than one call's encryption can hold", size))
		}
		encSize = int64(n)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return failed(fmt.Errorf("new key: %w", err))
	}
	hash := sha256.New()
	counter := &countingReader{r: io.TeeReader(audio, hash)}
	enc, err := sio.EncryptReader(counter, sioConfig(key))
	if err != nil {
		clear(key)
		return failed(fmt.Errorf("encrypt: %w", err))
	}
	p.mu.Lock()
	p.keys[callID] = key
	p.mu.Unlock()
	var put func() (int64, error)
	if stream {
		if put, err = p.cfg.Stream.Start(ctx, objectKey(callID), enc); err != nil {
			return failed(err)
		}
	} else {
		n, err := p.cfg.Stage.Put(ctx, objectKey(callID), enc, encSize)
		put = func() (int64, error) { return n, err }
	}
	return func() (callscribe.Staging, error) {
		_, err := put()
		s.Bytes, s.SHA256 = counter.n, hex.EncodeToString(hash.Sum(nil))
		if err == nil && counter.n == 0 {
			err = callscribe.Errorf(callscribe.EUNREADABLE, "the audio is empty")
		}
		if err != nil {
			return failed(err)()
		}
		return s, nil
	}
}

// key returns a copy of this process's key of a call; nil when it has none.
func (p *Pipeline) key(callID uuid.UUID) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return bytes.Clone(p.keys[callID])
}

// forget erases this process's copy of a call's key.
func (p *Pipeline) forget(callID uuid.UUID) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if key := p.keys[callID]; key != nil {
		clear(key)
		delete(p.keys, callID)
	}
}

func objectKey(callID uuid.UUID) string { return "calls/" + callID.String() }

func sioConfig(key []byte) sio.Config {
	return sio.Config{MinVersion: sio.Version20, Key: key}
}

// errWithdrawn and errBlocked are the cancellation causes of a call whose owner withdrew
// consent or was blocked.
var (
	errWithdrawn = errors.New("consent to transcription withdrawn")
	errBlocked   = errors.New("owner blocked")
)

func blockedError(owner callscribe.User) error {
	return callscribe.Errorf(callscribe.EBLOCKED, "user %s is blocked: their calls are not processed until they are unblocked", owner.Email)
}

// callRun is how process runs one call.
type callRun struct {
	total    int64 // bytes of the staged audio, -1 when unknown
	roles    []string
	progress func(done, total int64)
	// seal, when set, is called once every channel's reader is open and again when
	// recognition ends, and staged waits for staging to end and records it: a call whose
	// staging is still under way.
	seal   func()
	staged func() error
	// raw, when set, is the format of headerless audio (decoded by Config.DecodeRaw).
	raw *callscribe.RawFormat
	// retry, when set, is asked about an error: true leaves the call staged, its audio
	// and key in place, for another attempt (a queued job that will run again).
	retry func(error) bool
}

// process runs a staged call (or one being staged, see callRun) to its end.
func (p *Pipeline) process(ctx context.Context, owner callscribe.User, callID uuid.UUID, run callRun) (Result, error) {
	res := Result{CallID: callID}
	seal, staged := run.seal, run.staged
	if err := p.cfg.Store.SetProcessing(ctx, callID); err != nil {
		if seal != nil {
			seal()
			staged()
		}
		if run.retry != nil && run.retry(err) {
			return res, err
		}
		res.Status = callscribe.CallFailed
		res.Receipt, err = p.end(ctx, callID, callscribe.CallFailed, err)
		return res, err
	}
	callCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go p.watchConsent(callCtx, cancel, owner.ID)

	began := p.cfg.Now()
	t, err := p.recognise(callCtx, callID, run, seal)
	p.cfg.Metrics.Step("recognition", began, p.cfg.Now())
	if staged != nil {
		seal() // whatever recognition did, nothing will read the start again
		if serr := staged(); serr != nil {
			err = serr
		}
	}
	if err == nil {
		// Invariant 9: redaction comes before the summarizer, the store and everything
		// after them; nothing of the unredacted transcript outlives this line.
		t, err = p.redact(callCtx, owner, t)
	}
	if err == nil {
		t.Summary, err = p.summarise(callCtx, owner.ID, t)
	}
	switch cause := context.Cause(callCtx); {
	case errors.Is(cause, errWithdrawn):
		err = callscribe.Errorf(callscribe.ENOCONSENT, "user %s withdrew consent to transcription while the call was processed; nothing was stored", owner.Email)
	case errors.Is(cause, errBlocked):
		err = callscribe.Errorf(callscribe.EBLOCKED, "user %s was blocked while the call was processed; nothing was stored", owner.Email)
	}
	if err != nil {
		status := callscribe.CallFailed
		if code := callscribe.ErrorCode(err); code == callscribe.ENOCONSENT || code == callscribe.EBLOCKED {
			status = callscribe.CallDiscarded
		} else if run.retry != nil && run.retry(err) {
			return res, err
		}
		res.Status = status
		res.Receipt, err = p.end(ctx, callID, status, err)
		return res, err
	}

	t.CallID = callID
	began = p.cfg.Now()
	done, err := p.cfg.Store.CompleteCall(ctx, owner.ID, t)
	p.cfg.Metrics.Step("storing", began, p.cfg.Now())
	if err != nil && run.retry != nil && run.retry(err) {
		return res, err
	}
	if err != nil {
		res.Status = callscribe.CallFailed
		res.Receipt, err = p.end(ctx, callID, callscribe.CallFailed, err)
		return res, err
	}
	if !done.Stored {
		err = callscribe.Errorf(callscribe.ENOCONSENT, "user %s withdrew consent to transcription before the transcript was stored; nothing was stored", owner.Email)
		if blocked, berr := p.cfg.Store.UserBlocked(ctx, owner.ID); berr == nil && blocked {
			err = callscribe.Errorf(callscribe.EBLOCKED, "user %s was blocked before the transcript was stored; nothing was stored", owner.Email)
		}
		res.Status = callscribe.CallDiscarded
		res.Receipt, err = p.end(ctx, callID, callscribe.CallDiscarded, err)
		return res, err
	}
	if !done.SummaryStored {
		t.Summary = nil
	}
	res.Status = callscribe.CallCompleted
	res.Transcript = t
	res.Receipt, err = p.end(ctx, callID, callscribe.CallCompleted, nil)
	return res, err
}

// recognise decodes the staged audio and runs the recogniser on every channel at once,
// each channel from its own decrypting stream of the stage.
func (p *Pipeline) recognise(ctx context.Context, callID uuid.UUID, run callRun, seal func()) (callscribe.Transcript, error) {
	total, roleNames, progress := run.total, run.roles, run.progress
	decodeAudio := p.cfg.Decode
	if run.raw != nil {
		if p.cfg.DecodeRaw == nil {
			return callscribe.Transcript{}, callscribe.Errorf(callscribe.EUNREADABLE, "raw (headerless) audio cannot be decoded by this server")
		}
		f := *run.raw
		decodeAudio = func(ctx context.Context, r io.Reader, ch int) (int, io.ReadCloser, error) {
			return p.cfg.DecodeRaw(ctx, r, f, ch)
		}
	}
	p.mu.Lock()
	key := p.keys[callID]
	p.mu.Unlock()
	if key == nil {
		return callscribe.Transcript{}, fmt.Errorf("call %s: no key for its staged audio in this process", callID)
	}
	var open []io.Closer // every stage stream and PCM reader opened; closed on the way out
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	decode := func(ch int, report func(done, total int64)) (int, io.Reader, error) {
		obj, err := p.cfg.Stage.Open(ctx, objectKey(callID))
		if err != nil {
			return 0, nil, fmt.Errorf("open staged audio: %w", err)
		}
		open = append(open, obj)
		var plain io.Reader
		if plain, err = sio.DecryptReader(obj, sioConfig(key)); err != nil {
			return 0, nil, fmt.Errorf("decrypt staged audio: %w", err)
		}
		if report != nil {
			plain = &progressReader{r: plain, total: total, report: report}
		}
		n, pcm, err := decodeAudio(ctx, plain, ch)
		if err != nil {
			return 0, nil, err
		}
		open = append(open, pcm)
		var r io.Reader = pcm
		if p.cfg.MaxDuration > 0 {
			r = &durationLimit{r: pcm, left: int64(p.cfg.MaxDuration.Seconds()*asr.SampleRate) * 2, max: p.cfg.MaxDuration}
		}
		return n, r, nil
	}
	n, first, err := decode(0, progress)
	if err != nil {
		return callscribe.Transcript{}, err
	}
	pcms := []io.Reader{first}
	for ch := 1; ch < n; ch++ {
		_, pcm, err := decode(ch, nil)
		if err != nil {
			return callscribe.Transcript{}, err
		}
		pcms = append(pcms, pcm)
	}
	if seal != nil {
		seal() // every channel has its reader: the stage may free what they have passed
	}
	names := roles(roleNames, n)
	results := make([]asr.Result, n)
	samples := make([]int64, n)
	errs := make([]error, n)
	cuts := make([]*cutShort, n)
	var wg sync.WaitGroup
	for i, pcm := range pcms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cuts[i] = &cutShort{r: pcm}
			counter := &countingReader{r: cuts[i]}
			results[i], errs[i] = p.cfg.Transcriber.Transcribe(ctx, counter)
			samples[i] = counter.n / 2
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return callscribe.Transcript{}, firstClassified(errs)
	}
	t := merge(results, names)
	var cut error
	var decoded int64
	for i, n := range samples {
		t.DurationMS = max(t.DurationMS, n*1000/asr.SampleRate)
		decoded += n
		cut = cmp.Or(cut, cuts[i].err)
	}
	if cut != nil {
		if decoded == 0 {
			return callscribe.Transcript{}, cut // cut off before any audio: nothing to transcribe
		}
		t.Truncated = true
		p.cfg.Logger.WarnContext(ctx, "recording truncated; transcribed the part that was there", "call_id", callID, "duration_ms", t.DurationMS)
	}
	return t, nil
}

// cutShort ends a channel's PCM where its recording was cut off (audio.ErrTruncated), as
// if that were its end: the audio decoded before the cut is transcribed, and err says
// the call was truncated.
type cutShort struct {
	r   io.Reader
	err error
}

func (c *cutShort) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if errors.Is(err, audio.ErrTruncated) {
		c.err = err
		return n, io.EOF
	}
	return n, err
}

// firstClassified returns the most telling of the channels' errors: an application error
// (unreadable audio, say) before a bare one, a cancellation last.
func firstClassified(errs []error) error {
	var first error
	for _, err := range errs {
		if err == nil {
			continue
		}
		var ae *callscribe.Error
		if errors.As(err, &ae) {
			return err
		}
		if first == nil || errors.Is(first, context.Canceled) {
			first = err
		}
	}
	return first
}

// redact replaces the personal data in the merged transcript's segments, under the
// owner's organization's policy with the owner's registered name as the subject, and
// rebuilds the text from the redacted segments. The transcript records only the counts.
func (p *Pipeline) redact(ctx context.Context, owner callscribe.User, t callscribe.Transcript) (callscribe.Transcript, error) {
	off, mask, err := p.cfg.Store.RedactionPolicy(ctx, owner.OrgID)
	if err != nil {
		return t, err
	}
	policy, err := redact.OrganizationPolicy(off, mask)
	if err != nil {
		return t, fmt.Errorf("organization %s redaction policy: %w", owner.OrgID, err)
	}
	segs, counts := redact.New().Segments(t.Segments, redact.SubjectOf(owner), policy)
	t.Segments = segs
	t.Text = joinText(segs)
	t.Redactions = redact.Counts(counts)
	return t, nil
}

// summarise asks the summarizer for a summary when one is configured and the owner's
// consent to summarization is in force; the storing transaction checks it again.
func (p *Pipeline) summarise(ctx context.Context, ownerID uuid.UUID, t callscribe.Transcript) (*callscribe.Summary, error) {
	if p.cfg.Summarizer == nil || len(t.Segments) == 0 {
		return nil, nil
	}
	ok, err := p.cfg.Store.ConsentInForce(ctx, ownerID, callscribe.PurposeSummarization)
	if err != nil || !ok {
		return nil, err
	}
	s, err := p.cfg.Summarizer.Summarize(ctx, Turns(t.Segments))
	if err != nil {
		return nil, fmt.Errorf("summarize: %w", err)
	}
	if s.Text == "" {
		return nil, nil
	}
	return &callscribe.Summary{Engine: s.Engine, Text: s.Text}, nil
}

// watchConsent cancels the call as soon as its owner's transcription consent is no
// longer in force or the owner is blocked. It looks when woken (a notification) and
// also polls, so it does not depend on a notification getting through. It runs beside
// recognition, which does not wait for it to start listening.
func (p *Pipeline) watchConsent(ctx context.Context, cancel context.CancelCauseFunc, ownerID uuid.UUID) {
	tick := time.NewTicker(p.cfg.ConsentPoll)
	defer tick.Stop()
	var wake <-chan struct{}
	first := make(chan struct{}, 1)
	if w := p.cfg.Watcher; w != nil {
		var stop func()
		wake, stop = w.WatchUser(ctx, ownerID)
		defer stop()
		// A change made before the watch began sent no wake-up to it: look once now.
		first <- struct{}{}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-wake:
		case <-first:
		}
		if blocked, err := p.cfg.Store.UserBlocked(ctx, ownerID); err == nil && blocked {
			cancel(errBlocked)
			return
		}
		ok, err := p.cfg.Store.ConsentInForce(ctx, ownerID, callscribe.PurposeTranscription)
		if err == nil && !ok {
			cancel(errWithdrawn)
			return
		}
	}
}

// end ends a call through finish and returns cause (nil for a completed call) joined
// with finish's own failure, if any: a caller never drops the news that the audio's
// deletion is unconfirmed.
func (p *Pipeline) end(ctx context.Context, callID uuid.UUID, status callscribe.CallStatus, cause error) (callscribe.Receipt, error) {
	r, err := p.finish(ctx, callID, status, cause)
	if err != nil {
		return r, errors.Join(cause, err)
	}
	return r, cause
}

// finish ends a staged call: it records the final status (erasing the key) unless the
// call completed, deletes the staged audio, confirms it is gone and writes the receipt.
// It runs to the end even when ctx was cancelled: the audio must not outlive the call.
// A step that fails is logged at once, with the call id, the step and its cause, and
// returned; the sweeper (Sweeper) finishes the deletion and its proof later.
func (p *Pipeline) finish(ctx context.Context, callID uuid.UUID, status callscribe.CallStatus, cause error) (callscribe.Receipt, error) {
	ctx = context.WithoutCancel(ctx)
	p.forget(callID)
	fail := func(step string, err error) (callscribe.Receipt, error) {
		p.cfg.Logger.ErrorContext(ctx, "staged audio not confirmed deleted; the sweeper will finish it",
			"call_id", callID, "step", step, "err", err)
		return callscribe.Receipt{}, fmt.Errorf("%s of call %s's staged audio: %w", step, callID, err)
	}
	if status != callscribe.CallCompleted {
		code := callscribe.ErrorCode(cause)
		if err := p.cfg.Store.EndCall(ctx, callID, status, code, callscribe.ErrorMessage(cause)); err != nil {
			// The deletion goes on: the audio must go whatever the call's row says.
			p.cfg.Logger.ErrorContext(ctx, "end call", "call_id", callID, "step", "end call", "err", err)
		}
		if code == callscribe.EINTERNAL {
			p.cfg.Logger.ErrorContext(ctx, "call failed", "call_id", callID, "err", cause)
		}
	}
	key := objectKey(callID)
	began := p.cfg.Now()
	if err := p.cfg.Stage.Delete(ctx, key); err != nil {
		return fail("delete", err)
	}
	deletedAt := p.cfg.Now()
	exists, err := p.cfg.Stage.Exists(ctx, key)
	if err != nil {
		return fail("confirm deletion", err)
	}
	if exists {
		return fail("confirm deletion", errors.New("still there after deletion"))
	}
	r, err := p.cfg.Store.ConfirmDeletion(ctx, callID, deletedAt, p.cfg.Now())
	p.cfg.Metrics.Step("deletion", began, p.cfg.Now())
	p.callEnded(status)
	if callscribe.ErrorCode(err) == callscribe.ENOTFOUND {
		// Nothing was ever recorded as staged (staging failed): nothing to prove.
		return callscribe.Receipt{}, nil
	}
	if err != nil {
		return fail("write receipt", err)
	}
	p.deletionConfirmed(r.Bytes)
	p.cfg.Logger.InfoContext(ctx, "staged audio deleted and confirmed", "call_id", callID, "status", status)
	return r, nil
}

// roles names n channels (at least len(given) when n is 0) from given, then defaults.
func roles(given []string, n int) []string {
	if len(given) == 0 {
		given = DefaultRoles
	}
	if n == 0 {
		return append([]string(nil), given...)
	}
	out := make([]string, n)
	for i := range out {
		if i < len(given) && given[i] != "" {
			out[i] = given[i]
		} else {
			out[i] = fmt.Sprintf("channel%d", i)
		}
	}
	return out
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

type progressReader struct {
	r      io.Reader
	done   int64
	total  int64
	report func(done, total int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	p.report(p.done, p.total)
	return n, err
}
