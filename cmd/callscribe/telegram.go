package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"callscribe"
	"callscribe/privacy"
	"callscribe/telegram"
)

// newBot connects the Telegram bot (getMe checks the token), wired to the database and
// the privacy code; with a service, withdrawals discard its queued calls and requests
// close through its queue. nil without a token.
func newBot(ctx context.Context, a *app, svc *service) (*telegram.Bot, error) {
	tc := a.cfg.telegram
	if tc.token == "" {
		return nil, nil
	}
	cal, err := privacy.LoadCalendar(a.cfg.calendarFile)
	if err != nil {
		return nil, err
	}
	cfg := telegram.Config{
		Token: tc.token, APIURL: tc.apiURL, WebhookURL: tc.webhookURL, LinkTTL: tc.linkTTL,
		Store:    a.db,
		Consents: &privacy.Consents{Store: a.db, PolicyVersion: a.cfg.policyVersion, Audit: &privacy.Audit{}, AuditLog: a.db},
		Requests: &privacy.Requests{Store: a.db, Calendar: cal},
		Logger:   a.log,
	}
	if svc != nil {
		cfg.Requests = &privacy.Requests{Store: svc.queued, Calendar: cal, Eraser: svc.eraser}
		cfg.Discarder = svc.pipeline
	}
	bot, err := telegram.New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return bot, nil
}

// cmdLinkTelegram prints a deep link that links a Telegram chat to the user: for
// operators and demos (users see theirs on the profile page).
func cmdLinkTelegram(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	fs := newFlags("users link-telegram")
	org := fs.String("org", localOrg, "the user's organization")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("usage: callscribe users link-telegram EMAIL [--org NAME]")
	}
	if cfg.telegram.token == "" {
		return callscribe.Errorf(callscribe.EINVALID, "CALLSCRIBE_TELEGRAM_TOKEN is not set: there is no bot to link to")
	}
	a, err := openApp(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.close()
	u, err := a.userByEmail(ctx, *org, pos[0])
	if err != nil {
		return err
	}
	bot, err := newBot(ctx, a, nil)
	if err != nil {
		return err
	}
	_, link, err := bot.NewLinkToken(ctx, u.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: open this link in Telegram within %s (single use):\n%s\n", u.Email, cfg.telegram.linkTTL, link)
	return nil
}

// runBot runs the bot until ctx ends; a failure is logged, and serve goes on without it.
func runBot(ctx context.Context, a *app, bot *telegram.Bot) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			err := bot.Run(ctx)
			if err == nil || ctx.Err() != nil {
				return
			}
			a.log.Error("telegram bot stopped; restarting in 10s", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Second):
			}
		}
	}()
	return done
}
