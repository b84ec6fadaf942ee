package notify

import (
	"bufio"
	"context"
	"strings"
	"time"

	"github.com/google/uuid"

	"callscribe"
	"callscribe/privacy"
)

// Regulator deadlines of 152-FZ art. 21 p. 3.1, counted from the breach's detection:
// the first notice to Roskomnadzor within 24 hours, the results of the investigation
// within 72 hours.
const (
	FirstReport = 24 * time.Hour
	FinalReport = 72 * time.Hour
)

// BreachStore is what breach handling needs of the database.
type BreachStore interface {
	OpenBreach(ctx context.Context, inc callscribe.BreachIncident, emails []string) (callscribe.BreachIncident, []string, error)
	Breach(ctx context.Context, id uuid.UUID) (callscribe.BreachIncident, error)
	Breaches(ctx context.Context) ([]callscribe.BreachIncident, error)
	BreachAffected(ctx context.Context, id uuid.UUID) ([]uuid.UUID, error)
	NotifyBreach(ctx context.Context, id uuid.UUID, ru, en string, at time.Time,
		record func(ctx context.Context, tx NoticeTx, affected []uuid.UUID) error) error
}

// Breaches records personal-data breaches, tells the affected users through their
// channels, and tracks the outcome and the regulator's deadlines. Each step is audited.
type Breaches struct {
	Store    BreachStore
	Notices  *Notices
	AuditLog privacy.AuditLog
	Actor    string // who acts: "cli:operator"
	Now      func() time.Time
}

func (b *Breaches) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

// Audit actions of a breach.
const (
	ActionBreachOpen   = "breach.open"
	ActionBreachNotify = "breach.notify"
	ActionBreachNotice = "breach.notice" // one affected user's outcome on one channel
)

// NewBreach is an incident as the operator reports it.
type NewBreach struct {
	Description string
	DetectedAt  time.Time // zero: now
	OrgID       uuid.UUID // uuid.Nil: every organization
	From, To    time.Time // the window of affected calls (their creation); zero: the organization's users
	Emails      []string  // or the affected users, listed
}

// Open records an incident and computes whom it affected: the listed users; or the
// owners of the calls created in the window (of the organization, when given); or every
// user of the organization. It returns the incident and the listed
// emails that match no user.
func (b *Breaches) Open(ctx context.Context, nb NewBreach) (callscribe.BreachIncident, []string, error) {
	nb.Description = strings.TrimSpace(nb.Description)
	if nb.Description == "" {
		return callscribe.BreachIncident{}, nil, callscribe.Errorf(callscribe.EINVALID, "a breach needs a description of what happened")
	}
	now := b.now()
	if nb.DetectedAt.IsZero() {
		nb.DetectedAt = now
	}
	if nb.DetectedAt.After(now) {
		return callscribe.BreachIncident{}, nil, callscribe.Errorf(callscribe.EINVALID, "a breach cannot be detected in the future")
	}
	inc := callscribe.BreachIncident{OrgID: nb.OrgID, Description: nb.Description, DetectedAt: nb.DetectedAt, OpenedBy: b.Actor, OpenedAt: now}
	switch {
	case len(nb.Emails) > 0:
	case nb.From.IsZero() != nb.To.IsZero() || nb.To.Before(nb.From):
		return callscribe.BreachIncident{}, nil, callscribe.Errorf(callscribe.EINVALID, "a breach's window of affected calls needs both ends, the first before the second")
	case nb.From.IsZero() && nb.OrgID == uuid.Nil:
		return callscribe.BreachIncident{}, nil, callscribe.Errorf(callscribe.EINVALID, "a breach needs whose data: an organization, a window of affected calls, or a list of users")
	}
	if !nb.From.IsZero() {
		inc.From = &nb.From
	}
	if !nb.To.IsZero() {
		inc.To = &nb.To
	}
	inc, missing, err := b.Store.OpenBreach(ctx, inc, nb.Emails)
	if err != nil {
		return inc, nil, err
	}
	err = b.audit(ctx, ActionBreachOpen, inc.ID, uuid.Nil, map[string]any{"affected": inc.Affected, "unmatched": len(missing)})
	return inc, missing, err
}

// Template is the operator's notice: Russian and English texts (one of them may be
// empty; the other is used for both).
type Template struct{ RU, EN string }

// ParseTemplate reads a notice written as one text for every language, or in sections
// headed by a line "[ru]" and a line "[en]".
func ParseTemplate(text string) (Template, error) {
	var t Template
	var cur *string
	sectioned := false
	var rest strings.Builder
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch strings.ToLower(strings.TrimSpace(line)) {
		case "[ru]":
			sectioned, cur = true, &t.RU
			continue
		case "[en]":
			sectioned, cur = true, &t.EN
			continue
		}
		if cur != nil {
			*cur += line + "\n"
		} else {
			rest.WriteString(line + "\n")
		}
	}
	if !sectioned {
		t.RU = rest.String()
	} else if strings.TrimSpace(rest.String()) != "" {
		return Template{}, callscribe.Errorf(callscribe.EINVALID, "breach template: text before the first [ru] or [en] section")
	}
	t.RU, t.EN = strings.TrimSpace(t.RU), strings.TrimSpace(t.EN)
	if t.RU == "" && t.EN == "" {
		return Template{}, callscribe.Errorf(callscribe.EINVALID, "breach template is empty")
	}
	if len(t.RU) > 4000 || len(t.EN) > 4000 {
		return Template{}, callscribe.Errorf(callscribe.EINVALID, "breach template: a text is longer than 4000 bytes (a messenger message holds 4096)")
	}
	return t, nil
}

// Notify sends the incident's notice to each affected user, through the channels they
// are reached on, in their language, once: the deliveries are recorded with the
// incident's mark in one transaction. It returns how many deliveries were recorded.
func (b *Breaches) Notify(ctx context.Context, id uuid.UUID, t Template) (int, error) {
	var recorded int
	err := b.Store.NotifyBreach(ctx, id, t.RU, t.EN, b.now(), func(ctx context.Context, tx NoticeTx, affected []uuid.UUID) error {
		counting := countingTx{NoticeTx: tx, n: &recorded}
		return b.Notices.Record(ctx, counting, callscribe.Notice{Kind: callscribe.NoticeBreach, UserIDs: affected, IncidentID: id})
	})
	if err != nil {
		return 0, err
	}
	return recorded, b.audit(ctx, ActionBreachNotify, id, uuid.Nil, map[string]any{"deliveries": recorded})
}

type countingTx struct {
	NoticeTx
	n *int
}

func (c countingTx) AddNoticeDeliveries(ctx context.Context, ds []callscribe.NewNoticeDelivery) error {
	*c.n += len(ds)
	return c.NoticeTx.AddNoticeDeliveries(ctx, ds)
}

// UserOutcome is where one affected user's notice stands.
type UserOutcome struct {
	UserID   uuid.UUID                           `json:"user_id"`
	Outcome  string                              `json:"outcome"` // sent, failed, no_channel, pending, not_notified
	Channels map[callscribe.NoticeChannel]string `json:"channels"`
}

// Status is an incident, its deadlines and each affected user's outcome.
type Status struct {
	Incident    callscribe.BreachIncident `json:"incident"`
	FirstReport time.Time                 `json:"first_report_due"` // to the regulator, 24 h from detection
	FinalReport time.Time                 `json:"final_report_due"` // 72 h
	Users       []UserOutcome             `json:"users"`
	Counts      map[string]int            `json:"counts"` // users per outcome
}

// Status reports an incident's deliveries per user and its regulator deadlines.
func (b *Breaches) Status(ctx context.Context, id uuid.UUID) (Status, error) {
	inc, err := b.Store.Breach(ctx, id)
	if err != nil {
		return Status{}, err
	}
	st := Status{Incident: inc, FirstReport: inc.DetectedAt.Add(FirstReport), FinalReport: inc.DetectedAt.Add(FinalReport), Counts: map[string]int{}}
	affected, err := b.Store.BreachAffected(ctx, id)
	if err != nil {
		return st, err
	}
	ds, err := b.Notices.Deliveries(ctx, callscribe.NoticeDeliveryFilter{IncidentID: id})
	if err != nil {
		return st, err
	}
	byUser := map[uuid.UUID]map[callscribe.NoticeChannel]string{}
	for _, d := range ds {
		if byUser[d.UserID] == nil {
			byUser[d.UserID] = map[callscribe.NoticeChannel]string{}
		}
		byUser[d.UserID][d.Channel] = d.State
	}
	for _, u := range affected {
		o := UserOutcome{UserID: u, Channels: byUser[u], Outcome: userOutcome(inc, byUser[u])}
		st.Users = append(st.Users, o)
		st.Counts[o.Outcome]++
	}
	return st, nil
}

// userOutcome: sent when any channel delivered; pending while any is still trying;
// failed when a channel gave up; no_channel when none could reach the user.
func userOutcome(inc callscribe.BreachIncident, chans map[callscribe.NoticeChannel]string) string {
	if inc.NotifiedAt == nil {
		return "not_notified"
	}
	has := map[string]bool{}
	for _, s := range chans {
		has[s] = true
	}
	switch {
	case has[callscribe.NoticeSent]:
		return callscribe.NoticeSent
	case has[callscribe.NoticePending]:
		return callscribe.NoticePending
	case has[callscribe.NoticeFailed]:
		return callscribe.NoticeFailed
	}
	return callscribe.NoticeNoChannel
}

// List lists the incidents, the latest detected first.
func (b *Breaches) List(ctx context.Context) ([]callscribe.BreachIncident, error) {
	return b.Store.Breaches(ctx)
}

func (b *Breaches) audit(ctx context.Context, action string, id, subject uuid.UUID, detail map[string]any) error {
	if b.AuditLog == nil {
		return nil
	}
	actor := b.Actor
	if actor == "" {
		actor = "system"
	}
	return (&privacy.Audit{}).Record(ctx, b.AuditLog, callscribe.AuditEntry{At: b.now(), Actor: actor, Action: action,
		ObjectType: "breach", ObjectID: id.String(), SubjectID: subject, Detail: detail})
}
