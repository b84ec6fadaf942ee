package webhook

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

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
}

// Webhooks keeps endpoints and sends deliveries. It is safe for concurrent use.
type Webhooks struct {
	pool   *pgxpool.Pool
	cfg    Config
	client *http.Client
}

// New returns Webhooks over the database behind pool.
func New(pool *pgxpool.Pool, cfg Config) *Webhooks {
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
	if cfg.Allowed.Variable == "" {
		cfg.Allowed.Variable = "CALLSCRIBE_ALLOWED_COUNTRIES"
	}
	return &Webhooks{pool: pool, cfg: cfg, client: safehttp.NewClient(cfg.Policy, safehttp.Options{
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
	e := Endpoint{Org: org, URL: u.String(), Events: events, Country: country, Secret: "whsec_" + base64.RawURLEncoding.EncodeToString(secret)}
	err = w.pool.QueryRow(ctx, `
		INSERT INTO webhook_endpoints (organization_id, url, secret, events, country)
		SELECT id, $2, $3, $4, $5 FROM organizations WHERE name = $1
		RETURNING id, organization_id, created_at`,
		org, e.URL, e.Secret, eventStrings(events), country).Scan(&e.ID, &e.OrgID, &e.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Endpoint{}, callscribe.Errorf(callscribe.ENOTFOUND, "no organization named %q", org)
	}
	if err != nil {
		return Endpoint{}, fmt.Errorf("add webhook endpoint: %w", err)
	}
	return e, nil
}

// List returns the endpoints of the organization named org (every organization's when
// org is empty), removed ones included, oldest first, without their secrets.
func (w *Webhooks) List(ctx context.Context, org string) ([]Endpoint, error) {
	rows, err := w.pool.Query(ctx, `
		SELECT e.id, e.organization_id, o.name, e.url, e.events, e.country, e.created_at, e.disabled_at
		FROM webhook_endpoints e JOIN organizations o ON o.id = e.organization_id
		WHERE $1 = '' OR o.name = $1
		ORDER BY e.created_at, e.id`, org)
	if err != nil {
		return nil, fmt.Errorf("list webhook endpoints: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Endpoint, error) {
		var e Endpoint
		var events []string
		err := row.Scan(&e.ID, &e.OrgID, &e.Org, &e.URL, &events, &e.Country, &e.CreatedAt, &e.DisabledAt)
		for _, ev := range events {
			e.Events = append(e.Events, Event(ev))
		}
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("list webhook endpoints: %w", err)
	}
	return out, nil
}

// Remove disables an endpoint: it receives nothing more, and its pending deliveries
// fail. Its past deliveries stay, for the record, until their calls are erased.
func (w *Webhooks) Remove(ctx context.Context, id uuid.UUID) error {
	tag, err := w.pool.Exec(ctx, `UPDATE webhook_endpoints SET disabled_at = $2 WHERE id = $1 AND disabled_at IS NULL`, id, w.cfg.Now())
	if err != nil {
		return fmt.Errorf("remove webhook endpoint: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return callscribe.Errorf(callscribe.ENOTFOUND, "no active webhook endpoint %s", id)
	}
	return nil
}

// Deliveries lists the deliveries of a call, oldest first.
func (w *Webhooks) Deliveries(ctx context.Context, callID uuid.UUID) ([]Delivery, error) {
	rows, err := w.pool.Query(ctx, `
		SELECT id, endpoint_id, event, call_id, attempts, last_status, coalesce(last_error, ''),
		       delivered_at, failed_at, next_attempt_at
		FROM webhook_deliveries WHERE call_id = $1 ORDER BY created_at, id`, callID)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Delivery, error) {
		var d Delivery
		err := row.Scan(&d.ID, &d.EndpointID, &d.Event, &d.CallID, &d.Attempts, &d.LastStatus, &d.LastError, &d.DeliveredAt, &d.FailedAt, &d.NextAttempt)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	return out, nil
}

func eventStrings(events []Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = string(e)
	}
	return out
}
