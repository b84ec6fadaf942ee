package telegramtest_test

import (
	"context"
	"fmt"
	"time"

	tgbot "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"callscribe/telegram/telegramtest"
)

// A bot under test points its server URL at the fake; the test pushes a user's message
// and reads the bot's answer, with the time it arrived.
func Example() {
	fake := telegramtest.NewServer(telegramtest.DefaultToken)
	defer fake.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b, err := tgbot.New(fake.Token(), tgbot.WithServerURL(fake.URL), tgbot.WithDefaultHandler(
		func(ctx context.Context, b *tgbot.Bot, u *models.Update) {
			if u.Message != nil {
				b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: u.Message.Chat.ID, Text: "echo: " + u.Message.Text})
			}
		}))
	if err != nil {
		panic(err)
	}
	go b.Start(ctx)

	fake.SendText(telegramtest.User(42, "someone", "en"), "hello")
	// An example has no *testing.T; a test waits with internal/eventually instead.
	for len(fake.SentTo(42)) == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Println(fake.SentTo(42)[0].Text)
	// Output: echo: hello
}
