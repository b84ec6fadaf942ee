package telegram_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"callscribe"
	"callscribe/internal/eventually"
	"callscribe/privacy"
	"callscribe/telegram"
	"callscribe/telegram/telegramtest"
)

// TestFloodOfUpdates pushes 1,000 updates from 100 chats at once. Every one is answered;
// the answers keep the per-chat and per-bot limits (as the fake saw them arrive); the
// bot's goroutines and its limiter's entries stay bounded whatever the flood.
//
// Not parallel: it counts the process's goroutines, which other tests would add to
// (sequential tests run before the parallel ones start).
func TestFloodOfUpdates(t *testing.T) {
	const (
		chats   = 100
		each    = 10
		perChat = 100 * time.Millisecond
		perBot  = 200
	)
	h := newHarness(t, func(c *telegram.Config) { c.PerChat, c.PerBot = perChat, perBot })
	base := runtime.NumGoroutine()
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	baseHeap := ms.HeapInuse

	var peakG, peakTracked atomic.Int64
	var peakHeap atomic.Uint64
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Add(1)
	go func() {
		defer sampler.Done()
		var ms runtime.MemStats
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if g := int64(runtime.NumGoroutine()); g > peakG.Load() {
				peakG.Store(g)
			}
			if n := int64(h.bot.TrackedChats()); n > peakTracked.Load() {
				peakTracked.Store(n)
			}
			if i%10 == 0 {
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peakHeap.Load() {
					peakHeap.Store(ms.HeapInuse)
				}
			}
		}
	}()

	start := time.Now()
	for i := range each {
		for c := range chats {
			h.fake.SendText(telegramtest.User(int64(9000+c), "", "en"), "/requests "+string(rune('a'+i)))
		}
	}
	var sent []telegramtest.Sent
	eventually.True(t, 60*time.Second, "1,000 answers", func() bool {
		sent = h.fake.Sent()
		return len(sent) >= chats*each
	})
	took := time.Since(start)
	close(stop)
	sampler.Wait()
	if len(sent) != chats*each {
		t.Errorf("%d answers, want %d", len(sent), chats*each)
	}

	// Per chat: consecutive answers at least perChat apart (less a little for the
	// network between the bot and the fake).
	byChat := map[int64][]time.Time{}
	for _, s := range sent {
		byChat[s.ChatID] = append(byChat[s.ChatID], s.At)
		if !strings.Contains(s.Text, "not linked") {
			t.Fatalf("answer %q: want the linking instructions", s.Text)
		}
	}
	for chat, times := range byChat {
		if len(times) != each {
			t.Errorf("chat %d: %d answers, want %d", chat, len(times), each)
		}
		for i := 1; i < len(times); i++ {
			if gap := times[i].Sub(times[i-1]); gap < perChat*8/10 {
				t.Errorf("chat %d: answers %d and %d %s apart, want at least %s", chat, i-1, i, gap, perChat)
				break
			}
		}
	}
	// Per bot: no window of one second holds more than perBot answers (and a few for
	// arrival jitter).
	all := make([]time.Time, len(sent))
	for i, s := range sent {
		all[i] = s.At
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Before(all[j]) })
	most := 0
	for i, j := 0, 0; i < len(all); i++ {
		for all[i].Sub(all[j]) >= time.Second {
			j++
		}
		most = max(most, i-j+1)
	}
	if most > perBot+perBot/20 {
		t.Errorf("%d answers within one second, want at most %d", most, perBot)
	}
	if minTook := time.Duration(chats*each/perBot-1) * time.Second; took < minTook {
		t.Errorf("1,000 answers in %s: faster than %d a second allows (%s)", took, perBot, minTook)
	}
	// Bounded: the library's default runs a goroutine per update (1,000 here); ours runs a
	// fixed pool. The limiter keeps entries only for chats sent to within perChat.
	if g := peakG.Load() - int64(base); g > 50 {
		t.Errorf("goroutines grew by %d during the flood, want a fixed pool (≤ 50)", g)
	}
	if n := peakTracked.Load(); n > 64 {
		t.Errorf("the limiter tracked %d chats at once, want ≤ 64 (those sent to within %s)", n, perChat)
	}
	t.Logf("1,000 updates from %d chats answered in %s; most in one second %d (limit %d); goroutines +%d at peak; heap in use +%.1f MiB at peak; limiter entries ≤ %d",
		chats, took.Round(time.Millisecond), most, perBot, peakG.Load()-int64(base), float64(int64(peakHeap.Load())-int64(baseHeap))/(1<<20), peakTracked.Load())
}

// TestWebhookSecret runs the bot in webhook mode: it sets its webhook with a secret
// token; an update with the right token is handled, one with a wrong or no token is
// refused with 401 and nothing in it is handled.
func TestWebhookSecret(t *testing.T) {
	t.Parallel()
	var handler atomic.Value
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handler.Load().(http.Handler).ServeHTTP(w, r)
	}))
	t.Cleanup(hook.Close)
	h := newHarness(t, func(c *telegram.Config) { c.WebhookURL = hook.URL + telegram.WebhookPath })
	handler.Store(h.bot.WebhookHandler())
	h.run()
	eventually.True(t, within, "the webhook set", func() bool { u, _ := h.fake.Webhook(); return u != "" })
	url, secret := h.fake.Webhook()
	if url != hook.URL+telegram.WebhookPath || len(secret) < 32 {
		t.Fatalf("webhook %q with secret of %d characters; want %s with a secret", url, len(secret), hook.URL+telegram.WebhookPath)
	}
	u := h.user("kira@example.ru", "en", callscribe.PurposeTranscription)
	tg := telegramtest.User(7901, "kira", "en")
	h.link(u, tg) // through the webhook, with the right secret

	withdraw := func(id int) models.Update {
		m := &models.Message{ID: id, From: &tg, Date: int(time.Now().Unix()), Text: "/withdraw",
			Chat: models.Chat{ID: tg.ID, Type: models.ChatTypePrivate}}
		m.Entities = []models.MessageEntity{{Type: models.MessageEntityTypeBotCommand, Length: 9}}
		return models.Update{ID: int64(id), Message: m}
	}
	sentBefore := len(h.fake.SentTo(tg.ID))
	for _, wrong := range []string{"", "wrong", secret[:len(secret)-1] + "x", secret + "x"} {
		code, err := h.fake.Deliver(withdraw(100), wrong)
		if err != nil {
			t.Fatal(err)
		}
		if code != http.StatusUnauthorized {
			t.Errorf("secret %q: status %d, want 401", wrong, code)
		}
	}
	code, err := h.fake.Deliver(withdraw(101), secret)
	if err != nil || code != http.StatusOK {
		t.Fatalf("right secret: %d, %v", code, err)
	}
	got := h.waitSent(tg.ID, sentBefore+1)
	if len(got) != sentBefore+1 || len(got[sentBefore].Keyboard) == 0 {
		t.Errorf("after 4 refused updates and 1 accepted: %d new messages (want exactly 1, the purposes)", len(got)-sentBefore)
	}
	for _, c := range h.fake.Calls() {
		if c.Method == "getUpdates" {
			t.Errorf("getUpdates called in webhook mode")
			break
		}
	}
}

// TestErasureRemovesEverythingTheBotStored links a user, leaves a draft and an unused
// link token, erases the user, and scans the whole database for what the bot kept.
func TestErasureRemovesEverythingTheBotStored(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	u := h.user("lev@example.ru", "ru", callscribe.PurposeTranscription)
	tg := telegramtest.User(987654321987, "lev_unique_handle", "ru")
	h.link(u, tg)
	h.fake.SendText(tg, "draft text zyxwvu")
	h.waitSent(tg.ID, 2)
	if _, _, err := h.bot.NewLinkToken(callscribe.WithOrg(context.Background(), h.org), u.ID); err != nil {
		t.Fatal(err)
	}
	needles := []string{"lev_unique_handle", "987654321987", "zyxwvu"}
	if hits := h.scanCount(needles); hits == 0 {
		t.Fatalf("the scan finds nothing before the erasure: it would prove nothing")
	}
	hasher, err := privacy.NewSubjectHasher([]byte("test key, 32 bytes or longer....."))
	if err != nil {
		t.Fatal(err)
	}
	e := &privacy.Eraser{Store: h.db, Hasher: hasher, Ledger: &privacy.LedgerFile{Path: t.TempDir() + "/ledger.jsonl"}}
	er, err := e.Erase(sys, u.ID, "req-1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range []string{"telegram_links", "telegram_drafts", "telegram_link_tokens"} {
		if er.Entry.Counts[tb] != 1 {
			t.Errorf("ledger counts %s = %d, want 1", tb, er.Entry.Counts[tb])
		}
	}
	rep, err := e.VerifyErased(sys, privacy.Subject{UserID: u.ID})
	if err != nil || !rep.Clean() {
		t.Errorf("verify: %+v, %v", rep, err)
	}
	if hits := h.scanCount(needles); hits != 0 {
		t.Errorf("after the erasure the database holds what the bot stored (%d hits)", hits)
	}
	// The chat is a stranger's now.
	h.fake.SendText(tg, "/requests")
	if got := h.waitSent(tg.ID, 3); !strings.Contains(got[2].Text, "не связан") {
		t.Errorf("after erasure: %q, want the linking instructions", got[2].Text)
	}
}

func (h *harness) scanCount(needles []string) int {
	h.t.Helper()
	return len(pgtestScan(h.t, h.url, needles))
}
