package callscribe

import (
	"fmt"
	"time"

	"github.com/google/uuid"
)

// WebhookEvent is what happened to a call, as a webhook tells it.
type WebhookEvent string

// WebhookEndpoint is where an organization receives events.
type WebhookEndpoint struct {
	ID         uuid.UUID
	OrgID      uuid.UUID
	Org        string // the organization's name
	URL        string
	Events     []WebhookEvent
	Country    string // ISO 3166-1 alpha-2
	CreatedAt  time.Time
	DisabledAt *time.Time
	// Secret signs every delivery. It is set only on the endpoint as added: the one time
	// it is shown.
	Secret string
}

// WebhookDelivery is the state of one delivery of an event to an endpoint.
type WebhookDelivery struct {
	ID          uuid.UUID
	EndpointID  uuid.UUID
	OrgID       uuid.UUID
	Org         string // the organization's name
	Event       WebhookEvent
	CallID      uuid.UUID
	Attempts    int
	LastStatus  *int
	LastError   string
	CreatedAt   time.Time
	DeliveredAt *time.Time
	FailedAt    *time.Time
	NextAttempt *time.Time
}

// Webhook delivery states.
const (
	WebhookPending   = "pending"
	WebhookDelivered = "delivered"
	WebhookFailed    = "failed" // given up: retries exhausted or a final refusal
)

// State names where a delivery is: pending, delivered or failed.
func (d WebhookDelivery) State() string {
	switch {
	case d.DeliveredAt != nil:
		return WebhookDelivered
	case d.FailedAt != nil:
		return WebhookFailed
	}
	return WebhookPending
}

func (d WebhookDelivery) String() string {
	return fmt.Sprintf("delivery %s: %s after %d attempts", d.ID, d.State(), d.Attempts)
}

// WebhookDeliveryFilter selects deliveries; zero fields select everything.
type WebhookDeliveryFilter struct {
	CallID uuid.UUID
	Org    string // the organization's name
	State  string // pending, delivered or failed
}

// NewWebhookDelivery is a delivery as the transaction that ends a call records it.
type NewWebhookDelivery struct {
	ID         uuid.UUID
	EndpointID uuid.UUID
	Event      WebhookEvent
	CallID     uuid.UUID // uuid.Nil: the event is about a user (SubjectID), not a call
	SubjectID  uuid.UUID // the user a notice event is about; erasing them removes the delivery
	Payload    []byte    // JSON, ids and a status only
	CreatedAt  time.Time
}

// WebhookSend is what one attempt at a delivery needs: the stored payload, its
// endpoint, and whether there is anything left to do.
type WebhookSend struct {
	EndpointID uuid.UUID
	Event      WebhookEvent
	CallID     uuid.UUID
	Payload    []byte
	Attempts   int
	Done       bool // delivered or failed already
	URL        string
	Secret     string
	Country    string
	Disabled   bool // the endpoint was removed
}

// WebhookAttempt is the outcome of one attempt, as recorded on the delivery.
type WebhookAttempt struct {
	Attempts    int
	LastStatus  *int
	LastError   string
	NextAttempt *time.Time
	DeliveredAt *time.Time
	FailedAt    *time.Time
}

// EndedCall is what a call's end event says of it.
type EndedCall struct {
	OrgID      uuid.UUID
	Status     CallStatus
	ExternalID string
}

// WebhookDeliverJob is the deliver_webhook job: a delivery id and nothing else.
type WebhookDeliverJob struct {
	DeliveryID uuid.UUID `json:"delivery_id"`
}

// Kind names the job for River.
func (WebhookDeliverJob) Kind() string { return "deliver_webhook" }

// WebhookQueue is the queue deliveries run in, apart from transcription, so that a slow
// receiver never holds up a call.
const WebhookQueue = "webhooks"
