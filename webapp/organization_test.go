package webapp_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"callscribe/accounts"
)

// invitee registers through an invitation of role to the admin's organization (the
// admin's client sends it, the link is read from the log) and returns their client.
func (a *app) invitee(admin *client, email string, role accounts.Role) *client {
	a.t.Helper()
	status, body := admin.post("/organization/invite", url.Values{"invite_email": {email}, "invite_role": {string(role)}})
	if status != http.StatusOK || !strings.Contains(body, "Приглашение отправлено") {
		a.t.Fatalf("invite %s: %d\n%s", role, status, body)
	}
	link, _ := url.Parse(a.lastLink("mail.invite.subject"))
	c := a.client()
	if status, body := c.get(link.RequestURI()); status != http.StatusOK || !strings.Contains(body, "Вас пригласили в организацию") {
		a.t.Fatalf("open the invitation: %d\n%s", status, body)
	}
	status, body = c.post("/register", url.Values{"invite": {link.Query().Get("invite")}, "surname": {"Сидоров"},
		"first_name": {"Пётр"}, "email": {email}, "password": {"correct horse battery"}})
	if status != http.StatusOK || !strings.Contains(body, email) {
		a.t.Fatalf("register with the invitation: %d\n%s", status, body)
	}
	return c
}

// TestOrganizationSettings: an admin corrects the company's details (a wrong INN is
// refused next to its field), invites a member by email who registers with the link
// into the organization with the role given, changes that member's role, and cannot
// leave the organization without an admin.
func TestOrganizationSettings(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	p := alice()
	admin := a.register(p)
	status, body := admin.get("/organization")
	if status != http.StatusOK || !strings.Contains(body, `value="`+p.inn+`"`) || !strings.Contains(body, p.email) {
		t.Fatalf("organization page: %d\n%s", status, body)
	}
	if _, body := admin.get("/profile"); !strings.Contains(body, `href="/organization"`) {
		t.Errorf("an admin's menu has no link to the organization")
	}

	status, body = admin.post("/organization", url.Values{"company": {"ООО Ромашка и партнёры"}, "inn": {"7707083894"}, "kpp": {"77070100"}})
	if status != http.StatusUnprocessableEntity || !matches(body, `id="inn-error">Контрольные цифры ИНН не сходятся`) ||
		!matches(body, `id="kpp-error">КПП — 9 знаков`) || !strings.Contains(body, `value="ООО Ромашка и партнёры"`) {
		t.Errorf("bad details: %d, want 422 with messages next to INN and KPP and the values entered\n%s", status, body)
	}
	status, body = admin.post("/organization", url.Values{"company": {"ООО Ромашка и партнёры"}, "inn": {"7707083893"}, "kpp": {"773601001"}, "ogrn": {"1027700132195"}})
	if status != http.StatusOK || !strings.Contains(body, "Реквизиты организации сохранены") || !strings.Contains(body, `value="773601001"`) {
		t.Errorf("good details: %d\n%s", status, body)
	}
	if _, c, err := a.Accounts.Organization(t.Context(), a.account(p.email).OrgID); err != nil || c.Name != "ООО Ромашка и партнёры" || c.OGRN != "1027700132195" {
		t.Errorf("company after saving: %+v %v", c, err)
	}

	if status, body := admin.post("/organization/invite", url.Values{"invite_email": {"not an address"}, "invite_role": {"member"}}); status != http.StatusUnprocessableEntity ||
		!matches(body, `id="invite_email-error">Это не похоже на адрес электронной почты`) {
		t.Errorf("a bad invitation address: %d\n%s", status, body)
	}
	if status, _ := admin.post("/organization/invite", url.Values{"invite_email": {"vera@example.ru"}, "invite_role": {"officer"}}); status != http.StatusOK {
		t.Fatalf("invite vera: %d", status)
	}
	veraLink, _ := url.Parse(a.lastLink("mail.invite.subject"))
	if _, body := admin.get("/organization"); !matches(body, `<td>vera@example.ru</td><td>ответственный за обработку данных</td>`) {
		t.Errorf("the invitation is not listed:\n%s", body)
	}
	if status, body := admin.post("/organization/invite/revoke", url.Values{"email": {"vera@example.ru"}}); status != http.StatusOK ||
		!strings.Contains(body, "Приглашение отозвано") || strings.Contains(body, "<td>vera@example.ru</td>") {
		t.Errorf("revoke vera's invitation: %d\n%s", status, body)
	}
	if status, _ := a.client().get(veraLink.RequestURI()); status != http.StatusNotFound {
		t.Errorf("a withdrawn invitation's link: %d, want 404", status)
	}
	member := a.invitee(admin, "petr@example.ru", accounts.RoleMember)
	if _, body := member.get("/profile"); !strings.Contains(body, "ООО Ромашка и партнёры") || !strings.Contains(body, "<dd>участник</dd>") {
		t.Errorf("the invitee's profile does not show the organization and role:\n%s", body)
	}
	if status, _ := member.get("/organization"); status != http.StatusForbidden {
		t.Errorf("a member opens /organization: %d, want 403", status)
	}
	if strings.Contains(a.Log.String(), "petr@example.ru") {
		t.Errorf("the server log holds the invitee's address:\n%s", a.Log.String())
	}
	petr := a.account("petr@example.ru")
	_, body = admin.get("/organization")
	if !strings.Contains(body, "petr@example.ru") || strings.Contains(body, "<td>petr@example.ru</td><td>участник</td><td>") {
		t.Fatalf("the new member is not listed, or their used invitation still is:\n%s", body)
	}
	if status, body := admin.post("/organization/role", url.Values{"user_id": {petr.ID.String()}, "role": {"officer"}}); status != http.StatusOK || !strings.Contains(body, "Роль изменена") {
		t.Errorf("change the role: %d\n%s", status, body)
	}
	if got := a.account("petr@example.ru").Role; got != accounts.RoleOfficer {
		t.Errorf("role after the change: %s, want officer", got)
	}
	me := a.account(p.email)
	if status, body := admin.post("/organization/role", url.Values{"user_id": {me.ID.String()}, "role": {"member"}}); status != http.StatusOK || !strings.Contains(body, "должен остаться хотя бы один администратор") {
		t.Errorf("the last admin makes themself a member: %d\n%s", status, body)
	}
	if got := a.account(p.email).Role; got != accounts.RoleAdmin {
		t.Errorf("the last admin became %s", got)
	}
	if status, body := admin.post("/organization/invite", url.Values{"invite_email": {"petr@example.ru"}, "invite_role": {"member"}}); status != http.StatusUnprocessableEntity ||
		!matches(body, `id="invite_email-error">У этого адреса уже есть аккаунт callscribe`) {
		t.Errorf("inviting an address with an account: %d\n%s", status, body)
	}
	// With another admin, an admin may step down, and lands on their profile.
	admin.post("/organization/role", url.Values{"user_id": {petr.ID.String()}, "role": {"admin"}})
	status, body = admin.post("/organization/role", url.Values{"user_id": {me.ID.String()}, "role": {"member"}})
	if status != http.StatusOK || !strings.Contains(body, "<h1>Профиль</h1>") || !strings.Contains(body, "<dd>участник</dd>") {
		t.Errorf("an admin stepping down: %d, want their profile as a member\n%s", status, body)
	}
}

// TestInvitationMail: an invitation goes by email (a real SMTP server) to the invitee's address,
// in the admin's language, naming the organization and carrying the one-time link that
// registers into it; the server log holds neither the address nor the link.
func TestInvitationMail(t *testing.T) {
	t.Parallel()
	srv, sender := smtpServer(t)
	a := newApp(t, func(o *appOptions) { o.mailer = sender })
	p := alice()
	admin := a.register(p)
	admin.post("/profile/language", url.Values{"lang": {"en"}})
	status, body := admin.post("/organization/invite", url.Values{"invite_email": {"petr@example.ru"}, "invite_role": {"officer"}})
	if status != http.StatusOK || !strings.Contains(body, "The invitation is sent") {
		t.Fatalf("invite: %d\n%s", status, body)
	}
	subject, text := mailTo(t, srv, "petr@example.ru")
	if subject != "An invitation to callscribe" || !strings.Contains(text, "“"+p.company+"”") {
		t.Errorf("the invitation email: subject %q\n%s", subject, text)
	}
	link := regexp.MustCompile(`https?://\S+`).FindString(text)
	if !strings.HasPrefix(link, a.URL+"/register?invite=") {
		t.Fatalf("the email's link %q", link)
	}
	u, _ := url.Parse(link)
	c := a.client()
	c.post("/register", url.Values{"invite": {u.Query().Get("invite")}, "surname": {"Сидоров"}, "first_name": {"Пётр"},
		"email": {"petr@example.ru"}, "password": {"correct horse battery"}})
	if got := a.account("petr@example.ru"); got.OrgID != a.account(p.email).OrgID || got.Role != accounts.RoleOfficer {
		t.Errorf("the invitee is in %s as %s, want the admin's organization as officer", got.OrgID, got.Role)
	}
	if log := a.Log.String(); strings.Contains(log, "petr@example.ru") || strings.Contains(log, u.Query().Get("invite")) {
		t.Errorf("the server log holds the invitee's address or the link:\n%s", log)
	}
}
