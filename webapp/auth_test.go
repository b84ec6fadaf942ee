package webapp_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestRegisterVerifySignIn: the whole account flow over HTTP: register (signed in at
// once, unverified), the one-time link from the log verifies the email and works once,
// sign out ends the session, sign in again.
func TestRegisterVerifySignIn(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	p := alice()
	c := a.register(p)
	if _, body := c.get("/profile"); !strings.Contains(body, "Адрес почты ещё не подтверждён") {
		t.Errorf("a new account's profile does not say the email is unconfirmed:\n%s", body)
	}
	link := a.lastLink("mail.verify.subject")
	if !strings.HasPrefix(link, a.URL+"/verify?token=") {
		t.Fatalf("verification link %q", link)
	}
	u, _ := url.Parse(link)
	if status, body := c.get(u.RequestURI()); status != http.StatusOK || !strings.Contains(body, "Адрес электронной почты подтверждён") {
		t.Fatalf("verify: %d\n%s", status, body)
	}
	if status, _ := c.get(u.RequestURI()); status < 400 || status >= 500 {
		t.Errorf("the verification link worked twice (status %d), want a 4xx", status)
	}
	if status, body := c.post("/signout", nil); status != http.StatusOK || !strings.Contains(body, "Вы вышли из аккаунта") {
		t.Fatalf("sign out: %d\n%s", status, body)
	}
	if _, body := c.get("/profile"); !strings.Contains(body, `action="/signin"`) {
		t.Errorf("after signing out, /profile does not ask to sign in:\n%s", body)
	}
	status, body := c.post("/signin", url.Values{"email": {strings.ToUpper(p.email)}, "password": {p.password}})
	if status != http.StatusOK || !strings.Contains(body, p.surname) || !strings.Contains(body, "подтверждён") {
		t.Fatalf("sign in again: %d\n%s", status, body)
	}
}

// TestSignInSameAnswer: an unknown email and a wrong password get the same page, word
// for word, and neither signs in.
func TestSignInSameAnswer(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	p := alice()
	a.register(p)
	c := a.client()
	s1, unknown := c.post("/signin", url.Values{"email": {"nobody@example.ru"}, "password": {"whatever it is"}})
	s2, wrong := c.post("/signin", url.Values{"email": {p.email}, "password": {"not the password"}})
	if s1 != http.StatusUnauthorized || s2 != http.StatusUnauthorized {
		t.Fatalf("statuses %d and %d, want 401 both", s1, s2)
	}
	norm := func(s, email string) string { return strings.ReplaceAll(s, email, "EMAIL") }
	if norm(unknown, "nobody@example.ru") != norm(wrong, p.email) {
		t.Errorf("an unknown email and a wrong password are answered differently:\n%s\n----\n%s", unknown, wrong)
	}
	if !strings.Contains(wrong, "Неверный адрес почты или пароль") {
		t.Errorf("the page does not say what was wrong:\n%s", wrong)
	}
}

// TestSignInThrottled: past the limit of failed sign-ins for an account, even the right
// password is refused for a while, with a 429 page saying so.
func TestSignInThrottled(t *testing.T) {
	t.Parallel()
	a := newApp(t, func(o *appOptions) { o.throttle = 3 })
	p := alice()
	a.register(p)
	c := a.client()
	for range 3 {
		c.post("/signin", url.Values{"email": {p.email}, "password": {"not the password"}})
	}
	status, body := c.post("/signin", url.Values{"email": {p.email}, "password": {p.password}})
	if status != http.StatusTooManyRequests || !strings.Contains(body, "Слишком много попыток входа") {
		t.Errorf("after 3 failures: %d, want 429 with a message\n%s", status, body)
	}
}

// TestRegistrationErrorsNextToFields: each bad field gets its message next to it, in the
// visitor's language, the values entered come back (never the password), and nothing
// is created.
func TestRegistrationErrorsNextToFields(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	for _, tt := range []struct {
		lang, email, inn, want string
	}{
		{"ru", "not-an-email", "7707083894", "Это не похоже на адрес электронной почты"},
		{"en", "not-an-email", "7707083894", "does not look like an email address"},
		{"ru", "ok@example.ru", "7707083894", "Контрольные цифры ИНН не сходятся"},
		{"en", "ok@example.ru", "7707083894", "check digits do not match"},
	} {
		p := alice()
		p.email, p.inn = tt.email, tt.inn
		f := p.form()
		f.Set("lang", tt.lang)
		status, body := a.client().post("/register", f)
		if status != http.StatusUnprocessableEntity {
			t.Errorf("%s %s: status %d, want 422", tt.lang, tt.email, status)
		}
		if !strings.Contains(body, tt.want) {
			t.Errorf("%s: the page does not say %q:\n%s", tt.lang, tt.want, body)
		}
		if !strings.Contains(body, `aria-invalid="true"`) || !strings.Contains(body, `value="`+p.surname+`"`) {
			t.Errorf("%s: the field is not marked invalid, or the values entered are lost", tt.lang)
		}
		if strings.Contains(body, p.password) {
			t.Errorf("%s: the password came back in the page", tt.lang)
		}
	}
	p := alice()
	p.inn, p.email = "7707083894", "ok@example.ru"
	if status, _ := a.client().post("/signin", url.Values{"email": {p.email}, "password": {p.password}}); status != http.StatusUnauthorized {
		t.Errorf("a refused registration can sign in (status %d)", status)
	}
}

// TestRequiredFieldsMarked: the form marks each required field and says why each is asked.
func TestRequiredFieldsMarked(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	_, body := a.client().get("/register?lang=en")
	for _, f := range []string{"surname", "first_name", "email", "password", "company"} {
		if !matches(body, `id="`+f+`"[^>]*required`) {
			t.Errorf("field %s is not marked required", f)
		}
	}
	for _, f := range []string{"patronymic", "phone", "inn", "kpp", "ogrn"} {
		if matches(body, `id="`+f+`"[^>]*required`) {
			t.Errorf("field %s is marked required, but the service does not need it", f)
		}
	}
	if !strings.Contains(body, "Fields marked * are required") || !strings.Contains(body, "Optional: to reach you about your requests") {
		t.Errorf("the form does not say which fields are required and why:\n%s", body)
	}
}

// TestPasswordReset: the reset link sets a new password once, ends every session, and an
// unknown email is answered the same as a known one.
func TestPasswordReset(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	p := alice()
	signedIn := a.register(p)
	c := a.client()
	_, known := c.post("/reset", url.Values{"email": {p.email}})
	_, unknown := c.post("/reset", url.Values{"email": {"nobody@example.ru"}})
	if known != unknown {
		t.Errorf("a reset for a known and an unknown email are answered differently")
	}
	link, _ := url.Parse(a.lastLink("mail.reset.subject"))
	token := link.Query().Get("token")
	if status, body := c.post("/reset/password", url.Values{"token": {token}, "password": {"short"}}); status != http.StatusUnprocessableEntity || !strings.Contains(body, "не короче 10 символов") {
		t.Errorf("a short password: %d\n%s", status, body)
	}
	if status, body := c.post("/reset/password", url.Values{"token": {token}, "password": {"a much better password"}}); status != http.StatusOK || !strings.Contains(body, "Пароль изменён") {
		t.Fatalf("reset: %d\n%s", status, body)
	}
	if status, _ := c.post("/reset/password", url.Values{"token": {token}, "password": {"another new password"}}); status < 400 || status >= 500 {
		t.Errorf("the reset link worked twice (status %d)", status)
	}
	if _, body := signedIn.get("/profile"); !strings.Contains(body, `action="/signin"`) {
		t.Errorf("the session from before the reset still works")
	}
	if status, _ := c.post("/signin", url.Values{"email": {p.email}, "password": {"a much better password"}}); status != http.StatusOK {
		t.Errorf("sign in with the new password: %d", status)
	}
}

// TestVerificationEmailOverSMTP: with SMTP configured, the verification link goes by
// email (a real SMTP server the test starts) to the address registered, in the person's
// language, and opening it confirms the address; the log holds neither address nor link.
func TestVerificationEmailOverSMTP(t *testing.T) {
	t.Parallel()
	srv, sender := smtpServer(t)
	a := newApp(t, func(o *appOptions) { o.mailer = sender })
	p := alice()
	c := a.register(p)
	subject, text := mailTo(t, srv, p.email)
	if subject != "Подтвердите адрес электронной почты" {
		t.Errorf("subject %q", subject)
	}
	link := matchLink(text)
	if !strings.HasPrefix(link, a.URL+"/verify?token=") {
		t.Fatalf("no verification link in the email:\n%s", text)
	}
	u, _ := url.Parse(link)
	if status, body := c.get(u.RequestURI()); status != http.StatusOK || !strings.Contains(body, "Адрес электронной почты подтверждён") {
		t.Fatalf("the emailed link: %d\n%s", status, body)
	}
	if log := a.Log.String(); strings.Contains(log, p.email) || strings.Contains(log, u.Query().Get("token")) {
		t.Errorf("the server log holds the address or the link:\n%s", log)
	}
}
