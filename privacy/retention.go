package privacy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"callscribe"
)

// RetentionStore is what retention needs of the database.
type RetentionStore interface {
	Organizations(ctx context.Context) ([]callscribe.Organization, error)
	PurgeExpired(ctx context.Context, orgID uuid.UUID, cutoff time.Time, limit int, actor string) (map[string]int64, error)
}

// RetentionActor is the audit log's name for the retention job.
const RetentionActor = "system:retention"

// Retention purges the transcripts and summaries of calls older than their
// organization's retention period (by the call's created_at), in short batches, each
// audited with its counts. The call rows and their deletion receipts stay. When Eraser is
// set, each run also re-applies the erasure ledger (see Eraser.Reapply).
type Retention struct {
	Store  RetentionStore
	Eraser *Eraser // optional
	Now    func() time.Time
	Batch  int // calls per transaction; default DefaultEraseBatch
	Logger *slog.Logger
}

// Purged is what one run purged in one organization.
type Purged struct {
	OrgID  uuid.UUID
	Cutoff time.Time
	Counts map[string]int64
}

// RunOnce purges what is past its retention now.
func (r *Retention) RunOnce(ctx context.Context) ([]Purged, error) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	batch := r.Batch
	if batch <= 0 {
		batch = DefaultEraseBatch
	}
	orgs, err := r.Store.Organizations(ctx)
	if err != nil {
		return nil, err
	}
	var out []Purged
	for _, o := range orgs {
		if o.Retention == nil {
			continue
		}
		p := Purged{OrgID: o.ID, Cutoff: now().Add(-*o.Retention), Counts: map[string]int64{}}
		for {
			n, err := r.Store.PurgeExpired(ctx, o.ID, p.Cutoff, batch, RetentionActor)
			if err != nil {
				return out, err
			}
			for k, v := range n {
				p.Counts[k] += v
			}
			if n["calls"] < int64(batch) {
				break
			}
		}
		out = append(out, p)
	}
	if r.Eraser != nil {
		if _, err := r.Eraser.Reapply(ctx); err != nil {
			return out, err
		}
	}
	return out, nil
}

// Run calls RunOnce now and then every period until ctx ends; a failed run is logged and
// retried at the next tick.
func (r *Retention) Run(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		return errors.New("retention: the period between runs must be positive")
	}
	log := r.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		purged, err := r.RunOnce(ctx)
		if err != nil {
			log.ErrorContext(ctx, "retention run", "err", err)
		}
		for _, p := range purged {
			log.InfoContext(ctx, "retention purge", "organization_id", p.OrgID, "calls", p.Counts["calls"])
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// ParseRetention reads a retention period: "90d", "12w", a Go duration such as "720h",
// or "off"/"keep" (nil: kept until erased).
func ParseRetention(s string) (*time.Duration, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	bad := callscribe.Errorf(callscribe.EINVALID, "retention %q is not a period such as 90d, 12w or 720h, nor off", s)
	switch s {
	case "off", "keep", "none":
		return nil, nil
	case "":
		return nil, bad
	}
	var d time.Duration
	if unit := s[len(s)-1]; unit == 'd' || unit == 'w' {
		n, err := strconv.Atoi(s[:len(s)-1])
		if err != nil {
			return nil, bad
		}
		d = time.Duration(n) * 24 * time.Hour
		if unit == 'w' {
			d *= 7
		}
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return nil, bad
		}
	}
	if d < time.Second {
		return nil, callscribe.Errorf(callscribe.EINVALID, "retention %q must be at least one second", s)
	}
	return &d, nil
}

// FormatRetention prints a retention period as ParseRetention reads it.
func FormatRetention(d *time.Duration) string {
	switch {
	case d == nil:
		return "off"
	case *d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", *d/(24*time.Hour))
	default:
		return d.String()
	}
}
