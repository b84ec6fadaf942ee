package web

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"callscribe"
	"callscribe/pipeline"
	"callscribe/privacy"
)

const (
	defaultListLimit = 50
	maxListLimit     = 200
)

// callView is a call as the API shows it: status, times, and the audio's receipt.
type callView struct {
	ID            string       `json:"id"`
	Status        string       `json:"status"`
	ExternalID    string       `json:"external_id,omitempty"`
	Phone         string       `json:"phone,omitempty"` // the other party's number (E.164), when the upload gave one
	Owner         string       `json:"owner"`
	Channels      []string     `json:"channels"`
	DurationMS    *int64       `json:"duration_ms"`
	StartedAt     *time.Time   `json:"started_at,omitempty"`
	CreatedAt     time.Time    `json:"created_at"`
	UpdatedAt     time.Time    `json:"updated_at"`
	Error         *errorDetail `json:"error,omitempty"`
	TranscriptURL string       `json:"transcript_url,omitempty"`
	Receipt       *receiptView `json:"receipt"`
	RetryOf       *uuid.UUID   `json:"retry_of,omitempty"` // the failed call this one sends again
	// Attempt and NextAttemptAt: the attempt under way (processing) or awaited after a
	// failed one (queued, until next_attempt_at).
	Attempt       int        `json:"attempt,omitempty"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
}

// receiptView is the audio's record: staged, then deleted and confirmed gone.
type receiptView struct {
	Stage       string     `json:"stage"`
	Bytes       int64      `json:"bytes"`
	SHA256      string     `json:"sha256"`
	StagedAt    time.Time  `json:"staged_at"`
	DeletedAt   *time.Time `json:"deleted_at"`
	ConfirmedAt *time.Time `json:"confirmed_at"`
}

func viewCall(c callscribe.Call) callView {
	v := callView{
		ID: c.ID.String(), Status: c.Status.Public(), ExternalID: c.ExternalID, Phone: c.Phone, Owner: c.OwnerEmail,
		Channels: c.Channels, DurationMS: c.DurationMS, StartedAt: c.StartedAt,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, Attempt: c.Attempt, NextAttemptAt: c.NextAttemptAt, RetryOf: c.RetryOf,
	}
	if v.Channels == nil {
		v.Channels = []string{}
	}
	if c.ErrorCode != "" {
		v.Error = &errorDetail{Code: c.ErrorCode, Message: c.ErrorMessage}
	}
	if c.Status == callscribe.CallCompleted {
		v.TranscriptURL = "/v1/calls/" + c.ID.String() + "/transcript"
	}
	switch {
	case c.Receipt != nil:
		r := c.Receipt
		v.Receipt = &receiptView{Stage: r.Stage, Bytes: r.Bytes, SHA256: r.SHA256, StagedAt: r.StagedAt, DeletedAt: &r.DeletedAt, ConfirmedAt: &r.ConfirmedAt}
	case c.Staging != nil:
		st := c.Staging
		v.Receipt = &receiptView{Stage: st.Stage, Bytes: st.Bytes, SHA256: st.SHA256, StagedAt: st.StagedAt}
	}
	return v
}

func (s *Server) getCall(w http.ResponseWriter, r *http.Request, key callscribe.APIKey) error {
	id, err := parseID(r)
	if err != nil {
		return err
	}
	c, err := s.cfg.Store.Call(r.Context(), key.OrgID, id)
	if err != nil {
		return err
	}
	// A blocked owner's calls are kept but not shown, as the list leaves them out. The
	// owner is looked up by id: an error names no one (an erased owner's email least).
	owner, err := s.cfg.Store.UserInOrg(r.Context(), key.OrgID, c.OwnerID)
	if callscribe.ErrorCode(err) == callscribe.ENOTFOUND {
		err = callscribe.Errorf(callscribe.ENOTFOUND, "no call %s", id)
	}
	if err != nil {
		return err
	}
	if owner.BlockedAt != nil {
		return callscribe.Errorf(callscribe.EBLOCKED, "the owner of call %s is blocked: their data is kept but not shown until they are unblocked", c.ID)
	}
	writeJSON(w, http.StatusOK, viewCall(c))
	return nil
}

// callList is a page of calls, newest first (with q: best match first); next_cursor
// fetches the next page, and is left out on the last one.
type callList struct {
	Calls      []callHitView `json:"calls"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

// callHitView is a listed call; with q, its rank and the segments that matched.
type callHitView struct {
	callView
	Rank     *float32  `json:"rank,omitempty"`
	HitCount *int      `json:"hit_count,omitempty"` // segments that match, of which hits shows the best
	Hits     []hitView `json:"hits,omitempty"`
}

// hitView is a matching segment: where it is, and the words around the match as plain
// text and as HTML (escaped, each match in <mark>).
type hitView struct {
	Segment     int    `json:"segment"` // from 1, as in PATCH …/transcript/segments/{n}
	StartMS     int64  `json:"start_ms"`
	Speaker     string `json:"speaker"`
	Snippet     string `json:"snippet"`
	SnippetHTML string `json:"snippet_html"`
}

// listParams are the query parameters of GET /v1/calls: any other is refused, so a
// client that sends one the API does not know is not answered as if it had filtered.
var listParams = []string{"q", "phone", "owner", "status", "from", "to", "external_id", "limit", "cursor"}

// maxQueryLen bounds a text query.
const maxQueryLen = 500

// listCalls lists or searches the organization's calls through the one storage method
// the pages call too (SearchCalls).
func (s *Server) listCalls(w http.ResponseWriter, r *http.Request, key callscribe.APIKey) error {
	ctx := r.Context()
	q := r.URL.Query()
	for name := range q {
		if !slices.Contains(listParams, name) {
			return callscribe.Errorf(callscribe.EINVALID, "unknown query parameter %q (known: %s)", name, strings.Join(listParams, ", "))
		}
	}
	f := callscribe.CallFilter{OrgID: key.OrgID, Limit: defaultListLimit}
	f.Q = strings.TrimSpace(q.Get("q"))
	if utf8.RuneCountInString(f.Q) > maxQueryLen {
		return callscribe.Errorf(callscribe.EINVALID, "q is longer than %d characters", maxQueryLen)
	}
	if v := q.Get("phone"); v != "" {
		p, err := callscribe.NormalizePhone(v)
		if err != nil {
			return callscribe.Errorf(callscribe.EINVALID, "phone: %s", safeMessage(err))
		}
		f.Phone = p
	}
	if v := q.Get("external_id"); v != "" {
		if len(v) > maxExternalIDLen {
			return callscribe.Errorf(callscribe.EINVALID, "external_id is longer than %d characters", maxExternalIDLen)
		}
		f.ExternalID = v
	}
	if v := q.Get("owner"); v != "" {
		u, err := s.cfg.Store.UserByEmail(ctx, key.OrgID, v)
		if callscribe.ErrorCode(err) == callscribe.ENOTFOUND {
			return callscribe.Errorf(callscribe.ENOTFOUND, "owner: no user with this email in your organization")
		}
		if err != nil {
			return err
		}
		f.OwnerID = &u.ID
	}
	if v := q.Get("status"); v != "" {
		st, err := callscribe.ParsePublicStatus(v)
		if err != nil {
			return err
		}
		f.Status = st
	}
	for _, p := range []struct {
		name string
		dst  **time.Time
		end  bool // a date alone means the end of that day (to is exclusive)
	}{{"from", &f.From, false}, {"to", &f.To, true}} {
		if v := q.Get(p.name); v != "" {
			t, err := callscribe.ParseRangeTime(v, p.end)
			if err != nil {
				return callscribe.Errorf(callscribe.EINVALID, "%s %q is not a date (2026-01-31) or an RFC 3339 time (2026-01-31T09:15:00+03:00)", p.name, v)
			}
			*p.dst = &t
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxListLimit {
			return callscribe.Errorf(callscribe.EINVALID, "limit %q is not a number from 1 to %d", v, maxListLimit)
		}
		f.Limit = n
	}
	if v := q.Get("cursor"); v != "" {
		c, ok := callscribe.ParseCallCursor(v)
		if !ok {
			return callscribe.Errorf(callscribe.EINVALID, "cursor %q is not a cursor this API gave out", v)
		}
		if c.Ranked != (f.Q != "") {
			return callscribe.Errorf(callscribe.EINVALID, "cursor %q belongs to another query: start again from the first page", v)
		}
		f.After = &c
	}
	// One call more than the page: only when it is there is there a next page.
	limit := f.Limit
	f.Limit++
	calls, err := s.cfg.Store.SearchCalls(ctx, f)
	if err != nil {
		return err
	}
	out := callList{}
	if len(calls) > limit {
		calls = calls[:limit]
		last := calls[limit-1]
		out.NextCursor = last.Cursor.Token()
	}
	out.Calls = make([]callHitView, len(calls))
	for i, c := range calls {
		v := callHitView{callView: viewCall(c.Call)}
		if f.Q != "" {
			v.Rank, v.HitCount, v.Hits = &c.Rank, &c.HitCount, []hitView{}
			for _, h := range c.Hits {
				v.Hits = append(v.Hits, hitView{Segment: h.Index + 1, StartMS: h.StartMS, Speaker: h.Speaker,
					Snippet: h.Snippet.Text(), SnippetHTML: string(h.Snippet.HTML())})
			}
			// Words of the transcript are shown: a read of it, audited before it is sent.
			if len(c.Hits) > 0 {
				if err := s.audit(r, key, callscribe.AuditEntry{Action: privacy.ActionTranscriptRead, ObjectType: "call",
					ObjectID: c.ID.String(), SubjectID: c.OwnerID, Detail: map[string]any{"via": "search"}}); err != nil {
					return err
				}
			}
		}
		out.Calls[i] = v
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// safeMessage is an application error's message, which carries nothing the client did
// not send; anything else is not repeated.
func safeMessage(err error) string {
	var ae *callscribe.Error
	if errors.As(err, &ae) {
		return ae.Message
	}
	return "not valid"
}

// transcriptView is the JSON form of a transcript.
type transcriptView struct {
	CallID     string               `json:"call_id"`
	Engine     string               `json:"engine"`
	DurationMS int64                `json:"duration_ms"`
	Channels   []string             `json:"channels"`
	Segments   []callscribe.Segment `json:"segments"`
	Text       string               `json:"text"`
	Summary    *callscribe.Summary  `json:"summary"`
	Truncated  bool                 `json:"truncated"`  // the recording was cut short: transcribed up to the cut
	Redactions map[string]int       `json:"redactions"` // personal data replaced, by type: counts, never values
	CreatedAt  time.Time            `json:"created_at"`
}

func (s *Server) getTranscript(w http.ResponseWriter, r *http.Request, key callscribe.APIKey) error {
	id, err := parseID(r)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "json"
	}
	if format != "json" && format != "txt" && format != "srt" && format != "vtt" {
		return callscribe.Errorf(callscribe.EINVALID, "format %q is not one of json, txt, srt, vtt", format)
	}
	c, err := s.cfg.Store.Call(r.Context(), key.OrgID, id)
	if err != nil {
		return err
	}
	switch c.Status {
	case callscribe.CallCompleted:
	case callscribe.CallDiscarded, callscribe.CallFailed:
		return callscribe.Errorf(callscribe.ENOTFOUND, "call %s has no transcript: it %s and nothing was stored", id, c.Status)
	default:
		return callscribe.Errorf(callscribe.ECONFLICT, "call %s is %s: its transcript is not ready yet", id, c.Status.Public())
	}
	t, err := s.cfg.Store.Transcript(r.Context(), id)
	if err == nil {
		err = s.audit(r, key, callscribe.AuditEntry{Action: privacy.ActionTranscriptRead,
			ObjectType: "call", ObjectID: id.String(), SubjectID: c.OwnerID})
	}
	if err != nil {
		return err
	}
	if t.Segments == nil {
		t.Segments = []callscribe.Segment{}
	}
	var b strings.Builder
	switch format {
	case "json":
		writeJSON(w, http.StatusOK, transcriptView{CallID: id.String(), Engine: t.Engine, DurationMS: t.DurationMS,
			Channels: t.Channels, Segments: t.Segments, Text: t.Text, Summary: t.Summary, Truncated: t.Truncated, Redactions: t.Redactions, CreatedAt: t.CreatedAt})
		return nil
	case "txt":
		pipeline.WriteText(&b, t)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	case "srt":
		pipeline.WriteSubRip(&b, t)
		w.Header().Set("Content-Type", "application/x-subrip; charset=utf-8")
	case "vtt":
		pipeline.WriteWebVTT(&b, t)
		w.Header().Set("Content-Type", "text/vtt; charset=utf-8")
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(b.String()))
	return nil
}
