package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"callscribe"
)

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
			INSERT INTO transcripts (call_id, engine, text, truncated, redactions, talk_ms) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			t.CallID, t.Engine, t.Text, t.Truncated, redactions(t.Redactions), talkTime(t.Segments)).Scan(&transcriptID); err != nil {
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

// Rectifications lists the user's rectification history, oldest first.
func (db *DB) Rectifications(ctx context.Context, userID uuid.UUID) ([]callscribe.Rectification, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT at, actor, subject_id, call_id, object_type, object_id, field, before, after
		FROM rectifications WHERE subject_id = $1 ORDER BY id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list rectifications: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (callscribe.Rectification, error) {
		var x callscribe.Rectification
		err := r.Scan(&x.At, &x.Actor, &x.SubjectID, &x.CallID, &x.ObjectType, &x.ObjectID, &x.Field, &x.Before, &x.After)
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("list rectifications: %w", err)
	}
	return out, nil
}

// ReplaceSummary writes a call's summary again after a correction, clearing its stale
// mark, in a transaction that holds the owner's row lock and re-checks their consent to
// summarization: without it nothing is written and the summary stays stale. basedOn is
// the transcript text the summary was made from; when a later correction changed it
// meanwhile, nothing is written either (that correction's own summary follows). It
// reports whether the summary was written.
func (db *DB) ReplaceSummary(ctx context.Context, callID uuid.UUID, basedOn string, s callscribe.Summary) (bool, error) {
	var written bool
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		written = false
		var owner uuid.UUID
		err := tx.QueryRow(ctx, `SELECT owner_id FROM calls WHERE id = $1`, callID).Scan(&owner)
		if errors.Is(err, pgx.ErrNoRows) {
			return callscribe.Errorf(callscribe.ENOTFOUND, "no call %s", callID)
		}
		if err != nil {
			return err
		}
		if err := lockUser(ctx, tx, owner, "SHARE"); err != nil {
			return err
		}
		ok, err := consentInForce(ctx, tx, owner, callscribe.PurposeSummarization)
		if err != nil || !ok {
			return err
		}
		tag, err := tx.Exec(ctx, `
			UPDATE summaries SET engine = $3, text = $4, stale = false
			WHERE call_id = $1 AND (SELECT text FROM transcripts WHERE call_id = $1) = $2`,
			callID, basedOn, s.Engine, s.Text)
		written = err == nil && tag.RowsAffected() == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("replace summary: %w", err)
	}
	return written, nil
}

// EditSegmentRedacted rectifies segment ord (0-based) of a call's transcript with a text
// and speaker label already redacted (privacy.Corrections redacts them: the one way a
// correction is written): its text, its speaker label, or both (nil: unchanged). The
// transcript's text, and with it the search index (a generated column), is rebuilt from
// the segments in the same transaction; a summary is marked stale when the text changed
// (ReplaceSummary writes it again); the before and after go to rectifications; the
// counts of what the redaction replaced (type name → count) are added to the
// transcript's; the edit is audited without any text.
func (db *DB) EditSegmentRedacted(ctx context.Context, callID uuid.UUID, ord int, text, speaker *string, actor string, redacted map[string]int) ([]callscribe.Rectification, error) {
	var out []callscribe.Rectification
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		out = nil
		var owner, org, transcriptID uuid.UUID
		err := tx.QueryRow(ctx, `
			SELECT c.owner_id, c.organization_id, t.id FROM calls c JOIN transcripts t ON t.call_id = c.id
			WHERE c.id = $1`, callID).Scan(&owner, &org, &transcriptID)
		if errors.Is(err, pgx.ErrNoRows) {
			return callscribe.Errorf(callscribe.ENOTFOUND, "no transcript for call %s", callID)
		}
		if err != nil {
			return err
		}
		if err := lockUser(ctx, tx, owner, "SHARE"); err != nil {
			return callscribe.Errorf(callscribe.ENOTFOUND, "no transcript for call %s", callID)
		}
		var oldText, oldSpeaker string
		err = tx.QueryRow(ctx, `SELECT text, speaker FROM segments WHERE transcript_id = $1 AND ord = $2 FOR UPDATE`,
			transcriptID, ord).Scan(&oldText, &oldSpeaker)
		if errors.Is(err, pgx.ErrNoRows) {
			return callscribe.Errorf(callscribe.ENOTFOUND, "call %s has no segment %d", callID, ord+1)
		}
		if err != nil {
			return err
		}
		type change struct{ field, before, after string }
		var changes []change
		if text != nil && *text != oldText {
			changes = append(changes, change{"text", oldText, *text})
		}
		if speaker != nil && *speaker != oldSpeaker {
			if *speaker == "" {
				return callscribe.Errorf(callscribe.EINVALID, "the speaker label cannot be empty")
			}
			changes = append(changes, change{"speaker", oldSpeaker, *speaker})
		}
		if len(changes) == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, `
			UPDATE segments SET text = coalesce($3, text), speaker = coalesce($4, speaker)
			WHERE transcript_id = $1 AND ord = $2`, transcriptID, ord, text, speaker); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			UPDATE transcripts SET text = (SELECT coalesce(string_agg(text, ' ' ORDER BY ord), '') FROM segments WHERE transcript_id = $1)
			WHERE id = $1`, transcriptID); err != nil {
			return err
		}
		for typ, n := range redacted {
			if _, err := tx.Exec(ctx, `
				UPDATE transcripts SET redactions = jsonb_set(redactions, ARRAY[$2::text], to_jsonb(coalesce((redactions->>$2)::int, 0) + $3))
				WHERE id = $1`, transcriptID, typ, n); err != nil {
				return err
			}
		}
		// The summary was written from the words before: stale until written again.
		if text != nil && *text != oldText {
			if _, err := tx.Exec(ctx, `UPDATE summaries SET stale = true WHERE call_id = $1`, callID); err != nil {
				return err
			}
		}
		objectID := callID.String() + "/" + strconv.Itoa(ord+1)
		detail := map[string]any{"segment": ord + 1}
		for _, c := range changes {
			r := callscribe.Rectification{Actor: actor, SubjectID: owner, CallID: &callID, ObjectType: "segment",
				ObjectID: objectID, Field: c.field, Before: c.before, After: c.after}
			if err := tx.QueryRow(ctx, `
				INSERT INTO rectifications (actor, subject_id, call_id, object_type, object_id, field, before, after)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING at`,
				r.Actor, r.SubjectID, r.CallID, r.ObjectType, r.ObjectID, r.Field, r.Before, r.After).Scan(&r.At); err != nil {
				return err
			}
			out = append(out, r)
			detail[c.field] = true
		}
		return insertAudit(ctx, tx, callscribe.AuditEntry{Actor: actor, Action: "transcript.edit", ObjectType: "call",
			ObjectID: callID.String(), OrgID: org, SubjectID: owner, Detail: detail})
	})
	if err != nil {
		return nil, fmt.Errorf("edit segment: %w", err)
	}
	return out, nil
}

// redactions is a transcript's redaction counts as stored: never null.
func redactions(m map[string]int) map[string]int {
	if m == nil {
		return map[string]int{}
	}
	return m
}

// talkTime is a transcript's talk time per channel in milliseconds, indexed by channel
// (transcripts.talk_ms, migration 00018, which computes the same for the rows before it):
// what the calls list's chart sums per day. Nil for a transcript without segments.
func talkTime(segments []callscribe.Segment) []int64 {
	var talk []int64
	for _, s := range segments {
		for len(talk) <= s.Channel {
			talk = append(talk, 0)
		}
		talk[s.Channel] += s.EndMS - s.StartMS
	}
	return talk
}

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
