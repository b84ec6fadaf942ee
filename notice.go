package callscribe

import (
	"time"

	"github.com/google/uuid"
)

// NoticeKind is what a notice tells a user.
type NoticeKind string

const (
	NoticeTranscriptReady    NoticeKind = "transcript_ready"    // a call of theirs is transcribed: a link, never its text
	NoticeRequestReceived    NoticeKind = "request_received"    // their data-subject request is recorded, with its due date
	NoticeRequestExtended    NoticeKind = "request_extended"    // its term is extended: the officer's reasoned notice
	NoticeRequestClosed      NoticeKind = "request_closed"      // it is completed or rejected
	NoticeAgreementPublished NoticeKind = "agreement_published" // a new version of the user agreement
	NoticeConsentWithdrawn   NoticeKind = "consent_withdrawn"   // a consent of theirs was withdrawn
	NoticeBreach             NoticeKind = "breach"              // their data was lost or disclosed (152-FZ art. 21)
)

// NoticeKinds lists every kind, in a stable order.
var NoticeKinds = []NoticeKind{NoticeTranscriptReady, NoticeRequestReceived, NoticeRequestExtended, NoticeRequestClosed,
	NoticeAgreementPublished, NoticeConsentWithdrawn, NoticeBreach}

// ParseNoticeKind checks that s names a known kind.
func ParseNoticeKind(s string) (NoticeKind, error) {
	for _, k := range NoticeKinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", Errorf(EINVALID, "unknown notice %q (known: transcript_ready, request_received, request_extended, request_closed, agreement_published, consent_withdrawn, breach)", s)
}

// NoticeChannel is a way a user is reached.
type NoticeChannel string

const (
	NoticeTelegram NoticeChannel = "telegram" // the linked messenger chat
	NoticeEmail    NoticeChannel = "email"    // the account's email address
)

// NoticeChannels lists every per-user channel, in a stable order.
var NoticeChannels = []NoticeChannel{NoticeTelegram, NoticeEmail}

// ParseNoticeChannel checks that s names a known channel.
func ParseNoticeChannel(s string) (NoticeChannel, error) {
	for _, c := range NoticeChannels {
		if string(c) == s {
			return c, nil
		}
	}
	return "", Errorf(EINVALID, "unknown notice channel %q (known: telegram, email)", s)
}

// Notice is something that happened that users are to be told about: who, what, and
// what it is about, by id. It carries no text.
type Notice struct {
	Kind       NoticeKind
	UserIDs    []uuid.UUID
	CallID     uuid.UUID // transcript_ready
	RequestID  uuid.UUID // request_*
	IncidentID uuid.UUID // breach
	Detail     string    // consent_withdrawn: the purpose; agreement_published: the version
}

// NoticeRecipient is what deciding a user's deliveries needs to know of them.
type NoticeRecipient struct {
	UserID  uuid.UUID
	OrgID   uuid.UUID
	Erased  bool
	Blocked bool
	// Notifications: the user's consent to the notifications purpose is in force.
	Notifications bool
	// Choices are the preferences the user changed; the rest follow the defaults.
	Choices map[NoticeChannel]map[NoticeKind]bool
}

// NewNoticeDelivery is one (notice, user, channel) as recorded with its job.
type NewNoticeDelivery struct {
	ID         uuid.UUID
	NoticeID   uuid.UUID
	UserID     uuid.UUID
	Kind       NoticeKind
	Channel    NoticeChannel
	CallID     uuid.UUID // uuid.Nil: none
	RequestID  uuid.UUID
	IncidentID uuid.UUID
	Detail     string
	CreatedAt  time.Time
}

// Notice delivery states.
const (
	NoticePending   = "pending"
	NoticeSent      = "sent"
	NoticeFailed    = "failed"     // given up
	NoticeNoChannel = "no_channel" // the user cannot be reached on the channel (no chat linked)
	NoticeSkipped   = "skipped"    // nothing to send any more: user erased, call gone, consent withdrawn
)

// NoticeDelivery is a delivery as recorded: ids, the event, the channel, the outcome.
type NoticeDelivery struct {
	ID         uuid.UUID
	NoticeID   uuid.UUID
	UserID     uuid.UUID
	OrgID      uuid.UUID
	Kind       NoticeKind
	Channel    NoticeChannel
	CallID     uuid.UUID
	RequestID  uuid.UUID
	IncidentID uuid.UUID
	Detail     string
	State      string
	Attempts   int
	LastError  string
	CreatedAt  time.Time
	FinishedAt *time.Time
}

// NoticeSend is what one attempt at a delivery needs to render and send the message.
type NoticeSend struct {
	NoticeDelivery
	Email    string // the user's address
	Language string // ru or en
	Erased   bool
	// Notifications: the consent to the notifications purpose is in force now.
	Notifications bool
	CallGone      bool     // transcript_ready whose call is erased
	Request       *Request // request_*: the request as it is now
	Incident      *BreachIncident
	// AccessAnswer is the user's organization's setting: AccessAnswerFile or
	// AccessAnswerLink.
	AccessAnswer string
}

// NoticeDeliverJob is the deliver_notice job: a delivery id and nothing else.
type NoticeDeliverJob struct {
	DeliveryID uuid.UUID `json:"delivery_id"`
}

// Kind names the job for River.
func (NoticeDeliverJob) Kind() string { return "deliver_notice" }

// NoticeQueue is the queue notices are delivered in, apart from transcription.
const NoticeQueue = "notices"

// BreachIncident is a recorded loss or disclosure of personal data.
type BreachIncident struct {
	ID          uuid.UUID  `json:"id"`
	OrgID       uuid.UUID  `json:"organization_id"` // uuid.Nil: every organization
	Org         string     `json:"organization,omitempty"`
	Description string     `json:"description"`
	DetectedAt  time.Time  `json:"detected_at"`
	From        *time.Time `json:"window_from,omitempty"` // affected calls created in [From, To]
	To          *time.Time `json:"window_to,omitempty"`
	ByList      bool       `json:"by_list"` // the affected users were listed by the operator
	OpenedBy    string     `json:"opened_by"`
	OpenedAt    time.Time  `json:"opened_at"`
	TemplateRU  string     `json:"-"`
	TemplateEN  string     `json:"-"`
	NotifiedAt  *time.Time `json:"notified_at,omitempty"`
	Affected    int        `json:"affected"`
}

// NoticeDeliveryFilter selects deliveries; zero fields select everything.
type NoticeDeliveryFilter struct {
	UserID     uuid.UUID
	IncidentID uuid.UUID
	NoticeID   uuid.UUID
	CallID     uuid.UUID
	RequestID  uuid.UUID
}
