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
