package accounts

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"net/netip"
	"regexp"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"callscribe"
	"callscribe/privacy"
	"callscribe/redact"
)

// Defaults of Config.
const (
	DefaultArgon2Time        = 2
	DefaultArgon2MemoryKiB   = 19456
	DefaultArgon2Threads     = 1
	DefaultSessionTTL        = 30 * 24 * time.Hour
	DefaultIdleTimeout       = 24 * time.Hour
	DefaultVerifyTTL         = 48 * time.Hour
	DefaultResetTTL          = time.Hour
	DefaultInviteTTL         = 7 * 24 * time.Hour
	DefaultAttributionWindow = 30 * 24 * time.Hour
	DefaultThrottlePerAcct   = 5
	DefaultThrottlePerAddr   = 20
	DefaultThrottleWindow    = 15 * time.Minute
)

// touchEvery is how often a session's last_seen is written: at most once a minute, so
// that a page with many requests costs one write.
const touchEvery = time.Minute

// Service is the accounts service.
type Service struct {
	db          Store
	cfg         Config
	log         *slog.Logger
	argon       argonParams
	dummy       string // a hash of a random password: what an unknown email is checked against
	throttleKey []byte
	hashes      atomic.Int64 // password hashes computed by sign-in: tests check both paths do it
}

// New returns the service over db (storage/postgres's DB, the caller opens and migrates
// it), with cfg's zero fields at their defaults.
func New(db Store, cfg Config, log *slog.Logger) *Service {
	if cfg.Argon2.Time == 0 {
		cfg.Argon2.Time = DefaultArgon2Time
	}
	if cfg.Argon2.MemoryKiB == 0 {
		cfg.Argon2.MemoryKiB = DefaultArgon2MemoryKiB
	}
	if cfg.Argon2.Threads == 0 {
		cfg.Argon2.Threads = DefaultArgon2Threads
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.SessionTTL, DefaultSessionTTL)
	def(&cfg.IdleTimeout, DefaultIdleTimeout)
	def(&cfg.VerifyTTL, DefaultVerifyTTL)
	def(&cfg.ResetTTL, DefaultResetTTL)
	def(&cfg.InviteTTL, DefaultInviteTTL)
	def(&cfg.AttributionWindow, DefaultAttributionWindow)
	def(&cfg.Throttle.Window, DefaultThrottleWindow)
	if cfg.Throttle.PerAccount <= 0 {
		cfg.Throttle.PerAccount = DefaultThrottlePerAcct
	}
	if cfg.Throttle.PerAddress <= 0 {
		cfg.Throttle.PerAddress = DefaultThrottlePerAddr
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{db: db, cfg: cfg, log: log,
		argon: argonParams{Time: cfg.Argon2.Time, MemoryKiB: cfg.Argon2.MemoryKiB, Threads: cfg.Argon2.Threads}}
	s.throttleKey = cfg.ThrottleKey
	if len(s.throttleKey) == 0 {
		s.throttleKey = make([]byte, 32)
		_, _ = rand.Read(s.throttleKey)
	}
	random := make([]byte, 32)
	_, _ = rand.Read(random)
	dummy, err := hashPassword(base64.RawURLEncoding.EncodeToString(random), s.argon)
	if err != nil {
		// crypto/rand does not fail on the systems we run on; a dummy that parses as no
		// hash would still cost nothing less than a failure to sign in.
		log.Error("accounts: dummy password hash", "err", err)
	}
	s.dummy = dummy
	return s
}

func (s *Service) now() time.Time { return s.cfg.Now() }

// Validate checks a configuration before New, naming the field at fault: what start-up
// calls to fail fast. Zero fields are the defaults and valid.
func (c Config) Validate() error {
	a := c.Argon2
	switch {
	case a.Time > 100:
		return fmt.Errorf("Argon2.Time %d: at most 100 passes", a.Time)
	case a.MemoryKiB != 0 && a.MemoryKiB < 8*uint32(max(a.Threads, 1)):
		return fmt.Errorf("Argon2.MemoryKiB %d: at least 8 KiB per thread", a.MemoryKiB)
	case a.MemoryKiB > 4<<20:
		return fmt.Errorf("Argon2.MemoryKiB %d: at most 4 GiB", a.MemoryKiB)
	case c.SessionTTL < 0 || c.IdleTimeout < 0 || c.VerifyTTL < 0 || c.ResetTTL < 0 || c.InviteTTL < 0 ||
		c.AttributionWindow < 0 || c.Throttle.Window < 0:
		return fmt.Errorf("a duration of the accounts' configuration is negative")
	case c.SessionTTL != 0 && c.IdleTimeout > c.SessionTTL:
		return fmt.Errorf("IdleTimeout %s is longer than SessionTTL %s", c.IdleTimeout, c.SessionTTL)
	case c.Throttle.PerAccount < 0 || c.Throttle.PerAddress < 0:
		return fmt.Errorf("a throttle limit is negative")
	case len(c.ThrottleKey) != 0 && len(c.ThrottleKey) < 32:
		return fmt.Errorf("ThrottleKey: %d bytes, want at least 32", len(c.ThrottleKey))
	}
	return nil
}

// The errors every caller of a kind gets alike.
var (
	// errSignIn is the answer to an unknown email and to a wrong password alike.
	errSignIn = callscribe.Errorf(callscribe.EUNAUTHORIZED, "wrong email or password")
	// errSession is the answer to a session id unknown, expired, idle or ended.
	errSession = callscribe.Errorf(callscribe.EUNAUTHORIZED, "the session is missing, expired or ended: sign in again")
	errAdmin   = callscribe.Errorf(callscribe.EFORBIDDEN, "only an admin of the organization may do this")
)

// RequiredFields are the registration form's required fields (the page marks them);
// company is required unless an invitation joins an existing organization.
var RequiredFields = []string{"surname", "first_name", "email", "password", "company"}

// newToken returns a random token (32 bytes, base64url) and its sha256, the only form
// stored.
func newToken() (string, []byte, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", nil, fmt.Errorf("new token: %w", err)
	}
	t := base64.RawURLEncoding.EncodeToString(raw)
	return t, hashToken(t), nil
}

func hashToken(t string) []byte {
	h := sha256.Sum256([]byte(t))
	return h[:]
}

// clientIP is the address part of addr ("192.0.2.1", "192.0.2.1:5123", "[2001:db8::1]:443"),
// "" when it is none: only the address is kept, never a port or anything else given.
func clientIP(addr string) string {
	addr = strings.TrimSpace(addr)
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		return ap.Addr().Unmap().WithZone("").String()
	}
	if a, err := netip.ParseAddr(addr); err == nil {
		return a.Unmap().WithZone("").String()
	}
	return ""
}

// throttleAddr is what the address throttle counts by: an IPv4 address, or an IPv6
// address's /64 (one customer's network: its host part costs an attacker nothing to vary).
func throttleAddr(addr string) string {
	ip := clientIP(addr)
	if ip == "" {
		return ""
	}
	a := netip.MustParseAddr(ip)
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return ip
}

// keyed is the HMAC of s under the throttle key: what the throttle stores of an email or
// an address.
func (s *Service) keyed(v string) []byte {
	m := hmac.New(sha256.New, s.throttleKey)
	m.Write([]byte(v))
	return m.Sum(nil)
}

// userScope is ctx as it should reach the database for work on one user's account: the
// caller's scope when it carries one (a signed-in request: its session's organization),
// else the user's own organization, looked up by id.
func (s *Service) userScope(ctx context.Context, userID uuid.UUID) (context.Context, error) {
	if sc := callscribe.ScopeOf(ctx); sc.OrgID != uuid.Nil || sc.System {
		return ctx, nil
	}
	a, err := s.db.AccountByID(callscribe.AsSystem(ctx), userID)
	if err != nil {
		return ctx, err
	}
	return callscribe.WithOrg(ctx, a.User.OrgID), nil
}

func account(r callscribe.AccountRecord) Account {
	return Account{User: r.User, Role: Role(r.Role), Language: r.Language, EmailVerified: r.EmailVerifiedAt != nil,
		OrgName: r.OrgName, HasPassword: r.PasswordHash != ""}
}

// validEmail normalises an email (trimmed) and checks it: one address, no display
// name, one @, at most 254 bytes.
func validEmail(s string) (string, string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", "required"
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || strings.Count(s, "@") != 1 || len(s) > 254 {
		return "", "email_invalid"
	}
	return s, ""
}

const maxNameRunes = 100

func checkName(f FieldErrors, field, v string, required bool) string {
	v = strings.TrimSpace(v)
	switch {
	case v == "" && required:
		f[field] = "required"
	case utf8.RuneCountInString(v) > maxNameRunes:
		f[field] = "too_long"
	case strings.ContainsAny(v, "\x00\r\n"):
		f[field] = "invalid"
	}
	return v
}

func checkLanguage(lang string) (string, bool) {
	switch lang {
	case "":
		return "ru", true
	case "ru", "en":
		return lang, true
	}
	return "", false
}

var kppPattern = regexp.MustCompile(`^[0-9]{4}[0-9A-Z]{2}[0-9]{3}$`)

// checkCompany validates a company's name and details into f: INN by its check digits
// (10 digits for an organisation, 12 for an individual entrepreneur), KPP by its format
// (organisations only), OGRN (13 digits) or OGRNIP (15) by its check digit and matching
// the kind of INN.
func checkCompany(f FieldErrors, c Company) Company {
	c.Name = checkName(f, "company", c.Name, true)
	c.INN, c.KPP, c.OGRN = strings.TrimSpace(c.INN), strings.ToUpper(strings.TrimSpace(c.KPP)), strings.TrimSpace(c.OGRN)
	if c.INN != "" && !redact.ValidINN(c.INN) {
		if len(c.INN) != 10 && len(c.INN) != 12 {
			f["inn"] = "inn_length"
		} else {
			f["inn"] = "inn_checksum"
		}
	}
	if c.KPP != "" {
		switch {
		case !kppPattern.MatchString(c.KPP):
			f["kpp"] = "kpp_invalid"
		case len(c.INN) == 12:
			f["kpp"] = "kpp_entrepreneur" // an entrepreneur has no KPP
		}
	}
	if c.OGRN != "" {
		switch {
		case !redact.ValidOGRN(c.OGRN):
			if len(c.OGRN) != 13 && len(c.OGRN) != 15 {
				f["ogrn"] = "ogrn_length"
			} else {
				f["ogrn"] = "ogrn_checksum"
			}
		case len(c.INN) == 10 && len(c.OGRN) != 13, len(c.INN) == 12 && len(c.OGRN) != 15:
			f["ogrn"] = "ogrn_mismatch"
		}
	}
	return c
}

// Register creates an account: with InviteToken in the invitation's organization with
// its role, else a new organization (the company) whose first account is its admin.
// It returns the account and the email verification token (to send as a link; "" after
// an invitation, which was sent to the address and so verifies it). A
// partner click within the attribution window is recorded on the new organization. The
// agreement in force, if one is published, is recorded as accepted through the web.
func (s *Service) Register(ctx context.Context, r Registration) (Account, string, error) {
	f := FieldErrors{}
	n := callscribe.NewAccount{Now: s.now()}
	n.User.Surname = checkName(f, "surname", r.Surname, true)
	n.User.FirstName = checkName(f, "first_name", r.FirstName, true)
	n.User.Patronymic = checkName(f, "patronymic", r.Patronymic, false)
	email, key := validEmail(r.Email)
	if key != "" {
		f["email"] = key
	}
	n.User.Email = email
	if strings.TrimSpace(r.Phone) != "" {
		p, err := callscribe.NormalizePhone(r.Phone)
		if err != nil {
			f["phone"] = "phone_invalid"
		}
		n.User.Phone = p
	}
	if key := checkPassword(r.Password, email); key != "" {
		f["password"] = key
	}
	lang, ok := checkLanguage(r.Language)
	if !ok {
		f["language"] = "invalid"
	}
	n.Language = lang
	if r.InviteToken != "" {
		n.InviteHash = hashToken(r.InviteToken)
	} else {
		c := checkCompany(f, r.Company)
		n.Company = c
		n.Role = string(RoleAdmin)
		if r.PartnerCode != "" && r.PartnerClickID != "" {
			n.PartnerCode, n.ClickHash = r.PartnerCode, hashToken(r.PartnerClickID)
			n.ClickSince = n.Now.Add(-s.cfg.AttributionWindow)
		}
	}
	if len(f) > 0 {
		return Account{}, "", invalid(f)
	}
	sys := callscribe.AsSystem(ctx)
	if cur, err := s.db.CurrentAgreement(sys); err == nil {
		n.AgreementVersion = cur.Version
	} else if callscribe.ErrorCode(err) != callscribe.ENOTFOUND {
		return Account{}, "", err
	}
	hash, err := hashPassword(r.Password, s.argon)
	if err != nil {
		return Account{}, "", err
	}
	n.PasswordHash = hash
	token, th, err := newToken()
	if err != nil {
		return Account{}, "", err
	}
	n.VerifyHash, n.VerifyExpires = th, n.Now.Add(s.cfg.VerifyTTL)
	rec, err := s.db.RegisterAccount(sys, n)
	switch {
	case errors.Is(err, callscribe.ErrEmailTaken):
		return Account{}, "", invalid(FieldErrors{"email": "email_taken"})
	case errors.Is(err, callscribe.ErrCompanyTaken):
		return Account{}, "", invalid(FieldErrors{"company": "company_taken"})
	case errors.Is(err, callscribe.ErrInviteInvalid):
		return Account{}, "", invalid(FieldErrors{"token": "token_invalid"})
	case errors.Is(err, callscribe.ErrInviteEmail):
		return Account{}, "", invalid(FieldErrors{"email": "invite_email_mismatch"})
	case err != nil:
		return Account{}, "", err
	}
	s.log.InfoContext(ctx, "account registered", "user_id", rec.User.ID, "org_id", rec.User.OrgID, "role", rec.Role)
	if rec.EmailVerifiedAt != nil {
		token = "" // an invitation, sent to the address, verified it
	}
	return account(rec), token, nil
}

// VerifyEmail uses a verification token up and marks the account's email verified;
// ENOTFOUND for a token unknown, used or expired.
func (s *Service) VerifyEmail(ctx context.Context, token string) (Account, error) {
	sys := callscribe.AsSystem(ctx)
	user, err := s.db.UseVerifyToken(sys, hashToken(token), s.now())
	if err != nil {
		return Account{}, err
	}
	rec, err := s.db.AccountByID(sys, user)
	if err != nil {
		return Account{}, err
	}
	return account(rec), nil
}

// ResendVerification makes a new verification token for the account (the older ones
// stop working); ECONFLICT when the email is verified already.
func (s *Service) ResendVerification(ctx context.Context, userID uuid.UUID) (string, error) {
	ctx, err := s.userScope(ctx, userID)
	if err != nil {
		return "", err
	}
	rec, err := s.db.AccountByID(ctx, userID)
	if err != nil {
		return "", err
	}
	if rec.EmailVerifiedAt != nil {
		return "", callscribe.Errorf(callscribe.ECONFLICT, "the email is verified already")
	}
	token, th, err := newToken()
	if err != nil {
		return "", err
	}
	now := s.now()
	if err := s.db.NewVerifyToken(ctx, userID, th, now, now.Add(s.cfg.VerifyTTL)); err != nil {
		return "", err
	}
	return token, nil
}

// SignIn checks an email and password. An unknown email and a wrong password get the
// same error (EUNAUTHORIZED, "wrong email or password") after the same work: an argon2id
// hash, against a dummy when there is no account. Past Throttle.PerAccount failures for
// the email, or Throttle.PerAddress for the address, within Throttle.Window, it answers
// ETHROTTLED without checking anything; the failures are recorded under keyed hashes of
// the email and the address, kept for the window only.
func (s *Service) SignIn(ctx context.Context, email, password, addr string) (Account, error) {
	sys := callscribe.AsSystem(ctx)
	now := s.now()
	keys := [][]byte{s.keyed("email:" + strings.ToLower(strings.TrimSpace(email)))}
	if a := throttleAddr(addr); a != "" {
		keys = append(keys, s.keyed("addr:"+a))
	}
	counts, err := s.db.SigninFailures(sys, keys, now.Add(-s.cfg.Throttle.Window))
	if err != nil {
		return Account{}, err
	}
	if counts[0] >= s.cfg.Throttle.PerAccount || (len(counts) > 1 && counts[1] >= s.cfg.Throttle.PerAddress) {
		return Account{}, callscribe.Errorf(callscribe.ETHROTTLED, "too many failed sign-ins: try again in %s", s.cfg.Throttle.Window)
	}
	rec, err := s.db.AccountByEmail(sys, strings.TrimSpace(email))
	if err != nil && callscribe.ErrorCode(err) != callscribe.ENOTFOUND {
		return Account{}, err
	}
	stored := rec.PasswordHash
	if err != nil || stored == "" || len(password) > maxPasswordBytes {
		stored = s.dummy
	}
	ok := verifyPassword(password, stored)
	s.hashes.Add(1)
	if !ok || stored == s.dummy {
		if err := s.db.RecordSigninFailure(sys, keys, now); err != nil {
			return Account{}, err
		}
		return Account{}, errSignIn
	}
	if rec.User.BlockedAt != nil {
		return Account{}, callscribe.Errorf(callscribe.EBLOCKED, "the account is blocked")
	}
	if err := s.db.ClearSigninFailures(sys, keys[0]); err != nil {
		return Account{}, err
	}
	// A hash made under other parameters (they changed since) is made again under the
	// current ones, now that the password is at hand: every account's sign-in then costs
	// what an unknown email's does.
	if p, _, _, err := parsePHC(stored); err == nil && p != s.argon {
		if hash, err := hashPassword(password, s.argon); err == nil {
			if err := s.db.SetPassword(callscribe.WithOrg(ctx, rec.User.OrgID), rec.User.ID, hash, false, "system:rehash"); err != nil {
				return Account{}, err
			}
		}
	}
	return account(rec), nil
}

// SignInIdentity finds the account a provider identity is linked to; ENOTFOUND when
// it is linked to none.
//
// CHANGED: takes accounts.Identity, not oauth.Identity (package oauth is another
// helper's, not merged here); the two have the same fields in the same order, so a caller
// converts with accounts.Identity(id).
func (s *Service) SignInIdentity(ctx context.Context, id Identity) (Account, error) {
	rec, err := s.db.AccountByIdentity(callscribe.AsSystem(ctx), id.Provider, id.Subject)
	if err != nil {
		return Account{}, err
	}
	if rec.User.BlockedAt != nil {
		return Account{}, callscribe.Errorf(callscribe.EBLOCKED, "the account is blocked")
	}
	return account(rec), nil
}

// providerPattern is an identity's provider key: "yandex", "vk", or "oidc:" and the
// configured OIDC provider's name (oauth.Identity.Provider).
var providerPattern = regexp.MustCompile(`^(oidc:)?[a-z0-9_-]{1,32}$`)

// LinkIdentity links a provider identity to the account (audited). An identity belongs
// to at most one account (ECONFLICT), an account has at most one per provider. What is
// kept is what the agreement lists: the identifier, and the email and name given.
func (s *Service) LinkIdentity(ctx context.Context, userID uuid.UUID, id Identity) error {
	if !providerPattern.MatchString(id.Provider) || id.Subject == "" || len(id.Subject) > 255 {
		return callscribe.Errorf(callscribe.EINVALID, "the identity has no valid provider or subject")
	}
	ctx, err := s.userScope(ctx, userID)
	if err != nil {
		return err
	}
	trim := func(v string) string {
		v = strings.TrimSpace(v)
		if utf8.RuneCountInString(v) > 254 {
			return string([]rune(v)[:254])
		}
		return v
	}
	return s.db.LinkIdentity(ctx, callscribe.IdentityRecord{Provider: id.Provider, Subject: id.Subject, UserID: userID,
		Email: trim(id.Email), Surname: trim(id.Surname), FirstName: trim(id.FirstName), LinkedAt: s.now()}, "user:"+userID.String())
}

// UnlinkIdentity unlinks the account's identity of the provider (audited). An account
// without a password keeps its last identity (ECONFLICT): it could not sign in again.
func (s *Service) UnlinkIdentity(ctx context.Context, userID uuid.UUID, provider string) error {
	ctx, err := s.userScope(ctx, userID)
	if err != nil {
		return err
	}
	rec, err := s.db.AccountByID(ctx, userID)
	if err != nil {
		return err
	}
	if rec.PasswordHash == "" {
		ids, err := s.db.IdentitiesOf(ctx, userID)
		if err != nil {
			return err
		}
		if len(ids) <= 1 {
			return callscribe.Errorf(callscribe.ECONFLICT, "set a password before unlinking the last provider: the account could not sign in")
		}
	}
	return s.db.UnlinkIdentity(ctx, userID, provider, "user:"+userID.String())
}

// Identities lists the identities linked to the account.
func (s *Service) Identities(ctx context.Context, userID uuid.UUID) ([]LinkedIdentity, error) {
	ctx, err := s.userScope(ctx, userID)
	if err != nil {
		return nil, err
	}
	ids, err := s.db.IdentitiesOf(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make([]LinkedIdentity, 0, len(ids))
	for _, i := range ids {
		out = append(out, LinkedIdentity{Provider: i.Provider, Subject: i.Subject, Email: i.Email, Surname: i.Surname,
			FirstName: i.FirstName, LinkedAt: i.LinkedAt})
	}
	return out, nil
}

// StartSession starts a session for the user and ends replacing (the browser's session
// before it signed in, if any: no fixation). The id is 32 random bytes, base64url; only
// its sha256 is stored. The address is kept only in the session's row.
func (s *Service) StartSession(ctx context.Context, userID uuid.UUID, userAgent, addr, replacing string) (Session, error) {
	id, hash, err := newToken()
	if err != nil {
		return Session{}, err
	}
	rec, err := s.db.AccountByID(callscribe.AsSystem(ctx), userID)
	if err != nil {
		return Session{}, err
	}
	now := s.now()
	r := callscribe.SessionRecord{Hash: hash, UserID: userID, OrgID: rec.User.OrgID, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(s.cfg.SessionTTL), UserAgent: UserAgentFamily(userAgent), Addr: clientIP(addr)}
	var old []byte
	if replacing != "" {
		old = hashToken(replacing)
	}
	if err := s.db.CreateSession(callscribe.AsSystem(ctx), r, old); err != nil {
		return Session{}, err
	}
	return Session{ID: id, UserID: userID, OrgID: r.OrgID, CreatedAt: now, LastSeenAt: now, ExpiresAt: r.ExpiresAt,
		UserAgent: r.UserAgent, Current: true}, nil
}

// Session finds a live session and its account. A session unknown, expired, idle for
// longer than IdleTimeout, or whose user is blocked or erased, is EUNAUTHORIZED (and an
// expired or idle one is deleted). It records the use at most once a minute. The lookup
// is the system's: the session is what tells the organization.
func (s *Service) Session(ctx context.Context, id string) (Session, Account, error) {
	if id == "" {
		return Session{}, Account{}, errSession
	}
	sys := callscribe.AsSystem(ctx)
	hash := hashToken(id)
	r, rec, err := s.db.SessionByHash(sys, hash)
	if callscribe.ErrorCode(err) == callscribe.ENOTFOUND {
		return Session{}, Account{}, errSession
	}
	if err != nil {
		return Session{}, Account{}, err
	}
	now := s.now()
	if !now.Before(r.ExpiresAt) || now.Sub(r.LastSeenAt) > s.cfg.IdleTimeout {
		if err := s.db.DeleteSession(sys, hash); err != nil {
			return Session{}, Account{}, err
		}
		return Session{}, Account{}, errSession
	}
	if now.Sub(r.LastSeenAt) >= touchEvery {
		if err := s.db.TouchSession(sys, hash, now); err != nil {
			return Session{}, Account{}, err
		}
		r.LastSeenAt = now
	}
	return Session{ID: id, UserID: r.UserID, OrgID: r.OrgID, CreatedAt: r.CreatedAt, LastSeenAt: r.LastSeenAt,
		ExpiresAt: r.ExpiresAt, UserAgent: r.UserAgent, Current: true}, account(rec), nil
}

// EndSession ends one session (signing out); an unknown id is no error.
func (s *Service) EndSession(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	return s.db.DeleteSession(callscribe.AsSystem(ctx), hashToken(id))
}

// EndSessions ends every session of the user ("sign out everywhere").
func (s *Service) EndSessions(ctx context.Context, userID uuid.UUID) error {
	ctx, err := s.userScope(ctx, userID)
	if err != nil {
		return err
	}
	_, err = s.db.DeleteSessions(ctx, userID)
	return err
}

// EndOtherSessions ends every session of the user but current (after a password
// change, say).
func (s *Service) EndOtherSessions(ctx context.Context, userID uuid.UUID, current string) error {
	ctx, err := s.userScope(ctx, userID)
	if err != nil {
		return err
	}
	var keep []byte
	if current != "" {
		keep = hashToken(current)
	}
	_, err = s.db.DeleteOtherSessions(ctx, userID, keep)
	return err
}

// Sessions lists the user's live sessions, the most recently used first; the one whose
// id is current is marked. No listed session carries its id.
func (s *Service) Sessions(ctx context.Context, userID uuid.UUID, current string) ([]Session, error) {
	ctx, err := s.userScope(ctx, userID)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.SessionsOf(ctx, userID)
	if err != nil {
		return nil, err
	}
	var cur []byte
	if current != "" {
		cur = hashToken(current)
	}
	now := s.now()
	out := make([]Session, 0, len(rows))
	for _, r := range rows {
		if !now.Before(r.ExpiresAt) || now.Sub(r.LastSeenAt) > s.cfg.IdleTimeout {
			continue
		}
		out = append(out, Session{UserID: r.UserID, OrgID: r.OrgID, CreatedAt: r.CreatedAt, LastSeenAt: r.LastSeenAt,
			ExpiresAt: r.ExpiresAt, UserAgent: r.UserAgent, Current: cur != nil && hmac.Equal(cur, r.Hash)})
	}
	return out, nil
}

// PruneSessions deletes expired and idle sessions and expired tokens: a periodic job
// (the retention pass) calls it, so that an address is not kept past its session.
func (s *Service) PruneSessions(ctx context.Context) (int64, error) {
	sys := callscribe.AsSystem(ctx)
	now := s.now()
	n, err := s.db.PruneSessions(sys, now, now.Add(-s.cfg.IdleTimeout))
	if err != nil {
		return 0, err
	}
	if _, err := s.db.PruneAccountTokens(sys, now); err != nil {
		return n, err
	}
	_, err = s.db.SigninFailures(sys, nil, now.Add(-s.cfg.Throttle.Window))
	return n, err
}

// RequestReset makes a password reset token for the account with email (older ones
// stop working). An unknown email gets a zero Account, "" and nil: the page says the
// same either way.
func (s *Service) RequestReset(ctx context.Context, email string) (Account, string, error) {
	sys := callscribe.AsSystem(ctx)
	rec, err := s.db.AccountByEmail(sys, strings.TrimSpace(email))
	if callscribe.ErrorCode(err) == callscribe.ENOTFOUND {
		return Account{}, "", nil
	}
	if err != nil {
		return Account{}, "", err
	}
	if rec.User.BlockedAt != nil {
		return Account{}, "", nil
	}
	token, th, err := newToken()
	if err != nil {
		return Account{}, "", err
	}
	now := s.now()
	if err := s.db.NewResetToken(sys, rec.User.ID, th, now, now.Add(s.cfg.ResetTTL)); err != nil {
		return Account{}, "", err
	}
	return account(rec), token, nil
}

// ResetPassword sets a new password with a reset token, which works once and until it
// expires (ENOTFOUND otherwise), and ends every session of the account.
func (s *Service) ResetPassword(ctx context.Context, token, password string) (Account, error) {
	sys := callscribe.AsSystem(ctx)
	now := s.now()
	th := hashToken(token)
	user, err := s.db.TokenUser(sys, "reset", th, now)
	if err != nil {
		return Account{}, err
	}
	rec, err := s.db.AccountByID(sys, user)
	if err != nil {
		return Account{}, err
	}
	if key := checkPassword(password, rec.User.Email); key != "" {
		return Account{}, invalid(FieldErrors{"password": key})
	}
	hash, err := hashPassword(password, s.argon)
	if err != nil {
		return Account{}, err
	}
	if _, err := s.db.UseResetToken(sys, th, hash, now); err != nil {
		return Account{}, err
	}
	rec.PasswordHash = hash
	return account(rec), nil
}

// SetPasswordByOperator sets the password of a user the operator added, making their
// account if they have none (the organization's first account is its admin); with
// verified the operator vouches for the email address. The user's sessions end.
func (s *Service) SetPasswordByOperator(ctx context.Context, userID uuid.UUID, password string, verified bool, actor string) (Account, error) {
	sys := callscribe.AsSystem(ctx)
	u, err := s.db.UserByID(sys, userID)
	if err != nil {
		return Account{}, err
	}
	if key := checkPassword(password, u.Email); key != "" {
		return Account{}, invalid(FieldErrors{"password": key})
	}
	hash, err := hashPassword(password, s.argon)
	if err != nil {
		return Account{}, err
	}
	var at *time.Time
	if verified {
		now := s.now()
		at = &now
	}
	if err := s.db.OperatorSetPassword(sys, userID, hash, at, actor); err != nil {
		return Account{}, err
	}
	rec, err := s.db.AccountByID(sys, userID)
	if err != nil {
		return Account{}, err
	}
	return account(rec), nil
}

// ChangePassword sets a new password after checking the old one (an account without a
// password, signed in through a provider, sets its first one without). A wrong old
// password is FieldErrors{"old_password": "password_wrong"}.
func (s *Service) ChangePassword(ctx context.Context, userID uuid.UUID, old, new string) error {
	ctx, err := s.userScope(ctx, userID)
	if err != nil {
		return err
	}
	rec, err := s.db.AccountByID(ctx, userID)
	if err != nil {
		return err
	}
	if rec.PasswordHash != "" && (len(old) > maxPasswordBytes || !verifyPassword(old, rec.PasswordHash)) {
		return invalid(FieldErrors{"old_password": "password_wrong"})
	}
	if key := checkPassword(new, rec.User.Email); key != "" {
		return invalid(FieldErrors{"password": key})
	}
	hash, err := hashPassword(new, s.argon)
	if err != nil {
		return err
	}
	return s.db.SetPassword(ctx, userID, hash, false, "user:"+userID.String())
}

// UpdateProfile corrects profile fields through the rectification path (db.EditUser:
// each change recorded with its value before and after, and audited). Values are
// validated as at registration. A changed email is unverified until the new address's
// link is used: the page asks ResendVerification for the token to send there.
func (s *Service) UpdateProfile(ctx context.Context, userID uuid.UUID, edits []callscribe.ProfileEdit, actor string) ([]callscribe.Rectification, error) {
	ctx, err := s.userScope(ctx, userID)
	if err != nil {
		return nil, err
	}
	f := FieldErrors{}
	clean := make([]callscribe.ProfileEdit, 0, len(edits))
	newEmail := ""
	for _, e := range edits {
		switch e.Field {
		case "surname", "first_name":
			e.Value = checkName(f, e.Field, e.Value, true)
		case "patronymic":
			e.Value = checkName(f, e.Field, e.Value, false)
		case "email":
			v, key := validEmail(e.Value)
			if key != "" {
				f["email"] = key
			}
			e.Value, newEmail = v, v
		case "phone":
			if strings.TrimSpace(e.Value) == "" {
				e.Value = ""
				break
			}
			p, err := callscribe.NormalizePhone(e.Value)
			if err != nil {
				f["phone"] = "phone_invalid"
			}
			e.Value = p
		default:
			f[e.Field] = "invalid"
		}
		clean = append(clean, e)
	}
	if len(f) > 0 {
		return nil, invalid(f)
	}
	if newEmail != "" {
		taken, err := s.db.AccountEmailTaken(callscribe.AsSystem(ctx), newEmail, userID)
		if err != nil {
			return nil, err
		}
		if taken {
			return nil, invalid(FieldErrors{"email": "email_taken"})
		}
	}
	recs, err := s.db.EditUser(ctx, userID, clean, actor)
	if callscribe.ErrorCode(err) == callscribe.ECONFLICT {
		return nil, invalid(FieldErrors{"email": "email_taken"})
	}
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		if r.Field == "email" && !strings.EqualFold(r.Before, r.After) {
			if err := s.db.SetEmailUnverified(ctx, userID, nil, s.now(), s.now()); err != nil {
				return recs, err
			}
		}
	}
	return recs, nil
}

// SetLanguage remembers the language the account's pages are shown in: ru or en.
func (s *Service) SetLanguage(ctx context.Context, userID uuid.UUID, lang string) error {
	if lang != "ru" && lang != "en" {
		return invalid(FieldErrors{"language": "invalid"})
	}
	ctx, err := s.userScope(ctx, userID)
	if err != nil {
		return err
	}
	return s.db.SetLanguage(ctx, userID, lang)
}

// Organization returns the organization and its company details.
func (s *Service) Organization(ctx context.Context, orgID uuid.UUID) (callscribe.Organization, Company, error) {
	if sc := callscribe.ScopeOf(ctx); sc.OrgID == uuid.Nil && !sc.System {
		ctx = callscribe.WithOrg(ctx, orgID)
	}
	return s.db.CompanyOf(ctx, orgID)
}

// admin checks, against the database, that actor is an admin of their organization now,
// and returns ctx scoped to it.
func (s *Service) admin(ctx context.Context, actor Account) (context.Context, error) {
	ctx = callscribe.WithOrg(ctx, actor.OrgID)
	rec, err := s.db.AccountByID(ctx, actor.ID)
	if callscribe.ErrorCode(err) == callscribe.ENOTFOUND {
		return ctx, errAdmin
	}
	if err != nil {
		return ctx, err
	}
	if Role(rec.Role) != RoleAdmin || rec.User.BlockedAt != nil {
		return ctx, errAdmin
	}
	return ctx, nil
}

// UpdateCompany sets the organization's name and details (admins only), validated as at
// registration.
func (s *Service) UpdateCompany(ctx context.Context, actor Account, c Company) error {
	ctx, err := s.admin(ctx, actor)
	if err != nil {
		return err
	}
	f := FieldErrors{}
	c = checkCompany(f, c)
	if len(f) > 0 {
		return invalid(f)
	}
	err = s.db.UpdateCompany(ctx, actor.OrgID, c, "user:"+actor.ID.String())
	if errors.Is(err, callscribe.ErrCompanyTaken) {
		return invalid(FieldErrors{"company": "company_taken"})
	}
	return err
}

// Member is the account of user userID of organization orgID; ENOTFOUND when there is
// none there (another organization's user included). The officer's desk names a
// request's subject and the people who acted on it by it.
func (s *Service) Member(ctx context.Context, orgID, userID uuid.UUID) (Account, error) {
	rec, err := s.db.AccountInOrg(ctx, orgID, userID)
	if err != nil {
		return Account{}, err
	}
	return account(rec), nil
}

// Members lists the accounts of the actor's organization (admins only).
func (s *Service) Members(ctx context.Context, actor Account) ([]Account, error) {
	ctx, err := s.admin(ctx, actor)
	if err != nil {
		return nil, err
	}
	recs, err := s.db.Members(ctx, actor.OrgID)
	if err != nil {
		return nil, err
	}
	out := make([]Account, 0, len(recs))
	for _, r := range recs {
		out = append(out, account(r))
	}
	return out, nil
}

// SetRole changes the role of an account of the actor's organization (admins only); the
// organization's last admin stays an admin (ECONFLICT).
func (s *Service) SetRole(ctx context.Context, actor Account, userID uuid.UUID, r Role) error {
	if _, err := ParseRole(string(r)); err != nil {
		return err
	}
	ctx, err := s.admin(ctx, actor)
	if err != nil {
		return err
	}
	return s.db.SetRole(ctx, actor.OrgID, userID, string(r), "user:"+actor.ID.String())
}

// Invite makes an invitation to the actor's organization with role r for email (admins
// only) and returns its token, to send as a link: it works once, until InviteTTL.
func (s *Service) Invite(ctx context.Context, actor Account, email string, r Role) (string, error) {
	if _, err := ParseRole(string(r)); err != nil {
		return "", invalid(FieldErrors{"role": "invalid"})
	}
	email, key := validEmail(email)
	if key != "" {
		return "", invalid(FieldErrors{"email": key})
	}
	ctx, err := s.admin(ctx, actor)
	if err != nil {
		return "", err
	}
	taken, err := s.db.AccountEmailTaken(callscribe.AsSystem(ctx), email, uuid.Nil)
	if err != nil {
		return "", err
	}
	if taken {
		return "", invalid(FieldErrors{"email": "email_taken"})
	}
	token, th, err := newToken()
	if err != nil {
		return "", err
	}
	now := s.now()
	if err := s.db.CreateInvite(ctx, actor.OrgID, email, string(r), th, now, now.Add(s.cfg.InviteTTL), "user:"+actor.ID.String()); err != nil {
		return "", err
	}
	return token, nil
}

// Invitation tells what a live invitation token is for, without using it; ENOTFOUND
// for one unknown, used or expired.
func (s *Service) Invitation(ctx context.Context, token string) (orgName, email string, r Role, err error) {
	in, err := s.db.InviteByHash(callscribe.AsSystem(ctx), hashToken(token), s.now())
	if err != nil {
		return "", "", "", err
	}
	return in.OrgName, in.Email, Role(in.Role), nil
}

var partnerCode = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// AddPartner adds a partner: code is what its links carry (/r/CODE), letters, digits,
// _ and -, at most 64.
func (s *Service) AddPartner(ctx context.Context, code, name string) (Partner, error) {
	name = strings.TrimSpace(name)
	if !partnerCode.MatchString(code) {
		return Partner{}, callscribe.Errorf(callscribe.EINVALID, "a partner code is 1 to 64 letters, digits, _ or -")
	}
	if name == "" || utf8.RuneCountInString(name) > 200 {
		return Partner{}, callscribe.Errorf(callscribe.EINVALID, "a partner needs a name of at most 200 characters")
	}
	return s.db.AddPartner(callscribe.AsSystem(ctx), code, name)
}

// Partners lists every partner with its clicks and registrations: the report.
func (s *Service) Partners(ctx context.Context) ([]Partner, error) {
	return s.db.Partners(callscribe.AsSystem(ctx))
}

// Click records a visit through a partner's link and returns the random click id for
// the visitor's cookie (stored as its sha256); ENOTFOUND for an unknown partner.
func (s *Service) Click(ctx context.Context, code string) (string, error) {
	if !partnerCode.MatchString(code) {
		return "", callscribe.Errorf(callscribe.ENOTFOUND, "no such partner")
	}
	id, hash, err := newToken()
	if err != nil {
		return "", err
	}
	if err := s.db.RecordClick(callscribe.AsSystem(ctx), code, hash, s.now()); err != nil {
		return "", err
	}
	return id, nil
}

const maxAgreementBytes = 1 << 20

// PublishAgreement publishes a new version of the user agreement, in force from now;
// ECONFLICT when the version exists. Every account is asked to accept it at its next
// sign-in (PendingAgreement).
func (s *Service) PublishAgreement(ctx context.Context, version, text, actor string) (Agreement, error) {
	version = strings.TrimSpace(version)
	if version == "" || len(version) > 64 {
		return Agreement{}, callscribe.Errorf(callscribe.EINVALID, "an agreement needs a version of 1 to 64 characters")
	}
	if strings.TrimSpace(text) == "" || len(text) > maxAgreementBytes || !utf8.ValidString(text) {
		return Agreement{}, callscribe.Errorf(callscribe.EINVALID, "an agreement's text must be UTF-8, not empty, at most 1 MiB")
	}
	if actor == "" {
		actor = "cli"
	}
	a := callscribe.AgreementRecord{Version: version, Text: text, PublishedAt: s.now(), PublishedBy: actor}
	if err := s.db.PublishAgreement(callscribe.AsSystem(ctx), a); err != nil {
		return Agreement{}, err
	}
	return Agreement{Version: a.Version, Text: a.Text, PublishedAt: a.PublishedAt}, nil
}

// CurrentAgreement returns the version in force; ENOTFOUND when none was published (the
// web shows its embedded default text then).
func (s *Service) CurrentAgreement(ctx context.Context) (Agreement, error) {
	a, err := s.db.CurrentAgreement(callscribe.AsSystem(ctx))
	if err != nil {
		return Agreement{}, err
	}
	return Agreement{Version: a.Version, Text: a.Text, PublishedAt: a.PublishedAt}, nil
}

// PendingAgreement returns the version in force when the user has not accepted it, nil
// when they have or none is published.
func (s *Service) PendingAgreement(ctx context.Context, userID uuid.UUID) (*Agreement, error) {
	cur, err := s.CurrentAgreement(ctx)
	if callscribe.ErrorCode(err) == callscribe.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ctx, err = s.userScope(ctx, userID)
	if err != nil {
		return nil, err
	}
	ok, err := s.db.AgreementAccepted(ctx, userID, cur.Version)
	if err != nil || ok {
		return nil, err
	}
	return &cur, nil
}

// AcceptAgreement records that the user accepted version (the one in force, else
// ECONFLICT), through the web. The consents in force stay as they are: each records the
// version it was given under, and the acceptance records that the user goes on under the
// new one (re-granting would withdraw, and so stop, processing for a moment).
func (s *Service) AcceptAgreement(ctx context.Context, userID uuid.UUID, version string) error {
	return s.answer(ctx, userID, version, "accept")
}

// DeclineAgreement records that the user declined version, withdraws every consent of
// theirs in force through the existing withdrawal path (privacy.Consents.Withdraw,
// channel web: processing stops, calls in flight are discarded) and ends every session.
// The page explains the erasure request next.
func (s *Service) DeclineAgreement(ctx context.Context, userID uuid.UUID, version string) error {
	if err := s.answer(ctx, userID, version, "decline"); err != nil {
		return err
	}
	ctx, err := s.userScope(ctx, userID)
	if err != nil {
		return err
	}
	c := privacy.Consents{Store: s.db, Now: s.cfg.Now, Audit: &privacy.Audit{Now: s.cfg.Now}, AuditLog: s.db, Actor: "user:" + userID.String()}
	if _, err := c.Withdraw(ctx, userID, callscribe.Purposes, callscribe.ConsentViaWeb); err != nil {
		return err
	}
	_, err = s.db.DeleteSessions(ctx, userID)
	return err
}

func (s *Service) answer(ctx context.Context, userID uuid.UUID, version, action string) error {
	cur, err := s.CurrentAgreement(ctx)
	if err != nil {
		return err
	}
	if cur.Version != version {
		return callscribe.Errorf(callscribe.ECONFLICT, "version %q is not the agreement in force", version)
	}
	ctx, err = s.userScope(ctx, userID)
	if err != nil {
		return err
	}
	return s.db.AnswerAgreement(ctx, userID, version, action, callscribe.ConsentViaWeb, s.now())
}

// ProfileHistory lists the corrections made to the account's profile fields (surname,
// first name, patronymic, email, phone), oldest first: the rectification history the
// profile page shows. Corrections of transcripts are not in it.
func (s *Service) ProfileHistory(ctx context.Context, userID uuid.UUID) ([]callscribe.Rectification, error) {
	ctx, err := s.userScope(ctx, userID)
	if err != nil {
		return nil, err
	}
	all, err := s.db.Rectifications(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make([]callscribe.Rectification, 0, len(all))
	for _, r := range all {
		if r.ObjectType == "user" {
			out = append(out, r)
		}
	}
	return out, nil
}

// RequestErasure records the user's own request to erase their data (received through
// the web, due in 10 business days), through the data-subject requests every other
// channel uses: an officer of the organization closes it, and closing it purges.
func (s *Service) RequestErasure(ctx context.Context, userID uuid.UUID) (callscribe.Request, error) {
	ctx, err := s.userScope(ctx, userID)
	if err != nil {
		return callscribe.Request{}, err
	}
	rec, err := s.db.AccountByID(ctx, userID)
	if err != nil {
		return callscribe.Request{}, err
	}
	q := privacy.Requests{Store: s.db, Now: s.cfg.Now}
	return q.Add(ctx, privacy.NewRequest{OrgID: rec.User.OrgID, UserID: userID, Kind: callscribe.RequestErasure,
		Notes: "asked on the web when declining the user agreement", Actor: "user:" + userID.String()})
}

// Invitation is a live invitation to the actor's organization.
type Invitation struct {
	Email                string
	Role                 Role
	CreatedAt, ExpiresAt time.Time
}

// Invitations lists the live invitations of the actor's organization (admins only).
func (s *Service) Invitations(ctx context.Context, actor Account) ([]Invitation, error) {
	ctx, err := s.admin(ctx, actor)
	if err != nil {
		return nil, err
	}
	ins, err := s.db.Invites(ctx, actor.OrgID, s.now())
	if err != nil {
		return nil, err
	}
	out := make([]Invitation, 0, len(ins))
	for _, in := range ins {
		out = append(out, Invitation{Email: in.Email, Role: Role(in.Role), CreatedAt: in.CreatedAt, ExpiresAt: in.ExpiresAt})
	}
	return out, nil
}

// RevokeInvitation withdraws the invitations of the actor's organization for email
// (admins only): their links stop working. ENOTFOUND when there is none.
func (s *Service) RevokeInvitation(ctx context.Context, actor Account, email string) error {
	ctx, err := s.admin(ctx, actor)
	if err != nil {
		return err
	}
	return s.db.RevokeInvites(ctx, actor.OrgID, strings.TrimSpace(email), s.now(), "user:"+actor.ID.String())
}
