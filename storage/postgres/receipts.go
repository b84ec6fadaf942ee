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

// ConfirmDeletion records that the stage deleted the call's audio at deletedAt and
// confirmed it gone at confirmedAt, and writes the receipt, in one transaction. It is
// idempotent: confirming twice keeps the first receipt.
func (db *DB) ConfirmDeletion(ctx context.Context, callID uuid.UUID, deletedAt, confirmedAt time.Time) (callscribe.Receipt, error) {
	var r callscribe.Receipt
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if err := writeReceipt(ctx, tx, callID, deletedAt, confirmedAt, &r); err != nil {
			return err
		}
		// The deletion is audited with the receipt, ids only; created_at = now() holds only
		// when this transaction wrote the receipt, so a second confirmation adds nothing.
		_, err := tx.Exec(ctx, `
			INSERT INTO audit_log (actor, action, object_type, object_id, organization_id, subject_id)
			SELECT 'system:pipeline', 'audio.delete', 'call', c.id::text, c.organization_id, c.owner_id
			FROM calls c JOIN audio_deletion_receipts r ON r.call_id = c.id
			WHERE c.id = $1 AND r.created_at = now()`, callID)
		return err
	})
	if err != nil {
		return callscribe.Receipt{}, fmt.Errorf("confirm deletion: %w", err)
	}
	return r, nil
}

const receiptQuery = `
	SELECT call_id, stage, bytes, sha256, staged_at, deleted_at, confirmed_at
	FROM audio_deletion_receipts WHERE call_id = $1`

func scanReceipt(row pgx.Row, r *callscribe.Receipt) error {
	err := row.Scan(&r.CallID, &r.Stage, &r.Bytes, &r.SHA256, &r.StagedAt, &r.DeletedAt, &r.ConfirmedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return callscribe.Errorf(callscribe.ENOTFOUND, "no deletion receipt")
	}
	return err
}

// Receipt returns the deletion receipt of a call; ENOTFOUND until deletion is confirmed.
func (db *DB) Receipt(ctx context.Context, callID uuid.UUID) (callscribe.Receipt, error) {
	var r callscribe.Receipt
	if err := scanReceipt(db.pool.QueryRow(ctx, receiptQuery, callID), &r); err != nil {
		return callscribe.Receipt{}, fmt.Errorf("receipt of call %s: %w", callID, err)
	}
	return r, nil
}

func writeReceipt(ctx context.Context, tx pgx.Tx, callID uuid.UUID, deletedAt, confirmedAt time.Time, r *callscribe.Receipt) error {
	if _, err := tx.Exec(ctx, `
		UPDATE call_stages SET key = NULL, deleted_at = $2, confirmed_at = $3
		WHERE call_id = $1 AND confirmed_at IS NULL`, callID, deletedAt, confirmedAt); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO audio_deletion_receipts (call_id, stage, bytes, sha256, staged_at, deleted_at, confirmed_at)
		SELECT call_id, stage, bytes, sha256, staged_at, deleted_at, confirmed_at
		FROM call_stages WHERE call_id = $1
		ON CONFLICT (call_id) DO NOTHING`, callID); err != nil {
		return err
	}
	return scanReceipt(tx.QueryRow(ctx, receiptQuery, callID), r)
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
