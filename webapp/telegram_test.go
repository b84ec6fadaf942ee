package webapp_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"html"
	"image/png"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"callscribe"
	"callscribe/internal/browser"
	"callscribe/internal/eventually"
	"callscribe/privacy"
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
	eventually.True(t, 10*time.Second, "the profile shows the link", func() bool {
		_, body = c.get("/profile")
		return strings.Contains(body, "@anna_iv")
	})
	if !strings.Contains(body, `action="/profile/telegram/unlink"`) {
		t.Errorf("no Unlink button once linked")
	}
	// The token works once: another chat cannot take the account with it.
	a.Fake.SendText(telegramtest.User(777002, "mallory", "ru"), "/start "+token)
	eventually.True(t, 10*time.Second, "the second chat is answered", func() bool { return len(a.Fake.SentTo(777002)) > 0 })
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
	eventually.True(t, 10*time.Second, "the profile shows the link", func() bool {
		b.Go("/profile")
		return strings.Contains(b.Text("p.telegram-linked"), "@anna_b")
	})
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

// TestNoticeLinksLand: every kind of link a notice carries (notify's render: a call's
// transcript, a request, the privacy desk, the agreement) opens a page of ours, 200;
// a request's link lands on its row of the desk; another person's request is not found.
func TestNoticeLinksLand(t *testing.T) {
	t.Parallel()
	a := newReadersApp(t)
	c, acct := a.person(alice(), "")
	other, _ := a.person(bob(), "member")
	callID := a.call(acct, "", "", "текст звонка")
	if status, body := c.post("/privacy/requests", url.Values{"kind": {"access"}, "notes": {"x"}}); status != http.StatusOK {
		t.Fatalf("file a request: %d\n%s", status, body)
	}
	reqs, err := a.Requests.List(callscribe.AsSystem(context.Background()), privacy.ListOptions{OrgID: acct.OrgID, UserID: acct.ID})
	if err != nil || len(reqs) != 1 {
		t.Fatalf("requests: %v, %v", reqs, err)
	}
	reqID := reqs[0].ID.String()
	for _, link := range []string{"/calls/" + callID.String(), "/privacy/requests/" + reqID, "/privacy", "/agreement"} {
		status, body := c.get(link)
		if status != http.StatusOK {
			t.Errorf("%s: %d", link, status)
		}
		if strings.HasPrefix(link, "/privacy/requests/") && !strings.Contains(body, `id="request-`+reqID+`"`) {
			t.Errorf("%s does not land on the request's row", link)
		}
	}
	resp, err := c.noRedirect().Get(a.URL + "/privacy/requests/" + reqID)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); loc != "/privacy#request-"+reqID {
		t.Errorf("a request's link goes to %q, want its anchor on the desk", loc)
	}
	if status, _ := other.get("/privacy/requests/" + reqID); status != http.StatusNotFound {
		t.Errorf("another person's request: %d, want 404", status)
	}
}
