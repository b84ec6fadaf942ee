package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"time"

	"github.com/google/uuid"

	"callscribe"
	"callscribe/audio"
)

// ServiceStore is what the service's ingestion and job worker need of the database
// beyond Store: the one transaction that records a call with its staging and its job,
// the record of a refused upload's deletion, the discarding of queued calls, and lookups.
type ServiceStore interface {
	AcceptCall(ctx context.Context, c callscribe.NewCall, s callscribe.Staging) (id uuid.UUID, existing bool, err error)
	RecordRejected(ctx context.Context, c callscribe.NewCall, s callscribe.Staging, code, message string, deletedAt, confirmedAt time.Time) (callscribe.Receipt, error)
	// CallByExternalID finds the call an external id names (the one that has not
	// failed, else the latest that did) and its status.
	CallByExternalID(ctx context.Context, orgID uuid.UUID, externalID string) (uuid.UUID, callscribe.CallStatus, error)
	CallForWork(ctx context.Context, callID uuid.UUID) (callscribe.Call, callscribe.User, error)
	// DiscardQueuedCalls ends the owner's queued calls (discarded, keys erased) and
	// returns them.
	DiscardQueuedCalls(ctx context.Context, ownerID uuid.UUID, code, message string) ([]uuid.UUID, error)
	// RequeueCall moves a processing call back to staged: its attempt failed, another
	// will come, and no worker holds it meanwhile.
	RequeueCall(ctx context.Context, callID uuid.UUID) error
}

// errNoService refuses the service's paths on a pipeline wired without a ServiceStore.
var errNoService = errors.New("the pipeline has no service store (Config.Service): it cannot queue calls")

// Upload is one call offered over the API: its audio as a stream and what the client
// says of it.
type Upload struct {
	Owner      callscribe.User
	ExternalID string // the client's id of the call; a repeat returns its call, unless that failed
	Phone      string // the other party's number in E.164 (callscribe.NormalizePhone); "" when not given
	StartedAt  *time.Time
	Roles      []string
	Raw        *callscribe.RawFormat // headerless audio of this format; nil: sniffed
	Audio      io.Reader
	Size       int64 // bytes of Audio when known (Content-Length), -1 otherwise
}

// Accepted is the outcome of an accepted upload.
type Accepted struct {
	CallID   uuid.UUID
	Existing bool // a call with the same external id was there already; nothing was queued
	// RetryOf is the failed call of the same external id that this new call sends again.
	RetryOf *uuid.UUID
}

// sniffBytes is how much of an upload is read before staging to tell audio from anything
// else: enough for any WAV or MP3 header short of a large ID3 tag.
const sniffBytes = 4096

// Accept ingests an upload: admission first (admit: blocked or without consent,
// nothing is read, staged or recorded), then the first bytes are sniffed (not audio, or
// longer than MaxDuration by its byte rate: refused before staging), then the stream
// goes through the one staging path (stage), counting bytes against MaxBytes as it goes
// (crossed: refused at once). Only a wholly staged call is recorded, with its staging
// record and its job, in one transaction. Whatever was staged of a refused upload is
// deleted, the deletion confirmed and receipted. Every refusal is counted by its code.
func (p *Pipeline) Accept(ctx context.Context, up Upload) (_ Accepted, err error) {
	defer func() {
		if err != nil {
			p.cfg.Metrics.CallsRefused.WithLabelValues(callscribe.ErrorCode(err)).Inc()
		}
	}()
	st := p.cfg.Service
	if st == nil {
		return Accepted{}, errNoService
	}
	refused := p.admit(ctx, up.Owner)
	// A blocked owner's data is not processed, nor shown: not even a repeat's call id.
	if code := callscribe.ErrorCode(refused); refused != nil && code != callscribe.ENOCONSENT {
		return Accepted{}, refused
	}
	// A repeat of an external id returns its call, unless that call failed: then the
	// upload is a new call, linked to the failed one.
	var retryOf *uuid.UUID
	if up.ExternalID != "" {
		id, status, err := st.CallByExternalID(ctx, up.Owner.OrgID, up.ExternalID)
		switch {
		case err == nil && status != callscribe.CallFailed:
			return Accepted{CallID: id, Existing: true}, nil
		case err == nil:
			retryOf = &id
		case callscribe.ErrorCode(err) != callscribe.ENOTFOUND:
			return Accepted{}, err
		}
	}
	if refused != nil {
		return Accepted{}, refused
	}
	if p.cfg.MaxBytes > 0 && up.Size > p.cfg.MaxBytes {
		return Accepted{}, p.tooLarge()
	}
	in := bufio.NewReaderSize(&byteLimit{r: up.Audio, max: p.cfg.MaxBytes, tooLarge: p.tooLarge}, sniffBytes)
	if err := p.sniff(in, up); err != nil {
		return Accepted{}, err
	}

	nc := callscribe.NewCall{ID: uuid.New(), OrgID: up.Owner.OrgID, OwnerID: up.Owner.ID,
		ExternalID: up.ExternalID, Phone: up.Phone, StartedAt: up.StartedAt, Channels: roles(up.Roles, 0), Raw: up.Raw, RetryOf: retryOf}
	began := p.cfg.Now()
	staging, err := p.stage(ctx, nc.ID, in, up.Size, false)()
	if err != nil {
		p.reject(ctx, nc, staging, err)
		return Accepted{}, err
	}
	p.cfg.Metrics.Step("staging", began, p.cfg.Now())
	if !p.cfg.Stage.ProcessLocal() {
		// A shared stage: the worker, maybe in another process, reads the key from the
		// call's row, which erases it when the call ends.
		staging.Key = p.key(nc.ID)
	}
	id, existing, err := st.AcceptCall(ctx, nc, staging)
	clear(staging.Key) // recorded with the call, or about to be forgotten by reject
	if err != nil {
		p.reject(ctx, nc, staging, err)
		return Accepted{}, err
	}
	if existing {
		// A concurrent upload with the same external id won the race; ours goes.
		p.reject(ctx, nc, staging, callscribe.Errorf(callscribe.ECONFLICT, "a concurrent upload of the same external id became call %s", id))
		return Accepted{CallID: id, Existing: true}, nil
	}
	p.cfg.Metrics.CallsAccepted.Inc()
	// Counted once queued: the worker's confirmed deletion takes it off again, and an
	// upload rejected after staging (deleted by reject) never counts.
	p.cfg.Metrics.StagedBytes.Add(float64(staging.Bytes))
	p.cfg.Logger.InfoContext(ctx, "call accepted", "call_id", id, "stage", staging.Stage, "bytes", staging.Bytes)
	return Accepted{CallID: id, RetryOf: retryOf}, nil
}

func (p *Pipeline) tooLarge() error {
	return callscribe.Errorf(callscribe.ETOOLARGE, "the call is larger than the limit of %d bytes (CALLSCRIBE_MAX_CALL_BYTES)", p.cfg.MaxBytes)
}

// errSniffEnd ends the sniffer's view of an upload: a header longer than what was peeked
// is not judged before staging (the worker decodes it in full).
var errSniffEnd = errors.New("end of the sniffed bytes")

// sniff peeks at the upload's first bytes and refuses what is not audio the decoder
// knows, and a call that its size and its format's byte rate show to be longer than
// MaxDuration: every codec counts (PCM of any width, float, G.711, GSM, raw, MP3 whose
// start tells its length; see audio.Decoder.Duration), so no long call is staged whole
// only to be refused by the worker.
func (p *Pipeline) sniff(in *bufio.Reader, up Upload) error {
	head, err := in.Peek(sniffBytes)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return err // a read error or the byte limit
	}
	if len(head) == 0 {
		return callscribe.Errorf(callscribe.EUNREADABLE, "the upload is empty")
	}
	var r io.Reader = bytes.NewReader(head)
	if len(head) == sniffBytes {
		r = io.MultiReader(r, errorReader{errSniffEnd})
	}
	var d *audio.Decoder
	if up.Raw != nil {
		if p.cfg.DecodeRaw == nil {
			return callscribe.Errorf(callscribe.EUNREADABLE, "raw (headerless) audio cannot be decoded by this server; send WAV or MP3")
		}
		d, err = audio.OpenRaw(r, audio.RawFormat{Encoding: up.Raw.Encoding, SampleRate: up.Raw.SampleRate, Channels: up.Raw.Channels})
	} else {
		d, err = audio.Open(r)
	}
	if errors.Is(err, errSniffEnd) {
		return nil
	}
	if err != nil {
		return err
	}
	defer d.Close() // frees what a codec holds outside the Go heap (libmpg123, libgsm)
	if p.cfg.MaxDuration <= 0 || up.Size <= 0 {
		return nil
	}
	if length, ok := d.Duration(up.Size); ok && length > p.cfg.MaxDuration {
		return callscribe.Errorf(callscribe.ETOOLARGE, "the call lasts about %.0f s, longer than the limit of %s (CALLSCRIBE_MAX_CALL_DURATION)", length.Seconds(), p.cfg.MaxDuration)
	}
	return nil
}

type errorReader struct{ err error }

func (e errorReader) Read([]byte) (int, error) { return 0, e.err }

// byteLimit fails with tooLarge as soon as more than max bytes were read (max 0: no
// limit); it never reads more than one byte past the limit.
type byteLimit struct {
	r        io.Reader
	max, n   int64
	tooLarge func() error
}

func (b *byteLimit) Read(p []byte) (int, error) {
	if b.max <= 0 {
		return b.r.Read(p)
	}
	if room := b.max - b.n + 1; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	if b.n > b.max {
		return 0, b.tooLarge()
	}
	return n, err
}

// reject ends an upload that was (partly) staged but will not be queued: the staged
// object is deleted and confirmed gone, and when any byte was received a failed call is
// recorded with the receipt. It runs to the end even if the request was cancelled.
func (p *Pipeline) reject(ctx context.Context, nc callscribe.NewCall, s callscribe.Staging, cause error) {
	ctx = context.WithoutCancel(ctx)
	p.forget(nc.ID)
	clear(s.Key)
	fail := func(step string, err error) {
		p.cfg.Logger.ErrorContext(ctx, "a refused upload's staged audio is not confirmed deleted; the sweeper will finish it",
			"call_id", nc.ID, "step", step, "err", err)
	}
	key := objectKey(nc.ID)
	if err := p.cfg.Stage.Delete(ctx, key); err != nil {
		fail("delete", err)
		return
	}
	deletedAt := p.cfg.Now()
	if exists, err := p.cfg.Stage.Exists(ctx, key); err != nil || exists {
		if err == nil {
			err = errors.New("still there after deletion")
		}
		fail("confirm deletion", err)
		return
	}
	if callscribe.ErrorCode(cause) == callscribe.EINTERNAL {
		p.cfg.Logger.ErrorContext(ctx, "upload failed", "call_id", nc.ID, "err", cause)
	}
	if s.Bytes == 0 {
		return // nothing was received: nothing to prove
	}
	nc.ExternalID = "" // the id stays free for the client's retry
	if _, err := p.cfg.Service.RecordRejected(ctx, nc, s, callscribe.ErrorCode(cause), callscribe.ErrorMessage(cause), deletedAt, p.cfg.Now()); err != nil {
		fail("write receipt", err)
		return
	}
	p.cfg.Metrics.DeletionsConfirmed.Inc()
	p.cfg.Logger.InfoContext(ctx, "refused upload deleted and confirmed", "call_id", nc.ID, "code", callscribe.ErrorCode(cause))
}

// ProcessQueued runs the queued call callID: the job worker's path. It is idempotent, as
// River runs a job at least once: a call that has ended is left as it is. An error that
// may pass (a dependency down, a timeout) leaves the call staged for another attempt
// unless last is set; any other error, and any error on the last attempt, ends the call
// with its audio deleted, the deletion confirmed and receipted.
func (p *Pipeline) ProcessQueued(ctx context.Context, callID uuid.UUID, last bool) error {
	st := p.cfg.Service
	if st == nil {
		return errNoService
	}
	c, owner, err := st.CallForWork(ctx, callID)
	if callscribe.ErrorCode(err) == callscribe.ENOTFOUND {
		return nil // erased meanwhile: nothing left to do
	}
	if err != nil {
		return err
	}
	if c.Status.Ended() {
		return nil
	}
	if c.Staging == nil || c.Receipt != nil {
		_, err := p.end(ctx, callID, callscribe.CallFailed, callscribe.Errorf(callscribe.EINTERNAL, "call %s has no staged audio to transcribe", callID))
		return ended{err}
	}
	p.mu.Lock()
	if p.keys[callID] == nil && c.Staging.Key != nil {
		p.keys[callID] = bytes.Clone(c.Staging.Key)
	}
	have := p.keys[callID] != nil
	p.mu.Unlock()
	clear(c.Staging.Key)
	if !have {
		_, err := p.end(ctx, callID, callscribe.CallFailed, callscribe.Errorf(callscribe.EUNAVAILABLE,
			"the call's audio was staged in the memory of another server process and cannot be read here; upload the call again"))
		return ended{err}
	}
	retry := func(err error) bool { return !last && Retryable(err) }
	_, err = p.process(ctx, owner, callID, callRun{
		total: c.Staging.Bytes, roles: c.Channels, raw: c.Raw, retry: retry,
	})
	if err != nil && retry(err) {
		// The call waits for its next attempt: it says queued, not processing, until a
		// worker takes it again. This runs even when the attempt was cancelled (a timeout,
		// a shutdown).
		if rerr := st.RequeueCall(context.WithoutCancel(ctx), callID); rerr != nil {
			p.cfg.Logger.ErrorContext(ctx, "requeue call", "call_id", callID, "err", rerr)
		}
	}
	return err
}

// Retryable reports whether another attempt at a call could succeed: a fault of ours or
// of a dependency may pass; unreadable audio, a limit or a withdrawal will not.
func Retryable(err error) bool {
	if errors.As(err, new(ended)) {
		return false
	}
	switch callscribe.ErrorCode(err) {
	case callscribe.EINTERNAL, callscribe.EUNAVAILABLE:
		return true
	}
	return false
}

// ended marks an error after which the call has ended: nothing is left to retry.
type ended struct{ error }

func (e ended) Unwrap() error { return e.error }

// callEnded counts a call's end. (Its webhooks were recorded by the transaction that
// ended it: see postgres.DB.OnCallEnd.)
func (p *Pipeline) callEnded(status callscribe.CallStatus) {
	p.cfg.Metrics.CallsEnded.WithLabelValues(string(status)).Inc()
}

// deletionConfirmed counts a staged object deleted, confirmed gone and receipted.
func (p *Pipeline) deletionConfirmed(bytes int64) {
	p.cfg.Metrics.DeletionsConfirmed.Inc()
	p.cfg.Metrics.StagedBytes.Sub(float64(bytes))
}

// durationLimit fails recognition (ETOOLARGE) once a channel's 16 kHz PCM is longer than
// the limit: the duration of a compressed or unsized call is known only by decoding it.
type durationLimit struct {
	r    io.Reader
	left int64 // bytes of PCM still allowed
	max  time.Duration
}

func (d *durationLimit) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	d.left -= int64(n)
	if d.left < 0 {
		return 0, callscribe.Errorf(callscribe.ETOOLARGE, "the call is longer than the limit of %s (CALLSCRIBE_MAX_CALL_DURATION)", d.max)
	}
	return n, err
}

// DiscardQueued ends at once every call of the owner still queued — after a withdrawal
// of transcription consent — deleting its staged audio, confirming the deletion and
// writing the receipt; it returns how many it discarded. Calls already being recognised
// are stopped by their consent watcher.
func (p *Pipeline) DiscardQueued(ctx context.Context, ownerID uuid.UUID) (int, error) {
	st := p.cfg.Service
	if st == nil {
		return 0, errNoService
	}
	cause := callscribe.Errorf(callscribe.ENOCONSENT, "consent to transcription was withdrawn")
	ids, err := st.DiscardQueuedCalls(ctx, ownerID, callscribe.ENOCONSENT, callscribe.ErrorMessage(cause))
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, id := range ids {
		if _, err := p.finish(ctx, id, callscribe.CallDiscarded, cause); err != nil {
			errs = append(errs, err) // the sweeper finishes what could not be confirmed
		}
	}
	return len(ids), errors.Join(errs...)
}
