package notify_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"callscribe"
	"callscribe/internal/eventually"
	"callscribe/privacy"
	"callscribe/storage/postgres"
	"callscribe/webhook"
)

// TestWebhookNotices: an organization's endpoint subscribed to request and consent
// events receives them, signed, with ids only; one subscribed to call events alone
// receives none of them.
func TestWebhookNotices(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	var mu sync.Mutex
	var bodies [][]byte
	var sigOK []bool
	var secret string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, b)
		sigOK = append(sigOK, webhook.Verify(secret, r.Header.Get(webhook.SignatureHeader), b, 0) == nil)
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	ep, err := e.webhooks.Add(ctx, "acme", srv.URL, "RU", []webhook.Event{webhook.RequestReceived, webhook.ConsentWithdrawn})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	secret = ep.Secret
	mu.Unlock()
	if _, err := e.webhooks.Add(ctx, "acme", srv.URL+"/calls", "RU", []webhook.Event{webhook.CallCompleted}); err != nil {
		t.Fatal(err)
	}
	u := e.user(t, e.org, "ru", callscribe.PurposeTranscription)
	reqs := &privacy.Requests{Store: &postgres.Queued{DB: e.db, Jobs: e.jobs}}
	r, err := reqs.Add(ctx, privacy.NewRequest{OrgID: u.OrgID, UserID: u.ID, Kind: callscribe.RequestErasure, Actor: "cli:test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.WithdrawConsent(ctx, u.ID, callscribe.PurposeTranscription, callscribe.ConsentViaBot, time.Now()); err != nil {
		t.Fatal(err)
	}
	eventually.True(t, 30*time.Second, "two webhook deliveries", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(bodies) >= 2
	})
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 2 {
		t.Fatalf("%d deliveries, want 2 (the call-events endpoint hears nothing)", len(bodies))
	}
	var got []webhook.NoticePayload
	for i, b := range bodies {
		if !sigOK[i] {
			t.Errorf("delivery %d: signature does not verify", i)
		}
		for _, secret := range []string{u.Email, "79161357968", "Пётр"} {
			if strings.Contains(string(b), secret) {
				t.Errorf("payload %s carries %q", b, secret)
			}
		}
		var p webhook.NoticePayload
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatal(err)
		}
		got = append(got, p)
	}
	if got[0].Event != webhook.RequestReceived { // two workers: either may come first
		got[0], got[1] = got[1], got[0]
	}
	if got[0].Event != webhook.RequestReceived || got[0].Data.RequestID != r.ID || got[0].Data.UserID != u.ID || got[0].Data.OrganizationID != u.OrgID {
		t.Errorf("first payload %+v, want request.received for request %s of user %s", got[0], r.ID, u.ID)
	}
	if got[1].Event != webhook.ConsentWithdrawn || got[1].Data.Purpose != "transcription" || got[1].Data.UserID != u.ID {
		t.Errorf("second payload %+v, want consent.withdrawn of transcription", got[1])
	}
}
