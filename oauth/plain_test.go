package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"callscribe"
)

func TestYandexAndVKSignIn(t *testing.T) {
	t.Parallel()
	for _, flavor := range []string{"yandex", "vk"} {
		t.Run(flavor, func(t *testing.T) {
			t.Parallel()
			f := newFakeProvider(t, flavor)
			p := f.provider(t)
			ctx := context.Background()
			if p.Name() != flavor {
				t.Errorf("Name %q, want %q", p.Name(), flavor)
			}
			authURL, st, err := p.Begin(ctx, callbackURL)
			if err != nil {
				t.Fatal(err)
			}
			q := authorize(t, authURL)
			id, err := p.Finish(ctx, st, callbackURL, q)
			if err != nil {
				t.Fatalf("Finish: %v", err)
			}
			want := Identity{Provider: flavor, Subject: f.userID, Email: f.email, Surname: "Петров", FirstName: "Иван"}
			if id != want {
				t.Errorf("identity %+v, want %+v", id, want)
			}

			aq := f.rec.get("/authorize")[0].query
			if aq.Get("code_challenge") != s256(st.Verifier) || aq.Get("code_challenge_method") != "S256" {
				t.Errorf("authorize got challenge %q method %q, want S256 of the verifier", aq.Get("code_challenge"), aq.Get("code_challenge_method"))
			}
			tr := f.rec.get(f.tokenPath())
			if len(tr) != 1 {
				t.Fatalf("token endpoint asked %d times, want once", len(tr))
			}
			form := tr[0].form
			if form.Get("code_verifier") != st.Verifier || form.Get("code") != q.Get("code") || form.Get("grant_type") != "authorization_code" {
				t.Errorf("token request form %v lacks the verifier, the code or the grant type", form)
			}
			ir := f.rec.get(f.infoPath())
			if len(ir) != 1 {
				t.Fatalf("user info asked %d times, want once", len(ir))
			}
			tok := accessToken(flavor, 2) // the code was the first thing issued, the token the second
			switch flavor {
			case "yandex":
				if aq.Has("scope") {
					t.Errorf("yandex was asked for scope %q; the application's registered rights apply", aq.Get("scope"))
				}
				if form.Get("client_secret") != f.sec {
					t.Errorf("yandex token request did not authenticate the application")
				}
				if got := ir[0].header.Get("Authorization"); got != "OAuth "+tok {
					t.Errorf("user-info Authorization %q, want %q", got, "OAuth "+tok)
				}
				if strings.Contains(ir[0].query.Encode(), tok) {
					t.Errorf("the token was put in the user-info URL: %v", ir[0].query)
				}
			case "vk":
				if aq.Get("scope") != "vkid.personal_info email" {
					t.Errorf("vk scope %q, want %q", aq.Get("scope"), "vkid.personal_info email")
				}
				if form.Get("device_id") == "" || form.Get("device_id") != q.Get("device_id") {
					t.Errorf("vk token request device_id %q, want the callback's %q", form.Get("device_id"), q.Get("device_id"))
				}
				if form.Get("state") != st.State || form.Get("redirect_uri") != callbackURL || form.Get("client_id") != f.clientID {
					t.Errorf("vk token request form %v lacks state, redirect_uri or client_id", form)
				}
				if form.Has("client_secret") {
					t.Errorf("vk token request sent a client secret")
				}
				if ir[0].method != http.MethodPost || ir[0].form.Get("access_token") != tok || ir[0].form.Get("client_id") != f.clientID {
					t.Errorf("vk user info got %s form %v, want POST access_token and client_id", ir[0].method, ir[0].form)
				}
			}

			// The code is single-use at the provider; a replayed callback is refused.
			_, err = p.Finish(ctx, st, callbackURL, q)
			wantErr(t, err, callscribe.EUNAUTHORIZED, []string{"invalid_grant"}, q.Get("code"))
		})
	}
}

// What goes wrong at the provider gives a clear error with the right code, and never
// the code, the access token or the email in its text.
func TestYandexAndVKProviderErrors(t *testing.T) {
	t.Parallel()
	huge := `{"user":{"user_id":"1","first_name":"` + strings.Repeat("я", 1<<20) + `"},"id":"1"}`
	hang := func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	tests := []struct {
		name    string
		token   http.HandlerFunc // replaces the token endpoint
		info    http.HandlerFunc // replaces the user-info endpoint
		code    string
		want    string
		tooBig  bool
		timeout bool
	}{
		{name: "token endpoint 400", code: callscribe.EUNAUTHORIZED, want: "refused the sign-in code (invalid_grant)",
			token: func(w http.ResponseWriter, r *http.Request) {
				_ = r.ParseForm()
				oauthError(w, http.StatusBadRequest, "invalid_grant", "Code "+r.PostForm.Get("code")+" has expired")
			}},
		{name: "token endpoint 400 without a JSON body", code: callscribe.EUNAUTHORIZED, want: "HTTP 400",
			token: func(w http.ResponseWriter, r *http.Request) { http.Error(w, "bad request", http.StatusBadRequest) }},
		{name: "token endpoint 503", code: callscribe.EUNAVAILABLE, want: "not answering",
			token: func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) }},
		{name: "token answer malformed JSON", code: callscribe.EUNAVAILABLE, want: "no usable answer",
			token: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"access_token": "abc`))
			}},
		{name: "token answer oversized", code: callscribe.EUNAVAILABLE, want: "no usable answer",
			token: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"access_token":"` + strings.Repeat("a", 3<<20) + `"}`))
			}},
		{name: "token endpoint hangs", code: callscribe.EUNAVAILABLE, want: "did not answer in time", token: hang, timeout: true},
		{name: "user info 401", code: callscribe.EUNAUTHORIZED, want: "refused to tell who signed in (HTTP 401)",
			info: func(w http.ResponseWriter, r *http.Request) {
				oauthError(w, http.StatusUnauthorized, "invalid_token", "expired")
			}},
		{name: "user info 500", code: callscribe.EUNAVAILABLE, want: "no usable answer",
			info: func(w http.ResponseWriter, r *http.Request) { http.Error(w, "oops", http.StatusInternalServerError) }},
		{name: "user info malformed JSON", code: callscribe.EUNAVAILABLE, want: "no usable answer",
			info: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"user": {"user_id": "1", "email": "ivan.petrov@example.ru"`))
			}},
		{name: "user info is HTML", code: callscribe.EUNAVAILABLE, want: "no usable answer",
			info: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				_, _ = w.Write([]byte(`<html>captcha</html>`))
			}},
		{name: "user info oversized", code: callscribe.EUNAVAILABLE, want: "no usable answer", tooBig: true,
			info: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(huge))
			}},
		{name: "user info hangs", code: callscribe.EUNAVAILABLE, want: "did not answer in time", info: hang, timeout: true},
		{name: "user info without an id", code: callscribe.EUNAVAILABLE, want: "did not say who signed in",
			info: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"user":{"first_name":"Иван"},"first_name":"Иван"}`))
			}},
	}
	for _, flavor := range []string{"yandex", "vk"} {
		for _, tt := range tests {
			t.Run(flavor+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				f := newFakeProvider(t, flavor)
				if tt.token != nil {
					f.set(f.tokenPath(), tt.token)
				}
				if tt.info != nil {
					f.set(f.infoPath(), tt.info)
				}
				p := f.provider(t, WithTimeout(500*time.Millisecond))
				ctx := context.Background()
				authURL, st, err := p.Begin(ctx, callbackURL)
				if err != nil {
					t.Fatal(err)
				}
				q := authorize(t, authURL)
				start := time.Now()
				_, err = p.Finish(ctx, st, callbackURL, q)
				wantErr(t, err, tt.code, []string{flavor, tt.want}, q.Get("code"), accessToken(flavor, 2), f.email)
				if tt.tooBig && !errors.Is(err, errTooLarge) {
					t.Errorf("error %v, want the answer-too-large cause", err)
				}
				if tt.timeout && time.Since(start) > 10*time.Second {
					t.Errorf("Finish took %s with a 500ms timeout per call", time.Since(start))
				}
			})
		}
	}
}

func TestVKChecks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(*fakeProvider)
		query func(url.Values)
		want  string
	}{
		{name: "callback without device_id", query: func(q url.Values) { q.Del("device_id") }, want: "without a device_id"},
		{name: "token answer repeats another state", setup: func(f *fakeProvider) { f.tokenStateOff = "someone-elses-state" }, want: "another sign-in (state)"},
		{name: "token answer names another user", setup: func(f *fakeProvider) { f.tokenUserIDOff = "999" }, want: "two different users"},
		{name: "user info error with HTTP 200", setup: func(f *fakeProvider) {
			f.set("/oauth2/user_info", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"error":"invalid_token","error_description":"access_token is missing or invalid"}`))
			})
		}, want: "refused to tell who signed in (invalid_token)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeProvider(t, "vk")
			if tt.setup != nil {
				tt.setup(f)
			}
			p := f.provider(t)
			ctx := context.Background()
			authURL, st, err := p.Begin(ctx, callbackURL)
			if err != nil {
				t.Fatal(err)
			}
			q := authorize(t, authURL)
			if tt.query != nil {
				tt.query(q)
			}
			_, err = p.Finish(ctx, st, callbackURL, q)
			wantErr(t, err, callscribe.EUNAUTHORIZED, []string{tt.want}, q.Get("code"), accessToken("vk", 2))
		})
	}
}

// The user id comes as a string from user_info and as a number from the token call.
func TestVKUserIDForms(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{`"1234567890"`: "1234567890", `1234567890`: "1234567890", `null`: ""} {
		var v vkID
		if err := v.UnmarshalJSON([]byte(in)); err != nil || string(v) != want {
			t.Errorf("user_id %s: got %q, %v; want %q", in, v, err, want)
		}
	}
	var v vkID
	if err := v.UnmarshalJSON([]byte(`1.5`)); err == nil {
		t.Errorf("user_id 1.5 accepted as %q", v)
	}
}

func TestYandexRefusesTokenOfAnotherApplication(t *testing.T) {
	t.Parallel()
	f := newFakeProvider(t, "yandex")
	p := f.provider(t)
	f.set("/info", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"1130000012345678","client_id":"someone-elses-app","default_email":"ivan.petrov@example.ru"}`))
	})
	ctx := context.Background()
	authURL, st, err := p.Begin(ctx, callbackURL)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Finish(ctx, st, callbackURL, authorize(t, authURL))
	wantErr(t, err, callscribe.EUNAUTHORIZED, []string{"another application"}, f.email)
}

// Every provider refuses a callback that does not belong to the sign-in it started, or
// that brings the provider's refusal, before it calls the provider again.
func TestCallbackRefusals(t *testing.T) {
	t.Parallel()
	type setup struct {
		p         Provider
		tokenReqs func() int
	}
	providers := map[string]func(t *testing.T) setup{
		"oidc": func(t *testing.T) setup {
			f := newOIDCFixture(t, nil)
			return setup{f.p, func() int { return len(f.rec.get("/oidc/token")) }}
		},
		"yandex": func(t *testing.T) setup {
			f := newFakeProvider(t, "yandex")
			return setup{f.provider(t), func() int { return len(f.rec.get(f.tokenPath())) }}
		},
		"vk": func(t *testing.T) setup {
			f := newFakeProvider(t, "vk")
			return setup{f.provider(t), func() int { return len(f.rec.get(f.tokenPath())) }}
		},
	}
	tests := []struct {
		name      string
		change    func(st *Pending, q url.Values)
		want      string
		cancelled bool
	}{
		{name: "access_denied", change: func(_ *Pending, q url.Values) { q.Del("code"); q.Set("error", "access_denied") },
			want: "was cancelled", cancelled: true},
		{name: "another error", change: func(_ *Pending, q url.Values) { q.Del("code"); q.Set("error", "server_error") },
			want: "refused the sign-in (server_error)"},
		{name: "an error code that is not one", change: func(_ *Pending, q url.Values) {
			q.Del("code")
			q.Set("error", "<script>ivan@example.ru</script>")
		}, want: "refused the sign-in (unknown error)"},
		{name: "an error with another sign-in's state", change: func(_ *Pending, q url.Values) {
			q.Del("code")
			q.Set("error", "access_denied")
			q.Set("state", "forged")
		}, want: "does not match"},
		{name: "no code", change: func(_ *Pending, q url.Values) { q.Del("code") }, want: "without a code"},
		{name: "no state", change: func(_ *Pending, q url.Values) { q.Del("state") }, want: "does not match"},
		{name: "state differs in one character", change: func(_ *Pending, q url.Values) {
			s := []byte(q.Get("state"))
			s[len(s)-1] ^= 1
			q.Set("state", string(s))
		}, want: "does not match"},
		{name: "nothing pending", change: func(st *Pending, _ url.Values) { *st = Pending{} }, want: "not started here"},
	}
	for name, mk := range providers {
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				s := mk(t)
				ctx := context.Background()
				authURL, st, err := s.p.Begin(ctx, callbackURL)
				if err != nil {
					t.Fatal(err)
				}
				q := authorize(t, authURL)
				tt.change(&st, q)
				_, err = s.p.Finish(ctx, st, callbackURL, q)
				wantErr(t, err, callscribe.EUNAUTHORIZED, []string{tt.want}, "ivan@example.ru")
				if errors.Is(err, ErrCancelled) != tt.cancelled {
					t.Errorf("errors.Is(err, ErrCancelled) = %v, want %v", !tt.cancelled, tt.cancelled)
				}
				if n := s.tokenReqs(); n != 0 {
					t.Errorf("the token endpoint was called %d times for a refused callback", n)
				}
			})
		}
	}
}

func TestBeginRefusesARelativeCallback(t *testing.T) {
	t.Parallel()
	f := newFakeProvider(t, "vk")
	for _, u := range []string{"/auth/callback", "javascript:alert(1)", ""} {
		if _, _, err := f.provider(t).Begin(context.Background(), u); err == nil {
			t.Errorf("Begin(%q) succeeded, want an error", u)
		}
	}
}
