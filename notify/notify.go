// Package notify owns what the service tells its users and how: the notices (a call's
// transcript is ready, a data-subject request was received, extended or closed, a new
// agreement version, a consent withdrawn, a personal-data breach), the channels they go
// through (a messenger, email), each user's choices, and the delivery of every message
// as a durable River job (deliver_notice) whose outcome is recorded.
//
// It must never put transcript text, a phone number or an email address in a job's
// arguments, a log line or a delivery record, nor keep a message's text once sent:
// messages are rendered from the catalogue when they are delivered, in the user's
// language, and carry links and ids. A transcript-ready message is a link, never the
// transcript.
package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"callscribe"
	"callscribe/mail"
	"callscribe/privacy"
	"callscribe/webhook"
)

// Message is one rendered notice, as a channel sends it.
type Message struct {
	Kind    callscribe.NoticeKind
	Subject string // a line; email uses it as the subject, a messenger as the first line
	Text    string // the body: links and ids, never transcript text or a phone number
	// Attachment is a file sent with the message, or nil: the export answering a
	// completed access request, on the messenger only. Made at delivery, never stored.
	Attachment *Attachment
}

// Attachment is one file a message carries.
type Attachment struct {
	Name        string // callscribe-export-2026-12-03.json
	ContentType string // application/json
	Content     []byte
}

// Exporter writes everything held about a user as one JSON document (privacy.Exporter):
// the file that answers a completed access request in the messenger.
type Exporter interface {
	Export(ctx context.Context, w io.Writer, userID uuid.UUID) error
}

// Channel reaches a user by their id: a messenger bot. It returns ErrUnreachable when the
// user cannot be reached this way (no chat linked), a *RetryAfterError when the channel
// asks to wait (Telegram's 429 with retry_after), a *PermanentError when retrying cannot
// help; any other error is retried with backoff.
type Channel interface {
	Name() callscribe.NoticeChannel
	Send(ctx context.Context, userID uuid.UUID, m Message) error
}

// ErrUnreachable: the user has no address on the channel.
var ErrUnreachable = errors.New("notify: user cannot be reached on this channel")

// RetryAfterError asks to send again after After.
type RetryAfterError struct{ After time.Duration }

func (e *RetryAfterError) Error() string { return fmt.Sprintf("notify: retry after %s", e.After) }

// PermanentError is a refusal that a retry will not change.
type PermanentError struct{ Reason string }

func (e *PermanentError) Error() string { return "notify: refused: " + e.Reason }

// Store is what notices need of the database outside the transaction of an event.
type Store interface {
	NoticeSend(ctx context.Context, id uuid.UUID) (callscribe.NoticeSend, error)
	RecordNoticeAttempt(ctx context.Context, id uuid.UUID, state string, attempts int, reason string, at time.Time) error
	NoticeChoices(ctx context.Context, userID uuid.UUID) (map[callscribe.NoticeChannel]map[callscribe.NoticeKind]bool, error)
	SetNoticeChoice(ctx context.Context, userID uuid.UUID, kind callscribe.NoticeKind, channel callscribe.NoticeChannel, enabled bool, at time.Time) error
	NoticeDeliveries(ctx context.Context, f callscribe.NoticeDeliveryFilter) ([]callscribe.NoticeDelivery, error)
}

// NoticeTx is the transaction of an event, as recording its notice needs it: reading the
// recipients, recording their deliveries with their deliver_notice jobs. It is an alias
// of an interface literal so that the adapter's hook (postgres.DB.NoticeOn), declared
// where notify cannot be imported, takes Record as it is.
type NoticeTx = interface {
	NoticeRecipients(ctx context.Context, userIDs []uuid.UUID) ([]callscribe.NoticeRecipient, error)
	AddNoticeDeliveries(ctx context.Context, ds []callscribe.NewNoticeDelivery) error
	UsersToTell(ctx context.Context, orgID uuid.UUID) ([]uuid.UUID, error)
	SubscribedEndpoints(ctx context.Context, orgID uuid.UUID, event callscribe.WebhookEvent) ([]uuid.UUID, error)
	AddWebhookDeliveries(ctx context.Context, ds []callscribe.NewWebhookDelivery) error
}

// Config configures the notices.
type Config struct {
	Store Store
	// Mail sends the email channel; nil: no email channel.
	Mail mail.Sender
	// Channels are the other channels (a messenger bot), by name.
	Channels []Channel
	// BaseURL is where people open the service, for links: "https://callscribe.example".
	BaseURL string
	// MaxAttempts is how many times a delivery is tried before it is failed; default 8.
	MaxAttempts int
	// Backoff is the wait after the first failed attempt, doubled after each; default 5s,
	// at most MaxBackoff (default 1h).
	Backoff, MaxBackoff time.Duration
	// MaxRetryAfter caps how long a channel may ask to wait; default 1h.
	MaxRetryAfter time.Duration
	Logger        *slog.Logger
	Now           func() time.Time
	// Exporter, when set, makes the export a completed access request is answered with
	// in the messenger chat when the user's organization's access answer is "file"; nil:
	// the message links to the privacy desk only.
	Exporter Exporter
	// AuditLog, when set, records the final outcome of each breach notice (ids only).
	AuditLog privacy.AuditLog
	// Observe, when set, is told each attempt's outcome (the benchmark and tests use it).
	Observe func(Outcome)
}

// Notices records and delivers notices.
type Notices struct {
	cfg      Config
	channels map[callscribe.NoticeChannel]Channel
}

// New returns the notices over cfg.
func New(cfg Config) *Notices {
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 5 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = time.Hour
	}
	if cfg.MaxRetryAfter <= 0 {
		cfg.MaxRetryAfter = time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	n := &Notices{cfg: cfg, channels: map[callscribe.NoticeChannel]Channel{}}
	for _, c := range cfg.Channels {
		n.channels[c.Name()] = c
	}
	return n
}

// configured reports whether channel c can send.
func (n *Notices) configured(c callscribe.NoticeChannel) bool {
	if c == callscribe.NoticeEmail {
		return n.cfg.Mail != nil
	}
	return n.channels[c] != nil
}

// Record records, in tx, one delivery of notice nt per recipient and channel they are
// to be reached on, each with its deliver_notice job: if tx commits, every delivery will
// be attempted; if it rolls back, none exists. It is what the database's notice hook
// runs (postgres.DB.NoticeOn), in the transaction of the event.
//
// Who is told on which channel: nobody erased; a transcript-ready notice only to a user
// whose consent to notifications is in force; each kind on the channels the user's
// preferences (or the defaults) enable among those configured.
func (n *Notices) Record(ctx context.Context, tx NoticeTx, nt callscribe.Notice) error {
	if len(nt.UserIDs) == 0 {
		return nil
	}
	recipients, err := tx.NoticeRecipients(ctx, nt.UserIDs)
	if err != nil {
		return err
	}
	now := n.cfg.Now().UTC().Truncate(time.Microsecond)
	noticeID := uuid.New()
	var ds []callscribe.NewNoticeDelivery
	for _, r := range recipients {
		if (r.Erased && !toErased(nt.Kind)) || (NeedsConsent(nt.Kind) && !r.Notifications) {
			continue
		}
		for _, ch := range callscribe.NoticeChannels {
			if !n.configured(ch) || !Enabled(r.Choices, ch, nt.Kind) {
				continue
			}
			ds = append(ds, callscribe.NewNoticeDelivery{ID: uuid.New(), NoticeID: noticeID, UserID: r.UserID, Kind: nt.Kind,
				Channel: ch, CallID: nt.CallID, RequestID: nt.RequestID, IncidentID: nt.IncidentID, Detail: nt.Detail, CreatedAt: now})
		}
	}
	if err := tx.AddNoticeDeliveries(ctx, ds); err != nil {
		return err
	}
	return n.recordWebhooks(ctx, tx, nt, recipients, now)
}

// recordWebhooks records, for each recipient's organization, one delivery of the
// notice's event to each of its endpoints subscribed to it, whatever the user's
// preferences: the organization's systems (a CRM holding copies) must hear of a request,
// a withdrawal or a breach to act on it. The payload names ids only.
func (n *Notices) recordWebhooks(ctx context.Context, tx NoticeTx, nt callscribe.Notice, recipients []callscribe.NoticeRecipient, now time.Time) error {
	event, ok := webhook.EventForNotice(nt.Kind)
	if !ok {
		return nil
	}
	endpoints := map[uuid.UUID][]uuid.UUID{}
	var ds []callscribe.NewWebhookDelivery
	for _, r := range recipients {
		if r.Erased {
			continue
		}
		eps, seen := endpoints[r.OrgID]
		if !seen {
			var err error
			if eps, err = tx.SubscribedEndpoints(ctx, r.OrgID, event); err != nil {
				return err
			}
			endpoints[r.OrgID] = eps
		}
		for _, ep := range eps {
			id := uuid.New()
			payload, err := json.Marshal(webhook.NoticePayload{ID: id, Event: event, CreatedAt: now, Data: webhook.NoticeData{
				OrganizationID: r.OrgID, UserID: r.UserID, RequestID: nt.RequestID, IncidentID: nt.IncidentID, Purpose: purposeOf(nt)}})
			if err != nil {
				return err
			}
			ds = append(ds, callscribe.NewWebhookDelivery{ID: id, EndpointID: ep, Event: event, SubjectID: r.UserID, Payload: payload, CreatedAt: now})
		}
	}
	return tx.AddWebhookDeliveries(ctx, ds)
}

func purposeOf(nt callscribe.Notice) string {
	if nt.Kind == callscribe.NoticeConsentWithdrawn {
		return nt.Detail
	}
	return ""
}

// toErased reports whether kind is still told to a user marked erased: the answer to
// their erasure request, closed in the transaction that marks them. It goes out while
// their address is still held, before the purge removes it with the delivery.
func toErased(kind callscribe.NoticeKind) bool { return kind == callscribe.NoticeRequestClosed }

// Deliveries lists recorded deliveries: ids, event, channel, outcome.
func (n *Notices) Deliveries(ctx context.Context, f callscribe.NoticeDeliveryFilter) ([]callscribe.NoticeDelivery, error) {
	return n.cfg.Store.NoticeDeliveries(ctx, f)
}

// ChannelFunc makes a Channel of a send function: how TelegramChannel wires a bot whose
// Send knows nothing of notify, mapping the bot's own errors (not linked, 429 with
// retry_after) to ErrUnreachable and *RetryAfterError.
type ChannelFunc struct {
	Channel callscribe.NoticeChannel
	Func    func(ctx context.Context, userID uuid.UUID, m Message) error
}

// Name is the channel's name.
func (c ChannelFunc) Name() callscribe.NoticeChannel { return c.Channel }

// Send calls the function.
func (c ChannelFunc) Send(ctx context.Context, userID uuid.UUID, m Message) error {
	return c.Func(ctx, userID, m)
}

// Plain is a message as one plain text: the subject, a blank line, the body — what a
// messenger shows.
func (m Message) Plain() string { return m.Subject + "\n\n" + m.Text }
