package webapp_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"html"
	"image/png"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"callscribe"
	"callscribe/internal/browser"
	"callscribe/internal/eventually"
	"callscribe/notify"
	"callscribe/telegram"
	"callscribe/telegram/telegramtest"
)

var (
	deepLinkRE = regexp.MustCompile(`href="(https://t\.me/[^"?]+\?start=[A-Za-z0-9_-]+)"`)
	qrRE       = regexp.MustCompile(`src="data:image/png;base64,([^"]+)"`)
)

// qrSide decodes the profile's QR code image and returns its width (0: none).
func qrSide(t *testing.T, body string) int {
	t.Helper()
	m := qrRE.FindStringSubmatch(body)
	if m == nil {
		return 0
	}
	raw, err := base64.StdEncoding.DecodeString(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatalf("the QR code's data URL: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("the QR code is not a PNG: %v", err)
	}
	return img.Bounds().Dx()
}

// TestProfileTelegramLink: "Link Telegram" on the profile makes a deep link to the bot
// with its QR code and expiry; /start <token> through the fake Bot API links the chat,
// and the profile shows the username; "Unlink" forgets it, audited both ways; the token
// works once.
func TestProfileTelegramLink(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	p := alice()
	c := a.register(p)
	acct := a.account(p.email)

	_, body := c.get("/profile")
	if !strings.Contains(body, `action="/profile/telegram"`) {
		t.Fatalf("the profile has no Link Telegram form:\n%s", body)
	}
	status, body := c.post("/profile/telegram", url.Values{})
	if status != http.StatusOK {
		t.Fatalf("link: %d\n%s", status, body)
	}
	m := deepLinkRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no deep link on the page:\n%s", body)
	}
	link, _ := url.Parse(html.UnescapeString(m[1]))
	if link.Path != "/"+telegramtest.BotUser.Username {
		t.Errorf("deep link %s: want the bot %s", link, telegramtest.BotUser.Username)
	}
	token := link.Query().Get("start")
	if len(token) == 0 || len(token) > 64 {
		t.Errorf("token of %d characters", len(token))
	}
	if side := qrSide(t, body); side <= 0 {
		t.Errorf("QR code of side %d", side)
	}
	if !strings.Contains(body, "действует до") {
		t.Errorf("the expiry is not shown")
	}

	user := telegramtest.User(777001, "anna_iv", "ru")
	a.Fake.SendText(user, "/start "+token)
	eventually.True(t, 30*time.Second, "the profile shows the link", func() bool {
		_, body = c.get("/profile")
		return strings.Contains(body, "@anna_iv")
	})
	if !strings.Contains(body, `action="/profile/telegram/unlink"`) {
		t.Errorf("no Unlink button once linked")
	}
	// The token works once: another chat cannot take the account with it.
	a.Fake.SendText(telegramtest.User(777002, "mallory", "ru"), "/start "+token)
	eventually.True(t, 30*time.Second, "the second chat is answered", func() bool { return len(a.Fake.SentTo(777002)) > 0 })
	if l, err := a.Bot.Link(callscribe.AsSystem(context.Background()), acct.ID); err != nil || l.TelegramUserID != 777001 {
		t.Errorf("after a second /start with the same token: link %+v, %v", l, err)
	}

	if status, body := c.post("/profile/telegram/unlink", url.Values{}); status != http.StatusOK || !strings.Contains(body, `action="/profile/telegram"`) {
		t.Fatalf("unlink: %d\n%s", status, body)
	}
	if _, err := a.Bot.Link(callscribe.AsSystem(context.Background()), acct.ID); callscribe.ErrorCode(err) != callscribe.ENOTFOUND {
		t.Errorf("after unlinking: %v, want ENOTFOUND", err)
	}
	entries, err := a.DB.AuditAbout(callscribe.AsSystem(context.Background()), acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	var linked, unlinked bool
	for _, e := range entries {
		linked = linked || e.Action == telegram.ActionLink
		unlinked = unlinked || e.Action == telegram.ActionUnlink
	}
	if !linked || !unlinked {
		t.Errorf("audit: link %v, unlink %v; want both", linked, unlinked)
	}
	// Unlinking again says there was nothing.
	if _, body := c.post("/profile/telegram/unlink", url.Values{}); !strings.Contains(body, "Telegram не был связан") {
		t.Errorf("unlink twice: %s", body)
	}
}

// TestBrowserTelegramLink: the same flow in a browser: the QR code is drawn and
// decodable, /start through the fake links, the page shows the username; unlink.
func TestBrowserTelegramLink(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	p := alice()
	a.register(p)
	b := browser.New(t, a.URL)
	signIn(b, p)
	b.Go("/profile")
	b.Submit(`form[action="/profile/telegram"] button`)
	side, err := browser.Eval[int](b, `document.querySelector("img.qr").naturalWidth`)
	if err != nil || side <= 0 {
		t.Fatalf("QR image width %d, %v", side, err)
	}
	href, err := browser.Eval[string](b, `document.querySelector("a.telegram-link").href`)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(href)
	accessible(t, b)
	b.Screenshot("telegram-link")
	a.Fake.SendText(telegramtest.User(778001, "anna_b", "ru"), "/start "+u.Query().Get("start"))
	eventually.True(t, 30*time.Second, "the profile shows the link", func() bool {
		b.Go("/profile")
		return b.Has("p.telegram-linked")
	})
	if got := b.Text("p.telegram-linked"); !strings.Contains(got, "@anna_b") {
		t.Errorf("linked as %q, want @anna_b", got)
	}
	b.Screenshot("telegram-linked")
	b.Submit(`form[action="/profile/telegram/unlink"] button`)
	if got := b.Text(".flash"); !strings.Contains(got, "Telegram отвязан") {
		t.Errorf("after unlinking: %q", got)
	}
	if !b.Has(`form[action="/profile/telegram"]`) {
		t.Errorf("no Link Telegram button after unlinking")
	}
}

// TestNoticePreferences: the profile's notices form saves per event and channel, shows
// the service notices by email as always on (and a forged form cannot turn them off),
// and a completed call is then told on the channels chosen only.
func TestNoticePreferences(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	p := alice()
	c := a.register(p)
	acct := a.account(p.email)
	ctx := callscribe.AsSystem(context.Background())

	_, body := c.get("/profile")
	for _, want := range []string{`name="transcript_ready.telegram" checked`, `name="request_received.telegram" checked`,
		`id="n-request_received.email" checked disabled`} {
		if !strings.Contains(body, want) {
			t.Errorf("the notices form lacks %s", want)
		}
	}
	if strings.Contains(body, `name="transcript_ready.email" checked`) {
		t.Errorf("transcript-ready by email is on by default")
	}
	// Telegram off for transcripts, email on; the forged request_received.email is ignored.
	form := url.Values{"notices": {"1"}, "transcript_ready.email": {"on"}, "request_received.telegram": {"on"},
		"request_extended.telegram": {"on"}, "request_closed.telegram": {"on"}, "agreement_published.telegram": {"on"},
		"agreement_published.email": {"on"}, "consent_withdrawn.telegram": {"on"}, "consent_withdrawn.email": {"on"},
		"breach.telegram": {"on"}}
	status, body := c.post("/profile/notices", form)
	if status != http.StatusOK || !strings.Contains(body, "Настройки уведомлений сохранены") {
		t.Fatalf("save: %d\n%s", status, body)
	}
	prefs, err := a.Notices.Preferences(ctx, acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range prefs {
		want := form.Get(string(pr.Kind)+"."+string(pr.Channel)) == "on" || pr.Locked
		if pr.Enabled != want {
			t.Errorf("%s by %s: enabled %v, want %v", pr.Kind, pr.Channel, pr.Enabled, want)
		}
	}
	if status, _ := c.post("/profile/notices", url.Values{}); status != http.StatusBadRequest {
		t.Errorf("an incomplete form: %d, want 400", status)
	}

	// Respected: a call completed is told by email only.
	jobs, err := river.NewClient(riverpgxv5.New(a.DB.Pool()), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	a.DB.NoticeOn(a.Notices.Record, jobs)
	if _, err := a.DB.GrantConsent(ctx, acct.ID, callscribe.PurposeNotifications, "1", callscribe.ConsentViaCLI, time.Now()); err != nil {
		t.Fatal(err)
	}
	callID, err := a.DB.CreateCall(ctx, acct.OrgID, acct.ID, []string{"agent"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.DB.GrantConsent(ctx, acct.ID, callscribe.PurposeTranscription, "1", callscribe.ConsentViaCLI, time.Now()); err != nil {
		t.Fatal(err)
	}
	a.DB.RecordStaging(ctx, callID, callscribe.Staging{Stage: "memory", ObjectKey: "calls/" + callID.String(), Bytes: 1,
		SHA256: strings.Repeat("ab", 32), StagedAt: time.Now()})
	res, err := a.DB.CompleteCall(ctx, acct.ID, callscribe.Transcript{CallID: callID, Engine: "test", Text: "hello",
		Segments: []callscribe.Segment{{Text: "hello", EndMS: 1000}}})
	if err != nil || !res.Stored {
		t.Fatalf("CompleteCall: %+v, %v", res, err)
	}
	ds, err := a.Notices.Deliveries(ctx, callscribe.NoticeDeliveryFilter{CallID: callID})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range ds {
		got = append(got, string(d.Channel))
	}
	if strings.Join(got, ",") != "email" {
		t.Errorf("a transcript-ready notice went to %v, want [email] only", got)
	}
}

// TestNoticeLinksLand: every kind of link notify puts in a message (a call's transcript,
// a request, the privacy desk, the agreement) opens a page of ours, 200: the notices are
// recorded by the events themselves (a call stored, a request filed on the desk, a consent
// withdrawn, an agreement published), rendered by notify and caught at the channel, and
// their links followed as the user. A request's link lands on its row of the desk;
// another person's request is not found.
func TestNoticeLinksLand(t *testing.T) {
	t.Parallel()
	a := newReadersApp(t)
	ctx := callscribe.AsSystem(context.Background())
	var mu sync.Mutex
	var texts []string
	notices := notify.New(notify.Config{Store: a.DB, BaseURL: a.URL, Logger: slog.New(slog.DiscardHandler),
		Channels: []notify.Channel{notify.ChannelFunc{Channel: callscribe.NoticeTelegram,
			Func: func(_ context.Context, _ uuid.UUID, m notify.Message) error {
				mu.Lock()
				defer mu.Unlock()
				texts = append(texts, m.Text)
				return nil
			}}}})
	jobs, err := river.NewClient(riverpgxv5.New(a.DB.Pool()), &river.Config{}) // inserts only: Deliver is called here
	if err != nil {
		t.Fatal(err)
	}
	a.DB.NoticeOn(notices.Record, jobs)

	c, acct := a.person(alice(), "")
	other, _ := a.person(bob(), "member")
	if _, err := a.DB.GrantConsent(ctx, acct.ID, callscribe.PurposeNotifications, "2026-01", callscribe.ConsentViaWeb, time.Now()); err != nil {
		t.Fatal(err)
	}
	a.call(acct, "", "", "текст звонка")
	if status, body := c.post("/privacy/requests", url.Values{"kind": {"access"}, "notes": {"x"}}); status != http.StatusOK {
		t.Fatalf("file a request: %d\n%s", status, body)
	}
	if status, _ := c.post("/privacy/consents", url.Values{"purpose": {"summarization"}, "action": {"withdraw"}}); status != http.StatusOK {
		t.Fatalf("withdraw: %d", status)
	}
	a.publish("2")
	ds, err := notices.Deliveries(ctx, callscribe.NoticeDeliveryFilter{UserID: acct.ID})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[callscribe.NoticeKind]bool{}
	for _, d := range ds {
		kinds[d.Kind] = true
		if _, err := notices.Deliver(ctx, d.ID); err != nil {
			t.Fatalf("deliver %s: %v", d.Kind, err)
		}
	}
	for _, k := range []callscribe.NoticeKind{callscribe.NoticeTranscriptReady, callscribe.NoticeRequestReceived,
		callscribe.NoticeConsentWithdrawn, callscribe.NoticeAgreementPublished} {
		if !kinds[k] {
			t.Errorf("no %s notice recorded (have %v)", k, kinds)
		}
	}
	for _, who := range []*client{c, other} {
		if status, _ := who.post("/agreement/accept", url.Values{"version": {"2"}}); status != http.StatusOK {
			t.Fatalf("accept the new agreement: %d", status)
		}
	}

	linkRE := regexp.MustCompile(regexp.QuoteMeta(a.URL) + `(/[^\s]*)`)
	paths := map[string]string{} // kind of link: a path of that kind
	mu.Lock()
	for _, text := range texts {
		for _, m := range linkRE.FindAllStringSubmatch(text, -1) {
			p := strings.TrimRight(m[1], ".,;)")
			kind := p
			if i := strings.LastIndex(p, "/"); i > 0 {
				if _, err := uuid.Parse(p[i+1:]); err == nil {
					kind = p[:i+1] + "<id>"
				}
			}
			paths[kind] = p
		}
	}
	mu.Unlock()
	for _, kind := range []string{"/calls/<id>", "/privacy/requests/<id>", "/privacy", "/agreement"} {
		if _, ok := paths[kind]; !ok {
			t.Errorf("no %s link in the messages %q", kind, texts)
		}
	}
	for kind, p := range paths {
		status, body := c.get(p)
		if status != http.StatusOK {
			t.Errorf("%s (%s): %d", kind, p, status)
		}
		if kind == "/privacy/requests/<id>" {
			reqID := strings.TrimPrefix(p, "/privacy/requests/")
			if !strings.Contains(body, `id="request-`+reqID+`"`) {
				t.Errorf("%s does not land on the request's row", p)
			}
			resp, err := c.noRedirect().Get(a.URL + p)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if loc := resp.Header.Get("Location"); loc != "/privacy#request-"+reqID {
				t.Errorf("a request's link goes to %q, want its anchor on the desk", loc)
			}
			if status, _ := other.get(p); status != http.StatusNotFound {
				t.Errorf("another person's request: %d, want 404", status)
			}
		}
	}
}
