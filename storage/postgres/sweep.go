package postgres

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"callscribe"
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

// EndAbandonedCalls ends, as failed with its key erased, every live call staged in stage
// whose transcription job has finished for good (River discarded, cancelled or
// completed it) without the call having ended: no attempt will ever end it. A worker
// killed during the call's last attempt leaves this (River's rescuer then discards the
// job), as does a last attempt that could not record the call's end. It returns the
// calls it ended; their audio is then an unconfirmed deletion like any ended call's.
func (db *DB) EndAbandonedCalls(ctx context.Context, stage string) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			SELECT c.id FROM calls c JOIN call_stages s ON s.call_id = c.id
			WHERE s.stage = $1 AND s.confirmed_at IS NULL AND c.status IN `+liveStatuses+`
			  AND EXISTS (SELECT 1 FROM river_job j WHERE j.kind = 'transcribe_call' AND j.args->>'call_id' = c.id::text
			              AND j.state IN ('discarded', 'cancelled', 'completed'))
			  AND NOT EXISTS (SELECT 1 FROM river_job j WHERE j.kind = 'transcribe_call' AND j.args->>'call_id' = c.id::text
			              AND j.state NOT IN ('discarded', 'cancelled', 'completed'))
			FOR UPDATE OF c SKIP LOCKED`, stage)
		if err != nil {
			return err
		}
		if ids, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID]); err != nil {
			return err
		}
		for _, id := range ids {
			if err := db.endCall(ctx, tx, id, callscribe.CallFailed, callscribe.EINTERNAL,
				"the call's last attempt stopped before it ended (the worker stopped); its audio was deleted; upload the call again"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("end abandoned calls: %w", err)
	}
	return ids, nil
}
