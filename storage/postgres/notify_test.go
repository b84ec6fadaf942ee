package postgres_test

import (
	"context"
	"testing"
	"time"

	"callscribe"
	"callscribe/internal/eventually"
)

// TestWatchUserWakesOnWithdrawalAndBlock: the withdrawing (or blocking) transaction's
// NOTIFY reaches a watcher of that user, and only of that user.
func TestWatchUserWakesOnWithdrawalAndBlock(t *testing.T) {
	t.Parallel()
	db, u := setup(t)
	ctx := callscribe.AsSystem(context.Background())
	other, err := db.CreateUser(ctx, callscribe.User{OrgID: u.OrgID, Email: "other@example.ru"})
	if err != nil {
		t.Fatal(err)
	}
	db.GrantConsent(ctx, u.ID, callscribe.PurposeTranscription, "1", callscribe.ConsentViaCLI, time.Now())
	db.GrantConsent(ctx, other.ID, callscribe.PurposeTranscription, "1", callscribe.ConsentViaCLI, time.Now())
	wake, stop := db.WatchUser(ctx, u.ID)
	defer stop()
	otherWake, stopOther := db.WatchUser(ctx, other.ID)
	defer stopOther()

	expect := func(what string, ch <-chan struct{}, want bool) {
		t.Helper()
		wait := 5 * time.Second
		if !want {
			wait = 300 * time.Millisecond
		}
		select {
		case <-ch:
			if !want {
				t.Errorf("%s: woken, want not", what)
			}
		case <-time.After(wait):
			if want {
				t.Errorf("%s: not woken within %v", what, wait)
			}
		}
	}
	if _, err := db.WithdrawConsent(ctx, u.ID, callscribe.PurposeTranscription, callscribe.ConsentViaAPI, time.Now()); err != nil {
		t.Fatal(err)
	}
	expect("watcher of the withdrawing user", wake, true)
	expect("watcher of another user", otherWake, false)
	if _, err := db.BlockUser(ctx, u.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	expect("watcher of the blocked user", wake, true)
	// A grant is no reason to stop a call: it wakes nobody.
	db.GrantConsent(ctx, other.ID, callscribe.PurposeSummarization, "1", callscribe.ConsentViaCLI, time.Now())
	expect("watcher after a grant", otherWake, false)

	// With nobody watching, the listening connection is closed.
	stop()
	stopOther()
	eventually.True(t, 5*time.Second, "close of the listening connection after the last watcher stopped", func() bool {
		n := -1
		db.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND query LIKE 'LISTEN%'`).Scan(&n)
		return n == 0
	})
}
