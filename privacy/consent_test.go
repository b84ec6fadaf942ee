package privacy_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"callscribe"
	"callscribe/privacy"
	"callscribe/storage/pgtest"
	"callscribe/storage/postgres"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, postgres.Migrate)) }

func TestParsePurposes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    []callscribe.Purpose
		wantErr bool
	}{
		{"transcription", []callscribe.Purpose{callscribe.PurposeTranscription}, false},
		{"transcription, summarization", []callscribe.Purpose{callscribe.PurposeTranscription, callscribe.PurposeSummarization}, false},
		{"summarization,summarization", []callscribe.Purpose{callscribe.PurposeSummarization}, false},
		{"marketing", nil, true},
		{"", nil, true},
		{" , ", nil, true},
	}
	for _, tt := range tests {
		got, err := privacy.ParsePurposes(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParsePurposes(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if tt.wantErr && callscribe.ErrorCode(err) != callscribe.EINVALID {
			t.Errorf("ParsePurposes(%q) code = %s, want %s", tt.in, callscribe.ErrorCode(err), callscribe.EINVALID)
		}
		if len(got) != len(tt.want) {
			t.Errorf("ParsePurposes(%q) = %v, want %v", tt.in, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("ParsePurposes(%q) = %v, want %v", tt.in, got, tt.want)
			}
		}
	}
}

// TestConsentHistory: grants and withdrawals are kept as a history with their policy
// version; only one grant per purpose is in force at a time.
func TestConsentHistory(t *testing.T) {
	t.Parallel()
	ctx := callscribe.AsSystem(context.Background())
	db, err := postgres.Open(ctx, pgtest.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	org, _ := db.EnsureOrganization(ctx, "local")
	u, err := db.CreateUser(ctx, callscribe.User{OrgID: org, Email: "orlova@example.ru"})
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	c := &privacy.Consents{Store: db, PolicyVersion: "2026-03", Now: func() time.Time { clock = clock.Add(time.Hour); return clock }}
	both := []callscribe.Purpose{callscribe.PurposeTranscription, callscribe.PurposeSummarization}

	steps := []struct {
		do          func() ([]privacy.Change, error)
		wantChanged bool
		inForce     bool
	}{
		{func() ([]privacy.Change, error) { return c.Grant(ctx, u.ID, both, callscribe.ConsentViaCLI) }, true, true},
		{func() ([]privacy.Change, error) { return c.Grant(ctx, u.ID, both, callscribe.ConsentViaCLI) }, false, true},
		{func() ([]privacy.Change, error) { return c.Withdraw(ctx, u.ID, both, callscribe.ConsentViaWeb) }, true, false},
		{func() ([]privacy.Change, error) { return c.Withdraw(ctx, u.ID, both, callscribe.ConsentViaWeb) }, false, false},
		{func() ([]privacy.Change, error) { return c.Grant(ctx, u.ID, both, callscribe.ConsentViaCLI) }, true, true},
	}
	for i, s := range steps {
		changes, err := s.do()
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		for _, ch := range changes {
			if ch.Changed != s.wantChanged {
				t.Errorf("step %d: %s changed = %v, want %v", i, ch.Purpose, ch.Changed, s.wantChanged)
			}
			ok, err := db.ConsentInForce(ctx, u.ID, ch.Purpose)
			if err != nil || ok != s.inForce {
				t.Errorf("step %d: %s in force = %v (%v), want %v", i, ch.Purpose, ok, err, s.inForce)
			}
		}
	}
	hist, err := c.History(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 4 {
		t.Fatalf("history has %d grants, want 4 (two purposes granted twice)", len(hist))
	}
	var withdrawn int
	for _, h := range hist {
		if h.PolicyVersion != "2026-03" {
			t.Errorf("grant recorded under policy %q, want 2026-03", h.PolicyVersion)
		}
		if h.WithdrawnAt != nil {
			withdrawn++
			if !h.WithdrawnAt.After(h.GrantedAt) {
				t.Errorf("withdrawn at %v, not after granted at %v", h.WithdrawnAt, h.GrantedAt)
			}
		}
	}
	if withdrawn != 2 {
		t.Errorf("%d withdrawn grants in the history, want 2", withdrawn)
	}

	// Every change is an event with its channel; repeats that changed nothing are not.
	events, err := c.Events(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range events {
		got = append(got, fmt.Sprintf("%s/%s/%s", e.Action, e.Purpose, e.Channel))
	}
	want := "grant/transcription/cli grant/summarization/cli withdraw/transcription/web withdraw/summarization/web grant/transcription/cli grant/summarization/cli"
	if strings.Join(got, " ") != want {
		t.Errorf("events:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	if _, err := c.Grant(ctx, u.ID, both, "fax"); callscribe.ErrorCode(err) != callscribe.EINVALID {
		t.Errorf("grant through an unknown channel: %v, want invalid", err)
	}
}
