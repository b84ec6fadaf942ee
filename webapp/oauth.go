package webapp

import (
	"crypto/rand"
	"net/http"
	"slices"
	"sync"
	"time"

	"callscribe"
	"callscribe/accounts"
	"callscribe/oauth"
)

// pendingStore keeps each OAuth sign-in's state, nonce and PKCE verifier between the
// redirect to the provider and the callback, under a random key the browser holds in a
// ten-minute cookie: the callback must come back to the browser that started it.
type pendingStore struct {
	mu   sync.Mutex
	ttl  time.Duration
	byID map[string]pendingSignIn
	// order holds the ids in the order they were put, which, with one ttl for all, is
	// the order they expire in. Ids already taken stay in it until they reach its front.
	order []string
}

type pendingSignIn struct {
	provider string
	st       oauth.Pending
	linkTo   *accounts.Account // set when a signed-in user links a provider
	expires  time.Time
}

// maxPending bounds the store: past it, the oldest sign-ins in flight are forgotten.
const maxPending = 10000

func newPendingStore(ttl time.Duration) *pendingStore {
	return &pendingStore{ttl: ttl, byID: map[string]pendingSignIn{}}
}

func (ps *pendingStore) put(p pendingSignIn) string {
	id := rand.Text()
	now := time.Now()
	p.expires = now.Add(ps.ttl)
	ps.mu.Lock()
	defer ps.mu.Unlock()
	// Forget, from the front, the ids taken, the sign-ins expired and, while the store is
	// full, the oldest.
	for len(ps.order) > 0 {
		front, ok := ps.byID[ps.order[0]]
		if ok && !now.After(front.expires) && len(ps.byID) < maxPending {
			break
		}
		delete(ps.byID, ps.order[0])
		ps.order = ps.order[1:]
	}
	// Taken ids behind a live front: drop them once they outnumber the live ones, so
	// that order stays within twice the store's size.
	if len(ps.order) >= 2*maxPending {
		ps.order = slices.DeleteFunc(ps.order, func(id string) bool { _, ok := ps.byID[id]; return !ok })
	}
	ps.byID[id] = p
	ps.order = append(ps.order, id)
	return id
}

// take returns the sign-in under id once: a callback cannot be replayed.
func (ps *pendingStore) take(id string) (pendingSignIn, bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	p, ok := ps.byID[id]
	delete(ps.byID, id)
	if !ok || time.Now().After(p.expires) {
		return pendingSignIn{}, false
	}
	return p, true
}

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
	id := s.pending.put(pendingSignIn{provider: p.Name(), st: st, linkTo: v.Account})
	s.setCookie(w, "oauth_id", id, s.pending.ttl)
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
		return callscribe.Errorf(callscribe.EUNAUTHORIZED, "this sign-in was not started in this browser, or took longer than 10 minutes; start it again")
	}
	s.clearCookie(w, "oauth_id")
	pend, ok := s.pending.take(c.Value)
	if !ok || pend.provider != p.Name() {
		return callscribe.Errorf(callscribe.EUNAUTHORIZED, "this sign-in was not started in this browser, or took longer than 10 minutes; start it again")
	}
	id, err := p.Finish(r.Context(), pend.st, s.callbackURL(p.Name()), r.URL.Query())
	if err != nil {
		return err
	}
	if pend.linkTo != nil {
		if v.Account == nil || v.Account.ID != pend.linkTo.ID {
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
