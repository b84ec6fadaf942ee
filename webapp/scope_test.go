package webapp

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"callscribe"
	"callscribe/accounts"
	"callscribe/storage/pgtest"
	"callscribe/storage/postgres"
)

// TestSignedInRequestsAreScoped: a handler of a signed-in visit gets a context scoped to
// the session's organization (row-level security then guards every query it makes, as
// it guards the API's), never the system's; an anonymous visit's carries no scope.
func TestSignedInRequestsAreScoped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	cfg := accounts.Config{}
	cfg.Argon2.Time, cfg.Argon2.MemoryKiB, cfg.Argon2.Threads = 1, 1024, 1
	acc := accounts.New(db, cfg, nil)
	s, err := New(Config{Accounts: acc, BaseURL: "http://127.0.0.1", InsecureCookies: true})
	if err != nil {
		t.Fatal(err)
	}
	acct, _, err := acc.Register(ctx, accounts.Registration{Surname: "Иванова", FirstName: "Анна", Email: "anna@example.ru",
		Password: "correct horse battery", Company: accounts.Company{Name: "ООО Ромашка", INN: "7707083893"}})
	if err != nil {
		t.Fatal(err)
	}
	ses, err := acc.StartSession(ctx, acct.ID, "test", "192.0.2.1", "")
	if err != nil {
		t.Fatal(err)
	}
	var got callscribe.Scope
	h := s.serve(func(w http.ResponseWriter, r *http.Request, v *visit) error {
		got = callscribe.ScopeOf(r.Context())
		return nil
	})
	req := httptest.NewRequest("GET", "/profile", nil)
	req.AddCookie(&http.Cookie{Name: "iq_session_id", Value: ses.ID})
	h.ServeHTTP(httptest.NewRecorder(), req)
	if got.OrgID != acct.OrgID || got.System {
		t.Errorf("a signed-in request's scope is %+v, want the organization %s", got, acct.OrgID)
	}
	got = callscribe.Scope{System: true}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/profile", nil))
	if got != (callscribe.Scope{}) {
		t.Errorf("an anonymous request's scope is %+v, want none", got)
	}
}
