package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"callscribe/internal/eventually"
	"callscribe/telegram"
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

// TestServeRunsTheBot runs `callscribe serve` with a bot token against the fake Bot API,
// by long polling and then in webhook mode (on serve's own HTTP server): a user links
// the chat with the deep link `users link-telegram` prints and withdraws consent with a
// button; SIGTERM stops serve and its bot. The logs hold no Telegram id or username.
func TestServeRunsTheBot(t *testing.T) {
	t.Parallel()
	fake := telegramtest.New(t)
	env := append(dbEnv(t), "CALLSCRIBE_LOG_LEVEL=info", "CALLSCRIBE_LEDGER_KEY="+strings.Repeat("k", 40),
		"CALLSCRIBE_DATA_DIR="+t.TempDir(), "CALLSCRIBE_TELEGRAM_TOKEN="+fake.Token(), "CALLSCRIBE_TELEGRAM_API_URL="+fake.URL)
	mustRun(t, env, "users", "add", "--org", "acme", "--email", "tg@example.ru")
	mustRun(t, env, "consent", "grant", "--org", "acme", "--email", "tg@example.ru", "--purpose", "transcription,summarization")

	for i, mode := range []string{"polling", "webhook"} {
		runEnv := append(env, "CALLSCRIBE_HTTP_ADDR=127.0.0.1:0")
		addr := ""
		if mode == "webhook" {
			addr = freeAddr(t)
			runEnv = append(env, "CALLSCRIBE_HTTP_ADDR="+addr, "CALLSCRIBE_TELEGRAM_WEBHOOK_URL=http://"+addr+telegram.WebhookPath)
		}
		stop := startServeBot(t, runEnv)
		if mode == "webhook" {
			eventually.True(t, 30*time.Second, "the webhook set", func() bool { u, _ := fake.Webhook(); return u != "" })
		}
		out := strings.Split(strings.TrimSpace(mustRun(t, env, "users", "link-telegram", "tg@example.ru", "--org", "acme")), "\n")
		token := strings.TrimPrefix(out[len(out)-1], "https://t.me/"+telegramtest.BotUser.Username+"?start=")
		tg := telegramtest.User(int64(424242+i), "serve_user_handle", "ru")
		fake.SendText(tg, "/start "+token)
		eventually.True(t, 30*time.Second, mode+": linked", func() bool { return len(fake.SentTo(tg.ID)) >= 1 })
		if mode == "webhook" { // its address is known: the profile page shows the link and the notices
			profileShowsTelegram(t, env, "http://"+addr)
		}
		fake.SendText(tg, "/withdraw")
		var list telegramtest.Sent
		eventually.True(t, 30*time.Second, mode+": the purposes", func() bool {
			s := fake.SentTo(tg.ID)
			if len(s) >= 2 {
				list = s[1]
			}
			return len(s) >= 2
		})
		purpose := "w:summarization"
		if i == 1 {
			purpose = "w:transcription"
		}
		fake.Press(tg, list, purpose)
		eventually.True(t, 30*time.Second, mode+": the withdrawal confirmed", func() bool {
			for _, s := range fake.SentTo(tg.ID) {
				if strings.Contains(s.Text, "отозвано") {
					return true
				}
			}
			return false
		})
		shown := mustRun(t, env, "consent", "show", "--org", "acme", "--email", "tg@example.ru")
		if !strings.Contains(shown, "bot") {
			t.Errorf("%s: consent show after the withdrawal:\n%s\nwant a withdrawal through channel bot", mode, shown)
		}
		text := stop()
		for _, pii := range []string{"serve_user_handle", fmt.Sprint(424242 + i), token} {
			if strings.Contains(text, pii) {
				t.Errorf("%s: serve's logs hold %q", mode, pii)
			}
		}
	}
}

// profileShowsTelegram signs in on serve's web app at base as tg@example.ru and checks
// that the profile shows the Telegram link (serve hands its bot to the web app) and the
// notice preferences (and its notices).
func profileShowsTelegram(t *testing.T, env []string, base string) {
	t.Helper()
	if r := runStdin(t, env, strings.NewReader("a long enough password\n"), "users", "password", "--org", "acme", "--verified", "tg@example.ru"); r.code != 0 {
		t.Fatalf("users password: %d %s %s", r.code, r.stdout, r.stderr)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.PostForm(base+"/signin", url.Values{"email": {"tg@example.ru"}, "password": {"a long enough password"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = c.Get(base + "/profile")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"@serve_user_handle", `action="/profile/telegram/unlink"`, `action="/profile/notices"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("serve's profile page lacks %s (%d)", want, resp.StatusCode)
		}
	}
}

// freeAddr is a loopback address with a port free at the moment.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// startServeBot starts `callscribe serve` and waits until it listens; stop sends SIGTERM,
// waits for a clean exit and returns what it logged.
func startServeBot(t *testing.T, env []string) (stop func() string) {
	t.Helper()
	cmd := exec.Command(callscribeBinary(t), "serve")
	cmd.Env = processEnv(env)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	})
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || !strings.Contains(lines.Text(), "listening on") {
		t.Fatalf("serve did not start; stderr:\n%s", stderr.String())
	}
	go func() {
		for lines.Scan() {
		}
	}()
	return func() string {
		t.Helper()
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("serve after SIGTERM: %v\n%s", err, stderr.String())
			}
		case <-time.After(60 * time.Second):
			t.Fatalf("serve did not stop within 60 s of SIGTERM")
		}
		return stderr.String()
	}
}
