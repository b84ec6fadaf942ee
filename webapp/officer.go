package webapp

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"callscribe"
	"callscribe/privacy"
)

// officerRow is a request on the officer's desk, with its subject named.
type officerRow struct {
	callscribe.Request
	Subject  string // surname, first name, patronymic; "" once erased
	Email    string
	Language string
	Overdue  bool
	Left     int // business days left until the due day, that day included
}

type officerPage struct {
	Overdue  int // open requests past due: on every officer page
	Rows     []officerRow
	Statuses []string
	Kinds    []callscribe.RequestKind
}

type officerRequestPage struct {
	Overdue int
	Row     officerRow
	Events  []callscribe.RequestEvent
	Who     map[string]string // each event's actor, named
}

// officer serves an officer's page (the route's access, "officer", lets in the
// organization's officers and admins) when the requests service is wired.
func (s *Server) officer(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, v *visit) error {
		if s.cfg.Readers.Requests == nil {
			return callscribe.Errorf(callscribe.ENOTFOUND, "no such page")
		}
		return h(w, r, v)
	}
}

func (s *Server) overdueCount(ctx context.Context, v *visit) (int, error) {
	list, err := s.cfg.Readers.Requests.List(ctx, privacy.ListOptions{OrgID: v.Account.OrgID, Overdue: true})
	return len(list), err
}

// row names a request's subject and counts its business days left.
func (s *Server) officerRow(ctx context.Context, v *visit, q callscribe.Request) (officerRow, error) {
	rq := s.cfg.Readers.Requests
	row := officerRow{Request: q, Overdue: rq.Overdue(q)}
	if q.UserID != uuid.Nil {
		acc, err := s.cfg.Accounts.Member(ctx, v.Account.OrgID, q.UserID)
		switch {
		case err == nil:
			row.Subject = strings.Join(strings.Fields(acc.Surname+" "+acc.FirstName+" "+acc.Patronymic), " ")
			row.Email, row.Language = acc.Email, acc.Language
		case callscribe.ErrorCode(err) != callscribe.ENOTFOUND:
			return row, err
		}
	}
	if q.Status.Open() {
		cal := rq.Calendar
		if cal == nil {
			cal = privacy.DefaultCalendar()
		}
		today, due := rq.Today(), q.Due()
		for d := today.AddDays(1); !due.Before(d); d = d.AddDays(1) {
			if cal.IsBusinessDay(d) {
				row.Left++
			}
		}
	}
	return row, nil
}

// officerPage lists the organization's requests: open ones by default, the earliest
// due first; filters by status, kind and overdue.
func (s *Server) officerPage(w http.ResponseWriter, r *http.Request, v *visit) error {
	ctx := r.Context()
	q := r.URL.Query()
	o := privacy.ListOptions{OrgID: v.Account.OrgID, Overdue: q.Get("overdue") == "1"}
	status := q.Get("status")
	if status != "" && status != "open" && status != "all" {
		st, err := callscribe.ParseRequestStatus(status)
		if err != nil {
			return err
		}
		o.Status = st
	}
	var kind callscribe.RequestKind
	if k := q.Get("kind"); k != "" {
		var err error
		if kind, err = callscribe.ParseRequestKind(k); err != nil {
			return err
		}
	}
	list, err := s.cfg.Readers.Requests.List(ctx, o)
	if err != nil {
		return err
	}
	page := officerPage{Statuses: []string{"open", "all", "received", "in_progress", "completed", "rejected"}, Kinds: callscribe.RequestKinds}
	for _, req := range list {
		if (status == "" || status == "open") && !req.Status.Open() || kind != "" && req.Kind != kind {
			continue
		}
		row, err := s.officerRow(ctx, v, req)
		if err != nil {
			return err
		}
		page.Rows = append(page.Rows, row)
	}
	if page.Overdue, err = s.overdueCount(ctx, v); err != nil {
		return err
	}
	form := map[string]string{"status": status, "kind": q.Get("kind"), "overdue": q.Get("overdue")}
	s.renderForm(w, r, v, http.StatusOK, "officer", page, form, nil)
	return nil
}

// officerRequestFor is the request the path names, in the officer's organization.
func (s *Server) officerRequestFor(ctx context.Context, v *visit, raw string) (callscribe.Request, error) {
	notFound := callscribe.Errorf(callscribe.ENOTFOUND, "no such request")
	id, err := uuid.Parse(raw)
	if err != nil {
		return callscribe.Request{}, notFound
	}
	q, err := s.cfg.Readers.Requests.Get(ctx, id)
	if callscribe.ErrorCode(err) == callscribe.ENOTFOUND || err == nil && q.OrgID != v.Account.OrgID {
		return callscribe.Request{}, notFound
	}
	return q, err
}

func (s *Server) officerRequest(w http.ResponseWriter, r *http.Request, v *visit) error {
	ctx := r.Context()
	q, err := s.officerRequestFor(ctx, v, r.PathValue("id"))
	if err != nil {
		return err
	}
	row, err := s.officerRow(ctx, v, q)
	if err != nil {
		return err
	}
	events, err := s.cfg.Readers.Requests.Events(ctx, q.ID)
	if err != nil {
		return err
	}
	page := officerRequestPage{Row: row, Events: events}
	var actors []string
	for _, e := range events {
		actors = append(actors, e.Actor)
	}
	if page.Who, err = s.actorNames(ctx, v, actors); err != nil {
		return err
	}
	if page.Overdue, err = s.overdueCount(ctx, v); err != nil {
		return err
	}
	s.render(w, r, v, http.StatusOK, "officer_request", page)
	return nil
}

// officerAct moves a request on, through privacy.Requests: start, extend (once, with a
// reason and a notice to the subject: written in their language when the officer
// leaves it empty), complete, or reject with a reason. Each step is recorded with the
// officer as its actor.
func (s *Server) officerAct(w http.ResponseWriter, r *http.Request, v *visit) error {
	ctx := r.Context()
	rq := s.cfg.Readers.Requests
	q, err := s.officerRequestFor(ctx, v, r.PathValue("id"))
	if err != nil {
		return err
	}
	actor := userActor(v)
	done := ""
	switch r.PathValue("action") {
	case "start":
		_, err = rq.Start(ctx, q.ID, actor)
		done = "officer_started"
	case "extend":
		days := privacy.ExtensionBusinessDays
		if d := r.PostFormValue("days"); d != "" {
			if days, err = strconv.Atoi(d); err != nil {
				return callscribe.Errorf(callscribe.EINVALID, "days is a number from 1 to %d", privacy.ExtensionBusinessDays)
			}
		}
		reason := strings.TrimSpace(r.PostFormValue("reason"))
		notice := strings.TrimSpace(r.PostFormValue("notice"))
		if notice == "" && reason != "" && days >= 1 && days <= privacy.ExtensionBusinessDays {
			row, err := s.officerRow(ctx, v, q)
			if err != nil {
				return err
			}
			cal := rq.Calendar
			if cal == nil {
				cal = privacy.DefaultCalendar()
			}
			lang := "ru"
			if row.Language == "en" {
				lang = "en"
			}
			notice = translate(lang, "officer.notice_text", q.ReceivedAt.In(privacy.Moscow).Format("2006-01-02"),
				cal.AddBusinessDaysTo(q.DueAt, days).String(), reason)
		}
		_, err = rq.Extend(ctx, q.ID, privacy.Extension{Days: days, Reason: reason, Notice: notice, Actor: actor})
		done = "officer_extended"
	case "complete", "reject":
		reject := r.PathValue("action") == "reject"
		var closed callscribe.Request
		closed, err = rq.Close(ctx, q.ID, privacy.Closing{Reject: reject, Reason: r.PostFormValue("reason"),
			Notes: strings.TrimSpace(r.PostFormValue("notes")), Actor: actor, Channel: callscribe.ConsentViaWeb})
		if err == nil && !reject && closed.Kind == callscribe.RequestWithdrawal && s.cfg.Readers.Discarder != nil {
			_, err = s.cfg.Readers.Discarder.DiscardQueued(ctx, closed.UserID) // every consent was withdrawn
		}
		done = "officer_closed"
	default:
		return callscribe.Errorf(callscribe.ENOTFOUND, "no such action")
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/officer/requests/"+q.ID.String()+"?done="+done, http.StatusSeeOther)
	return nil
}

// actorNames names the actors of a page's records: "user:<id>" of the organization
// becomes the person's name and role (their id stays in the record); the service's own
// actors, the CLI and an API key get their words from the catalogue (actorLabel).
func (s *Server) actorNames(ctx context.Context, v *visit, actors []string) (map[string]string, error) {
	names := map[string]string{}
	for _, a := range actors {
		if _, done := names[a]; done {
			continue
		}
		names[a] = actorLabel(v.Lang, a)
		raw, ok := strings.CutPrefix(a, "user:")
		if !ok {
			continue
		}
		id, err := uuid.Parse(raw)
		if err != nil {
			continue
		}
		acc, err := s.cfg.Accounts.Member(ctx, v.Account.OrgID, id)
		switch {
		case err == nil:
			names[a] = strings.Join(strings.Fields(acc.Surname+" "+acc.FirstName), " ") + " (" + translate(v.Lang, "role."+string(acc.Role)) + ")"
		case callscribe.ErrorCode(err) != callscribe.ENOTFOUND:
			return nil, err
		}
	}
	return names, nil
}

// actorKinds are the actors records name besides the organization's people, as the
// catalogue words them ("actor.KIND"): whole (system:pipeline, the worker that deletes
// the audio) or by what comes before the colon (api:<key id>, cli:operator, user:<id>
// of someone no longer in the organization).
var actorKinds = []string{"system:pipeline", "system:retention", "system:erasure", "system:notify", "system:rehash",
	"system", "cli", "api", "user"}

// actorLabel is actor a in words; an API key's label keeps the key's id, which tells
// the organization's keys apart. An actor of no known kind is shown as recorded.
func actorLabel(lang, a string) string {
	kind, id, _ := strings.Cut(a, ":")
	switch {
	case slices.Contains(actorKinds, a):
		return translate(lang, "actor."+a)
	case kind == "api":
		return translate(lang, "actor.api", id)
	case slices.Contains(actorKinds, kind):
		return translate(lang, "actor."+kind)
	}
	return a
}
