package webapp_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"callscribe/accounts"
	"callscribe/oauth"
)

// TestEveryRouteAsEveryRole calls every page and form of the route table as a visitor
// who is not signed in, a member, an officer and an admin of one organization, and as
// the admin of another, each request from a fresh session, and checks what each may do
// and see: signed-in pages send the visitor to sign in (a form gets 401); admin pages
// refuse a member and an officer (403); the other organization's admin reaches only
// their own organization: they do not see this one's details or members and cannot
// change this one's roles. A route of the table with no request here fails the test.
func TestEveryRouteAsEveryRole(t *testing.T) {
	t.Parallel()
	_, corp := newMockOIDC(t)
	a := newApp(t, func(o *appOptions) { o.providers = []oauth.Provider{corp} })
	a.publish("1")
	if _, err := a.Accounts.AddPartner(t.Context(), "vesna", "Весна"); err != nil {
		t.Fatal(err)
	}
	p := alice()
	admin := a.register(p)
	verify := func(c *client) { // the readers' pages are for confirmed addresses
		t.Helper()
		link, _ := url.Parse(a.lastLink("mail.verify.subject"))
		if status, _ := c.get(link.RequestURI()); status != http.StatusOK {
			t.Fatalf("verify: %d", status)
		}
	}
	verify(admin)
	a.invitee(admin, "member@example.ru", accounts.RoleMember)
	a.invitee(admin, "officer@example.ru", accounts.RoleOfficer)
	a.invitee(admin, "target@example.ru", accounts.RoleMember) // whose role the role form changes
	other := alice()
	other.email, other.company, other.inn, other.surname = "boris@example.ru", "ООО Лютик", "7728168971", "Борисов"
	verify(a.register(other))
	target := a.account("target@example.ru")
	if status, _ := admin.post("/organization/invite", url.Values{"invite_email": {"vera@example.ru"}, "invite_role": {"member"}}); status != http.StatusOK {
		t.Fatalf("invite vera: %d", status)
	}
	veraLink, _ := url.Parse(a.lastLink("mail.invite.subject"))

	nobody := uuid.NewString() // a call and a request that do not exist
	// requests are what each route is called with.
	type request struct {
		path string
		form url.Values // nil: GET
	}
	requests := map[string]request{
		"GET /{$}":                         {"/", nil},
		"GET /register":                    {"/register", nil},
		"POST /register":                   {"/register", url.Values{"surname": {""}}},
		"GET /verify":                      {"/verify?token=nothing", nil},
		"GET /signin":                      {"/signin", nil},
		"POST /signin":                     {"/signin", url.Values{"email": {"nobody@example.ru"}, "password": {"wrong password"}}},
		"GET /signin/{provider}":           {"/signin/corp", nil},
		"GET /oauth/{provider}/callback":   {"/oauth/corp/callback?code=x&state=y", nil},
		"POST /signout":                    {"/signout", url.Values{}},
		"GET /reset":                       {"/reset", nil},
		"POST /reset":                      {"/reset", url.Values{"email": {"nobody@example.ru"}}},
		"GET /reset/password":              {"/reset/password?token=nothing", nil},
		"POST /reset/password":             {"/reset/password", url.Values{"token": {"nothing"}, "password": {"a long new password"}}},
		"GET /agreement":                   {"/agreement", nil},
		"GET /agreement/declined":          {"/agreement/declined", nil},
		"GET /cookies":                     {"/cookies", nil},
		"GET /r/{code}":                    {"/r/vesna", nil},
		"GET /agreement/accept":            {"/agreement/accept", nil},
		"POST /agreement/accept":           {"/agreement/accept", url.Values{"version": {"1"}}},
		"POST /agreement/decline":          {"/agreement/decline", url.Values{"version": {"0"}}},
		"GET /profile":                     {"/profile", nil},
		"POST /profile":                    {"/profile", url.Values{"surname": {""}}},
		"POST /profile/password":           {"/profile/password", url.Values{"old_password": {"not it"}, "password": {"a long new password"}}},
		"POST /profile/unlink":             {"/profile/unlink", url.Values{"provider": {"oidc:corp"}}},
		"POST /profile/verify":             {"/profile/verify", url.Values{}},
		"POST /profile/language":           {"/profile/language", url.Values{"lang": {"ru"}}},
		"POST /profile/telegram":           {"/profile/telegram", url.Values{}},
		"POST /profile/telegram/unlink":    {"/profile/telegram/unlink", url.Values{}},
		"POST /profile/notices":            {"/profile/notices", url.Values{"notices": {"1"}, "transcript_ready.telegram": {"on"}}},
		"GET /sessions":                    {"/sessions", nil},
		"POST /sessions/end":               {"/sessions/end", url.Values{}},
		"GET /organization":                {"/organization", nil},
		"POST /organization":               {"/organization", url.Values{"company": {""}}},
		"POST /organization/role":          {"/organization/role", url.Values{"user_id": {target.ID.String()}, "role": {"admin"}}},
		"POST /organization/invite":        {"/organization/invite", url.Values{"invite_email": {"not an address"}, "invite_role": {"member"}}},
		"POST /organization/invite/revoke": {"/organization/invite/revoke", url.Values{"email": {"vera@example.ru"}}},
		"POST /organization/redaction":     {"/organization/redaction", url.Values{"replace": {"mask"}, "redact_mask": {"1"}}},
		// The readers' pages; the officer's desk refuses a member. (Their walls between
		// people and organizations: TestCallsListAndSearch, TestOfficerDesk.)
		"GET /calls":                           {"/calls", nil},
		"GET /calls/chart.svg":                 {"/calls/chart.svg", nil},
		"GET /calls/chart":                     {"/calls/chart", nil},
		"GET /calls/{id}":                      {"/calls/" + nobody, nil},
		"GET /calls/{id}/download/{format}":    {"/calls/" + nobody + "/download/docx", nil},
		"POST /calls/{id}/segments/{n}":        {"/calls/" + nobody + "/segments/0", url.Values{"text": {"x"}}},
		"GET /privacy":                         {"/privacy", nil},
		"POST /privacy/consents":               {"/privacy/consents", url.Values{"purpose": {"summarization"}, "action": {"grant"}}},
		"POST /privacy/requests":               {"/privacy/requests", url.Values{"kind": {"nonsense"}}},
		"GET /privacy/requests/{id}":           {"/privacy/requests/" + nobody, nil},
		"GET /privacy/export.json":             {"/privacy/export.json", nil},
		"GET /privacy/export":                  {"/privacy/export", nil},
		"GET /officer":                         {"/officer", nil},
		"GET /officer/requests/{id}":           {"/officer/requests/" + nobody, nil},
		"POST /officer/requests/{id}/{action}": {"/officer/requests/" + nobody + "/start", url.Values{}},
	}
	roles := []struct{ name, email string }{
		{"anonymous", ""}, {"member", "member@example.ru"}, {"officer", "officer@example.ru"},
		{"another organization's admin", other.email}, {"admin", p.email}, // the other first: the admin's calls change things
	}
	// call makes the request from a fresh session of email ("": none), without following
	// redirects.
	call := func(email string, rq request) (int, string, string) {
		t.Helper()
		c := a.client()
		if email != "" {
			if status, _ := c.post("/signin", url.Values{"email": {email}, "password": {p.password}}); status != http.StatusOK {
				t.Fatalf("sign in as %s: %d", email, status)
			}
		}
		h := c.noRedirect()
		var resp *http.Response
		var err error
		if rq.form == nil {
			resp, err = h.Get(a.URL + rq.path)
		} else {
			req, _ := http.NewRequest("POST", a.URL+rq.path, strings.NewReader(rq.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", a.URL)
			resp, err = h.Do(req)
		}
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(resp)
		return resp.StatusCode, resp.Header.Get("Location"), body
	}
	toSignIn := func(loc string) bool { return strings.HasPrefix(loc, "/signin?next=") }

	seen := map[string]bool{}
	for _, r := range a.Server.Routes() {
		key := r.Method + " " + r.Pattern
		seen[key] = true
		rq, ok := requests[key]
		if !ok {
			t.Errorf("route %s (%s) is not called by this test: add it", key, r.Access)
			continue
		}
		for _, role := range roles {
			status, loc, body := call(role.email, rq)
			what := key + " as " + role.name
			if status >= 500 {
				t.Errorf("%s: %d\n%s", what, status, body)
				continue
			}
			switch {
			case r.Access == "open":
				if status == http.StatusForbidden || toSignIn(loc) {
					t.Errorf("%s: %d %s, an open page refused", what, status, loc)
				}
			case role.email == "":
				if (r.Method == "GET" && !(status == http.StatusSeeOther && toSignIn(loc))) || (r.Method != "GET" && status != http.StatusUnauthorized) {
					t.Errorf("%s: %d %q, want the sign-in page (a form: 401)", what, status, loc)
				}
			case r.Access == "admin" && (role.name == "member" || role.name == "officer"),
				r.Access == "officer" && role.name == "member":
				if status != http.StatusForbidden {
					t.Errorf("%s: %d, want 403", what, status)
				}
			case r.Access == "signed-in" || r.Access == "admin" || r.Access == "officer":
				if status == http.StatusUnauthorized || status == http.StatusForbidden || toSignIn(loc) {
					t.Errorf("%s: %d %q, refused", what, status, loc)
				}
			default:
				t.Errorf("%s: unknown access %q", what, r.Access)
			}
			// What the other organization's admin reaches is their own organization.
			if role.email == other.email && key == "GET /organization" {
				if !strings.Contains(body, other.company) || strings.Contains(body, p.company) || strings.Contains(body, "member@example.ru") || strings.Contains(body, p.email) {
					t.Errorf("%s shows another organization's details or members\n%s", what, body)
				}
			}
			if role.email == other.email && key == "POST /organization/invite/revoke" {
				if status != http.StatusNotFound {
					t.Errorf("%s: %d, want 404 (no such invitation in their organization)", what, status)
				}
				if status, _ := a.client().get(veraLink.RequestURI()); status != http.StatusOK {
					t.Errorf("%s: this organization's invitation stopped working (%d)", what, status)
				}
			}
			if role.email == other.email && key == "POST /organization/role" && status != http.StatusNotFound {
				t.Errorf("%s: %d, want 404 (no such member in their organization)", what, status)
			}
			if role.name == "admin" && key == "GET /organization" && (!strings.Contains(body, "member@example.ru") || !strings.Contains(body, "officer@example.ru")) {
				t.Errorf("%s does not list the members\n%s", what, body)
			}
		}
	}
	for k := range requests {
		if !seen[k] {
			t.Errorf("the test calls %s, which is not in the route table", k)
		}
	}
	// Nothing the other roles did changed this organization's roles; the admin's own
	// change made the target an admin.
	for email, want := range map[string]accounts.Role{"member@example.ru": accounts.RoleMember,
		"officer@example.ru": accounts.RoleOfficer, "target@example.ru": accounts.RoleAdmin} {
		if got := a.account(email).Role; got != want {
			t.Errorf("%s is %s, want %s", email, got, want)
		}
	}
}
