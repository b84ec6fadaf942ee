package webapp

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"callscribe"
	"callscribe/accounts"
	"callscribe/privacy"
)

// ReaderStore is what the readers' pages read of the database (storage/postgres.DB):
// the same methods the JSON API reads through, so a page shows what the API answers.
type ReaderStore interface {
	// SearchCalls lists and searches calls: the one method GET /v1/calls calls too.
	SearchCalls(ctx context.Context, f callscribe.CallFilter) ([]callscribe.CallHit, error)
	Call(ctx context.Context, orgID, callID uuid.UUID) (callscribe.Call, error)
	Transcript(ctx context.Context, callID uuid.UUID) (callscribe.Transcript, error)
	Summaries(ctx context.Context, callIDs []uuid.UUID) (map[uuid.UUID]callscribe.Summary, error)
	Activity(ctx context.Context, orgID uuid.UUID, ownerID *uuid.UUID, from, to time.Time, loc *time.Location) ([]callscribe.DayActivity, error)
	UserInOrg(ctx context.Context, orgID, id uuid.UUID) (callscribe.User, error)
	Rectifications(ctx context.Context, userID uuid.UUID) ([]callscribe.Rectification, error)
	AuditAbout(ctx context.Context, subjectID uuid.UUID) ([]callscribe.AuditEntry, error)
	privacy.AuditLog
	// AppendAudits appends many entries in one transaction.
	AppendAudits(ctx context.Context, entries []callscribe.AuditEntry) error
}

// SegmentEditor rectifies a segment: privacy.Corrections, the API's PATCH path.
type SegmentEditor interface {
	EditSegment(ctx context.Context, callID uuid.UUID, ord int, text, speaker *string, actor string) (privacy.Correction, error)
}

// Discarder ends a user's queued calls after a withdrawal of transcription, their audio
// deleted and confirmed: the pipeline, as the API calls it.
type Discarder interface {
	DiscardQueued(ctx context.Context, ownerID uuid.UUID) (int, error)
}

// Readers wires the readers' pages: calls, transcripts and search, the user's privacy
// desk and the officer's desk. Each acts through the same privacy and storage code as
// the JSON API; a nil Store turns the pages off (404).
type Readers struct {
	Store     ReaderStore
	Consents  *privacy.Consents
	Requests  *privacy.Requests
	Exporter  *privacy.Exporter
	Editor    SegmentEditor
	Discarder Discarder // nil: nothing is queued to discard (no pipeline)
}

// reader serves a readers' page: for a signed-in account whose email is verified (an
// unverified one is sent to the profile, which says how to verify), with the request's
// context scoped to the account's organization, so the database's row-level security
// holds every query to it.
func (s *Server) reader(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, v *visit) error {
		if s.cfg.Readers.Store == nil {
			return callscribe.Errorf(callscribe.ENOTFOUND, "no such page")
		}
		if !v.Account.EmailVerified {
			if r.Method != http.MethodGet {
				return callscribe.Errorf(callscribe.EFORBIDDEN, "confirm your email address first")
			}
			http.Redirect(w, r, "/profile", http.StatusSeeOther)
			return nil
		}
		return h(w, r, v) // in the account's scope, set by serve
	}
}

// userActor names the signed-in person as the actor of what they do, by id.
func userActor(v *visit) string { return "user:" + v.Account.ID.String() }

// seesAll says whether the account sees every call of its organization: admins do;
// members and officers see their own calls only. Row-level security holds every query
// to the organization; this holds a member to their own calls, in the one place every
// call page loads its calls through (callFilter, loadCall).
func seesAll(a *accounts.Account) bool { return a.Role == accounts.RoleAdmin }

// loadCall is a call the visitor may see: another member's call is not found, as
// another organization's is.
func (s *Server) loadCall(ctx context.Context, v *visit, raw string) (callscribe.Call, error) {
	notFound := callscribe.Errorf(callscribe.ENOTFOUND, "no such call")
	id, err := uuid.Parse(raw)
	if err != nil {
		return callscribe.Call{}, notFound
	}
	c, err := s.cfg.Readers.Store.Call(ctx, v.Account.OrgID, id)
	if callscribe.ErrorCode(err) == callscribe.ENOTFOUND || (err == nil && !seesAll(v.Account) && c.OwnerID != v.Account.ID) {
		return callscribe.Call{}, notFound
	}
	if err != nil {
		return callscribe.Call{}, err
	}
	// A blocked owner's calls are kept but not shown, as the API and the listing do.
	owner, err := s.cfg.Readers.Store.UserInOrg(ctx, v.Account.OrgID, c.OwnerID)
	if callscribe.ErrorCode(err) == callscribe.ENOTFOUND {
		return callscribe.Call{}, notFound
	}
	if err != nil {
		return callscribe.Call{}, err
	}
	if owner.BlockedAt != nil {
		return callscribe.Call{}, callscribe.Errorf(callscribe.EBLOCKED, "the owner of this call is blocked: their data is kept but not shown")
	}
	return c, nil
}

// audit records what the visitor did, in their organization, as the API records it.
func (s *Server) audit(ctx context.Context, v *visit, e callscribe.AuditEntry) error {
	e.Actor, e.OrgID = userActor(v), v.Account.OrgID
	return (&privacy.Audit{}).Record(ctx, s.cfg.Readers.Store, e)
}

// auditBatch collects the entries of a page that shows many calls: each is checked by
// privacy.Audit.Record as it is added, and all are appended in one transaction.
type auditBatch struct{ entries []callscribe.AuditEntry }

func (b *auditBatch) AppendAudit(_ context.Context, e callscribe.AuditEntry) error {
	b.entries = append(b.entries, e)
	return nil
}

func (s *Server) auditAll(ctx context.Context, v *visit, entries []callscribe.AuditEntry) error {
	var b auditBatch
	for _, e := range entries {
		e.Actor, e.OrgID = userActor(v), v.Account.OrgID
		if err := (&privacy.Audit{}).Record(ctx, &b, e); err != nil {
			return err
		}
	}
	return s.cfg.Readers.Store.AppendAudits(ctx, b.entries)
}

const (
	callsPerPage  = 25
	maxQueryRunes = 500
	chartDays     = 30
	maxChartDays  = 92
)

// callRow is one row of the calls list.
type callRow struct {
	callscribe.CallHit
	Summary   string // the summary's first line
	Confirmed bool   // the audio's deletion is confirmed by the receipt
}

type callsPage struct {
	Filter   url.Values
	Rows     []callRow
	Searched bool
	Next     template.URL // the next page's address; "" on the last page
	Owners   []accounts.Account
	SeesAll  bool
	// ChartQuery is the filters the chart of this list is drawn for (the chart is an
	// image of its own, /calls/chart.svg, so the list is not kept waiting for it).
	ChartSVG, ChartTable template.URL
	Statuses             []string
}

// callsPage is the calls list, and the search: newest first, or best match first with a
// text query, keyset-paged, through SearchCalls as GET /v1/calls lists them.
// callFilter reads the list's filters from the query: the calls the visitor may see (a
// member's own), and a message key per field that is not valid.
func callFilter(q url.Values, v *visit) (callscribe.CallFilter, map[string]string) {
	f := callscribe.CallFilter{OrgID: v.Account.OrgID, Limit: callsPerPage + 1}
	errs := map[string]string{}
	f.Q = strings.TrimSpace(q.Get("q"))
	if utf8.RuneCountInString(f.Q) > maxQueryRunes {
		errs["q"] = "calls.error.q_long"
		f.Q = ""
	}
	if p := strings.TrimSpace(q.Get("phone")); p != "" {
		n, err := callscribe.NormalizePhone(p)
		if err != nil {
			errs["phone"] = "calls.error.phone"
		} else {
			f.Phone = n
		}
	}
	f.ExternalID = strings.TrimSpace(q.Get("external_id"))
	if st := q.Get("status"); st != "" {
		if status, err := callscribe.ParsePublicStatus(st); err != nil {
			errs["status"] = "calls.error.status"
		} else {
			f.Status = status
		}
	}
	for _, p := range []struct {
		name string
		dst  **time.Time
		end  bool
	}{{"from", &f.From, false}, {"to", &f.To, true}} {
		if d := q.Get(p.name); d != "" {
			day, err := time.ParseInLocation(time.DateOnly, d, moscow)
			if err != nil {
				errs[p.name] = "calls.error.date"
				continue
			}
			if p.end {
				day = day.AddDate(0, 0, 1) // to is the last day shown: the listing ends at the next midnight
			}
			*p.dst = &day
		}
	}
	if seesAll(v.Account) {
		if o := q.Get("owner"); o != "" {
			id, err := uuid.Parse(o)
			if err != nil {
				errs["owner"] = "calls.error.owner"
			} else {
				f.OwnerID = &id
			}
		}
	} else {
		f.OwnerID = &v.Account.ID
	}
	if c := q.Get("cursor"); c != "" {
		cur, ok := callscribe.ParseCallCursor(c)
		if !ok || cur.Ranked != (f.Q != "") {
			errs["cursor"] = "calls.error.cursor"
		} else {
			f.After = &cur
		}
	}
	return f, errs
}

func (s *Server) callsPage(w http.ResponseWriter, r *http.Request, v *visit) error {
	ctx := r.Context()
	q := r.URL.Query()
	f, errs := callFilter(q, v)
	page := callsPage{Filter: q, Searched: f.Q != "", SeesAll: seesAll(v.Account),
		Statuses: callscribe.PublicStatuses}
	if len(errs) == 0 {
		hits, err := s.cfg.Readers.Store.SearchCalls(ctx, f)
		if err != nil {
			return err
		}
		if len(hits) > callsPerPage {
			hits = hits[:callsPerPage]
			last := hits[len(hits)-1]
			next := url.Values{}
			for k, vs := range q {
				next[k] = vs
			}
			next.Set("cursor", last.Cursor.Token())
			page.Next = template.URL("/calls?" + next.Encode()) // #nosec: our path, a query url.Values encoded
		}
		ids := make([]uuid.UUID, len(hits))
		for i, h := range hits {
			ids[i] = h.ID
		}
		sums, err := s.cfg.Readers.Store.Summaries(ctx, ids)
		if err != nil {
			return err
		}
		var reads []callscribe.AuditEntry
		for _, h := range hits {
			row := callRow{CallHit: h, Confirmed: h.Receipt != nil && !h.Receipt.ConfirmedAt.IsZero()}
			if sm, ok := sums[h.ID]; ok {
				row.Summary, _, _ = strings.Cut(strings.TrimSpace(sm.Text), "\n")
			}
			// Words of a transcript are shown (a summary, snippets): a read, audited before
			// the page is sent, as the API audits its search.
			if row.Summary != "" || len(h.Hits) > 0 {
				reads = append(reads, callscribe.AuditEntry{Action: privacy.ActionTranscriptRead, ObjectType: "call",
					ObjectID: h.ID.String(), SubjectID: h.OwnerID, Detail: map[string]any{"via": "web.list"}})
			}
			page.Rows = append(page.Rows, row)
		}
		if err := s.auditAll(ctx, v, reads); err != nil {
			return err
		}
		chartQuery := url.Values{}
		for _, k := range []string{"q", "phone", "external_id", "status", "from", "to", "owner"} {
			if q.Get(k) != "" {
				chartQuery.Set(k, q.Get(k))
			}
		}
		// #nosec: our paths, with a query url.Values encoded
		page.ChartSVG, page.ChartTable = template.URL("/calls/chart.svg?"+chartQuery.Encode()), template.URL("/calls/chart?"+chartQuery.Encode())
	}
	if page.SeesAll {
		owners, err := s.cfg.Accounts.Members(ctx, *v.Account)
		if err != nil {
			return err
		}
		page.Owners = owners
	}
	status := http.StatusOK
	if len(errs) > 0 {
		status = http.StatusBadRequest
	}
	form := map[string]string{}
	for k := range q {
		form[k] = q.Get(k)
	}
	s.renderForm(w, r, v, status, "calls", page, form, errs)
	return nil
}

// duration formats milliseconds as m:ss or h:mm:ss.
func duration(ms int64) string {
	s := ms / 1000
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
