package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"callscribe"
)

// Worker runs queued calls: River's worker of TranscribeJob. River runs a job at least
// once, so the work is idempotent (ProcessQueued leaves an ended call alone), and a
// withdrawal of consent does not depend on the job being cancelled: the pipeline's
// consent watcher polls while the call runs.
type Worker struct {
	river.WorkerDefaults[callscribe.TranscribeJob]
	Pipeline *Pipeline
	// TimeoutFloor (CALLSCRIBE_JOB_TIMEOUT), when set, is the shortest time an attempt
	// gets: a call gets AttemptTimeout of its audio's duration. Unset: River's JobTimeout
	// for every call.
	TimeoutFloor time.Duration
}

// timeoutLookup bounds how long Timeout may take to tell a call's duration.
const timeoutLookup = 10 * time.Second

// Timeout is the attempt's deadline: AttemptTimeout of the call's duration, told from its
// staged audio (the floor when it cannot be told). River applies it to the attempt, and
// its rescuer leaves a running job alone for as long as this, so a long call is neither
// cut off nor run twice.
func (w *Worker) Timeout(job *river.Job[callscribe.TranscribeJob]) time.Duration {
	if w.TimeoutFloor <= 0 {
		return 0
	}
	ctx, cancel := context.WithTimeout(callscribe.AsSystem(context.Background()), timeoutLookup)
	defer cancel()
	return AttemptTimeout(w.TimeoutFloor, w.Pipeline.QueuedDuration(ctx, job.Args.CallID))
}

// Work processes the job's call. An error that another attempt cannot mend (unreadable
// audio, a withdrawal, a limit) cancels the job at once; the call has then ended with its
// audio deleted and confirmed. The error River records in the job row carries the call
// id and the error code only: job rows are plain JSON and must hold no personal data.
func (w *Worker) Work(ctx context.Context, job *river.Job[callscribe.TranscribeJob]) error {
	// A job names its call by id alone: loading it is cross-organization system work.
	ctx = callscribe.AsSystem(ctx)
	last := job.Attempt >= job.MaxAttempts
	err := w.Pipeline.ProcessQueued(ctx, job.Args.CallID, last)
	if err == nil {
		return nil
	}
	safe := fmt.Errorf("call %s: %s", job.Args.CallID, callscribe.ErrorCode(err))
	if !Retryable(err) {
		return river.JobCancel(safe)
	}
	w.Pipeline.cfg.Logger.WarnContext(ctx, "call attempt failed", "call_id", job.Args.CallID,
		"attempt", job.Attempt, "max_attempts", job.MaxAttempts, "last", last, "err", err)
	return safe
}
