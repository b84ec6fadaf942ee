package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"callscribe"
)

// TestSweepQueries: what the sweeper is told is live, and which ended calls still lack
// a confirmed deletion.
func TestSweepQueries(t *testing.T) {
	t.Parallel()
	db, u := setup(t)
	ctx := callscribe.AsSystem(context.Background())
	staged := stagedCall(t, db, u) // stage "memory", live
	received, err := db.CreateCall(ctx, u.OrgID, u.ID, []string{"agent"})
	if err != nil {
		t.Fatal(err)
	}
	ended := stagedCall(t, db, u)
	if err := db.EndCall(ctx, ended, callscribe.CallFailed, callscribe.EINTERNAL, "x"); err != nil {
		t.Fatal(err)
	}
	confirmed := stagedCall(t, db, u)
	if err := db.EndCall(ctx, confirmed, callscribe.CallDiscarded, callscribe.ENOCONSENT, "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ConfirmDeletion(ctx, confirmed, time.Now(), time.Now()); err != nil {
		t.Fatal(err)
	}
	key := func(id uuid.UUID) string { return "calls/" + id.String() }

	live, err := db.LiveObjectKeys(ctx, []string{key(staged), key(received), key(ended), key(confirmed), "calls/unknown"})
	if err != nil {
		t.Fatal(err)
	}
	if len(live) != 1 || !live[key(staged)] {
		t.Errorf("LiveObjectKeys = %v, want only the staged call's key (received has no staging row yet)", live)
	}
	calls, err := db.LiveCalls(ctx, []uuid.UUID{staged, received, ended, confirmed, uuid.New()})
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 2 || !calls[staged] || !calls[received] {
		t.Errorf("LiveCalls = %v, want the staged and the received call", calls)
	}
	pending, err := db.UnconfirmedDeletions(ctx, "memory", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 || pending[ended] != key(ended) {
		t.Errorf("UnconfirmedDeletions(memory) = %v, want only the ended call, with its key", pending)
	}
	if other, err := db.UnconfirmedDeletions(ctx, "s3", 10); err != nil || len(other) != 0 {
		t.Errorf("UnconfirmedDeletions(s3) = %v, %v; want none (those calls were staged in memory)", other, err)
	}
	if empty, err := db.LiveObjectKeys(ctx, nil); err != nil || len(empty) != 0 {
		t.Errorf("LiveObjectKeys(nil) = %v, %v", empty, err)
	}
}
