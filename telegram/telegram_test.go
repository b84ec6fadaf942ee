package telegram_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"
	"github.com/google/uuid"

	"callscribe"
	"callscribe/internal/eventually"
	"callscribe/privacy"
	"callscribe/storage/pgtest"
	"callscribe/storage/postgres"
	"callscribe/telegram"
	"callscribe/telegram/telegramtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, postgres.Migrate)) }

const within = 15 * time.Second

// harness is a bot running its real code against the fake Bot API and a fresh database.
type harness struct {
	t    *testing.T
	url  string
	db   *postgres.DB
	fake *telegramtest.Server
	bot  *telegram.Bot
	org  uuid.UUID
	disc *discarder
}

// discarder counts the pipeline's discards the bot asks for.
type discarder struct {
	mu    sync.Mutex
	users []uuid.UUID
}

func (d *discarder) DiscardQueued(_ context.Context, owner uuid.UUID) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.users = append(d.users, owner)
	return 2, nil
}

func (d *discarder) calls() []uuid.UUID {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]uuid.UUID(nil), d.users...)
}

var sys = callscribe.AsSystem(context.Background())

func newHarness(t *testing.T, tune func(*telegram.Config)) *harness {
	t.Helper()
	h := &harness{t: t, url: pgtest.DB(t), fake: telegramtest.New(t), disc: &discarder{}}
	db, err := postgres.Open(context.Background(), h.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	h.db = db
	if h.org, err = db.EnsureOrganization(sys, "acme"); err != nil {
		t.Fatal(err)
	}
	cfg := telegram.Config{
		Token: h.fake.Token(), APIURL: h.fake.URL, Store: db,
		Consents:    &privacy.Consents{Store: db, PolicyVersion: "1", Audit: &privacy.Audit{}, AuditLog: db},
		Requests:    &privacy.Requests{Store: db},
		Discarder:   h.disc,
		PollTimeout: 2 * time.Second,
		// A tenth of Telegram's per-chat gap keeps the conversations quick; TestSend and
		// TestLimiterDefaults check the default, TestFloodOfUpdates tuned limits.
		PerChat: 100 * time.Millisecond,
	}
	if tune != nil {
		tune(&cfg)
	}
	h.bot, err = telegram.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.WebhookURL == "" {
		h.run()
	}
	return h
}

// run runs the bot until the test ends.
func (h *harness) run() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := h.bot.Run(ctx); err != nil {
			h.t.Errorf("run: %v", err)
		}
	}()
	h.t.Cleanup(func() { cancel(); <-done })
}

// user adds a user of the organization who consented to purposes, in language lang.
func (h *harness) user(email, lang string, purposes ...callscribe.Purpose) callscribe.User {
	h.t.Helper()
	u, err := h.db.CreateUser(sys, callscribe.User{OrgID: h.org, Email: email, Surname: "Ivanova", FirstName: "Anna"})
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.db.SetLanguage(sys, u.ID, lang); err != nil {
		h.t.Fatal(err)
	}
	if len(purposes) > 0 {
		c := &privacy.Consents{Store: h.db, PolicyVersion: "1"}
		if _, err := c.Grant(sys, u.ID, purposes, callscribe.ConsentViaCLI); err != nil {
			h.t.Fatal(err)
		}
	}
	return u
}

// waitSent waits until the chat got n messages and returns them.
func (h *harness) waitSent(chat int64, n int) []telegramtest.Sent {
	h.t.Helper()
	var got []telegramtest.Sent
	eventually.True(h.t, within, fmt.Sprintf("%d messages to chat %d", n, chat), func() bool {
		got = nil
		for _, s := range h.fake.SentTo(chat) {
			if s.Method != "answerCallbackQuery" {
				got = append(got, s)
			}
		}
		return len(got) >= n
	})
	return got
}

// link links u to the Telegram user by a deep link's /start, as a person would.
func (h *harness) link(u callscribe.User, tg models.User) {
	h.t.Helper()
	before := len(h.fake.SentTo(tg.ID))
	_, deep, err := h.bot.NewLinkToken(callscribe.WithOrg(context.Background(), h.org), u.ID)
	if err != nil {
		h.t.Fatal(err)
	}
	token := deep[strings.Index(deep, "?start=")+len("?start="):]
	h.fake.SendText(tg, "/start "+token)
	h.waitSent(tg.ID, before+1)
	if _, err := h.db.TelegramLink(sys, u.ID); err != nil {
		h.t.Fatalf("after /start: %v", err)
	}
}

func (h *harness) count(query string, args ...any) int {
	h.t.Helper()
	var n int
	if err := h.db.Pool().QueryRow(sys, query, args...).Scan(&n); err != nil {
		h.t.Fatal(err)
	}
	return n
}

func (h *harness) auditActions(u uuid.UUID) []string {
	h.t.Helper()
	entries, err := h.db.AuditAbout(sys, u)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Action+"/"+e.Actor)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestLinkByDeepLinkKeepsIDAndUsernameOnly(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	u := h.user("anna@example.ru", "en", callscribe.PurposeTranscription)
	token, deep, err := h.bot.NewLinkToken(callscribe.WithOrg(context.Background(), h.org), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(token) > 64 || strings.Trim(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != "" {
		t.Errorf("token %q: want at most 64 characters of [A-Za-z0-9_-]", token)
	}
	if want := "https://t.me/" + telegramtest.BotUser.Username + "?start=" + token; deep != want {
		t.Errorf("deep link %q, want %q", deep, want)
	}
	if n := h.count(`SELECT count(*) FROM telegram_link_tokens WHERE hash = sha256($1::bytea)`, []byte(token)); n != 1 {
		t.Errorf("%d token rows hold the token's sha256, want 1", n)
	}
	if n := h.count(`SELECT count(*) FROM telegram_link_tokens t WHERE t::text LIKE '%' || $1 || '%'`, token); n != 0 {
		t.Errorf("the token is stored in the clear")
	}
	png, err := telegram.QRCode(deep, 256)
	if err != nil || len(png) < 100 || string(png[1:4]) != "PNG" {
		t.Errorf("QR code: %d bytes, %v; want a PNG", len(png), err)
	}

	tg := telegramtest.User(7001, "anna_tg", "en")
	h.fake.SendText(tg, "/start "+token)
	got := h.waitSent(tg.ID, 1)
	if !strings.Contains(got[0].Text, "linked to your account") {
		t.Errorf("reply %q: want the English confirmation", got[0].Text)
	}
	link, err := h.db.TelegramLink(sys, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if link.TelegramUserID != tg.ID || link.Username != "anna_tg" {
		t.Errorf("link %+v: want Telegram id %d and username anna_tg", link, tg.ID)
	}
	// Exactly the id and username: the columns of the link, no more (no first name, no
	// language, no chat history).
	var row string
	if err := h.db.Pool().QueryRow(sys, `SELECT l::text FROM telegram_links l`).Scan(&row); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(row, tg.FirstName) {
		t.Errorf("link row %s keeps the first name", row)
	}
	if n := h.count(`SELECT count(*) FROM telegram_link_tokens`); n != 0 {
		t.Errorf("%d tokens left after use; want the used one gone", n)
	}
	if a := h.auditActions(u.ID); !contains(a, telegram.ActionLink+"/bot:telegram") {
		t.Errorf("audit %v: want the link", a)
	}
}

func TestUsedOrExpiredTokenRefused(t *testing.T) {
	t.Parallel()
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	h := newHarness(t, func(c *telegram.Config) { c.Now = clock; c.LinkTTL = time.Minute })
	u := h.user("boris@example.ru", "ru")
	ctx := callscribe.WithOrg(context.Background(), h.org)

	used, _, err := h.bot.NewLinkToken(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	first, second := telegramtest.User(7101, "", "ru"), telegramtest.User(7102, "intruder", "ru")
	h.fake.SendText(first, "/start "+used)
	h.waitSent(first.ID, 1)
	h.fake.SendText(second, "/start "+used)
	got := h.waitSent(second.ID, 1)
	if !strings.Contains(got[0].Text, "недействительна") {
		t.Errorf("a used token: reply %q, want the refusal", got[0].Text)
	}
	link, err := h.db.TelegramLink(sys, u.ID)
	if err != nil || link.TelegramUserID != first.ID || link.Username != "" {
		t.Errorf("link %+v, %v: want the first user's, no username (none shown)", link, err)
	}

	expired, _, err := h.bot.NewLinkToken(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(time.Minute + time.Second)
	mu.Unlock()
	h.fake.SendText(second, "/start "+expired)
	got = h.waitSent(second.ID, 2)
	if !strings.Contains(got[1].Text, "недействительна") {
		t.Errorf("an expired token: reply %q, want the refusal", got[1].Text)
	}
	if _, err := h.db.TelegramLinkOf(sys, second.ID); callscribe.ErrorCode(err) != callscribe.ENOTFOUND {
		t.Errorf("the second Telegram user is linked (%v)", err)
	}
	if n := h.count(`SELECT count(*) FROM telegram_link_tokens`); n != 0 {
		t.Errorf("%d tokens left; an expired token tried is gone too", n)
	}
	// A made-up token, and one that is no token at all.
	h.fake.SendText(second, "/start AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	h.fake.SendText(second, "/start not a token!")
	h.waitSent(second.ID, 4)
	if n := h.count(`SELECT count(*) FROM telegram_links`); n != 1 {
		t.Errorf("%d links, want 1", n)
	}
}

func TestUnlinkedChatGetsInstructionsAndNothingIsStored(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.user("carol@example.ru", "ru", callscribe.PurposeTranscription)
	tables := []string{"telegram_links", "telegram_link_tokens", "telegram_drafts", "privacy_requests", "privacy_request_events", "audit_log", "consent_events"}
	before := map[string]int{}
	for _, tb := range tables {
		before[tb] = h.count(`SELECT count(*) FROM ` + tb)
	}
	stranger := telegramtest.User(7201, "stranger_handle", "en")
	texts := []string{"/withdraw", "/requests", "/request", "/stop", "/start", "Withdrawal of consent to personal data processing", "Please delete my data, my phone is +79161234567"}
	for _, text := range texts {
		h.fake.SendText(stranger, text)
	}
	got := h.waitSent(stranger.ID, len(texts))
	for _, m := range got {
		if !strings.Contains(m.Text, "not linked") || len(m.Keyboard) != 0 {
			t.Errorf("reply %q (keyboard %v): want the linking instructions alone", m.Text, m.Keyboard)
		}
	}
	// A button pressed in an unlinked chat (an old message) does nothing either.
	h.fake.Press(stranger, got[0], "w:transcription")
	h.waitSent(stranger.ID, len(texts)+1)
	for _, tb := range tables {
		if n := h.count(`SELECT count(*) FROM ` + tb); n != before[tb] {
			t.Errorf("%s: %d rows, %d before: an unlinked chat left a trace", tb, n, before[tb])
		}
	}
	if hits := pgtest.Scan(t, h.url, []string{"stranger_handle", "7201", "+79161234567", "delete my data"}); len(hits) != 0 {
		t.Errorf("the database holds what an unlinked chat sent: %v", hits)
	}
}

func TestWithdrawByButton(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	u := h.user("dina@example.ru", "ru", callscribe.PurposeTranscription, callscribe.PurposeSummarization)
	tg := telegramtest.User(7301, "dina", "ru")
	h.link(u, tg)
	h.fake.SendText(tg, "/withdraw")
	got := h.waitSent(tg.ID, 2)
	list := got[1]
	if want := []string{"w:transcription", "w:summarization"}; strings.Join(list.Buttons(), ",") != strings.Join(want, ",") {
		t.Fatalf("buttons %v, want %v (the purposes in force)", list.Buttons(), want)
	}
	if list.ButtonText("w:transcription") != "расшифровка звонков" {
		t.Errorf("button label %q: want Russian, the account's language", list.ButtonText("w:transcription"))
	}
	h.fake.Press(tg, list, "w:transcription")
	got = h.waitSent(tg.ID, 3)
	if !strings.Contains(got[2].Text, "отозвано") || !strings.Contains(got[2].Text, "2") {
		t.Errorf("confirmation %q: want the withdrawal and the 2 queued calls discarded", got[2].Text)
	}
	consents, err := h.db.Consents(sys, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range consents {
		if c.Purpose == callscribe.PurposeTranscription && c.WithdrawnAt == nil {
			t.Errorf("transcription still in force")
		}
		if c.Purpose == callscribe.PurposeSummarization && c.WithdrawnAt != nil {
			t.Errorf("summarization withdrawn too")
		}
	}
	events, err := h.db.ConsentEvents(sys, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if last := events[len(events)-1]; last.Action != callscribe.ConsentWithdraw || last.Channel != callscribe.ConsentViaBot {
		t.Errorf("last consent event %+v: want a withdrawal through channel bot", last)
	}
	if d := h.disc.calls(); len(d) != 1 || d[0] != u.ID {
		t.Errorf("discards %v: want the user's queued calls discarded once", d)
	}
	if a := h.auditActions(u.ID); !contains(a, privacy.ActionConsentWithdraw+"/bot:telegram") {
		t.Errorf("audit %v: want the withdrawal, by the bot", a)
	}
	// The same button again: not in force any more, nothing changes.
	h.fake.Press(tg, list, "w:transcription")
	got = h.waitSent(tg.ID, 4)
	if !strings.Contains(got[3].Text, "уже не действует") {
		t.Errorf("second press: %q, want 'not in force'", got[3].Text)
	}
	if len(h.disc.calls()) != 1 {
		t.Errorf("a second press discarded again")
	}
}

func TestEachRequestKindByMessage(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	u := h.user("elena@example.ru", "en", callscribe.PurposeTranscription)
	tg := telegramtest.User(7401, "elena", "en")
	h.link(u, tg)
	n := 1
	for _, kind := range callscribe.RequestKinds {
		text := "Request text for " + string(kind)
		if kind == callscribe.RequestAccess {
			text = "/request " + text // the command takes the text too
		}
		h.fake.SendText(tg, text)
		n++
		ask := h.waitSent(tg.ID, n)[n-1]
		if len(ask.Buttons()) != len(callscribe.RequestKinds)+1 {
			t.Fatalf("%s: buttons %v, want one per kind and cancel", kind, ask.Buttons())
		}
		var data string
		for _, b := range ask.Buttons() {
			if strings.HasPrefix(b, "k:"+string(kind)+":") {
				data = b
			}
		}
		if data == "" {
			t.Fatalf("%s: no button in %v", kind, ask.Buttons())
		}
		h.fake.Press(tg, ask, data)
		n++
		reply := h.waitSent(tg.ID, n)[n-1]
		list, err := h.db.Requests(sys, callscribe.RequestFilter{UserID: u.ID})
		if err != nil {
			t.Fatal(err)
		}
		var r *callscribe.Request
		for i := range list {
			if list[i].Kind == kind {
				r = &list[i]
			}
		}
		if r == nil {
			t.Fatalf("%s: no request recorded", kind)
		}
		if r.Notes != "Request text for "+string(kind) || r.Status != callscribe.RequestReceived || time.Since(r.ReceivedAt) > time.Minute {
			t.Errorf("%s: request %+v: want the message text, received now", kind, r)
		}
		due := privacy.DefaultCalendar().DueDateOf(kind, r.ReceivedAt)
		if r.DueAt != due {
			t.Errorf("%s: due %s, want %s", kind, r.DueAt, due)
		}
		if !strings.Contains(reply.Text, r.ID.String()) || !strings.Contains(reply.Text, due.In(time.UTC).Format("2 Jan 2006")) {
			t.Errorf("%s: reply %q: want the request number %s and due date %s", kind, reply.Text, r.ID, due)
		}
		if kind == callscribe.RequestClaim && !strings.Contains(reply.Text, "14 business days") {
			t.Errorf("claim reply %q: want its term", reply.Text)
		}
	}
	if n := h.count(`SELECT count(*) FROM telegram_drafts`); n != 0 {
		t.Errorf("%d drafts left after every kind was chosen", n)
	}
	// A claim's term: 14 business days, a withdrawal's 10.
	received := time.Date(2026, 12, 1, 12, 0, 0, 0, privacy.Moscow)
	if got, want := privacy.DefaultCalendar().DueDateOf(callscribe.RequestClaim, received), privacy.DefaultCalendar().AddBusinessDaysTo(callscribe.DateOf(received), 14); got != want {
		t.Errorf("claim due %s, want %s", got, want)
	}

	// /requests lists them all with status and due date.
	h.fake.SendText(tg, "/requests")
	n++
	list := h.waitSent(tg.ID, n)[n-1]
	if got := strings.Count(list.Text, "received, due by"); got != len(callscribe.RequestKinds) {
		t.Errorf("/requests: %d lines with status and due date, want %d:\n%s", got, len(callscribe.RequestKinds), list.Text)
	}
	if a := h.auditActions(u.ID); strings.Count(strings.Join(a, " "), telegram.ActionRequest) != len(callscribe.RequestKinds) {
		t.Errorf("audit %v: want one %s per request", a, telegram.ActionRequest)
	}
}

func TestWithdrawalTextRecognised(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	for i, text := range []string{"Withdrawal of consent to personal data processing", "  «Отзыв согласия на обработку персональных данных».", "/request ОТЗЫВ СОГЛАСИЯ НА ОБРАБОТКУ ПЕРСОНАЛЬНЫХ ДАННЫХ"} {
		u := h.user(fmt.Sprintf("f%d@example.ru", i), "ru")
		tg := telegramtest.User(int64(7500+i), "", "ru")
		h.link(u, tg)
		h.fake.SendText(tg, text)
		reply := h.waitSent(tg.ID, 2)[1]
		if len(reply.Keyboard) != 0 {
			t.Errorf("%q: the bot asked the kind (%v); want it recognised", text, reply.Buttons())
		}
		list, err := h.db.Requests(sys, callscribe.RequestFilter{UserID: u.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].Kind != callscribe.RequestWithdrawal {
			t.Errorf("%q: requests %+v, want one withdrawal", text, list)
		} else if !strings.Contains(reply.Text, list[0].ID.String()) {
			t.Errorf("%q: reply %q lacks the number", text, reply.Text)
		}
	}
}

func TestStopUnlinks(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	u := h.user("gleb@example.ru", "ru")
	tg := telegramtest.User(7601, "gleb_tg", "ru")
	h.link(u, tg)
	h.fake.SendText(tg, "just some text") // leaves a draft
	h.waitSent(tg.ID, 2)
	h.fake.SendText(tg, "/stop")
	got := h.waitSent(tg.ID, 3)
	if !strings.Contains(got[2].Text, "отвязан") {
		t.Errorf("reply %q: want the unlink confirmation", got[2].Text)
	}
	for _, tb := range []string{"telegram_links", "telegram_drafts", "telegram_link_tokens"} {
		if n := h.count(`SELECT count(*) FROM ` + tb); n != 0 {
			t.Errorf("%s: %d rows after /stop", tb, n)
		}
	}
	if hits := pgtest.Scan(t, h.url, []string{"gleb_tg", "7601"}); len(hits) != 0 {
		t.Errorf("after /stop the database still holds: %v", hits)
	}
	if a := h.auditActions(u.ID); !contains(a, telegram.ActionUnlink+"/bot:telegram") {
		t.Errorf("audit %v: want the unlink", a)
	}
	// Now the chat is a stranger's.
	h.fake.SendText(tg, "/requests")
	if got := h.waitSent(tg.ID, 4); !strings.Contains(got[3].Text, "не связан") {
		t.Errorf("after /stop: %q, want the linking instructions", got[3].Text)
	}
	// Unlink from the profile: the same, and false when nothing is linked.
	h.link(u, tg)
	if ok, err := h.bot.Unlink(callscribe.WithOrg(context.Background(), h.org), u.ID); !ok || err != nil {
		t.Errorf("Unlink: %v, %v", ok, err)
	}
	if ok, err := h.bot.Unlink(callscribe.WithOrg(context.Background(), h.org), u.ID); ok || err != nil {
		t.Errorf("Unlink again: %v, %v; want false", ok, err)
	}
}

func TestSend(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *telegram.Config) { c.PerChat = telegram.DefaultPerChat })
	u := h.user("hana@example.ru", "ru")
	other := h.user("ivan@example.ru", "ru")
	tg := telegramtest.User(7701, "", "ru")
	h.link(u, tg)
	ctx := callscribe.WithOrg(context.Background(), h.org)
	if err := h.bot.Send(ctx, other.ID, "hello", nil); err != telegram.ErrNotLinked {
		t.Errorf("Send to an unlinked user: %v, want ErrNotLinked", err)
	}
	if err := h.bot.Send(ctx, u.ID, "Your transcript is ready: https://example.ru/calls/1", nil); err != nil {
		t.Fatal(err)
	}
	if err := h.bot.Send(ctx, u.ID, "Your export", &telegram.Document{Name: "export.json", Content: strings.NewReader(`{"a":1}`)}); err != nil {
		t.Fatal(err)
	}
	got := h.waitSent(tg.ID, 3)
	if got[1].Method != "sendMessage" || got[1].Text != "Your transcript is ready: https://example.ru/calls/1" {
		t.Errorf("message %+v", got[1])
	}
	if got[2].Method != "sendDocument" || got[2].FileName != "export.json" || string(got[2].File) != `{"a":1}` || got[2].Caption != "Your export" {
		t.Errorf("document %+v", got[2])
	}
	if gap := got[2].At.Sub(got[1].At); gap < 900*time.Millisecond {
		t.Errorf("two messages to one chat %s apart; want at least a second", gap)
	}

	// 429 → *RetryAfterError with Telegram's retry_after.
	h.fake.FailNext("sendMessage", 1, 7)
	err := h.bot.Send(ctx, u.ID, "again", nil)
	var ra *telegram.RetryAfterError
	if !asRetry(err, &ra) || ra.After != 7*time.Second {
		t.Errorf("Send on 429: %v, want RetryAfterError{7s}", err)
	}
	h.fake.FailNextWith("sendMessage", 1, 403, "Forbidden: bot was blocked by the user")
	if err := h.bot.Send(ctx, u.ID, "again", nil); err != telegram.ErrBlockedByUser {
		t.Errorf("Send on 403: %v, want ErrBlockedByUser", err)
	}
	if link, err := h.bot.Link(ctx, u.ID); err != nil || link.TelegramUserID != tg.ID {
		t.Errorf("Link: %+v, %v", link, err)
	}
}

func asRetry(err error, target **telegram.RetryAfterError) bool {
	r, ok := err.(*telegram.RetryAfterError)
	if ok {
		*target = r
	}
	return ok
}

func pgtestScan(t *testing.T, url string, needles []string) []string {
	return pgtest.Scan(t, url, needles)
}
