package webapp

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"callscribe"
	"callscribe/accounts"
	"callscribe/oauth"
)

// profileFields are the fields of the profile a person corrects: every one the
// agreement lists. A correction is a rectification: recorded with the value before.
var profileFields = []field{
	{"surname", true, "text", "family-name"},
	{"first_name", true, "text", "given-name"},
	{"patronymic", false, "text", "additional-name"},
	{"email", true, "email", "email"},
	{"phone", false, "tel", "tel"},
}

// profilePage is what the profile shows besides the account itself.
type profilePage struct {
	Fields  []field
	History []callscribe.Rectification
	// Linked are the provider identities linked to the account; Linkable the configured
	// providers it has none of yet (by Name, for /signin/{provider}).
	Linked   []accounts.LinkedIdentity
	Linkable []string
	// Telegram and Notices are the messenger link and the notice preferences.
	Telegram telegramSection
	Notices  noticeSection
	// Problem is a catalogue key of a problem to show at the top ("problem.…").
	Problem string
}

// identityProvider is the provider key an identity of p carries (oauth.Identity.Provider).
func identityProvider(p oauth.Provider) string {
	if _, ok := p.(*oauth.OIDC); ok {
		return "oidc:" + p.Name()
	}
	return p.Name()
}

// problems are the problems the profile may be sent back with (?problem=…).
var problems = map[string]bool{"link_taken": true, "link_exists": true, "unlink_last": true}

func (s *Server) profilePage(r *http.Request, v *visit) (profilePage, error) {
	page := profilePage{Fields: profileFields}
	if p := r.URL.Query().Get("problem"); problems[p] {
		page.Problem = "problem." + p
	}
	var err error
	if page.History, err = s.cfg.Accounts.ProfileHistory(r.Context(), v.Account.ID); err != nil {
		return page, err
	}
	if page.Linked, err = s.cfg.Accounts.Identities(r.Context(), v.Account.ID); err != nil {
		return page, err
	}
	if page.Telegram, err = s.telegramSection(r, v); err != nil {
		return page, err
	}
	if page.Notices, err = s.noticeSection(r, v); err != nil {
		return page, err
	}
	have := map[string]bool{}
	for _, id := range page.Linked {
		have[id.Provider] = true
	}
	for _, p := range s.cfg.Providers {
		if !have[identityProvider(p)] {
			page.Linkable = append(page.Linkable, p.Name())
		}
	}
	return page, nil
}

// accountForm is the profile form filled with the account's values as kept.
func accountForm(a *accounts.Account) map[string]string {
	return map[string]string{"surname": a.Surname, "first_name": a.FirstName, "patronymic": a.Patronymic,
		"email": a.Email, "phone": a.Phone}
}

func (s *Server) profile(w http.ResponseWriter, r *http.Request, v *visit) error {
	page, err := s.profilePage(r, v)
	if err != nil {
		return err
	}
	s.renderForm(w, r, v, http.StatusOK, "profile", page, accountForm(v.Account), nil)
	return nil
}

// updateProfile corrects the profile through the accounts service's rectification path;
// a new email address is unconfirmed until the link sent to it is opened.
func (s *Server) updateProfile(w http.ResponseWriter, r *http.Request, v *visit) error {
	var edits []callscribe.ProfileEdit
	for _, f := range profileFields {
		edits = append(edits, callscribe.ProfileEdit{Field: f.Name, Value: r.PostFormValue(f.Name)})
	}
	recs, err := s.cfg.Accounts.UpdateProfile(r.Context(), v.Account.ID, edits, "user:"+v.Account.ID.String())
	var fe accounts.FieldErrors
	if errors.As(err, &fe) {
		page, perr := s.profilePage(r, v)
		if perr != nil {
			return perr
		}
		s.renderForm(w, r, v, http.StatusUnprocessableEntity, "profile", page,
			formValues(r, "surname", "first_name", "patronymic", "email", "phone"), fieldErrors(v.Lang, fe))
		return nil
	}
	if err != nil {
		return err
	}
	done := "profile_saved"
	if len(recs) == 0 {
		done = "profile_unchanged"
	}
	for _, rec := range recs {
		if rec.Field != "email" || strings.EqualFold(rec.Before, rec.After) {
			continue
		}
		token, err := s.cfg.Accounts.ResendVerification(r.Context(), v.Account.ID)
		if err != nil {
			return err
		}
		acct := *v.Account
		acct.Email = rec.After
		if err := s.sendLink(r.Context(), acct, "mail.verify.subject", "mail.verify.body", "/verify?token="+url.QueryEscape(token)); err != nil {
			return err
		}
		done = "profile_saved_verify"
	}
	http.Redirect(w, r, "/profile?done="+done, http.StatusSeeOther)
	return nil
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, v *visit) error {
	err := s.cfg.Accounts.ChangePassword(r.Context(), v.Account.ID, r.PostFormValue("old_password"), r.PostFormValue("password"))
	var fe accounts.FieldErrors
	if errors.As(err, &fe) {
		page, perr := s.profilePage(r, v)
		if perr != nil {
			return perr
		}
		s.renderForm(w, r, v, http.StatusUnprocessableEntity, "profile", page, accountForm(v.Account), fieldErrors(v.Lang, fe))
		return nil
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/profile?done=password_changed", http.StatusSeeOther)
	return nil
}

// unlinkProvider unlinks the account's identity of a provider; the last way to sign in
// stays (the page says why).
func (s *Server) unlinkProvider(w http.ResponseWriter, r *http.Request, v *visit) error {
	err := s.cfg.Accounts.UnlinkIdentity(r.Context(), v.Account.ID, r.PostFormValue("provider"))
	if callscribe.ErrorCode(err) == callscribe.ECONFLICT {
		http.Redirect(w, r, "/profile?problem=unlink_last#providers", http.StatusSeeOther)
		return nil
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/profile?done=unlinked#providers", http.StatusSeeOther)
	return nil
}
