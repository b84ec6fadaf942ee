package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"callscribe"
)

// TestAdmission: the one-round-trip check an upload makes agrees with UserBlocked and
// ConsentInForce through grant, other purposes, block, unblock and withdrawal, and a
// user that does not exist is ENOTFOUND.
func TestAdmission(t *testing.T) {
	t.Parallel()
	db, u := setup(t)
	ctx := callscribe.AsSystem(context.Background())
	now := time.Now()
	check := func(step string, wantBlocked, wantConsented bool) {
		t.Helper()
		blocked, consented, err := db.Admission(ctx, u.ID, callscribe.PurposeTranscription)
		if err != nil || blocked != wantBlocked || consented != wantConsented {
			t.Errorf("%s: Admission = blocked %v, consented %v, %v; want %v, %v", step, blocked, consented, err, wantBlocked, wantConsented)
		}
		b, err1 := db.UserBlocked(ctx, u.ID)
		c, err2 := db.ConsentInForce(ctx, u.ID, callscribe.PurposeTranscription)
		if err1 != nil || err2 != nil || b != blocked || c != consented {
			t.Errorf("%s: UserBlocked %v (%v), ConsentInForce %v (%v); Admission said %v, %v", step, b, err1, c, err2, blocked, consented)
		}
	}
	check("new user", false, false)
	if _, err := db.GrantConsent(ctx, u.ID, callscribe.PurposeSummarization, "v1", callscribe.ConsentViaAPI, now); err != nil {
		t.Fatal(err)
	}
	check("consent to another purpose only", false, false)
	if _, err := db.GrantConsent(ctx, u.ID, callscribe.PurposeTranscription, "v1", callscribe.ConsentViaAPI, now); err != nil {
		t.Fatal(err)
	}
	check("consented", false, true)
	if _, err := db.BlockUser(ctx, u.ID, now); err != nil {
		t.Fatal(err)
	}
	check("blocked", true, true)
	if _, err := db.UnblockUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	check("unblocked", false, true)
	if _, err := db.WithdrawConsent(ctx, u.ID, callscribe.PurposeTranscription, callscribe.ConsentViaAPI, now); err != nil {
		t.Fatal(err)
	}
	check("withdrawn", false, false)

	_, _, err := db.Admission(ctx, uuid.New(), callscribe.PurposeTranscription)
	if got := callscribe.ErrorCode(err); got != callscribe.ENOTFOUND {
		t.Errorf("unknown user: %v (code %q); want %q", err, got, callscribe.ENOTFOUND)
	}
}
