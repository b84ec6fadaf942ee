// Package mail sends email: a plain-text message, optionally with attachments, through
// an SMTP server (STARTTLS, implicit TLS, or — to a server on this machine only — none),
// or to the server log when no SMTP server is configured. It owns the MIME encoding of
// what it sends and nothing else: it never decides what to say, and it never logs a
// recipient's address or a message's text when it sends one for real.
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"callscribe"
)

// Message is one email. Text is the plain-text body (UTF-8).
type Message struct {
	To          string // one address, e.g. "user@example.com" or "Name <user@example.com>"
	Subject     string
	Text        string
	Attachments []Attachment
}

// Attachment is a file sent with a message.
type Attachment struct {
	Name        string
	ContentType string // default application/octet-stream
	Data        []byte
}

// Sender sends email. The web app sends verification and reset links through it; the
// notices send their email channel through it.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// TLS modes of Config.TLS.
const (
	StartTLS = "starttls" // plain connection upgraded with STARTTLS (port 587); refused if the server lacks it
	TLS      = "tls"      // TLS from the first byte (port 465)
	NoTLS    = "none"     // no encryption: only to a server on this machine
)

// Config is an SMTP server and how to reach it.
type Config struct {
	Addr     string // host:port
	Username string // empty: no AUTH
	Password string
	From     string // the envelope and header sender address
	TLS      string // StartTLS (default), TLS or NoTLS
	// Timeout bounds each connection (dial, every command, the data); default 30s. A
	// context deadline, when sooner, wins.
	Timeout time.Duration
	// TLSConfig overrides the TLS client settings (tests give their own CA); ServerName
	// defaults to Addr's host.
	TLSConfig *tls.Config
	// LocalName is the name sent in EHLO; default "localhost".
	LocalName string
}

// SMTP sends messages through an SMTP server, one connection per message.
type SMTP struct {
	cfg  Config
	from *mail.Address
	host string
}

var _ Sender = (*SMTP)(nil)

// New checks cfg and returns its sender. A TLS mode of none is refused unless the
// server's host is a loopback address or "localhost": credentials and messages never
// cross a network in the clear.
func New(cfg Config) (*SMTP, error) {
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil || host == "" {
		return nil, callscribe.Errorf(callscribe.EINVALID, "CALLSCRIBE_SMTP_ADDR: %q is not host:port", cfg.Addr)
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil || strings.ContainsAny(cfg.From, "\r\n") {
		return nil, callscribe.Errorf(callscribe.EINVALID, "CALLSCRIBE_SMTP_FROM: %q is not an email address", cfg.From)
	}
	switch cfg.TLS {
	case "":
		cfg.TLS = StartTLS
	case StartTLS, TLS:
	case NoTLS:
		if !loopback(host) {
			return nil, callscribe.Errorf(callscribe.EINVALID, "CALLSCRIBE_SMTP_TLS: none is allowed only to a server on this machine (localhost, 127.0.0.1, ::1), not %s", host)
		}
	default:
		return nil, callscribe.Errorf(callscribe.EINVALID, "CALLSCRIBE_SMTP_TLS: %q is not starttls, tls or none", cfg.TLS)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.LocalName == "" {
		cfg.LocalName = "localhost"
	}
	return &SMTP{cfg: cfg, from: from, host: host}, nil
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Error is an SMTP server's refusal.
type Error struct {
	Code    int    // the SMTP reply code, e.g. 550
	Message string // the server's text
}

func (e *Error) Error() string { return fmt.Sprintf("smtp %d: %s", e.Code, e.Message) }

// Permanent reports whether err is a refusal that a retry will not change (a 5xx reply:
// no such mailbox, message refused), as opposed to a transient one (4xx) or a network
// failure.
func Permanent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code >= 500
}

// Send sends m: one connection, EHLO, STARTTLS when configured, AUTH PLAIN when a
// username is set, one recipient, the data. It gives up at the context's deadline or
// after Timeout, whichever comes first.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	to, err := mail.ParseAddress(m.To)
	if err != nil || strings.ContainsAny(m.To, "\r\n") {
		return callscribe.Errorf(callscribe.EINVALID, "the recipient is not an email address")
	}
	body, err := Compose(s.from, to, m, time.Now())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	d := net.Dialer{}
	conn, err := d.DialContext(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("smtp: connect: %w", err)
	}
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	// Closing the connection when ctx ends unblocks a command waiting on the server.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	tlsConfig := s.tlsConfig()
	var c *smtp.Client
	switch s.cfg.TLS {
	case TLS:
		c = smtp.NewClient(tls.Client(conn, tlsConfig))
	case StartTLS:
		c, err = smtp.NewClientStartTLS(conn, tlsConfig)
		if err != nil {
			conn.Close()
			return wrap("starttls", err)
		}
	default:
		c = smtp.NewClient(conn)
	}
	defer c.Close()
	c.CommandTimeout, c.SubmissionTimeout = s.cfg.Timeout, s.cfg.Timeout
	if err := c.Hello(s.cfg.LocalName); err != nil {
		return wrap("hello", err)
	}
	if s.cfg.Username != "" {
		if err := c.Auth(sasl.NewPlainClient("", s.cfg.Username, s.cfg.Password)); err != nil {
			return wrap("auth", err)
		}
	}
	if err := c.SendMail(s.from.Address, []string{to.Address}, bytes.NewReader(body)); err != nil {
		return wrap("send", err)
	}
	if err := c.Quit(); err != nil {
		// The message was accepted (the reply to the data came back): a failed QUIT
		// does not unsend it.
		return nil
	}
	return nil
}

func (s *SMTP) tlsConfig() *tls.Config {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.cfg.TLSConfig != nil {
		c = s.cfg.TLSConfig.Clone()
	}
	if c.ServerName == "" {
		c.ServerName = s.host
	}
	return c
}

// wrap turns a server's refusal into *Error; other failures keep their cause.
func wrap(step string, err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return fmt.Errorf("smtp %s: %w", step, &Error{Code: se.Code, Message: se.Message})
	}
	return fmt.Errorf("smtp %s: %w", step, err)
}

// Compose writes m as an RFC 5322 message: MIME 1.0, the subject encoded for UTF-8
// (RFC 2047), the text as quoted-printable text/plain; charset=utf-8, and, with
// attachments, multipart/mixed with each file in base64.
func Compose(from, to *mail.Address, m Message, at time.Time) ([]byte, error) {
	if strings.ContainsAny(m.Subject, "\r\n") {
		return nil, callscribe.Errorf(callscribe.EINVALID, "a subject is one line")
	}
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", from.String())
	h("To", to.String())
	h("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	h("Date", at.Format(time.RFC1123Z))
	h("Message-ID", "<"+randomID()+"@"+domainOf(from.Address)+">")
	h("MIME-Version", "1.0")
	if len(m.Attachments) == 0 {
		h("Content-Type", "text/plain; charset=utf-8")
		h("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		if err := writeQP(&b, m.Text); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
	mw := multipart.NewWriter(&b)
	h("Content-Type", mime.FormatMediaType("multipart/mixed", map[string]string{"boundary": mw.Boundary()}))
	b.WriteString("\r\n")
	part, err := mw.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {"text/plain; charset=utf-8"},
		"Content-Transfer-Encoding": {"quoted-printable"},
	})
	if err != nil {
		return nil, err
	}
	if err := writeQP(part, m.Text); err != nil {
		return nil, err
	}
	for _, a := range m.Attachments {
		ct := a.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		part, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {ct},
			"Content-Transfer-Encoding": {"base64"},
			"Content-Disposition":       {mime.FormatMediaType("attachment", map[string]string{"filename": a.Name})},
		})
		if err != nil {
			return nil, err
		}
		enc := base64.StdEncoding.EncodeToString(a.Data)
		for len(enc) > 76 {
			fmt.Fprintf(part, "%s\r\n", enc[:76])
			enc = enc[76:]
		}
		fmt.Fprintf(part, "%s\r\n", enc)
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func writeQP(w interface{ Write([]byte) (int, error) }, text string) error {
	text = strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\n", "\r\n")
	qp := quotedprintable.NewWriter(w)
	if _, err := qp.Write([]byte(text)); err != nil {
		return err
	}
	return qp.Close()
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return "localhost"
}

// Log is the sender of the embedded default, when no SMTP server is configured: it
// writes each message's subject and text to the server log (at warning level, which the
// default level shows), so that a person running
// callscribe on one machine can follow a verification link, and sends nothing. The
// recipient's address is never logged.
type Log struct {
	Logger *slog.Logger
}

var _ Sender = (*Log)(nil)

// Delivers reports that a message "sent" here reaches nobody: a caller that records
// outcomes (the notices) records it as not delivered.
func (l *Log) Delivers() bool { return false }

// Send logs m.
func (l *Log) Send(ctx context.Context, m Message) error {
	if _, err := mail.ParseAddress(m.To); err != nil {
		return callscribe.Errorf(callscribe.EINVALID, "the recipient is not an email address")
	}
	logger := l.Logger
	if logger == nil {
		logger = slog.Default()
	}
	// At warning level: the default level shows it, and a message not sent is worth it.
	logger.WarnContext(ctx, "email not sent: no SMTP server configured (CALLSCRIBE_SMTP_ADDR); its text follows",
		"subject", m.Subject, "text", m.Text, "attachments", len(m.Attachments))
	return nil
}
