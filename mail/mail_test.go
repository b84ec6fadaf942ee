package mail_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"testing"
	"time"

	"callscribe"
	cmail "callscribe/mail"
	"callscribe/mail/mailtest"
)

// received parses the one message srv got and returns its header and the text body.
func received(t *testing.T, srv *mailtest.Server) (mail.Header, *mail.Message) {
	t.Helper()
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server received %d messages, want 1", len(msgs))
	}
	m, err := mail.ReadMessage(bytes.NewReader(msgs[0].Data))
	if err != nil {
		t.Fatalf("net/mail cannot read the message: %v\n%s", err, msgs[0].Data)
	}
	return m.Header, m
}

func TestSendStartTLSAuth(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t, mailtest.Options{Username: "robot", Password: "s3cret-pass"})
	s, err := cmail.New(cmail.Config{Addr: srv.Addr, Username: "robot", Password: "s3cret-pass",
		From: "callscribe <noreply@callscribe.test>", TLS: cmail.StartTLS, TLSConfig: srv.ClientTLS(), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	subject := "Расшифровка звонка готова — ёжик"
	text := "Здравствуйте!\nРасшифровка готова: https://callscribe.test/calls/0c5f0b0e-1\n" + strings.Repeat("длинная строка ", 12)
	if err := s.Send(context.Background(), cmail.Message{To: "Пётр <peter@example.test>", Subject: subject, Text: text}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	raw := srv.Messages()
	if len(raw) != 1 || !raw[0].TLS || raw[0].Auth != "robot" {
		t.Fatalf("received %+v, want one message over TLS authenticated as robot", raw)
	}
	if raw[0].From != "noreply@callscribe.test" || len(raw[0].To) != 1 || raw[0].To[0] != "peter@example.test" {
		t.Errorf("envelope from %q to %q, want noreply@callscribe.test to [peter@example.test]", raw[0].From, raw[0].To)
	}
	h, m := received(t, srv)
	dec := new(mime.WordDecoder)
	got, err := dec.DecodeHeader(h.Get("Subject"))
	if err != nil || got != subject {
		t.Errorf("subject decodes to %q (%v), want %q; raw %q", got, err, subject, h.Get("Subject"))
	}
	for _, line := range strings.Split(string(raw[0].Data), "\r\n") {
		if len(line) > 998 {
			t.Errorf("a line of %d bytes: SMTP allows 998", len(line))
		}
	}
	to, err := h.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Address != "peter@example.test" || to[0].Name != "Пётр" {
		t.Errorf("To = %v (%v), want Пётр <peter@example.test>", to, err)
	}
	if h.Get("MIME-Version") != "1.0" || h.Get("Message-Id") == "" || h.Get("Date") == "" {
		t.Errorf("headers %v lack MIME-Version 1.0, Message-ID or Date", h)
	}
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt != "text/plain" || params["charset"] != "utf-8" {
		t.Fatalf("Content-Type %q, want text/plain; charset=utf-8", h.Get("Content-Type"))
	}
	if h.Get("Content-Transfer-Encoding") != "quoted-printable" {
		t.Fatalf("Content-Transfer-Encoding %q, want quoted-printable", h.Get("Content-Transfer-Encoding"))
	}
	body, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	if err != nil {
		t.Fatal(err)
	}
	// The wire ends the data with a line break of its own.
	if want := strings.ReplaceAll(text, "\n", "\r\n"); strings.TrimSuffix(string(body), "\r\n") != want {
		t.Errorf("body %q, want %q", body, want)
	}
}

func TestSendImplicitTLSWithAttachment(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t, mailtest.Options{ImplicitTLS: true})
	s, err := cmail.New(cmail.Config{Addr: srv.Addr, From: "noreply@callscribe.test", TLS: cmail.TLS, TLSConfig: srv.ClientTLS()})
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte{0, 1, 2, 250, 251}, 100)
	if err := s.Send(context.Background(), cmail.Message{To: "a@example.test", Subject: "Export", Text: "Your export.",
		Attachments: []cmail.Attachment{{Name: "export.json", ContentType: "application/json", Data: data}}}); err != nil {
		t.Fatal(err)
	}
	h, m := received(t, srv)
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("Content-Type %q, want multipart/mixed", h.Get("Content-Type"))
	}
	r := multipart.NewReader(m.Body, params["boundary"])
	p, err := r.NextPart() // NextPart decodes quoted-printable itself
	if err != nil {
		t.Fatal(err)
	}
	if text, _ := io.ReadAll(p); string(text) != "Your export." {
		t.Errorf("text part %q", text)
	}
	p, err = r.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	if p.FileName() != "export.json" || p.Header.Get("Content-Transfer-Encoding") != "base64" {
		t.Errorf("attachment %q, encoding %q", p.FileName(), p.Header.Get("Content-Transfer-Encoding"))
	}
}

func TestSendRefusals(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t, mailtest.Options{Username: "robot", Password: "right", Reject: func(a string) bool { return strings.HasPrefix(a, "nobody@") }})
	base := cmail.Config{Addr: srv.Addr, Username: "robot", Password: "right", From: "noreply@callscribe.test", TLSConfig: srv.ClientTLS()}
	s, err := cmail.New(base)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(context.Background(), cmail.Message{To: "nobody@example.test", Subject: "x", Text: "x"})
	if !cmail.Permanent(err) {
		t.Errorf("refused recipient: err %v, want a permanent refusal (550)", err)
	}
	wrong := base
	wrong.Password = "wrong"
	s2, _ := cmail.New(wrong)
	if err := s2.Send(context.Background(), cmail.Message{To: "a@example.test", Subject: "x", Text: "x"}); err == nil {
		t.Error("wrong password: sent, want an error")
	}
	// STARTTLS refused by a server that does not offer it: nothing goes in the clear.
	plain := mailtest.Start(t, mailtest.Options{NoTLS: true})
	s3, _ := cmail.New(cmail.Config{Addr: plain.Addr, From: "noreply@callscribe.test"})
	if err := s3.Send(context.Background(), cmail.Message{To: "a@example.test", Subject: "x", Text: "x"}); err == nil || len(plain.Messages()) != 0 {
		t.Errorf("server without STARTTLS: err %v, %d messages; want a refusal and none sent", err, len(plain.Messages()))
	}
	// Header injection through the subject or the recipient.
	for _, m := range []cmail.Message{{To: "a@example.test", Subject: "hi\r\nBcc: x@evil.test", Text: "x"}, {To: "a@example.test\r\nBcc: x@evil.test", Subject: "x", Text: "x"}} {
		if err := s.Send(context.Background(), m); callscribe.ErrorCode(err) != callscribe.EINVALID {
			t.Errorf("Send(%q, %q) = %v, want EINVALID", m.To, m.Subject, err)
		}
	}
}

func TestSendNoTLSLoopbackOnly(t *testing.T) {
	t.Parallel()
	if _, err := cmail.New(cmail.Config{Addr: "smtp.example.test:25", From: "a@b.test", TLS: cmail.NoTLS}); callscribe.ErrorCode(err) != callscribe.EINVALID {
		t.Errorf("none to a remote host: %v, want EINVALID", err)
	}
	srv := mailtest.Start(t, mailtest.Options{NoTLS: true, Username: "u", Password: "p"})
	s, err := cmail.New(cmail.Config{Addr: srv.Addr, From: "a@b.test", TLS: cmail.NoTLS, Username: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), cmail.Message{To: "c@d.test", Subject: "s", Text: "t"}); err != nil {
		t.Fatal(err)
	}
	if m := srv.Messages(); len(m) != 1 || m[0].TLS {
		t.Errorf("received %+v", m)
	}
	for _, c := range []cmail.Config{{Addr: "nohostport", From: "a@b.test"}, {Addr: "h:1", From: "not an address"}, {Addr: "h:1", From: "a@b.test", TLS: "ssl"}} {
		if _, err := cmail.New(c); callscribe.ErrorCode(err) != callscribe.EINVALID {
			t.Errorf("New(%+v) = %v, want EINVALID", c, err)
		}
	}
}

func TestSendTimeout(t *testing.T) {
	t.Parallel()
	// A server that accepts and never greets: Send gives up at the timeout.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s, _ := cmail.New(cmail.Config{Addr: ln.Addr().String(), From: "a@b.test", Timeout: 300 * time.Millisecond})
	start := time.Now()
	err = s.Send(context.Background(), cmail.Message{To: "c@d.test", Subject: "s", Text: "t"})
	if err == nil || time.Since(start) > 5*time.Second {
		t.Errorf("silent server: err %v after %s, want an error within the timeout", err, time.Since(start))
	}
}

func TestLogSender(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := &cmail.Log{Logger: slog.New(slog.NewTextHandler(&buf, nil))} // the default level: info and above
	if err := l.Send(context.Background(), cmail.Message{To: "secret.person@example.test", Subject: "Подтвердите адрес", Text: "https://calls.test/verify/abc"}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "https://calls.test/verify/abc") || !strings.Contains(out, "level=WARN") || strings.Contains(out, "secret.person") {
		t.Errorf("log %q: want the link at warning level and no address", out)
	}
	if l.Delivers() {
		t.Error("the log sender says it delivers")
	}
	if err := l.Send(context.Background(), cmail.Message{To: "not an address"}); callscribe.ErrorCode(err) != callscribe.EINVALID {
		t.Errorf("bad address: %v", err)
	}
}
