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

// BlockUser blocks the user from at: their data is kept but not shown, processed or
// exported until UnblockUser or erasure. It waits for any transaction storing their data
// (which holds the row FOR SHARE), and notifies the processes watching the user so that
// calls of theirs in flight stop. It reports false when the user was blocked already.
func (db *DB) BlockUser(ctx context.Context, userID uuid.UUID, at time.Time) (bool, error) {
	var changed bool
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		changed, err = blockUser(ctx, tx, userID, at)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("block user: %w", err)
	}
	return changed, nil
}

func blockUser(ctx context.Context, tx pgx.Tx, userID uuid.UUID, at time.Time) (bool, error) {
	if err := lockUser(ctx, tx, userID, "UPDATE"); err != nil {
		return false, err
	}
	tag, err := tx.Exec(ctx, `UPDATE users SET blocked_at = $2 WHERE id = $1 AND blocked_at IS NULL`, userID, at)
	if err != nil || tag.RowsAffected() == 0 {
		return false, err
	}
	return true, notifyUser(ctx, tx, userID)
}

// UnblockUser lifts a block; it reports false when the user was not blocked.
func (db *DB) UnblockUser(ctx context.Context, userID uuid.UUID) (bool, error) {
	var changed bool
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockUser(ctx, tx, userID, "UPDATE"); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE users SET blocked_at = NULL WHERE id = $1 AND blocked_at IS NOT NULL`, userID)
		changed = tag.RowsAffected() == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("unblock user: %w", err)
	}
	return changed, nil
}

// UserBlocked reports whether the user is blocked now. It takes no lock: writers
// re-check under the user row's lock (see CompleteCall).
func (db *DB) UserBlocked(ctx context.Context, userID uuid.UUID) (bool, error) {
	return userBlocked(ctx, db.pool, userID)
}

func userBlocked(ctx context.Context, q querier, userID uuid.UUID) (bool, error) {
	var blocked bool
	err := q.QueryRow(ctx, `SELECT blocked_at IS NOT NULL FROM users WHERE id = $1`, userID).Scan(&blocked)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, callscribe.Errorf(callscribe.ENOTFOUND, "no user with id %s", userID)
	}
	if err != nil {
		return false, fmt.Errorf("check block: %w", err)
	}
	return blocked, nil
}

// errBlocked is what reads of a blocked user's data get.
func errBlocked(what string) error {
	return callscribe.Errorf(callscribe.EBLOCKED, "the owner of %s is blocked: their data is kept but not shown until they are unblocked", what)
}

// Admission answers, in one round trip, the two questions an upload asks before anything
// of it is read: is the user blocked (UserBlocked), and is their consent to purpose in
// force (ConsentInForce). Like them it takes no lock: the worker re-checks both under the
// user row's lock before it stores anything of the call.
func (db *DB) Admission(ctx context.Context, userID uuid.UUID, purpose callscribe.Purpose) (blocked, consented bool, err error) {
	err = db.pool.QueryRow(ctx, `
		SELECT blocked_at IS NOT NULL, `+consentInForceSQL+`
		FROM users WHERE id = $1`, userID, string(purpose)).Scan(&blocked, &consented)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, false, callscribe.Errorf(callscribe.ENOTFOUND, "no user with id %s", userID)
	}
	if err != nil {
		return false, false, fmt.Errorf("check block and consent: %w", err)
	}
	return blocked, consented, nil
}
