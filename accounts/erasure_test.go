package accounts_test

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"callscribe"
	"callscribe/accounts"
	"callscribe/privacy"
	"callscribe/storage/pgtest"
	"callscribe/storage/postgres"
)

// TestErasureTakesTheAccount: closing an erasure request ends the subject's sessions in
// the closing transaction; the purge then deletes everything the account added (sessions
// with their addresses, linked identities, tokens, an invitation still addressed to them,
// agreement answers, the account row), and a scan of every row of every table finds
// none of their identifiers. Another account's data stays.
func TestErasureTakesTheAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sys := callscribe.AsSystem(bg)
	if _, err := e.svc.PublishAgreement(bg, "2026-1", "# Agreement\n\nText.", "cli"); err != nil {
		t.Fatal(err)
	}
	r := reg("1")
	r.Surname = "Zaitseva"
	a, _ := e.register(t, r)
	if _, _, err := e.svc.RequestReset(bg, r.Email); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.StartSession(bg, a.ID, chromeLinux, "198.51.100.77", ""); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.LinkIdentity(bg, a.ID, accounts.Identity{Provider: "vk", Subject: "vk-subject-991", Email: "zaitseva.vk@example.ru", Surname: "Zaitseva"}); err != nil {
		t.Fatal(err)
	}
	r2 := reg("2")
	r2.Phone = "+7 903 123-45-67"
	other, _ := e.register(t, r2)
	// An admin's invitation to the subject's address (to another organization), unused.
	if _, err := e.svc.Invite(bg, other, "zaitseva.invited@example.ru", accounts.RoleMember); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Pool().Exec(sys, `UPDATE users SET email = 'zaitseva.invited@example.ru' WHERE id = $1`, a.ID); err != nil {
		t.Fatal(err)
	}
	otherSession, _ := e.svc.StartSession(bg, other.ID, chromeLinux, "", "")

	reqs := &privacy.Requests{Store: e.db, Now: time.Now}
	req, err := reqs.Add(sys, privacy.NewRequest{OrgID: a.OrgID, UserID: a.ID, Kind: callscribe.RequestErasure,
		ReceivedAt: time.Now().In(privacy.Moscow), Actor: "cli:test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reqs.Start(sys, req.ID, "cli:test"); err != nil {
		t.Fatal(err)
	}
	h, err := privacy.NewSubjectHasher([]byte("test key, 32 bytes or longer....."))
	if err != nil {
		t.Fatal(err)
	}
	eraser := &privacy.Eraser{Store: e.db, Hasher: h, Ledger: &privacy.LedgerFile{Path: filepath.Join(t.TempDir(), "ledger.jsonl")}}
	jobs, err := river.NewClient(riverpgxv5.New(e.db.Pool()), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	reqs.Store, reqs.Eraser = &postgres.Queued{DB: e.db, Jobs: jobs}, eraser
	if _, err := reqs.Close(sys, req.ID, privacy.Closing{Actor: "cli:test", Channel: callscribe.ConsentViaCLI}); err != nil {
		t.Fatal(err)
	}
	if n := e.count(t, `SELECT count(*) FROM sessions WHERE user_id = $1`, a.ID); n != 0 {
		t.Errorf("%d sessions of the subject left after the close", n)
	}
	var args string
	if err := e.db.Pool().QueryRow(sys, `SELECT args::text FROM river_job WHERE kind = 'erase_subject'`).Scan(&args); err != nil {
		t.Fatal(err)
	}
	var job callscribe.EraseSubjectJob
	if err := json.Unmarshal([]byte(args), &job); err != nil {
		t.Fatal(err)
	}
	if err := (&privacy.EraseWorker{Requests: e.db, Eraser: eraser}).Work(sys, &river.Job[callscribe.EraseSubjectJob]{Args: job}); err != nil {
		t.Fatal(err)
	}
	needles := []string{a.ID.String(), "zaitseva", "+79161357968", "9161357968", "198.51.100.77", "vk-subject-991"}
	if hits := pgtest.Scan(t, e.url, needles); len(hits) > 0 {
		t.Errorf("after the erasure the database still holds: %v", hits)
	}
	if _, _, err := e.svc.Session(bg, otherSession.ID); err != nil {
		t.Errorf("another account's session after the erasure: %v", err)
	}
	if n := e.count(t, `SELECT count(*) FROM agreement_answers WHERE user_id = $1`, other.ID); n != 1 {
		t.Errorf("another account's agreement answers: %d, want 1", n)
	}
}
