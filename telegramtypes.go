package callscribe

import (
	"time"

	"github.com/google/uuid"
)

// TelegramLink is an account linked to a Telegram user: exactly what the user agreement
// lists for a linked messenger, the Telegram user id (the chat id of their private chat
// with the bot) and, where Telegram shows it, the username.
type TelegramLink struct {
	UserID         uuid.UUID
	OrgID          uuid.UUID
	TelegramUserID int64
	Username       string // empty: not shown
	LinkedAt       time.Time
}
