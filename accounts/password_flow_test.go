package accounts_test

import (
	"strings"
	"testing"
	"time"

	"callscribe"
	"callscribe/accounts"
)

// TestResetPassword: an unknown email gets nothing and no error; a reset link sets a new
// password once, not after ResetTTL, and ends every session; a newer link makes the
// older one useless; the new password follows the rules.
func TestResetPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := reg("1")
	a, _ := e.register(t, r)
	got, token, err := e.svc.RequestReset(bg, "nobody@example.ru")
	if err != nil || token != "" || got.ID != a.ID && got.Email != "" {
		t.Errorf("reset of an unknown email: %+v, %q, %v; want nothing and no error", got, token, err)
	}
	s, _ := e.svc.StartSession(bg, a.ID, chromeLinux, "", "")
	_, old, _ := e.svc.RequestReset(bg, strings.ToUpper(r.Email))
	got, token, err = e.svc.RequestReset(bg, r.Email)
	if err != nil || token == "" || got.ID != a.ID {
		t.Fatalf("reset: %+v, %q, %v", got, token, err)
	}
	_, err = e.svc.ResetPassword(bg, old, "a new password 1")
	wantCode(t, "an older reset link", err, callscribe.ENOTFOUND)
	_, err = e.svc.ResetPassword(bg, token, "short")
	if fe := fieldErrors(err); fe["password"] != "password_short" {
		t.Errorf("a short new password: %v", err)
	}
	if _, err := e.svc.ResetPassword(bg, token, "a new password 1"); err != nil {
		t.Fatalf("reset with a valid link (not used up by the refused password): %v", err)
	}
	_, _, err = e.svc.Session(bg, s.ID)
	wantCode(t, "a session after the reset", err, callscribe.EUNAUTHORIZED)
	_, err = e.svc.ResetPassword(bg, token, "a new password 2")
	wantCode(t, "the reset link used twice", err, callscribe.ENOTFOUND)
	if _, err := e.svc.SignIn(bg, r.Email, r.Password, ""); callscribe.ErrorCode(err) != callscribe.EUNAUTHORIZED {
		t.Errorf("the old password after the reset: %v", err)
	}
	if _, err := e.svc.SignIn(bg, r.Email, "a new password 1", ""); err != nil {
		t.Errorf("the new password: %v", err)
	}
	_, token, _ = e.svc.RequestReset(bg, r.Email)
	e.clk.Add(accounts.DefaultResetTTL + time.Second)
	_, err = e.svc.ResetPassword(bg, token, "a new password 3")
	wantCode(t, "an expired reset link", err, callscribe.ENOTFOUND)
}

// TestChangePassword: the old password must be right; the new one follows the rules.
func TestChangePassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := reg("1")
	a, _ := e.register(t, r)
	err := e.svc.ChangePassword(bg, a.ID, "not the password", "another long password")
	if fe := fieldErrors(err); fe["old_password"] != "password_wrong" {
		t.Errorf("a wrong old password: %v", err)
	}
	err = e.svc.ChangePassword(bg, a.ID, r.Password, r.Email)
	if fe := fieldErrors(err); fe["password"] != "password_is_email" {
		t.Errorf("the email as the new password: %v", err)
	}
	if err := e.svc.ChangePassword(bg, a.ID, r.Password, "another long password"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SignIn(bg, r.Email, "another long password", ""); err != nil {
		t.Errorf("sign in with the changed password: %v", err)
	}
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE action = 'account.password' AND subject_id = $1`, a.ID); n != 1 {
		t.Errorf("%d audit entries of the change, want 1", n)
	}
}

// TestUpdateProfile: a correction goes through the rectification path (before and
// after recorded); values are checked as at registration; a new email is unverified and
// must not be another account's.
func TestUpdateProfile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, token := e.register(t, reg("1"))
	if _, err := e.svc.VerifyEmail(bg, token); err != nil {
		t.Fatal(err)
	}
	b, _ := e.register(t, reg("2"))
	actor := "user:" + a.ID.String()
	_, err := e.svc.UpdateProfile(bg, a.ID, []callscribe.ProfileEdit{{Field: "phone", Value: "123"}, {Field: "surname", Value: ""}}, actor)
	if fe := fieldErrors(err); fe["phone"] != "phone_invalid" || fe["surname"] != "required" {
		t.Errorf("bad edits: %v", err)
	}
	_, err = e.svc.UpdateProfile(bg, a.ID, []callscribe.ProfileEdit{{Field: "email", Value: strings.ToUpper(b.Email)}}, actor)
	if fe := fieldErrors(err); fe["email"] != "email_taken" {
		t.Errorf("another account's email: %v", err)
	}
	recs, err := e.svc.UpdateProfile(bg, a.ID, []callscribe.ProfileEdit{{Field: "surname", Value: "Petrova"},
		{Field: "phone", Value: "8 903 123 45 67"}, {Field: "email", Value: "anna.new@example.ru"}}, actor)
	if err != nil || len(recs) != 3 {
		t.Fatalf("edit: %+v, %v", recs, err)
	}
	if recs[1].Before != "+79161357968" || recs[1].After != "+79031234567" {
		t.Errorf("phone rectification %+v", recs[1])
	}
	if n := e.count(t, `SELECT count(*) FROM rectifications WHERE subject_id = $1 AND object_type = 'user'`, a.ID); n != 3 {
		t.Errorf("%d rectifications recorded, want 3", n)
	}
	_, acct, err := e.svc.Session(bg, mustSession(t, e, a))
	if err != nil || acct.EmailVerified || acct.Email != "anna.new@example.ru" || acct.Surname != "Petrova" {
		t.Errorf("after the edit: %+v, %v; want the new email unverified", acct, err)
	}
	token, err = e.svc.ResendVerification(bg, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := e.svc.VerifyEmail(bg, token); err != nil || !v.EmailVerified {
		t.Errorf("verify the new email: %+v, %v", v, err)
	}
	if err := e.svc.SetLanguage(bg, a.ID, "en"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SetLanguage(bg, a.ID, "fr"); callscribe.ErrorCode(err) != callscribe.EINVALID {
		t.Errorf("language fr: %v", err)
	}
	if _, acct, _ := e.svc.Session(bg, mustSession(t, e, a)); acct.Language != "en" {
		t.Errorf("language %q after SetLanguage en", acct.Language)
	}
}

func mustSession(t *testing.T, e *env, a accounts.Account) string {
	t.Helper()
	s, err := e.svc.StartSession(bg, a.ID, "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	return s.ID
}
