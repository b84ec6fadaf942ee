package privacy

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"callscribe"
)

// EraseRequests is what EraseWorker reads: the request that ordered the erasure, for its
// subject (the job names the request alone).
type EraseRequests interface {
	Request(ctx context.Context, id uuid.UUID) (callscribe.Request, error)
}

// EraseWorker runs erase_subject jobs: the purge that completing an erasure request
// enqueues in its closing transaction. It erases the request's subject and writes the
// ledger entry (Eraser.Erase); a failure is retried by River, and the retention job's
// Reapply finishes any erasure still half-done. The River client must work
// callscribe.EraseQueue.
type EraseWorker struct {
	river.WorkerDefaults[callscribe.EraseSubjectJob]
	Requests EraseRequests
	Eraser   *Eraser
	Logger   *slog.Logger
}

// Work purges the subject of the job's request.
func (w *EraseWorker) Work(ctx context.Context, job *river.Job[callscribe.EraseSubjectJob]) error {
	// A job names its request by id alone: reading it and purging are system work.
	ctx = callscribe.AsSystem(ctx)
	r, err := w.Requests.Request(ctx, job.Args.RequestID)
	if err != nil {
		return fmt.Errorf("erase subject: %w", err)
	}
	if r.UserID == uuid.Nil {
		return nil // the user row is gone: erased already (a retry, or Reapply was first)
	}
	er, err := w.Eraser.Erase(ctx, r.UserID, r.ID.String())
	if callscribe.ErrorCode(err) == callscribe.ENOTFOUND {
		return nil // erased meanwhile by another process
	}
	if err != nil {
		return err
	}
	if w.Logger != nil {
		w.Logger.InfoContext(ctx, "subject erased", "request_id", r.ID, "ledger_id", er.Entry.ID, "calls", len(er.CallIDs))
	}
	return nil
}
