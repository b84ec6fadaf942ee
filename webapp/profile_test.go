package webapp_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"callscribe/oauth"
)

// profileForm is the profile form as p would submit it unchanged.
func (p person) profileForm() url.Values {
	return url.Values{"surname": {p.surname}, "first_name": {p.first}, "patronymic": {p.patronymic},
		"email": {p.email}, "phone": {p.phone}}
}

// TestProfileCorrection: every field the agreement lists is corrected on the profile
// through the rectification path: a bad value gets its message next to the field and
// changes nothing; good values are saved, each change is in the history on the page
// with its value before and after, and a new email address is unconfirmed until the
// link sent to it is opened.
func TestProfileCorrection(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	p := alice()
	c := a.register(p)
	status, body := c.get("/profile")
	if status != http.StatusOK {
		t.Fatalf("profile: %d", status)
	}
	for _, f := range []string{"surname", "first_name", "patronymic", "email", "phone"} {
		if !matches(body, `<input id="`+f+`" name="`+f+`"`) {
			t.Errorf("the profile has no field %s to correct", f)
		}
	}
	if !strings.Contains(body, `value="`+p.surname+`"`) || !strings.Contains(body, "Данные ещё не исправлялись") {
		t.Errorf("the form is not filled with the account's values, or a history shows before any change:\n%s", body)
	}

	bad := p.profileForm()
	bad.Set("phone", "call me maybe")
	bad.Set("surname", "Петрова")
	status, body = c.post("/profile", bad)
	if status != http.StatusUnprocessableEntity || !matches(body, `id="phone-error">Не удалось распознать номер телефона`) {
		t.Errorf("a bad phone: %d, want 422 with the message next to the phone\n%s", status, body)
	}
	if !strings.Contains(body, `value="Петрова"`) {
		t.Errorf("the values entered are lost after an error")
	}
	if acct := a.account(p.email); acct.Surname != p.surname {
		t.Errorf("a refused correction changed the surname to %q", acct.Surname)
	}

	good := p.profileForm()
	good.Set("surname", "Петрова")
	good.Set("phone", "8 (926) 555-00-11")
	good.Set("email", "anna.petrova@example.ru")
	status, body = c.post("/profile", good)
	if status != http.StatusOK || !strings.Contains(body, "На новый адрес отправлена ссылка") {
		t.Fatalf("correct the profile: %d\n%s", status, body)
	}
	for _, want := range []string{
		`<td>Фамилия</td><td>Иванова</td><td>Петрова</td>`,
		`<td>Телефон</td><td>&#43;79161234567</td><td>&#43;79265550011</td>`,
		`<td>Электронная почта</td><td>anna.ivanova@example.ru</td><td>anna.petrova@example.ru</td>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the history does not show %s\n%s", want, body)
		}
	}
	if !strings.Contains(body, "Адрес почты ещё не подтверждён") {
		t.Errorf("the new address is not shown as unconfirmed")
	}
	acct := a.account("anna.petrova@example.ru")
	if acct.Surname != "Петрова" || acct.Phone != "+79265550011" || acct.EmailVerified {
		t.Errorf("account after the correction: %q %q verified=%v", acct.Surname, acct.Phone, acct.EmailVerified)
	}
	link, _ := url.Parse(a.lastLink("mail.verify.subject"))
	if _, body := c.get(link.RequestURI()); !strings.Contains(body, "Адрес электронной почты подтверждён") {
		t.Errorf("the link sent to the new address does not confirm it")
	}
	if status, body := c.post("/profile", good); status != http.StatusOK || !strings.Contains(body, "Нечего сохранять") {
		t.Errorf("the same values again: %d, want 'nothing changed'", status)
	}
}

// TestChangePassword: a wrong current password is refused next to its field; the right
// one sets the new password, and signing in takes it.
func TestChangePassword(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	p := alice()
	c := a.register(p)
	status, body := c.post("/profile/password", url.Values{"old_password": {"not the password"}, "password": {"a brand new secret"}})
	if status != http.StatusUnprocessableEntity || !matches(body, `id="old_password-error">Текущий пароль указан неверно`) {
		t.Errorf("a wrong current password: %d\n%s", status, body)
	}
	status, body = c.post("/profile/password", url.Values{"old_password": {p.password}, "password": {"short"}})
	if status != http.StatusUnprocessableEntity || !matches(body, `id="password-error">Пароль должен быть не короче 10 символов`) {
		t.Errorf("a short new password: %d\n%s", status, body)
	}
	status, body = c.post("/profile/password", url.Values{"old_password": {p.password}, "password": {"a brand new secret"}})
	if status != http.StatusOK || !strings.Contains(body, "Пароль изменён") {
		t.Fatalf("change the password: %d\n%s", status, body)
	}
	if status, _ := a.client().post("/signin", url.Values{"email": {p.email}, "password": {p.password}}); status != http.StatusUnauthorized {
		t.Errorf("the old password still signs in: %d", status)
	}
	if status, _ := a.client().post("/signin", url.Values{"email": {p.email}, "password": {"a brand new secret"}}); status != http.StatusOK {
		t.Errorf("the new password does not sign in: %d", status)
	}
}

// TestLinkProviders: on the profile, a signed-in person links an OpenID Connect provider
// (through mockoidc), sees it listed, signs in with it; the same provider identity is
// refused for another account with a message saying why; the last way to sign in of an
// account without a password cannot be unlinked; unlinking works otherwise.
func TestLinkProviders(t *testing.T) {
	t.Parallel()
	m, corp := newMockOIDC(t)
	a := newApp(t, func(o *appOptions) { o.providers = []oauth.Provider{corp} })
	p := alice()
	c := a.register(p)
	if _, body := c.get("/profile"); !strings.Contains(body, `href="/signin/corp">Привязать corp`) || !strings.Contains(body, "Ни один провайдер не привязан") {
		t.Fatalf("the profile offers no provider to link:\n%s", body)
	}
	m.QueueUser(oidcUser("corp-anna", "anna@corp.example"))
	status, body := c.get("/signin/corp")
	if status != http.StatusOK || !strings.Contains(body, "Вход через провайдера привязан") {
		t.Fatalf("link corp: %d\n%s\n%s", status, body, a.Log.String())
	}
	if !matches(body, `<td>corp</td><td>anna@corp.example</td>`) || strings.Contains(body, `href="/signin/corp"`) {
		t.Errorf("the linked provider is not listed, or still offered:\n%s", body)
	}

	// Signing in with the provider, in a fresh browser, reaches the account.
	m.QueueUser(oidcUser("corp-anna", "anna@corp.example"))
	fresh := a.client()
	if status, body := fresh.get("/signin/corp"); status != http.StatusOK || !strings.Contains(body, p.surname) {
		t.Errorf("sign in with corp: %d\n%s", status, body)
	}

	// Another account cannot take the same identity.
	b := alice()
	b.email, b.company, b.inn, b.surname = "boris@example.ru", "ООО Лютик", "7728168971", "Борисов"
	bc := a.register(b)
	m.QueueUser(oidcUser("corp-anna", "anna@corp.example"))
	status, body = bc.get("/signin/corp")
	if status != http.StatusOK || !strings.Contains(body, "уже привязан к другому аккаунту callscribe") {
		t.Errorf("linking anna's identity to boris: %d, want the profile saying it is another account's\n%s", status, body)
	}
	if strings.Contains(body, "anna@corp.example") {
		t.Errorf("boris's profile shows anna's identity")
	}

	if status, body := c.post("/profile/unlink", url.Values{"provider": {"oidc:corp"}}); status != http.StatusOK || !strings.Contains(body, "отвязан") {
		t.Errorf("unlink: %d\n%s", status, body)
	}
	m.QueueUser(oidcUser("corp-anna", "anna@corp.example"))
	if _, body := a.client().get("/signin/corp"); !strings.Contains(body, "не привязан ни к одному аккаунту") {
		t.Errorf("after unlinking, the identity still signs in:\n%s", body)
	}
}

// TestProviderSignInAcrossProcesses: a sign-in through a provider started at one serve
// process finishes at another behind the same address (or at this one restarted): the
// sign-in waits for its callback in the database, not in the memory of the process that
// started it. Its callback works once.
func TestProviderSignInAcrossProcesses(t *testing.T) {
	t.Parallel()
	m, corp := newMockOIDC(t)
	a := newApp(t, func(o *appOptions) { o.providers = []oauth.Provider{corp} })
	p := alice()
	c := a.register(p)
	m.QueueUser(oidcUser("corp-anna", "anna@corp.example"))
	if status, body := c.get("/signin/corp"); status != http.StatusOK || !strings.Contains(body, "Вход через провайдера привязан") {
		t.Fatalf("link corp: %d\n%s", status, body)
	}

	fresh := a.client()
	var callback string
	fresh.http.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Path == "/oauth/corp/callback" {
			callback = req.URL.RequestURI()
			a.restart() // the provider sends the browser back to another process
		}
		return nil
	}
	m.QueueUser(oidcUser("corp-anna", "anna@corp.example"))
	if status, body := fresh.get("/signin/corp"); status != http.StatusOK || !strings.Contains(body, p.surname) {
		t.Fatalf("sign in with corp, the callback at another process: %d, want the profile\n%s", status, body)
	}
	if callback == "" {
		t.Fatal("the provider never sent the browser back to the callback")
	}
	if status, body := fresh.get(callback); status != http.StatusUnauthorized || !strings.Contains(body, "start it again") && !strings.Contains(body, "Войдите") {
		t.Errorf("the same callback again: %d, want 401\n%s", status, body)
	}
}
