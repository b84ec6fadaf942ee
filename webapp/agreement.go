package webapp

import (
	"net/http"
	"net/url"

	"callscribe"
)

// pendingPage is a new version of the user agreement waiting for the person's answer.
type pendingPage struct {
	agreementPage
	Next string
}

// agreementPending shows the version in force that the account has not answered yet,
// with the two answers; with nothing to answer it goes on to where the person was going.
func (s *Server) agreementPending(w http.ResponseWriter, r *http.Request, v *visit) error {
	next := localPath(r.URL.Query().Get("next"))
	if v.Pending == nil {
		http.Redirect(w, r, s.afterSignIn(next), http.StatusSeeOther)
		return nil
	}
	html, err := markdownUnder(v.Pending.Text, 1) // the page has its own h1
	if err != nil {
		return err
	}
	s.render(w, r, v, http.StatusOK, "agreement_accept", pendingPage{
		agreementPage: agreementPage{Version: v.Pending.Version, Published: formatTime(v.Lang, v.Pending.PublishedAt), HTML: html},
		Next:          next,
	})
	return nil
}

// acceptAgreement records the acceptance (channel web) of the version the page showed;
// when another version was published meanwhile, the page shows that one.
func (s *Server) acceptAgreement(w http.ResponseWriter, r *http.Request, v *visit) error {
	err := s.cfg.Accounts.AcceptAgreement(r.Context(), v.Account.ID, r.PostFormValue("version"))
	if callscribe.ErrorCode(err) == callscribe.ECONFLICT {
		http.Redirect(w, r, "/agreement/accept", http.StatusSeeOther)
		return nil
	}
	if err != nil {
		return err
	}
	next := localPath(r.PostFormValue("next"))
	if next == "" {
		next = "/profile?done=agreement_accepted"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// declineAgreement records the refusal through the accounts service, which withdraws
// every consent of the person (processing stops, calls in flight are discarded) and
// ends all their sessions; with the box ticked, an erasure request is filed first (it
// needs the person signed in, which they are not after).
func (s *Server) declineAgreement(w http.ResponseWriter, r *http.Request, v *visit) error {
	version := r.PostFormValue("version")
	if v.Pending == nil || v.Pending.Version != version {
		http.Redirect(w, r, "/agreement/accept", http.StatusSeeOther)
		return nil
	}
	erase := r.PostFormValue("erase") == "yes"
	if erase {
		if _, err := s.cfg.Accounts.RequestErasure(r.Context(), v.Account.ID); err != nil {
			return err
		}
	}
	if err := s.cfg.Accounts.DeclineAgreement(r.Context(), v.Account.ID, version); err != nil {
		return err
	}
	s.clearCookie(w, "session_id")
	// Signed out now, the next page keeps the account's language through the query.
	q := url.Values{"lang": {v.Lang}}
	if erase {
		q.Set("erasure", "requested")
	}
	http.Redirect(w, r, "/agreement/declined?"+q.Encode(), http.StatusSeeOther)
	return nil
}

// agreementDeclined explains what declining did and what follows.
func (s *Server) agreementDeclined(w http.ResponseWriter, r *http.Request, v *visit) error {
	s.render(w, r, v, http.StatusOK, "agreement_declined", map[string]bool{"Erasure": r.URL.Query().Get("erasure") == "requested"})
	return nil
}
