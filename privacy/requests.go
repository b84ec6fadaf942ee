package privacy

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"callscribe"
)

// RequestStore is what requests need of the database. UpdateRequest runs change under
// the request's row lock and effect in the same transaction.
type RequestStore interface {
	CreateRequest(ctx context.Context, r callscribe.Request, ev callscribe.RequestEvent) (callscribe.Request, error)
	Request(ctx context.Context, id uuid.UUID) (callscribe.Request, error)
	Requests(ctx context.Context, f callscribe.RequestFilter) ([]callscribe.Request, error)
	RequestEvents(ctx context.Context, id uuid.UUID) ([]callscribe.RequestEvent, error)
	UpdateRequest(ctx context.Context, id uuid.UUID,
		change func(callscribe.Request) (callscribe.Request, callscribe.RequestEvent, error),
		effect func(ctx context.Context, tx RequestTx, r callscribe.Request) error) (callscribe.Request, error)
}

// RequestTx is the transaction that closes a request, as what the close does needs it:
// it commits with the close or not at all. EraseSubject marks the user erased (from the
// commit on, every read leaves them and their calls out, and nothing more is stored for
// them) and enqueues the purge of their data, a callscribe.EraseSubjectJob that
// EraseWorker runs.
//
// It is an alias of an interface literal, not a named type, so that the adapter's
// UpdateRequest, declared where privacy cannot be imported, has the very same signature.
type RequestTx = interface {
	BlockUser(ctx context.Context, userID uuid.UUID, at time.Time) error
	WithdrawAllConsents(ctx context.Context, userID uuid.UUID, channel callscribe.ConsentChannel, at time.Time) error
	EraseSubject(ctx context.Context, userID, requestID uuid.UUID, at time.Time) error
}

// Requests keeps data-subject requests and their clock: each is due on the tenth
// business day after it was received (Moscow), extendable once by at most five business
// days with a recorded reason and notice; a claim is due on the fourteenth, with no
// extension. Completing a request does what it asked, in
// the transaction that completes it: blocking blocks the subject, withdrawal withdraws
// every consent, erasure marks the subject erased and enqueues their purge.
//
// Every request it returns has its instants (received_at, notice_at, closed_at) in UTC,
// whichever path it took, so the API and the CLI print one form.
type Requests struct {
	Store    RequestStore
	Calendar *Calendar // default DefaultCalendar()
	// Eraser is needed to complete erasure requests: without one (no ledger key) nothing
	// could carry out the purge the close enqueues, so the request stays open.
	Eraser *Eraser
	Now    func() time.Time // default time.Now
}

func (q *Requests) now() time.Time {
	if q.Now != nil {
		return q.Now()
	}
	return time.Now()
}

func (q *Requests) calendar() *Calendar {
	if q.Calendar != nil {
		return q.Calendar
	}
	return DefaultCalendar()
}

// Today is the current day in Moscow, the day overdue is counted against.
func (q *Requests) Today() callscribe.Date { return callscribe.DateOf(q.now().In(Moscow)) }

// NewRequest is a request as received.
type NewRequest struct {
	OrgID      uuid.UUID
	UserID     uuid.UUID // the subject
	Kind       callscribe.RequestKind
	ReceivedAt time.Time // zero: now
	Notes      string
	Actor      string // who recorded it: "cli:operator", "api:KEY-ID"
}

// Add records a received request with its due date.
func (q *Requests) Add(ctx context.Context, n NewRequest) (callscribe.Request, error) {
	if _, err := callscribe.ParseRequestKind(string(n.Kind)); err != nil {
		return callscribe.Request{}, err
	}
	if err := needActor(n.Actor); err != nil {
		return callscribe.Request{}, err
	}
	now := q.now()
	if n.ReceivedAt.IsZero() {
		n.ReceivedAt = now
	}
	if n.ReceivedAt.After(now) {
		return callscribe.Request{}, callscribe.Errorf(callscribe.EINVALID, "a request cannot be received in the future (%s)", n.ReceivedAt.In(Moscow).Format(time.RFC3339))
	}
	r := callscribe.Request{
		OrgID: n.OrgID, UserID: n.UserID, Kind: n.Kind, Status: callscribe.RequestReceived,
		ReceivedAt: n.ReceivedAt, DueAt: q.calendar().DueDateOf(n.Kind, n.ReceivedAt), Notes: n.Notes,
	}
	return inUTC(q.Store.CreateRequest(ctx, r, callscribe.RequestEvent{
		Action: "received", Status: r.Status, Actor: n.Actor, At: now,
	}))
}

// Get reads one request.
func (q *Requests) Get(ctx context.Context, id uuid.UUID) (callscribe.Request, error) {
	return inUTC(q.Store.Request(ctx, id))
}

// inUTC puts a request's instants in UTC: one form, whichever path the request took
// (as received, in Moscow; or as read back, in the process's zone).
func inUTC(r callscribe.Request, err error) (callscribe.Request, error) {
	r.ReceivedAt = r.ReceivedAt.UTC()
	for _, t := range []**time.Time{&r.NoticeAt, &r.ClosedAt} {
		if *t != nil {
			u := (**t).UTC()
			*t = &u
		}
	}
	return r, err
}

// Events lists a request's transitions, oldest first.
func (q *Requests) Events(ctx context.Context, id uuid.UUID) ([]callscribe.RequestEvent, error) {
	events, err := q.Store.RequestEvents(ctx, id)
	for i := range events {
		events[i].At = events[i].At.UTC()
	}
	return events, err
}

// ListOptions selects requests to list; zero fields select everything.
type ListOptions struct {
	OrgID     uuid.UUID
	UserID    uuid.UUID
	Status    callscribe.RequestStatus
	DueWithin int  // open and due within this many calendar days from today (> 0)
	Overdue   bool // open and past due
}

// List lists requests, the earliest due first.
func (q *Requests) List(ctx context.Context, o ListOptions) ([]callscribe.Request, error) {
	f := callscribe.RequestFilter{OrgID: o.OrgID, UserID: o.UserID}
	if o.Status != "" {
		f.Statuses = []callscribe.RequestStatus{o.Status}
	}
	open := []callscribe.RequestStatus{callscribe.RequestReceived, callscribe.RequestInProgress}
	if o.DueWithin > 0 || o.Overdue {
		if o.Status != "" && !o.Status.Open() {
			return nil, callscribe.Errorf(callscribe.EINVALID, "a %s request is never due or overdue: only open requests are", o.Status)
		}
		if o.Status == "" {
			f.Statuses = open
		}
		by := q.Today().AddDays(o.DueWithin)
		if o.Overdue {
			by = q.Today().AddDays(-1)
		}
		f.DueBy = &by
	}
	list, err := q.Store.Requests(ctx, f)
	for i := range list {
		list[i], _ = inUTC(list[i], nil)
	}
	return list, err
}

// Overdue reports whether r is open and its due day (extended when extended) has passed.
func (q *Requests) Overdue(r callscribe.Request) bool {
	return r.Status.Open() && r.Due().Before(q.Today())
}

// Start takes a received request into work.
func (q *Requests) Start(ctx context.Context, id uuid.UUID, actor string) (callscribe.Request, error) {
	if err := needActor(actor); err != nil {
		return callscribe.Request{}, err
	}
	at := q.now()
	return inUTC(q.Store.UpdateRequest(ctx, id, func(r callscribe.Request) (callscribe.Request, callscribe.RequestEvent, error) {
		if r.Status != callscribe.RequestReceived {
			return r, callscribe.RequestEvent{}, callscribe.Errorf(callscribe.ECONFLICT, "request %s is %s; only a received request can be started", id, r.Status)
		}
		r.Status = callscribe.RequestInProgress
		return r, callscribe.RequestEvent{Action: "started", Status: r.Status, Actor: actor, At: at}, nil
	}, nil))
}

// Extension extends a request's term.
type Extension struct {
	Days   int    // business days, 1 to 5; zero means 5
	Reason string // why the term is extended (required)
	Notice string // the reasoned notice sent to the subject; empty: written from Reason
	Actor  string
}

// Extend extends an open request's term once, by at most five business days, with a
// reason, recording the notice sent to the subject and when. It must happen before the
// term ends: an overdue request cannot be extended.
func (q *Requests) Extend(ctx context.Context, id uuid.UUID, e Extension) (callscribe.Request, error) {
	if e.Days == 0 {
		e.Days = ExtensionBusinessDays
	}
	if e.Days < 1 || e.Days > ExtensionBusinessDays {
		return callscribe.Request{}, callscribe.Errorf(callscribe.EINVALID, "an extension is 1 to %d business days, not %d", ExtensionBusinessDays, e.Days)
	}
	if e.Reason = strings.TrimSpace(e.Reason); e.Reason == "" {
		return callscribe.Request{}, callscribe.Errorf(callscribe.EINVALID, "an extension needs a reason")
	}
	if err := needActor(e.Actor); err != nil {
		return callscribe.Request{}, err
	}
	at := q.now()
	today := q.Today()
	return inUTC(q.Store.UpdateRequest(ctx, id, func(r callscribe.Request) (callscribe.Request, callscribe.RequestEvent, error) {
		switch {
		case !r.Status.Open():
			return r, callscribe.RequestEvent{}, callscribe.Errorf(callscribe.ECONFLICT, "request %s is %s; only an open request can be extended", id, r.Status)
		case r.Kind == callscribe.RequestClaim:
			return r, callscribe.RequestEvent{}, callscribe.Errorf(callscribe.ECONFLICT, "request %s is a claim: its term of %d business days cannot be extended (the law gives no extension for claims)", id, ClaimTermBusinessDays)
		case r.ExtendedDueAt != nil:
			return r, callscribe.RequestEvent{}, callscribe.Errorf(callscribe.ECONFLICT, "request %s was extended already (to %s); a term is extended once", id, *r.ExtendedDueAt)
		case r.DueAt.Before(today):
			return r, callscribe.RequestEvent{}, callscribe.Errorf(callscribe.ECONFLICT, "request %s was due on %s; an extension must be noticed before the term ends", id, r.DueAt)
		}
		due := q.calendar().AddBusinessDaysTo(r.DueAt, e.Days)
		notice := strings.TrimSpace(e.Notice)
		if notice == "" {
			notice = fmt.Sprintf("The term for answering your request of %s is extended to %s. Reason: %s",
				r.ReceivedAt.In(Moscow).Format(time.DateOnly), due, e.Reason)
		}
		r.ExtendedDueAt, r.ExtensionReason, r.NoticeText, r.NoticeAt = &due, e.Reason, notice, &at
		return r, callscribe.RequestEvent{Action: "extended", Status: r.Status, Actor: e.Actor, At: at,
			Note: fmt.Sprintf("due %s → %s: %s", r.DueAt, due, e.Reason)}, nil
	}, nil))
}

// Closing closes a request.
type Closing struct {
	Reject bool
	Reason string // why it was rejected (required to reject)
	Notes  string
	Actor  string
	// Channel is recorded on the consent withdrawals a withdrawal request makes: the
	// channel the closer acts through (cli for the CLI, api for the JSON API).
	Channel callscribe.ConsentChannel
}

// Close completes or rejects a request. A request is completed from in_progress; it can
// be rejected, with a reason, from received or in_progress. Completing does what was
// asked in the same transaction (see Requests).
func (q *Requests) Close(ctx context.Context, id uuid.UUID, c Closing) (callscribe.Request, error) {
	c.Reason = strings.TrimSpace(c.Reason)
	if c.Reject && c.Reason == "" {
		return callscribe.Request{}, callscribe.Errorf(callscribe.EINVALID, "a rejection needs a reason")
	}
	if err := needActor(c.Actor); err != nil {
		return callscribe.Request{}, err
	}
	if !c.Reject {
		if _, err := callscribe.ParseConsentChannel(string(c.Channel)); err != nil {
			return callscribe.Request{}, err
		}
	}
	at := q.now()
	change := func(r callscribe.Request) (callscribe.Request, callscribe.RequestEvent, error) {
		switch {
		case !r.Status.Open():
			return r, callscribe.RequestEvent{}, callscribe.Errorf(callscribe.ECONFLICT, "request %s is %s already", id, r.Status)
		case !c.Reject && r.Status != callscribe.RequestInProgress:
			return r, callscribe.RequestEvent{}, callscribe.Errorf(callscribe.ECONFLICT, "request %s is %s; start it before completing it", id, r.Status)
		case !c.Reject && r.Kind == callscribe.RequestErasure && q.Eraser == nil:
			return r, callscribe.RequestEvent{}, callscribe.Errorf(callscribe.ECONFLICT, "request %s asks for erasure, and no eraser is configured: it stays open", id)
		}
		r.Status, r.ClosedAt = callscribe.RequestCompleted, &at
		action := "completed"
		if c.Reject {
			r.Status, r.Reason, action = callscribe.RequestRejected, c.Reason, "rejected"
		}
		if c.Notes != "" {
			r.Notes = strings.TrimSpace(strings.Join([]string{r.Notes, c.Notes}, "\n"))
		}
		return r, callscribe.RequestEvent{Action: action, Status: r.Status, Actor: c.Actor, At: at, Note: c.Reason}, nil
	}
	effect := func(ctx context.Context, tx RequestTx, r callscribe.Request) error {
		if r.Status != callscribe.RequestCompleted {
			return nil
		}
		switch r.Kind {
		case callscribe.RequestBlocking:
			return tx.BlockUser(ctx, r.UserID, at)
		case callscribe.RequestWithdrawal:
			return tx.WithdrawAllConsents(ctx, r.UserID, c.Channel, at)
		case callscribe.RequestErasure:
			return tx.EraseSubject(ctx, r.UserID, r.ID, at)
		}
		return nil
	}
	return inUTC(q.Store.UpdateRequest(ctx, id, change, effect))
}

func needActor(actor string) error {
	if strings.TrimSpace(actor) == "" {
		return callscribe.Errorf(callscribe.EINVALID, "a request change needs an actor (who made it)")
	}
	return nil
}

// ParseDays reads a number of calendar days written "3d" or "3".
func ParseDays(s string) (int, error) {
	var n int
	if _, err := fmt.Sscanf(strings.TrimSuffix(strings.TrimSpace(s), "d"), "%d", &n); err != nil || n <= 0 ||
		fmt.Sprint(n) != strings.TrimSuffix(strings.TrimSpace(s), "d") {
		return 0, callscribe.Errorf(callscribe.EINVALID, "%q is not a number of days such as 3d", s)
	}
	return n, nil
}
