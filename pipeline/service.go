package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"
	"github.com/minio/sio"

	"callscribe"
	"callscribe/audio"
	"callscribe/metrics"
)

// ServiceStore is what the service's ingestion and job worker need of the database
// beyond Store: the one transaction that records a call with its staging and its job,
// the record of a refused upload's deletion, and lookups.
type ServiceStore interface {
	Store
	AcceptCall(ctx context.Context, c callscribe.NewCall, s callscribe.Staging) (id uuid.UUID, existing bool, err error)
	// Admission is UserBlocked and ConsentInForce in one round trip: an upload asks both.
	Admission(ctx context.Context, userID uuid.UUID, purpose callscribe.Purpose) (blocked, consented bool, err error)
	RecordRejected(ctx context.Context, c callscribe.NewCall, s callscribe.Staging, code, message string, deletedAt, confirmedAt time.Time) (callscribe.Receipt, error)
	// CallByExternalID finds the call an external id names (the one that has not
	// failed, else the latest that did) and its status.
	CallByExternalID(ctx context.Context, orgID uuid.UUID, externalID string) (uuid.UUID, callscribe.CallStatus, error)
	CallForWork(ctx context.Context, callID uuid.UUID) (callscribe.Call, callscribe.User, error)
	// RequeueCall moves a processing call back to staged: its attempt failed, another
	// will come, and no worker holds it meanwhile.
	RequeueCall(ctx context.Context, callID uuid.UUID) error
}

// local is a stage whose objects live in this process only (the memory stage): the
// encryption keys of its objects stay in process memory and are never recorded.
type local interface{ ProcessLocal() bool }

// Upload is one call offered over the API: its audio as a stream and what the client
// says of it.
type Upload struct {
	Owner      callscribe.User
	ExternalID string // the client's id of the call; a repeat returns its call, unless that failed
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

// Accept ingests an upload: the owner's block and consent first (blocked or without
// consent, nothing is read, staged or recorded), then the first bytes are sniffed (not
// audio: refused before staging), then the stream is encrypted with a fresh key and
// staged, counting bytes against MaxBytes as it goes (crossed: refused at once). Only a
// wholly staged call is recorded, with its staging record and its job, in one
// transaction. Whatever was staged of a refused upload is deleted, the deletion
// confirmed and receipted. Every refusal is counted by its code.
func (p *Pipeline) Accept(ctx context.Context, up Upload) (_ Accepted, err error) {
	defer func() {
		if err != nil {
			metrics.CallsRefused.WithLabelValues(callscribe.ErrorCode(err)).Inc()
		}
	}()
	st, ok := p.cfg.Store.(ServiceStore)
	if !ok {
		return Accepted{}, errors.New("accept: the store cannot queue calls")
	}
	blocked, consented, err := st.Admission(ctx, up.Owner.ID, callscribe.PurposeTranscription)
	if err != nil {
		return Accepted{}, err
	}
	// A blocked owner's data is not processed, nor shown: not even a repeat's call id.
	if blocked {
		return Accepted{}, blockedError(up.Owner)
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
	if !consented {
		return Accepted{}, callscribe.Errorf(callscribe.ENOCONSENT,
			"user %s has not consented to transcription; nothing was stored", up.Owner.Email)
	}
	if p.cfg.MaxBytes > 0 && up.Size > p.cfg.MaxBytes {
		return Accepted{}, p.tooLarge()
	}
	in := bufio.NewReaderSize(&byteLimit{r: up.Audio, max: p.cfg.MaxBytes, tooLarge: p.tooLarge}, sniffBytes)
	if err := p.sniff(in, up); err != nil {
		return Accepted{}, err
	}

	nc := callscribe.NewCall{ID: uuid.New(), OrgID: up.Owner.OrgID, OwnerID: up.Owner.ID,
		ExternalID: up.ExternalID, StartedAt: up.StartedAt, Channels: roles(up.Roles, 0), Raw: up.Raw, RetryOf: retryOf}
	began := p.cfg.Now()
	staging, err := p.stage(ctx, nc.ID, in, up.Size)
	if err != nil {
		p.reject(ctx, nc, staging, err)
		return Accepted{}, err
	}
	metrics.Step("staging", began, p.cfg.Now())
	id, existing, err := st.AcceptCall(ctx, nc, staging)
	if err != nil {
		p.reject(ctx, nc, staging, err)
		return Accepted{}, err
	}
	if existing {
		// A concurrent upload with the same external id won the race; ours goes.
		p.reject(ctx, nc, staging, callscribe.Errorf(callscribe.ECONFLICT, "a concurrent upload of the same external id became call %s", id))
		return Accepted{CallID: id, Existing: true}, nil
	}
	metrics.CallsAccepted.Inc()
	// Counted once queued: the worker's confirmed deletion takes it off again, and an
	// upload rejected after staging (deleted by reject) never counts.
	metrics.StagedBytes.Add(float64(staging.Bytes))
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
// knows, and a WAV whose byte rate shows the call is longer than MaxDuration.
func (p *Pipeline) sniff(in *bufio.Reader, up Upload) error {
	head, err := in.Peek(sniffBytes)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return err // a read error or the byte limit
	}
	if len(head) == 0 {
		return callscribe.Errorf(callscribe.EUNREADABLE, "the upload is empty")
	}
	if up.Raw != nil {
		if p.cfg.DecodeRaw == nil {
			return callscribe.Errorf(callscribe.EUNREADABLE, "raw (headerless) audio cannot be decoded by this server; send WAV or MP3")
		}
		return nil
	}
	var r io.Reader = bytes.NewReader(head)
	if len(head) == sniffBytes {
		r = io.MultiReader(r, errorReader{errSniffEnd})
	}
	d, err := audio.Open(r)
	if errors.Is(err, errSniffEnd) {
		return nil
	}
	if err != nil {
		return err
	}
	f := d.Format()
	if p.cfg.MaxDuration > 0 && up.Size > 0 && f.Codec == "pcm_s16le" && f.SampleRate > 0 && f.Channels > 0 {
		secs := float64(up.Size) / float64(f.SampleRate*f.Channels*2)
		if secs > p.cfg.MaxDuration.Seconds() {
			return callscribe.Errorf(callscribe.ETOOLARGE, "the call lasts about %.0f s, longer than the limit of %s (CALLSCRIBE_MAX_CALL_DURATION)", secs, p.cfg.MaxDuration)
		}
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

// stage encrypts the audio with a fresh per-call key and puts it in the stage, hashing
// and counting the plaintext on the way. It returns what was staged even on failure, so
// a refused upload's receipt covers every byte received.
func (p *Pipeline) stage(ctx context.Context, callID uuid.UUID, in io.Reader, size int64) (callscribe.Staging, error) {
	s := callscribe.Staging{Stage: p.cfg.Stage.Name(), ObjectKey: objectKey(callID), StagedAt: p.cfg.Now()}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return s, fmt.Errorf("stage: new key: %w", err)
	}
	hash := sha256.New()
	counter := &countingReader{r: io.TeeReader(in, hash)}
	enc, err := sio.EncryptReader(counter, sioConfig(key))
	if err != nil {
		return s, fmt.Errorf("stage: encrypt: %w", err)
	}
	encSize := int64(-1)
	if size >= 0 {
		if n, err := sio.EncryptedSize(uint64(size)); err == nil {
			encSize = int64(n)
		}
	}
	_, err = p.cfg.Stage.Put(ctx, objectKey(callID), enc, encSize)
	s.Bytes, s.SHA256 = counter.n, hex.EncodeToString(hash.Sum(nil))
	if err == nil && counter.n == 0 {
		err = callscribe.Errorf(callscribe.EUNREADABLE, "the upload is empty")
	}
	if err != nil {
		clear(key)
		return s, fmt.Errorf("stage: %w", err)
	}
	if l, ok := p.cfg.Stage.(local); !ok || !l.ProcessLocal() {
		s.Key = key // a shared stage: the worker, maybe elsewhere, reads the key from its row
	}
	p.mu.Lock()
	p.keys[callID] = key
	p.mu.Unlock()
	return s, nil
}

// reject ends an upload that was (partly) staged but will not be queued: the staged
// object is deleted and confirmed gone, and when any byte was received a failed call is
// recorded with the receipt. It runs to the end even if the request was cancelled.
func (p *Pipeline) reject(ctx context.Context, nc callscribe.NewCall, s callscribe.Staging, cause error) {
	ctx = context.WithoutCancel(ctx)
	p.mu.Lock()
	if key := p.keys[nc.ID]; key != nil {
		clear(key)
		delete(p.keys, nc.ID)
	}
	p.mu.Unlock()
	if s.Key != nil {
		clear(s.Key)
	}
	key := objectKey(nc.ID)
	if err := p.cfg.Stage.Delete(ctx, key); err != nil {
		p.cfg.Logger.ErrorContext(ctx, "delete a refused upload", "call_id", nc.ID, "err", err)
		return
	}
	deletedAt := p.cfg.Now()
	if exists, err := p.cfg.Stage.Exists(ctx, key); err != nil || exists {
		p.cfg.Logger.ErrorContext(ctx, "a refused upload's staged audio is not confirmed gone", "call_id", nc.ID, "exists", exists, "err", err)
		return
	}
	if callscribe.ErrorCode(cause) == callscribe.EINTERNAL {
		p.cfg.Logger.ErrorContext(ctx, "upload failed", "call_id", nc.ID, "err", cause)
	}
	if s.Bytes == 0 {
		return // nothing was received: nothing to prove
	}
	nc.ExternalID = "" // the id stays free for the client's retry
	if _, err := p.cfg.Store.(ServiceStore).RecordRejected(ctx, nc, s, callscribe.ErrorCode(cause), callscribe.ErrorMessage(cause), deletedAt, p.cfg.Now()); err != nil {
		p.cfg.Logger.ErrorContext(ctx, "record a refused upload", "call_id", nc.ID, "err", err)
		return
	}
	metrics.DeletionsConfirmed.Inc()
	p.cfg.Logger.InfoContext(ctx, "refused upload deleted and confirmed", "call_id", nc.ID, "code", callscribe.ErrorCode(cause))
}

// ProcessQueued runs the queued call callID: the job worker's path. It is idempotent, as
// River runs a job at least once: a call that has ended is left as it is. An error that
// may pass (a dependency down, a timeout) leaves the call staged for another attempt
// unless last is set; any other error, and any error on the last attempt, ends the call
// with its audio deleted, the deletion confirmed and receipted.
func (p *Pipeline) ProcessQueued(ctx context.Context, callID uuid.UUID, last bool) error {
	st, ok := p.cfg.Store.(ServiceStore)
	if !ok {
		return errors.New("process queued call: the store cannot read queued calls")
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
		err := callscribe.Errorf(callscribe.EINTERNAL, "call %s has no staged audio to transcribe", callID)
		p.finish(ctx, callID, callscribe.CallFailed, err)
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
		err := callscribe.Errorf(callscribe.EUNAVAILABLE,
			"the call's audio was staged in the memory of another server process and cannot be read here; upload the call again")
		p.finish(ctx, callID, callscribe.CallFailed, err)
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
	metrics.CallsEnded.WithLabelValues(string(status)).Inc()
}

func observeStep(step string, began, ended time.Time) { metrics.Step(step, began, ended) }

func deletionConfirmed(bytes int64) {
	metrics.DeletionsConfirmed.Inc()
	metrics.StagedBytes.Sub(float64(bytes))
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
	st, ok := p.cfg.Store.(interface {
		DiscardQueuedCalls(ctx context.Context, ownerID uuid.UUID, code, message string) ([]uuid.UUID, error)
	})
	if !ok {
		return 0, errors.New("discard queued calls: the store cannot")
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
