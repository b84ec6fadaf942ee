package webapp_test

import (
	"net/url"
	"strings"
	"testing"

	"callscribe/internal/browser"
)

// TestBrowserAccountFlow: in headless Chromium, a person registers (a wrong INN first,
// its message next to the field), follows the verification link, signs out, signs in
// and sees their profile; each page's screenshot is saved.
func TestBrowserAccountFlow(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	b := browser.New(t, a.URL)
	p := alice()

	b.Go("/register")
	if got := b.Text("h1"); got != "Регистрация" {
		t.Errorf("register page heading %q", got)
	}
	fill := func(p person) {
		b.Fill("#surname", p.surname)
		b.Fill("#first_name", p.first)
		b.Fill("#patronymic", p.patronymic)
		b.Fill("#email", p.email)
		b.Fill("#phone", p.phone)
		b.Fill("#password", p.password)
		b.Fill("#company", p.company)
		b.Fill("#inn", p.inn)
	}
	bad := p
	bad.inn = "7707083894"
	fill(bad)
	b.Submit(`form[action="/register"] button[type=submit]`)
	if got := b.Text("#inn-error"); !strings.Contains(got, "Контрольные цифры ИНН не сходятся") {
		t.Errorf("next to the INN: %q", got)
	}
	b.Screenshot("register-error")
	fill(p)
	b.Submit(`form[action="/register"] button[type=submit]`)
	if got := b.Text(".flash"); !strings.Contains(got, "Аккаунт создан") {
		t.Errorf("after registering: %q", got)
	}
	if got := b.Text(".notice"); !strings.Contains(got, "не подтверждён") {
		t.Errorf("the profile does not say the email is unconfirmed: %q", got)
	}
	b.Screenshot("registered")

	link, _ := url.Parse(a.lastLink("mail.verify.subject"))
	b.Go(link.RequestURI())
	if got := b.Text(".flash"); !strings.Contains(got, "подтверждён") {
		t.Errorf("after the verification link: %q", got)
	}
	if b.Has(".notice") {
		t.Errorf("the profile still says the email is unconfirmed")
	}
	b.Submit(`form[action="/signout"] button`)
	if got := b.Text(".flash"); !strings.Contains(got, "Вы вышли") {
		t.Errorf("after signing out: %q", got)
	}
	b.Go("/profile")
	if !strings.HasPrefix(b.Path(), "/signin") {
		t.Errorf("after signing out, /profile is %s, want the sign-in page", b.Path())
	}
	b.Fill("#email", p.email)
	b.Fill("#password", p.password)
	b.Submit(`form[action="/signin"] button[type=submit]`)
	if b.Path() != "/profile" {
		t.Errorf("after signing in: %s, want /profile (where it was going)", b.Path())
	}
	if got := b.Text("dl.facts"); !strings.Contains(got, p.surname) || !strings.Contains(got, p.company) {
		t.Errorf("profile shows %q", got)
	}
	b.Screenshot("profile")
}

// TestBrowserKeyboardOnly: the sign-in form works from the keyboard alone: Tab reaches
// each field in order and Enter submits.
func TestBrowserKeyboardOnly(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	p := alice()
	a.register(p)
	b := browser.New(t, a.URL)
	b.Go("/signin?lang=en")
	focused := func() string {
		id, err := browser.Eval[string](b, `document.activeElement ? (document.activeElement.id || document.activeElement.textContent.trim()) : ""`)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	for range 20 {
		if focused() == "email" {
			break
		}
		b.Press("\t")
	}
	if focused() != "email" {
		t.Fatalf("Tab never reached the email field")
	}
	b.Press(p.email)
	b.Press("\t")
	if focused() != "password" {
		t.Fatalf("Tab from email went to %q, want password", focused())
	}
	b.Press(p.password)
	if _, err := browser.Eval[bool](b, `window.__old = true`); err != nil {
		t.Fatal(err)
	}
	b.Press("\r")
	b.WaitNewPage()
	if b.Path() != "/profile" {
		t.Errorf("Enter in the form led to %s, want /profile", b.Path())
	}
	b.Screenshot("keyboard")
}
