package pipeline_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"callscribe"
	"callscribe/internal/testcall"
	"callscribe/pipeline"
	"callscribe/storage/postgres"
)

var _ pipeline.UserWatcher = (*postgres.DB)(nil)

// longCall is about a hundred seconds of flite speech: six sentences, five times over.
func longCall(t *testing.T) []byte {
	t.Helper()
	dir := t.TempDir()
	once := testcall.Mono(t, dir, testcall.Agent, 0.4, testcall.Sentences...)
	long := filepath.Join(dir, "long.wav")
	if out, err := exec.Command("sox", once, once, once, once, once, long).CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, out)
	}
	b, err := os.ReadFile(long)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestWithdrawalDuringLongTranscription is the policy's check: consent withdrawn while
// PocketSphinx is recognising a long call, and within 10 seconds the call is cancelled,
// nothing of it stored, and its audio deleted with the deletion confirmed. It runs once
// with the database's notification and once with the poll alone (every 1 s, the default),
// which must meet the deadline by itself.
func TestWithdrawalDuringLongTranscription(t *testing.T) {
	t.Parallel()
	wav := longCall(t)
	for _, notified := range []bool{true, false} {
		t.Run(map[bool]string{true: "notified", false: "polled"}[notified], func(t *testing.T) {
			e := newEnv(t, callscribe.PurposeTranscription, callscribe.PurposeSummarization)
			r, err := recognizer()
			if err != nil {
				t.Fatal(err)
			}
			var watcher pipeline.UserWatcher // nil: the poll alone
			if notified {
				watcher = e.db
			}
			p := pipeline.New(pipeline.Config{Store: e.db, Watcher: watcher, Stream: e.stage, Decode: decode, Transcriber: r, ConsentPoll: time.Second})
			var read atomic.Int64
			type outcome struct {
				res pipeline.Result
				err error
				at  time.Time
			}
			done := make(chan outcome, 1)
			go func() {
				res, err := p.Run(callscribe.AsSystem(context.Background()), pipeline.Input{Owner: e.user, Audio: bytes.NewReader(wav), Size: int64(len(wav)),
					Progress: func(n, total int64) { read.Store(n) }})
				done <- outcome{res, err, time.Now()}
			}()
			// Withdraw once a tenth of the call has gone into the recogniser.
			for read.Load() < int64(len(wav))/10 {
				select {
				case o := <-done:
					t.Fatalf("the call ended (%s, %v) before consent could be withdrawn mid-recognition", o.res.Status, o.err)
				case <-time.After(10 * time.Millisecond):
				}
			}
			withdrawnAt := time.Now()
			if _, err := e.db.WithdrawConsent(callscribe.AsSystem(context.Background()), e.user.ID, callscribe.PurposeTranscription, callscribe.ConsentViaAPI, withdrawnAt); err != nil {
				t.Fatal(err)
			}
			var o outcome
			select {
			case o = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("the call was still running 30 s after consent was withdrawn")
			}
			if got := callscribe.ErrorCode(o.err); got != callscribe.ENOCONSENT || o.res.Status != callscribe.CallDiscarded {
				t.Fatalf("Run: %s, code %q (%v); want discarded, %q", o.res.Status, got, o.err, callscribe.ENOCONSENT)
			}
			for _, table := range []string{"transcripts", "segments", "summaries"} {
				if n := count(t, e.db, table); n != 0 {
					t.Errorf("%d rows in %s after withdrawal, want 0", n, table)
				}
			}
			e.assertAudioGone(t, o.res, int64(len(wav)))
			if d := o.res.Receipt.ConfirmedAt.Sub(withdrawnAt); d > 10*time.Second || d < 0 {
				t.Errorf("audio confirmed deleted %v after the withdrawal, want within 10 s", d)
			}
			if d := o.at.Sub(withdrawnAt); d > 10*time.Second {
				t.Errorf("the call ended %v after the withdrawal, want within 10 s", d)
			}
			t.Logf("withdrawal → deletion confirmed: %v (%d of %d bytes read)", o.res.Receipt.ConfirmedAt.Sub(withdrawnAt), read.Load(), len(wav))
		})
	}
}

// TestWithdrawalNotifiedWithoutPolling: with a poll too slow to matter (an hour), the
// database's notification alone stops the call.
func TestWithdrawalNotifiedWithoutPolling(t *testing.T) {
	t.Parallel()
	e := newEnv(t, callscribe.PurposeTranscription)
	started := make(chan struct{})
	p := pipeline.New(pipeline.Config{Store: e.db, Watcher: e.db, Stream: e.stage, Decode: decode,
		Transcriber: blockingTranscriber{started: started}, ConsentPoll: time.Hour})
	wav := speech(t)
	done := make(chan error, 1)
	var res pipeline.Result
	go func() {
		var err error
		res, err = p.Run(callscribe.AsSystem(context.Background()), pipeline.Input{Owner: e.user, Audio: bytes.NewReader(wav), Size: int64(len(wav))})
		done <- err
	}()
	<-started
	if _, err := e.db.WithdrawConsent(callscribe.AsSystem(context.Background()), e.user.ID, callscribe.PurposeTranscription, callscribe.ConsentViaWeb, time.Now()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if callscribe.ErrorCode(err) != callscribe.ENOCONSENT {
			t.Fatalf("Run: %v, want no consent", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the call was still running 10 s after the withdrawal: the notification did not stop it")
	}
	e.assertAudioGone(t, res, int64(len(wav)))
}

// TestBlockedOwner: a blocked owner's call is refused before anything is recorded, and
// blocking an owner stops their call in flight: discarded, nothing stored, audio gone.
func TestBlockedOwner(t *testing.T) {
	t.Parallel()
	ctx := callscribe.AsSystem(context.Background())
	t.Run("refused", func(t *testing.T) {
		e := newEnv(t, callscribe.PurposeTranscription)
		if _, err := e.db.BlockUser(ctx, e.user.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		audio := &spyReader{r: bytes.NewReader(make([]byte, 1000))}
		_, err := e.pipeline(t, failingTranscriber{}, nil).Run(ctx, pipeline.Input{Owner: e.user, Audio: audio, Size: 1000})
		if got := callscribe.ErrorCode(err); got != callscribe.EBLOCKED {
			t.Fatalf("Run: code %q (%v), want %q", got, err, callscribe.EBLOCKED)
		}
		if audio.read || count(t, e.db, "calls") != 0 {
			t.Errorf("a blocked owner's call was read (%v) or recorded (%d calls)", audio.read, count(t, e.db, "calls"))
		}
	})
	t.Run("in flight", func(t *testing.T) {
		e := newEnv(t, callscribe.PurposeTranscription)
		started := make(chan struct{})
		wav := speech(t)
		done := make(chan error, 1)
		var res pipeline.Result
		go func() {
			var err error
			res, err = e.pipeline(t, blockingTranscriber{started: started}, nil).Run(ctx,
				pipeline.Input{Owner: e.user, Audio: bytes.NewReader(wav), Size: int64(len(wav))})
			done <- err
		}()
		<-started
		if _, err := e.db.BlockUser(ctx, e.user.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			if got := callscribe.ErrorCode(err); got != callscribe.EBLOCKED {
				t.Fatalf("Run: code %q (%v), want %q", got, err, callscribe.EBLOCKED)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the call was still running 10 s after its owner was blocked")
		}
		if st, _ := e.db.CallStatus(ctx, res.CallID); st != callscribe.CallDiscarded || count(t, e.db, "transcripts") != 0 {
			t.Errorf("status %s, %d transcripts; want discarded, none", st, count(t, e.db, "transcripts"))
		}
		e.assertAudioGone(t, res, int64(len(wav)))
	})
	t.Run("blocked before storing", func(t *testing.T) {
		e := newEnv(t, callscribe.PurposeTranscription)
		store := &blockBeforeStore{DB: e.db, user: e.user.ID}
		p := pipeline.New(pipeline.Config{Store: store, Stream: e.stage, Decode: decode, Transcriber: fixedTranscriber{}, ConsentPoll: time.Hour})
		wav := speech(t)
		res, err := p.Run(ctx, pipeline.Input{Owner: e.user, Audio: bytes.NewReader(wav), Size: int64(len(wav))})
		if got := callscribe.ErrorCode(err); got != callscribe.EBLOCKED || res.Status != callscribe.CallDiscarded {
			t.Fatalf("Run: %s, code %q (%v); want discarded, %q", res.Status, got, err, callscribe.EBLOCKED)
		}
		if count(t, e.db, "transcripts") != 0 {
			t.Error("a transcript was stored for a blocked owner")
		}
		e.assertAudioGone(t, res, int64(len(wav)))
	})
}

// blockBeforeStore blocks the owner just before the storing transaction starts.
type blockBeforeStore struct {
	*postgres.DB
	user uuid.UUID
}

func (b *blockBeforeStore) CompleteCall(ctx context.Context, owner uuid.UUID, t callscribe.Transcript) (callscribe.Completion, error) {
	if _, err := b.DB.BlockUser(ctx, b.user, time.Now()); err != nil {
		return callscribe.Completion{}, err
	}
	return b.DB.CompleteCall(ctx, owner, t)
}
