package main

import (
	"strings"
	"testing"

	"callscribe/telegram/telegramtest"
)

// TestUsersLinkTelegram prints a deep link for a user, which the bot (here the fake's
// getMe) names; without a token it says what is missing.
func TestUsersLinkTelegram(t *testing.T) {
	t.Parallel()
	fake := telegramtest.New(t)
	env := dbEnv(t)
	mustRun(t, env, "users", "add", "--email", "tg@example.ru", "--org", "acme")
	if r := runCLI(t, env, "users", "link-telegram", "tg@example.ru", "--org", "acme"); r.code != exitBadInput || !strings.Contains(r.stderr, "CALLSCRIBE_TELEGRAM_TOKEN") {
		t.Errorf("without a token: exit %d, %q; want %d naming CALLSCRIBE_TELEGRAM_TOKEN", r.code, r.stderr, exitBadInput)
	}
	env = append(env, "CALLSCRIBE_TELEGRAM_TOKEN="+fake.Token(), "CALLSCRIBE_TELEGRAM_API_URL="+fake.URL)
	out := mustRun(t, env, "users", "link-telegram", "tg@example.ru", "--org", "acme")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	link := lines[len(lines)-1]
	prefix := "https://t.me/" + telegramtest.BotUser.Username + "?start="
	token, ok := strings.CutPrefix(link, prefix)
	if !ok || len(token) == 0 || len(token) > 64 {
		t.Errorf("last line %q: want %s<token of at most 64 characters>", link, prefix)
	}
	if r := runCLI(t, env, "users", "link-telegram", "nobody@example.ru", "--org", "acme"); r.code != exitNotFound {
		t.Errorf("unknown user: exit %d, want %d", r.code, exitNotFound)
	}
	if r := runCLI(t, []string{"CALLSCRIBE_TELEGRAM_WEBHOOK_URL=https://example.ru/telegram/webhook"}, "config"); r.code != exitBadInput || !strings.Contains(r.stderr, "CALLSCRIBE_TELEGRAM_TOKEN") {
		t.Errorf("a webhook without a token: exit %d, %q; want %d naming the token", r.code, r.stderr, exitBadInput)
	}
}

// TestClaimRequest files a claim: due on the 14th business day, and never extended.
func TestClaimRequest(t *testing.T) {
	t.Parallel()
	env := dbEnv(t)
	mustRun(t, env, "users", "add", "--email", "claimant@example.ru")
	// Received Monday 2026-11-02 (Moscow); 14 business days (4 November a holiday) end on
	// Monday 2026-11-23.
	r := decodeRequest(t, mustRun(t, env, "requests", "add", "--kind", "claim", "--email", "claimant@example.ru", "--received", "2026-11-02"))
	if r.Kind != "claim" || r.DueAt != "2026-11-23" {
		t.Errorf("claim %+v: want kind claim, due 2026-11-23", r)
	}
	fresh := decodeRequest(t, mustRun(t, env, "requests", "add", "--kind", "claim", "--email", "claimant@example.ru"))
	if res := runCLI(t, env, "requests", "extend", fresh.ID, "--reason", "need more time"); res.code != exitFailure || !strings.Contains(res.stderr, "cannot be extended") {
		t.Errorf("extend a claim: exit %d, %q; want %d and why", res.code, res.stderr, exitFailure)
	}
}
