package main

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"callscribe/internal/eventually"
	"callscribe/mail/mailtest"
)

// TestServeSendsNotices runs `callscribe serve` with an SMTP server configured: a request
// recorded by the CLI (another process) is told to its subject by email from serve's
// worker, in Russian, with its number and a link to the public address; a breach notice
// queued by `breach notify` is delivered and `breach status` says so.
func TestServeSendsNotices(t *testing.T) {
	t.Parallel()
	smtp := mailtest.Start(t, mailtest.Options{NoTLS: true, Username: "robot", Password: "secret-pw"})
	env := append(dbEnv(t), "CALLSCRIBE_HTTP_ADDR=127.0.0.1:0",
		"CALLSCRIBE_PUBLIC_URL=https://calls.example.ru/", "CALLSCRIBE_SMTP_ADDR="+smtp.Addr, "CALLSCRIBE_SMTP_TLS=none",
		"CALLSCRIBE_SMTP_USERNAME=robot", "CALLSCRIBE_SMTP_PASSWORD=secret-pw", "CALLSCRIBE_SMTP_FROM=noreply@calls.example.ru",
		"CALLSCRIBE_SMTP_COUNTRY=RU")
	mustRun(t, env, "users", "add", "--org", "acme", "--email", "orlova@example.ru", "--phone", "+79161357968")
	srv := startServe(t, env)
	out := mustRun(t, env, "requests", "add", "--org", "acme", "--kind", "access", "--email", "orlova@example.ru")
	id := regexp.MustCompile(`"id": ?"([0-9a-f-]{36})"`).FindStringSubmatch(out)
	if id == nil {
		t.Fatalf("requests add printed %s", out)
	}
	subject := func(i int) (string, string) {
		m, err := mail.ReadMessage(bytes.NewReader(smtp.Messages()[i].Data))
		if err != nil {
			t.Fatal(err)
		}
		s, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
		body, _ := io.ReadAll(quotedprintable.NewReader(m.Body))
		return s, string(body)
	}
	eventually.True(t, 30*time.Second, "the request's email", func() bool { return len(smtp.Messages()) >= 1 })
	s, raw := subject(0)
	if s != "Ваше обращение № "+id[1][:8]+" получено" || !strings.Contains(raw, "https://calls.example.ru/privacy/requests/"+id[1]) ||
		smtp.Messages()[0].To[0] != "orlova@example.ru" || smtp.Messages()[0].Auth != "robot" {
		t.Errorf("email %q to %v (auth %q):\n%s", s, smtp.Messages()[0].To, smtp.Messages()[0].Auth, raw)
	}

	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "users"), []byte("orlova@example.ru\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "notice"), []byte("Ваши данные могли быть раскрыты.\n"), 0o600)
	out = mustRun(t, env, "breach", "open", "--description", "exposed", "--org", "acme", "--users", filepath.Join(dir, "users"))
	bid := regexp.MustCompile(`breach ([0-9a-f-]{36}) opened: 1 users affected`).FindStringSubmatch(out)
	if bid == nil {
		t.Fatalf("breach open printed %s", out)
	}
	mustRun(t, env, "breach", "notify", bid[1], "--template", filepath.Join(dir, "notice"))
	eventually.True(t, 30*time.Second, "the breach email", func() bool { return len(smtp.Messages()) >= 2 })
	if s, raw := subject(1); s != "Уведомление об инциденте с персональными данными" || !strings.Contains(raw, bid[1][:8]) {
		t.Errorf("breach email %q:\n%s", s, raw)
	}
	eventually.True(t, 30*time.Second, "breach status sent", func() bool {
		return strings.Contains(mustRun(t, env, "breach", "status", bid[1]), "users: 1, sent 1")
	})
	eventually.True(t, 30*time.Second, "both notices counted in /metrics", func() bool {
		resp, err := http.Get(srv.base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return sample(string(b), `callscribe_notice_deliveries_total{channel="email",event="request_received",state="sent"}`) == 1 &&
			sample(string(b), `callscribe_notice_deliveries_total{channel="email",event="breach",state="sent"}`) == 1
	})
}

// TestNoticesConfig: the SMTP options are checked at start-up, each error naming its
// variable: a sender address is required, no encryption only to this machine, the
// server's country declared and allowed; without a server, email goes to the log.
func TestNoticesConfig(t *testing.T) {
	t.Parallel()
	smtp := func(kv ...string) map[string]string {
		m := map[string]string{"CALLSCRIBE_DATA_DIR": "/d", "CALLSCRIBE_SMTP_ADDR": "smtp.example.ru:587",
			"CALLSCRIBE_SMTP_FROM": "noreply@example.ru", "CALLSCRIBE_SMTP_COUNTRY": "RU"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, c := range []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{"complete", smtp(), ""},
		{"no sender", smtp("CALLSCRIBE_SMTP_FROM", ""), "CALLSCRIBE_SMTP_FROM"},
		{"plain text to another host", smtp("CALLSCRIBE_SMTP_TLS", "none"), "CALLSCRIBE_SMTP_TLS"},
		{"plain text to this machine", smtp("CALLSCRIBE_SMTP_TLS", "none", "CALLSCRIBE_SMTP_ADDR", "127.0.0.1:25"), ""},
		{"unknown tls mode", smtp("CALLSCRIBE_SMTP_TLS", "ssl"), "CALLSCRIBE_SMTP_TLS"},
		{"undeclared country", smtp("CALLSCRIBE_SMTP_COUNTRY", ""), "CALLSCRIBE_SMTP_COUNTRY"},
		{"abroad", smtp("CALLSCRIBE_SMTP_COUNTRY", "US"), "CALLSCRIBE_SMTP_COUNTRY"},
		{"not host:port", smtp("CALLSCRIBE_SMTP_ADDR", "smtp.example.ru"), "CALLSCRIBE_SMTP_ADDR"},
		{"bad public url", map[string]string{"CALLSCRIBE_DATA_DIR": "/d", "CALLSCRIBE_PUBLIC_URL": "calls.example.ru"}, "CALLSCRIBE_PUBLIC_URL"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := loadConfig(testGetenv(c.env))
			if c.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if _, err := cfg.mailSender(nil); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("err = %v, want one naming %s", err, c.wantErr)
			}
		})
	}
	cfg, err := loadConfig(testGetenv(map[string]string{"CALLSCRIBE_DATA_DIR": "/d"}))
	if err != nil {
		t.Fatal(err)
	}
	if s, err := cfg.mailSender(nil); err != nil || fmt.Sprintf("%T", s) != "*mail.Log" {
		t.Errorf("without a server: %T, %v; want the log sender", s, err)
	}
}
