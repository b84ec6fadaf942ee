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

// CreateLinkToken records the sha256 of a Telegram link token of the user, valid until
// expires. The token itself is never stored.
func (db *DB) CreateLinkToken(ctx context.Context, userID uuid.UUID, hash []byte, expires time.Time) error {
	tag, err := db.pool.Exec(ctx, `
		INSERT INTO telegram_link_tokens (hash, user_id, expires_at)
		SELECT $1, id, $3 FROM users WHERE id = $2 AND erased_at IS NULL`, hash, userID, expires)
	if err != nil {
		return fmt.Errorf("create link token: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return callscribe.Errorf(callscribe.ENOTFOUND, "no user with id %s", userID)
	}
	return nil
}

// ConsumeLinkToken uses the link token whose sha256 is hash: the token is deleted
// whatever happens next (single use), and, unless it expired by at, the user it was made
// for is linked to the Telegram user (replacing a link either had before). It returns the
// link and, when the Telegram user was linked to another account until now, that
// account's id (uuid.Nil otherwise). An unknown, used or expired token is EINVALID.
func (db *DB) ConsumeLinkToken(ctx context.Context, hash []byte, telegramUserID int64, username string, at time.Time) (callscribe.TelegramLink, uuid.UUID, error) {
	var link callscribe.TelegramLink
	var replaced uuid.UUID
	var expired bool
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var expires time.Time
		err := tx.QueryRow(ctx, `DELETE FROM telegram_link_tokens WHERE hash = $1 RETURNING user_id, expires_at`, hash).
			Scan(&link.UserID, &expires)
		if errors.Is(err, pgx.ErrNoRows) {
			return callscribe.Errorf(callscribe.EINVALID, "the link token is unknown or was used already")
		}
		if err != nil {
			return err
		}
		if !at.Before(expires) {
			expired = true
			return nil // commit the deletion: an expired token is gone too
		}
		if err := lockUser(ctx, tx, link.UserID, "UPDATE"); err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `DELETE FROM telegram_links WHERE telegram_user_id = $1 AND user_id <> $2 RETURNING user_id`,
			telegramUserID, link.UserID).Scan(&replaced)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		return tx.QueryRow(ctx, `
			INSERT INTO telegram_links (user_id, telegram_user_id, username, linked_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (user_id) DO UPDATE SET telegram_user_id = EXCLUDED.telegram_user_id,
			       username = EXCLUDED.username, linked_at = EXCLUDED.linked_at
			RETURNING organization_id`, link.UserID, telegramUserID, username, at).Scan(&link.OrgID)
	})
	if err != nil {
		return callscribe.TelegramLink{}, uuid.Nil, fmt.Errorf("link telegram: %w", err)
	}
	if expired {
		return callscribe.TelegramLink{}, uuid.Nil, callscribe.Errorf(callscribe.EINVALID, "the link token expired")
	}
	link.TelegramUserID, link.Username, link.LinkedAt = telegramUserID, username, at
	return link, replaced, nil
}

const linkColumns = "user_id, organization_id, telegram_user_id, username, linked_at"

func scanLink(row pgx.Row, what string) (callscribe.TelegramLink, error) {
	var l callscribe.TelegramLink
	err := row.Scan(&l.UserID, &l.OrgID, &l.TelegramUserID, &l.Username, &l.LinkedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return l, callscribe.Errorf(callscribe.ENOTFOUND, "%s is not linked to Telegram", what)
	}
	if err != nil {
		return l, fmt.Errorf("read telegram link: %w", err)
	}
	return l, nil
}

// TelegramLinkOf finds the Telegram user's link to an account that is not being erased;
// ENOTFOUND when there is none. The bot asks it before it knows the organization, so it
// runs in the system's scope.
func (db *DB) TelegramLinkOf(ctx context.Context, telegramUserID int64) (callscribe.TelegramLink, error) {
	return scanLink(db.pool.QueryRow(ctx, `
		SELECT `+linkColumns+` FROM telegram_links l
		WHERE telegram_user_id = $1 AND EXISTS (SELECT 1 FROM users u WHERE u.id = l.user_id AND u.erased_at IS NULL)`,
		telegramUserID), "this Telegram user")
}

// TelegramLink finds the user's link; ENOTFOUND when they have none.
func (db *DB) TelegramLink(ctx context.Context, userID uuid.UUID) (callscribe.TelegramLink, error) {
	return scanLink(db.pool.QueryRow(ctx, `
		SELECT `+linkColumns+` FROM telegram_links l
		WHERE user_id = $1 AND EXISTS (SELECT 1 FROM users u WHERE u.id = l.user_id AND u.erased_at IS NULL)`,
		userID), "the user")
}

// UnlinkTelegram forgets the user's link (the Telegram user id and username), their
// unused link tokens and their drafts; false when there was no link.
func (db *DB) UnlinkTelegram(ctx context.Context, userID uuid.UUID) (bool, error) {
	var n int64
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM telegram_links WHERE user_id = $1`, userID)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		if _, err := tx.Exec(ctx, `DELETE FROM telegram_link_tokens WHERE user_id = $1`, userID); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM telegram_drafts WHERE user_id = $1`, userID)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("unlink telegram: %w", err)
	}
	return n > 0, nil
}

// CreateDraft keeps the text of a request the user sent until they say its kind.
func (db *DB) CreateDraft(ctx context.Context, userID uuid.UUID, text string, at time.Time) (uuid.UUID, error) {
	var id uuid.UUID
	err := db.pool.QueryRow(ctx, `INSERT INTO telegram_drafts (user_id, text, created_at) VALUES ($1, $2, $3) RETURNING id`,
		userID, text, at).Scan(&id)
	if err != nil {
		return uuid.Nil, fmt.Errorf("keep draft: %w", err)
	}
	return id, nil
}

// TakeDraft deletes the user's draft and returns its text; ENOTFOUND when it is gone
// (taken already, expired or never theirs).
func (db *DB) TakeDraft(ctx context.Context, userID, id uuid.UUID) (string, error) {
	var text string
	err := db.pool.QueryRow(ctx, `DELETE FROM telegram_drafts WHERE id = $1 AND user_id = $2 RETURNING text`, id, userID).Scan(&text)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", callscribe.Errorf(callscribe.ENOTFOUND, "no such draft")
	}
	if err != nil {
		return "", fmt.Errorf("take draft: %w", err)
	}
	return text, nil
}

// PruneTelegram deletes drafts created and link tokens expired before before.
func (db *DB) PruneTelegram(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	for _, q := range []string{`DELETE FROM telegram_drafts WHERE created_at < $1`, `DELETE FROM telegram_link_tokens WHERE expires_at < $1`} {
		tag, err := db.pool.Exec(ctx, q, before)
		if err != nil {
			return n, fmt.Errorf("prune telegram: %w", err)
		}
		n += tag.RowsAffected()
	}
	return n, nil
}

// UserLanguage is the language the user is spoken to in ("ru" or "en").
func (db *DB) UserLanguage(ctx context.Context, userID uuid.UUID) (string, error) {
	var lang string
	err := db.pool.QueryRow(ctx, `SELECT language FROM users WHERE id = $1 AND erased_at IS NULL`, userID).Scan(&lang)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", callscribe.Errorf(callscribe.ENOTFOUND, "no user with id %s", userID)
	}
	if err != nil {
		return "", fmt.Errorf("read language: %w", err)
	}
	return lang, nil
}
