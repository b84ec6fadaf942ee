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
	"context"
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"callscribe"
	"callscribe/accounts"
	"callscribe/oauth"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Mailer sends an account's email (verification, password reset, invitation).
type Mailer interface {
	Send(ctx context.Context, to, subject, text string) error
}

// Config wires a Server.
type Config struct {
	Accounts *accounts.Service
	// Mailer sends the one-time links; nil: they are written to the server log (the
	// embedded default), with the user's id and never their address.
	Mailer Mailer
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
}

// Server serves the web app's pages.
type Server struct {
	cfg   Config
	log   *slog.Logger
	pages *pages
	// pending holds OAuth sign-ins between the redirect to the provider and the callback,
	// by a random key that the browser carries in a short-lived cookie.
	pending *pendingStore
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
	return &Server{cfg: cfg, log: log, pages: p, pending: newPendingStore(10 * time.Minute)}, nil
}

// Route is one page or form of the web app.
type Route struct {
	Method, Pattern string
	// Access says who may use it: "open" (anyone), "signed-in", "admin".
	Access string
}

type route struct {
	Route
	h handler
}

// handler serves a page and returns its error: serve writes it, in one place.
type handler func(w http.ResponseWriter, r *http.Request, v *visit) error

// routes is every page and form, in one table: Handler serves it and Routes lists it, so
// the test that calls every route as every role cannot miss a new one.
func (s *Server) routes() []route {
	open := func(method, pattern string, h handler) route { return route{Route{method, pattern, "open"}, h} }
	signed := func(method, pattern string, h handler) route {
		return route{Route{method, pattern, "signed-in"}, s.signedIn(h)}
	}
	return []route{
		open("GET", "/{$}", s.home),
		open("GET", "/register", s.registerForm),
		open("POST", "/register", s.register),
		open("GET", "/verify", s.verify),
		open("GET", "/signin", s.signinForm),
		open("POST", "/signin", s.signin),
		open("GET", "/signin/{provider}", s.oauthStart),
		open("GET", "/oauth/{provider}/callback", s.oauthCallback),
		open("POST", "/signout", s.signout),
		open("GET", "/reset", s.resetRequestForm),
		open("POST", "/reset", s.resetRequest),
		open("GET", "/reset/password", s.resetForm),
		open("POST", "/reset/password", s.reset),
		open("GET", "/agreement", s.agreement),
		open("GET", "/cookies", s.cookies),
		open("GET", "/r/{code}", s.partnerLink),
		signed("GET", "/profile", s.profile),
		signed("POST", "/profile/verify", s.resendVerification),
		signed("POST", "/profile/language", s.setLanguage),
		signed("GET", "/sessions", s.sessions),
		signed("POST", "/sessions/end", s.endSessions),
		// The readers' pages (issue 13): calls, transcripts, the privacy and officer desks.
		signed("GET", "/calls", s.reader(s.callsPage)),
		signed("GET", "/calls/chart.svg", s.reader(s.chartSVG)),
		signed("GET", "/calls/chart", s.reader(s.chartPage)),
		signed("GET", "/calls/{id}", s.reader(s.transcriptPage)),
		signed("GET", "/calls/{id}/download/{format}", s.reader(s.download)),
		signed("POST", "/calls/{id}/segments/{n}", s.reader(s.correct)),
		signed("GET", "/privacy", s.reader(s.deskPage)),
		signed("POST", "/privacy/consents", s.reader(s.deskConsent)),
		signed("POST", "/privacy/requests", s.reader(s.deskRequest)),
		signed("GET", "/privacy/export.json", s.reader(s.deskExportJSON)),
		signed("GET", "/privacy/export", s.reader(s.deskExportHTML)),
		signed("GET", "/officer", s.reader(s.officer(s.officerPage))),
		signed("GET", "/officer/requests/{id}", s.reader(s.officer(s.officerRequest))),
		signed("POST", "/officer/requests/{id}/{action}", s.reader(s.officer(s.officerAct))),
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
			case callscribe.ErrorCode(err) == callscribe.EUNAUTHORIZED:
				s.clearCookie(w, "session_id") // ended, expired or idle: forget it
			default:
				s.writeError(w, r, v, err)
				return
			}
		}
		var formErr error
		if r.Method == http.MethodPost {
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

// parseForm reads a posted form within the size limit: too large is a 413, unreadable a
// 400, either answered before any handler runs.
func parseForm(r *http.Request) error {
	err := r.ParseForm()
	var mbe *http.MaxBytesError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &mbe):
		return callscribe.Errorf(callscribe.ETOOLARGE, "the form is larger than the limit of %d bytes", mbe.Limit)
	default:
		return callscribe.Errorf(callscribe.EINVALID, "the form could not be read")
	}
}

// signedIn sends a visitor who is not signed in to the sign-in page, coming back here after.
func (s *Server) signedIn(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, v *visit) error {
		if v.Account == nil {
			if r.Method != http.MethodGet {
				return callscribe.Errorf(callscribe.EUNAUTHORIZED, "sign in first")
			}
			http.Redirect(w, r, "/signin?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return nil
		}
		return h(w, r, v)
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
	s.render(w, r, v, status, "error", map[string]any{"Status": status, "Code": code, "Message": safeMessage(err)})
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
