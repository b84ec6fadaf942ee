package accounts_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"callscribe"
	"callscribe/accounts"
	"callscribe/storage/pgtest"
	"callscribe/storage/postgres"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, postgres.Migrate)) }

// clock is a settable clock for the service.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is one test's database, service and clock.
type env struct {
	db  *postgres.DB
	url string
	svc *accounts.Service
	clk *clock
	cfg accounts.Config
}

// cheap are argon2id parameters that keep tests fast: the hash format and the
// comparison are the same whatever the cost.
func cheap(cfg *accounts.Config) {
	cfg.Argon2.Time, cfg.Argon2.MemoryKiB, cfg.Argon2.Threads = 1, 1024, 1
}

func newEnv(t *testing.T, tweak ...func(*accounts.Config)) *env {
	t.Helper()
	url := pgtest.DB(t)
	db, err := postgres.Open(callscribe.AsSystem(context.Background()), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	clk := &clock{t: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
	var cfg accounts.Config
	cheap(&cfg)
	cfg.Now = clk.Now
	for _, f := range tweak {
		f(&cfg)
	}
	return &env{db: db, url: url, svc: accounts.New(db, cfg, nil), clk: clk, cfg: cfg}
}

var bg = context.Background()

// reg is a valid registration of a new organization; n makes its email and company unique.
func reg(n string) accounts.Registration {
	return accounts.Registration{Surname: "Ivanova", FirstName: "Anna", Patronymic: "Petrovna",
		Email: "anna." + n + "@example.ru", Phone: "8 916 135-79-68", Password: "correct horse battery",
		Company: accounts.Company{Name: "Romashka " + n, INN: "7707083893", KPP: "773601001", OGRN: "1027700132195"}}
}

func (e *env) register(t *testing.T, r accounts.Registration) (accounts.Account, string) {
	t.Helper()
	a, token, err := e.svc.Register(bg, r)
	if err != nil {
		t.Fatalf("register %s: %v", r.Email, err)
	}
	return a, token
}

// fieldErrors returns the FieldErrors in err, or nil.
func fieldErrors(err error) accounts.FieldErrors {
	var fe accounts.FieldErrors
	if errors.As(err, &fe) {
		return fe
	}
	return nil
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := callscribe.ErrorCode(err); got != code {
		t.Errorf("%s: code %q (%v), want %q", what, got, err, code)
	}
}

// count runs a count(*) query as the system.
func (e *env) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := e.db.Pool().QueryRow(callscribe.AsSystem(bg), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}
