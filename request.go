package callscribe

import (
	"time"

	"github.com/google/uuid"
)

// RequestKind is what a data subject asked for (152-FZ art. 14, 20, 21), or a pre-trial
// claim under the user agreement.
type RequestKind string

const (
	RequestAccess        RequestKind = "access"        // a copy of what we hold about them
	RequestRectification RequestKind = "rectification" // correct their data
	RequestBlocking      RequestKind = "blocking"      // keep their data but stop using it
	RequestErasure       RequestKind = "erasure"       // destroy their data
	RequestWithdrawal    RequestKind = "withdrawal"    // withdraw every consent
	RequestClaim         RequestKind = "claim"         // a pre-trial claim: answered in writing, 14 business days, no extension
)

// RequestKinds lists every kind, in a stable order.
var RequestKinds = []RequestKind{RequestAccess, RequestRectification, RequestBlocking, RequestErasure, RequestWithdrawal, RequestClaim}

// ParseRequestKind checks that s names a known kind.
func ParseRequestKind(s string) (RequestKind, error) {
	for _, k := range RequestKinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", Errorf(EINVALID, "unknown request kind %q (known: access, rectification, blocking, erasure, withdrawal, claim)", s)
}

// RequestStatus is where a request is: received → in_progress → completed | rejected.
type RequestStatus string

const (
	RequestReceived   RequestStatus = "received"
	RequestInProgress RequestStatus = "in_progress"
	RequestCompleted  RequestStatus = "completed"
	RequestRejected   RequestStatus = "rejected"
)

// ParseRequestStatus checks that s names a known status.
func ParseRequestStatus(s string) (RequestStatus, error) {
	switch st := RequestStatus(s); st {
	case RequestReceived, RequestInProgress, RequestCompleted, RequestRejected:
		return st, nil
	}
	return "", Errorf(EINVALID, "unknown request status %q (known: received, in_progress, completed, rejected)", s)
}

// Open reports whether a request in status s still needs an answer.
func (s RequestStatus) Open() bool { return s == RequestReceived || s == RequestInProgress }

// Request is one data-subject request and its clock. Due dates are calendar days in
// Moscow time: the answer is due by the end of that day.
type Request struct {
	ID              uuid.UUID     `json:"id"`
	OrgID           uuid.UUID     `json:"organization_id"`
	UserID          uuid.UUID     `json:"user_id"` // uuid.Nil once the subject was erased
	Kind            RequestKind   `json:"kind"`
	Status          RequestStatus `json:"status"`
	ReceivedAt      time.Time     `json:"received_at"`
	DueAt           Date          `json:"due_at"`
	ExtendedDueAt   *Date         `json:"extended_due_at,omitempty"`
	ExtensionReason string        `json:"extension_reason,omitempty"`
	NoticeText      string        `json:"notice_text,omitempty"` // the reasoned notice of the extension sent to the subject
	NoticeAt        *time.Time    `json:"notice_at,omitempty"`
	Reason          string        `json:"reason,omitempty"` // why it was rejected
	Notes           string        `json:"notes,omitempty"`
	ClosedAt        *time.Time    `json:"closed_at,omitempty"`
}

// Due is the day the answer is due: the extended date when there is one.
func (r Request) Due() Date {
	if r.ExtendedDueAt != nil {
		return *r.ExtendedDueAt
	}
	return r.DueAt
}

// RequestEvent is one transition of a request and who made it.
type RequestEvent struct {
	Action string        `json:"action"` // received, started, extended, completed, rejected
	Status RequestStatus `json:"status"` // the status after it
	Actor  string        `json:"actor"`
	Note   string        `json:"note,omitempty"`
	At     time.Time     `json:"at"`
}

// Date is a calendar day with no time zone, written YYYY-MM-DD.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf is the day t falls on in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{Year: y, Month: m, Day: d}
}

// ParseDate reads YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, Errorf(EINVALID, "%q is not a date (want YYYY-MM-DD)", s)
	}
	return DateOf(t), nil
}

// In is the start of the day in loc.
func (d Date) In(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// AddDays is the day n days later (earlier for negative n).
func (d Date) AddDays(n int) Date { return DateOf(d.In(time.UTC).AddDate(0, 0, n)) }

// Before reports whether d is an earlier day than e.
func (d Date) Before(e Date) bool { return d.In(time.UTC).Before(e.In(time.UTC)) }

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

func (d Date) String() string { return d.In(time.UTC).Format(time.DateOnly) }

// Local writes d as a person reads a date in lang, as the pages, the bot and the notices
// say it: 17.12.2026 in Russian (and any other language), 17 Dec 2026 in English. The
// zero Date is "".
func (d Date) Local(lang string) string {
	switch {
	case d.IsZero():
		return ""
	case lang == "en":
		return d.In(time.UTC).Format("2 Jan 2006")
	}
	return d.In(time.UTC).Format("02.01.2006")
}

// MarshalText writes YYYY-MM-DD.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads YYYY-MM-DD.
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// RequestFilter selects requests; zero fields select everything.
type RequestFilter struct {
	OrgID    uuid.UUID       // of this organization
	UserID   uuid.UUID       // of this subject
	Statuses []RequestStatus // in one of these statuses
	DueBy    *Date           // due (extended date when extended) on or before this day
}

// RequestCount is how many requests of a kind are open, and how many of those overdue.
type RequestCount struct {
	Kind    RequestKind
	Open    int
	Overdue int
}
