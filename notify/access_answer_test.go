package notify_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"callscribe"
	"callscribe/privacy"
	"callscribe/storage/postgres"
)

// closeRequest files a request of kind for u, takes it into work and closes it
// (rejected when reject), and waits until its four notices (received and closed, by
// email and messenger) are settled.
func (e *env) closeRequest(t *testing.T, u callscribe.User, kind callscribe.RequestKind, reject bool) callscribe.Request {
	t.Helper()
	reqs := &privacy.Requests{Store: &postgres.Queued{DB: e.db, Jobs: e.jobs}}
	r, err := reqs.Add(ctx, privacy.NewRequest{OrgID: u.OrgID, UserID: u.ID, Kind: kind, Actor: "cli:test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reqs.Start(ctx, r.ID, "cli:test"); err != nil {
		t.Fatal(err)
	}
	c := privacy.Closing{Actor: "cli:test", Channel: callscribe.ConsentViaCLI}
	if reject {
		c.Reject, c.Reason = true, "not identified"
	}
	if r, err = reqs.Close(ctx, r.ID, c); err != nil {
		t.Fatal(err)
	}
	for _, d := range e.settled(t, callscribe.NoticeDeliveryFilter{RequestID: r.ID}, 4, 30*time.Second) {
		if d.State != callscribe.NoticeSent {
			t.Errorf("delivery %s (%s by %s) is %s (%s), want sent", d.ID, d.Kind, d.Channel, d.State, d.LastError)
		}
	}
	return r
}

// TestAccessAnswerFile: a completed access request is answered in the messenger with
// the export as a JSON file (the user's own data, named by date) when the organization
// answers with the file (the default); not under "link", not for a rejected request nor
// for any other notice; email carries the link only; the deliveries table and the jobs
// keep no export.
func TestAccessAnswerFile(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	beta, err := e.db.EnsureOrganization(ctx, "beta-"+uuid.NewString()[:8])
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.SetAccessAnswer(ctx, beta, callscribe.AccessAnswerLink, "cli:test"); err != nil {
		t.Fatal(err)
	}
	if err := e.db.SetAccessAnswer(ctx, beta, "fax", "cli:test"); callscribe.ErrorCode(err) != callscribe.EINVALID {
		t.Errorf("access answer fax: %v, want EINVALID", err)
	}

	fileUser := e.user(t, e.org, "en", callscribe.PurposeNotifications)
	linkUser := e.user(t, beta, "en", callscribe.PurposeNotifications)
	rejectedUser := e.user(t, e.org, "en", callscribe.PurposeNotifications)
	claimUser := e.user(t, e.org, "en", callscribe.PurposeNotifications)
	r := e.closeRequest(t, fileUser, callscribe.RequestAccess, false)
	e.closeRequest(t, linkUser, callscribe.RequestAccess, false)
	e.closeRequest(t, rejectedUser, callscribe.RequestAccess, true)
	e.closeRequest(t, claimUser, callscribe.RequestClaim, false)

	// The file: on the closing message only, the user's own export.
	msgs := e.channel.messages(fileUser.ID)
	if len(msgs) != 2 {
		t.Fatalf("messenger got %d messages for the access request, want 2", len(msgs))
	}
	if a := msgs[0].msg.Attachment; a != nil {
		t.Errorf("request_received carries %s", a.Name)
	}
	a := msgs[1].msg.Attachment
	if a == nil {
		t.Fatalf("the closed access request's message carries no file: %+v", msgs[1].msg)
	}
	moscow := time.FixedZone("MSK", 3*60*60)
	if want := "callscribe-export-" + time.Now().In(moscow).Format(time.DateOnly) + ".json"; a.Name != want || a.ContentType != "application/json" {
		t.Errorf("attachment %q (%s), want %q (application/json)", a.Name, a.ContentType, want)
	}
	var doc struct {
		Format  string `json:"format"`
		Profile struct {
			ID    uuid.UUID `json:"id"`
			Email string    `json:"email"`
		} `json:"profile"`
		Requests []struct {
			ID uuid.UUID `json:"id"`
		} `json:"requests"`
	}
	if err := json.Unmarshal(a.Content, &doc); err != nil {
		t.Fatalf("the export does not parse: %v", err)
	}
	if doc.Format != privacy.ExportFormat || doc.Profile.ID != fileUser.ID || doc.Profile.Email != fileUser.Email {
		t.Errorf("export is %s of %s (%s), want %s of %s", doc.Format, doc.Profile.ID, doc.Profile.Email, privacy.ExportFormat, fileUser.ID)
	}
	if len(doc.Requests) == 0 || doc.Requests[0].ID != r.ID {
		t.Errorf("export's requests %+v, want the access request %s", doc.Requests, r.ID)
	}

	// No file: the organization answers with the link, the request rejected, a claim.
	for name, u := range map[string]callscribe.User{"link": linkUser, "rejected": rejectedUser, "claim": claimUser} {
		msgs := e.channel.messages(u.ID)
		if len(msgs) != 2 {
			t.Errorf("%s: %d messages, want 2", name, len(msgs))
			continue
		}
		for _, m := range msgs {
			if m.msg.Attachment != nil {
				t.Errorf("%s: %s carries %s", name, m.msg.Kind, m.msg.Attachment.Name)
			}
		}
		if !strings.Contains(msgs[1].msg.Text, "https://callscribe.test/privacy/requests/") {
			t.Errorf("%s: closing message %q has no link to the privacy desk", name, msgs[1].msg.Text)
		}
	}
	if m := e.channel.messages(linkUser.ID); len(m) == 2 && !strings.Contains(m[1].msg.Subject, "completed") {
		t.Errorf("link: closing message %q, want completed", m[1].msg.Subject)
	}

	// Email: the link, never the export.
	mails := e.emailsTo(t, fileUser.Email)
	if len(mails) != 2 {
		t.Fatalf("%d emails, want 2", len(mails))
	}
	for _, m := range mails {
		if strings.Contains(m.text, privacy.ExportFormat) || strings.Contains(m.text, "callscribe-export-") {
			t.Errorf("email %q carries the export: %q", m.subject, m.text)
		}
	}
	if !strings.Contains(mails[1].text, "https://callscribe.test/privacy/requests/"+r.ID.String()) {
		t.Errorf("closing email %q has no link", mails[1].text)
	}
	e.noText(t, privacy.ExportFormat, "callscribe-export-", fileUser.Email)
}
