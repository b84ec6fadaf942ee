// Package webhook tells an organization's systems that a call has ended: it keeps the
// organization's endpoints, records one delivery per endpoint and event in the
// transaction that ends the call, and sends each one, signed, with retries, from a
// River job (kind deliver_webhook). It holds no SQL: what it needs of the database is its
// own Store and CallEndTx, which storage/postgres implements.
//
// A payload carries ids and a status only — never transcript text, a name or a phone
// number. An endpoint receives those ids, so it is a processor: it has a declared
// country, checked against the allowed countries when it is added and again before
// every send, and its address is checked when dialled (internal/safehttp), so a
// webhook cannot be pointed inside our network unless the operator allow-listed it.
package webhook

import (
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"callscribe"
)

// Event is what happened to a call.
type Event = callscribe.WebhookEvent

const (
	CallCompleted Event = "call.completed" // transcript stored
	CallFailed    Event = "call.failed"    // could not be transcribed; nothing stored
	CallDiscarded Event = "call.discarded" // consent withdrawn; nothing stored
)

// Events lists every event, in a stable order.
var Events = []Event{CallCompleted, CallFailed, CallDiscarded}

// EventFor returns the event of a call that ended in status; false for a call that
// has not ended.
func EventFor(status callscribe.CallStatus) (Event, bool) {
	switch status {
	case callscribe.CallCompleted:
		return CallCompleted, true
	case callscribe.CallFailed:
		return CallFailed, true
	case callscribe.CallDiscarded:
		return CallDiscarded, true
	}
	return "", false
}

// ParseEvents reads a comma-separated list of events; empty means every event.
func ParseEvents(list string) ([]Event, error) {
	var out []Event
	for _, s := range strings.Split(list, ",") {
		e := Event(strings.TrimSpace(s))
		switch {
		case e == "":
			continue
		case !slices.Contains(Events, e):
			return nil, callscribe.Errorf(callscribe.EINVALID, "unknown event %q (known: call.completed, call.failed, call.discarded)", e)
		case !slices.Contains(out, e):
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		return slices.Clone(Events), nil
	}
	return out, nil
}

// Endpoint is where an organization receives events; its Secret is set only on the
// endpoint Add returns: the one time it is shown.
type Endpoint = callscribe.WebhookEndpoint

// Payload is the JSON body of a delivery.
type Payload struct {
	ID        uuid.UUID `json:"id"` // the delivery id, also in the Callscribe-Delivery header
	Event     Event     `json:"event"`
	CreatedAt time.Time `json:"created_at"`
	Data      Data      `json:"data"`
}

// Data says which call the event is about, by id only.
type Data struct {
	CallID         uuid.UUID `json:"call_id"`
	ExternalID     string    `json:"external_id,omitempty"` // the telephony system's id of the call
	Status         string    `json:"status"`
	OrganizationID uuid.UUID `json:"organization_id"`
}

// Delivery is the state of one delivery, for listings and tests.
type Delivery = callscribe.WebhookDelivery

// DeliveryFilter selects deliveries to list; zero fields select everything.
type DeliveryFilter = callscribe.WebhookDeliveryFilter
