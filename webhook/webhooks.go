package webhook

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"

	"callscribe"
	"callscribe/internal/safehttp"
	"callscribe/privacy/residency"
)

// Defaults of Config's zero fields.
const (
	DefaultTimeout       = 10 * time.Second
	DefaultMaxAttempts   = 12
	DefaultBackoff       = 10 * time.Second
	DefaultMaxBackoff    = time.Hour
	DefaultMaxRetryAfter = time.Hour
)

// Config shapes Webhooks.
type Config struct {
	Allowed     residency.Allowed // countries an endpoint may be in
	Policy      safehttp.Policy   // inside addresses an endpoint may have (CALLSCRIBE_WEBHOOK_ALLOW)
	Timeout     time.Duration     // one attempt, connect to last byte; 0 means DefaultTimeout
	MaxAttempts int               // attempts before giving up; 0 means DefaultMaxAttempts
	Backoff     time.Duration     // delay before the first retry, doubled each time; 0 means DefaultBackoff
	MaxBackoff  time.Duration     // cap of the doubled delay; 0 means DefaultMaxBackoff
	// MaxRetryAfter caps the wait a receiver's Retry-After asks for; 0 means DefaultMaxRetryAfter.
	MaxRetryAfter time.Duration

	Now    func() time.Time // nil means time.Now
	Jitter func() float64   // a number in [0, 1); nil means math/rand
	// Observe, when set, is told the outcome of every attempt (for metrics: its fields
	// are ids, an event, a state and a status, never a payload).
	Observe func(Outcome)
	// Logger is told, by ids only, of every delivery given up for good (failed).
	Logger *slog.Logger
}

// Store is what Webhooks needs of the database.
type Store interface {
	AddWebhookEndpoint(ctx context.Context, org string, e Endpoint) (Endpoint, error)
	WebhookEndpoints(ctx context.Context, org string) ([]Endpoint, error)
	DisableWebhookEndpoint(ctx context.Context, id uuid.UUID, at time.Time) error
	WebhookDeliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, error)
	WebhookSend(ctx context.Context, id uuid.UUID) (callscribe.WebhookSend, error)
	RecordWebhookAttempt(ctx context.Context, id uuid.UUID, a callscribe.WebhookAttempt) error
}

// Webhooks keeps endpoints and sends deliveries. It is safe for concurrent use.
type Webhooks struct {
	store  Store
	cfg    Config
	client *http.Client
}

// New returns Webhooks over store.
func New(store Store, cfg Config) *Webhooks {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.MaxRetryAfter <= 0 {
		cfg.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Allowed.Variable == "" {
		cfg.Allowed.Variable = "CALLSCRIBE_ALLOWED_COUNTRIES"
	}
	return &Webhooks{store: store, cfg: cfg, client: safehttp.NewClient(cfg.Policy, safehttp.Options{
		ConnectTimeout: min(cfg.Timeout, safehttp.DefaultConnectTimeout),
		MaxRedirects:   -1, // a receiver that moved must be re-registered, not followed
	})}
}

// Add registers an endpoint of the organization named org and returns it with its
// secret, which is shown this once. It refuses (EINVALID) a URL that is not http(s), an
// address literal inside our network that is not allow-listed, and a country outside
// the allowed ones; ENOTFOUND when there is no such organization.
func (w *Webhooks) Add(ctx context.Context, org, rawURL, country string, events []Event) (Endpoint, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return Endpoint{}, callscribe.Errorf(callscribe.EINVALID, "url: %q is not an http or https URL", residency.Redact(rawURL))
	}
	if err := w.cfg.Policy.CheckLiteral(u.Hostname()); err != nil {
		return Endpoint{}, callscribe.Wrap(callscribe.EINVALID, err, "url: %v", err)
	}
	if country, err = residency.ParseCountry(country); err != nil {
		return Endpoint{}, callscribe.Wrap(callscribe.EINVALID, err, "country: %v", err)
	}
	if err := w.cfg.Allowed.Check(residency.Processor{Name: "the webhook endpoint", Variable: "country", URL: rawURL, Country: country}); err != nil {
		return Endpoint{}, callscribe.Wrap(callscribe.EINVALID, err, "%v", err)
	}
	if len(events) == 0 {
		events = Events
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	return w.store.AddWebhookEndpoint(ctx, org, Endpoint{URL: u.String(), Events: events, Country: country,
		Secret: "whsec_" + base64.RawURLEncoding.EncodeToString(secret)})
}

// List returns the endpoints of the organization named org (every organization's when
// org is empty), removed ones included, oldest first, without their secrets.
func (w *Webhooks) List(ctx context.Context, org string) ([]Endpoint, error) {
	return w.store.WebhookEndpoints(ctx, org)
}

// Remove disables an endpoint: it receives nothing more, and its pending deliveries
// fail. Its past deliveries stay, for the record, until their calls are erased.
func (w *Webhooks) Remove(ctx context.Context, id uuid.UUID) error {
	return w.store.DisableWebhookEndpoint(ctx, id, w.cfg.Now())
}

// Deliveries lists the deliveries of a call, oldest first.
func (w *Webhooks) Deliveries(ctx context.Context, callID uuid.UUID) ([]Delivery, error) {
	return w.store.WebhookDeliveries(ctx, DeliveryFilter{CallID: callID})
}

// ListDeliveries lists the deliveries f selects (by organization, by state), oldest
// first: where an operator finds what failed for good.
func (w *Webhooks) ListDeliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, error) {
	switch f.State {
	case "", callscribe.WebhookPending, callscribe.WebhookDelivered, callscribe.WebhookFailed:
	default:
		return nil, callscribe.Errorf(callscribe.EINVALID, "status %q is not one of pending, delivered, failed", f.State)
	}
	return w.store.WebhookDeliveries(ctx, f)
}
