package notify_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"callscribe"
	"callscribe/notify"
	"callscribe/privacy"
	"callscribe/storage/postgres"
	"callscribe/telegram"
	"callscribe/telegram/telegramtest"
)

// TestAccessAnswerTelegram: end to end through the real telegram.Bot against the fake
// Bot API, a completed access request's answer arrives in the user's chat as
// sendDocument with the export JSON (which parses and names the user), captioned with
// the closing message.
func TestAccessAnswerTelegram(t *testing.T) {
	t.Parallel()
	fake := telegramtest.NewServer(telegramtest.DefaultToken)
	t.Cleanup(fake.Close)
	var bot *telegram.Bot
	channel := notify.TelegramChannel(func() *telegram.Bot { return bot })
	e := newEnv(t, envOptions{messenger: channel})
	var err error
	bot, err = telegram.New(ctx, telegram.Config{Token: fake.Token(), APIURL: fake.URL, Store: e.db,
		Consents: &privacy.Consents{Store: e.db, PolicyVersion: "1", Audit: &privacy.Audit{}, AuditLog: e.db},
		Requests: &privacy.Requests{Store: e.db}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	u := e.user(t, e.org, "en", callscribe.PurposeNotifications)
	const chat = 7_123_456
	linkChat(e.db, u.ID, chat-chatBase)

	reqs := &privacy.Requests{Store: &postgres.Queued{DB: e.db, Jobs: e.jobs}}
	r, err := reqs.Add(ctx, privacy.NewRequest{OrgID: u.OrgID, UserID: u.ID, Kind: callscribe.RequestAccess, Actor: "cli:test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reqs.Start(ctx, r.ID, "cli:test"); err != nil {
		t.Fatal(err)
	}
	if _, err := reqs.Close(ctx, r.ID, privacy.Closing{Actor: "cli:test", Channel: callscribe.ConsentViaCLI}); err != nil {
		t.Fatal(err)
	}
	for _, d := range e.settled(t, callscribe.NoticeDeliveryFilter{RequestID: r.ID}, 4, 30*time.Second) {
		if d.State != callscribe.NoticeSent {
			t.Errorf("delivery %s (%s by %s) is %s (%s), want sent", d.ID, d.Kind, d.Channel, d.State, d.LastError)
		}
	}

	var docs, texts []telegramtest.Sent
	for _, s := range fake.Sent() {
		switch {
		case s.ChatID != chat:
		case s.Method == "sendDocument":
			docs = append(docs, s)
		case s.Method == "sendMessage":
			texts = append(texts, s)
		}
	}
	if len(docs) != 1 || len(texts) != 1 {
		t.Fatalf("chat got %d documents and %d messages, want 1 (the answer) and 1 (request received)", len(docs), len(texts))
	}
	d := docs[0]
	if !strings.HasPrefix(d.FileName, "callscribe-export-") || !strings.HasSuffix(d.FileName, ".json") {
		t.Errorf("document named %q", d.FileName)
	}
	if !strings.Contains(d.Caption, "completed") || !strings.Contains(d.Caption, "/privacy/requests/"+r.ID.String()) {
		t.Errorf("caption %q, want the closing message with its link", d.Caption)
	}
	var doc struct {
		Format  string `json:"format"`
		Profile struct {
			ID        uuid.UUID `json:"id"`
			FirstName string    `json:"first_name"`
		} `json:"profile"`
	}
	if err := json.Unmarshal(d.File, &doc); err != nil {
		t.Fatalf("the document is not JSON: %v", err)
	}
	if doc.Format != privacy.ExportFormat || doc.Profile.ID != u.ID || doc.Profile.FirstName != u.FirstName {
		t.Errorf("the document is %s of %s (%q), want %s of %s (%q)", doc.Format, doc.Profile.ID, doc.Profile.FirstName,
			privacy.ExportFormat, u.ID, u.FirstName)
	}
}
