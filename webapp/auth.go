package webapp

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"callscribe"
	"callscribe/accounts"
	"callscribe/mail"
)

// field is one input of a form.
type field struct {
	Name     string
	Required bool
	Type     string // the input's type
	Auto     string // its autocomplete token
}

// registrationFields are the registration form's fields in the order shown; the account
// service says which are required (the form marks those, and says why each is asked).
var registrationFields = func() []field {
	out := []field{
		{Name: "surname", Type: "text", Auto: "family-name"},
		{Name: "first_name", Type: "text", Auto: "given-name"},
		{Name: "patronymic", Type: "text", Auto: "additional-name"},
		{Name: "email", Type: "email", Auto: "email"},
		{Name: "phone", Type: "tel", Auto: "tel"},
		{Name: "password", Type: "password", Auto: "new-password"},
		{Name: "company", Type: "text", Auto: "organization"},
		{Name: "inn", Type: "text", Auto: "off"},
		{Name: "kpp", Type: "text", Auto: "off"},
		{Name: "ogrn", Type: "text", Auto: "off"},
	}
	for i := range out {
		out[i].Required = slices.Contains(accounts.RequiredFields, out[i].Name)
	}
	return out
}()

func formValues(r *http.Request, names ...string) map[string]string {
	m := map[string]string{}
	for _, n := range names {
		if n == "password" {
			continue // never shown again
		}
		m[n] = strings.TrimSpace(r.PostFormValue(n))
	}
	return m
}

// fieldErrors translates the account service's field errors into the visitor's language.
func fieldErrors(lang string, fe accounts.FieldErrors) map[string]string {
	out := map[string]string{}
	for field, key := range fe {
		out[field] = translate(lang, "err."+key)
	}
	return out
}

type registerPage struct {
	Fields     []field
	Invite     string
	InviteOrg  string
	InviteMail string
}

func (s *Server) registerForm(w http.ResponseWriter, r *http.Request, v *visit) error {
	page := registerPage{Invite: r.URL.Query().Get("invite")}
	form := map[string]string{}
	if page.Invite != "" {
		org, email, _, err := s.cfg.Accounts.Invitation(r.Context(), page.Invite)
		if err != nil {
			return err
		}
		page.InviteOrg, page.InviteMail = org, email
		form["email"] = email
	}
	page.Fields = s.fieldsFor(page.Invite != "")
	s.renderForm(w, r, v, http.StatusOK, "register", page, form, nil)
	return nil
}

// fieldsFor drops the company fields when an invitation joins an existing organization.
func (s *Server) fieldsFor(invited bool) []field {
	var out []field
	for _, f := range registrationFields {
		if invited && (f.Name == "company" || f.Name == "inn" || f.Name == "kpp" || f.Name == "ogrn") {
			continue
		}
		out = append(out, f)
	}
	return out
}

func (s *Server) register(w http.ResponseWriter, r *http.Request, v *visit) error {
	reg := accounts.Registration{
		Surname: r.PostFormValue("surname"), FirstName: r.PostFormValue("first_name"),
		Patronymic: r.PostFormValue("patronymic"), Email: r.PostFormValue("email"),
		Phone: r.PostFormValue("phone"), Password: r.PostFormValue("password"), Language: v.Lang,
		Company: accounts.Company{
			Name: r.PostFormValue("company"), INN: r.PostFormValue("inn"),
			KPP: r.PostFormValue("kpp"), OGRN: r.PostFormValue("ogrn"),
		},
		InviteToken: r.PostFormValue("invite"),
	}
	if c, err := r.Cookie(s.cookieName("partner_id")); err == nil {
		reg.PartnerCode = c.Value
	}
	if c, err := r.Cookie(s.cookieName("partner_click_id")); err == nil {
		reg.PartnerClickID = c.Value
	}
	acct, token, err := s.cfg.Accounts.Register(r.Context(), reg)
	var fe accounts.FieldErrors
	if errors.As(err, &fe) {
		page := registerPage{Invite: reg.InviteToken, Fields: s.fieldsFor(reg.InviteToken != "")}
		s.renderForm(w, r, v, http.StatusUnprocessableEntity, "register", page,
			formValues(r, "surname", "first_name", "patronymic", "email", "phone", "company", "inn", "kpp", "ogrn"), fieldErrors(v.Lang, fe))
		return nil
	}
	if err != nil {
		return err
	}
	if reg.PartnerCode != "" {
		s.clearCookie(w, "partner_id")
		s.clearCookie(w, "partner_click_id")
	}
	if token != "" {
		if err := s.sendLink(r.Context(), acct, "mail.verify.subject", "mail.verify.body", "/verify?token="+url.QueryEscape(token)); err != nil {
			return err
		}
	}
	if err := s.startSession(w, r, acct); err != nil {
		return err
	}
	http.Redirect(w, r, "/profile?done=registered", http.StatusSeeOther)
	return nil
}

// sendLink mails acct a one-time link in their language; without a mailer it writes the
// link to the server log with the user's id (never the address).
func (s *Server) sendLink(ctx context.Context, acct accounts.Account, subjectKey, bodyKey, path string) error {
	link := s.cfg.BaseURL + path
	lang := acct.Language
	if !known(lang) {
		lang = languages[0]
	}
	if s.cfg.Mailer == nil {
		s.log.InfoContext(ctx, "one-time link (no SMTP configured)", "user_id", acct.ID, "kind", subjectKey, "link", link)
		return nil
	}
	err := s.cfg.Mailer.Send(ctx, mail.Message{To: acct.Email, Subject: translate(lang, subjectKey), Text: translate(lang, bodyKey, link)})
	if err != nil {
		return callscribe.Wrap(callscribe.EUNAVAILABLE, err, "the email could not be sent; try again later")
	}
	return nil
}

func (s *Server) verify(w http.ResponseWriter, r *http.Request, v *visit) error {
	if _, err := s.cfg.Accounts.VerifyEmail(r.Context(), r.URL.Query().Get("token")); err != nil {
		return err
	}
	http.Redirect(w, r, "/profile?done=verified", http.StatusSeeOther)
	return nil
}

func (s *Server) resendVerification(w http.ResponseWriter, r *http.Request, v *visit) error {
	token, err := s.cfg.Accounts.ResendVerification(r.Context(), v.Account.ID)
	if err != nil {
		return err
	}
	if err := s.sendLink(r.Context(), *v.Account, "mail.verify.subject", "mail.verify.body", "/verify?token="+url.QueryEscape(token)); err != nil {
		return err
	}
	http.Redirect(w, r, "/profile?done=verification_sent", http.StatusSeeOther)
	return nil
}

// startSession begins a session for acct with a new id, ending the one the browser had
// (no fixation), and sets its cookie.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, acct accounts.Account) error {
	old := ""
	if c, err := r.Cookie(s.cookieName("session_id")); err == nil {
		old = c.Value
	}
	ses, err := s.cfg.Accounts.StartSession(r.Context(), acct.ID, r.UserAgent(), clientAddr(r), old)
	if err != nil {
		return err
	}
	s.setCookie(w, "session_id", ses.ID, s.cfg.SessionTTL)
	return nil
}

type signinPage struct {
	Next      string
	Providers []string
}

func (s *Server) providerNames() []string {
	var out []string
	for _, p := range s.cfg.Providers {
		out = append(out, p.Name())
	}
	return out
}

func (s *Server) signinForm(w http.ResponseWriter, r *http.Request, v *visit) error {
	s.renderForm(w, r, v, http.StatusOK, "signin", signinPage{Next: localPath(r.URL.Query().Get("next")), Providers: s.providerNames()}, nil, nil)
	return nil
}

func (s *Server) signin(w http.ResponseWriter, r *http.Request, v *visit) error {
	next := localPath(r.PostFormValue("next"))
	acct, err := s.cfg.Accounts.SignIn(r.Context(), r.PostFormValue("email"), r.PostFormValue("password"), clientAddr(r))
	if err != nil {
		status := httpStatus(err)
		if status >= 500 {
			return err
		}
		// One message for an unknown email and a wrong password: nothing tells which.
		key := "signin.failed"
		if status == http.StatusTooManyRequests {
			key = "signin.throttled"
		}
		s.renderForm(w, r, v, status, "signin", signinPage{Next: next, Providers: s.providerNames()},
			formValues(r, "email"), map[string]string{"form": translate(v.Lang, key)})
		return nil
	}
	if err := s.startSession(w, r, acct); err != nil {
		return err
	}
	http.Redirect(w, r, s.afterSignIn(next), http.StatusSeeOther)
	return nil
}

// afterSignIn is where a fresh session goes: the page it came for, else the profile.
func (s *Server) afterSignIn(next string) string {
	if next == "" {
		return "/profile"
	}
	return next
}

// localPath admits only a path on this site as a place to go after signing in: never
// another host (an open redirect).
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") || strings.ContainsAny(p, "\r\n") {
		return ""
	}
	return p
}

func (s *Server) signout(w http.ResponseWriter, r *http.Request, v *visit) error {
	if v.Session != nil {
		if c, err := r.Cookie(s.cookieName("session_id")); err == nil {
			if err := s.cfg.Accounts.EndSession(r.Context(), c.Value); err != nil {
				return err
			}
		}
	}
	s.clearCookie(w, "session_id")
	http.Redirect(w, r, "/signin?done=signed_out", http.StatusSeeOther)
	return nil
}

func (s *Server) resetRequestForm(w http.ResponseWriter, r *http.Request, v *visit) error {
	s.render(w, r, v, http.StatusOK, "reset_request", nil)
	return nil
}

// resetRequest sends a reset link when the email is an account's, and answers the same
// whether it is or not.
func (s *Server) resetRequest(w http.ResponseWriter, r *http.Request, v *visit) error {
	acct, token, err := s.cfg.Accounts.RequestReset(r.Context(), r.PostFormValue("email"))
	if err != nil && httpStatus(err) >= 500 {
		return err
	}
	if err == nil && token != "" {
		if err := s.sendLink(r.Context(), acct, "mail.reset.subject", "mail.reset.body", "/reset/password?token="+url.QueryEscape(token)); err != nil {
			return err
		}
	}
	http.Redirect(w, r, "/signin?done=reset_sent", http.StatusSeeOther)
	return nil
}

func (s *Server) resetForm(w http.ResponseWriter, r *http.Request, v *visit) error {
	s.renderForm(w, r, v, http.StatusOK, "reset", nil, map[string]string{"token": r.URL.Query().Get("token")}, nil)
	return nil
}

func (s *Server) reset(w http.ResponseWriter, r *http.Request, v *visit) error {
	token := r.PostFormValue("token")
	_, err := s.cfg.Accounts.ResetPassword(r.Context(), token, r.PostFormValue("password"))
	var fe accounts.FieldErrors
	if errors.As(err, &fe) {
		s.renderForm(w, r, v, http.StatusUnprocessableEntity, "reset", nil, map[string]string{"token": token}, fieldErrors(v.Lang, fe))
		return nil
	}
	if err != nil {
		return err
	}
	s.clearCookie(w, "session_id")
	http.Redirect(w, r, "/signin?done=password_reset", http.StatusSeeOther)
	return nil
}
