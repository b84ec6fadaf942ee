package accounts_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"callscribe"
	"callscribe/accounts"
)

// TestSignInDoesNotTellUnknownEmailsApart: an unknown email, an account without a
// password and a wrong password get the same error and each costs one argon2id hash;
// the right password signs in. The times are measured with the default parameters and
// compared loosely (medians within a factor of 3).
func TestSignInDoesNotTellUnknownEmailsApart(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *accounts.Config) { *c = accounts.Config{Now: c.Now} }) // the default, real cost
	r := reg("1")
	a, _ := e.register(t, r)
	got, err := e.svc.SignIn(bg, " "+r.Email+" ", r.Password, "192.0.2.1")
	if err != nil || got.ID != a.ID {
		t.Fatalf("sign in with the right password: %+v, %v", got, err)
	}
	var unknownTimes, wrongTimes []time.Duration
	var unknownErr, wrongErr error
	for i := range 5 {
		before := accounts.Hashes(e.svc)
		start := time.Now()
		_, unknownErr = e.svc.SignIn(bg, "nobody"+string(rune('a'+i))+"@example.ru", r.Password, "192.0.2.2")
		unknownTimes = append(unknownTimes, time.Since(start))
		if n := accounts.Hashes(e.svc) - before; n != 1 {
			t.Errorf("an unknown email computed %d hashes, want 1", n)
		}
		before = accounts.Hashes(e.svc)
		start = time.Now()
		_, wrongErr = e.svc.SignIn(bg, r.Email, "wrong password "+string(rune('a'+i)), "192.0.2.3")
		wrongTimes = append(wrongTimes, time.Since(start))
		if n := accounts.Hashes(e.svc) - before; n != 1 {
			t.Errorf("a wrong password computed %d hashes, want 1", n)
		}
		if i == 2 {
			e.clk.Add(time.Hour) // stay under the throttle
		}
	}
	for _, err := range []error{unknownErr, wrongErr} {
		if callscribe.ErrorCode(err) != callscribe.EUNAUTHORIZED || callscribe.ErrorMessage(err) != "wrong email or password" {
			t.Errorf("error %v: want EUNAUTHORIZED, \"wrong email or password\"", err)
		}
	}
	if unknownErr != wrongErr {
		t.Errorf("unknown email %#v and wrong password %#v are different errors", unknownErr, wrongErr)
	}
	median := func(d []time.Duration) time.Duration { slices.Sort(d); return d[len(d)/2] }
	u, w := median(unknownTimes), median(wrongTimes)
	t.Logf("sign-in median: unknown email %v, wrong password %v", u, w)
	if u*3 < w || w*3 < u {
		t.Errorf("sign-in times differ: unknown email %v, wrong password %v", u, w)
	}
}

// TestSignInThrottles: past PerAccount failures for an email within the window, the
// right password is refused too (ETHROTTLED), whatever the address; past PerAddress
// failures from an address, any email from it is; after the window both work again. The
// records hold keyed hashes only, and none outlives the window.
func TestSignInThrottles(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *accounts.Config) {
		c.Throttle.PerAccount, c.Throttle.PerAddress, c.Throttle.Window = 3, 5, 10*time.Minute
	})
	r1, r2 := reg("1"), reg("2")
	e.register(t, r1)
	e.register(t, r2)
	for i := range 3 {
		_, err := e.svc.SignIn(bg, r1.Email, "wrong password!", "198.51.100."+string(rune('1'+i)))
		wantCode(t, "a wrong password", err, callscribe.EUNAUTHORIZED)
	}
	_, err := e.svc.SignIn(bg, r1.Email, r1.Password, "198.51.100.9")
	wantCode(t, "the right password after 3 failures for the email", err, callscribe.ETHROTTLED)
	// The same for an email with no account: the throttle tells nothing either.
	for range 3 {
		_, _ = e.svc.SignIn(bg, "ghost@example.ru", "wrong password!", "198.51.100.20")
	}
	_, err = e.svc.SignIn(bg, "ghost@example.ru", "wrong password!", "198.51.100.21")
	wantCode(t, "an unknown email after 3 failures", err, callscribe.ETHROTTLED)
	// Per address: 5 failures from one address over several emails; an IPv6 address
	// counts by its /64, whatever the host part and the port.
	addr := "2001:db8::1"
	for i := range 5 {
		from := []string{addr, "[2001:db8::2]:443", "2001:db8::ffff:1", "[2001:db8::3]:80", "2001:db8:0:0:1::9"}[i]
		_, _ = e.svc.SignIn(bg, "other"+string(rune('a'+i))+"@example.ru", "wrong password!", from)
	}
	_, err = e.svc.SignIn(bg, r2.Email, r2.Password, addr)
	wantCode(t, "the right password from an address after 5 failures", err, callscribe.ETHROTTLED)
	if _, err := e.svc.SignIn(bg, r2.Email, r2.Password, "[2001:db8:0:1::1]:443"); err != nil {
		t.Errorf("the same account from the next /64: %v", err)
	}
	if _, err := e.svc.SignIn(bg, r2.Email, r2.Password, "203.0.113.7"); err != nil {
		t.Errorf("the same account from another address: %v", err)
	}
	// Nothing stored names the email or the address.
	for _, v := range []string{r1.Email, "198.51.100.1", addr, netip.MustParseAddr(addr).String()} {
		if n := e.count(t, `SELECT count(*) FROM signin_failures f WHERE f::text LIKE '%' || $1 || '%'`, v); n != 0 {
			t.Errorf("the throttle's records hold %q", v)
		}
	}
	e.clk.Add(10*time.Minute + time.Second)
	if _, err := e.svc.SignIn(bg, r1.Email, r1.Password, "198.51.100.9"); err != nil {
		t.Errorf("after the window: %v", err)
	}
	if n := e.count(t, `SELECT count(*) FROM signin_failures`); n != 0 {
		t.Errorf("%d failure records outlive the window", n)
	}
}

// TestSignInBlockedAccount: a blocked account with the right password is told so, and
// cannot start a session.
func TestSignInBlockedAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := reg("1")
	a, _ := e.register(t, r)
	if _, err := e.db.BlockUser(callscribe.AsSystem(bg), a.ID, e.clk.Now()); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.SignIn(bg, r.Email, r.Password, "")
	wantCode(t, "sign in while blocked", err, callscribe.EBLOCKED)
	_, err = e.svc.StartSession(bg, a.ID, "", "", "")
	wantCode(t, "a session while blocked", err, callscribe.EUNAUTHORIZED)
}

// TestSignInRehashesUnderNewParameters: after the argon2id parameters change, an account's
// next sign-in stores its hash under the new ones (the old hash still verified it).
func TestSignInRehashesUnderNewParameters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := reg("1")
	a, _ := e.register(t, r)
	stored := func() string {
		var h string
		if err := e.db.Pool().QueryRow(callscribe.AsSystem(bg), `SELECT password_hash FROM accounts WHERE user_id = $1`, a.ID).Scan(&h); err != nil {
			t.Fatal(err)
		}
		return h
	}
	if h := stored(); !strings.Contains(h, "m=1024,t=1,p=1") {
		t.Fatalf("hash %q: want the test's parameters", h)
	}
	cfg := e.cfg
	cfg.Argon2.Time, cfg.Argon2.MemoryKiB = 2, 2048
	svc := accounts.New(e.db, cfg, nil)
	if _, err := svc.SignIn(bg, r.Email, r.Password, ""); err != nil {
		t.Fatalf("sign in under new parameters with an old hash: %v", err)
	}
	if h := stored(); !strings.Contains(h, "m=2048,t=2,p=1") {
		t.Errorf("hash after the sign-in %q: want m=2048,t=2,p=1", h)
	}
	if _, err := svc.SignIn(bg, r.Email, r.Password, ""); err != nil {
		t.Errorf("sign in with the new hash: %v", err)
	}
}
