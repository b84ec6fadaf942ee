package callscribe

import (
	"time"

	"github.com/google/uuid"
)

// ErasureEntry is one entry of the erasure ledger: what an erasure purged, never whom.
// The subject appears only as keyed hashes (HMAC-SHA256 under a key kept outside the
// database), which let a restored backup be purged again without the ledger itself
// naming anyone.
type ErasureEntry struct {
	ID          uuid.UUID        `json:"id"`
	RequestID   string           `json:"request_id"`
	SubjectHash string           `json:"subject_hash"`         // over the user id
	EmailHash   string           `json:"email_hash"`           // over the normalized email
	PhoneHash   string           `json:"phone_hash,omitempty"` // over the phone's digits; empty without one
	Counts      map[string]int64 `json:"counts"`               // rows purged per table
	Reapplied   bool             `json:"reapplied,omitempty"`  // a purge re-applied after a restore
	ErasedAt    time.Time        `json:"erased_at"`
}

// AuditEntry is one line of the append-only audit log: who did what to which object.
// It holds ids only: never transcript text, an email or a phone number.
type AuditEntry struct {
	ID         int64          `json:"id"`
	At         time.Time      `json:"at"`
	Actor      string         `json:"actor"`       // "cli", "apikey:<id>", "system:retention"…
	Action     string         `json:"action"`      // "transcript.read", "export", "erasure"…
	ObjectType string         `json:"object_type"` // "call", "user", "organization", "request"…
	ObjectID   string         `json:"object_id"`
	OrgID      uuid.UUID      `json:"organization_id"`  // uuid.Nil: none
	SubjectID  uuid.UUID      `json:"subject_id"`       // the user the entry is about; uuid.Nil: none
	Detail     map[string]any `json:"detail,omitempty"` // counts and ids only
}

// Rectification is one corrected field, with its value before and after. It is personal
// data: purged with the subject, included in their export.
type Rectification struct {
	At         time.Time  `json:"at"`
	Actor      string     `json:"actor"`
	SubjectID  uuid.UUID  `json:"subject_id"`
	CallID     *uuid.UUID `json:"call_id,omitempty"`
	ObjectType string     `json:"object_type"` // "user" or "segment"
	ObjectID   string     `json:"object_id"`
	Field      string     `json:"field"`
	Before     string     `json:"before"`
	After      string     `json:"after"`
}

// Organization is an organization and its retention period for transcripts and
// summaries (nil: kept until erased).
type Organization struct {
	ID        uuid.UUID
	Name      string
	Retention *time.Duration
	// RedactionOff lists the redaction types the organization turned off; empty (the
	// default): every type is redacted.
	RedactionOff []string
	// RedactionMask replaces every redacted entity; empty (the default): each entity is
	// replaced with its type's tag ([CARD], [PHONE], …).
	RedactionMask string
	// AccessAnswer is how a completed access request is answered in the messenger:
	// AccessAnswerFile (the default) or AccessAnswerLink.
	AccessAnswer string
}

// How an organization answers a completed access request in the messenger chat.
const (
	AccessAnswerFile = "file" // the export JSON as a document in the chat
	AccessAnswerLink = "link" // a link to the privacy desk only
)

// Subject is a user as the re-application of the erasure ledger needs them: the id, the
// request of an erasure started and not finished (empty when none), and the contacts the
// ledger's hashes are over.
type Subject struct {
	ID             uuid.UUID
	Email, Phone   string
	ErasureRequest string
}

// EraseSubjectJob is the job that purges an erased subject's data (kind erase_subject):
// queued in the transaction that completes their erasure request, so the purge and its
// ledger entry follow the close without waiting for the retention pass. It names the
// request alone, not the subject: its row outlives the purge (River keeps finished jobs a
// while), and the request's user id is cleared with the user row.
type EraseSubjectJob struct {
	RequestID uuid.UUID `json:"request_id"`
}

// Kind names the job for River.
func (EraseSubjectJob) Kind() string { return "erase_subject" }

// EraseQueue is the queue erase_subject jobs run in, apart from transcription, so that a
// purge never waits behind calls being recognised.
const EraseQueue = "erasure"
