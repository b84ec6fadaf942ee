package callscribe

import (
	"strings"
	"time"

	"github.com/google/uuid"
)

// TranscribeJob is the queued job of one staged call. It carries the call's id and
// nothing else: job arguments are stored as plain JSON and must never hold text, audio
// or personal data. Its Kind makes it a River job.
type TranscribeJob struct {
	CallID uuid.UUID `json:"call_id"`
}

// Kind names the job in the queue.
func (TranscribeJob) Kind() string { return "transcribe_call" }

// RawFormat says how to read headerless audio: an upload of raw samples has no header to
// sniff, so the client names its sample rate, encoding and channel count.
type RawFormat struct {
	SampleRate int    `json:"sample_rate"`
	Encoding   string `json:"encoding"` // e.g. s16le, ulaw, alaw
	Channels   int    `json:"channels"`
}

// NewCall is what ingestion records of a call once its audio is staged.
type NewCall struct {
	ID         uuid.UUID
	OrgID      uuid.UUID
	OwnerID    uuid.UUID
	ExternalID string     // the client's own id of the call; "" when none
	Phone      string     // the other party's number in E.164 (NormalizePhone); "" when none given
	StartedAt  *time.Time // when the call started, as the client says
	Channels   []string
	Raw        *RawFormat
	// RetryOf is the failed call this one sends again under the same external id.
	RetryOf *uuid.UUID
}

// Call is a call as the read API shows it: no audio, no transcript text.
type Call struct {
	ID           uuid.UUID
	OrgID        uuid.UUID
	OwnerID      uuid.UUID
	OwnerEmail   string
	ExternalID   string
	Phone        string // the other party's number (E.164), when the upload gave one
	Status       CallStatus
	Channels     []string
	DurationMS   *int64
	StartedAt    *time.Time
	ErrorCode    string
	ErrorMessage string
	Raw          *RawFormat
	CreatedAt    time.Time
	UpdatedAt    time.Time
	Staging      *Staging // nil until the audio was staged
	Receipt      *Receipt // nil until its deletion was confirmed
	// RetryOf is the failed call this one sends again under the same external id.
	RetryOf *uuid.UUID
	// Attempt is the number (from 1) of the attempt at a live call that is under way
	// (processing) or awaited after a failed one (queued); 0 otherwise.
	Attempt int
	// NextAttemptAt is when a call queued after a failed attempt is tried again.
	NextAttemptAt *time.Time
}

// Ended reports whether the call has reached a final status.
func (s CallStatus) Ended() bool {
	return s == CallCompleted || s == CallDiscarded || s == CallFailed
}

// Public is the status as the API and the metrics name it: a call received or staged,
// waiting for a worker, is "queued".
func (s CallStatus) Public() string {
	if s == CallStaged || s == CallReceived {
		return "queued"
	}
	return string(s)
}

// PublicStatuses are a call's statuses as the API names them (Public), in the order of
// a call's life.
var PublicStatuses = []string{"queued", "processing", "completed", "discarded", "failed"}

// ParsePublicStatus reads a status as the API names it, for a list's filter: "queued"
// selects the calls waiting for a worker (stored as staged). Anything else is EINVALID.
func ParsePublicStatus(s string) (CallStatus, error) {
	switch st := CallStatus(s); st {
	case "queued":
		return CallStaged, nil
	case CallProcessing, CallCompleted, CallDiscarded, CallFailed:
		return st, nil
	}
	return "", Errorf(EINVALID, "status %q is not one of %s", s, strings.Join(PublicStatuses, ", "))
}

// CallFilter selects calls of one organization for listing, newest first, or, with a
// text query, best match first.
type CallFilter struct {
	OrgID   uuid.UUID // uuid.Nil: the organization the context is scoped to
	OwnerID *uuid.UUID
	Status  CallStatus
	From    *time.Time // created at or after
	To      *time.Time // created before
	// Q is a text query in web-search syntax ("quoted phrase", or, -word), matched
	// against the transcripts with SearchConfig; "" lists without searching.
	Q string
	// Phone is the other party's number in E.164 (NormalizePhone); "" any.
	Phone      string
	ExternalID string // the client's id of the call; "" any
	Limit      int
	// After is the keyset cursor: the calls after this one in the listing's order.
	After *CallCursor
}

// CallCursor is a position in a listing (CallHit.Cursor): the last call shown, its
// creation and id; for a text query (Ranked) its rank, and its transcript's creation and
// id, since such a listing is ordered by rank, then newest transcript first.
type CallCursor struct {
	CreatedAt time.Time
	ID        uuid.UUID
	Ranked    bool
	Rank      float32
}

// APIKey is an organization's credential for the HTTP API. The secret is shown once,
// when the key is created, and never stored.
type APIKey struct {
	ID        uuid.UUID
	OrgID     uuid.UUID
	OrgName   string
	Prefix    string
	CreatedAt time.Time
	RevokedAt *time.Time
}
