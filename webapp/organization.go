package webapp

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/google/uuid"

	"callscribe"
	"callscribe/accounts"
	"callscribe/mail"
	"callscribe/redact"
)

// companyFields are the organization's details an admin corrects, validated as at
// registration (INN, KPP and OGRN by their check digits and form); only the name is
// required, as the account service requires.
var companyFields = []field{
	{"company", true, "text", "organization"},
	{"inn", false, "text", "off"},
	{"kpp", false, "text", "off"},
	{"ogrn", false, "text", "off"},
}

// roles are the roles an admin gives, in the order offered.
var roles = []accounts.Role{accounts.RoleMember, accounts.RoleOfficer, accounts.RoleAdmin}

type orgPage struct {
	Fields  []field
	Members []accounts.Account
	Invites []accounts.Invitation
	Roles   []accounts.Role
	// RedactionTypes are the types of personal data the organization may redact, in
	// redact's order; the form holds "redact:TYPE" set for each one redacted.
	RedactionTypes []redact.Type
	RedactionNone  bool // the organization redacts nothing
	// Problem is a catalogue key of a problem to show at the top ("problem.…").
	Problem string
}

var orgProblems = map[string]bool{"last_admin": true}

func (s *Server) orgPage(r *http.Request, v *visit) (orgPage, map[string]string, error) {
	page := orgPage{Fields: companyFields, Roles: roles, RedactionTypes: redact.Types}
	if p := r.URL.Query().Get("problem"); orgProblems[p] {
		page.Problem = "problem." + p
	}
	o, c, err := s.cfg.Accounts.Organization(r.Context(), v.Account.OrgID)
	if err != nil {
		return page, nil, err
	}
	if page.Members, err = s.cfg.Accounts.Members(r.Context(), *v.Account); err != nil {
		return page, nil, err
	}
	if page.Invites, err = s.cfg.Accounts.Invitations(r.Context(), *v.Account); err != nil {
		return page, nil, err
	}
	form := map[string]string{"company": c.Name, "inn": c.INN, "kpp": c.KPP, "ogrn": c.OGRN, "invite_role": string(accounts.RoleMember)}
	replace := "tags"
	if o.RedactionMask != "" {
		replace = "mask"
	}
	page.RedactionNone = !redactionForm(form, func(t string) bool { return !slices.Contains(o.RedactionOff, t) }, replace, o.RedactionMask)
	return page, form, nil
}

// redactionForm writes the redaction section's values into form: "redact:TYPE" "on" for
// each type on (and "" for the others), the replacement (tags or mask) and the mask. It
// reports whether any type is on.
func redactionForm(form map[string]string, on func(typ string) bool, replace, mask string) (someOn bool) {
	form["replace"], form["redact_mask"] = replace, mask
	for _, t := range redact.Types {
		form["redact:"+string(t)] = ""
		if on(string(t)) {
			form["redact:"+string(t)] = "on"
			someOn = true
		}
	}
	return someOn
}

func (s *Server) organization(w http.ResponseWriter, r *http.Request, v *visit) error {
	page, form, err := s.orgPage(r, v)
	if err != nil {
		return err
	}
	s.renderForm(w, r, v, http.StatusOK, "organization", page, form, nil)
	return nil
}

// renderOrgErrors shows the organization page again with errs next to their fields
// and the values entered in form over the ones kept.
func (s *Server) renderOrgErrors(w http.ResponseWriter, r *http.Request, v *visit, entered, errs map[string]string) error {
	page, form, err := s.orgPage(r, v)
	if err != nil {
		return err
	}
	for k, val := range entered {
		form[k] = val
	}
	s.renderForm(w, r, v, http.StatusUnprocessableEntity, "organization", page, form, errs)
	return nil
}

func (s *Server) updateCompany(w http.ResponseWriter, r *http.Request, v *visit) error {
	c := accounts.Company{Name: r.PostFormValue("company"), INN: r.PostFormValue("inn"), KPP: r.PostFormValue("kpp"), OGRN: r.PostFormValue("ogrn")}
	err := s.cfg.Accounts.UpdateCompany(r.Context(), *v.Account, c)
	var fe accounts.FieldErrors
	if errors.As(err, &fe) {
		return s.renderOrgErrors(w, r, v, formValues(r, "company", "inn", "kpp", "ogrn"), fieldErrors(v.Lang, fe))
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/organization?done=company_saved", http.StatusSeeOther)
	return nil
}

// setRedaction sets which personal data the organization's transcripts have replaced
// before they are stored or sent, and with what: each type's tag or one mask.
func (s *Server) setRedaction(w http.ResponseWriter, r *http.Request, v *visit) error {
	if err := r.ParseForm(); err != nil {
		return callscribe.Errorf(callscribe.EINVALID, "the form could not be read")
	}
	on := r.PostForm["redact"]
	entered := map[string]string{}
	redactionForm(entered, func(t string) bool { return slices.Contains(on, t) }, r.PostFormValue("replace"), strings.TrimSpace(r.PostFormValue("redact_mask")))
	var mask string
	switch entered["replace"] {
	case "tags":
	case "mask":
		mask = entered["redact_mask"]
		if mask == "" {
			return s.renderOrgErrors(w, r, v, entered, fieldErrors(v.Lang, accounts.FieldErrors{"redact_mask": "required"}))
		}
	default:
		return callscribe.Errorf(callscribe.EINVALID, "replace must be tags or mask")
	}
	err := s.cfg.Accounts.SetRedaction(r.Context(), *v.Account, on, mask)
	var fe accounts.FieldErrors
	if errors.As(err, &fe) {
		return s.renderOrgErrors(w, r, v, entered, fieldErrors(v.Lang, fe))
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/organization?done=redaction_saved#redaction", http.StatusSeeOther)
	return nil
}

// setRole changes a member's role; the organization keeps at least one admin.
func (s *Server) setRole(w http.ResponseWriter, r *http.Request, v *visit) error {
	id, err := uuid.Parse(r.PostFormValue("user_id"))
	if err != nil {
		return callscribe.Errorf(callscribe.EINVALID, "no such member")
	}
	role, err := accounts.ParseRole(r.PostFormValue("role"))
	if err != nil {
		return err
	}
	err = s.cfg.Accounts.SetRole(r.Context(), *v.Account, id, role)
	if callscribe.ErrorCode(err) == callscribe.ECONFLICT {
		http.Redirect(w, r, "/organization?problem=last_admin#members", http.StatusSeeOther)
		return nil
	}
	if err != nil {
		return err
	}
	if id == v.Account.ID && role != accounts.RoleAdmin {
		// An admin who gave up the role has no organization page any more.
		http.Redirect(w, r, "/profile?done=role_saved", http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, "/organization?done=role_saved#members", http.StatusSeeOther)
	return nil
}

// invite sends an invitation link to an email address, in the admin's language: the
// invitee registers with it into this organization with the role given.
func (s *Server) invite(w http.ResponseWriter, r *http.Request, v *visit) error {
	email, role := r.PostFormValue("invite_email"), r.PostFormValue("invite_role")
	token, err := s.cfg.Accounts.Invite(r.Context(), *v.Account, email, accounts.Role(role))
	var fe accounts.FieldErrors
	if errors.As(err, &fe) {
		errs := map[string]string{}
		for field, msg := range fieldErrors(v.Lang, fe) {
			errs["invite_"+field] = msg
		}
		if fe["email"] == "email_taken" {
			// Said to the admin, not to the address's owner: an account belongs to one
			// organization, so this address cannot join another.
			errs["invite_email"] = translate(v.Lang, "err.invite_email_taken")
		}
		return s.renderOrgErrors(w, r, v, formValues(r, "invite_email", "invite_role"), errs)
	}
	if err != nil {
		return err
	}
	if err := s.sendInvite(r.Context(), v, email, "/register?invite="+url.QueryEscape(token)); err != nil {
		return err
	}
	http.Redirect(w, r, "/organization?done=invited#invite", http.StatusSeeOther)
	return nil
}

// sendInvite mails the invitation link; without a mailer it goes to the server log with
// the organization's id, never the address.
func (s *Server) sendInvite(ctx context.Context, v *visit, to, path string) error {
	link := s.cfg.BaseURL + path
	if s.cfg.Mailer == nil {
		s.log.InfoContext(ctx, "one-time link (no SMTP configured)", "org_id", v.Account.OrgID, "kind", "mail.invite.subject", "link", link)
		return nil
	}
	err := s.cfg.Mailer.Send(ctx, mail.Message{To: to, Subject: translate(v.Lang, "mail.invite.subject"), Text: translate(v.Lang, "mail.invite.body", v.Account.OrgName, link)})
	if err != nil {
		return callscribe.Wrap(callscribe.EUNAVAILABLE, err, "the email could not be sent; try again later")
	}
	return nil
}

// revokeInvite withdraws the invitations sent to an address: their links stop working.
func (s *Server) revokeInvite(w http.ResponseWriter, r *http.Request, v *visit) error {
	if err := s.cfg.Accounts.RevokeInvitation(r.Context(), *v.Account, r.PostFormValue("email")); err != nil {
		return err
	}
	http.Redirect(w, r, "/organization?done=invite_revoked#invite", http.StatusSeeOther)
	return nil
}
