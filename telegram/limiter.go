package telegram

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter keeps the bot within Telegram's limits: at most one message per perChat to a
// chat, and perBot messages a second in all (a token bucket of one token, so never a
// burst). Each chat is a bucket of one token too, kept as the time its last message went;
// an entry older than perChat is a full bucket and is dropped, so the map holds only the
// chats sent to within the last perChat — at most perBot × perChat of them (30), however
// many chats there are. Both checks are made under one lock and a message goes only when
// both allow it, so waiting for one never spends the other.
type limiter struct {
	perChat time.Duration
	global  *rate.Limiter

	mu      sync.Mutex
	last    map[int64]time.Time
	pruneAt int
}

const minPruneAt = 64

func newLimiter(perChat time.Duration, perBot int) *limiter {
	return &limiter{perChat: perChat, global: rate.NewLimiter(rate.Limit(perBot), 1),
		last: map[int64]time.Time{}, pruneAt: minPruneAt}
}

// wait blocks until a message may go to chat (and counts it as gone), or ctx ends.
func (l *limiter) wait(ctx context.Context, chat int64) error {
	for {
		d := l.try(chat)
		if d == 0 {
			return nil
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// try takes the chat's and the bot's token when both are there (0), or says how long to
// wait before asking again.
func (l *limiter) try(chat int64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if t, ok := l.last[chat]; ok {
		if d := t.Add(l.perChat).Sub(now); d > 0 {
			return d
		}
	}
	if !l.global.AllowN(now, 1) {
		tokens := l.global.TokensAt(now)
		d := time.Duration((1 - tokens) / float64(l.global.Limit()) * float64(time.Second))
		return max(d, time.Millisecond)
	}
	l.last[chat] = now
	if len(l.last) >= l.pruneAt {
		for c, t := range l.last {
			if now.Sub(t) >= l.perChat {
				delete(l.last, c)
			}
		}
		l.pruneAt = max(minPruneAt, 2*len(l.last))
	}
	return 0
}

// tracked is how many chats the limiter holds an entry for.
func (l *limiter) tracked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.last)
}
