package pipeline_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"callscribe"
	"callscribe/internal/logbuf"
	"callscribe/pipeline"
	"callscribe/storage/s3"
	"callscribe/storage/s3test"
)

// deleteFails is the object-store stage with a Delete that fails while fail is set, as a
// store that refuses it would.
type deleteFails struct {
	*s3.Stage
	fail atomic.Bool
}

func (d *deleteFails) Delete(ctx context.Context, key string) error {
	if d.fail.Load() {
		return callscribe.Errorf(callscribe.EUNAVAILABLE, "the object store refused the delete")
	}
	return d.Stage.Delete(ctx, key)
}

// TestFailedDeletionIsLoggedAndSwept is invariant 2 when the deletion fails: a call that
// ends (failed, or completed) while its staged audio cannot be deleted logs at once a
// line naming the call and the step that failed (ids only), returns the failure, writes
// no receipt; then the sweeper deletes the audio, confirms it and writes the receipt.
func TestFailedDeletionIsLoggedAndSwept(t *testing.T) {
	t.Parallel()
	junk := make([]byte, 5000)
	rand.Read(junk)
	tests := []struct {
		name   string
		audio  func(t *testing.T) []byte
		status callscribe.CallStatus
		code   string // of the error Run returns: the call's own cause comes first
	}{
		{"failed call", func(*testing.T) []byte { return junk }, callscribe.CallFailed, callscribe.EUNREADABLE},
		{"completed call", speech, callscribe.CallCompleted, callscribe.EUNAVAILABLE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, callscribe.PurposeTranscription)
			ctx := callscribe.AsSystem(context.Background())
			st, _ := s3test.Stage(t)
			stage := &deleteFails{Stage: st}
			stage.fail.Store(true)
			logs := &logbuf.Buffer{}
			p := pipeline.New(pipeline.Config{Store: e.db, Stage: stage, Decode: decode, Transcriber: fixedTranscriber{},
				Logger: slog.New(slog.NewTextHandler(logs, nil))})
			audio := tt.audio(t)
			res, err := p.Run(ctx, pipeline.Input{Owner: e.user, Audio: bytes.NewReader(audio), Size: int64(len(audio))})
			if callscribe.ErrorCode(err) != tt.code || !strings.Contains(err.Error(), "delete") {
				t.Errorf("Run: %v (code %q); want code %s and the failed deletion reported", err, callscribe.ErrorCode(err), tt.code)
			}
			var line string
			for _, l := range strings.Split(logs.String(), "\n") {
				if strings.Contains(l, "call_id="+res.CallID.String()) && strings.Contains(l, "step=delete") {
					line = l
				}
			}
			if line == "" || !strings.Contains(line, "level=ERROR") || !strings.Contains(line, "refused the delete") {
				t.Errorf("no error line with the call id, step=delete and its cause; logs:\n%s", logs)
			}
			if strings.Contains(logs.String(), e.user.Email) || strings.Contains(logs.String(), e.user.Phone) {
				t.Errorf("the logs name the owner:\n%s", logs)
			}
			if status, _ := e.db.CallStatus(ctx, res.CallID); status != tt.status {
				t.Errorf("call is %s, want %s", status, tt.status)
			}
			if _, err := e.db.Receipt(ctx, res.CallID); callscribe.ErrorCode(err) != callscribe.ENOTFOUND || !res.Receipt.ConfirmedAt.IsZero() {
				t.Fatalf("receipt with the audio still staged: stored %v, returned %+v; want none", err, res.Receipt)
			}

			r, err := pipeline.Sweeper{Store: e.db, Stage: st}.SweepOnce(ctx)
			if err != nil || r.Confirmed != 1 {
				t.Fatalf("sweep = %+v, %v; want the call's deletion confirmed", r, err)
			}
			receipt, err := e.db.Receipt(ctx, res.CallID)
			if err != nil || receipt.Bytes != int64(len(audio)) || receipt.ConfirmedAt.IsZero() {
				t.Errorf("receipt after the sweep = %+v, %v; want %d bytes, confirmed", receipt, err, len(audio))
			}
			if ok, err := st.Exists(ctx, "calls/"+res.CallID.String()); err != nil || ok {
				t.Errorf("staged audio after the sweep: exists %v, %v; want gone", ok, err)
			}
		})
	}
}
