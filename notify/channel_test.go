package notify_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"callscribe"
	"callscribe/notify"
)

// TestChannelFunc: a bot's send function wired as a channel; its "not linked" mapped to
// no_channel, its 429 to a wait.
func TestChannelFunc(t *testing.T) {
	t.Parallel()
	errNotLinked := errors.New("bot: not linked")
	var got []string
	waited := false
	ch := notify.ChannelFunc{Channel: callscribe.NoticeTelegram, Func: func(_ context.Context, id uuid.UUID, m notify.Message) error {
		err := func() error { // as the bot would answer
			if id == uuid.Nil {
				return errNotLinked
			}
			if !waited {
				waited = true
				return &notify.RetryAfterError{After: time.Millisecond}
			}
			got = append(got, m.Plain())
			return nil
		}()
		if errors.Is(err, errNotLinked) {
			return notify.ErrUnreachable
		}
		return err
	}}
	if ch.Name() != callscribe.NoticeTelegram {
		t.Errorf("Name = %s", ch.Name())
	}
	if err := ch.Send(context.Background(), uuid.Nil, notify.Message{}); !errors.Is(err, notify.ErrUnreachable) {
		t.Errorf("unlinked: %v", err)
	}
	var retry *notify.RetryAfterError
	if err := ch.Send(context.Background(), uuid.New(), notify.Message{Subject: "S", Text: "T"}); !errors.As(err, &retry) {
		t.Errorf("429: %v", err)
	}
	if err := ch.Send(context.Background(), uuid.New(), notify.Message{Subject: "S", Text: "T"}); err != nil || len(got) != 1 || got[0] != "S\n\nT" {
		t.Errorf("sent %q, %v", got, err)
	}
}
