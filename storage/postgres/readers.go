package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"callscribe"
)

// Summaries are the summaries of the given calls, by call id; a call without one is
// left out. The web app's calls list shows each one's first line.
func (db *DB) Summaries(ctx context.Context, callIDs []uuid.UUID) (map[uuid.UUID]callscribe.Summary, error) {
	out := map[uuid.UUID]callscribe.Summary{}
	if len(callIDs) == 0 {
		return out, nil
	}
	rows, err := db.pool.Query(ctx, `SELECT call_id, engine, text, stale FROM summaries WHERE call_id = ANY($1)`, callIDs)
	if err != nil {
		return nil, fmt.Errorf("read summaries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id uuid.UUID
		var s callscribe.Summary
		if err := rows.Scan(&id, &s.Engine, &s.Text, &s.Stale); err != nil {
			return nil, fmt.Errorf("read summaries: %w", err)
		}
		out[id] = s
	}
	return out, rows.Err()
}

// DayActivity is one day's calls and talk time per channel, for the calls list's chart.
type DayActivity struct {
	Day   time.Time     // midnight of the day in the zone asked for
	Calls int           // calls created that day
	Talk  map[int]int64 // milliseconds spoken, by channel
}

// Activity counts an organization's calls per day in [from, to) (days in zone loc), and
// the talk time of their transcripts per channel; ownerID, when set, only
// that owner's calls. Erased and blocked owners' calls are left out, as every listing
// leaves them out.
func (db *DB) Activity(ctx context.Context, orgID uuid.UUID, ownerID *uuid.UUID, from, to time.Time, loc *time.Location) ([]DayActivity, error) {
	const picked = `
		WITH c AS (
			SELECT c.id, (c.created_at AT TIME ZONE $5)::date AS day
			FROM calls c JOIN users u ON u.id = c.owner_id
			WHERE c.organization_id = $1 AND ($2::uuid IS NULL OR c.owner_id = $2)
			  AND c.created_at >= $3 AND c.created_at < $4
			  AND u.erased_at IS NULL AND u.blocked_at IS NULL)`
	var out []DayActivity
	byDay := map[time.Time]int{}
	at := func(day time.Time) *DayActivity {
		day = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, loc)
		i, ok := byDay[day]
		if !ok {
			i = len(out)
			byDay[day] = i
			out = append(out, DayActivity{Day: day, Talk: map[int]int64{}})
		}
		return &out[i]
	}
	args := []any{orgID, ownerID, from, to, loc.String()}
	rows, err := db.pool.Query(ctx, picked+` SELECT day, count(*) FROM c GROUP BY day ORDER BY day`, args...)
	if err != nil {
		return nil, fmt.Errorf("read activity: %w", err)
	}
	for rows.Next() {
		var day time.Time
		var n int
		if err := rows.Scan(&day, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read activity: %w", err)
		}
		at(day).Calls = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read activity: %w", err)
	}
	// Each transcript's talk time per channel (migration 00018), not its segments: a
	// month of 100,000 calls is 100,000 rows, not 2,000,000.
	rows, err = db.pool.Query(ctx, picked+`
		SELECT c.day, x.ch - 1, sum(x.ms)::bigint
		FROM c JOIN transcripts t ON t.call_id = c.id, unnest(t.talk_ms) WITH ORDINALITY AS x(ms, ch)
		GROUP BY c.day, x.ch`, args...)
	if err != nil {
		return nil, fmt.Errorf("read activity: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var day time.Time
		var ch int
		var ms int64
		if err := rows.Scan(&day, &ch, &ms); err != nil {
			return nil, fmt.Errorf("read activity: %w", err)
		}
		at(day).Talk[ch] += ms
	}
	return out, rows.Err()
}

// Account is the account of a user of the organization the context is scoped to.
func (db *DB) AccountInOrg(ctx context.Context, orgID, userID uuid.UUID) (AccountRecord, error) {
	rec, err := db.AccountByID(ctx, userID)
	if err == nil && rec.User.OrgID != orgID {
		err = callscribe.Errorf(callscribe.ENOTFOUND, "no user %s", userID)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		err = callscribe.Errorf(callscribe.ENOTFOUND, "no user %s", userID)
	}
	return rec, err
}

// AppendAudits appends entries to the audit log in one transaction: a page that shows
// the words of many calls (a list, a search) records a read of each, at the cost of one
// commit.
func (db *DB) AppendAudits(ctx context.Context, entries []callscribe.AuditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	return db.inTx(ctx, func(tx pgx.Tx) error {
		for _, e := range entries {
			if err := insertAudit(ctx, tx, e); err != nil {
				return err
			}
		}
		return nil
	})
}
