package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"callscribe"
)

// CallEndTx is the transaction that ends a call, as CallEnded needs it: reading the
// ended call, the endpoints subscribed to its event, and recording each delivery with
// its deliver_webhook job. What it records commits with the call's end or not at all.
//
// It is an alias of an interface literal, not a named type, so that the adapter's hook
// (postgres.DB.NotifyOnCallEnd), declared where webhook cannot be imported, takes
// CallEnded as it is.
type CallEndTx = interface {
	EndedCall(ctx context.Context, callID uuid.UUID) (callscribe.EndedCall, error)
	SubscribedEndpoints(ctx context.Context, orgID uuid.UUID, event callscribe.WebhookEvent) ([]uuid.UUID, error)
	AddWebhookDeliveries(ctx context.Context, ds []callscribe.NewWebhookDelivery) error
}

// Notifier records the deliveries of a call's end.
type Notifier struct {
	now func() time.Time
}

// NewNotifier returns a Notifier.
func NewNotifier() *Notifier {
	return &Notifier{now: time.Now}
}

// CallEnded records, in tx, one delivery for each active endpoint of the call's
// organization subscribed to the call's event, each with its deliver_webhook job: if tx
// commits, every delivery will be attempted; if it rolls back, none exists. It runs in
// the transaction that ends the call, after the status is set: serve sets it as the
// database's call-end hook (postgres.DB.NotifyOnCallEnd).
//
// The organization, the status and the telephony system's id of the call are read from
// the call's row, never taken from the caller, so an event cannot reach another
// organization's endpoints. A call that has not ended is refused with EINVALID.
func (n *Notifier) CallEnded(ctx context.Context, tx CallEndTx, callID uuid.UUID) error {
	call, err := tx.EndedCall(ctx, callID)
	if err != nil {
		return err
	}
	event, ok := EventFor(call.Status)
	if !ok {
		return callscribe.Errorf(callscribe.EINVALID, "call %s has not ended (status %s): no event to send", callID, call.Status)
	}
	endpoints, err := tx.SubscribedEndpoints(ctx, call.OrgID, event)
	if err != nil {
		return fmt.Errorf("notify call end: %w", err)
	}
	now := n.now().UTC().Truncate(time.Microsecond)
	ds := make([]callscribe.NewWebhookDelivery, 0, len(endpoints))
	for _, ep := range endpoints {
		id := uuid.New()
		payload, err := json.Marshal(Payload{ID: id, Event: event, CreatedAt: now, Data: Data{
			CallID: callID, ExternalID: call.ExternalID, Status: string(call.Status), OrganizationID: call.OrgID,
		}})
		if err != nil {
			return fmt.Errorf("notify call end: %w", err)
		}
		ds = append(ds, callscribe.NewWebhookDelivery{ID: id, EndpointID: ep, Event: event, CallID: callID, Payload: payload, CreatedAt: now})
	}
	return tx.AddWebhookDeliveries(ctx, ds)
}
