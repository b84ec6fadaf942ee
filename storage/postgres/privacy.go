package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"callscribe"
)

const orgColumns = `id, name, extract(epoch FROM retention)::bigint, redaction_off`

func scanOrg(row pgx.Row) (callscribe.Organization, error) {
	var o callscribe.Organization
	var secs *int64
	if err := row.Scan(&o.ID, &o.Name, &secs, &o.RedactionOff); err != nil {
		return o, err
	}
	if secs != nil {
		d := time.Duration(*secs) * time.Second
		o.Retention = &d
	}
	return o, nil
}

// OrganizationByName finds an organization; ENOTFOUND when there is none.
func (db *DB) OrganizationByName(ctx context.Context, name string) (callscribe.Organization, error) {
	o, err := scanOrg(db.pool.QueryRow(ctx, `SELECT `+orgColumns+` FROM organizations WHERE name = $1`, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return o, callscribe.Errorf(callscribe.ENOTFOUND, "no organization %q", name)
	}
	if err != nil {
		return o, fmt.Errorf("find organization: %w", err)
	}
	return o, nil
}

// Organizations lists every organization by name.
func (db *DB) Organizations(ctx context.Context) ([]callscribe.Organization, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+orgColumns+` FROM organizations ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list organizations: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (callscribe.Organization, error) { return scanOrg(r) })
	if err != nil {
		return nil, fmt.Errorf("list organizations: %w", err)
	}
	return out, nil
}

// SetRetention sets the organization's retention period (nil: keep) and audits it.
func (db *DB) SetRetention(ctx context.Context, orgID uuid.UUID, retention *time.Duration, actor string) error {
	var secs *int64
	if retention != nil {
		s := int64(*retention / time.Second)
		secs = &s
	}
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE organizations SET retention = $2::bigint * interval '1 second' WHERE id = $1`, orgID, secs)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return callscribe.Errorf(callscribe.ENOTFOUND, "no organization %s", orgID)
		}
		detail := map[string]any{"retention_seconds": -1}
		if secs != nil {
			detail["retention_seconds"] = *secs
		}
		return insertAudit(ctx, tx, callscribe.AuditEntry{Actor: actor, Action: "organization.set",
			ObjectType: "organization", ObjectID: orgID.String(), OrgID: orgID, Detail: detail})
	})
	if err != nil {
		return fmt.Errorf("set retention: %w", err)
	}
	return nil
}

// RedactionOff returns the redaction types the organization turned off (empty: none).
func (db *DB) RedactionOff(ctx context.Context, orgID uuid.UUID) ([]string, error) {
	var off []string
	err := db.pool.QueryRow(ctx, `SELECT redaction_off FROM organizations WHERE id = $1`, orgID).Scan(&off)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, callscribe.Errorf(callscribe.ENOTFOUND, "no organization %s", orgID)
	}
	if err != nil {
		return nil, fmt.Errorf("read redaction policy: %w", err)
	}
	return off, nil
}

// SetRedactionOff sets the redaction types the organization turns off (empty: every type
// is redacted) and audits it, naming the types only.
func (db *DB) SetRedactionOff(ctx context.Context, orgID uuid.UUID, off []string, actor string) error {
	if off == nil {
		off = []string{}
	}
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE organizations SET redaction_off = $2 WHERE id = $1`, orgID, off)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return callscribe.Errorf(callscribe.ENOTFOUND, "no organization %s", orgID)
		}
		return insertAudit(ctx, tx, callscribe.AuditEntry{Actor: actor, Action: "organization.set",
			ObjectType: "organization", ObjectID: orgID.String(), OrgID: orgID, Detail: map[string]any{"redaction_off": off}})
	})
	if err != nil {
		return fmt.Errorf("set redaction policy: %w", err)
	}
	return nil
}

// PurgeExpired deletes, in one short transaction, the transcripts (with their segments
// and segment history) and summaries of at most limit calls of the organization created
// before cutoff, and audits the batch. The calls and their deletion receipts stay. It
// returns the rows deleted per table; no calls left means it is done.
func (db *DB) PurgeExpired(ctx context.Context, orgID uuid.UUID, cutoff time.Time, limit int, actor string) (map[string]int64, error) {
	counts := map[string]int64{}
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		clear(counts)
		rows, err := tx.Query(ctx, `
			SELECT c.id FROM calls c
			WHERE c.organization_id = $1 AND c.created_at < $2
			  AND (EXISTS (SELECT 1 FROM transcripts t WHERE t.call_id = c.id)
			       OR EXISTS (SELECT 1 FROM summaries s WHERE s.call_id = c.id))
			ORDER BY c.created_at LIMIT $3`, orgID, cutoff, limit)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil || len(ids) == 0 {
			return err
		}
		counts["calls"] = int64(len(ids))
		for _, p := range []purge{
			{"segments", `transcript_id IN (SELECT id FROM transcripts WHERE call_id IN (SELECT unnest($2::uuid[])))`},
			{"rectifications", `call_id IN (SELECT unnest($2::uuid[]))`},
			{"transcripts", `call_id IN (SELECT unnest($2::uuid[]))`},
			{"summaries", `call_id IN (SELECT unnest($2::uuid[]))`},
		} {
			tag, err := tx.Exec(ctx, p.sql("DELETE FROM"), uuid.Nil, ids)
			if err != nil {
				return fmt.Errorf("%s: %w", p.Table, err)
			}
			counts[p.Table] = tag.RowsAffected()
		}
		detail := map[string]any{"cutoff_unix": cutoff.Unix()}
		for k, v := range counts {
			detail[k] = v
		}
		return insertAudit(ctx, tx, callscribe.AuditEntry{Actor: actor, Action: "retention.purge",
			ObjectType: "organization", ObjectID: orgID.String(), OrgID: orgID, Detail: detail})
	})
	if err != nil {
		return nil, fmt.Errorf("purge expired transcripts: %w", err)
	}
	return counts, nil
}

// UserByID finds a user who is not being erased; ENOTFOUND otherwise.
func (db *DB) UserByID(ctx context.Context, id uuid.UUID) (callscribe.User, error) {
	u, err := scanUser(db.pool.QueryRow(ctx, `
		SELECT `+userColumns+`
		FROM users WHERE id = $1 AND erased_at IS NULL`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return u, callscribe.Errorf(callscribe.ENOTFOUND, "no user with id %s", id)
	}
	if err != nil {
		return u, fmt.Errorf("find user: %w", err)
	}
	return u, nil
}

// CallsOf lists the user's calls, oldest first, with their staging records (without the
// key) and receipts.
func (db *DB) CallsOf(ctx context.Context, userID uuid.UUID) ([]callscribe.Call, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+callColumns+callFrom+`
		WHERE c.owner_id = $1 AND u.erased_at IS NULL ORDER BY c.created_at, c.id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list calls: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (callscribe.Call, error) {
		c, err := scanCall(r)
		if c.Staging != nil {
			c.Staging.Key = nil
		}
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("list calls: %w", err)
	}
	return out, nil
}

// CallOwner returns the owner and organization of a call whose owner is not being erased.
func (db *DB) CallOwner(ctx context.Context, callID uuid.UUID) (owner, org uuid.UUID, err error) {
	err = db.pool.QueryRow(ctx, `
		SELECT c.owner_id, c.organization_id FROM calls c JOIN users u ON u.id = c.owner_id
		WHERE c.id = $1 AND u.erased_at IS NULL`, callID).Scan(&owner, &org)
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, uuid.Nil, callscribe.Errorf(callscribe.ENOTFOUND, "no call %s", callID)
	}
	if err != nil {
		return uuid.Nil, uuid.Nil, fmt.Errorf("find call: %w", err)
	}
	return owner, org, nil
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

// ProfileEdit is a new value for one profile field: surname, first_name, patronymic,
// email or phone.
type ProfileEdit struct {
	Field string
	Value string
}

var profileFields = map[string]bool{"surname": true, "first_name": true, "patronymic": true, "email": true, "phone": true}

// EditUser rectifies profile fields in one transaction under the user row's lock: each
// changed field is updated, its before and after recorded in rectifications, and the
// edit audited (field names only). It returns the rectifications made.
func (db *DB) EditUser(ctx context.Context, userID uuid.UUID, edits []ProfileEdit, actor string) ([]callscribe.Rectification, error) {
	var out []callscribe.Rectification
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		out = nil
		if err := lockUser(ctx, tx, userID, "UPDATE"); err != nil {
			return err
		}
		var org uuid.UUID
		if err := tx.QueryRow(ctx, `SELECT organization_id FROM users WHERE id = $1`, userID).Scan(&org); err != nil {
			return err
		}
		detail := map[string]any{}
		for _, e := range edits {
			if !profileFields[e.Field] {
				return callscribe.Errorf(callscribe.EINVALID, "%q is not a profile field (surname, first_name, patronymic, email, phone)", e.Field)
			}
			if e.Field == "email" && e.Value == "" {
				return callscribe.Errorf(callscribe.EINVALID, "the email cannot be empty")
			}
			var before string
			// The field name is checked against profileFields above.
			if err := tx.QueryRow(ctx, `SELECT `+e.Field+` FROM users WHERE id = $1`, userID).Scan(&before); err != nil {
				return err
			}
			if before == e.Value {
				continue
			}
			if _, err := tx.Exec(ctx, `UPDATE users SET `+e.Field+` = $2 WHERE id = $1`, userID, e.Value); err != nil {
				if isUniqueViolation(err) {
					return callscribe.Errorf(callscribe.ECONFLICT, "another user has email %s", e.Value)
				}
				return err
			}
			r := callscribe.Rectification{Actor: actor, SubjectID: userID, ObjectType: "user", ObjectID: userID.String(),
				Field: e.Field, Before: before, After: e.Value}
			if err := tx.QueryRow(ctx, `
				INSERT INTO rectifications (actor, subject_id, object_type, object_id, field, before, after)
				VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING at`,
				r.Actor, r.SubjectID, r.ObjectType, r.ObjectID, r.Field, r.Before, r.After).Scan(&r.At); err != nil {
				return err
			}
			out = append(out, r)
			detail[e.Field] = true
		}
		if len(out) == 0 {
			return nil
		}
		return insertAudit(ctx, tx, callscribe.AuditEntry{Actor: actor, Action: "user.edit", ObjectType: "user",
			ObjectID: userID.String(), OrgID: org, SubjectID: userID, Detail: detail})
	})
	if err != nil {
		return nil, fmt.Errorf("edit user: %w", err)
	}
	return out, nil
}

// EditSegment rectifies segment ord (0-based) of a call's transcript: its text, its
// speaker label, or both (nil: unchanged). The transcript's text, and with it the search
// index (a generated column), is rebuilt from the segments in the same transaction; a
// summary is marked stale when the text changed (ReplaceSummary writes it again); the
// before and after go to rectifications; the edit is audited without any text.
func (db *DB) EditSegment(ctx context.Context, callID uuid.UUID, ord int, text, speaker *string, actor string) ([]callscribe.Rectification, error) {
	return db.EditSegmentRedacted(ctx, callID, ord, text, speaker, actor, nil)
}

// EditSegmentRedacted is EditSegment of a text already redacted, adding the counts of
// what its redaction replaced (type name → count) to the transcript's, in the same
// transaction.
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

// SearchTranscripts returns the ids of calls whose transcript matches every word of
// query (the full-text index), for users not being erased.
func (db *DB) SearchTranscripts(ctx context.Context, query string) ([]uuid.UUID, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT t.call_id FROM transcripts t JOIN calls c ON c.id = t.call_id JOIN users u ON u.id = c.owner_id
		WHERE t.search @@ plainto_tsquery('simple', $1) AND u.erased_at IS NULL ORDER BY t.call_id`, query)
	if err != nil {
		return nil, fmt.Errorf("search transcripts: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, fmt.Errorf("search transcripts: %w", err)
	}
	return ids, nil
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
