package pipeline_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"callscribe"
	"callscribe/internal/testcall"
	"callscribe/pipeline"
	"callscribe/storage/postgres"
)

// sharedStage hides the memory stage's ProcessLocal: its keys are recorded in the
// database, as an object store's are, so another process can read the audio.
type sharedStage struct{ callscribe.Stage }

func (sharedStage) ProcessLocal() bool { return false }

// storeOnly is a pipeline.Store and nothing more.
type storeOnly struct{ pipeline.Store }

// noJobs stands in for River's client: the call is recorded, its job is not run.
type noJobs struct{}

func (noJobs) InsertTx(context.Context, pgx.Tx, river.JobArgs, *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	return &rivertype.JobInsertResult{}, nil
}

// TestWorkerTimeoutFollowsTheCall: the worker of another process (which has only the
// database and the shared stage) tells a queued call's duration from its staged audio,
// and its attempt's timeout is 3 × that duration over a floor below it, the floor over
// a short call, and the floor once the call has ended.
func TestWorkerTimeoutFollowsTheCall(t *testing.T) {
	t.Parallel()
	e := newEnv(t, callscribe.PurposeTranscription)
	ctx := callscribe.AsSystem(context.Background())
	stage := sharedStage{e.stage}
	queued := &postgres.Queued{DB: e.db, Jobs: noJobs{}}
	accepting := pipeline.New(pipeline.Config{Store: queued, Service: queued, Stage: stage})
	file := testcall.Mono(t, t.TempDir(), testcall.Agent, 0.5, testcall.Sentences[:2]...)
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	acc, err := accepting.Accept(ctx, pipeline.Upload{Owner: e.user, Audio: f, Size: -1})
	if err != nil {
		t.Fatal(err)
	}
	// The service store is Config.Service; Store is only what every pipeline needs
	// (storeOnly hides the rest), so no run-time assertion on Store can find it.
	other := pipeline.New(pipeline.Config{Store: storeOnly{queued}, Service: queued, Stage: stage})
	want := time.Duration(testcall.Duration(t, file) * float64(time.Second))
	if got := other.QueuedDuration(ctx, acc.CallID); got < want*98/100 || got > want*102/100 {
		t.Errorf("another process tells the queued call lasts %s; want %s ± 2%%", got, want)
	}
	job := &river.Job[callscribe.TranscribeJob]{JobRow: &rivertype.JobRow{}, Args: callscribe.TranscribeJob{CallID: acc.CallID}}
	for _, tc := range []struct{ floor, min, max time.Duration }{
		{time.Second, 3 * want * 98 / 100, 3 * want * 102 / 100},
		{time.Hour, time.Hour, time.Hour},
	} {
		w := &pipeline.Worker{Pipeline: other, TimeoutFloor: tc.floor}
		if got := w.Timeout(job); got < tc.min || got > tc.max {
			t.Errorf("floor %s: the attempt's timeout is %s; want %s to %s", tc.floor, got, tc.min, tc.max)
		}
	}
	if err := e.db.EndCall(ctx, acc.CallID, callscribe.CallFailed, callscribe.EUNAVAILABLE, "gone"); err != nil {
		t.Fatal(err)
	}
	w := &pipeline.Worker{Pipeline: other, TimeoutFloor: time.Second}
	if got := w.Timeout(job); got != time.Second {
		t.Errorf("the attempt's timeout once the call ended: %s; want the floor, 1s", got)
	}
}
