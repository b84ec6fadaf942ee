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

// CreateCall records a new call of owner's in status received.
func (db *DB) CreateCall(ctx context.Context, orgID, ownerID uuid.UUID, channels []string) (uuid.UUID, error) {
	var id uuid.UUID
	if channels == nil {
		channels = []string{}
	}
	err := db.pool.QueryRow(ctx, `
		INSERT INTO calls (organization_id, owner_id, status, channels)
		VALUES ($1, $2, 'received', $3) RETURNING id`, orgID, ownerID, channels).Scan(&id)
	if err != nil {
		return uuid.Nil, fmt.Errorf("create call: %w", err)
	}
	return id, nil
}

// RecordStaging records where the call's audio is staged and moves a received call to
// status staged.
func (db *DB) RecordStaging(ctx context.Context, callID uuid.UUID, s callscribe.Staging) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
			INSERT INTO call_stages (call_id, stage, object_key, key, bytes, sha256, staged_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			callID, s.Stage, s.ObjectKey, s.Key, s.Bytes, s.SHA256, s.StagedAt); err != nil {
			return err
		}
		// A call recognised while it was staged (streaming) is processing already.
		_, err := tx.Exec(ctx, `UPDATE calls SET status = 'staged', updated_at = now() WHERE id = $1 AND status = 'received'`, callID)
		return err
	})
	if err != nil {
		return fmt.Errorf("record staging: %w", err)
	}
	return nil
}

// SetProcessing moves a call to processing: a staged call, or a received one whose audio
// is recognised while it is staged. It refuses (ECONFLICT) a call that has already
// ended, so a discarded call is never picked up again.
func (db *DB) SetProcessing(ctx context.Context, callID uuid.UUID) error {
	tag, err := db.pool.Exec(ctx, `
		UPDATE calls SET status = 'processing', updated_at = now()
		WHERE id = $1 AND status IN ('received', 'staged', 'processing')`, callID)
	if err != nil {
		return fmt.Errorf("start processing: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return callscribe.Errorf(callscribe.ECONFLICT, "call %s is not waiting to be processed", callID)
	}
	return nil
}

// RequeueCall moves a call that was processing back to staged (the API's queued) once
// its attempt has failed and another will come: no worker holds it until then. A call
// that has ended meanwhile keeps its status.
func (db *DB) RequeueCall(ctx context.Context, callID uuid.UUID) error {
	if _, err := db.pool.Exec(ctx, `
		UPDATE calls SET status = 'staged', updated_at = now()
		WHERE id = $1 AND status = 'processing'`, callID); err != nil {
		return fmt.Errorf("requeue call: %w", err)
	}
	return nil
}

// CompleteCall stores a call's transcript, segments and (when given) summary in one
// transaction that holds the owner's row lock and re-checks consent: without
// transcription consent, or when the owner is blocked, nothing is stored and the call is
// discarded; without
// summarization consent the summary is dropped. Either way the staging key is erased in
// the same transaction, so the staged object is unreadable once it commits.
func (db *DB) CompleteCall(ctx context.Context, ownerID uuid.UUID, t callscribe.Transcript) (callscribe.Completion, error) {
	var done callscribe.Completion
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		done = callscribe.Completion{}
		if err := lockUser(ctx, tx, ownerID, "SHARE"); err != nil {
			return err
		}
		var status string
		err := tx.QueryRow(ctx, `SELECT status FROM calls WHERE id = $1 AND owner_id = $2 FOR UPDATE`, t.CallID, ownerID).Scan(&status)
		if errors.Is(err, pgx.ErrNoRows) {
			return callscribe.Errorf(callscribe.ENOTFOUND, "no call %s", t.CallID)
		}
		if err != nil {
			return err
		}
		blocked, err := userBlocked(ctx, tx, ownerID)
		if err != nil {
			return err
		}
		if blocked {
			return db.endCall(ctx, tx, t.CallID, callscribe.CallDiscarded, callscribe.EBLOCKED, "the owner is blocked")
		}
		transcription, err := consentInForce(ctx, tx, ownerID, callscribe.PurposeTranscription)
		if err != nil {
			return err
		}
		if status != string(callscribe.CallStaged) && status != string(callscribe.CallProcessing) || !transcription {
			if err := db.endCall(ctx, tx, t.CallID, callscribe.CallDiscarded, callscribe.ENOCONSENT, "consent to transcription was withdrawn"); err != nil {
				return err
			}
			return nil
		}
		var transcriptID uuid.UUID
		if err := tx.QueryRow(ctx, `
			INSERT INTO transcripts (call_id, engine, text, truncated, redactions) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			t.CallID, t.Engine, t.Text, t.Truncated, redactions(t.Redactions)).Scan(&transcriptID); err != nil {
			return err
		}
		// One INSERT of arrays, not COPY: PostgreSQL refuses COPY FROM into a table under
		// row-level security.
		n := len(t.Segments)
		ord, channel, speaker, start, end, text, conf := make([]int32, n), make([]int32, n), make([]string, n),
			make([]int64, n), make([]int64, n), make([]string, n), make([]float32, n)
		for i, s := range t.Segments {
			ord[i], channel[i], speaker[i], start[i], end[i], text[i], conf[i] =
				int32(i), int32(s.Channel), s.Speaker, s.StartMS, s.EndMS, s.Text, float32(s.Confidence)
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO segments (transcript_id, ord, channel, speaker, start_ms, end_ms, text, confidence)
			SELECT $1, * FROM unnest($2::int[], $3::int[], $4::text[], $5::bigint[], $6::bigint[], $7::text[], $8::real[])`,
			transcriptID, ord, channel, speaker, start, end, text, conf); err != nil {
			return err
		}
		if t.Summary != nil {
			summarization, err := consentInForce(ctx, tx, ownerID, callscribe.PurposeSummarization)
			if err != nil {
				return err
			}
			if summarization {
				if _, err := tx.Exec(ctx, `INSERT INTO summaries (call_id, engine, text) VALUES ($1, $2, $3)`,
					t.CallID, t.Summary.Engine, t.Summary.Text); err != nil {
					return err
				}
				done.SummaryStored = true
			}
		}
		if _, err := tx.Exec(ctx, `
			UPDATE calls SET status = 'completed', duration_ms = $2, channels = coalesce($3, channels), updated_at = now()
			WHERE id = $1`, t.CallID, t.DurationMS, t.Channels); err != nil {
			return err
		}
		if err := db.callEnded(ctx, tx, t.CallID); err != nil {
			return err
		}
		if err := eraseKey(ctx, tx, t.CallID); err != nil {
			return err
		}
		done.Stored = true
		return nil
	})
	if err != nil {
		return callscribe.Completion{}, fmt.Errorf("complete call: %w", err)
	}
	return done, nil
}

// EndCall ends a call that will not be transcribed (status failed or discarded), with a
// code and a client-safe message, and erases its staging key in the same transaction.
// A call that has already ended keeps its status.
func (db *DB) EndCall(ctx context.Context, callID uuid.UUID, status callscribe.CallStatus, code, message string) error {
	if err := db.inTx(ctx, func(tx pgx.Tx) error {
		return db.endCall(ctx, tx, callID, status, code, message)
	}); err != nil {
		return fmt.Errorf("end call: %w", err)
	}
	return nil
}

func (db *DB) endCall(ctx context.Context, tx pgx.Tx, callID uuid.UUID, status callscribe.CallStatus, code, message string) error {
	tag, err := tx.Exec(ctx, `
		UPDATE calls SET status = $2, error_code = $3, error_message = $4, updated_at = now()
		WHERE id = $1 AND status NOT IN ('completed', 'discarded', 'failed')`,
		callID, string(status), code, message)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 1 {
		if err := db.callEnded(ctx, tx, callID); err != nil {
			return err
		}
	}
	return eraseKey(ctx, tx, callID)
}

// redactions is a transcript's redaction counts as stored: never null.
func redactions(m map[string]int) map[string]int {
	if m == nil {
		return map[string]int{}
	}
	return m
}

func eraseKey(ctx context.Context, tx pgx.Tx, callID uuid.UUID) error {
	_, err := tx.Exec(ctx, `UPDATE call_stages SET key = NULL WHERE call_id = $1 AND key IS NOT NULL`, callID)
	return err
}

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

// CallStatus returns the status of a call.
func (db *DB) CallStatus(ctx context.Context, callID uuid.UUID) (callscribe.CallStatus, error) {
	var s string
	err := db.pool.QueryRow(ctx, `SELECT status FROM calls WHERE id = $1`, callID).Scan(&s)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", callscribe.Errorf(callscribe.ENOTFOUND, "no call %s", callID)
	}
	if err != nil {
		return "", fmt.Errorf("call status: %w", err)
	}
	return callscribe.CallStatus(s), nil
}

// Transcript reads a call's stored transcript, segments in time order, and summary.
// It refuses (EBLOCKED) while the call's owner is blocked.
func (db *DB) Transcript(ctx context.Context, callID uuid.UUID) (callscribe.Transcript, error) {
	t := callscribe.Transcript{CallID: callID}
	var id uuid.UUID
	var duration *int64
	var blocked bool
	err := db.pool.QueryRow(ctx, `
		SELECT t.id, t.engine, t.text, t.truncated, t.redactions, t.created_at, c.duration_ms, c.channels, u.blocked_at IS NOT NULL
		FROM transcripts t JOIN calls c ON c.id = t.call_id JOIN users u ON u.id = c.owner_id
		WHERE t.call_id = $1 AND u.erased_at IS NULL`, callID).
		Scan(&id, &t.Engine, &t.Text, &t.Truncated, &t.Redactions, &t.CreatedAt, &duration, &t.Channels, &blocked)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, callscribe.Errorf(callscribe.ENOTFOUND, "no transcript for call %s", callID)
	}
	if err != nil {
		return t, fmt.Errorf("read transcript: %w", err)
	}
	if blocked {
		return callscribe.Transcript{CallID: callID}, errBlocked("call " + callID.String())
	}
	if duration != nil {
		t.DurationMS = *duration
	}
	rows, err := db.pool.Query(ctx, `
		SELECT channel, speaker, start_ms, end_ms, text, confidence
		FROM segments WHERE transcript_id = $1 ORDER BY ord`, id)
	if err != nil {
		return t, fmt.Errorf("read segments: %w", err)
	}
	t.Segments, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (callscribe.Segment, error) {
		var s callscribe.Segment
		var conf float32
		err := row.Scan(&s.Channel, &s.Speaker, &s.StartMS, &s.EndMS, &s.Text, &conf)
		s.Confidence = float64(conf)
		return s, err
	})
	if err != nil {
		return t, fmt.Errorf("read segments: %w", err)
	}
	var sum callscribe.Summary
	err = db.pool.QueryRow(ctx, `SELECT engine, text, stale FROM summaries WHERE call_id = $1`, callID).Scan(&sum.Engine, &sum.Text, &sum.Stale)
	switch {
	case err == nil:
		t.Summary = &sum
	case !errors.Is(err, pgx.ErrNoRows):
		return t, fmt.Errorf("read summary: %w", err)
	}
	return t, nil
}
