package webapp

import (
	"bytes"
	"callscribe/accounts"
	"html/template"
	"net/http"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"

	"callscribe"
)

func (s *Server) home(w http.ResponseWriter, r *http.Request, v *visit) error {
	if v.Account != nil {
		to := "/profile" // an unverified account's profile says how to verify
		if v.Account.EmailVerified && s.cfg.Readers.Store != nil {
			to = "/calls"
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
		return nil
	}
	s.render(w, r, v, http.StatusOK, "home", nil)
	return nil
}

// agreementPage is the user agreement in force, rendered from the operator's markdown.
type agreementPage struct {
	Version   string
	Published string
	HTML      template.HTML
}

func (s *Server) agreement(w http.ResponseWriter, r *http.Request, v *visit) error {
	a, err := s.cfg.Accounts.CurrentAgreement(r.Context())
	if callscribe.ErrorCode(err) == callscribe.ENOTFOUND {
		s.render(w, r, v, http.StatusOK, "agreement", nil)
		return nil
	}
	if err != nil {
		return err
	}
	html, err := markdown(a.Text)
	if err != nil {
		return err
	}
	s.render(w, r, v, http.StatusOK, "agreement", agreementPage{Version: a.Version, Published: formatTime(v.Lang, a.PublishedAt), HTML: html})
	return nil
}

// markdown renders the operator's markdown. goldmark leaves raw HTML out unless told to
// keep it, so the text cannot bring a script onto the page.
func markdown(src string) (template.HTML, error) { return markdownUnder(src, 0) }

// markdownUnder renders the markdown with its headings moved down by levels (at most to
// h6): inside a page that has its own h1, the text's headings come under it.
func markdownUnder(src string, levels int) (template.HTML, error) {
	var buf bytes.Buffer
	md := goldmark.New(goldmark.WithParserOptions(parser.WithASTTransformers(util.Prioritized(headingShift(levels), 100))))
	if err := md.Convert([]byte(src), &buf); err != nil {
		return "", callscribe.Wrap(callscribe.EINTERNAL, err, "render the agreement")
	}
	return template.HTML(buf.String()), nil // #nosec: goldmark's default renderer omits raw HTML
}

// headingShift moves every heading of a document down by its number of levels.
type headingShift int

func (h headingShift) Transform(doc *ast.Document, _ text.Reader, _ parser.Context) {
	if h == 0 {
		return
	}
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if hd, ok := n.(*ast.Heading); ok && entering {
			hd.Level = min(hd.Level+int(h), 6)
		}
		return ast.WalkContinue, nil
	})
}

// cookieRow describes one cookie on the cookie page.
type cookieRow struct{ Name, Purpose, Life, Contents string }

func (s *Server) cookies(w http.ResponseWriter, r *http.Request, v *visit) error {
	rows := []cookieRow{
		{s.cookieName("session_id"), "cookies.session.purpose", lifetime(v.Lang, s.cfg.SessionTTL), "cookies.session.contents"},
		{s.cookieName("partner_id"), "cookies.partner.purpose", lifetime(v.Lang, s.cfg.AttributionWindow), "cookies.partner.contents"},
		{s.cookieName("partner_click_id"), "cookies.click.purpose", lifetime(v.Lang, s.cfg.AttributionWindow), "cookies.click.contents"},
		{s.cookieName("oauth_id"), "cookies.oauth.purpose", lifetime(v.Lang, accounts.SignInTTL), "cookies.oauth.contents"},
	}
	s.render(w, r, v, http.StatusOK, "cookies", rows)
	return nil
}

// partnerLink records a visit through a partner's link and sets the two partner cookies
// (the partner's code and a random click id, nothing else), then shows the landing page.
func (s *Server) partnerLink(w http.ResponseWriter, r *http.Request, v *visit) error {
	code := r.PathValue("code")
	click, err := s.cfg.Accounts.Click(r.Context(), code)
	if err != nil {
		return err
	}
	s.setCookie(w, "partner_id", code, s.cfg.AttributionWindow)
	s.setCookie(w, "partner_click_id", click, s.cfg.AttributionWindow)
	to := "/"
	if l := r.URL.Query().Get("lang"); known(l) {
		to += "?lang=" + l
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

func (s *Server) setLanguage(w http.ResponseWriter, r *http.Request, v *visit) error {
	lang := r.PostFormValue("lang")
	if !known(lang) {
		return callscribe.Errorf(callscribe.EINVALID, "unknown language %q (ru or en)", lang)
	}
	if err := s.cfg.Accounts.SetLanguage(r.Context(), v.Account.ID, lang); err != nil {
		return err
	}
	http.Redirect(w, r, "/profile", http.StatusSeeOther)
	return nil
}

func (s *Server) sessions(w http.ResponseWriter, r *http.Request, v *visit) error {
	c, _ := r.Cookie(s.cookieName("session_id"))
	list, err := s.cfg.Accounts.Sessions(r.Context(), v.Account.ID, c.Value)
	if err != nil {
		return err
	}
	s.render(w, r, v, http.StatusOK, "sessions", list)
	return nil
}

// endSessions signs the account out everywhere, this browser included.
func (s *Server) endSessions(w http.ResponseWriter, r *http.Request, v *visit) error {
	if err := s.cfg.Accounts.EndSessions(r.Context(), v.Account.ID); err != nil {
		return err
	}
	s.clearCookie(w, "session_id")
	http.Redirect(w, r, "/signin?done=signed_out_everywhere", http.StatusSeeOther)
	return nil
}
