package telegram

// TrackedChats is how many chats the rate limiter holds an entry for.
func (b *Bot) TrackedChats() int { return b.limit.tracked() }
