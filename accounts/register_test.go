package accounts_test

import (
	"strings"
	"testing"
	"time"

	"callscribe"
	"callscribe/accounts"
)

// TestRegisterValidatesEveryField: each bad field gets its message key, next to the
// field's name, and nothing is stored.
func TestRegisterValidatesEveryField(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cases := []struct {
		name  string
		edit  func(*accounts.Registration)
		field string
		key   string
	}{
		{"no surname", func(r *accounts.Registration) { r.Surname = " " }, "surname", "required"},
		{"no first name", func(r *accounts.Registration) { r.FirstName = "" }, "first_name", "required"},
		{"long patronymic", func(r *accounts.Registration) { r.Patronymic = strings.Repeat("я", 101) }, "patronymic", "too_long"},
		{"no email", func(r *accounts.Registration) { r.Email = "" }, "email", "required"},
		{"email without @", func(r *accounts.Registration) { r.Email = "anna.example.ru" }, "email", "email_invalid"},
		{"email with a name", func(r *accounts.Registration) { r.Email = "Anna <anna@example.ru>" }, "email", "email_invalid"},
		{"two emails", func(r *accounts.Registration) { r.Email = "a@b.ru, c@d.ru" }, "email", "email_invalid"},
		{"bad phone", func(r *accounts.Registration) { r.Phone = "12345" }, "phone", "phone_invalid"},
		{"short password", func(r *accounts.Registration) { r.Password = "123456789" }, "password", "password_short"},
		{"password is the email", func(r *accounts.Registration) { r.Password = r.Email }, "password", "password_is_email"},
		{"long password", func(r *accounts.Registration) { r.Password = strings.Repeat("x", 257) }, "password", "password_long"},
		{"no company", func(r *accounts.Registration) { r.Company.Name = "" }, "company", "required"},
		{"INN check digit", func(r *accounts.Registration) { r.Company.INN = "7707083894" }, "inn", "inn_checksum"},
		{"INN length", func(r *accounts.Registration) { r.Company.INN = "77070838" }, "inn", "inn_length"},
		{"entrepreneur INN check digits", func(r *accounts.Registration) {
			r.Company.INN, r.Company.KPP, r.Company.OGRN = "500100732258", "", ""
		}, "inn", "inn_checksum"},
		{"KPP format", func(r *accounts.Registration) { r.Company.KPP = "77360100" }, "kpp", "kpp_invalid"},
		{"KPP of an entrepreneur", func(r *accounts.Registration) {
			r.Company.INN, r.Company.OGRN = "500100732259", ""
		}, "kpp", "kpp_entrepreneur"},
		{"OGRN check digit", func(r *accounts.Registration) { r.Company.OGRN = "1027700132196" }, "ogrn", "ogrn_checksum"},
		{"OGRN length", func(r *accounts.Registration) { r.Company.OGRN = "10277001321" }, "ogrn", "ogrn_length"},
		{"OGRNIP for a company", func(r *accounts.Registration) { r.Company.OGRN = "304500116000157" }, "ogrn", "ogrn_mismatch"},
		{"unknown language", func(r *accounts.Registration) { r.Language = "de" }, "language", "invalid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := reg("v")
			c.edit(&r)
			_, _, err := e.svc.Register(bg, r)
			wantCode(t, "register", err, callscribe.EINVALID)
			fe := fieldErrors(err)
			if fe[c.field] != c.key {
				t.Errorf("field errors %v, want %s: %s", fe, c.field, c.key)
			}
			if strings.Contains(err.Error(), "@") || strings.Contains(err.Error(), "916") {
				t.Errorf("error text %q carries a value", err)
			}
		})
	}
	if n := e.count(t, `SELECT count(*) FROM accounts`); n != 0 {
		t.Errorf("%d accounts stored from invalid forms", n)
	}
	// The valid ones of the forms above: an entrepreneur (12-digit INN, OGRNIP, no KPP).
	r := reg("ip")
	r.Company = accounts.Company{Name: "IP Ivanova", INN: "500100732259", OGRN: "304500116000157"}
	if _, _, err := e.svc.Register(bg, r); err != nil {
		t.Errorf("an entrepreneur's registration: %v", err)
	}
}

// TestRegisterFirstAccountIsAdminAndVerifiesOnce: the organization's first account is
// its admin, with the phone normalised, its email unverified until the link is used;
// the link works once and not after VerifyTTL; only the token's hash is stored.
func TestRegisterFirstAccountIsAdminAndVerifiesOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, token := e.register(t, reg("1"))
	if a.Role != accounts.RoleAdmin || a.EmailVerified || a.Phone != "+79161357968" || a.Language != "ru" || a.OrgName != "Romashka 1" || !a.HasPassword {
		t.Errorf("registered account %+v: want an unverified admin of Romashka 1, phone +79161357968, language ru", a)
	}
	org, company, err := e.svc.Organization(bg, a.OrgID)
	if err != nil || org.Name != "Romashka 1" || company != (accounts.Company{Name: "Romashka 1", INN: "7707083893", KPP: "773601001", OGRN: "1027700132195"}) {
		t.Errorf("organization %+v %+v %v", org, company, err)
	}
	if n := e.count(t, `SELECT count(*) FROM account_tokens WHERE hash = sha256($1::bytea) AND kind = 'verify'`, []byte(token)); n != 1 {
		t.Errorf("%d verify tokens stored as the token's sha256, want 1", n)
	}
	if n := e.count(t, `SELECT count(*) FROM account_tokens t WHERE t::text LIKE '%' || $1 || '%'`, token); n != 0 {
		t.Error("the verify token is stored as given")
	}
	v, err := e.svc.VerifyEmail(bg, token)
	if err != nil || !v.EmailVerified || v.ID != a.ID {
		t.Fatalf("verify: %+v, %v", v, err)
	}
	_, err = e.svc.VerifyEmail(bg, token)
	wantCode(t, "the verify link used twice", err, callscribe.ENOTFOUND)
	if _, err := e.svc.ResendVerification(bg, a.ID); callscribe.ErrorCode(err) != callscribe.ECONFLICT {
		t.Errorf("resend to a verified email: %v, want ECONFLICT", err)
	}

	// Expiry: a second account's link, used after VerifyTTL; a resent link works and the
	// first one no longer does.
	b, token := e.register(t, reg("2"))
	e.clk.Add(accounts.DefaultVerifyTTL + time.Second)
	_, err = e.svc.VerifyEmail(bg, token)
	wantCode(t, "an expired verify link", err, callscribe.ENOTFOUND)
	again, err := e.svc.ResendVerification(bg, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := e.svc.VerifyEmail(bg, again); err != nil || !v.EmailVerified {
		t.Errorf("the resent link: %+v, %v", v, err)
	}
}

// TestRegisterConflicts: an email is one account's, in any organization and any case; an
// organization name is one organization's.
func TestRegisterConflicts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.register(t, reg("1"))
	r := reg("2")
	r.Email = strings.ToUpper(reg("1").Email)
	_, _, err := e.svc.Register(bg, r)
	if fe := fieldErrors(err); fe["email"] != "email_taken" {
		t.Errorf("the same email again: %v, want email: email_taken", err)
	}
	r = reg("3")
	r.Company.Name = "Romashka 1"
	_, _, err = e.svc.Register(bg, r)
	if fe := fieldErrors(err); fe["company"] != "company_taken" {
		t.Errorf("the same company again: %v, want company: company_taken", err)
	}
	if n := e.count(t, `SELECT count(*) FROM organizations`); n != 1 {
		t.Errorf("%d organizations after two refused registrations, want 1", n)
	}
}
