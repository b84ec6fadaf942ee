package accounts

import (
	"context"
	"time"

	"github.com/google/uuid"

	"callscribe"
	"callscribe/privacy"
)

// Store is what the accounts service needs of the database: every secret reaches it
// hashed already. storage/postgres's DB implements it (asserted in its tests); the
// context's scope (callscribe.WithOrg, AsSystem) decides what each call may see.
type Store interface {
	// Accounts: registration, lookups, roles, passwords, language, profile.
	RegisterAccount(ctx context.Context, n callscribe.NewAccount) (callscribe.AccountRecord, error)
	AccountByID(ctx context.Context, userID uuid.UUID) (callscribe.AccountRecord, error)
	AccountByEmail(ctx context.Context, email string) (callscribe.AccountRecord, error)
	AccountInOrg(ctx context.Context, orgID, userID uuid.UUID) (callscribe.AccountRecord, error)
	AccountEmailTaken(ctx context.Context, email string, except uuid.UUID) (bool, error)
	Members(ctx context.Context, orgID uuid.UUID) ([]callscribe.AccountRecord, error)
	SetRole(ctx context.Context, orgID, userID uuid.UUID, role, actor string) error
	SetPassword(ctx context.Context, userID uuid.UUID, hash string, endSessions bool, actor string) error
	OperatorSetPassword(ctx context.Context, userID uuid.UUID, hash string, verifiedAt *time.Time, actor string) error
	SetLanguage(ctx context.Context, userID uuid.UUID, lang string) error
	SetEmailUnverified(ctx context.Context, userID uuid.UUID, verifyHash []byte, now, expires time.Time) error
	UserByID(ctx context.Context, id uuid.UUID) (callscribe.User, error)
	EditUser(ctx context.Context, userID uuid.UUID, edits []callscribe.ProfileEdit, actor string) ([]callscribe.Rectification, error)
	Rectifications(ctx context.Context, userID uuid.UUID) ([]callscribe.Rectification, error)

	// One-time tokens (email verification, password reset) and the sign-in throttle.
	NewVerifyToken(ctx context.Context, userID uuid.UUID, hash []byte, now, expires time.Time) error
	UseVerifyToken(ctx context.Context, hash []byte, now time.Time) (uuid.UUID, error)
	NewResetToken(ctx context.Context, userID uuid.UUID, hash []byte, now, expires time.Time) error
	UseResetToken(ctx context.Context, hash []byte, passwordHash string, now time.Time) (uuid.UUID, error)
	TokenUser(ctx context.Context, kind string, hash []byte, now time.Time) (uuid.UUID, error)
	PruneAccountTokens(ctx context.Context, now time.Time) (int64, error)
	SigninFailures(ctx context.Context, keys [][]byte, since time.Time) ([]int, error)
	RecordSigninFailure(ctx context.Context, keys [][]byte, at time.Time) error
	ClearSigninFailures(ctx context.Context, key []byte) error

	// Sessions.
	CreateSession(ctx context.Context, s callscribe.SessionRecord, replacing []byte) error
	SessionByHash(ctx context.Context, hash []byte) (callscribe.SessionRecord, callscribe.AccountRecord, error)
	TouchSession(ctx context.Context, hash []byte, at time.Time) error
	DeleteSession(ctx context.Context, hash []byte) error
	DeleteSessions(ctx context.Context, userID uuid.UUID) (int64, error)
	DeleteOtherSessions(ctx context.Context, userID uuid.UUID, keep []byte) (int64, error)
	SessionsOf(ctx context.Context, userID uuid.UUID) ([]callscribe.SessionRecord, error)
	PruneSessions(ctx context.Context, now, idleSince time.Time) (int64, error)

	// Provider identities.
	LinkIdentity(ctx context.Context, id callscribe.IdentityRecord, actor string) error
	UnlinkIdentity(ctx context.Context, userID uuid.UUID, provider, actor string) error
	IdentitiesOf(ctx context.Context, userID uuid.UUID) ([]callscribe.IdentityRecord, error)
	AccountByIdentity(ctx context.Context, provider, subject string) (callscribe.AccountRecord, error)
	PutSignIn(ctx context.Context, p callscribe.PendingSignIn, now time.Time, max int) error
	TakeSignIn(ctx context.Context, hash []byte, now time.Time) (callscribe.PendingSignIn, error)

	// Organizations and invitations.
	CompanyOf(ctx context.Context, orgID uuid.UUID) (callscribe.Organization, callscribe.Company, error)
	UpdateCompany(ctx context.Context, orgID uuid.UUID, c callscribe.Company, actor string) error
	CreateInvite(ctx context.Context, orgID uuid.UUID, email, role string, hash []byte, now, expires time.Time, actor string) error
	InviteByHash(ctx context.Context, hash []byte, now time.Time) (callscribe.Invite, error)
	Invites(ctx context.Context, orgID uuid.UUID, now time.Time) ([]callscribe.PendingInvite, error)
	RevokeInvites(ctx context.Context, orgID uuid.UUID, email string, now time.Time, actor string) error
	SetRedaction(ctx context.Context, orgID uuid.UUID, off []string, mask, actor string) error

	// Partners.
	AddPartner(ctx context.Context, code, name string) (callscribe.Partner, error)
	Partners(ctx context.Context) ([]callscribe.Partner, error)
	RecordClick(ctx context.Context, code string, hash []byte, at time.Time) error

	// Agreement versions and the users' answers.
	PublishAgreement(ctx context.Context, a callscribe.AgreementRecord) error
	CurrentAgreement(ctx context.Context) (callscribe.AgreementRecord, error)
	AnswerAgreement(ctx context.Context, userID uuid.UUID, version, action string, channel callscribe.ConsentChannel, at time.Time) error
	AgreementAccepted(ctx context.Context, userID uuid.UUID, version string) (bool, error)

	// What privacy's consents and requests need: declining the agreement withdraws
	// consent (audited), and the user's own erasure request is recorded.
	privacy.ConsentStore
	privacy.AuditLog
	privacy.RequestStore
}
