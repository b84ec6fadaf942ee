package privacy_test

import (
	"context"
	"testing"
	"time"

	"callscribe"
	"callscribe/internal/eventually"
	"callscribe/privacy"
	"callscribe/storage/pgtest"
)

// TestRetentionPurgesOldTranscripts: with a 90-day retention and a fake clock, the
// transcripts, segments and summaries of calls older than 90 days go, newer ones and
// other organizations' stay, the calls and receipts stay, and the purge is audited.
func TestRetentionPurgesOldTranscripts(t *testing.T) {
	t.Parallel()
	ctx := callscribe.AsSystem(context.Background())
	url := pgtest.DB(t)
	db := openDB(t, url)
	p := makePerson(t, db, "quokka", "alice@example.ru", "", 3)
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	created := []time.Time{now.AddDate(0, 0, -200), now.AddDate(0, 0, -91), now.AddDate(0, 0, -89)}
	for i, c := range p.calls {
		if _, err := db.Pool().Exec(ctx, `UPDATE calls SET created_at = $2 WHERE id = $1`, c, created[i]); err != nil {
			t.Fatal(err)
		}
	}
	other, _ := db.EnsureOrganization(ctx, "keeps-everything")
	bob, err := db.CreateUser(ctx, callscribe.User{OrgID: other, Email: "bob@example.ru"})
	if err != nil {
		t.Fatal(err)
	}
	(&privacy.Consents{Store: db, PolicyVersion: "1"}).Grant(ctx, bob.ID, []callscribe.Purpose{callscribe.PurposeTranscription, callscribe.PurposeSummarization}, callscribe.ConsentViaCLI)
	bobCall := storeCall(t, db, bob, []string{"bobold"})
	db.Pool().Exec(ctx, `UPDATE calls SET created_at = $2 WHERE id = $1`, bobCall, now.AddDate(-1, 0, 0))

	d, err := privacy.ParseRetention("90d")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetRetention(ctx, p.user.OrgID, d, "cli"); err != nil {
		t.Fatal(err)
	}
	r := &privacy.Retention{Store: db, Now: func() time.Time { return now }, Batch: 1}
	purged, err := r.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(purged) != 1 || purged[0].Counts["transcripts"] != 2 || purged[0].Counts["segments"] != 6 || purged[0].Counts["summaries"] != 2 {
		t.Fatalf("purged %+v; want 2 transcripts, 6 segments, 2 summaries in one organization", purged)
	}
	for i, c := range p.calls {
		_, err := db.Transcript(ctx, c)
		gone := callscribe.ErrorCode(err) == callscribe.ENOTFOUND
		if want := i < 2; gone != want {
			t.Errorf("call %d (%s old): transcript gone = %v, want %v", i, now.Sub(created[i]), gone, want)
		}
		if _, err := db.Receipt(ctx, c); err != nil {
			t.Errorf("call %d: receipt after retention: %v; want kept", i, err)
		}
		if _, err := db.CallStatus(ctx, c); err != nil {
			t.Errorf("call %d: call row after retention: %v; want kept", i, err)
		}
	}
	if _, err := db.Transcript(ctx, bobCall); err != nil {
		t.Errorf("call of an organization without retention: %v; want kept", err)
	}
	var audited int
	db.Pool().QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'retention.purge' AND actor = 'system:retention'
		AND (detail->>'transcripts')::int = 1`).Scan(&audited)
	if audited != 2 {
		t.Errorf("%d audited retention batches of one transcript, want 2 (batch of 1)", audited)
	}
	again, err := r.RunOnce(ctx)
	if err != nil || len(again) != 1 || again[0].Counts["transcripts"] != 0 {
		t.Errorf("second run: %+v, %v; want nothing more purged", again, err)
	}
}

func TestParseRetention(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want string
		err  bool
	}{{"90d", "90d", false}, {"2w", "14d", false}, {"36h", "36h0m0s", false}, {"off", "off", false},
		{"", "", true}, {"-3d", "", true}, {"soon", "", true}, {"0d", "", true}} {
		d, err := privacy.ParseRetention(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("ParseRetention(%q) error %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if !tc.err && privacy.FormatRetention(d) != tc.want {
			t.Errorf("ParseRetention(%q) = %s, want %s", tc.in, privacy.FormatRetention(d), tc.want)
		}
	}
}

// TestRetentionRunRepeats: Run purges at once and again every period, and stops with its
// context.
func TestRetentionRunRepeats(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(callscribe.AsSystem(context.Background()))
	defer cancel()
	db := openDB(t, pgtest.DB(t))
	p := makePerson(t, db, "quokka", "alice@example.ru", "", 2)
	d, _ := privacy.ParseRetention("1d")
	if err := db.SetRetention(ctx, p.user.OrgID, d, "cli"); err != nil {
		t.Fatal(err)
	}
	// The clock jumps two days ahead after Run's first pass: only the second pass purges.
	var runs int
	now := time.Now()
	r := &privacy.Retention{Store: db, Now: func() time.Time {
		runs++
		if runs > 1 {
			return now.AddDate(0, 0, 2)
		}
		return now
	}}
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, 50*time.Millisecond) }()
	eventually.True(t, 10*time.Second, "purge of the transcript once the clock passed its retention", func() bool {
		_, err := db.Transcript(ctx, p.calls[1])
		return callscribe.ErrorCode(err) == callscribe.ENOTFOUND
	})
	cancel()
	select {
	case err := <-done:
		if err != context.Canceled {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("Run did not stop when its context ended")
	}
}
