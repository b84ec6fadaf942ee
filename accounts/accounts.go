// Package accounts owns the people who sign in on the web: registration of an account and
// its organization, email verification, sign-in by password or by a provider identity,
// sessions, password reset, profile and language, roles and invitations within an
// organization, partner links and the versions of the user agreement.
//
// It never keeps a secret as given: passwords are argon2id hashes, session ids and
// one-time tokens sha256 hashes, a client's address (for throttling) a keyed hash kept
// only for the throttle's window. Its errors tell an unknown email and a wrong password
// apart for nobody. It holds no SQL: its store is its own interface (Store), which
// storage/postgres implements.
package accounts

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"callscribe"
)

// Role is what a user may do within their organization.
type Role string

const (
	RoleMember  Role = "member"  // their own calls
	RoleAdmin   Role = "admin"   // members, API keys, webhooks, all the organization's calls
	RoleOfficer Role = "officer" // the organization's data-subject requests
)

// ParseRole checks that s names a role.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleMember, RoleAdmin, RoleOfficer:
		return r, nil
	}
	return "", callscribe.Errorf(callscribe.EINVALID, "unknown role %q (known: member, admin, officer)", s)
}

// Account is a user who can sign in.
type Account struct {
	callscribe.User // id, org, email, names, phone, blocked
	Role            Role
	Language        string // "ru" (default) | "en"
	EmailVerified   bool
	OrgName         string
	// HasPassword is false for an account that signs in through a provider only.
	HasPassword bool
}

// Company is an organization's name and details, as the store keeps them.
type Company = callscribe.Company

// Registration is what the registration form sends.
type Registration struct {
	Surname, FirstName, Patronymic, Email, Phone, Password, Language string
	Company                                                          Company // required unless InviteToken joins an existing organization
	InviteToken                                                      string
	PartnerCode, PartnerClickID                                      string // from the partner cookies; attribution window checked
}

// FieldErrors maps a form field name (surname, first_name, patronymic, email, phone,
// password, company, inn, kpp, ogrn, token, language) to a message key ("required",
// "email_invalid", "inn_checksum", "password_short", "email_taken"…); the page
// translates the keys. It is an EINVALID error (see Code).
type FieldErrors map[string]string

func (f FieldErrors) Error() string {
	return "fields " + f.fields()
}

// Identity is a provider identity as the oauth package gives it (oauth.Identity has the
// same fields in the same order, so one converts to the other: accounts.Identity(id)).
type Identity struct {
	Provider, Subject string
	Email             string
	EmailVerified     bool
	Surname           string
	FirstName         string
}

// LinkedIdentity is a provider identity linked to an account, as kept.
type LinkedIdentity struct {
	Provider, Subject, Email string
	Surname, FirstName       string
	LinkedAt                 time.Time
}

// Session is a signed-in browser.
type Session struct {
	ID                               string // opaque; only returned at creation
	UserID, OrgID                    uuid.UUID
	CreatedAt, LastSeenAt, ExpiresAt time.Time
	UserAgent                        string // family: "Chrome on Linux"
	Current                          bool
}

// Partner is a partner whose links bring visitors, with the report's counts.
type Partner = callscribe.Partner

// Agreement is one published version of the user agreement.
type Agreement struct {
	Version, Text string
	PublishedAt   time.Time
}

// Config is the service's settings; zero fields take the defaults (see Defaults).
type Config struct {
	// Argon2 are the argon2id parameters of new password hashes; a stored hash keeps its
	// own, so they can change. Default t=2, m=19456 KiB, p=1: OWASP's password storage
	// cheat sheet's minimum for argon2id, about 20-30 ms per hash on one core.
	Argon2 struct {
		Time, MemoryKiB uint32
		Threads         uint8
	}
	SessionTTL, IdleTimeout        time.Duration // 30 days, 24 h
	VerifyTTL, ResetTTL, InviteTTL time.Duration // 48 h, 1 h, 7 days
	AttributionWindow              time.Duration // partner cookie life, 30 days
	Throttle                       struct {
		PerAccount, PerAddress int           // failed sign-ins allowed per window: 5 per email, 20 per address
		Window                 time.Duration // 15 min
	}
	// ThrottleKey keys the hashes of emails and addresses in the throttle's records; empty:
	// a random key per process (the records then do not survive a restart).
	ThrottleKey []byte
	Now         func() time.Time // tests
}

// fields lists the field names, sorted: the error's text names fields, never values.
func (f FieldErrors) fields() string {
	names := make([]string, 0, len(f))
	for k := range f {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// invalid wraps f as the EINVALID application error every method returns for a bad
// form: errors.As(err, &fe) finds the FieldErrors in it.
func invalid(f FieldErrors) error {
	return &callscribe.Error{Code: callscribe.EINVALID, Message: "the form has errors in: " + f.fields(), Err: f}
}

// Scope returns ctx scoped for the account's reads in the database (row-level
// security): an admin's and an officer's to their organization (the officer's desk
// answers requests about any of its people; the pages limit what else an officer
// opens), a member's to their organization and, within it, to the calls they own.
func (a Account) Scope(ctx context.Context) context.Context {
	if a.Role == RoleMember {
		return callscribe.WithMember(ctx, a.OrgID, a.ID)
	}
	return callscribe.WithOrg(ctx, a.OrgID)
}
