package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"callscribe"
)

// SweepStore is what the sweeper needs of the database.
type SweepStore interface {
	// LiveObjectKeys returns those of keys recorded as the staged object of a live call.
	LiveObjectKeys(ctx context.Context, keys []string) (map[string]bool, error)
	// LiveCalls returns those of ids whose calls are live (received, staged, processing).
	LiveCalls(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]bool, error)
	// EndAbandonedCalls ends (failed, key erased) the live calls staged in stage whose
	// job has finished for good without ending them, and returns them.
	EndAbandonedCalls(ctx context.Context, stage string) ([]uuid.UUID, error)
	// UnconfirmedDeletions lists ended calls staged in stage without a deletion receipt.
	UnconfirmedDeletions(ctx context.Context, stage string, limit int) (map[uuid.UUID]string, error)
	ConfirmDeletion(ctx context.Context, callID uuid.UUID, deletedAt, confirmedAt time.Time) (callscribe.Receipt, error)
}

// SweepStage is a stage the sweeper can tidy: an object store.
type SweepStage interface {
	callscribe.Stage
	// Keys lists every key under which anything (any version) is stored.
	Keys(ctx context.Context) ([]string, error)
	// ModTime is when anything under key was last written; ENOTFOUND when nothing is.
	ModTime(ctx context.Context, key string) (time.Time, error)
	// ClearIncomplete aborts unfinished uploads begun more than olderThan ago.
	ClearIncomplete(ctx context.Context, olderThan time.Duration) (int, error)
}

// Defaults of a Sweeper's optional fields.
const (
	DefaultSweepEvery    = 5 * time.Minute
	DefaultSweepGrace    = 10 * time.Minute
	DefaultIncompleteAge = time.Hour
	defaultSweepBatch    = 1000
)

// Sweeper is the backstop behind finish: it deletes every staged object that no live
// call needs, and finishes the proof of deletions that were never confirmed. It never
// touches the object of a live call, nor an object younger than Grace that no call
// claims (the pipeline records the call before it stages, but the grace costs little
// and covers a clock or a commit that lags).
type Sweeper struct {
	Store  SweepStore
	Stage  SweepStage
	Logger *slog.Logger
	Now    func() time.Time
	Every  time.Duration // time between passes; default DefaultSweepEvery
	Grace  time.Duration // an unclaimed object younger than this is left; default DefaultSweepGrace
	// IncompleteAge is the age from which an unfinished upload is aborted; default
	// DefaultIncompleteAge.
	IncompleteAge time.Duration
}

// SweepReport counts what one pass did.
type SweepReport struct {
	Abandoned  int // live calls whose job had finished for good, ended failed
	Confirmed  int // ended calls whose audio was deleted and the receipt written
	Orphans    int // objects of no live call deleted and confirmed gone
	Young      int // unclaimed objects left for a later pass: younger than Grace
	Incomplete int // unfinished uploads aborted
}

func (s *Sweeper) defaults() {
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Every <= 0 {
		s.Every = DefaultSweepEvery
	}
	if s.Grace <= 0 {
		s.Grace = DefaultSweepGrace
	}
	if s.IncompleteAge <= 0 {
		s.IncompleteAge = DefaultIncompleteAge
	}
}

// Run sweeps at once and then every Every until ctx ends; a failed pass is logged and
// retried at the next one. It returns ctx's error.
func (s Sweeper) Run(ctx context.Context) error {
	s.defaults()
	ctx = callscribe.AsSystem(ctx) // the sweeper serves every organization's stage
	tick := time.NewTicker(s.Every)
	defer tick.Stop()
	for {
		r, err := s.SweepOnce(ctx)
		if err != nil && ctx.Err() == nil {
			s.Logger.ErrorContext(ctx, "sweep staged audio", "err", err)
		}
		if r != (SweepReport{}) {
			s.Logger.InfoContext(ctx, "swept staged audio", "abandoned", r.Abandoned, "confirmed", r.Confirmed, "orphans", r.Orphans,
				"young", r.Young, "incomplete", r.Incomplete)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// SweepOnce makes one pass: (0) live calls whose job has finished for good (a worker
// died in the last attempt) are ended failed; (1) ended calls without a receipt get their audio deleted,
// the deletion confirmed and the receipt written; (2) every other stored key that is no
// live call's object and is older than Grace is deleted, every version, and confirmed
// gone; (3) unfinished uploads older than IncompleteAge are aborted. A failure on one
// call or key does not stop the others; the errors are returned together.
func (s Sweeper) SweepOnce(ctx context.Context) (SweepReport, error) {
	s.defaults()
	var r SweepReport
	var errs []error

	abandoned, err := s.Store.EndAbandonedCalls(ctx, s.Stage.Name())
	if err != nil {
		return r, err
	}
	for _, id := range abandoned {
		s.Logger.WarnContext(ctx, "call abandoned by its job ended failed", "call_id", id)
	}
	r.Abandoned = len(abandoned)

	pending, err := s.Store.UnconfirmedDeletions(ctx, s.Stage.Name(), defaultSweepBatch)
	if err != nil {
		return r, err
	}
	for callID, key := range pending {
		if err := s.confirm(ctx, callID, key); err != nil {
			errs = append(errs, err)
			continue
		}
		r.Confirmed++
	}

	keys, err := s.Stage.Keys(ctx)
	if err != nil {
		return r, errors.Join(append(errs, err)...)
	}
	liveKeys, err := s.Store.LiveObjectKeys(ctx, keys)
	if err != nil {
		return r, errors.Join(append(errs, err)...)
	}
	var ids []uuid.UUID
	for _, k := range keys {
		if id, ok := callOfKey(k); ok {
			ids = append(ids, id)
		}
	}
	liveCalls, err := s.Store.LiveCalls(ctx, ids)
	if err != nil {
		return r, errors.Join(append(errs, err)...)
	}
	for _, key := range keys {
		if id, ok := callOfKey(key); liveKeys[key] || ok && liveCalls[id] {
			continue
		}
		mod, err := s.Stage.ModTime(ctx, key)
		if callscribe.ErrorCode(err) == callscribe.ENOTFOUND {
			continue // deleted since it was listed
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if s.Now().Sub(mod) < s.Grace {
			r.Young++
			continue
		}
		if _, err := s.remove(ctx, key); err != nil {
			errs = append(errs, err)
			continue
		}
		s.Logger.InfoContext(ctx, "orphan staged object deleted", "key", key)
		r.Orphans++
	}

	n, err := s.Stage.ClearIncomplete(ctx, s.IncompleteAge)
	r.Incomplete = n
	if err != nil {
		errs = append(errs, err)
	}
	return r, errors.Join(errs...)
}

// confirm deletes an ended call's audio, confirms it is gone and writes the receipt.
func (s Sweeper) confirm(ctx context.Context, callID uuid.UUID, key string) error {
	deletedAt, err := s.remove(ctx, key)
	if err != nil {
		return fmt.Errorf("call %s: %w", callID, err)
	}
	if _, err := s.Store.ConfirmDeletion(ctx, callID, deletedAt, s.Now()); err != nil {
		return fmt.Errorf("call %s: %w", callID, err)
	}
	s.Logger.InfoContext(ctx, "unconfirmed deletion confirmed by the sweeper", "call_id", callID)
	return nil
}

// remove deletes every version of key and checks that nothing is left; it returns when
// the deletion was done.
func (s Sweeper) remove(ctx context.Context, key string) (deletedAt time.Time, err error) {
	if err := s.Stage.Delete(ctx, key); err != nil {
		return time.Time{}, err
	}
	deletedAt = s.Now()
	exists, err := s.Stage.Exists(ctx, key)
	if err != nil {
		return time.Time{}, err
	}
	if exists {
		return time.Time{}, fmt.Errorf("staged object %s is still there after deletion", key)
	}
	return deletedAt, nil
}

// callOfKey is the call whose audio the pipeline stages under key, if key is one of its.
func callOfKey(key string) (uuid.UUID, bool) {
	rest, ok := strings.CutPrefix(key, "calls/")
	if !ok {
		return uuid.Nil, false
	}
	id, err := uuid.Parse(rest)
	return id, err == nil && objectKey(id) == key
}
