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

// GrantConsent puts the user's consent to purpose in force under policyVersion and
// records the grant as an event, with the channel it came through, in the same
// transaction. Granting a purpose already in force keeps the existing grant, records no
// event and reports false.
func (db *DB) GrantConsent(ctx context.Context, userID uuid.UUID, purpose callscribe.Purpose, policyVersion string, channel callscribe.ConsentChannel, at time.Time) (bool, error) {
	var granted bool
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockUser(ctx, tx, userID, "UPDATE"); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `
			INSERT INTO consents (user_id, purpose, policy_version, granted_at)
			VALUES ($1, $2, $3, $4)
			ON CONFLICT (user_id, purpose) WHERE withdrawn_at IS NULL DO NOTHING`,
			userID, string(purpose), policyVersion, at)
		if err != nil {
			return err
		}
		if granted = tag.RowsAffected() == 1; !granted {
			return nil
		}
		return consentEvent(ctx, tx, userID, purpose, callscribe.ConsentGrant, policyVersion, channel, at)
	})
	if err != nil {
		return false, fmt.Errorf("grant consent: %w", err)
	}
	return granted, nil
}

// WithdrawConsent ends the user's consent to purpose and records the withdrawal as an
// event in the same transaction. It takes the user row's exclusive lock, so it waits for
// any transaction storing data under that consent and every later one sees the
// withdrawal; on commit it notifies the processes watching the user (see WatchUser).
// It reports whether a grant was in force.
func (db *DB) WithdrawConsent(ctx context.Context, userID uuid.UUID, purpose callscribe.Purpose, channel callscribe.ConsentChannel, at time.Time) (bool, error) {
	var withdrawn bool
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockUser(ctx, tx, userID, "UPDATE"); err != nil {
			return err
		}
		var err error
		withdrawn, err = withdrawConsent(ctx, tx, userID, purpose, channel, at)
		if err != nil || !withdrawn {
			return err
		}
		return db.notice(ctx, tx, callscribe.Notice{Kind: callscribe.NoticeConsentWithdrawn, UserIDs: []uuid.UUID{userID}, Detail: string(purpose)})
	})
	if err != nil {
		return false, fmt.Errorf("withdraw consent: %w", err)
	}
	return withdrawn, nil
}

// withdrawConsent withdraws one purpose in tx, which holds the user row FOR UPDATE.
func withdrawConsent(ctx context.Context, tx pgx.Tx, userID uuid.UUID, purpose callscribe.Purpose, channel callscribe.ConsentChannel, at time.Time) (bool, error) {
	var policy string
	err := tx.QueryRow(ctx, `
		UPDATE consents SET withdrawn_at = greatest($3, granted_at)
		WHERE user_id = $1 AND purpose = $2 AND withdrawn_at IS NULL
		RETURNING policy_version`,
		userID, string(purpose), at).Scan(&policy)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := consentEvent(ctx, tx, userID, purpose, callscribe.ConsentWithdraw, policy, channel, at); err != nil {
		return false, err
	}
	return true, notifyUser(ctx, tx, userID)
}

func consentEvent(ctx context.Context, tx pgx.Tx, userID uuid.UUID, purpose callscribe.Purpose, action callscribe.ConsentAction, policy string, channel callscribe.ConsentChannel, at time.Time) error {
	_, err := tx.Exec(ctx, `
		INSERT INTO consent_events (user_id, purpose, action, policy_version, channel, at)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		userID, string(purpose), string(action), policy, string(channel), at)
	return err
}

// ConsentEvents lists every grant and withdrawal of the user, oldest first.
func (db *DB) ConsentEvents(ctx context.Context, userID uuid.UUID) ([]callscribe.ConsentEvent, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT user_id, purpose, action, policy_version, channel, at
		FROM consent_events WHERE user_id = $1 ORDER BY at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list consent events: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (callscribe.ConsentEvent, error) {
		var e callscribe.ConsentEvent
		var p, a, c string
		err := row.Scan(&e.UserID, &p, &a, &e.PolicyVersion, &c, &e.At)
		e.Purpose, e.Action, e.Channel = callscribe.Purpose(p), callscribe.ConsentAction(a), callscribe.ConsentChannel(c)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("list consent events: %w", err)
	}
	return out, nil
}

// ConsentInForce reports whether the user's consent to purpose is in force now. It takes
// no lock: writers re-check under the user row's lock (see CompleteCall).
func (db *DB) ConsentInForce(ctx context.Context, userID uuid.UUID, purpose callscribe.Purpose) (bool, error) {
	return consentInForce(ctx, db.pool, userID, purpose)
}

// Consents lists every grant of the user, newest first, withdrawn ones included.
func (db *DB) Consents(ctx context.Context, userID uuid.UUID) ([]callscribe.Consent, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT user_id, purpose, policy_version, granted_at, withdrawn_at
		FROM consents WHERE user_id = $1 ORDER BY granted_at DESC, id DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("list consents: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (callscribe.Consent, error) {
		var c callscribe.Consent
		var p string
		err := row.Scan(&c.UserID, &p, &c.PolicyVersion, &c.GrantedAt, &c.WithdrawnAt)
		c.Purpose = callscribe.Purpose(p)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("list consents: %w", err)
	}
	return out, nil
}

// consentInForceSQL is what a consent in force is, the one definition every check uses:
// a grant of purpose $2 to user $1 not withdrawn.
const consentInForceSQL = `EXISTS (SELECT 1 FROM consents
	WHERE consents.user_id = $1 AND consents.purpose = $2 AND consents.withdrawn_at IS NULL)`

func consentInForce(ctx context.Context, q querier, userID uuid.UUID, purpose callscribe.Purpose) (bool, error) {
	var ok bool
	err := q.QueryRow(ctx, `SELECT `+consentInForceSQL, userID, string(purpose)).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("check consent: %w", err)
	}
	return ok, nil
}
