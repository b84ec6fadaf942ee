package postgres_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"callscribe"
)

// TestCallEndHook: every way a call reaches its final status runs the call-end hook once,
// in the ending transaction after the status is written (the hook sees it), and a hook
// that fails rolls the end back: a call never ends without what its end must record (its
// webhook deliveries).
func TestCallEndHook(t *testing.T) {
	t.Parallel()
	db, u := setup(t)
	ctx := callscribe.AsSystem(context.Background())
	db.GrantConsent(ctx, u.ID, callscribe.PurposeTranscription, "1", callscribe.ConsentViaCLI, time.Now())
	seen := map[uuid.UUID][]string{} // call → the statuses the hook saw, in order
	var refuse uuid.UUID
	db.OnCallEnd(func(ctx context.Context, tx pgx.Tx, id uuid.UUID) error {
		var status string
		if err := tx.QueryRow(ctx, `SELECT status FROM calls WHERE id = $1`, id).Scan(&status); err != nil {
			return err
		}
		if id == refuse {
			return errors.New("hook refused")
		}
		seen[id] = append(seen[id], status)
		return nil
	})
	want := func(id uuid.UUID, statuses ...string) {
		t.Helper()
		if !slices.Equal(seen[id], statuses) {
			t.Errorf("hook saw call %s with %v, want %v", id, seen[id], statuses)
		}
	}

	failed := stagedCall(t, db, u)
	if err := db.EndCall(ctx, failed, callscribe.CallFailed, callscribe.EUNREADABLE, "bad audio"); err != nil {
		t.Fatal(err)
	}
	if err := db.EndCall(ctx, failed, callscribe.CallDiscarded, callscribe.ENOCONSENT, "again"); err != nil {
		t.Fatal(err)
	}
	want(failed, "failed") // ending an ended call changes nothing and runs nothing

	completed := stagedCall(t, db, u)
	if res, err := db.CompleteCall(ctx, u.ID, callscribe.Transcript{CallID: completed, Engine: "e", Text: "x"}); err != nil || !res.Stored {
		t.Fatalf("CompleteCall = %+v, %v", res, err)
	}
	want(completed, "completed")

	queued := []uuid.UUID{stagedCall(t, db, u), stagedCall(t, db, u)}
	ids, err := db.DiscardQueuedCalls(ctx, u.ID, callscribe.ENOCONSENT, "withdrawn")
	if err != nil || len(ids) != 2 {
		t.Fatalf("DiscardQueuedCalls = %v, %v; want the 2 queued calls", ids, err)
	}
	for _, id := range queued {
		want(id, "discarded")
	}

	// A call whose job River gave up on: the sweeper ends it, and that end is an event too.
	abandoned := stagedCall(t, db, u)
	if _, err := db.Pool().Exec(ctx, `
		INSERT INTO river_job (args, kind, max_attempts, state, queue, priority, finalized_at)
		VALUES (jsonb_build_object('call_id', $1::text), 'transcribe_call', 1, 'discarded', 'default', 1, now())`, abandoned); err != nil {
		t.Fatal(err)
	}
	if ids, err := db.EndAbandonedCalls(ctx, "memory"); err != nil || !slices.Contains(ids, abandoned) {
		t.Fatalf("EndAbandonedCalls = %v, %v; want the abandoned call", ids, err)
	}
	want(abandoned, "failed")

	// The hook fails: the end is rolled back with it, the call still live and its key kept.
	refuse = stagedCall(t, db, u)
	if err := db.EndCall(ctx, refuse, callscribe.CallFailed, callscribe.EINTERNAL, "x"); err == nil {
		t.Fatal("EndCall succeeded though its hook failed")
	}
	if st, _ := db.CallStatus(ctx, refuse); st.Ended() {
		t.Errorf("status %s after a failed hook, want the call still live", st)
	}
	var key []byte
	if err := db.Pool().QueryRow(ctx, `SELECT key FROM call_stages WHERE call_id = $1`, refuse).Scan(&key); err != nil || key == nil {
		t.Errorf("staging key after a failed hook: %v, %v; want it kept", key, err)
	}
}
