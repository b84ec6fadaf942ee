package callscribe

import (
	"time"

	"github.com/google/uuid"
)

// Purpose is what a user consents to. Processing for a purpose happens only while the
// user's consent for it is in force.
type Purpose string

const (
	PurposeTranscription Purpose = "transcription"
	PurposeSummarization Purpose = "summarization"
	PurposeNotifications Purpose = "notifications" // messages about the user's calls
	PurposeCRMExport     Purpose = "crm_export"    // sending transcripts to the organization's CRM
)

// Purposes lists every purpose a user can consent to, in a stable order.
var Purposes = []Purpose{PurposeTranscription, PurposeSummarization, PurposeNotifications, PurposeCRMExport}

// ParsePurpose checks that s names a known purpose.
func ParsePurpose(s string) (Purpose, error) {
	for _, p := range Purposes {
		if string(p) == s {
			return p, nil
		}
	}
	return "", Errorf(EINVALID, "unknown purpose %q (known: %s)", s, joinPurposes())
}

// User is a person whose calls are transcribed: the owner of calls and the subject of
// consents and requests.
type User struct {
	ID         uuid.UUID
	OrgID      uuid.UUID
	Email      string
	Surname    string
	FirstName  string
	Patronymic string
	Phone      string
	CreatedAt  time.Time
	// BlockedAt is set while the user is blocked: their data is kept but not shown,
	// processed or exported until they are unblocked or erased.
	BlockedAt *time.Time
}

// Consent is one grant of a purpose, withdrawn or still in force.
type Consent struct {
	UserID        uuid.UUID
	Purpose       Purpose
	PolicyVersion string
	GrantedAt     time.Time
	WithdrawnAt   *time.Time
}

// CallStatus is where a call is on its journey.
type CallStatus string

const (
	CallReceived   CallStatus = "received"   // row exists, audio not yet staged
	CallStaged     CallStatus = "staged"     // audio staged, encrypted, waiting for a worker
	CallProcessing CallStatus = "processing" // a worker is recognising it
	CallCompleted  CallStatus = "completed"  // transcript stored, audio deleted or being deleted
	CallDiscarded  CallStatus = "discarded"  // consent withdrawn: nothing stored
	CallFailed     CallStatus = "failed"     // could not be transcribed: nothing stored
)

// Receipt proves that a call's staged audio was deleted and that the store confirmed it.
// It is written only after confirmation; it holds no audio and no personal data.
type Receipt struct {
	CallID      uuid.UUID `json:"call_id"`
	Stage       string    `json:"stage"`
	Bytes       int64     `json:"bytes"`
	SHA256      string    `json:"sha256"`
	StagedAt    time.Time `json:"staged_at"`
	DeletedAt   time.Time `json:"deleted_at"`
	ConfirmedAt time.Time `json:"confirmed_at"`
}

// Segment is one utterance of one channel, as stored and shown.
type Segment struct {
	Channel    int     `json:"channel"`
	Speaker    string  `json:"speaker"`
	StartMS    int64   `json:"start_ms"`
	EndMS      int64   `json:"end_ms"`
	Text       string  `json:"text"`
	Confidence float64 `json:"confidence"`
}

// Summary is a call's summary and the engine that wrote it.
type Summary struct {
	Engine string `json:"engine"`
	Text   string `json:"text"`
	// Stale is set when the transcript was corrected after the summary was written and the
	// summary could not be written again (no consent to summarization, no summarizer).
	Stale bool `json:"stale"`
}

// Transcript is what a call leaves behind once its audio is gone: the segments of every
// channel in time order, their text, and a summary when the owner consented to one.
type Transcript struct {
	CallID     uuid.UUID `json:"call_id"`
	Engine     string    `json:"engine"`
	DurationMS int64     `json:"duration_ms"`
	Channels   []string  `json:"channels"`
	Segments   []Segment `json:"segments"`
	Text       string    `json:"text"`
	Summary    *Summary  `json:"summary"`
	// Truncated: the recording was cut short (its header or last frame promised more);
	// the transcript is of the part that was there.
	Truncated bool `json:"truncated"`
	// Redactions counts the personal data replaced before anything was stored, by type
	// name ("card": 1); never the values.
	Redactions map[string]int `json:"redactions"`
	CreatedAt  time.Time      `json:"created_at"`
}

// Staging says where a call's audio is staged and what it was: no audio, only its
// coordinates, size and hash.
type Staging struct {
	Stage     string // "memory", "s3"
	ObjectKey string
	Key       []byte // the encryption key, recorded only for stages shared between processes
	Bytes     int64  // of the audio as received
	SHA256    string // of the audio as received, hex
	StagedAt  time.Time
}

// Completion is what the storing transaction of a call did.
type Completion struct {
	Stored        bool // transcript and segments were written; false: the call was discarded
	SummaryStored bool // the summary was written (summarization consent was in force)
}
