// Package webapp is callscribe's web app: the pages people use in a browser to register,
// sign in and look after their account. It is rendered on the server with html/template
// from files embedded in the binary; every page works without JavaScript, and nothing it
// serves loads from another host.
//
// Its cookies hold no personal data: the session cookie is an opaque random id (the session
// itself lives in PostgreSQL), and a partner link's two cookies hold the partner's public
// code and a random click id. The language is remembered in the account, not in a cookie.
package webapp

import (
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"callscribe"
	"callscribe/accounts"
	"callscribe/mail"
	"callscribe/oauth"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config wires a Server.
type Config struct {
	Accounts *accounts.Service
	// Mailer sends the one-time links; nil: they are written to the server log (the
	// embedded default), with the user's id and never their address.
	Mailer mail.Sender
	// Providers are the OAuth / OpenID Connect sign-in providers configured.
	Providers []oauth.Provider
	// BaseURL is the address people reach the web app at (links in emails, OAuth
	// redirects), e.g. https://calls.example.ru; no trailing slash.
	BaseURL string
	// CookiePrefix is prepended to the cookie names (default "iq_": iq_session_id,
	// iq_partner_id, iq_partner_click_id).
	CookiePrefix string
	// InsecureCookies drops the Secure attribute: only for plain HTTP on loopback.
	InsecureCookies bool
	// SessionTTL and AttributionWindow are the cookies' lifetimes.
	SessionTTL, AttributionWindow time.Duration
	// MaxFormBytes bounds a form's body (default 64 KiB).
	MaxFormBytes int64
	Logger       *slog.Logger

	// The readers' pages (calls, transcripts, search, the privacy desk, the officer's
	// desk): nil Readers.Store turns them off (they answer 404).
	Readers Readers

	// Telegram links an account to the messenger bot from the profile; nil: no bot is
	// configured (the profile says nothing of it).
	Telegram TelegramLinker
	// Notices are the notice preferences on the profile; nil: not shown.
	Notices NoticePreferences
}

// Server serves the web app's pages.
type Server struct {
	cfg   Config
	log   *slog.Logger
	pages *pages
}

// New returns a Server.
func New(cfg Config) (*Server, error) {
	if cfg.CookiePrefix == "" {
		cfg.CookiePrefix = "iq_"
	}
	if cfg.MaxFormBytes <= 0 {
		cfg.MaxFormBytes = 64 << 10
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 30 * 24 * time.Hour
	}
	if cfg.AttributionWindow <= 0 {
		cfg.AttributionWindow = 30 * 24 * time.Hour
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	return &Server{cfg: cfg, log: log, pages: p}, nil
}

// Route is one page or form of the web app.
type Route struct {
	Method, Pattern string
	// Access says who may use it: "open" (anyone), "signed-in", "officer" (the
	// organization's officers and admins), "admin".
	Access string
}

type route struct {
	Route
	h handler
}

// handler serves a page and returns its error: serve writes it, in one place.
type handler func(w http.ResponseWriter, r *http.Request, v *visit) error

// routes is every page and form, in one table: Handler serves it and Routes lists it, so
// the test that calls every route as every role cannot miss a new one. Access is
// enforced here, in guard, and nowhere else in the handlers.
func (s *Server) routes() []route {
	r := func(access, method, pattern string, h handler) route {
		return route{Route{method, pattern, access}, s.guard(access, pattern, h)}
	}
	return []route{
		r("open", "GET", "/{$}", s.home),
		r("open", "GET", "/register", s.registerForm),
		r("open", "POST", "/register", s.register),
		r("open", "GET", "/verify", s.verify),
		r("open", "GET", "/signin", s.signinForm),
		r("open", "POST", "/signin", s.signin),
		r("open", "GET", "/signin/{provider}", s.oauthStart),
		r("open", "GET", "/oauth/{provider}/callback", s.oauthCallback),
		r("open", "POST", "/signout", s.signout),
		r("open", "GET", "/reset", s.resetRequestForm),
		r("open", "POST", "/reset", s.resetRequest),
		r("open", "GET", "/reset/password", s.resetForm),
		r("open", "POST", "/reset/password", s.reset),
		r("open", "GET", "/agreement", s.agreement),
		r("open", "GET", "/agreement/declined", s.agreementDeclined),
		r("open", "GET", "/cookies", s.cookies),
		r("open", "GET", "/r/{code}", s.partnerLink),
		r("signed-in", "GET", "/agreement/accept", s.agreementPending),
		r("signed-in", "POST", "/agreement/accept", s.acceptAgreement),
		r("signed-in", "POST", "/agreement/decline", s.declineAgreement),
		r("signed-in", "GET", "/profile", s.profile),
		r("signed-in", "POST", "/profile", s.updateProfile),
		r("signed-in", "POST", "/profile/password", s.changePassword),
		r("signed-in", "POST", "/profile/unlink", s.unlinkProvider),
		r("signed-in", "POST", "/profile/verify", s.resendVerification),
		r("signed-in", "POST", "/profile/language", s.setLanguage),
		r("signed-in", "POST", "/profile/telegram", s.linkTelegram),
		r("signed-in", "POST", "/profile/telegram/unlink", s.unlinkTelegram),
		r("signed-in", "POST", "/profile/notices", s.setNotices),
		r("signed-in", "GET", "/sessions", s.sessions),
		r("signed-in", "POST", "/sessions/end", s.endSessions),
		r("admin", "GET", "/organization", s.organization),
		r("admin", "POST", "/organization", s.updateCompany),
		r("admin", "POST", "/organization/role", s.setRole),
		r("admin", "POST", "/organization/redaction", s.setRedaction),
		r("admin", "POST", "/organization/invite", s.invite),
		r("admin", "POST", "/organization/invite/revoke", s.revokeInvite),
		// The readers' pages: calls, transcripts, the privacy desk, the officer's desk.
		r("signed-in", "GET", "/calls", s.reader(s.callsPage)),
		r("signed-in", "GET", "/calls/chart.svg", s.reader(s.chartSVG)),
		r("signed-in", "GET", "/calls/chart", s.reader(s.chartPage)),
		r("signed-in", "GET", "/calls/{id}", s.reader(s.transcriptPage)),
		r("signed-in", "GET", "/calls/{id}/download/{format}", s.reader(s.download)),
		r("signed-in", "POST", "/calls/{id}/segments/{n}", s.reader(s.correct)),
		r("signed-in", "GET", "/privacy", s.reader(s.deskPage)),
		r("signed-in", "POST", "/privacy/consents", s.reader(s.deskConsent)),
		r("signed-in", "POST", "/privacy/requests", s.reader(s.deskRequest)),
		r("signed-in", "GET", "/privacy/requests/{id}", s.reader(s.deskRequestLink)),
		r("signed-in", "GET", "/privacy/export.json", s.reader(s.deskExportJSON)),
		r("signed-in", "GET", "/privacy/export", s.reader(s.deskExportHTML)),
		r("officer", "GET", "/officer", s.reader(s.officer(s.officerPage))),
		r("officer", "GET", "/officer/requests/{id}", s.reader(s.officer(s.officerRequest))),
		r("officer", "POST", "/officer/requests/{id}/{action}", s.reader(s.officer(s.officerAct))),
	}
}

// answerFirst are the signed-in routes a person may use while a new version of the user
// agreement waits for their answer: the answer itself. Every other signed-in page sends
// them to it first.
var answerFirst = map[string]bool{"/agreement/accept": true, "/agreement/decline": true}

// guard enforces a route's access, the one place it is: "open" lets anyone in;
// "signed-in" sends a visitor who is not signed in to the sign-in page (a form gets
// 401), and one with a new agreement version to answer to that page first; "admin" is
// "signed-in" and the organization's admin role (403 otherwise; the accounts service
// checks the role again against the database for every change).
func (s *Server) guard(access, pattern string, h handler) handler {
	if access == "open" {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request, v *visit) error {
		if v.Account == nil {
			if r.Method != http.MethodGet {
				return callscribe.Errorf(callscribe.EUNAUTHORIZED, "sign in first")
			}
			http.Redirect(w, r, "/signin?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return nil
		}
		if v.Pending != nil && !answerFirst[pattern] {
			to := "/agreement/accept"
			if r.Method == http.MethodGet {
				to += "?next=" + urlQueryEscape(r.URL.RequestURI())
			}
			http.Redirect(w, r, to, http.StatusSeeOther)
			return nil
		}
		if access == "admin" && v.Account.Role != accounts.RoleAdmin {
			return callscribe.Errorf(callscribe.EFORBIDDEN, "only an admin of the organization may open this page")
		}
		if access == "officer" && v.Account.Role != accounts.RoleOfficer && v.Account.Role != accounts.RoleAdmin {
			return callscribe.Errorf(callscribe.EFORBIDDEN, "this page is for the organization's officers")
		}
		return h(w, r, v)
	}
}

// Routes lists every page and form the Handler serves.
func (s *Server) Routes() []Route {
	var out []Route
	for _, r := range s.routes() {
		out = append(out, r.Route)
	}
	return out
}

// Handler serves the web app: its pages, its static files, and a page-shaped 404 for
// the rest, behind the security headers and cross-origin protection.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, r := range s.routes() {
		mux.Handle(r.Method+" "+r.Pattern, s.serve(r.h))
	}
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.Handle("/", s.serve(func(w http.ResponseWriter, r *http.Request, v *visit) error {
		return callscribe.Errorf(callscribe.ENOTFOUND, "no such page")
	}))
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(s.serve(func(w http.ResponseWriter, r *http.Request, v *visit) error {
		return callscribe.Errorf(callscribe.EFORBIDDEN, "a form from another site was refused")
	}))
	return secure(csrf.Handler(mux))
}

// secure sets the headers every response of the web app carries: a Content-Security-Policy
// that admits nothing from another host and no inline script, no framing, and no referrer
// to other sites.
func secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// visit is what a request's page knows about who is looking: the language, and the
// account and session when signed in.
type visit struct {
	Lang    string
	Account *accounts.Account
	Session *accounts.Session
	// Pending is a newer agreement the account has not accepted yet.
	Pending *accounts.Agreement
}

// serve loads the visit (session cookie, language), runs h, and writes its error as a
// page: the one place an error is answered.
func (s *Server) serve(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxFormBytes)
		w.Header().Set("Cache-Control", "no-store")
		v := &visit{}
		if c, err := r.Cookie(s.cookieName("session_id")); err == nil && c.Value != "" {
			ses, acct, err := s.cfg.Accounts.Session(r.Context(), c.Value)
			switch {
			case err == nil:
				v.Account, v.Session = &acct, &ses
				// A signed-in request reaches the database in its account's scope: the
				// organization's row-level security, as the API's, and for a member
				// their own calls only (accounts.Account.Scope).
				r = r.WithContext(acct.Scope(r.Context()))
				if v.Pending, err = s.cfg.Accounts.PendingAgreement(r.Context(), acct.ID); err != nil {
					s.writeError(w, r, v, err)
					return
				}
			case callscribe.ErrorCode(err) == callscribe.EUNAUTHORIZED:
				s.clearCookie(w, "session_id") // ended, expired or idle: forget it
			default:
				s.writeError(w, r, v, err)
				return
			}
		}
		formErr := plainQuery(r)
		if formErr == nil && r.Method == http.MethodPost {
			formErr = parseForm(r)
		}
		v.Lang = s.language(r, v.Account)
		if formErr != nil {
			s.writeError(w, r, v, formErr)
			return
		}
		if err := h(w, r, v); err != nil {
			s.writeError(w, r, v, err)
		}
	})
}

// plainQuery refuses a query string that is malformed (its broken pairs would be read as
// if they were not there) or holds text no column can hold (not UTF-8, a NUL): a 400
// page before any handler runs, never the database's refusal as a 500.
func plainQuery(r *http.Request) error {
	vs, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return callscribe.Errorf(callscribe.EINVALID, "the address's query is malformed")
	}
	return callscribe.PlainValues("query parameter", vs)
}

// parseForm reads a posted form within the size limit: too large is a 413, unreadable or
// holding text no column can hold a 400, each answered before any handler runs.
func parseForm(r *http.Request) error {
	err := r.ParseForm()
	var mbe *http.MaxBytesError
	switch {
	case err == nil:
		return callscribe.PlainValues("form field", r.PostForm)
	case errors.As(err, &mbe):
		return callscribe.Errorf(callscribe.ETOOLARGE, "the form is larger than the limit of %d bytes", mbe.Limit)
	default:
		return callscribe.Errorf(callscribe.EINVALID, "the form could not be read")
	}
}

// writeError answers err with an error page in the visitor's language. A fault of ours is
// logged with the route and code; the page shows only the safe message.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, v *visit, err error) {
	status := httpStatus(err)
	code := callscribe.ErrorCode(err)
	if status >= 500 {
		s.log.ErrorContext(r.Context(), "page failed", "method", r.Method, "route", r.Pattern, "code", code, "err", err)
	}
	if v.Lang == "" {
		v.Lang = s.language(r, nil)
	}
	// What went wrong, in the visitor's language, from the error's code; the service's own
	// message is English, so it is added as a detail on English pages only.
	if code == "" {
		code = callscribe.EINTERNAL
	}
	detail := ""
	if v.Lang == "en" {
		detail = safeMessage(err)
	}
	s.render(w, r, v, status, "error", map[string]any{"Status": status, "Code": code, "Explain": "error.code." + code, "Message": detail})
}

// cookieName is the name of one of our cookies, after the configured prefix.
func (s *Server) cookieName(name string) string { return s.cfg.CookiePrefix + name }

// setCookie sets one of our cookies: HttpOnly, SameSite=Lax, Secure unless the operator
// runs plain HTTP on loopback, for path /.
func (s *Server) setCookie(w http.ResponseWriter, name, value string, life time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: s.cookieName(name), Value: value, Path: "/", MaxAge: int(life / time.Second),
		HttpOnly: true, Secure: !s.cfg.InsecureCookies, SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{
		Name: s.cookieName(name), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: !s.cfg.InsecureCookies, SameSite: http.SameSiteLaxMode,
	})
}

// clientAddr is the client's IP address, for throttling sign-ins; never logged.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// safeMessage is the message an error may show a person: internal causes never.
func safeMessage(err error) string {
	var fe accounts.FieldErrors
	if errors.As(err, &fe) {
		return ""
	}
	if c := callscribe.ErrorCode(err); c == callscribe.EINTERNAL || c == "" {
		return ""
	}
	return callscribe.ErrorMessage(err)
}
