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

// The accounts of people who sign in on the web (package accounts): the account row,
// registration, one-time tokens, throttling records, roles and company details. Sessions
// are in sessions.go, identities, partners and agreements in their own files. The accounts
// package hashes every secret before it reaches these methods: nothing here sees a
// password, a session id or a token as given.

var accountColumns = userColumnsOf("u") + `,
	a.role, u.language, coalesce(a.password_hash, ''), a.email_verified_at, o.name`

const accountFrom = ` FROM accounts a JOIN users u ON u.id = a.user_id JOIN organizations o ON o.id = a.organization_id `

func scanAccount(row pgx.Row) (callscribe.AccountRecord, error) {
	var a callscribe.AccountRecord
	err := row.Scan(accountFields(&a)...)
	return a, err
}

// accountFields are the scan destinations of accountColumns in a.
func accountFields(a *callscribe.AccountRecord) []any {
	return append(userFields(&a.User), &a.Role, &a.Language, &a.PasswordHash, &a.EmailVerifiedAt, &a.OrgName)
}

// RegisterAccount creates an account in one transaction: the organization (or the
// invitation's, the invitation used up), the user (an existing user of the invited
// organization with that email and no account becomes the account's), the account, its
// email verification token (none for an invitation, which verifies the email), the acceptance of the agreement in force, and an audit entry.
// An email is one account's across organizations (callscribe.ErrEmailTaken); an
// organization name is one organization's (callscribe.ErrCompanyTaken). It runs as the
// system: it creates an organization.
func (db *DB) RegisterAccount(ctx context.Context, n callscribe.NewAccount) (callscribe.AccountRecord, error) {
	var rec callscribe.AccountRecord
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		// Two registrations of one email wait for each other here.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('account:' || lower($1), 0))`, n.User.Email); err != nil {
			return err
		}
		if taken, err := accountEmailTaken(ctx, tx, n.User.Email, uuid.Nil); err != nil {
			return err
		} else if taken {
			return callscribe.ErrEmailTaken
		}
		u := n.User
		role := n.Role
		existing := uuid.Nil
		if n.InviteHash != nil {
			var email string
			err := tx.QueryRow(ctx, `
				DELETE FROM account_tokens WHERE hash = $1 AND kind = 'invite' AND expires_at > $2
				RETURNING organization_id, email, role`, n.InviteHash, n.Now).Scan(&u.OrgID, &email, &role)
			if errors.Is(err, pgx.ErrNoRows) {
				return callscribe.ErrInviteInvalid
			}
			if err != nil {
				return err
			}
			var match bool
			if err := tx.QueryRow(ctx, `SELECT lower($1) = lower($2)`, email, u.Email).Scan(&match); err != nil {
				return err
			}
			if !match {
				return callscribe.ErrInviteEmail
			}
			err = tx.QueryRow(ctx, `
				SELECT id FROM users WHERE organization_id = $1 AND lower(email) = lower($2) AND erased_at IS NULL FOR UPDATE`,
				u.OrgID, u.Email).Scan(&existing)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
		} else {
			err := tx.QueryRow(ctx, `
				INSERT INTO organizations (name, inn, kpp, ogrn) VALUES ($1, $2, $3, $4)
				ON CONFLICT (name) DO NOTHING RETURNING id`,
				n.Company.Name, n.Company.INN, n.Company.KPP, n.Company.OGRN).Scan(&u.OrgID)
			if errors.Is(err, pgx.ErrNoRows) {
				return callscribe.ErrCompanyTaken
			}
			if err != nil {
				return err
			}
			if n.PartnerCode != "" && n.ClickHash != nil {
				if _, err := tx.Exec(ctx, `
					UPDATE organizations o SET partner_id = c.partner_id, partner_click_id = c.id
					FROM partner_clicks c JOIN partners p ON p.id = c.partner_id
					WHERE o.id = $1 AND c.hash = $2 AND p.code = $3 AND c.clicked_at >= $4
					  AND NOT EXISTS (SELECT 1 FROM organizations t WHERE t.partner_click_id = c.id)`,
					u.OrgID, n.ClickHash, n.PartnerCode, n.ClickSince); err != nil {
					return err
				}
			}
		}
		if existing != uuid.Nil {
			// The person was already a user (their calls transcribed, added by the
			// operator): the account is theirs, with the names and phone they give now.
			if _, err := tx.Exec(ctx, `UPDATE users SET surname = $2, first_name = $3, patronymic = $4, phone = $5 WHERE id = $1`,
				existing, u.Surname, u.FirstName, u.Patronymic, u.Phone); err != nil {
				return err
			}
			u.ID = existing
		} else {
			err := tx.QueryRow(ctx, `
				INSERT INTO users (organization_id, email, surname, first_name, patronymic, phone)
				VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
				u.OrgID, u.Email, u.Surname, u.FirstName, u.Patronymic, u.Phone).Scan(&u.ID)
			if isUniqueViolation(err) {
				return callscribe.ErrEmailTaken
			}
			if err != nil {
				return err
			}
		}
		// An invitation was sent to the address and is used for it only: whoever uses it
		// reads that mailbox, so the email is verified by it.
		var verified *time.Time
		if n.InviteHash != nil {
			verified = &n.Now
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO accounts (user_id, role, password_hash, email_verified_at, created_at)
			VALUES ($1, $2, nullif($3, ''), $4, $5)`,
			u.ID, role, n.PasswordHash, verified, n.Now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET language = $2 WHERE id = $1`, u.ID, n.Language); err != nil {
			return err
		}
		if verified == nil {
			if err := insertToken(ctx, tx, tokenKindVerify, n.VerifyHash, u.ID, u.OrgID, "", "", n.Now, n.VerifyExpires); err != nil {
				return err
			}
		}
		if n.AgreementVersion != "" {
			if err := answerAgreement(ctx, tx, u.ID, n.AgreementVersion, "accept", callscribe.ConsentViaWeb, n.Now); err != nil {
				return err
			}
		}
		if err := insertAudit(ctx, tx, callscribe.AuditEntry{At: n.Now, Actor: "user:" + u.ID.String(), Action: "account.register",
			ObjectType: "user", ObjectID: u.ID.String(), OrgID: u.OrgID, SubjectID: u.ID,
			Detail: map[string]any{"role": role, "invited": n.InviteHash != nil}}); err != nil {
			return err
		}
		var err error
		rec, err = scanAccount(tx.QueryRow(ctx, `SELECT `+accountColumns+accountFrom+`WHERE a.user_id = $1`, u.ID))
		return err
	})
	if err != nil {
		var ae *callscribe.Error
		if errors.As(err, &ae) {
			return callscribe.AccountRecord{}, err
		}
		return callscribe.AccountRecord{}, fmt.Errorf("register account: %w", err)
	}
	return rec, nil
}

// accountEmailTaken reports whether an account other than except's has email.
func accountEmailTaken(ctx context.Context, q querier, email string, except uuid.UUID) (bool, error) {
	var taken bool
	err := q.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM users u JOIN accounts a ON a.user_id = u.id
		WHERE lower(u.email) = lower($1) AND u.erased_at IS NULL AND u.id <> $2)`, email, except).Scan(&taken)
	return taken, err
}

// AccountEmailTaken reports whether an account other than except's signs in with email.
func (db *DB) AccountEmailTaken(ctx context.Context, email string, except uuid.UUID) (bool, error) {
	taken, err := accountEmailTaken(ctx, db.pool, email, except)
	if err != nil {
		return false, fmt.Errorf("check email: %w", err)
	}
	return taken, nil
}

// AccountByEmail finds the account that signs in with email (case-insensitive), not
// erased; ENOTFOUND when there is none.
func (db *DB) AccountByEmail(ctx context.Context, email string) (callscribe.AccountRecord, error) {
	return db.account(ctx, `lower(u.email) = lower($1)`, email)
}

// AccountByID finds the account of a user, not erased; ENOTFOUND when there is none.
func (db *DB) AccountByID(ctx context.Context, userID uuid.UUID) (callscribe.AccountRecord, error) {
	return db.account(ctx, `u.id = $1`, userID)
}

func (db *DB) account(ctx context.Context, where string, arg any) (callscribe.AccountRecord, error) {
	a, err := scanAccount(db.pool.QueryRow(ctx, `SELECT `+accountColumns+accountFrom+`WHERE `+where+` AND u.erased_at IS NULL`, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return a, callscribe.Errorf(callscribe.ENOTFOUND, "no such account")
	}
	if err != nil {
		return a, fmt.Errorf("find account: %w", err)
	}
	return a, nil
}

// Members lists the accounts of an organization by surname, first name and email.
func (db *DB) Members(ctx context.Context, orgID uuid.UUID) ([]callscribe.AccountRecord, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+accountColumns+accountFrom+`
		WHERE a.organization_id = $1 AND u.erased_at IS NULL ORDER BY u.surname, u.first_name, lower(u.email)`, orgID)
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (callscribe.AccountRecord, error) { return scanAccount(r) })
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	return out, nil
}

// SetRole changes the role of an account of the organization, and audits it. The last
// admin of an organization stays an admin (ECONFLICT).
func (db *DB) SetRole(ctx context.Context, orgID, userID uuid.UUID, role, actor string) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		// Every admin row of the organization, locked: two admins demoting each other at
		// once cannot both pass the count.
		rows, err := tx.Query(ctx, `SELECT user_id FROM accounts WHERE organization_id = $1 AND role = 'admin' ORDER BY user_id FOR UPDATE`, orgID)
		if err != nil {
			return err
		}
		admins, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			return err
		}
		var old string
		err = tx.QueryRow(ctx, `SELECT role FROM accounts WHERE organization_id = $1 AND user_id = $2 FOR UPDATE`, orgID, userID).Scan(&old)
		if errors.Is(err, pgx.ErrNoRows) {
			return callscribe.Errorf(callscribe.ENOTFOUND, "no account %s in the organization", userID)
		}
		if err != nil {
			return err
		}
		if old == role {
			return nil
		}
		if old == "admin" && len(admins) <= 1 {
			return callscribe.Errorf(callscribe.ECONFLICT, "the organization's last admin stays an admin: make another account admin first")
		}
		if _, err := tx.Exec(ctx, `UPDATE accounts SET role = $3 WHERE organization_id = $1 AND user_id = $2`, orgID, userID, role); err != nil {
			return err
		}
		return insertAudit(ctx, tx, callscribe.AuditEntry{Actor: actor, Action: "account.role", ObjectType: "user",
			ObjectID: userID.String(), OrgID: orgID, SubjectID: userID, Detail: map[string]any{"from": old, "to": role}})
	})
	if err != nil {
		return fmt.Errorf("set role: %w", err)
	}
	return nil
}

// SetPassword replaces the account's password hash; with endSessions, every session of
// the user ends in the same transaction. It audits the change.
func (db *DB) SetPassword(ctx context.Context, userID uuid.UUID, hash string, endSessions bool, actor string) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		return setPassword(ctx, tx, userID, hash, endSessions, actor)
	})
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	return nil
}

// OperatorSetPassword sets the password of a user the operator added (with the CLI) and
// so may have no account yet: it makes the account (admin when the organization has none,
// else member), sets the hash, marks the email verified when verifiedAt is set (the
// operator vouches), ends the user's sessions and audits it, in one transaction.
func (db *DB) OperatorSetPassword(ctx context.Context, userID uuid.UUID, hash string, verifiedAt *time.Time, actor string) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var org uuid.UUID
		err := tx.QueryRow(ctx, `SELECT organization_id FROM users WHERE id = $1 AND erased_at IS NULL FOR UPDATE`, userID).Scan(&org)
		if errors.Is(err, pgx.ErrNoRows) {
			return callscribe.Errorf(callscribe.ENOTFOUND, "no such user")
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO accounts (user_id, organization_id, role, created_at)
			SELECT $1, $2, CASE WHEN EXISTS (SELECT 1 FROM accounts WHERE organization_id = $2 AND role = 'admin')
				THEN 'member' ELSE 'admin' END, now()
			ON CONFLICT (user_id) DO NOTHING`, userID, org); err != nil {
			return err
		}
		if verifiedAt != nil {
			if _, err := tx.Exec(ctx, `UPDATE accounts SET email_verified_at = coalesce(email_verified_at, $2) WHERE user_id = $1`, userID, *verifiedAt); err != nil {
				return err
			}
		}
		return setPassword(ctx, tx, userID, hash, true, actor)
	})
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	return nil
}

func setPassword(ctx context.Context, tx pgx.Tx, userID uuid.UUID, hash string, endSessions bool, actor string) error {
	var org uuid.UUID
	err := tx.QueryRow(ctx, `UPDATE accounts SET password_hash = $2 WHERE user_id = $1 RETURNING organization_id`, userID, hash).Scan(&org)
	if errors.Is(err, pgx.ErrNoRows) {
		return callscribe.Errorf(callscribe.ENOTFOUND, "no such account")
	}
	if err != nil {
		return err
	}
	if endSessions {
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID); err != nil {
			return err
		}
	}
	return insertAudit(ctx, tx, callscribe.AuditEntry{Actor: actor, Action: "account.password", ObjectType: "user",
		ObjectID: userID.String(), OrgID: org, SubjectID: userID})
}

// SetLanguage sets the language the user's pages, bot messages and notices speak.
func (db *DB) SetLanguage(ctx context.Context, userID uuid.UUID, lang string) error {
	tag, err := db.pool.Exec(ctx, `UPDATE users SET language = $2 WHERE id = $1 AND erased_at IS NULL`, userID, lang)
	if err != nil {
		return fmt.Errorf("set language: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return callscribe.Errorf(callscribe.ENOTFOUND, "no such account")
	}
	return nil
}

// SetEmailUnverified marks the account's email unverified (it changed), deletes its
// verification tokens (sent to the old address) and, when verifyHash is not nil, stores a
// new one, in one transaction.
func (db *DB) SetEmailUnverified(ctx context.Context, userID uuid.UUID, verifyHash []byte, now, expires time.Time) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var org uuid.UUID
		err := tx.QueryRow(ctx, `UPDATE accounts SET email_verified_at = NULL WHERE user_id = $1 RETURNING organization_id`, userID).Scan(&org)
		if errors.Is(err, pgx.ErrNoRows) {
			return callscribe.Errorf(callscribe.ENOTFOUND, "no such account")
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM account_tokens WHERE user_id = $1 AND kind = 'verify'`, userID); err != nil {
			return err
		}
		if verifyHash == nil {
			return nil
		}
		return insertToken(ctx, tx, tokenKindVerify, verifyHash, userID, org, "", "", now, expires)
	})
	if err != nil {
		return fmt.Errorf("mark email unverified: %w", err)
	}
	return nil
}

// Token kinds.
const (
	tokenKindVerify = "verify"
	tokenKindReset  = "reset"
	tokenKindInvite = "invite"
)

func insertToken(ctx context.Context, tx pgx.Tx, kind string, hash []byte, userID, orgID uuid.UUID, email, role string, now, expires time.Time) error {
	var user, r any
	if userID != uuid.Nil {
		user = userID
	}
	if role != "" {
		r = role
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO account_tokens (hash, kind, user_id, organization_id, email, role, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, hash, kind, user, orgID, email, r, now, expires)
	if err != nil {
		return fmt.Errorf("store %s token: %w", kind, err)
	}
	return nil
}

// NewVerifyToken replaces the user's email verification token.
func (db *DB) NewVerifyToken(ctx context.Context, userID uuid.UUID, hash []byte, now, expires time.Time) error {
	return db.newUserToken(ctx, tokenKindVerify, userID, hash, now, expires)
}

// NewResetToken replaces the user's password reset token.
func (db *DB) NewResetToken(ctx context.Context, userID uuid.UUID, hash []byte, now, expires time.Time) error {
	return db.newUserToken(ctx, tokenKindReset, userID, hash, now, expires)
}

func (db *DB) newUserToken(ctx context.Context, kind string, userID uuid.UUID, hash []byte, now, expires time.Time) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var org uuid.UUID
		err := tx.QueryRow(ctx, `SELECT organization_id FROM accounts WHERE user_id = $1`, userID).Scan(&org)
		if errors.Is(err, pgx.ErrNoRows) {
			return callscribe.Errorf(callscribe.ENOTFOUND, "no such account")
		}
		if err != nil {
			return err
		}
		// One live token per kind: a new link makes the older ones useless.
		if _, err := tx.Exec(ctx, `DELETE FROM account_tokens WHERE user_id = $1 AND kind = $2`, userID, kind); err != nil {
			return err
		}
		return insertToken(ctx, tx, kind, hash, userID, org, "", "", now, expires)
	})
	if err != nil {
		return fmt.Errorf("new %s token: %w", kind, err)
	}
	return nil
}

// errBadToken is the one answer to a token that is unknown, used or expired.
var errBadToken = callscribe.Errorf(callscribe.ENOTFOUND, "the link is invalid, used or expired")

// UseVerifyToken uses up a verification token and marks the email verified; ENOTFOUND
// for a token unknown, used or expired. It returns the user.
func (db *DB) UseVerifyToken(ctx context.Context, hash []byte, now time.Time) (uuid.UUID, error) {
	var user uuid.UUID
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if user, err = useToken(ctx, tx, tokenKindVerify, hash, now); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE accounts SET email_verified_at = $2 WHERE user_id = $1`, user, now)
		return err
	})
	if err != nil {
		return uuid.Nil, fmt.Errorf("verify email: %w", err)
	}
	return user, nil
}

// UseResetToken uses up a reset token, sets the new password hash and ends every session
// of the user, in one transaction; ENOTFOUND for a token unknown, used or expired.
func (db *DB) UseResetToken(ctx context.Context, hash []byte, passwordHash string, now time.Time) (uuid.UUID, error) {
	var user uuid.UUID
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if user, err = useToken(ctx, tx, tokenKindReset, hash, now); err != nil {
			return err
		}
		return setPassword(ctx, tx, user, passwordHash, true, "user:"+user.String())
	})
	if err != nil {
		return uuid.Nil, fmt.Errorf("reset password: %w", err)
	}
	return user, nil
}

// TokenUser returns the user of a live token of the kind ("verify", "reset") without
// using it; ENOTFOUND for a token unknown, used or expired.
func (db *DB) TokenUser(ctx context.Context, kind string, hash []byte, now time.Time) (uuid.UUID, error) {
	var user uuid.UUID
	err := db.pool.QueryRow(ctx, `
		SELECT t.user_id FROM account_tokens t JOIN users u ON u.id = t.user_id
		WHERE t.hash = $1 AND t.kind = $2 AND t.expires_at > $3 AND u.erased_at IS NULL`, hash, kind, now).Scan(&user)
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, errBadToken
	}
	if err != nil {
		return uuid.Nil, fmt.Errorf("find token: %w", err)
	}
	return user, nil
}

// useToken deletes a live token of the kind and returns its user: a token works once.
func useToken(ctx context.Context, tx pgx.Tx, kind string, hash []byte, now time.Time) (uuid.UUID, error) {
	var user uuid.UUID
	err := tx.QueryRow(ctx, `
		DELETE FROM account_tokens t WHERE hash = $1 AND kind = $2 AND expires_at > $3
		AND EXISTS (SELECT 1 FROM users u WHERE u.id = t.user_id AND u.erased_at IS NULL)
		RETURNING user_id`, hash, kind, now).Scan(&user)
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, errBadToken
	}
	return user, err
}

// CreateInvite stores an invitation to the organization for email with role, and audits
// it (without the email).
func (db *DB) CreateInvite(ctx context.Context, orgID uuid.UUID, email, role string, hash []byte, now, expires time.Time, actor string) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if err := insertToken(ctx, tx, tokenKindInvite, hash, uuid.Nil, orgID, email, role, now, expires); err != nil {
			return err
		}
		return insertAudit(ctx, tx, callscribe.AuditEntry{At: now, Actor: actor, Action: "account.invite", ObjectType: "organization",
			ObjectID: orgID.String(), OrgID: orgID, Detail: map[string]any{"role": role}})
	})
	if err != nil {
		return fmt.Errorf("invite: %w", err)
	}
	return nil
}

// InviteByHash finds a live invitation without using it; ENOTFOUND otherwise.
func (db *DB) InviteByHash(ctx context.Context, hash []byte, now time.Time) (callscribe.Invite, error) {
	var in callscribe.Invite
	err := db.pool.QueryRow(ctx, `
		SELECT t.organization_id, o.name, t.email, t.role FROM account_tokens t JOIN organizations o ON o.id = t.organization_id
		WHERE t.hash = $1 AND t.kind = 'invite' AND t.expires_at > $2`, hash, now).Scan(&in.OrgID, &in.OrgName, &in.Email, &in.Role)
	if errors.Is(err, pgx.ErrNoRows) {
		return in, errBadToken
	}
	if err != nil {
		return in, fmt.Errorf("find invitation: %w", err)
	}
	return in, nil
}

// PruneAccountTokens deletes expired tokens (an invitation names an email: it is not kept
// past its life) and reports how many.
func (db *DB) PruneAccountTokens(ctx context.Context, now time.Time) (int64, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM account_tokens WHERE expires_at <= $1`, now)
	if err != nil {
		return 0, fmt.Errorf("prune tokens: %w", err)
	}
	return tag.RowsAffected(), nil
}

// SigninFailures counts the failures recorded under each key at or after since, and
// first deletes every failure older than since: none is kept past the window.
func (db *DB) SigninFailures(ctx context.Context, keys [][]byte, since time.Time) ([]int, error) {
	if _, err := db.pool.Exec(ctx, `DELETE FROM signin_failures WHERE at < $1`, since); err != nil {
		return nil, fmt.Errorf("prune sign-in failures: %w", err)
	}
	out := make([]int, len(keys))
	for i, k := range keys {
		if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM signin_failures WHERE key = $1 AND at >= $2`, k, since).Scan(&out[i]); err != nil {
			return nil, fmt.Errorf("count sign-in failures: %w", err)
		}
	}
	return out, nil
}

// RecordSigninFailure records one failed sign-in under each key.
func (db *DB) RecordSigninFailure(ctx context.Context, keys [][]byte, at time.Time) error {
	for _, k := range keys {
		if _, err := db.pool.Exec(ctx, `INSERT INTO signin_failures (key, at) VALUES ($1, $2)`, k, at); err != nil {
			return fmt.Errorf("record sign-in failure: %w", err)
		}
	}
	return nil
}

// ClearSigninFailures forgets the failures recorded under key (a successful sign-in).
func (db *DB) ClearSigninFailures(ctx context.Context, key []byte) error {
	if _, err := db.pool.Exec(ctx, `DELETE FROM signin_failures WHERE key = $1`, key); err != nil {
		return fmt.Errorf("clear sign-in failures: %w", err)
	}
	return nil
}

// CompanyOf returns the organization and its company details; ENOTFOUND when there is none.
func (db *DB) CompanyOf(ctx context.Context, orgID uuid.UUID) (callscribe.Organization, callscribe.Company, error) {
	var c callscribe.Company
	var secs *int64
	var o callscribe.Organization
	err := db.pool.QueryRow(ctx, `
		SELECT id, name, extract(epoch FROM retention)::bigint, redaction_off, redaction_mask, inn, kpp, ogrn
		FROM organizations WHERE id = $1`, orgID).Scan(&o.ID, &o.Name, &secs, &o.RedactionOff, &o.RedactionMask, &c.INN, &c.KPP, &c.OGRN)
	if errors.Is(err, pgx.ErrNoRows) {
		return o, c, callscribe.Errorf(callscribe.ENOTFOUND, "no organization %s", orgID)
	}
	if err != nil {
		return o, c, fmt.Errorf("read organization: %w", err)
	}
	if secs != nil {
		d := time.Duration(*secs) * time.Second
		o.Retention = &d
	}
	c.Name = o.Name
	return o, c, nil
}

// UpdateCompany sets the organization's name and details and audits the change (the
// fields changed, not their values); callscribe.ErrCompanyTaken when another organization has the name.
func (db *DB) UpdateCompany(ctx context.Context, orgID uuid.UUID, c callscribe.Company, actor string) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE organizations SET name = $2, inn = $3, kpp = $4, ogrn = $5 WHERE id = $1`,
			orgID, c.Name, c.INN, c.KPP, c.OGRN)
		if isUniqueViolation(err) {
			return callscribe.ErrCompanyTaken
		}
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return callscribe.Errorf(callscribe.ENOTFOUND, "no organization %s", orgID)
		}
		return insertAudit(ctx, tx, callscribe.AuditEntry{Actor: actor, Action: "organization.company", ObjectType: "organization",
			ObjectID: orgID.String(), OrgID: orgID})
	})
	if err != nil {
		if errors.Is(err, callscribe.ErrCompanyTaken) {
			return callscribe.ErrCompanyTaken
		}
		return fmt.Errorf("update company: %w", err)
	}
	return nil
}

// Invites lists the organization's invitations not used and not expired at now, the
// oldest first.
func (db *DB) Invites(ctx context.Context, orgID uuid.UUID, now time.Time) ([]callscribe.PendingInvite, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT email, role, created_at, expires_at FROM account_tokens
		WHERE kind = 'invite' AND organization_id = $1 AND expires_at > $2 ORDER BY created_at, email`, orgID, now)
	if err != nil {
		return nil, fmt.Errorf("list invitations: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (callscribe.PendingInvite, error) {
		var in callscribe.PendingInvite
		err := r.Scan(&in.Email, &in.Role, &in.CreatedAt, &in.ExpiresAt)
		return in, err
	})
	if err != nil {
		return nil, fmt.Errorf("list invitations: %w", err)
	}
	return out, nil
}

// RevokeInvites deletes the organization's invitations for email (their links stop
// working) and audits it without the email; ENOTFOUND when there was none.
func (db *DB) RevokeInvites(ctx context.Context, orgID uuid.UUID, email string, now time.Time, actor string) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM account_tokens WHERE kind = 'invite' AND organization_id = $1 AND lower(email) = lower($2)`, orgID, email)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return callscribe.Errorf(callscribe.ENOTFOUND, "no invitation for this address")
		}
		return insertAudit(ctx, tx, callscribe.AuditEntry{At: now, Actor: actor, Action: "account.invite_revoke", ObjectType: "organization",
			ObjectID: orgID.String(), OrgID: orgID, Detail: map[string]any{"invitations": tag.RowsAffected()}})
	})
	if err != nil {
		return fmt.Errorf("revoke invitation: %w", err)
	}
	return nil
}

// Account is the account of a user of the organization the context is scoped to.
func (db *DB) AccountInOrg(ctx context.Context, orgID, userID uuid.UUID) (callscribe.AccountRecord, error) {
	rec, err := db.AccountByID(ctx, userID)
	if err == nil && rec.User.OrgID != orgID {
		err = callscribe.Errorf(callscribe.ENOTFOUND, "no user %s", userID)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		err = callscribe.Errorf(callscribe.ENOTFOUND, "no user %s", userID)
	}
	return rec, err
}
