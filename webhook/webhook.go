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

// Events about a user rather than a call: the organization's systems (a CRM holding
// copies) learn of them to act on what they hold. Their payload is a NoticePayload.
const (
	RequestReceived  Event = "request.received"  // a data-subject request of a user of the organization
	RequestExtended  Event = "request.extended"  // its term extended
	RequestClosed    Event = "request.closed"    // completed or rejected
	ConsentWithdrawn Event = "consent.withdrawn" // a user withdrew a consent: stop that processing
	BreachNotified   Event = "breach.notified"   // a user of the organization was told of a breach
)

// Events lists every event, in a stable order.
var Events = []Event{CallCompleted, CallFailed, CallDiscarded, RequestReceived, RequestExtended, RequestClosed, ConsentWithdrawn, BreachNotified}

// EventForNotice is the webhook event of a notice to a user; false for a notice the
// organization's webhooks do not carry (a transcript ready is call.completed already).
func EventForNotice(kind callscribe.NoticeKind) (Event, bool) {
	switch kind {
	case callscribe.NoticeRequestReceived:
		return RequestReceived, true
	case callscribe.NoticeRequestExtended:
		return RequestExtended, true
	case callscribe.NoticeRequestClosed:
		return RequestClosed, true
	case callscribe.NoticeConsentWithdrawn:
		return ConsentWithdrawn, true
	case callscribe.NoticeBreach:
		return BreachNotified, true
	}
	return "", false
}

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
			return nil, callscribe.Errorf(callscribe.EINVALID, "unknown event %q (known: %s)", e, strings.Join(eventNames(), ", "))
		case !slices.Contains(out, e):
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		return slices.Clone(Events), nil
	}
	return out, nil
}

func eventNames() []string {
	out := make([]string, len(Events))
	for i, e := range Events {
		out[i] = string(e)
	}
	return out
}

// NoticePayload is the JSON body of a delivery of an event about a user.
type NoticePayload struct {
	ID        uuid.UUID  `json:"id"`
	Event     Event      `json:"event"`
	CreatedAt time.Time  `json:"created_at"`
	Data      NoticeData `json:"data"`
}

// NoticeData says which user and what the event is about, by id only.
type NoticeData struct {
	OrganizationID uuid.UUID `json:"organization_id"`
	UserID         uuid.UUID `json:"user_id"`
	RequestID      uuid.UUID `json:"request_id,omitzero"`
	IncidentID     uuid.UUID `json:"incident_id,omitzero"`
	Purpose        string    `json:"purpose,omitempty"` // consent.withdrawn: which consent
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
