package notify_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"callscribe"
	"callscribe/internal/eventually"
	"callscribe/notify"
	"callscribe/privacy"
	"callscribe/storage/postgres"
)

const secretWords = "my card number is four two four two and I live on Lenina street"

// stagedCall records a call of u staged for transcription.
func (e *env) stagedCall(t *testing.T, u callscribe.User) uuid.UUID {
	t.Helper()
	id, err := e.db.CreateCall(ctx, u.OrgID, u.ID, []string{"agent", "client"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.RecordStaging(ctx, id, callscribe.Staging{Stage: "memory", ObjectKey: "calls/" + id.String(),
		Bytes: 10, SHA256: strings.Repeat("ab", 32), StagedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return id
}

// complete stores the call's transcript the way the worker does, which ends the call.
func (e *env) complete(t *testing.T, u callscribe.User, callID uuid.UUID) {
	t.Helper()
	res, err := e.db.CompleteCall(ctx, u.ID, callscribe.Transcript{CallID: callID, Engine: "test", Text: secretWords + " +79161357968",
		Segments: []callscribe.Segment{{Channel: 0, Speaker: "agent", Text: secretWords, EndMS: 1000}}})
	if err != nil || !res.Stored {
		t.Fatalf("CompleteCall = %+v, %v", res, err)
	}
}

// TestTranscriptReadyNotice: a call's completion tells its owner by the messenger and,
// when they turned it on, by email: a link to the call, never its text or a phone
// number; the deliveries and job arguments hold ids only. A user without consent to
// notifications is told nothing.
func TestTranscriptReadyNotice(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	u := e.user(t, e.org, "ru", callscribe.PurposeTranscription, callscribe.PurposeNotifications)
	if err := e.notices.SetPreference(ctx, u.ID, callscribe.NoticeTranscriptReady, callscribe.NoticeEmail, true); err != nil {
		t.Fatal(err)
	}
	silent := e.user(t, e.org, "ru", callscribe.PurposeTranscription) // no consent to notifications

	call := e.stagedCall(t, u)
	e.complete(t, u, call)
	quiet := e.stagedCall(t, silent)
	e.complete(t, silent, quiet)

	ds := e.settled(t, callscribe.NoticeDeliveryFilter{CallID: call}, 2, 30*time.Second)
	for _, d := range ds {
		if d.State != callscribe.NoticeSent || d.Kind != callscribe.NoticeTranscriptReady || d.UserID != u.ID || d.Attempts != 1 {
			t.Errorf("delivery %+v, want transcript_ready sent to %s in one attempt", d, u.ID)
		}
	}
	link := "https://callscribe.test/calls/" + call.String()
	mails := e.emailsTo(t, u.Email)
	if len(mails) != 1 {
		t.Fatalf("%d emails to the owner, want 1", len(mails))
	}
	tg := e.channel.messages(u.ID)
	if len(tg) != 1 {
		t.Fatalf("%d messenger messages to the owner, want 1", len(tg))
	}
	for _, body := range []string{mails[0].subject + "\n" + mails[0].text, tg[0].msg.Subject + "\n" + tg[0].msg.Text} {
		if !strings.Contains(body, link) {
			t.Errorf("message %q lacks the link %s", body, link)
		}
		if !strings.Contains(body, "Расшифровка") {
			t.Errorf("message %q is not in Russian, the user's language", body)
		}
		for _, secret := range []string{"card", "Lenina", "79161357968", "9161357968", "Пётр"} {
			if strings.Contains(body, secret) {
				t.Errorf("message %q carries %q", body, secret)
			}
		}
	}
	if ds, _ := e.notices.Deliveries(ctx, callscribe.NoticeDeliveryFilter{CallID: quiet}); len(ds) != 0 {
		t.Errorf("a user without consent to notifications got %d deliveries, want none", len(ds))
	}
	e.noText(t, "card number", "Lenina", "79161357968", u.Email, "Расшифровка", "Пётр")
}

// TestRequestTransitionsNotify: a request received, extended (with the officer's
// reasoned notice) and closed is told to its subject, in their language, by every path
// that goes through privacy.Requests; taking it into work is not. A withdrawn consent is
// told too.
func TestRequestTransitionsNotify(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	u := e.user(t, e.org, "en", callscribe.PurposeTranscription, callscribe.PurposeNotifications)
	reqs := &privacy.Requests{Store: &postgres.Queued{DB: e.db, Jobs: e.jobs}}
	r, err := reqs.Add(ctx, privacy.NewRequest{OrgID: u.OrgID, UserID: u.ID, Kind: callscribe.RequestAccess, Actor: "cli:test"})
	if err != nil {
		t.Fatal(err)
	}
	f := callscribe.NoticeDeliveryFilter{RequestID: r.ID}
	e.settled(t, f, 2, 30*time.Second)
	if _, err := reqs.Start(ctx, r.ID, "cli:test"); err != nil {
		t.Fatal(err)
	}
	const noticeText = "We need five more days to collect the recordings from the archive."
	if r, err = reqs.Extend(ctx, r.ID, privacy.Extension{Days: 5, Reason: "archive", Notice: noticeText, Actor: "cli:test"}); err != nil {
		t.Fatal(err)
	}
	e.settled(t, f, 4, 30*time.Second)
	if _, err := reqs.Close(ctx, r.ID, privacy.Closing{Actor: "cli:test", Channel: callscribe.ConsentViaCLI}); err != nil {
		t.Fatal(err)
	}
	ds := e.settled(t, f, 6, 30*time.Second)
	var kinds []string
	for _, d := range ds {
		if d.State != callscribe.NoticeSent {
			t.Errorf("delivery %s (%s by %s) is %s, want sent", d.ID, d.Kind, d.Channel, d.State)
		}
		kinds = append(kinds, string(d.Kind)+"/"+string(d.Channel))
	}
	want := "request_received/email request_received/telegram request_extended/email request_extended/telegram request_closed/email request_closed/telegram"
	if got := strings.Join(kinds, " "); got != want {
		t.Errorf("deliveries %s, want %s (taking into work tells nothing)", got, want)
	}
	mails := e.emailsTo(t, u.Email)
	if len(mails) != 3 {
		t.Fatalf("%d emails, want 3", len(mails))
	}
	number := r.ID.String()[:8]
	checks := []struct{ subject, text string }{
		{"Your request no. " + number + " is received", "You will be answered by " + r.DueAt.In(time.UTC).Format("2 Jan 2006")},
		{"The term for your request no. " + number + " is extended", noticeText},
		{"Request no. " + number + " completed", "is completed"},
	}
	for i, c := range checks {
		found := false
		for _, m := range mails {
			if m.subject == c.subject && strings.Contains(m.text, c.text) && strings.Contains(m.text, "https://callscribe.test/privacy/requests/"+r.ID.String()) {
				found = true
			}
		}
		if !found {
			t.Errorf("message %d: no email with subject %q and text containing %q; got %+v", i, c.subject, c.text, mails)
		}
	}
	if tg := e.channel.messages(u.ID); len(tg) != 3 || !strings.Contains(tg[1].msg.Text, noticeText) {
		t.Errorf("messenger got %+v, want 3 messages, the second with the officer's notice", tg)
	}

	consents := &privacy.Consents{Store: e.db}
	if _, err := consents.Withdraw(ctx, u.ID, []callscribe.Purpose{callscribe.PurposeTranscription}, callscribe.ConsentViaBot); err != nil {
		t.Fatal(err)
	}
	eventually.True(t, 30*time.Second, "consent-withdrawn email", func() bool {
		for _, m := range e.emailsTo(t, u.Email) {
			if m.subject == "Consent withdrawn" && strings.Contains(m.text, "call transcription") {
				return true
			}
		}
		return false
	})
}

// TestPreferences: the defaults, a choice that turns the messenger off for one kind,
// email that cannot be turned off for a notice the law requires, and the choice
// respected when the next notice is recorded.
func TestPreferences(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	u := e.user(t, e.org, "ru", callscribe.PurposeNotifications)
	prefs, err := e.notices.Preferences(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(prefs) != len(callscribe.NoticeKinds)*len(callscribe.NoticeChannels) {
		t.Fatalf("%d preferences, want one per kind and channel", len(prefs))
	}
	get := func(ps []notify.Preference, k callscribe.NoticeKind, c callscribe.NoticeChannel) notify.Preference {
		for _, p := range ps {
			if p.Kind == k && p.Channel == c {
				return p
			}
		}
		t.Fatalf("no preference for %s on %s", k, c)
		return notify.Preference{}
	}
	if p := get(prefs, callscribe.NoticeTranscriptReady, callscribe.NoticeEmail); p.Enabled || !p.Consent {
		t.Errorf("transcript_ready by email by default: %+v, want off and under consent", p)
	}
	if p := get(prefs, callscribe.NoticeBreach, callscribe.NoticeEmail); !p.Enabled || !p.Locked {
		t.Errorf("breach by email: %+v, want on and locked", p)
	}
	if err := e.notices.SetPreference(ctx, u.ID, callscribe.NoticeRequestReceived, callscribe.NoticeEmail, false); callscribe.ErrorCode(err) != callscribe.EINVALID {
		t.Errorf("turning email off for request_received: %v, want EINVALID", err)
	}
	if err := e.notices.SetPreference(ctx, u.ID, callscribe.NoticeRequestReceived, callscribe.NoticeTelegram, false); err != nil {
		t.Fatal(err)
	}
	if err := e.notices.SetPreference(ctx, u.ID, callscribe.NoticeConsentWithdrawn, callscribe.NoticeEmail, false); err != nil {
		t.Fatal(err)
	}
	if err := e.notices.SetPreference(ctx, uuid.New(), callscribe.NoticeConsentWithdrawn, callscribe.NoticeEmail, false); callscribe.ErrorCode(err) != callscribe.ENOTFOUND {
		t.Errorf("preference of no user: %v, want ENOTFOUND", err)
	}
	prefs, _ = e.notices.Preferences(ctx, u.ID)
	if p := get(prefs, callscribe.NoticeRequestReceived, callscribe.NoticeTelegram); p.Enabled {
		t.Errorf("request_received on telegram after turning it off: %+v", p)
	}

	reqs := &privacy.Requests{Store: &postgres.Queued{DB: e.db, Jobs: e.jobs}}
	r, err := reqs.Add(ctx, privacy.NewRequest{OrgID: u.OrgID, UserID: u.ID, Kind: callscribe.RequestErasure, Actor: "cli:test"})
	if err != nil {
		t.Fatal(err)
	}
	ds := e.settled(t, callscribe.NoticeDeliveryFilter{RequestID: r.ID}, 1, 30*time.Second)
	if ds[0].Channel != callscribe.NoticeEmail {
		t.Errorf("request_received went by %s, want email only", ds[0].Channel)
	}
	if _, err := (&privacy.Consents{Store: e.db}).Withdraw(ctx, u.ID, []callscribe.Purpose{callscribe.PurposeNotifications}, callscribe.ConsentViaWeb); err != nil {
		t.Fatal(err)
	}
	ds = e.settled(t, callscribe.NoticeDeliveryFilter{UserID: u.ID}, 2, 30*time.Second)
	if last := ds[1]; last.Kind != callscribe.NoticeConsentWithdrawn || last.Channel != callscribe.NoticeTelegram {
		t.Errorf("consent_withdrawn went as %+v, want by telegram only", last)
	}
}

// TestRetryAfterSnoozes: a messenger that answers 429 with retry_after makes the job wait
// that long, not fail, and then the message is delivered; a transient failure is retried
// with backoff; a permanent refusal fails at once.
func TestRetryAfterSnoozes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	waiting := e.user(t, e.org, "ru", callscribe.PurposeNotifications)
	flaky := e.user(t, e.org, "ru", callscribe.PurposeNotifications)
	refused := e.user(t, e.org, "ru", callscribe.PurposeNotifications)
	e.channel.mu.Lock()
	e.channel.retryOnce[waiting.ID] = 1500 * time.Millisecond
	e.channel.flaky[flaky.ID] = 2
	e.channel.fail[refused.ID] = true
	e.channel.mu.Unlock()
	for _, u := range []callscribe.User{waiting, flaky, refused} {
		if err := e.notices.SetPreference(ctx, u.ID, callscribe.NoticeConsentWithdrawn, callscribe.NoticeEmail, false); err != nil {
			t.Fatal(err)
		}
		if _, err := e.db.WithdrawConsent(ctx, u.ID, callscribe.PurposeNotifications, callscribe.ConsentViaWeb, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	state := func(u callscribe.User) callscribe.NoticeDelivery {
		return e.settled(t, callscribe.NoticeDeliveryFilter{UserID: u.ID}, 1, 30*time.Second)[0]
	}
	if d := state(waiting); d.State != callscribe.NoticeSent || d.Attempts != 1 {
		t.Errorf("after a 429: %s in %d attempts, want sent in 1 (a wait is not an attempt)", d.State, d.Attempts)
	}
	got := e.channel.messages(waiting.ID)
	if len(got) != 2 || got[0].msg.Subject != "429" {
		t.Fatalf("messenger saw %d sends, want the 429 then the message", len(got))
	}
	if gap := got[1].at.Sub(got[0].at); gap < 1400*time.Millisecond {
		t.Errorf("sent again %s after a retry_after of 1.5s", gap)
	}
	if d := state(flaky); d.State != callscribe.NoticeSent || d.Attempts != 3 {
		t.Errorf("after two transient failures: %s in %d attempts, want sent in 3", d.State, d.Attempts)
	}
	if d := state(refused); d.State != callscribe.NoticeFailed || d.Attempts != 1 || d.LastError != "chat blocked the bot" {
		t.Errorf("refused: %+v, want failed after 1 attempt with the reason", d)
	}
}

// TestErasedUserSkipped: a delivery whose user was erased before it ran sends nothing.
func TestErasedUserSkipped(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	u := e.user(t, e.org, "ru", callscribe.PurposeNotifications)
	if err := e.jobs.Stop(ctx); err != nil { // nothing runs until the user is erased
		t.Fatal(err)
	}
	if _, err := e.db.WithdrawConsent(ctx, u.ID, callscribe.PurposeNotifications, callscribe.ConsentViaWeb, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Pool().Exec(ctx, `UPDATE users SET erased_at = now() WHERE id = $1`, u.ID); err != nil {
		t.Fatal(err)
	}
	ds, _ := e.notices.Deliveries(ctx, callscribe.NoticeDeliveryFilter{UserID: u.ID})
	for _, d := range ds {
		out, err := e.notices.Deliver(ctx, d.ID)
		if err != nil || out.State != callscribe.NoticeSkipped {
			t.Errorf("Deliver = %+v, %v; want skipped", out, err)
		}
	}
	if len(ds) != 2 || len(e.smtp.Messages()) != 0 || len(e.channel.messages(u.ID)) != 0 {
		t.Errorf("%d deliveries, %d emails, %d messages; want 2 recorded and nothing sent", len(ds), len(e.smtp.Messages()), len(e.channel.messages(u.ID)))
	}
}

// TestAgreementPublished: a new agreement version, once published (storage's
// PublishAgreement, what `agreement publish` and the accounts service call), is told to
// every user who is not erased, in their language, consent to notifications or not.
func TestAgreementPublished(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ru := e.user(t, e.org, "ru")
	en := e.user(t, e.org, "en", callscribe.PurposeNotifications)
	gone := e.user(t, e.org, "ru")
	if _, err := e.db.Pool().Exec(ctx, `UPDATE users SET erased_at = now() WHERE id = $1`, gone.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.db.PublishAgreement(ctx, callscribe.AgreementRecord{Version: "2026-12", Text: "# Agreement", PublishedAt: time.Now(), PublishedBy: "cli"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		u    callscribe.User
		want string
	}{{ru, "Опубликована новая редакция пользовательского соглашения (2026-12)"}, {en, "A new version of the user agreement (2026-12) is published"}} {
		e.settled(t, callscribe.NoticeDeliveryFilter{UserID: c.u.ID}, 2, 30*time.Second)
		if mails := e.emailsTo(t, c.u.Email); len(mails) != 1 || !strings.Contains(mails[0].text, c.want) || !strings.Contains(mails[0].text, "https://callscribe.test/agreement") {
			t.Errorf("%s got %+v, want %q with the agreement's link", c.u.Email, mails, c.want)
		}
	}
	if ds, _ := e.notices.Deliveries(ctx, callscribe.NoticeDeliveryFilter{UserID: gone.ID}); len(ds) != 0 {
		t.Errorf("an erased user got %d deliveries", len(ds))
	}
}

// TestErasureAnswered: closing an erasure request marks its subject erased in the same
// transaction, and the answer is still told to them (their address is held until the
// purge); any other notice to an erased user is not recorded.
func TestErasureAnswered(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	u := e.user(t, e.org, "en", callscribe.PurposeNotifications)
	h, err := privacy.NewSubjectHasher([]byte("test key, 32 bytes or longer....."))
	if err != nil {
		t.Fatal(err)
	}
	// No erase_subject worker runs here: the purge stays queued, as it may for a while.
	eraser := &privacy.Eraser{Store: e.db, Hasher: h, Ledger: &privacy.LedgerFile{Path: t.TempDir() + "/ledger.jsonl"}}
	insertOnly, err := river.NewClient(riverpgxv5.New(e.db.Pool()), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	reqs := &privacy.Requests{Store: &postgres.Queued{DB: e.db, Jobs: insertOnly}, Eraser: eraser}
	r, err := reqs.Add(ctx, privacy.NewRequest{OrgID: u.OrgID, UserID: u.ID, Kind: callscribe.RequestErasure, Actor: "cli:test"})
	if err != nil {
		t.Fatal(err)
	}
	// The received notices go out first: closing marks the user erased, after which a
	// request_received still pending would be skipped (a race under load).
	e.settled(t, callscribe.NoticeDeliveryFilter{RequestID: r.ID}, 2, 30*time.Second)
	reqs.Start(ctx, r.ID, "cli:test")
	if _, err := reqs.Close(ctx, r.ID, privacy.Closing{Actor: "cli:test", Channel: callscribe.ConsentViaCLI}); err != nil {
		t.Fatal(err)
	}
	ds := e.settled(t, callscribe.NoticeDeliveryFilter{RequestID: r.ID}, 4, 30*time.Second)
	for _, d := range ds {
		if d.State != callscribe.NoticeSent {
			t.Errorf("%s by %s: %s, want sent", d.Kind, d.Channel, d.State)
		}
	}
	found := false
	for _, m := range e.emailsTo(t, u.Email) {
		found = found || (strings.Contains(m.text, "(erasure) is completed"))
	}
	if !found {
		t.Errorf("no email telling the erasure is completed; got %+v", e.emailsTo(t, u.Email))
	}
	if _, err := e.db.WithdrawConsent(ctx, u.ID, callscribe.PurposeNotifications, callscribe.ConsentViaCLI, time.Now()); err == nil {
		if ds, _ := e.notices.Deliveries(ctx, callscribe.NoticeDeliveryFilter{UserID: u.ID}); len(ds) != 4 {
			t.Errorf("%d deliveries after a notice to the erased user, want still 4", len(ds))
		}
	}
	// The purge: nothing of the deliveries, which name the user, is left.
	if _, err := eraser.Erase(ctx, u.ID, r.ID.String()); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := e.db.Pool().QueryRow(ctx, `SELECT count(*) FROM notice_deliveries WHERE user_id = $1`, u.ID).Scan(&left); err != nil || left != 0 {
		t.Errorf("%d deliveries of the erased user left (%v), want none", left, err)
	}
}
