package oauth_test

import (
	"context"
	"net/http"
	"os"

	"callscribe/oauth"
)

// pendingStore is the web app's: server-side rows keyed by an opaque id that a
// short-lived cookie carries (the cookie holds no data).
type pendingStore interface {
	Put(ctx context.Context, provider string, st oauth.Pending) (id string, err error)
	Take(ctx context.Context, id, provider string) (oauth.Pending, error) // deletes it
}

// How a web app signs people in with the configured providers.
func Example() {
	providers, err := oauth.FromEnv(os.Getenv)
	if err != nil {
		panic(err) // the message names the variable
	}
	var store pendingStore // the web app's
	const callback = "https://calls.example.ru/signin/callback"

	for _, p := range providers {
		http.HandleFunc("POST /signin/"+p.Name(), func(w http.ResponseWriter, r *http.Request) {
			authURL, st, err := p.Begin(r.Context(), callback+"/"+p.Name())
			if err != nil {
				http.Error(w, "sign-in unavailable", http.StatusServiceUnavailable)
				return
			}
			id, err := store.Put(r.Context(), p.Name(), st)
			if err != nil {
				http.Error(w, "sign-in unavailable", http.StatusServiceUnavailable)
				return
			}
			http.SetCookie(w, &http.Cookie{Name: "iq_signin", Value: id, Path: "/signin/callback", MaxAge: 600,
				HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
			http.Redirect(w, r, authURL, http.StatusSeeOther)
		})
		http.HandleFunc("GET /signin/callback/"+p.Name(), func(w http.ResponseWriter, r *http.Request) {
			c, err := r.Cookie("iq_signin")
			if err != nil {
				http.Error(w, "sign-in expired", http.StatusUnauthorized)
				return
			}
			st, err := store.Take(r.Context(), c.Value, p.Name())
			if err != nil {
				http.Error(w, "sign-in expired", http.StatusUnauthorized)
				return
			}
			id, err := p.Finish(r.Context(), st, callback+"/"+p.Name(), r.URL.Query())
			if err != nil {
				// callscribe.ErrorCode(err) → status; callscribe.ErrorMessage(err) is safe to
				// show; errors.Is(err, oauth.ErrCancelled) when the user said no.
				http.Error(w, "sign-in refused", http.StatusUnauthorized)
				return
			}
			_ = id // link (id.Provider, id.Subject) to one account; keep only what Identity holds
		})
	}
}
