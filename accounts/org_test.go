package accounts_test

import (
	"testing"
	"time"

	"callscribe"
	"callscribe/accounts"
)

// TestRolesAndInvitations: only an admin lists members, changes roles, edits the company
// and invites; an invitation joins its organization with its role, once, until it
// expires, for the email it was sent to; the last admin cannot demote themself.
func TestRolesAndInvitations(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin, _ := e.register(t, reg("1"))
	outsider, _ := e.register(t, reg("2"))

	token, err := e.svc.Invite(bg, admin, "officer@example.ru", accounts.RoleOfficer)
	if err != nil {
		t.Fatal(err)
	}
	org, email, role, err := e.svc.Invitation(bg, token)
	if err != nil || org != "Romashka 1" || email != "officer@example.ru" || role != accounts.RoleOfficer {
		t.Errorf("invitation: %q %q %q %v", org, email, role, err)
	}
	r := reg("3")
	r.Email, r.InviteToken, r.Company = "someone.else@example.ru", token, accounts.Company{}
	_, _, err = e.svc.Register(bg, r)
	if fe := fieldErrors(err); fe["email"] != "invite_email_mismatch" {
		t.Errorf("an invitation used for another email: %v", err)
	}
	r.Email = "Officer@Example.ru"
	officer, verify := e.register(t, r)
	if officer.OrgID != admin.OrgID || officer.Role != accounts.RoleOfficer || !officer.EmailVerified || verify != "" {
		t.Errorf("invited account %+v, verify token %q: want a verified officer of the admin's organization, no token", officer, verify)
	}
	r.Email = "officer2@example.ru"
	_, _, err = e.svc.Register(bg, r)
	if fe := fieldErrors(err); fe["token"] != "token_invalid" {
		t.Errorf("the invitation used twice: %v", err)
	}
	_, _, _, err = e.svc.Invitation(bg, token)
	wantCode(t, "a used invitation", err, callscribe.ENOTFOUND)

	// Expired.
	late, _ := e.svc.Invite(bg, admin, "late@example.ru", accounts.RoleMember)
	e.clk.Add(accounts.DefaultInviteTTL + time.Second)
	r = reg("4")
	r.Email, r.InviteToken = "late@example.ru", late
	_, _, err = e.svc.Register(bg, r)
	if fe := fieldErrors(err); fe["token"] != "token_invalid" {
		t.Errorf("an expired invitation: %v", err)
	}
	if _, err := e.svc.Invite(bg, admin, outsider.Email, accounts.RoleMember); fieldErrors(err)["email"] != "email_taken" {
		t.Errorf("inviting an email with an account: %v", err)
	}

	// Only admins.
	for name, call := range map[string]func(a accounts.Account) error{
		"members":  func(a accounts.Account) error { _, err := e.svc.Members(bg, a); return err },
		"set role": func(a accounts.Account) error { return e.svc.SetRole(bg, a, officer.ID, accounts.RoleMember) },
		"invite": func(a accounts.Account) error {
			_, err := e.svc.Invite(bg, a, "x@example.ru", accounts.RoleMember)
			return err
		},
		"company": func(a accounts.Account) error { return e.svc.UpdateCompany(bg, a, accounts.Company{Name: "Hijacked"}) },
	} {
		wantCode(t, name+" as an officer", call(officer), callscribe.EFORBIDDEN)
		// An admin of another organization acting on this one's account finds nothing.
		if name == "set role" {
			wantCode(t, name+" by another organization's admin", call(outsider), callscribe.ENOTFOUND)
		}
	}
	members, err := e.svc.Members(bg, admin)
	if err != nil || len(members) != 2 {
		t.Fatalf("members: %+v, %v", members, err)
	}
	for _, m := range members {
		if m.OrgID != admin.OrgID {
			t.Errorf("member %s of another organization listed", m.ID)
		}
	}

	// The last admin.
	err = e.svc.SetRole(bg, admin, admin.ID, accounts.RoleMember)
	wantCode(t, "the last admin demoting themself", err, callscribe.ECONFLICT)
	if err := e.svc.SetRole(bg, admin, officer.ID, accounts.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SetRole(bg, admin, admin.ID, accounts.RoleMember); err != nil {
		t.Errorf("an admin demoting themself with another admin left: %v", err)
	}
	wantCode(t, "a demoted admin listing members", func() error { _, err := e.svc.Members(bg, admin); return err }(), callscribe.EFORBIDDEN)
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE action = 'account.role'`); n != 2 {
		t.Errorf("%d role changes audited, want 2", n)
	}

	// Company details, validated.
	officer.Role = accounts.RoleAdmin
	err = e.svc.UpdateCompany(bg, officer, accounts.Company{Name: "Romashka 2"})
	if fe := fieldErrors(err); fe["company"] != "company_taken" {
		t.Errorf("another organization's name: %v", err)
	}
	err = e.svc.UpdateCompany(bg, officer, accounts.Company{Name: "Romashka One", INN: "1234567890"})
	if fe := fieldErrors(err); fe["inn"] != "inn_checksum" {
		t.Errorf("a bad INN: %v", err)
	}
	if err := e.svc.UpdateCompany(bg, officer, accounts.Company{Name: "Romashka One", INN: "7707083893"}); err != nil {
		t.Fatal(err)
	}
	if _, c, _ := e.svc.Organization(bg, admin.OrgID); c != (accounts.Company{Name: "Romashka One", INN: "7707083893"}) {
		t.Errorf("company after the update: %+v", c)
	}
}

// TestInvitationTakesExistingUser: an invitation to the address of a user the operator
// added (their calls transcribed, no account) makes that user the account.
func TestInvitationTakesExistingUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin, _ := e.register(t, reg("1"))
	u, err := e.db.CreateUser(callscribe.AsSystem(bg), callscribe.User{OrgID: admin.OrgID, Email: "agent@example.ru"})
	if err != nil {
		t.Fatal(err)
	}
	token, _ := e.svc.Invite(bg, admin, "agent@example.ru", accounts.RoleMember)
	r := reg("2")
	r.Email, r.InviteToken = "agent@example.ru", token
	a, _ := e.register(t, r)
	if a.ID != u.ID || a.Surname != "Ivanova" {
		t.Errorf("account %+v: want the existing user %s with the names given", a, u.ID)
	}
}

// TestIdentities: a provider identity links to one account; signing in with it finds
// the account, an unlinked one is ENOTFOUND; linking and unlinking are audited; an
// account without a password keeps its last identity.
func TestIdentities(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, _ := e.register(t, reg("1"))
	b, _ := e.register(t, reg("2"))
	id := accounts.Identity{Provider: "yandex", Subject: "1130000012345678", Email: "anna@yandex.ru", EmailVerified: true, Surname: "Ivanova", FirstName: "Anna"}
	_, err := e.svc.SignInIdentity(bg, id)
	wantCode(t, "an identity linked to nothing", err, callscribe.ENOTFOUND)
	if err := e.svc.LinkIdentity(bg, a.ID, id); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.LinkIdentity(bg, a.ID, id); err != nil {
		t.Errorf("linking the same identity again: %v", err)
	}
	got, err := e.svc.SignInIdentity(bg, id)
	if err != nil || got.ID != a.ID {
		t.Errorf("sign in with the identity: %+v, %v", got, err)
	}
	wantCode(t, "the identity linked to a second account", e.svc.LinkIdentity(bg, b.ID, id), callscribe.ECONFLICT)
	wantCode(t, "a second yandex identity", e.svc.LinkIdentity(bg, a.ID, accounts.Identity{Provider: "yandex", Subject: "other"}), callscribe.ECONFLICT)
	wantCode(t, "a bad provider", e.svc.LinkIdentity(bg, a.ID, accounts.Identity{Provider: "Yandex ID", Subject: "1"}), callscribe.EINVALID)
	if err := e.svc.LinkIdentity(bg, a.ID, accounts.Identity{Provider: "vk", Subject: "77"}); err != nil {
		t.Fatal(err)
	}
	ids, err := e.svc.Identities(bg, a.ID)
	if err != nil || len(ids) != 2 || ids[1].Provider != "yandex" || ids[1].Email != "anna@yandex.ru" || ids[1].Subject != id.Subject {
		t.Errorf("identities: %+v, %v", ids, err)
	}
	if err := e.svc.UnlinkIdentity(bg, a.ID, "vk"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "unlink what is not linked", e.svc.UnlinkIdentity(bg, a.ID, "vk"), callscribe.ENOTFOUND)
	for action, want := range map[string]int{"identity.link": 2, "identity.unlink": 1} {
		if n := e.count(t, `SELECT count(*) FROM audit_log WHERE action = $1 AND subject_id = $2 AND NOT detail::text LIKE '%@%'`, action, a.ID); n != want {
			t.Errorf("%d %s audit entries (without the email), want %d", n, action, want)
		}
	}
	// Without a password, the last identity stays.
	if _, err := e.db.Pool().Exec(callscribe.AsSystem(bg), `UPDATE accounts SET password_hash = NULL WHERE user_id = $1`, a.ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "unlink the last identity of an account without a password", e.svc.UnlinkIdentity(bg, a.ID, "yandex"), callscribe.ECONFLICT)
}

// TestAccountScope: a member's scope reads their own calls only; an admin's every call of
// the organization (the policies are storage/postgres's TestMemberScopeSeesOwnCallsOnly).
func TestAccountScope(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin, _ := e.register(t, reg("1"))
	token, _ := e.svc.Invite(bg, admin, "member@example.ru", accounts.RoleMember)
	r := reg("2")
	r.Email, r.InviteToken = "member@example.ru", token
	member, _ := e.register(t, r)
	sys := callscribe.AsSystem(bg)
	for _, owner := range []accounts.Account{admin, member} {
		if _, err := e.db.CreateCall(sys, owner.OrgID, owner.ID, []string{"agent"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		who  accounts.Account
		want int
	}{{admin, 2}, {member, 1}} {
		var n int
		if err := e.db.Pool().QueryRow(c.who.Scope(bg), `SELECT count(*) FROM calls`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != c.want {
			t.Errorf("%s's scope sees %d calls, want %d", c.who.Role, n, c.want)
		}
	}
}

// TestSetPasswordByOperator: a user the operator added (no account) gets one with the
// password: the organization's first account is its admin, the next a member; --verified
// marks the email verified; a weak password is refused; the user's sessions end.
func TestSetPasswordByOperator(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sys := callscribe.AsSystem(bg)
	org, err := e.db.EnsureOrganization(sys, "local")
	if err != nil {
		t.Fatal(err)
	}
	first, err := e.db.CreateUser(sys, callscribe.User{OrgID: org, Email: "first@example.ru"})
	if err != nil {
		t.Fatal(err)
	}
	second, err := e.db.CreateUser(sys, callscribe.User{OrgID: org, Email: "second@example.ru"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetPasswordByOperator(bg, first.ID, "short", true, "cli"); fieldErrors(err)["password"] != "password_short" {
		t.Errorf("a short password: %v", err)
	}
	a, err := e.svc.SetPasswordByOperator(bg, first.ID, "correct horse battery", true, "cli")
	if err != nil || a.Role != accounts.RoleAdmin || !a.EmailVerified {
		t.Fatalf("first: %+v, %v; want an admin, verified", a, err)
	}
	b, err := e.svc.SetPasswordByOperator(bg, second.ID, "another good password", false, "cli")
	if err != nil || b.Role != accounts.RoleMember || b.EmailVerified {
		t.Fatalf("second: %+v, %v; want a member, unverified", b, err)
	}
	if _, err := e.svc.SignIn(bg, "first@example.ru", "correct horse battery", "192.0.2.1"); err != nil {
		t.Fatalf("sign in with the operator's password: %v", err)
	}
	ses, err := e.svc.StartSession(bg, first.ID, "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0", "192.0.2.1", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetPasswordByOperator(bg, first.ID, "a third good password", false, "cli"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.Session(bg, ses.ID); callscribe.ErrorCode(err) != callscribe.EUNAUTHORIZED {
		t.Errorf("the session from before the new password: %v, want ended", err)
	}
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE action = 'account.password' AND subject_id = $1`, first.ID); n != 2 {
		t.Errorf("%d password changes audited, want 2", n)
	}
}
