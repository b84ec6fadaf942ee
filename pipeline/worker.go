package pipeline

import (
	"context"
	"fmt"

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
