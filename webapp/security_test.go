package webapp_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"callscribe"
)

// TestEveryCookieIsOpaque goes through every flow that sets a cookie (partner link,
// registration, verification, sign-in, reset, sign-out) and checks every Set-Cookie:
// HttpOnly, SameSite=Lax, Secure, and a value that holds nothing of the person: not the
// email, phone, names, company, nor the user's or organization's id.
func TestEveryCookieIsOpaque(t *testing.T) {
	t.Parallel()
	a := newApp(t, func(o *appOptions) { o.secure = true })
	p := alice()
	if _, err := a.Accounts.AddPartner(t.Context(), "vesna", "Весна"); err != nil {
		t.Fatal(err)
	}
	c := a.client()
	c.get("/r/vesna")
	c.post("/register", p.form())
	link, _ := url.Parse(a.lastLink("mail.verify.subject"))
	c.get(link.RequestURI())
	c.post("/signout", nil)
	c.post("/signin", url.Values{"email": {p.email}, "password": {p.password}})
	c.post("/reset", url.Values{"email": {p.email}})
	if len(c.cookies) < 3 {
		t.Fatalf("only %d cookies were set", len(c.cookies))
	}
	acct := a.account(p.email)
	secrets := []string{p.email, "anna.ivanova", p.phone, "79161234567", p.surname, p.first, p.patronymic, p.company, p.inn,
		acct.ID.String(), strings.ReplaceAll(acct.ID.String(), "-", ""), acct.OrgID.String()}
	names := map[string]bool{}
	for _, ck := range c.cookies {
		names[ck.Name] = true
		if !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteLaxMode {
			t.Errorf("cookie %s: HttpOnly=%v Secure=%v SameSite=%v, want HttpOnly, Secure, Lax", ck.Name, ck.HttpOnly, ck.Secure, ck.SameSite)
		}
		v, _ := url.QueryUnescape(ck.Value)
		for _, s := range secrets {
			if s != "" && strings.Contains(strings.ToLower(v), strings.ToLower(s)) {
				t.Errorf("cookie %s holds %q", ck.Name, s)
			}
		}
	}
	for _, want := range []string{"iq_session_id", "iq_partner_id", "iq_partner_click_id"} {
		if !names[want] {
			t.Errorf("no cookie %s was set (got %v)", want, names)
		}
	}
}

// TestSecurityHeaders: every page carries the CSP that admits nothing from another host
// and no inline script, no framing, same-origin referrers; no page refers to another host.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.register(alice())
	for _, r := range a.Server.Routes() {
		if r.Method != "GET" || strings.Contains(r.Pattern, "{") {
			continue
		}
		path := strings.TrimSuffix(r.Pattern, "{$}")
		resp, err := c.http.Get(a.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(resp)
		h := resp.Header
		if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: Content-Security-Policy %q", path, csp)
		}
		if h.Get("X-Frame-Options") != "DENY" || h.Get("Referrer-Policy") != "same-origin" {
			t.Errorf("%s: X-Frame-Options %q, Referrer-Policy %q", path, h.Get("X-Frame-Options"), h.Get("Referrer-Policy"))
		}
		for _, attr := range []string{`src="http`, `href="http`, `src="//`, `href="//`, `<script>`, ` on`} {
			if attr == ` on` {
				if matches(body, `<[^>]+\son[a-z]+=`) {
					t.Errorf("%s: an inline event handler", path)
				}
				continue
			}
			if strings.Contains(body, attr) {
				t.Errorf("%s: %q: the page refers to another host or inlines a script", path, attr)
			}
		}
	}
}

// TestCrossSiteFormRefused: a form posted from another site is refused (403) and
// changes nothing; the same form from the site itself works.
func TestCrossSiteFormRefused(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	p := alice()
	req, _ := http.NewRequest("POST", a.URL+"/register", strings.NewReader(p.form().Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := a.client().http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(resp)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "<html") {
		t.Errorf("cross-site form: %d, want a 403 page\n%s", resp.StatusCode, body)
	}
	if status, _ := a.client().post("/signin", url.Values{"email": {p.email}, "password": {p.password}}); status != http.StatusUnauthorized {
		t.Errorf("the cross-site registration created the account (sign-in status %d)", status)
	}
}

// TestBadRequestsArePages: an oversized form, a malformed one and an unknown page get a
// 4xx page in the visitor's language, never a 500.
func TestBadRequestsArePages(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.client()
	big := url.Values{"email": {strings.Repeat("a", 1<<20)}}
	if status, body := c.post("/signin", big); status != http.StatusRequestEntityTooLarge || !strings.Contains(body, "Слишком большой запрос") {
		t.Errorf("a 1 MiB form: %d\n%s", status, body)
	}
	req, _ := http.NewRequest("POST", a.URL+"/register", strings.NewReader("%zz=%"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if readAll(resp); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a malformed form: %d, want 400", resp.StatusCode)
	}
	if status, body := c.get("/no/such/page?lang=en"); status != http.StatusNotFound || !strings.Contains(body, "Page not found") {
		t.Errorf("unknown page: %d\n%s", status, body)
	}
	status, body := c.get("/verify?token=" + strings.Repeat("x", 40))
	if status < 400 || status >= 500 {
		t.Errorf("a made-up verification token: %d, want 4xx", status)
	}
	// The page is Russian through and through: the service's English message is not on it.
	if msg := body[strings.Index(body, `role="alert"`):]; !matches(msg, `^role="alert">[^<a-zA-Z]*[А-Яа-я][^<a-zA-Z]*</p>`) {
		t.Errorf("the Russian error page's message is not Russian: %.200s", msg)
	}
	if _, body := c.get("/verify?lang=en&token=" + strings.Repeat("x", 40)); !strings.Contains(body, "invalid, used or expired") {
		t.Errorf("the English error page lacks the service's detail:\n%s", body)
	}
	if status, _ := c.get("/r/no-such-partner"); status != http.StatusNotFound {
		t.Errorf("an unknown partner's link: %d, want 404", status)
	}
}

func readAll(resp *http.Response) string {
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

// TestTextNoColumnHoldsIsRefused: a query or a form field that is not UTF-8 or holds a
// NUL (text no column can hold, which PostgreSQL refused with a 500) gets a 400 page, and
// so does a malformed query string; ordinary Russian text goes through.
func TestTextNoColumnHoldsIsRefused(t *testing.T) {
	t.Parallel()
	a := newReadersApp(t)
	c, _ := a.person(alice(), "")
	for _, path := range []string{"/calls?q=a%00b", "/calls?q=a%ffb", "/calls?phone=%00", "/calls?q=%zz", "/calls?a%00=1"} {
		if status, body := c.get(path); status != http.StatusBadRequest || !strings.Contains(body, `role="alert"`) {
			t.Errorf("GET %s: %d, want a 400 page", path, status)
		}
	}
	for _, form := range []url.Values{
		{"surname": {"Ива\x00нова"}, "first_name": {"Анна"}, "email": {alice().email}},
		{"surname": {"Ива\xffнова"}, "first_name": {"Анна"}, "email": {alice().email}},
	} {
		if status, _ := c.post("/profile", form); status != http.StatusBadRequest {
			t.Errorf("POST /profile %q: %d, want 400", form.Get("surname"), status)
		}
	}
	if status, _ := a.client().post("/signin", url.Values{"email": {"a\xff@example.ru"}, "password": {"x"}}); status != http.StatusBadRequest {
		t.Errorf("sign-in with an email that is not UTF-8: %d, want 400", status)
	}
	if status, _ := c.get("/calls?q=" + url.QueryEscape("звонок")); status != http.StatusOK {
		t.Errorf("a search in Russian: %d, want 200", status)
	}
	var surname string
	if err := a.DB.Pool().QueryRow(callscribe.AsSystem(context.Background()), `SELECT coalesce(surname, '') FROM users WHERE email = $1`, alice().email).Scan(&surname); err != nil || surname != alice().surname {
		t.Errorf("the surname is %q (%v), want it unchanged", surname, err)
	}
}
