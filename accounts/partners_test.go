package accounts_test

import (
	"crypto/sha256"
	"testing"
	"time"

	"callscribe"
	"callscribe/accounts"
)

// TestPartnerAttribution: a click on a partner's link gives a random click id, stored
// as its sha256; a registration carrying it within the attribution window records the
// partner and the click on the organization (once per click); later, or with another
// partner's code, nothing is recorded. The report counts clicks and registrations.
func TestPartnerAttribution(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *accounts.Config) { c.AttributionWindow = 24 * time.Hour })
	if _, err := e.svc.AddPartner(bg, "bank-7", "Bank Seven"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.AddPartner(bg, "crm", "CRM vendor"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "a partner code twice", func() error { _, err := e.svc.AddPartner(bg, "crm", "Again"); return err }(), callscribe.ECONFLICT)
	wantCode(t, "a bad partner code", func() error { _, err := e.svc.AddPartner(bg, "a b", "X"); return err }(), callscribe.EINVALID)
	_, err := e.svc.Click(bg, "nobody")
	wantCode(t, "a click for an unknown partner", err, callscribe.ENOTFOUND)

	click, err := e.svc.Click(bg, "bank-7")
	if err != nil || len(click) != 43 {
		t.Fatalf("click: %q, %v", click, err)
	}
	sum := sha256.Sum256([]byte(click))
	if n := e.count(t, `SELECT count(*) FROM partner_clicks WHERE hash = $1`, sum[:]); n != 1 {
		t.Errorf("%d clicks stored under the id's sha256, want 1", n)
	}
	attributed := func(a accounts.Account) string {
		var code *string
		if err := e.db.Pool().QueryRow(callscribe.AsSystem(bg), `
			SELECT p.code FROM organizations o LEFT JOIN partners p ON p.id = o.partner_id WHERE o.id = $1`, a.OrgID).Scan(&code); err != nil {
			t.Fatal(err)
		}
		if code == nil {
			return ""
		}
		return *code
	}
	e.clk.Add(23 * time.Hour)
	r := reg("1")
	r.PartnerCode, r.PartnerClickID = "bank-7", click
	a, _ := e.register(t, r)
	if got := attributed(a); got != "bank-7" {
		t.Errorf("registration within the window attributed to %q, want bank-7", got)
	}
	r = reg("2")
	r.PartnerCode, r.PartnerClickID = "bank-7", click
	if got := attributed(func() accounts.Account { a, _ := e.register(t, r); return a }()); got != "" {
		t.Errorf("a second registration with the same click attributed to %q", got)
	}
	late, _ := e.svc.Click(bg, "bank-7")
	wrong, _ := e.svc.Click(bg, "crm")
	r = reg("3")
	r.PartnerCode, r.PartnerClickID = "bank-7", wrong
	if got := attributed(func() accounts.Account { a, _ := e.register(t, r); return a }()); got != "" {
		t.Errorf("another partner's click attributed to %q", got)
	}
	e.clk.Add(24*time.Hour + time.Second)
	r = reg("4")
	r.PartnerCode, r.PartnerClickID = "bank-7", late
	if got := attributed(func() accounts.Account { a, _ := e.register(t, r); return a }()); got != "" {
		t.Errorf("a registration after the window attributed to %q", got)
	}
	ps, err := e.svc.Partners(bg)
	if err != nil || len(ps) != 2 {
		t.Fatalf("partners: %+v, %v", ps, err)
	}
	if p := ps[0]; p.Code != "bank-7" || p.Clicks != 2 || p.Registrations != 1 {
		t.Errorf("report row %+v: want bank-7 with 2 clicks, 1 registration", p)
	}
	if p := ps[1]; p.Code != "crm" || p.Clicks != 1 || p.Registrations != 0 {
		t.Errorf("report row %+v: want crm with 1 click, 0 registrations", p)
	}
}

// TestAgreementVersions: with none published there is nothing pending; a registration
// accepts the version in force; a new version is pending until accepted; declining one
// withdraws every consent (channel web) and ends every session.
func TestAgreementVersions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.svc.CurrentAgreement(bg)
	wantCode(t, "the agreement before any is published", err, callscribe.ENOTFOUND)
	early, _ := e.register(t, reg("0"))
	if p, err := e.svc.PendingAgreement(bg, early.ID); p != nil || err != nil {
		t.Errorf("pending with none published: %+v, %v", p, err)
	}
	v1, err := e.svc.PublishAgreement(bg, "1", "# Agreement v1", "cli")
	if err != nil || v1.Version != "1" {
		t.Fatal(v1, err)
	}
	wantCode(t, "a version twice", func() error { _, err := e.svc.PublishAgreement(bg, "1", "again", "cli"); return err }(), callscribe.ECONFLICT)
	wantCode(t, "an empty text", func() error { _, err := e.svc.PublishAgreement(bg, "9", " ", "cli"); return err }(), callscribe.EINVALID)
	if p, _ := e.svc.PendingAgreement(bg, early.ID); p == nil || p.Version != "1" {
		t.Errorf("pending for an account registered before v1: %+v", p)
	}
	a, _ := e.register(t, reg("1"))
	if p, err := e.svc.PendingAgreement(bg, a.ID); p != nil || err != nil {
		t.Errorf("pending right after registering under v1: %+v, %v", p, err)
	}
	e.clk.Add(time.Hour)
	if _, err := e.svc.PublishAgreement(bg, "2", "# Agreement v2", "cli"); err != nil {
		t.Fatal(err)
	}
	if cur, _ := e.svc.CurrentAgreement(bg); cur.Version != "2" || cur.Text != "# Agreement v2" {
		t.Errorf("current agreement %+v, want v2", cur)
	}
	if p, _ := e.svc.PendingAgreement(bg, a.ID); p == nil || p.Version != "2" {
		t.Fatalf("pending after v2: %+v", p)
	}
	wantCode(t, "accepting a version not in force", e.svc.AcceptAgreement(bg, a.ID, "1"), callscribe.ECONFLICT)
	if err := e.svc.AcceptAgreement(bg, a.ID, "2"); err != nil {
		t.Fatal(err)
	}
	if p, _ := e.svc.PendingAgreement(bg, a.ID); p != nil {
		t.Errorf("pending after accepting v2: %+v", p)
	}

	// Decline v3.
	e.clk.Add(time.Hour)
	if _, err := e.svc.PublishAgreement(bg, "3", "# Agreement v3", "cli"); err != nil {
		t.Fatal(err)
	}
	sys := callscribe.AsSystem(bg)
	if _, err := e.db.GrantConsent(sys, a.ID, callscribe.PurposeTranscription, "2", callscribe.ConsentViaWeb, e.clk.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.GrantConsent(sys, a.ID, callscribe.PurposeNotifications, "2", callscribe.ConsentViaWeb, e.clk.Now()); err != nil {
		t.Fatal(err)
	}
	s, _ := e.svc.StartSession(bg, a.ID, chromeLinux, "", "")
	if err := e.svc.DeclineAgreement(bg, a.ID, "3"); err != nil {
		t.Fatal(err)
	}
	if n := e.count(t, `SELECT count(*) FROM consents WHERE user_id = $1 AND withdrawn_at IS NULL`, a.ID); n != 0 {
		t.Errorf("%d consents in force after declining", n)
	}
	if n := e.count(t, `SELECT count(*) FROM consent_events WHERE user_id = $1 AND action = 'withdraw' AND channel = 'web'`, a.ID); n != 2 {
		t.Errorf("%d withdrawals recorded through the web, want 2", n)
	}
	_, _, err = e.svc.Session(bg, s.ID)
	wantCode(t, "a session after declining", err, callscribe.EUNAUTHORIZED)
	if n := e.count(t, `SELECT count(*) FROM agreement_answers WHERE user_id = $1 AND version = '3' AND action = 'decline' AND channel = 'web'`, a.ID); n != 1 {
		t.Errorf("%d declines recorded, want 1", n)
	}
	if p, _ := e.svc.PendingAgreement(bg, a.ID); p == nil || p.Version != "3" {
		t.Errorf("pending after declining v3: %+v, want v3 still", p)
	}
}
