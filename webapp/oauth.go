package webapp

import (
	"net/http"

	"callscribe"
	"callscribe/accounts"
	"callscribe/oauth"

	"github.com/google/uuid"
)

// errSignInLost answers a provider's callback that no sign-in in flight matches: no
// cookie, a cookie of another provider's, one taken already or expired.
var errSignInLost = callscribe.Errorf(callscribe.EUNAUTHORIZED, "this sign-in was not started in this browser, or took longer than 10 minutes; start it again")

func (s *Server) provider(name string) (oauth.Provider, error) {
	for _, p := range s.cfg.Providers {
		if p.Name() == name {
			return p, nil
		}
	}
	return nil, callscribe.Errorf(callscribe.ENOTFOUND, "no sign-in provider %q is configured", name)
}

func (s *Server) callbackURL(provider string) string {
	return s.cfg.BaseURL + "/oauth/" + provider + "/callback"
}

// oauthStart sends the browser to the provider: to sign in, or, when signed in, to link
// the provider to the account.
func (s *Server) oauthStart(w http.ResponseWriter, r *http.Request, v *visit) error {
	p, err := s.provider(r.PathValue("provider"))
	if err != nil {
		return err
	}
	to, st, err := p.Begin(r.Context(), s.callbackURL(p.Name()))
	if err != nil {
		return err
	}
	// The sign-in waits for its callback in the database, which any serve process may
	// answer, under an id only this browser holds.
	pend := accounts.PendingSignIn{Provider: p.Name(), State: st.State, Nonce: st.Nonce, Verifier: st.Verifier}
	if v.Account != nil {
		pend.LinkUserID = v.Account.ID
	}
	id, err := s.cfg.Accounts.HoldSignIn(r.Context(), pend)
	if err != nil {
		return err
	}
	s.setCookie(w, "oauth_id", id, accounts.SignInTTL)
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

func (s *Server) oauthCallback(w http.ResponseWriter, r *http.Request, v *visit) error {
	p, err := s.provider(r.PathValue("provider"))
	if err != nil {
		return err
	}
	c, err := r.Cookie(s.cookieName("oauth_id"))
	if err != nil {
		return errSignInLost
	}
	s.clearCookie(w, "oauth_id")
	pend, err := s.cfg.Accounts.TakeSignIn(r.Context(), c.Value)
	if callscribe.ErrorCode(err) == callscribe.ENOTFOUND || err == nil && pend.Provider != p.Name() {
		return errSignInLost
	}
	if err != nil {
		return err
	}
	st := oauth.Pending{State: pend.State, Nonce: pend.Nonce, Verifier: pend.Verifier}
	id, err := p.Finish(r.Context(), st, s.callbackURL(p.Name()), r.URL.Query())
	if err != nil {
		return err
	}
	if pend.LinkUserID != uuid.Nil {
		if v.Account == nil || v.Account.ID != pend.LinkUserID {
			return callscribe.Errorf(callscribe.EUNAUTHORIZED, "sign in again to link a provider")
		}
		linked, err := s.cfg.Accounts.Identities(r.Context(), v.Account.ID)
		if err != nil {
			return err
		}
		for _, l := range linked {
			if l.Provider == id.Provider && l.Subject != id.Subject {
				http.Redirect(w, r, "/profile?problem=link_exists#providers", http.StatusSeeOther)
				return nil
			}
		}
		err = s.cfg.Accounts.LinkIdentity(r.Context(), v.Account.ID, accounts.Identity(id))
		if callscribe.ErrorCode(err) == callscribe.ECONFLICT {
			// The identity belongs to another account: linking it here would let whoever
			// holds it sign in to both.
			http.Redirect(w, r, "/profile?problem=link_taken#providers", http.StatusSeeOther)
			return nil
		}
		if err != nil {
			return err
		}
		http.Redirect(w, r, "/profile?done=linked#providers", http.StatusSeeOther)
		return nil
	}
	acct, err := s.cfg.Accounts.SignInIdentity(r.Context(), accounts.Identity(id))
	if callscribe.ErrorCode(err) == callscribe.ENOTFOUND {
		s.render(w, r, v, http.StatusOK, "not_linked", map[string]string{"Provider": p.Name()})
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.startSession(w, r, acct); err != nil {
		return err
	}
	http.Redirect(w, r, "/profile", http.StatusSeeOther)
	return nil
}
