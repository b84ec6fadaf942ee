package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"callscribe"
)

// AddWebhookEndpoint records an endpoint of the organization named org and returns it
// with its id, organization id and creation time; ENOTFOUND when there is no such
// organization.
func (db *DB) AddWebhookEndpoint(ctx context.Context, org string, e callscribe.WebhookEndpoint) (callscribe.WebhookEndpoint, error) {
	e.Org = org
	err := db.pool.QueryRow(ctx, `
		INSERT INTO webhook_endpoints (organization_id, url, secret, events, country)
		SELECT id, $2, $3, $4, $5 FROM organizations WHERE name = $1
		RETURNING id, organization_id, created_at`,
		org, e.URL, e.Secret, eventStrings(e.Events), e.Country).Scan(&e.ID, &e.OrgID, &e.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return callscribe.WebhookEndpoint{}, callscribe.Errorf(callscribe.ENOTFOUND, "no organization named %q", org)
	}
	if err != nil {
		return callscribe.WebhookEndpoint{}, fmt.Errorf("add webhook endpoint: %w", err)
	}
	return e, nil
}

// WebhookEndpoints lists the endpoints of the organization named org (every
// organization's when org is empty), removed ones included, oldest first, without their
// secrets.
func (db *DB) WebhookEndpoints(ctx context.Context, org string) ([]callscribe.WebhookEndpoint, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT e.id, e.organization_id, o.name, e.url, e.events, e.country, e.created_at, e.disabled_at
		FROM webhook_endpoints e JOIN organizations o ON o.id = e.organization_id
		WHERE $1 = '' OR o.name = $1
		ORDER BY e.created_at, e.id`, org)
	if err != nil {
		return nil, fmt.Errorf("list webhook endpoints: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (callscribe.WebhookEndpoint, error) {
		var e callscribe.WebhookEndpoint
		var events []string
		err := row.Scan(&e.ID, &e.OrgID, &e.Org, &e.URL, &events, &e.Country, &e.CreatedAt, &e.DisabledAt)
		for _, ev := range events {
			e.Events = append(e.Events, callscribe.WebhookEvent(ev))
		}
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("list webhook endpoints: %w", err)
	}
	return out, nil
}

// DisableWebhookEndpoint disables an active endpoint at at; ENOTFOUND when there is none.
func (db *DB) DisableWebhookEndpoint(ctx context.Context, id uuid.UUID, at time.Time) error {
	tag, err := db.pool.Exec(ctx, `UPDATE webhook_endpoints SET disabled_at = $2 WHERE id = $1 AND disabled_at IS NULL`, id, at)
	if err != nil {
		return fmt.Errorf("remove webhook endpoint: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return callscribe.Errorf(callscribe.ENOTFOUND, "no active webhook endpoint %s", id)
	}
	return nil
}

// WebhookDeliveries lists the deliveries f selects, oldest first.
func (db *DB) WebhookDeliveries(ctx context.Context, f callscribe.WebhookDeliveryFilter) ([]callscribe.WebhookDelivery, error) {
	var call *uuid.UUID
	if f.CallID != uuid.Nil {
		call = &f.CallID
	}
	rows, err := db.pool.Query(ctx, `
		SELECT d.id, d.endpoint_id, e.organization_id, o.name, d.event, coalesce(d.call_id, '00000000-0000-0000-0000-000000000000'), d.attempts, d.last_status,
		       coalesce(d.last_error, ''), d.created_at, d.delivered_at, d.failed_at, d.next_attempt_at
		FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
		JOIN organizations o ON o.id = e.organization_id
		WHERE ($1::uuid IS NULL OR d.call_id = $1)
		  AND ($2 = '' OR o.name = $2)
		  AND ($3 = '' OR $3 = CASE WHEN d.delivered_at IS NOT NULL THEN 'delivered'
		                            WHEN d.failed_at IS NOT NULL THEN 'failed' ELSE 'pending' END)
		ORDER BY d.created_at, d.id`, call, f.Org, f.State)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (callscribe.WebhookDelivery, error) {
		var d callscribe.WebhookDelivery
		err := row.Scan(&d.ID, &d.EndpointID, &d.OrgID, &d.Org, &d.Event, &d.CallID, &d.Attempts, &d.LastStatus, &d.LastError,
			&d.CreatedAt, &d.DeliveredAt, &d.FailedAt, &d.NextAttempt)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	return out, nil
}

// WebhookSend reads what an attempt at a delivery needs; ENOTFOUND when the delivery is
// gone (erased with its call).
func (db *DB) WebhookSend(ctx context.Context, id uuid.UUID) (callscribe.WebhookSend, error) {
	var s callscribe.WebhookSend
	var payload string
	err := db.pool.QueryRow(ctx, `
		SELECT d.endpoint_id, d.event, coalesce(d.call_id, '00000000-0000-0000-0000-000000000000'), d.payload::text, d.attempts,
		       d.delivered_at IS NOT NULL OR d.failed_at IS NOT NULL,
		       e.url, e.secret, e.country, e.disabled_at IS NOT NULL
		FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
		WHERE d.id = $1`, id).Scan(&s.EndpointID, &s.Event, &s.CallID, &payload, &s.Attempts, &s.Done, &s.URL, &s.Secret, &s.Country, &s.Disabled)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, callscribe.Errorf(callscribe.ENOTFOUND, "no webhook delivery %s", id)
	}
	if err != nil {
		return s, fmt.Errorf("load webhook delivery: %w", err)
	}
	s.Payload = []byte(payload)
	return s, nil
}

// RecordWebhookAttempt writes an attempt's outcome to the delivery's row.
func (db *DB) RecordWebhookAttempt(ctx context.Context, id uuid.UUID, a callscribe.WebhookAttempt) error {
	_, err := db.pool.Exec(ctx, `
		UPDATE webhook_deliveries
		SET attempts = $2, last_status = $3, last_error = nullif($4, ''),
		    next_attempt_at = $5, delivered_at = $6, failed_at = $7
		WHERE id = $1`, id, a.Attempts, a.LastStatus, a.LastError, a.NextAttempt, a.DeliveredAt, a.FailedAt)
	if err != nil {
		return fmt.Errorf("record webhook attempt: %w", err)
	}
	return nil
}

// CallEndTx is the transaction that ends a call, as a call-end notifier uses it. It is
// webhook.CallEndTx: both are aliases of this one interface type, so that
// NotifyOnCallEnd takes the webhook's notifier without this package importing it.
type CallEndTx = interface {
	EndedCall(ctx context.Context, callID uuid.UUID) (callscribe.EndedCall, error)
	SubscribedEndpoints(ctx context.Context, orgID uuid.UUID, event callscribe.WebhookEvent) ([]uuid.UUID, error)
	AddWebhookDeliveries(ctx context.Context, ds []callscribe.NewWebhookDelivery) error
}

// NotifyOnCallEnd sets the call-end hook (OnCallEnd) to notify, which records in the
// ending transaction what the end must send; the deliver_webhook jobs it adds are
// enqueued through jobs, in the same transaction (jobs nil: through the River client of
// the job the call ends in, river.ClientFromContext).
func (db *DB) NotifyOnCallEnd(notify func(ctx context.Context, tx CallEndTx, callID uuid.UUID) error, jobs JobInserter) {
	db.OnCallEnd(func(ctx context.Context, tx pgx.Tx, callID uuid.UUID) error {
		return notify(ctx, NewCallEndTx(tx, jobs), callID)
	})
}

// callEndTx is CallEndTx over a transaction.
type callEndTx struct {
	tx   pgx.Tx
	jobs JobInserter
}

// EndedCall reads the organization, status and external id of a call from its row.
func (c callEndTx) EndedCall(ctx context.Context, callID uuid.UUID) (callscribe.EndedCall, error) {
	var e callscribe.EndedCall
	var status string
	err := c.tx.QueryRow(ctx, `SELECT organization_id, status, coalesce(external_id, '') FROM calls WHERE id = $1`, callID).
		Scan(&e.OrgID, &status, &e.ExternalID)
	if errors.Is(err, pgx.ErrNoRows) {
		return e, callscribe.Errorf(callscribe.ENOTFOUND, "no call %s", callID)
	}
	if err != nil {
		return e, fmt.Errorf("read ended call: %w", err)
	}
	e.Status = callscribe.CallStatus(status)
	return e, nil
}

// SubscribedEndpoints lists the organization's active endpoints subscribed to event.
func (c callEndTx) SubscribedEndpoints(ctx context.Context, orgID uuid.UUID, event callscribe.WebhookEvent) ([]uuid.UUID, error) {
	rows, err := c.tx.Query(ctx, `
		SELECT id FROM webhook_endpoints
		WHERE organization_id = $1 AND disabled_at IS NULL AND $2 = ANY (events)
		ORDER BY created_at, id`, orgID, string(event))
	if err != nil {
		return nil, fmt.Errorf("list subscribed endpoints: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, fmt.Errorf("list subscribed endpoints: %w", err)
	}
	return ids, nil
}

// AddWebhookDeliveries records the deliveries and enqueues a deliver_webhook job for
// each, in the transaction.
func (c callEndTx) AddWebhookDeliveries(ctx context.Context, ds []callscribe.NewWebhookDelivery) error {
	if len(ds) == 0 {
		return nil
	}
	for _, d := range ds {
		if _, err := c.tx.Exec(ctx, `
			INSERT INTO webhook_deliveries (id, endpoint_id, event, call_id, subject_id, payload, next_attempt_at, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`, d.ID, d.EndpointID, string(d.Event), nullUUID(d.CallID), nullUUID(d.SubjectID), d.Payload, d.CreatedAt); err != nil {
			return fmt.Errorf("record webhook delivery: %w", err)
		}
	}
	jobs := c.jobs
	if jobs == nil {
		client, err := river.ClientFromContextSafely[pgx.Tx](ctx)
		if err != nil {
			return fmt.Errorf("enqueue webhook deliveries: no job client given and none in the context: %w", err)
		}
		jobs = client
	}
	for _, d := range ds {
		if _, err := jobs.InsertTx(ctx, c.tx, callscribe.WebhookDeliverJob{DeliveryID: d.ID},
			&river.InsertOpts{Queue: callscribe.WebhookQueue}); err != nil {
			return fmt.Errorf("enqueue webhook deliveries: %w", err)
		}
	}
	return nil
}

func eventStrings(events []callscribe.WebhookEvent) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = string(e)
	}
	return out
}

// NewCallEndTx is CallEndTx over tx, enqueueing through jobs (nil: the River client of
// the job tx runs in): for a caller that ends a call in a transaction of its own, and
// for the notifier's tests.
func NewCallEndTx(tx pgx.Tx, jobs JobInserter) CallEndTx { return callEndTx{tx: tx, jobs: jobs} }
