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
	// Renew, when set, renews the running job's claim every RenewEvery while an attempt
	// runs. River presumes a job dead once it has been running for RescueStuckJobsAfter
	// and runs it again; an attempt at a long call may rightly run longer than that, so
	// the claim is renewed for as long as its worker is alive and the attempt not over.
	Renew      func(ctx context.Context, jobID int64) error
	RenewEvery time.Duration
}

// Timeout hands the attempt's deadline to Work, which sets it once it knows the call's
// duration (River asks before the call is read): -1 is no River deadline.
func (w *Worker) Timeout(*river.Job[callscribe.TranscribeJob]) time.Duration {
	if w.TimeoutFloor > 0 {
		return -1
	}
	return 0
}

// Work processes the job's call. An error that another attempt cannot mend (unreadable
// audio, a withdrawal, a limit) cancels the job at once; the call has then ended with its
// audio deleted and confirmed. The error River records in the job row carries the call
// id and the error code only: job rows are plain JSON and must hold no personal data.
func (w *Worker) Work(ctx context.Context, job *river.Job[callscribe.TranscribeJob]) error {
	// A job names its call by id alone: loading it is cross-organization system work.
	ctx = callscribe.AsSystem(ctx)
	if w.Renew != nil && w.RenewEvery > 0 {
		stop := w.renew(ctx, job.ID)
		defer stop()
	}
	last := job.Attempt >= job.MaxAttempts
	var timeout func(time.Duration) time.Duration
	if w.TimeoutFloor > 0 {
		timeout = func(audio time.Duration) time.Duration { return AttemptTimeout(w.TimeoutFloor, audio) }
	}
	err := w.Pipeline.ProcessQueuedWithin(ctx, job.Args.CallID, last, timeout)
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

// renew renews the job's claim every RenewEvery until the returned stop is called (the
// attempt is over) or ctx ends (River cancelled it): a worker that dies renews nothing,
// and River runs its job again RescueStuckJobsAfter after the last renewal.
func (w *Worker) renew(ctx context.Context, jobID int64) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(w.RenewEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if err := w.Renew(ctx, jobID); err != nil && ctx.Err() == nil {
					w.Pipeline.cfg.Logger.WarnContext(ctx, "renew the job's claim", "job_id", jobID, "err", err)
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}
