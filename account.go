package callscribe

import (
	"time"

	"github.com/google/uuid"
)

// The accounts of people who sign in on the web, as the accounts package keeps them
// through its store: every secret in them is hashed already (a password as argon2id, a
// session id or a token as its sha256); none is ever given as it was typed or sent.

// AccountRecord is an account as stored: its user, role, language, password hash and the
// organization's name.
type AccountRecord struct {
	User            User
	Role            string // member, admin, officer
	Language        string
	PasswordHash    string // "" without a password
	EmailVerifiedAt *time.Time
	OrgName         string
}

// NewAccount is what a registration records.
type NewAccount struct {
	User         User    // OrgID ignored: the organization is created or the invitation's
	Company      Company // for a new organization
	Role         string  // for a new organization's first account ("admin")
	Language     string
	PasswordHash string
	InviteHash   []byte // non-nil: join the invitation's organization with its role
	// The partner click, attributed when it is PartnerCode's, made at or after
	// ClickSince, and not taken by another organization yet.
	PartnerCode string
	ClickHash   []byte
	ClickSince  time.Time
	// AgreementVersion, when not empty, is recorded as accepted through the web.
	AgreementVersion string
	VerifyHash       []byte
	VerifyExpires    time.Time
	Now              time.Time
}

// Company is an organization's name and details: INN, KPP, OGRN (or OGRNIP).
type Company struct{ Name, INN, KPP, OGRN string }

// The errors of registration (and of renaming an organization) that the accounts
// package turns into the form's field errors.
var (
	ErrEmailTaken    = Errorf(ECONFLICT, "an account with this email exists")
	ErrCompanyTaken  = Errorf(ECONFLICT, "an organization with this name exists")
	ErrInviteInvalid = Errorf(EINVALID, "the invitation is invalid, used or expired")
	ErrInviteEmail   = Errorf(EINVALID, "the invitation was sent to another email")
)

// Invite is a live invitation as the registration page shows it.
type Invite struct {
	OrgID   uuid.UUID
	OrgName string
	Email   string
	Role    string
}

// PendingInvite is a live invitation as the organization's settings list it.
type PendingInvite struct {
	Email, Role          string
	CreatedAt, ExpiresAt time.Time
}

// SessionRecord is a signed-in browser as stored: the sha256 of its id, never the id.
type SessionRecord struct {
	Hash                             []byte
	UserID, OrgID                    uuid.UUID
	CreatedAt, LastSeenAt, ExpiresAt time.Time
	UserAgent                        string // the family: "Chrome on Linux"
	Addr                             string // the client's IP, kept only while the session lives
}

// IdentityRecord is a provider identity linked to an account, as stored.
type IdentityRecord struct {
	Provider, Subject, Email, Surname, FirstName string
	UserID                                       uuid.UUID
	LinkedAt                                     time.Time
}

// Partner is a partner whose links bring visitors, with the report's counts: the
// clicks on its links and the organizations registered through them.
type Partner struct {
	ID            uuid.UUID
	Code, Name    string
	CreatedAt     time.Time
	Clicks        int64
	Registrations int64
}

// AgreementRecord is one published version of the user agreement and who published it.
type AgreementRecord struct {
	Version, Text, PublishedBy string
	PublishedAt                time.Time
}

// PendingSignIn is a sign-in through a provider in flight, as stored: the sha256 of the
// id its browser holds, the provider, what the callback is checked against (state,
// nonce, PKCE verifier) and, when a signed-in user links a provider, their id.
type PendingSignIn struct {
	Hash                             []byte
	Provider, State, Nonce, Verifier string
	LinkUserID                       uuid.UUID // uuid.Nil: a sign-in, not a link
	ExpiresAt                        time.Time
}
