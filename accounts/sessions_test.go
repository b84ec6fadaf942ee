package accounts_test

import (
	"crypto/sha256"
	"encoding/base64"
	"testing"
	"time"

	"github.com/google/uuid"

	"callscribe"
	"callscribe/accounts"
	"callscribe/privacy"
)

const chromeLinux = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

// TestSessionLifecycle: a session id is 32 random bytes base64url, stored only as its
// sha256, with the user agent's family; a sign-in ends the session it replaces; a session
// expires after SessionTTL and after IdleTimeout without use; last seen is written at
// most once a minute; signing out ends one session, "everywhere" every one.
func TestSessionLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *accounts.Config) { c.SessionTTL, c.IdleTimeout = 48*time.Hour, 2*time.Hour })
	a, _ := e.register(t, reg("1"))
	pre, err := e.svc.StartSession(bg, a.ID, "curl/8.0", "192.0.2.1", "")
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.svc.StartSession(bg, a.ID, chromeLinux, "192.0.2.1:51234", pre.ID)
	if err != nil {
		t.Fatal(err)
	}
	if raw, err := base64.RawURLEncoding.DecodeString(s.ID); err != nil || len(raw) != 32 {
		t.Errorf("session id %q is not 32 bytes base64url", s.ID)
	}
	if s.UserAgent != "Chrome on Linux" || s.OrgID != a.OrgID || !s.ExpiresAt.Equal(e.clk.Now().Add(48*time.Hour)) {
		t.Errorf("session %+v", s)
	}
	_, _, err = e.svc.Session(bg, pre.ID)
	wantCode(t, "the session replaced at sign-in", err, callscribe.EUNAUTHORIZED)
	sum := sha256.Sum256([]byte(s.ID))
	if n := e.count(t, `SELECT count(*) FROM sessions WHERE id_hash = $1 AND user_agent = 'Chrome on Linux' AND addr = '192.0.2.1'`, sum[:]); n != 1 {
		t.Errorf("%d sessions stored under the id's sha256 with the address without its port, want 1", n)
	}
	if n := e.count(t, `SELECT count(*) FROM sessions s WHERE s::text LIKE '%' || $1 || '%' OR s::text LIKE '%Mozilla%'`, s.ID); n != 0 {
		t.Error("a session row holds the id or the whole user agent")
	}
	got, acct, err := e.svc.Session(bg, s.ID)
	if err != nil || acct.ID != a.ID || acct.Role != accounts.RoleAdmin || got.UserID != a.ID {
		t.Fatalf("session lookup: %+v %+v %v", got, acct, err)
	}
	// last seen: not rewritten within a minute, rewritten after.
	e.clk.Add(30 * time.Second)
	got, _, _ = e.svc.Session(bg, s.ID)
	if !got.LastSeenAt.Equal(s.LastSeenAt) {
		t.Errorf("last seen moved to %v within a minute", got.LastSeenAt)
	}
	e.clk.Add(time.Minute)
	got, _, _ = e.svc.Session(bg, s.ID)
	if !got.LastSeenAt.Equal(e.clk.Now()) {
		t.Errorf("last seen %v after a minute, want %v", got.LastSeenAt, e.clk.Now())
	}
	// Idle: two hours without a request.
	e.clk.Add(2*time.Hour + time.Second)
	_, _, err = e.svc.Session(bg, s.ID)
	wantCode(t, "an idle session", err, callscribe.EUNAUTHORIZED)
	if n := e.count(t, `SELECT count(*) FROM sessions WHERE id_hash = $1`, sum[:]); n != 0 {
		t.Error("the idle session is still stored")
	}
	// Expiry: used every hour, still ends at SessionTTL.
	s, _ = e.svc.StartSession(bg, a.ID, chromeLinux, "", "")
	for range 47 {
		e.clk.Add(time.Hour)
		if _, _, err := e.svc.Session(bg, s.ID); err != nil {
			t.Fatalf("a session in use, %v old: %v", e.clk.Now().Sub(s.CreatedAt), err)
		}
	}
	e.clk.Add(time.Hour)
	_, _, err = e.svc.Session(bg, s.ID)
	wantCode(t, "an expired session", err, callscribe.EUNAUTHORIZED)

	// Sign out one; sign out everywhere.
	s1, _ := e.svc.StartSession(bg, a.ID, chromeLinux, "", "")
	s2, _ := e.svc.StartSession(bg, a.ID, "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", "", "")
	s3, _ := e.svc.StartSession(bg, a.ID, "", "", "")
	list, err := e.svc.Sessions(bg, a.ID, s2.ID)
	if err != nil || len(list) != 3 {
		t.Fatalf("sessions: %+v, %v", list, err)
	}
	for _, l := range list {
		if l.ID != "" {
			t.Errorf("a listed session carries its id")
		}
		if l.Current != (l.UserAgent == "Firefox on Windows") {
			t.Errorf("listed session %+v: current is the Firefox one", l)
		}
	}
	if err := e.svc.EndSession(bg, s1.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err = e.svc.Session(bg, s1.ID)
	wantCode(t, "a session signed out", err, callscribe.EUNAUTHORIZED)
	if _, _, err := e.svc.Session(bg, s2.ID); err != nil {
		t.Errorf("another session after one signed out: %v", err)
	}
	if err := e.svc.EndSessions(bg, a.ID); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{s2.ID, s3.ID} {
		_, _, err = e.svc.Session(bg, id)
		wantCode(t, "a session after sign out everywhere", err, callscribe.EUNAUTHORIZED)
	}
	_, _, err = e.svc.Session(bg, "")
	wantCode(t, "no session id", err, callscribe.EUNAUTHORIZED)

	// Every session but the current one.
	s4, _ := e.svc.StartSession(bg, a.ID, "", "", "")
	s5, _ := e.svc.StartSession(bg, a.ID, "", "", "")
	if err := e.svc.EndOtherSessions(bg, a.ID, s5.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err = e.svc.Session(bg, s4.ID)
	wantCode(t, "another session after EndOtherSessions", err, callscribe.EUNAUTHORIZED)
	if _, _, err := e.svc.Session(bg, s5.ID); err != nil {
		t.Errorf("the current session after EndOtherSessions: %v", err)
	}
}

// TestSessionsEndWithBlockErasureAndWithdrawal: blocking the user, marking them erased
// (closing an erasure request) and withdrawing their consent to transcription end every
// session of theirs in that same transaction, whichever path makes the change; a
// withdrawal of another purpose does not.
func TestSessionsEndWithBlockErasureAndWithdrawal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sys := callscribe.AsSystem(bg)
	cases := []struct {
		name string
		end  bool
		do   func(t *testing.T, user uuid.UUID)
	}{
		{"block", true, func(t *testing.T, user uuid.UUID) {
			if _, err := e.db.BlockUser(sys, user, e.clk.Now()); err != nil {
				t.Fatal(err)
			}
		}},
		{"mark erased", true, func(t *testing.T, user uuid.UUID) {
			if _, err := e.db.MarkErased(sys, user, "request-1", e.clk.Now()); err != nil {
				t.Fatal(err)
			}
		}},
		{"withdraw transcription", true, func(t *testing.T, user uuid.UUID) {
			c := privacy.Consents{Store: e.db}
			if _, err := c.Withdraw(callscribe.WithOrg(bg, orgOf(t, e, user)), user, []callscribe.Purpose{callscribe.PurposeTranscription}, callscribe.ConsentViaBot); err != nil {
				t.Fatal(err)
			}
		}},
		{"withdraw summarization only", false, func(t *testing.T, user uuid.UUID) {
			c := privacy.Consents{Store: e.db}
			if _, err := c.Withdraw(sys, user, []callscribe.Purpose{callscribe.PurposeSummarization}, callscribe.ConsentViaWeb); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, _ := e.register(t, reg(string(rune('a'+i))))
			grant := privacy.Consents{Store: e.db, PolicyVersion: "1"}
			if _, err := grant.Grant(sys, a.ID, []callscribe.Purpose{callscribe.PurposeTranscription, callscribe.PurposeSummarization}, callscribe.ConsentViaWeb); err != nil {
				t.Fatal(err)
			}
			s1, _ := e.svc.StartSession(bg, a.ID, chromeLinux, "192.0.2.1", "")
			s2, _ := e.svc.StartSession(bg, a.ID, chromeLinux, "192.0.2.2", "")
			// Another account's session is untouched.
			other, _ := e.register(t, reg(string(rune('a'+i))+"x"))
			so, _ := e.svc.StartSession(bg, other.ID, chromeLinux, "", "")
			c.do(t, a.ID)
			left := e.count(t, `SELECT count(*) FROM sessions WHERE user_id = $1`, a.ID)
			if c.end && left != 0 || !c.end && left != 2 {
				t.Errorf("%d sessions left after %s", left, c.name)
			}
			for _, s := range []string{s1.ID, s2.ID} {
				_, _, err := e.svc.Session(bg, s)
				if (err == nil) == c.end {
					t.Errorf("session after %s: %v", c.name, err)
				}
			}
			if _, _, err := e.svc.Session(bg, so.ID); err != nil {
				t.Errorf("another account's session after %s: %v", c.name, err)
			}
		})
	}
}

func orgOf(t *testing.T, e *env, user uuid.UUID) uuid.UUID {
	t.Helper()
	u, err := e.db.UserByID(callscribe.AsSystem(bg), user)
	if err != nil {
		t.Fatal(err)
	}
	return u.OrgID
}

// TestSessionsAreWalledByOrganization: a connection scoped to another organization sees
// none of an account's sessions, identities or tokens (row-level security), while the
// system's session lookup finds them.
func TestSessionsAreWalledByOrganization(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, _ := e.register(t, reg("1"))
	b, _ := e.register(t, reg("2"))
	if _, err := e.svc.StartSession(bg, a.ID, chromeLinux, "", ""); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.LinkIdentity(bg, a.ID, accounts.Identity{Provider: "yandex", Subject: "42"}); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"sessions", "identities", "account_tokens", "accounts"} {
		var n int
		if err := e.db.Pool().QueryRow(callscribe.WithOrg(bg, b.OrgID), `SELECT count(*) FROM `+table+` WHERE organization_id = $1`, a.OrgID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("another organization's scope sees %d rows of %s", n, table)
		}
		if err := e.db.Pool().QueryRow(callscribe.WithOrg(bg, a.OrgID), `SELECT count(*) FROM `+table+` WHERE organization_id = $1`, a.OrgID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Errorf("the organization's own scope sees no row of %s", table)
		}
	}
	// A scope of organization B cannot list A's sessions through the service either.
	list, err := e.svc.Sessions(callscribe.WithOrg(bg, b.OrgID), a.ID, "")
	if err != nil || len(list) != 0 {
		t.Errorf("sessions of another organization's account: %+v, %v", list, err)
	}
}

// TestPruneSessions: the periodic prune deletes expired and idle sessions (and with them
// the address each came from) and expired tokens (an invitation names an email), and
// leaves live ones.
func TestPruneSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *accounts.Config) { c.IdleTimeout = time.Hour })
	a, _ := e.register(t, reg("1"))
	if _, err := e.svc.Invite(bg, a, "later@example.ru", accounts.RoleMember); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.StartSession(bg, a.ID, chromeLinux, "192.0.2.44", ""); err != nil {
		t.Fatal(err)
	}
	e.clk.Add(59 * time.Minute)
	live, _ := e.svc.StartSession(bg, a.ID, chromeLinux, "192.0.2.45", "")
	if n, err := e.svc.PruneSessions(bg); err != nil || n != 0 {
		t.Errorf("prune with no session idle: %d, %v", n, err)
	}
	e.clk.Add(2 * time.Minute)
	if n, err := e.svc.PruneSessions(bg); err != nil || n != 1 {
		t.Errorf("prune with one session idle: %d, %v; want 1", n, err)
	}
	if n := e.count(t, `SELECT count(*) FROM sessions WHERE addr = '192.0.2.44'`); n != 0 {
		t.Error("the idle session's address is still stored")
	}
	if _, _, err := e.svc.Session(bg, live.ID); err != nil {
		t.Errorf("the live session after the prune: %v", err)
	}
	e.clk.Add(accounts.DefaultInviteTTL)
	if _, err := e.svc.PruneSessions(bg); err != nil {
		t.Fatal(err)
	}
	if n := e.count(t, `SELECT count(*) FROM account_tokens`); n != 0 {
		t.Errorf("%d expired tokens left after the prune", n)
	}
}
