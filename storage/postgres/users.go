package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"callscribe"
)

// userColumns are the columns of a user as userFields receives them.
const userColumns = "id, organization_id, email, surname, first_name, patronymic, phone, created_at, blocked_at"

// userColumnsOf is userColumns qualified by a table alias ("u"), for joins.
func userColumnsOf(alias string) string {
	return alias + "." + strings.ReplaceAll(userColumns, ", ", ", "+alias+".")
}

// userFields are the scan destinations of userColumns in u: the one place a user row's
// columns meet the User's fields (scanUser, and the account and session reads that
// join users).
func userFields(u *callscribe.User) []any {
	return []any{&u.ID, &u.OrgID, &u.Email, &u.Surname, &u.FirstName, &u.Patronymic, &u.Phone, &u.CreatedAt, &u.BlockedAt}
}

// scanUser reads one row of userColumns.
func scanUser(row pgx.Row) (callscribe.User, error) {
	var u callscribe.User
	err := row.Scan(userFields(&u)...)
	return u, err
}

// CreateUser adds a user to an organization. A second user with the same email
// (case-insensitive) in the same organization is refused with ECONFLICT.
func (db *DB) CreateUser(ctx context.Context, u callscribe.User) (callscribe.User, error) {
	err := db.pool.QueryRow(ctx, `
		INSERT INTO users (organization_id, email, surname, first_name, patronymic, phone)
		VALUES ($1, $2, $3, $4, $5, $6)
		RETURNING id, created_at`,
		u.OrgID, u.Email, u.Surname, u.FirstName, u.Patronymic, u.Phone).Scan(&u.ID, &u.CreatedAt)
	if isUniqueViolation(err) {
		return callscribe.User{}, callscribe.Errorf(callscribe.ECONFLICT, "a user with email %s already exists", u.Email)
	}
	if err != nil {
		return callscribe.User{}, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

// UserByEmail finds a user of the organization by email, case-insensitively; ENOTFOUND
// when there is none (a user of another organization is not found either: emails are
// unique per organization only).
func (db *DB) UserByEmail(ctx context.Context, orgID uuid.UUID, email string) (callscribe.User, error) {
	u, err := scanUser(db.pool.QueryRow(ctx, `
		SELECT `+userColumns+`
		FROM users WHERE organization_id = $1 AND lower(email) = lower($2) AND erased_at IS NULL`, orgID, strings.TrimSpace(email)))
	if errors.Is(err, pgx.ErrNoRows) {
		return callscribe.User{}, callscribe.Errorf(callscribe.ENOTFOUND, "no user with email %s", email)
	}
	if err != nil {
		return callscribe.User{}, fmt.Errorf("find user: %w", err)
	}
	return u, nil
}

// UserInOrg finds a user of the organization by id who is not erased; ENOTFOUND when
// there is none in it.
func (db *DB) UserInOrg(ctx context.Context, orgID, id uuid.UUID) (callscribe.User, error) {
	u, err := scanUser(db.pool.QueryRow(ctx, `
		SELECT `+userColumns+`
		FROM users WHERE organization_id = $1 AND id = $2 AND erased_at IS NULL`, orgID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return callscribe.User{}, callscribe.Errorf(callscribe.ENOTFOUND, "no user %s", id)
	}
	if err != nil {
		return callscribe.User{}, fmt.Errorf("find user: %w", err)
	}
	return u, nil
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// lockUser locks the user row in mode SHARE (writers of consented data) or UPDATE
// (consent changes). A user being erased is not found: nothing more is stored for them.
func lockUser(ctx context.Context, tx pgx.Tx, userID uuid.UUID, mode string) error {
	var id uuid.UUID
	err := tx.QueryRow(ctx, `SELECT id FROM users WHERE id = $1 AND erased_at IS NULL FOR `+mode, userID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return callscribe.Errorf(callscribe.ENOTFOUND, "no user with id %s", userID)
	}
	return err
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

var profileFields = map[string]bool{"surname": true, "first_name": true, "patronymic": true, "email": true, "phone": true}

// EditUser rectifies profile fields in one transaction under the user row's lock: each
// changed field is updated, its before and after recorded in rectifications, and the
// edit audited (field names only). It returns the rectifications made.
func (db *DB) EditUser(ctx context.Context, userID uuid.UUID, edits []callscribe.ProfileEdit, actor string) ([]callscribe.Rectification, error) {
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
