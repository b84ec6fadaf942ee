package postgres

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// liveStatuses are the statuses of a call whose staged audio is still needed.
const liveStatuses = `('received', 'staged', 'processing')`

// LiveObjectKeys returns those of keys that are the recorded staged object of a live
// call (received, staged or processing): objects the sweeper must leave alone.
func (db *DB) LiveObjectKeys(ctx context.Context, keys []string) (map[string]bool, error) {
	live := map[string]bool{}
	if len(keys) == 0 {
		return live, nil
	}
	rows, err := db.pool.Query(ctx, `
		SELECT s.object_key FROM call_stages s JOIN calls c ON c.id = s.call_id
		WHERE s.object_key = ANY($1) AND c.status IN `+liveStatuses, keys)
	if err != nil {
		return nil, fmt.Errorf("live object keys: %w", err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("live object keys: %w", err)
	}
	for _, k := range found {
		live[k] = true
	}
	return live, nil
}

// LiveCalls returns those of ids whose calls are live (received, staged or processing),
// staging recorded or not: a call is recorded before its audio is staged, and its
// staging only after the upload ends.
func (db *DB) LiveCalls(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]bool, error) {
	live := map[uuid.UUID]bool{}
	if len(ids) == 0 {
		return live, nil
	}
	rows, err := db.pool.Query(ctx, `SELECT id FROM calls WHERE id = ANY($1) AND status IN `+liveStatuses, ids)
	if err != nil {
		return nil, fmt.Errorf("live calls: %w", err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, fmt.Errorf("live calls: %w", err)
	}
	for _, id := range found {
		live[id] = true
	}
	return live, nil
}

// UnconfirmedDeletions returns up to limit calls that have ended (completed, discarded
// or failed) with audio staged in stage whose deletion was never confirmed — no receipt
// — as call id → object key, oldest staging first.
func (db *DB) UnconfirmedDeletions(ctx context.Context, stage string, limit int) (map[uuid.UUID]string, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT s.call_id, s.object_key FROM call_stages s JOIN calls c ON c.id = s.call_id
		WHERE s.confirmed_at IS NULL AND s.stage = $1 AND c.status NOT IN `+liveStatuses+`
		ORDER BY s.staged_at LIMIT $2`, stage, limit)
	if err != nil {
		return nil, fmt.Errorf("unconfirmed deletions: %w", err)
	}
	out := map[uuid.UUID]string{}
	var id uuid.UUID
	var key string
	_, err = pgx.ForEachRow(rows, []any{&id, &key}, func() error {
		out[id] = key
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("unconfirmed deletions: %w", err)
	}
	return out, nil
}
