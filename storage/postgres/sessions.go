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

const sessionColumns = `s.id_hash, s.user_id, s.organization_id, s.created_at, s.last_seen_at, s.expires_at, s.user_agent, s.addr`

func scanSession(row pgx.Row) (callscribe.SessionRecord, error) {
	var s callscribe.SessionRecord
	err := row.Scan(sessionFields(&s)...)
	return s, err
}

// sessionFields are the scan destinations of sessionColumns in s.
func sessionFields(s *callscribe.SessionRecord) []any {
	return []any{&s.Hash, &s.UserID, &s.OrgID, &s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt, &s.UserAgent, &s.Addr}
}

// CreateSession stores a new session and, in the same transaction, deletes the session
// whose hash is replacing (the one the browser had before signing in: a session id is
// never carried across a sign-in).
func (db *DB) CreateSession(ctx context.Context, s callscribe.SessionRecord, replacing []byte) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if replacing != nil {
			if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE id_hash = $1`, replacing); err != nil {
				return err
			}
		}
		var ok bool
		err := tx.QueryRow(ctx, `SELECT true FROM users WHERE id = $1 AND erased_at IS NULL AND blocked_at IS NULL FOR SHARE`, s.UserID).Scan(&ok)
		if errors.Is(err, pgx.ErrNoRows) {
			return callscribe.Errorf(callscribe.EUNAUTHORIZED, "the account cannot sign in")
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `
			INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, expires_at, user_agent, addr)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, s.Hash, s.UserID, s.CreatedAt, s.LastSeenAt, s.ExpiresAt, s.UserAgent, s.Addr)
		return err
	})
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// SessionByHash finds a session with its account, whatever its age (the caller checks
// expiry and idleness); ENOTFOUND when there is none, or its user is blocked or erased.
func (db *DB) SessionByHash(ctx context.Context, hash []byte) (callscribe.SessionRecord, callscribe.AccountRecord, error) {
	row := db.pool.QueryRow(ctx, `SELECT `+sessionColumns+`, `+accountColumns+`
		FROM sessions s JOIN accounts a ON a.user_id = s.user_id JOIN users u ON u.id = s.user_id
		JOIN organizations o ON o.id = a.organization_id
		WHERE s.id_hash = $1 AND u.erased_at IS NULL AND u.blocked_at IS NULL`, hash)
	var s callscribe.SessionRecord
	var a callscribe.AccountRecord
	err := row.Scan(append(sessionFields(&s), accountFields(&a)...)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, a, callscribe.Errorf(callscribe.ENOTFOUND, "no such session")
	}
	if err != nil {
		return s, a, fmt.Errorf("find session: %w", err)
	}
	return s, a, nil
}

// TouchSession records that the session was used at.
func (db *DB) TouchSession(ctx context.Context, hash []byte, at time.Time) error {
	if _, err := db.pool.Exec(ctx, `UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1 AND last_seen_at < $2`, hash, at); err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// DeleteSession ends one session (a missing one is no error).
func (db *DB) DeleteSession(ctx context.Context, hash []byte) error {
	if _, err := db.pool.Exec(ctx, `DELETE FROM sessions WHERE id_hash = $1`, hash); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// DeleteSessions ends every session of the user and reports how many there were.
func (db *DB) DeleteSessions(ctx context.Context, userID uuid.UUID) (int64, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
	if err != nil {
		return 0, fmt.Errorf("end sessions: %w", err)
	}
	return tag.RowsAffected(), nil
}

// DeleteOtherSessions ends every session of the user but the one whose hash is keep
// (nil: every one) and reports how many ended.
func (db *DB) DeleteOtherSessions(ctx context.Context, userID uuid.UUID, keep []byte) (int64, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1 AND id_hash IS DISTINCT FROM $2`, userID, keep)
	if err != nil {
		return 0, fmt.Errorf("end other sessions: %w", err)
	}
	return tag.RowsAffected(), nil
}

// SessionsOf lists the user's sessions, the most recently used first.
func (db *DB) SessionsOf(ctx context.Context, userID uuid.UUID) ([]callscribe.SessionRecord, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+sessionColumns+` FROM sessions s WHERE s.user_id = $1 ORDER BY s.last_seen_at DESC, s.created_at DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (callscribe.SessionRecord, error) { return scanSession(r) })
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return out, nil
}

// PruneSessions deletes the sessions expired, or idle since before idleSince, and
// reports how many: the address a session came from goes with it.
func (db *DB) PruneSessions(ctx context.Context, now, idleSince time.Time) (int64, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at < $2`, now, idleSince)
	if err != nil {
		return 0, fmt.Errorf("prune sessions: %w", err)
	}
	return tag.RowsAffected(), nil
}

// LinkIdentity links a provider identity to the user and audits it (provider only).
// An identity linked to another account, or a second identity of the same provider for
// this one, is ECONFLICT; linking the same identity again refreshes what is kept of it.
func (db *DB) LinkIdentity(ctx context.Context, id callscribe.IdentityRecord, actor string) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockUser(ctx, tx, id.UserID, "SHARE"); err != nil {
			return err
		}
		var owner uuid.UUID
		err := tx.QueryRow(ctx, `SELECT user_id FROM identities WHERE provider = $1 AND subject = $2`, id.Provider, id.Subject).Scan(&owner)
		switch {
		case err == nil && owner != id.UserID:
			return callscribe.Errorf(callscribe.ECONFLICT, "this %s identity is linked to another account", id.Provider)
		case err == nil:
			_, err = tx.Exec(ctx, `UPDATE identities SET email = $3, surname = $4, first_name = $5 WHERE provider = $1 AND subject = $2`,
				id.Provider, id.Subject, id.Email, id.Surname, id.FirstName)
			return err
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		_, err = tx.Exec(ctx, `
			INSERT INTO identities (provider, subject, user_id, email, surname, first_name, linked_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, id.Provider, id.Subject, id.UserID, id.Email, id.Surname, id.FirstName, id.LinkedAt)
		if isUniqueViolation(err) {
			return callscribe.Errorf(callscribe.ECONFLICT, "the account has a %s identity linked already: unlink it first", id.Provider)
		}
		if err != nil {
			return err
		}
		return insertAudit(ctx, tx, callscribe.AuditEntry{At: id.LinkedAt, Actor: actor, Action: "identity.link", ObjectType: "user",
			ObjectID: id.UserID.String(), SubjectID: id.UserID, Detail: map[string]any{"provider": id.Provider}})
	})
	if err != nil {
		return fmt.Errorf("link identity: %w", err)
	}
	return nil
}

// UnlinkIdentity removes the user's identity of the provider and audits it; ENOTFOUND
// when none is linked.
func (db *DB) UnlinkIdentity(ctx context.Context, userID uuid.UUID, provider, actor string) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM identities WHERE user_id = $1 AND provider = $2`, userID, provider)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return callscribe.Errorf(callscribe.ENOTFOUND, "no %s identity is linked", provider)
		}
		return insertAudit(ctx, tx, callscribe.AuditEntry{Actor: actor, Action: "identity.unlink", ObjectType: "user",
			ObjectID: userID.String(), SubjectID: userID, Detail: map[string]any{"provider": provider}})
	})
	if err != nil {
		return fmt.Errorf("unlink identity: %w", err)
	}
	return nil
}

// IdentitiesOf lists the identities linked to the user, by provider.
func (db *DB) IdentitiesOf(ctx context.Context, userID uuid.UUID) ([]callscribe.IdentityRecord, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT provider, subject, email, surname, first_name, user_id, linked_at FROM identities WHERE user_id = $1 ORDER BY provider`, userID)
	if err != nil {
		return nil, fmt.Errorf("list identities: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (callscribe.IdentityRecord, error) {
		var i callscribe.IdentityRecord
		err := r.Scan(&i.Provider, &i.Subject, &i.Email, &i.Surname, &i.FirstName, &i.UserID, &i.LinkedAt)
		return i, err
	})
	if err != nil {
		return nil, fmt.Errorf("list identities: %w", err)
	}
	return out, nil
}

// AccountByIdentity finds the account a provider identity is linked to; ENOTFOUND when
// it is linked to none (or its user is erased).
func (db *DB) AccountByIdentity(ctx context.Context, provider, subject string) (callscribe.AccountRecord, error) {
	a, err := scanAccount(db.pool.QueryRow(ctx, `SELECT `+accountColumns+accountFrom+`
		JOIN identities i ON i.user_id = u.id WHERE i.provider = $1 AND i.subject = $2 AND u.erased_at IS NULL`, provider, subject))
	if errors.Is(err, pgx.ErrNoRows) {
		return a, callscribe.Errorf(callscribe.ENOTFOUND, "no account is linked to this identity")
	}
	if err != nil {
		return a, fmt.Errorf("find account by identity: %w", err)
	}
	return a, nil
}

// AccountData returns what the user's account holds, for their access export; nil when
// the user has no account.
func (db *DB) AccountData(ctx context.Context, userID uuid.UUID) (*callscribe.AccountData, error) {
	var d callscribe.AccountData
	err := db.pool.QueryRow(ctx, `SELECT a.role, u.language, a.email_verified_at, a.created_at FROM accounts a JOIN users u ON u.id = a.user_id WHERE a.user_id = $1`, userID).
		Scan(&d.Role, &d.Language, &d.EmailVerifiedAt, &d.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read account: %w", err)
	}
	ids, err := db.IdentitiesOf(ctx, userID)
	if err != nil {
		return nil, err
	}
	d.Identities = []callscribe.AccountIdentity{}
	for _, i := range ids {
		d.Identities = append(d.Identities, callscribe.AccountIdentity{Provider: i.Provider, Subject: i.Subject, Email: i.Email,
			Surname: i.Surname, FirstName: i.FirstName, LinkedAt: i.LinkedAt})
	}
	sessions, err := db.SessionsOf(ctx, userID)
	if err != nil {
		return nil, err
	}
	d.Sessions = []callscribe.AccountSession{}
	for _, s := range sessions {
		d.Sessions = append(d.Sessions, callscribe.AccountSession{CreatedAt: s.CreatedAt, LastSeenAt: s.LastSeenAt,
			ExpiresAt: s.ExpiresAt, UserAgent: s.UserAgent, Address: s.Addr})
	}
	if d.AgreementAnswers, err = db.AgreementAnswers(ctx, userID); err != nil {
		return nil, err
	}
	if d.AgreementAnswers == nil {
		d.AgreementAnswers = []callscribe.AgreementAnswer{}
	}
	return &d, nil
}

// PutSignIn stores a sign-in through a provider in flight. In the same transaction it
// prunes the expired ones and, when max are held, the oldest, so that a flood of
// sign-ins started and never finished cannot grow the table past max.
func (db *DB) PutSignIn(ctx context.Context, p callscribe.PendingSignIn, now time.Time, max int) error {
	link := &p.LinkUserID
	if p.LinkUserID == uuid.Nil {
		link = nil
	}
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM oauth_pending WHERE expires_at <= $1`, now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			DELETE FROM oauth_pending WHERE id_hash IN (
				SELECT id_hash FROM oauth_pending ORDER BY expires_at DESC OFFSET $1)`, max-1); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `
			INSERT INTO oauth_pending (id_hash, provider, state, nonce, verifier, link_user_id, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, p.Hash, p.Provider, p.State, p.Nonce, p.Verifier, link, p.ExpiresAt)
		return err
	})
	if err != nil {
		return fmt.Errorf("store a sign-in in flight: %w", err)
	}
	return nil
}

// TakeSignIn returns the sign-in in flight under hash and deletes it, so that a callback
// cannot be replayed; ENOTFOUND when there is none, it was taken or it expired.
func (db *DB) TakeSignIn(ctx context.Context, hash []byte, now time.Time) (callscribe.PendingSignIn, error) {
	var p callscribe.PendingSignIn
	var link *uuid.UUID
	err := db.pool.QueryRow(ctx, `
		DELETE FROM oauth_pending WHERE id_hash = $1
		RETURNING id_hash, provider, state, nonce, verifier, link_user_id, expires_at`, hash).
		Scan(&p.Hash, &p.Provider, &p.State, &p.Nonce, &p.Verifier, &link, &p.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && !now.Before(p.ExpiresAt) {
		return callscribe.PendingSignIn{}, callscribe.Errorf(callscribe.ENOTFOUND, "no such sign-in in flight")
	}
	if err != nil {
		return callscribe.PendingSignIn{}, fmt.Errorf("take a sign-in in flight: %w", err)
	}
	if link != nil {
		p.LinkUserID = *link
	}
	return p, nil
}
