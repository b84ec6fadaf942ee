package notify_test

import (
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"callscribe/notify"
	"callscribe/privacy"
	"callscribe/storage/postgres"
	"callscribe/telegram"
	"callscribe/telegram/telegramtest"
)

// BenchmarkNoticeLatencyTelegram is BenchmarkNoticeLatency through the real bot: the
// notices' telegram channel sends with telegram.Bot (as serve wires it) to the fake Bot
// API, and a message arrives when the fake receives its sendMessage. Every user has a
// chat of their own, so Telegram's one message a second per chat never binds; its 30 a
// second per bot does: at 50 completions a second the bot's limiter sends 30 and the
// rest wait their turn, so latency grows through the run (each second adds 20 to the
// queue) — the figure shows that queue, as it would be against the real Telegram.
// rate=25 is the same under the per-bot limit.
func BenchmarkNoticeLatencyTelegram(b *testing.B) {
	const seconds = 20
	for _, rate := range []int{50, 25} {
		b.Run("rate="+strconv.Itoa(rate), func(b *testing.B) {
			for range b.N {
				fake := telegramtest.NewServer(telegramtest.DefaultToken)
				noticeLatencyOn(b, linkChat, func(db *postgres.DB) latencyTarget { return telegramTarget(b, db, fake) }, rate, seconds)
				fake.Close()
			}
		})
	}
}

// chatBase is the first benchmark user's Telegram id; user i has chatBase+i.
const chatBase = 5_000_000

// linkChat links user i to a chat of their own, as /start <token> would (the token made
// and taken in the database, without a round of messages per user).
func linkChat(db *postgres.DB, userID uuid.UUID, i int) {
	token := fmt.Sprintf("bench-link-%d", i)
	hash := sha256.Sum256([]byte(token))
	now := time.Now()
	if err := db.CreateLinkToken(ctx, userID, hash[:], now.Add(time.Hour)); err != nil {
		panic(err)
	}
	if _, _, err := db.ConsumeLinkToken(ctx, hash[:], int64(chatBase+i), "", now); err != nil {
		panic(err)
	}
}

// telegramTarget is the real bot against fake as the notices' telegram channel (the
// adapter serve uses, notify.TelegramChannel), with the fake's record of
// sendMessage calls turned into arrivals.
func telegramTarget(b *testing.B, db *postgres.DB, fake *telegramtest.Server) latencyTarget {
	bot, err := telegram.New(ctx, telegram.Config{Token: fake.Token(), APIURL: fake.URL, Store: db,
		Consents: &privacy.Consents{Store: db, PolicyVersion: "1", Audit: &privacy.Audit{}, AuditLog: db},
		Requests: &privacy.Requests{Store: db}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	channel := notify.TelegramChannel(func() *telegram.Bot { return bot })
	out := make(chan arrival, 1<<16)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // the fake's sendMessage calls, as they come
		defer close(done)
		seen := 0
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			sent := fake.Sent()
			for _, s := range sent[seen:] {
				if s.Method == "sendMessage" {
					out <- arrival{callID: callFromLink(s.Text), at: s.At}
				}
			}
			seen = len(sent)
		}
	}()
	return latencyTarget{name: "the fake Bot API (telegram.Bot)", channel: channel, arrivals: out,
		close: func() { close(stop); <-done }}
}
