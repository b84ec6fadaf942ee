package postgres_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"callscribe"
	"callscribe/storage/pgtest"
	"callscribe/storage/postgres"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, postgres.Migrate)) }

func setup(t *testing.T) (*postgres.DB, callscribe.User) {
	t.Helper()
	ctx := callscribe.AsSystem(context.Background())
	db, err := postgres.Open(ctx, pgtest.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	org, err := db.EnsureOrganization(ctx, "local")
	if err != nil {
		t.Fatal(err)
	}
	u, err := db.CreateUser(ctx, callscribe.User{OrgID: org, Email: "Smirnov@Example.ru"})
	if err != nil {
		t.Fatal(err)
	}
	return db, u
}

func stagedCall(t *testing.T, db *postgres.DB, u callscribe.User) uuid.UUID {
	t.Helper()
	ctx := callscribe.AsSystem(context.Background())
	id, err := db.CreateCall(ctx, u.OrgID, u.ID, []string{"agent"})
	if err != nil {
		t.Fatal(err)
	}
	err = db.RecordStaging(ctx, id, callscribe.Staging{Stage: "memory", ObjectKey: "calls/" + id.String(),
		Key: []byte("0123456789abcdef0123456789abcdef"), Bytes: 10, SHA256: strings.Repeat("ab", 32), StagedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestEmailIsUniqueIgnoringCase(t *testing.T) {
	t.Parallel()
	db, u := setup(t)
	ctx := callscribe.AsSystem(context.Background())
	_, err := db.CreateUser(ctx, callscribe.User{OrgID: u.OrgID, Email: "smirnov@example.RU"})
	if got := callscribe.ErrorCode(err); got != callscribe.ECONFLICT {
		t.Errorf("second user with the same email: code %q, want %q", got, callscribe.ECONFLICT)
	}
	got, err := db.UserByEmail(ctx, u.OrgID, " SMIRNOV@example.ru")
	if err != nil || got.ID != u.ID {
		t.Errorf("UserByEmail in other case = %v, %v; want user %s", got.ID, err, u.ID)
	}
}

// TestWithdrawalWaitsForStoringTransaction checks the lock protocol behind invariant 3:
// while a transaction that stores consented data holds the owner's row (FOR SHARE),
// a withdrawal cannot commit; once it commits, every later store sees it.
func TestWithdrawalWaitsForStoringTransaction(t *testing.T) {
	t.Parallel()
	db, u := setup(t)
	ctx := callscribe.AsSystem(context.Background())
	if _, err := db.GrantConsent(ctx, u.ID, callscribe.PurposeTranscription, "1", callscribe.ConsentViaCLI, time.Now()); err != nil {
		t.Fatal(err)
	}
	tx, err := db.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT 1 FROM users WHERE id = $1 FOR SHARE`, u.ID); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := db.WithdrawConsent(ctx, u.ID, callscribe.PurposeTranscription, callscribe.ConsentViaCLI, time.Now())
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("withdrawal committed (%v) while a storing transaction held the user's row", err)
	case <-time.After(500 * time.Millisecond):
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("withdraw: %v", err)
	}
	id := stagedCall(t, db, u)
	done2, err := db.CompleteCall(ctx, u.ID, callscribe.Transcript{CallID: id, Engine: "e", Text: "words",
		Segments: []callscribe.Segment{{Speaker: "agent", StartMS: 0, EndMS: 10, Text: "words"}}})
	if err != nil {
		t.Fatal(err)
	}
	if done2.Stored {
		t.Error("a transcript was stored after consent was withdrawn")
	}
	if st, _ := db.CallStatus(ctx, id); st != callscribe.CallDiscarded {
		t.Errorf("status = %s, want discarded", st)
	}
}

// TestEndingACallErasesItsKey: the staging key is gone in the transaction that ends the
// call, however it ends, and a call that ended is never completed afterwards.
func TestEndingACallErasesItsKey(t *testing.T) {
	t.Parallel()
	db, u := setup(t)
	ctx := callscribe.AsSystem(context.Background())
	db.GrantConsent(ctx, u.ID, callscribe.PurposeTranscription, "1", callscribe.ConsentViaCLI, time.Now())
	keyOf := func(id uuid.UUID) []byte {
		var k []byte
		if err := db.Pool().QueryRow(ctx, `SELECT key FROM call_stages WHERE call_id = $1`, id).Scan(&k); err != nil {
			t.Fatal(err)
		}
		return k
	}
	failed := stagedCall(t, db, u)
	if keyOf(failed) == nil {
		t.Fatal("staging key not recorded")
	}
	if err := db.EndCall(ctx, failed, callscribe.CallFailed, callscribe.EUNREADABLE, "bad audio"); err != nil {
		t.Fatal(err)
	}
	if keyOf(failed) != nil {
		t.Error("key still present after EndCall")
	}
	res, err := db.CompleteCall(ctx, u.ID, callscribe.Transcript{CallID: failed, Engine: "e", Text: "x"})
	if err != nil || res.Stored {
		t.Errorf("CompleteCall of a failed call = %+v, %v; want nothing stored", res, err)
	}
	if st, _ := db.CallStatus(ctx, failed); st != callscribe.CallFailed {
		t.Errorf("status = %s, want failed kept", st)
	}

	completed := stagedCall(t, db, u)
	if res, err := db.CompleteCall(ctx, u.ID, callscribe.Transcript{CallID: completed, Engine: "e", Text: "x"}); err != nil || !res.Stored {
		t.Fatalf("CompleteCall = %+v, %v", res, err)
	}
	if keyOf(completed) != nil {
		t.Error("key still present after the transcript was stored")
	}
}

func TestConfirmDeletionWritesOneReceipt(t *testing.T) {
	t.Parallel()
	db, u := setup(t)
	ctx := callscribe.AsSystem(context.Background())
	id := stagedCall(t, db, u)
	if _, err := db.Receipt(ctx, id); callscribe.ErrorCode(err) != callscribe.ENOTFOUND {
		t.Errorf("receipt before deletion: %v, want not found", err)
	}
	del := time.Now().Truncate(time.Microsecond)
	r1, err := db.ConfirmDeletion(ctx, id, del, del.Add(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	r2, err := db.ConfirmDeletion(ctx, id, del.Add(time.Hour), del.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if r1 != r2 || !r1.DeletedAt.Equal(del) || r1.Bytes != 10 || r1.Stage != "memory" {
		t.Errorf("receipts %+v and %+v: want the first confirmation kept", r1, r2)
	}
	var n int
	db.Pool().QueryRow(ctx, `SELECT count(*) FROM audio_deletion_receipts`).Scan(&n)
	if n != 1 {
		t.Errorf("%d receipts, want 1", n)
	}
}

// TestEmailIsUniquePerOrganization: two organizations may each have a user with the same
// email, and a lookup finds only its own organization's.
func TestEmailIsUniquePerOrganization(t *testing.T) {
	t.Parallel()
	db, u := setup(t)
	ctx := callscribe.AsSystem(context.Background())
	other, err := db.EnsureOrganization(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	v, err := db.CreateUser(ctx, callscribe.User{OrgID: other, Email: u.Email})
	if err != nil {
		t.Fatalf("same email in another organization: %v; want it allowed", err)
	}
	for org, want := range map[uuid.UUID]uuid.UUID{u.OrgID: u.ID, other: v.ID} {
		got, err := db.UserByEmail(ctx, org, u.Email)
		if err != nil || got.ID != want {
			t.Errorf("UserByEmail(org %s) = %v, %v; want %s", org, got.ID, err, want)
		}
	}
}
