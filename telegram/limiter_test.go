package telegram

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestLimiterDefaults checks Telegram's limits as the bot sets them by default: 61
// messages to 61 chats take two seconds at 30 a second, and three messages to one chat
// two seconds at one a second; the limiter then holds entries only for the chats of the
// last second.
func TestLimiterDefaults(t *testing.T) {
	t.Parallel()
	l := newLimiter(DefaultPerChat, DefaultPerBot)
	ctx := context.Background()
	start := time.Now()
	var wg sync.WaitGroup
	for c := range 61 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.wait(ctx, int64(c+1)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if took := time.Since(start); took < 1900*time.Millisecond {
		t.Errorf("61 messages in %s; at %d a second they take 2 s", took, DefaultPerBot)
	}
	if n := l.tracked(); n > minPruneAt {
		t.Errorf("%d chats tracked, want at most %d", n, minPruneAt)
	}

	start = time.Now()
	for range 3 {
		if err := l.wait(ctx, 1000); err != nil {
			t.Fatal(err)
		}
	}
	if took := time.Since(start); took < 1900*time.Millisecond {
		t.Errorf("3 messages to one chat in %s; at one a second they take 2 s", took)
	}

	// A cancelled wait returns at once with the context's error.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := l.wait(cctx, 1000); err != context.Canceled {
		t.Errorf("cancelled wait: %v", err)
	}
}
