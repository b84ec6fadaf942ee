package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"callscribe"
)

// Inserter enqueues jobs in a transaction: a *river.Client[pgx.Tx].
type Inserter interface {
	InsertManyTx(ctx context.Context, tx pgx.Tx, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
}

// Notifier records the deliveries of a call's end and enqueues their jobs.
type Notifier struct {
	jobs Inserter
	now  func() time.Time
}

// NewNotifier returns a Notifier that enqueues through jobs. With jobs nil it enqueues
// through the River client of the job it is called from (river.ClientFromContext).
func NewNotifier(jobs Inserter) *Notifier {
	return &Notifier{jobs: jobs, now: time.Now}
}

// CallEnded records, in tx, one delivery for each active endpoint of the call's
// organization subscribed to the call's event, and enqueues a deliver_webhook job for
// each in the same transaction: if tx commits, every delivery will be attempted; if it
// rolls back, none exists. Call it in the transaction that ends the call, after the
// status is set: serve sets it as the database's call-end hook (postgres.DB.OnCallEnd).
//
// The organization, the status and the telephony system's id of the call are read from
// the call's row, never taken from the caller, so an event cannot reach another
// organization's endpoints. A call that has not ended is refused with EINVALID.
func (n *Notifier) CallEnded(ctx context.Context, tx pgx.Tx, callID uuid.UUID) error {
	var orgID uuid.UUID
	var status, externalID string
	// external_id is read through to_jsonb so that this works with or without that
	// column (it comes with the ingestion API's migration).
	err := tx.QueryRow(ctx, `
		SELECT organization_id, status, coalesce(to_jsonb(calls) ->> 'external_id', '')
		FROM calls WHERE id = $1`, callID).Scan(&orgID, &status, &externalID)
	if errors.Is(err, pgx.ErrNoRows) {
		return callscribe.Errorf(callscribe.ENOTFOUND, "no call %s", callID)
	}
	if err != nil {
		return fmt.Errorf("notify call end: %w", err)
	}
	event, ok := EventFor(callscribe.CallStatus(status))
	if !ok {
		return callscribe.Errorf(callscribe.EINVALID, "call %s has not ended (status %s): no event to send", callID, status)
	}
	rows, err := tx.Query(ctx, `
		SELECT id FROM webhook_endpoints
		WHERE organization_id = $1 AND disabled_at IS NULL AND $2 = ANY (events)
		ORDER BY created_at, id`, orgID, string(event))
	if err != nil {
		return fmt.Errorf("notify call end: %w", err)
	}
	endpoints, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return fmt.Errorf("notify call end: %w", err)
	}
	var jobs []river.InsertManyParams
	now := n.now().UTC().Truncate(time.Microsecond)
	for _, ep := range endpoints {
		id := uuid.New()
		payload, err := json.Marshal(Payload{ID: id, Event: event, CreatedAt: now, Data: Data{
			CallID: callID, ExternalID: externalID, Status: status, OrganizationID: orgID,
		}})
		if err != nil {
			return fmt.Errorf("notify call end: %w", err)
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO webhook_deliveries (id, endpoint_id, event, call_id, payload, next_attempt_at, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $6)`, id, ep, string(event), callID, payload, now); err != nil {
			return fmt.Errorf("record webhook delivery: %w", err)
		}
		jobs = append(jobs, river.InsertManyParams{Args: DeliverArgs{DeliveryID: id}})
	}
	if len(jobs) == 0 {
		return nil
	}
	inserter := n.jobs
	if inserter == nil {
		c, err := river.ClientFromContextSafely[pgx.Tx](ctx)
		if err != nil {
			return fmt.Errorf("enqueue webhook deliveries: no job client given and none in the context: %w", err)
		}
		inserter = c
	}
	if _, err := inserter.InsertManyTx(ctx, tx, jobs); err != nil {
		return fmt.Errorf("enqueue webhook deliveries: %w", err)
	}
	return nil
}
