package webapp_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"callscribe"
	"callscribe/accounts"
)

// publish publishes version of the user agreement with a recognisable text.
func (a *app) publish(version string) {
	a.t.Helper()
	text := "# Соглашение, редакция " + version + "\n\nТекст редакции " + version + ".\n"
	if _, err := a.Accounts.PublishAgreement(context.Background(), version, text, "test"); err != nil {
		a.t.Fatal(err)
	}
}

// grantAll gives acct every consent, as the privacy desk or the API would.
func (a *app) grantAll(acct accounts.Account) {
	a.t.Helper()
	ctx := callscribe.WithOrg(context.Background(), acct.OrgID)
	for _, p := range callscribe.Purposes {
		if _, err := a.DB.GrantConsent(ctx, acct.ID, p, "1", callscribe.ConsentViaAPI, time.Now()); err != nil {
			a.t.Fatal(err)
		}
	}
}

// noRedirect is c's HTTP client that stops at the first redirect.
func (c *client) noRedirect() *http.Client {
	h := *c.http
	h.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &h
}

// TestAgreementNewVersionAccepted: a version published after a person registered under
// the one before is shown to them on their next page, whatever page it is, before
// anything else (a form is not applied meanwhile); accepting it is recorded and takes
// them where they were going; the page does not come back.
func TestAgreementNewVersionAccepted(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.publish("1")
	p := alice()
	c := a.register(p)
	if _, body := c.get("/profile"); strings.Contains(body, "Соглашение изменилось") {
		t.Fatalf("the version in force at registration is asked again")
	}
	a.publish("2")
	resp, err := c.noRedirect().Get(a.URL + "/sessions")
	if err != nil {
		t.Fatal(err)
	}
	readAll(resp)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/agreement/accept?next=%2Fsessions" {
		t.Errorf("GET /sessions with version 2 pending: %d to %q, want 303 to the agreement", resp.StatusCode, loc)
	}
	_, body := c.get("/profile")
	for _, want := range []string{"Пользовательское соглашение изменилось", "Текст редакции 2.", `name="version" value="2"`, "Отказаться от соглашения", "вы выйдете из аккаунта на всех устройствах"} {
		if !strings.Contains(body, want) {
			t.Errorf("the pending agreement page does not show %q\n%s", want, body)
		}
	}
	edit := p.profileForm()
	edit.Set("surname", "Петрова")
	c.post("/profile", edit)
	acct := a.account(p.email)
	if acct.Surname != p.surname {
		t.Errorf("a form posted while the agreement was pending was applied")
	}
	if pend, err := a.Accounts.PendingAgreement(t.Context(), acct.ID); err != nil || pend == nil || pend.Version != "2" {
		t.Fatalf("pending before the answer: %v %v", pend, err)
	}
	status, body := c.post("/agreement/accept", url.Values{"version": {"2"}, "next": {"/sessions"}})
	if status != http.StatusOK || !strings.Contains(body, "Где выполнен вход") {
		t.Errorf("accept: %d, want the sessions page it was going to\n%s", status, body)
	}
	if pend, err := a.Accounts.PendingAgreement(t.Context(), acct.ID); err != nil || pend != nil {
		t.Errorf("after accepting, still pending: %v %v", pend, err)
	}
	if _, body := c.get("/profile"); strings.Contains(body, "соглашение изменилось") || !strings.Contains(body, p.surname) {
		t.Errorf("after accepting, the profile is not shown")
	}
	// An answer to a version no longer in force is not recorded: the newer one is shown.
	a.publish("3")
	if _, body := c.post("/agreement/accept", url.Values{"version": {"2"}}); !strings.Contains(body, "Текст редакции 3.") {
		t.Errorf("accepting version 2 while 3 is in force did not show version 3")
	}
}

// TestAgreementDeclined: declining the new version withdraws every consent through the
// withdrawal path, ends every session of the person, and with the box ticked records an
// erasure request due in 10 business days; the page says each of these.
func TestAgreementDeclined(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.publish("1")
	p := alice()
	c := a.register(p)
	other := a.client()
	other.post("/signin", url.Values{"email": {p.email}, "password": {p.password}})
	acct := a.account(p.email)
	a.grantAll(acct)
	a.publish("2")
	status, body := c.post("/agreement/decline", url.Values{"version": {"2"}, "erase": {"yes"}})
	if status != http.StatusOK {
		t.Fatalf("decline: %d\n%s", status, body)
	}
	for _, want := range []string{"Вы отказались от новой редакции", "согласия на обработку отозваны", "Вы вышли из аккаунта на всех устройствах", "Запрос на удаление ваших данных зарегистрирован"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page after declining does not say %q\n%s", want, body)
		}
	}
	ctx := callscribe.WithOrg(t.Context(), acct.OrgID)
	for _, purpose := range callscribe.Purposes {
		if on, err := a.DB.ConsentInForce(ctx, acct.ID, purpose); err != nil || on {
			t.Errorf("consent %s in force after declining: %v %v", purpose, on, err)
		}
	}
	evs, err := a.DB.ConsentEvents(ctx, acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	withdrawn := map[callscribe.Purpose]bool{}
	for _, ev := range evs {
		if ev.Action == callscribe.ConsentWithdraw && ev.Channel == callscribe.ConsentViaWeb {
			withdrawn[ev.Purpose] = true
		}
	}
	if len(withdrawn) != len(callscribe.Purposes) {
		t.Errorf("withdrawals recorded through the web: %v, want every purpose", withdrawn)
	}
	for name, cl := range map[string]*client{"this browser": c, "another browser": other} {
		if _, body := cl.get("/profile"); !strings.Contains(body, `action="/signin"`) {
			t.Errorf("%s is still signed in after declining", name)
		}
	}
	reqs, err := a.DB.Requests(ctx, callscribe.RequestFilter{UserID: acct.ID})
	if err != nil || len(reqs) != 1 || reqs[0].Kind != callscribe.RequestErasure || reqs[0].Status != callscribe.RequestReceived {
		t.Fatalf("requests after declining with erasure: %+v %v", reqs, err)
	}
	// Without the box: no request, and the page says how to ask for erasure.
	b := alice()
	b.email, b.company, b.inn = "boris@example.ru", "ООО Лютик", "7728168971"
	bc := a.register(b)
	a.publish("3")
	_, body = bc.post("/agreement/decline", url.Values{"version": {"3"}})
	if !strings.Contains(body, "войдите снова и откажитесь, отметив пункт об удалении") {
		t.Errorf("declining without erasure does not say how to ask for it\n%s", body)
	}
	bacct := a.account(b.email)
	if reqs, _ := a.DB.Requests(callscribe.WithOrg(t.Context(), bacct.OrgID), callscribe.RequestFilter{UserID: bacct.ID}); len(reqs) != 0 {
		t.Errorf("declining without the box recorded %d requests", len(reqs))
	}
}

// TestNewPagesInEnglish: the pages of this part speak the account's language: English
// once it is chosen on the profile.
func TestNewPagesInEnglish(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.publish("1")
	p := alice()
	c := a.register(p)
	c.post("/profile/language", url.Values{"lang": {"en"}})
	for path, want := range map[string][]string{
		"/profile":      {`<html lang="en">`, "Correct your details", "History of changes", "Change the password", "Sign-in providers"},
		"/organization": {"Company details", "Members", "Invite a member", "administrator"},
	} {
		_, body := c.get(path)
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("%s in English does not say %q", path, w)
			}
		}
		if strings.Contains(body, "Исправить данные") || strings.Contains(body, "Пригласить участника") {
			t.Errorf("%s in English has Russian text", path)
		}
	}
	a.publish("2")
	if _, body := c.get("/profile"); !strings.Contains(body, "The user agreement has changed") || !strings.Contains(body, "Also erase my data") {
		t.Errorf("the pending agreement in English:\n%s", body)
	}
	// Signed out by declining, the page after is still in the account's language.
	if _, body := c.post("/agreement/decline", url.Values{"version": {"2"}}); !strings.Contains(body, "You declined the new version") {
		t.Errorf("the declined page in English:\n%s", body)
	}
}
