package notify

import (
	"bytes"
	"context"
	"errors"

	"github.com/google/uuid"

	"callscribe"
	"callscribe/telegram"
)

// TelegramChannel is the notices' Telegram channel: bot's Send (bot returns the bot, or
// nil while there is none: every message is then unreachable), a message's attachment
// sent as a document, the bot's errors mapped to the notices' (no chat or blocked:
// ErrUnreachable; 429: *RetryAfterError).
func TelegramChannel(bot func() *telegram.Bot) Channel {
	return ChannelFunc{Channel: callscribe.NoticeTelegram, Func: func(ctx context.Context, userID uuid.UUID, m Message) error {
		b := bot()
		if b == nil {
			return ErrUnreachable
		}
		var doc *telegram.Document
		if f := m.Attachment; f != nil {
			doc = &telegram.Document{Name: f.Name, Content: bytes.NewReader(f.Content)}
		}
		err := b.Send(ctx, userID, m.Plain(), doc)
		var ra *telegram.RetryAfterError
		switch {
		case errors.Is(err, telegram.ErrNotLinked), errors.Is(err, telegram.ErrBlockedByUser):
			return ErrUnreachable
		case errors.As(err, &ra):
			return &RetryAfterError{After: ra.After}
		}
		return err
	}}
}
