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

// AddPartner adds a partner; ECONFLICT when the code is taken.
func (db *DB) AddPartner(ctx context.Context, code, name string) (callscribe.Partner, error) {
	p := callscribe.Partner{Code: code, Name: name}
	err := db.pool.QueryRow(ctx, `INSERT INTO partners (code, name) VALUES ($1, $2) RETURNING id, created_at`, code, name).Scan(&p.ID, &p.CreatedAt)
	if isUniqueViolation(err) {
		return p, callscribe.Errorf(callscribe.ECONFLICT, "a partner with code %q exists", code)
	}
	if err != nil {
		return p, fmt.Errorf("add partner: %w", err)
	}
	return p, nil
}

// Partners lists every partner by code, with its counts.
func (db *DB) Partners(ctx context.Context) ([]callscribe.Partner, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT p.id, p.code, p.name, p.created_at,
		       (SELECT count(*) FROM partner_clicks c WHERE c.partner_id = p.id),
		       (SELECT count(*) FROM organizations o WHERE o.partner_id = p.id)
		FROM partners p ORDER BY p.code`)
	if err != nil {
		return nil, fmt.Errorf("list partners: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (callscribe.Partner, error) {
		var p callscribe.Partner
		err := r.Scan(&p.ID, &p.Code, &p.Name, &p.CreatedAt, &p.Clicks, &p.Registrations)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("list partners: %w", err)
	}
	return out, nil
}

// RecordClick records a visit through the partner's link under the sha256 of its click
// id; ENOTFOUND for an unknown partner code.
func (db *DB) RecordClick(ctx context.Context, code string, hash []byte, at time.Time) error {
	tag, err := db.pool.Exec(ctx, `
		INSERT INTO partner_clicks (partner_id, hash, clicked_at) SELECT id, $2, $3 FROM partners WHERE code = $1`, code, hash, at)
	if err != nil {
		return fmt.Errorf("record click: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return callscribe.Errorf(callscribe.ENOTFOUND, "no partner %q", code)
	}
	return nil
}

// Attribution is the partner and click an organization registered through, if any.
type Attribution struct {
	PartnerID   uuid.UUID
	PartnerCode string
	ClickHash   []byte
}

// AttributionOf returns the organization's partner and click; ENOTFOUND when it came
// through none.
func (db *DB) AttributionOf(ctx context.Context, orgID uuid.UUID) (Attribution, error) {
	var a Attribution
	err := db.pool.QueryRow(ctx, `
		SELECT p.id, p.code, c.hash FROM organizations o JOIN partners p ON p.id = o.partner_id
		JOIN partner_clicks c ON c.id = o.partner_click_id WHERE o.id = $1`, orgID).Scan(&a.PartnerID, &a.PartnerCode, &a.ClickHash)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, callscribe.Errorf(callscribe.ENOTFOUND, "the organization came through no partner")
	}
	if err != nil {
		return a, fmt.Errorf("read attribution: %w", err)
	}
	return a, nil
}

// PublishAgreement stores a new version, in force from at, audits it and records the
// notice of it to every user (the notice hook); ECONFLICT
// when the version exists.
func (db *DB) PublishAgreement(ctx context.Context, a callscribe.AgreementRecord) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO agreements (version, text, published_at, published_by) VALUES ($1, $2, $3, $4)`,
			a.Version, a.Text, a.PublishedAt, a.PublishedBy)
		if isUniqueViolation(err) {
			return callscribe.Errorf(callscribe.ECONFLICT, "agreement version %q is published already", a.Version)
		}
		if err != nil {
			return err
		}
		if err := insertAudit(ctx, tx, callscribe.AuditEntry{At: a.PublishedAt, Actor: a.PublishedBy, Action: "agreement.publish",
			ObjectType: "agreement", ObjectID: a.Version}); err != nil {
			return err
		}
		// Every user not erased is told of the new version, with the version's commit.
		if db.notices.record == nil {
			return nil
		}
		users, err := noticeTx{tx: tx, jobs: db.notices.jobs}.UsersToTell(ctx, uuid.Nil)
		if err != nil {
			return err
		}
		return db.notice(ctx, tx, callscribe.Notice{Kind: callscribe.NoticeAgreementPublished, UserIDs: users, Detail: a.Version})
	})
	if err != nil {
		return fmt.Errorf("publish agreement: %w", err)
	}
	return nil
}

// CurrentAgreement returns the version in force (the latest published); ENOTFOUND when
// none was published.
func (db *DB) CurrentAgreement(ctx context.Context) (callscribe.AgreementRecord, error) {
	var a callscribe.AgreementRecord
	err := db.pool.QueryRow(ctx, `
		SELECT version, text, published_at, published_by FROM agreements ORDER BY published_at DESC, version DESC LIMIT 1`).
		Scan(&a.Version, &a.Text, &a.PublishedAt, &a.PublishedBy)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, callscribe.Errorf(callscribe.ENOTFOUND, "no agreement is published")
	}
	if err != nil {
		return a, fmt.Errorf("read agreement: %w", err)
	}
	return a, nil
}

// AnswerAgreement records the user's answer ("accept" or "decline") to a version;
// ENOTFOUND for an unknown version.
func (db *DB) AnswerAgreement(ctx context.Context, userID uuid.UUID, version, action string, channel callscribe.ConsentChannel, at time.Time) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockUser(ctx, tx, userID, "SHARE"); err != nil {
			return err
		}
		return answerAgreement(ctx, tx, userID, version, action, channel, at)
	})
	if err != nil {
		return fmt.Errorf("answer agreement: %w", err)
	}
	return nil
}

func answerAgreement(ctx context.Context, tx pgx.Tx, userID uuid.UUID, version, action string, channel callscribe.ConsentChannel, at time.Time) error {
	var ok bool
	err := tx.QueryRow(ctx, `SELECT true FROM agreements WHERE version = $1`, version).Scan(&ok)
	if errors.Is(err, pgx.ErrNoRows) {
		return callscribe.Errorf(callscribe.ENOTFOUND, "no agreement version %q", version)
	}
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO agreement_answers (user_id, version, action, channel, at) VALUES ($1, $2, $3, $4, $5)`,
		userID, version, action, string(channel), at)
	return err
}

// AgreementAccepted reports whether the user's last answer to version is an acceptance.
func (db *DB) AgreementAccepted(ctx context.Context, userID uuid.UUID, version string) (bool, error) {
	var ok bool
	err := db.pool.QueryRow(ctx, `
		SELECT coalesce((SELECT action = 'accept' FROM agreement_answers WHERE user_id = $1 AND version = $2
		ORDER BY at DESC, id DESC LIMIT 1), false)`, userID, version).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("read agreement answer: %w", err)
	}
	return ok, nil
}

// AgreementAnswers lists the user's answers, oldest first.
func (db *DB) AgreementAnswers(ctx context.Context, userID uuid.UUID) ([]callscribe.AgreementAnswer, error) {
	rows, err := db.pool.Query(ctx, `SELECT version, action, channel, at FROM agreement_answers WHERE user_id = $1 ORDER BY at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list agreement answers: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (callscribe.AgreementAnswer, error) {
		var a callscribe.AgreementAnswer
		var ch string
		err := r.Scan(&a.Version, &a.Action, &ch, &a.At)
		a.Channel = callscribe.ConsentChannel(ch)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("list agreement answers: %w", err)
	}
	return out, nil
}
