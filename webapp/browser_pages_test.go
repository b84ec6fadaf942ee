package webapp_test

import (
	"callscribe"
	"strings"
	"testing"

	"callscribe/internal/browser"
	"callscribe/oauth"
)

// signIn signs p in on the browser's sign-in page.
func signIn(b *browser.Tab, p person) {
	b.Go("/signin")
	b.Fill("#email", p.email)
	b.Fill("#password", p.password)
	b.Submit(`form[action="/signin"] button[type=submit]`)
}

func boris() person {
	return person{"Борисов", "Борис", "", "boris@example.ru", "", "correct horse battery", "ООО Лютик", "7728168971"}
}

// TestBrowserProfileEdit: in the browser, a person corrects their surname and phone on
// the profile, sees the change saved with its before and after in the history, and a bad
// phone refused next to the field.
func TestBrowserProfileEdit(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	p := alice()
	a.register(p)
	b := browser.New(t, a.URL)
	signIn(b, p)
	b.Fill("#phone", "not a phone")
	b.Submit(`#profile-form button[type=submit]`)
	if got := b.Text("#phone-error"); !strings.Contains(got, "Не удалось распознать номер телефона") {
		t.Errorf("next to the phone: %q", got)
	}
	b.Screenshot("profile-error")
	b.Fill("#surname", "Петрова")
	b.Fill("#phone", "+7 926 555-00-11")
	b.Submit(`#profile-form button[type=submit]`)
	if got := b.Text(".flash"); !strings.Contains(got, "Изменения сохранены") {
		t.Errorf("after saving: %q", got)
	}
	hist := b.Text("table.history")
	for _, want := range []string{"Фамилия", "Иванова", "Петрова", "Телефон", "+79161234567", "+79265550011"} {
		if !strings.Contains(hist, want) {
			t.Errorf("the history does not show %q: %q", want, hist)
		}
	}
	if got := b.Text("dl.facts"); !strings.Contains(got, "Петрова") {
		t.Errorf("the profile still shows %q", got)
	}
	accessible(t, b)
	b.Screenshot("profile-history")
}

// TestBrowserOIDCSignIn: end to end in the browser against mockoidc: a person links the
// provider from their profile, signs out, and signs in with the provider; another
// account trying to link the same identity is told it belongs to another account.
func TestBrowserOIDCSignIn(t *testing.T) {
	t.Parallel()
	m, corp := newMockOIDC(t)
	a := newApp(t, func(o *appOptions) { o.providers = []oauth.Provider{corp} })
	p := alice()
	a.register(p)
	b := browser.New(t, a.URL)
	signIn(b, p)
	m.QueueUser(oidcUser("corp-anna", "anna@corp.example"))
	b.Submit(`a[href="/signin/corp"]`)
	if got := b.Text(".flash"); !strings.Contains(got, "Вход через провайдера привязан") {
		t.Errorf("after linking: %q (on %s)", got, b.Path())
	}
	if got := b.Text("table.linked"); !strings.Contains(got, "corp") || !strings.Contains(got, "anna@corp.example") {
		t.Errorf("linked providers: %q", got)
	}
	accessible(t, b)
	b.Screenshot("linked")
	b.Submit(`form[action="/signout"] button`)
	if !b.Has(`a[href="/signin/corp"]`) {
		t.Fatalf("the sign-in page offers no corp button")
	}
	m.QueueUser(oidcUser("corp-anna", "anna@corp.example"))
	b.Submit(`a[href="/signin/corp"]`)
	if b.Path() != "/profile" {
		t.Errorf("after signing in with corp: %s, want /profile", b.Path())
	}
	if got := b.Text("dl.facts"); !strings.Contains(got, p.surname) {
		t.Errorf("signed in with corp, the profile shows %q", got)
	}
	b.Screenshot("signed-in-with-corp")

	q := boris()
	a.register(q)
	other := browser.New(t, a.URL)
	signIn(other, q)
	m.QueueUser(oidcUser("corp-anna", "anna@corp.example"))
	other.Submit(`a[href="/signin/corp"]`)
	if got := other.Text(".problem"); !strings.Contains(got, "уже привязан к другому аккаунту") {
		t.Errorf("linking another account's identity: %q", got)
	}
	if other.Has("table.linked") {
		t.Errorf("the identity was linked to a second account")
	}
	other.Screenshot("link-refused")
}

// TestBrowserAgreementAccept: after a new version of the agreement is published, a
// person signing in is shown it first, accepts it, and goes on to their profile.
func TestBrowserAgreementAccept(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.publish("1")
	p := alice()
	a.register(p)
	a.publish("2")
	b := browser.New(t, a.URL)
	signIn(b, p)
	if !strings.HasPrefix(b.Path(), "/agreement/accept") {
		t.Fatalf("after signing in: %s, want the new agreement", b.Path())
	}
	if got := b.Text("h1"); got != "Пользовательское соглашение изменилось" {
		t.Errorf("heading %q", got)
	}
	if got := b.Text("article.agreement"); !strings.Contains(got, "Текст редакции 2.") {
		t.Errorf("the agreement shown: %q", got)
	}
	accessible(t, b)
	b.Screenshot("agreement-pending")
	b.Submit(`#accept-form button[type=submit]`)
	if b.Path() != "/profile" {
		t.Errorf("after accepting: %s, want /profile", b.Path())
	}
	if got := b.Text("dl.facts"); !strings.Contains(got, p.surname) {
		t.Errorf("after accepting, the profile shows %q", got)
	}
	acct := a.account(p.email)
	if pend, err := a.Accounts.PendingAgreement(t.Context(), acct.ID); err != nil || pend != nil {
		t.Errorf("still pending after accepting: %v %v", pend, err)
	}
	b.Go("/sessions")
	if b.Path() != "/sessions" {
		t.Errorf("after accepting, /sessions is %s", b.Path())
	}
	b.Screenshot("agreement-accepted")
}

// TestBrowserAgreementDecline: a person declines the new version with the erasure box
// ticked, reads on the page what follows, and is signed out.
func TestBrowserAgreementDecline(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.publish("1")
	p := alice()
	a.register(p)
	a.grantAll(a.account(p.email))
	a.publish("2")
	b := browser.New(t, a.URL)
	signIn(b, p)
	if got := b.Text("#decline-heading + p"); !strings.Contains(got, "сервисом пользоваться нельзя") {
		t.Errorf("the decline section says %q", got)
	}
	if ticked, err := browser.Eval[bool](b, `(() => { const c = document.querySelector("#erase"); c.click(); return c.checked })()`); err != nil || !ticked {
		t.Fatalf("tick the erasure box: %v %v", ticked, err)
	}
	b.Submit(`#decline-form button[type=submit]`)
	if b.Path() != "/agreement/declined?erasure=requested&lang=ru" {
		t.Errorf("after declining: %s", b.Path())
	}
	got := b.Text("main")
	for _, want := range []string{"Вы отказались от новой редакции", "согласия на обработку отозваны", "Запрос на удаление ваших данных зарегистрирован", "10 рабочих дней"} {
		if !strings.Contains(got, want) {
			t.Errorf("the page does not say %q: %q", want, got)
		}
	}
	accessible(t, b)
	b.Screenshot("agreement-declined")
	b.Go("/profile")
	if !strings.HasPrefix(b.Path(), "/signin") {
		t.Errorf("after declining, /profile is %s, want the sign-in page", b.Path())
	}
}

// TestBrowserPartnerLink: a visit through a partner's link sets the two partner cookies,
// and the registration that follows is attributed to the partner on the organization
// (the partners report counts it), with the cookies cleared after.
func TestBrowserPartnerLink(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	if _, err := a.Accounts.AddPartner(t.Context(), "vesna", "Весна"); err != nil {
		t.Fatal(err)
	}
	b := browser.New(t, a.URL)
	b.Go("/r/vesna")
	if b.Path() != "/" {
		t.Errorf("the partner link led to %s, want the landing page", b.Path())
	}
	names := map[string]string{}
	for _, c := range b.Cookies() {
		names[c.Name] = c.Value
	}
	if names["iq_partner_id"] != "vesna" || len(names["iq_partner_click_id"]) < 20 {
		t.Errorf("partner cookies %v", names)
	}
	b.Submit(`main a[href="/register"]`)
	p := alice()
	b.Fill("#surname", p.surname)
	b.Fill("#first_name", p.first)
	b.Fill("#email", p.email)
	b.Fill("#password", p.password)
	b.Fill("#company", p.company)
	b.Fill("#inn", p.inn)
	b.Submit(`form[action="/register"] button[type=submit]`)
	if got := b.Text(".flash"); !strings.Contains(got, "Аккаунт создан") {
		t.Errorf("after registering: %q", got)
	}
	b.Screenshot("registered-through-partner")
	ps, err := a.Accounts.Partners(t.Context())
	if err != nil || len(ps) != 1 {
		t.Fatalf("partners: %v %v", ps, err)
	}
	if ps[0].Clicks != 1 || ps[0].Registrations != 1 {
		t.Errorf("the report counts %d clicks and %d registrations for vesna, want 1 and 1", ps[0].Clicks, ps[0].Registrations)
	}
	for _, c := range b.Cookies() {
		if strings.HasPrefix(c.Name, "iq_partner") {
			t.Errorf("cookie %s kept after the registration", c.Name)
		}
	}
}

// accessible checks what a screen reader or keyboard user needs of the page: the
// document's language, one h1, a label for every field a person fills, a name for every
// button and link, and no two elements with the same id.
func accessible(t *testing.T, b *browser.Tab) {
	t.Helper()
	problems, err := browser.Eval[[]string](b, `(() => {
		const out = [];
		if (!document.documentElement.lang) out.push("the page has no lang");
		if (document.querySelectorAll("h1").length !== 1) out.push(document.querySelectorAll("h1").length + " h1 elements");
		for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
			if (el.labels.length === 0 && !el.getAttribute("aria-label")) out.push("no label for " + (el.id || el.name));
		}
		for (const el of document.querySelectorAll("button, a")) {
			if (!el.textContent.trim() && !el.getAttribute("aria-label")) out.push("a " + el.tagName + " without a name");
		}
		const ids = {};
		for (const el of document.querySelectorAll("[id]")) {
			if (ids[el.id]) out.push("id " + el.id + " twice");
			ids[el.id] = true;
		}
		return out;
	})()`)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("accessibility on %s: %s", b.Path(), p)
	}
}

// TestBrowserOrganization: an admin corrects the company's details (a wrong OGRN is
// refused next to its field), invites a member by email; the invitee opens the link in
// their own browser, registers into the organization, and the admin sees them listed
// and makes them an officer.
func TestBrowserOrganization(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	p := alice()
	a.register(p)
	b := browser.New(t, a.URL)
	signIn(b, p)
	b.Submit(`nav a[href="/organization"]`)
	if got := b.Text("h1"); got != "Организация" {
		t.Fatalf("organization page heading %q", got)
	}
	accessible(t, b)
	b.Fill("#ogrn", "1027700132196")
	b.Submit(`#company-form button[type=submit]`)
	if got := b.Text("#ogrn-error"); !strings.Contains(got, "Контрольная цифра ОГРН не сходится") {
		t.Errorf("next to the OGRN: %q", got)
	}
	b.Screenshot("company-error")
	b.Fill("#ogrn", "1027700132195")
	b.Submit(`#company-form button[type=submit]`)
	if got := b.Text(".flash"); !strings.Contains(got, "Реквизиты организации сохранены") {
		t.Errorf("after saving the details: %q", got)
	}
	b.Fill("#invite_email", "petr@example.ru")
	b.Submit(`#invite-form button[type=submit]`)
	if got := b.Text(".flash"); !strings.Contains(got, "Приглашение отправлено") {
		t.Errorf("after inviting: %q", got)
	}

	invitee := browser.New(t, a.URL)
	invitee.Go(strings.TrimPrefix(a.lastLink("mail.invite.subject"), a.URL))
	if got := invitee.Text("main"); !strings.Contains(got, "Вас пригласили в организацию «ООО Ромашка»") {
		t.Errorf("the invitation page says %q", got)
	}
	if invitee.Has("#company") {
		t.Errorf("an invitee is asked for a company")
	}
	accessible(t, invitee)
	invitee.Fill("#surname", "Сидоров")
	invitee.Fill("#first_name", "Пётр")
	invitee.Fill("#password", "correct horse battery")
	invitee.Submit(`form[action="/register"] button[type=submit]`)
	if got := invitee.Text("dl.facts"); !strings.Contains(got, "ООО Ромашка") || !strings.Contains(got, "участник") {
		t.Errorf("the invitee's profile: %q", got)
	}
	if invitee.Has(`nav a[href="/organization"]`) {
		t.Errorf("a member's menu links to the organization settings")
	}
	invitee.Screenshot("invitee-profile")

	b.Go("/organization")
	petr := a.account("petr@example.ru")
	sel := "#role-" + petr.ID.String()
	if ok, err := browser.Eval[bool](b, `(() => { const s = document.querySelector("`+sel+`"); s.value = "officer"; return s.value === "officer" })()`); err != nil || !ok {
		t.Fatalf("choose a role: %v %v", ok, err)
	}
	b.Submit(`form:has(` + sel + `) button[type=submit]`)
	if got := b.Text(".flash"); !strings.Contains(got, "Роль изменена") {
		t.Errorf("after changing the role: %q", got)
	}
	if got := a.account("petr@example.ru").Role; got != "officer" {
		t.Errorf("petr is %s, want officer", got)
	}
	b.Screenshot("organization")

	// The redaction policy: phone numbers kept, everything else masked.
	if ok, err := browser.Eval[bool](b, `(() => { document.querySelector("#redact-phone").click(); document.querySelector("#replace-mask").click();
		return !document.querySelector("#redact-phone").checked && document.querySelector("#replace-mask").checked })()`); err != nil || !ok {
		t.Fatalf("untick phone numbers and choose a mask: %v %v", ok, err)
	}
	b.Fill("#redact_mask", "***1")
	b.Submit(`#redaction-form button[type=submit]`)
	if got := b.Text("#redact_mask-error"); !strings.Contains(got, "без цифр") {
		t.Errorf("next to a mask with a digit: %q", got)
	}
	if ok, err := browser.Eval[bool](b, `!document.querySelector("#redact-phone").checked && document.querySelector("#redact-card").checked && document.querySelector("#replace-mask").checked`); err != nil || !ok {
		t.Errorf("the refused form lost the choices made: %v %v", ok, err)
	}
	accessible(t, b)
	b.Screenshot("redaction-error")
	b.Fill("#redact_mask", "***")
	b.Submit(`#redaction-form button[type=submit]`)
	if got := b.Text(".flash"); !strings.Contains(got, "Правила скрытия персональных данных сохранены") {
		t.Errorf("after saving the redaction policy: %q", got)
	}
	// The page is scrolled to the section saved; the flash at the top of the page is
	// still in view, and does not cover the section's heading.
	if ok, err := browser.Eval[bool](b, `(() => { const f = document.querySelector(".flash").getBoundingClientRect(),
		h = document.querySelector("#redaction").getBoundingClientRect();
		return window.scrollY > 0 && f.top >= 0 && f.bottom <= window.innerHeight && h.top >= f.bottom })()`); err != nil || !ok {
		t.Errorf("after saving the redaction policy the flash is out of view, or covers the section: %v %v", ok, err)
	}
	if off, mask, err := a.DB.RedactionPolicy(callscribe.AsSystem(t.Context()), a.account(p.email).OrgID); err != nil || len(off) != 1 || off[0] != "phone" || mask != "***" {
		t.Errorf("the policy saved in the browser: off %v, mask %q, %v; want off [phone], mask ***", off, mask, err)
	}
	b.Screenshot("redaction")
}
