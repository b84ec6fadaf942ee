package web

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

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
		ID: c.ID.String(), Status: apiStatus(c.Status), ExternalID: c.ExternalID, Owner: c.OwnerEmail,
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

// callList is a page of calls, newest first; next_cursor fetches the next page, and is
// left out on the last one.
type callList struct {
	Calls      []callView `json:"calls"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

// listParams are the query parameters of GET /v1/calls: any other is refused, so a
// client that sends one the API does not know (a search, say) is not answered as if it
// had filtered.
var listParams = map[string]bool{"owner": true, "status": true, "from": true, "to": true, "limit": true, "cursor": true}

func (s *Server) listCalls(w http.ResponseWriter, r *http.Request, key callscribe.APIKey) error {
	ctx := r.Context()
	q := r.URL.Query()
	for name := range q {
		if !listParams[name] {
			return callscribe.Errorf(callscribe.EINVALID, "unknown query parameter %q (known: owner, status, from, to, limit, cursor)", name)
		}
	}
	f := callscribe.CallFilter{OrgID: key.OrgID, Limit: defaultListLimit}
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
		switch st := callscribe.CallStatus(v); st {
		case "queued":
			f.Status = callscribe.CallStaged
		case callscribe.CallProcessing, callscribe.CallCompleted, callscribe.CallDiscarded, callscribe.CallFailed:
			f.Status = st
		default:
			return callscribe.Errorf(callscribe.EINVALID, "status %q is not one of queued, processing, completed, discarded, failed", v)
		}
	}
	for name, dst := range map[string]**time.Time{"from": &f.From, "to": &f.To} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return callscribe.Errorf(callscribe.EINVALID, "%s %q is not an RFC 3339 time such as 2026-01-31T09:15:00Z", name, v)
			}
			*dst = &t
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
		c, err := decodeCursor(v)
		if err != nil {
			return err
		}
		f.After = &c
	}
	// One call more than the page: only when it is there is there a next page.
	limit := f.Limit
	f.Limit++
	calls, err := s.cfg.Store.Calls(ctx, f)
	if err != nil {
		return err
	}
	out := callList{}
	if len(calls) > limit {
		calls = calls[:limit]
		last := calls[limit-1]
		out.NextCursor = encodeCursor(callscribe.CallCursor{CreatedAt: last.CreatedAt, ID: last.ID})
	}
	out.Calls = make([]callView, len(calls))
	for i, c := range calls {
		out.Calls[i] = viewCall(c)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// A cursor is opaque to clients: the last call's creation time and id.
func encodeCursor(c callscribe.CallCursor) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d_%s", c.CreatedAt.UnixMicro(), c.ID))
}

func decodeCursor(s string) (callscribe.CallCursor, error) {
	bad := callscribe.Errorf(callscribe.EINVALID, "cursor %q is not a cursor this API gave out", s)
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return callscribe.CallCursor{}, bad
	}
	at, id, ok := strings.Cut(string(b), "_")
	us, err1 := strconv.ParseInt(at, 10, 64)
	uid, err2 := uuid.Parse(id)
	if !ok || err1 != nil || err2 != nil {
		return callscribe.CallCursor{}, bad
	}
	return callscribe.CallCursor{CreatedAt: time.UnixMicro(us), ID: uid}, nil
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
		return callscribe.Errorf(callscribe.ECONFLICT, "call %s is %s: its transcript is not ready yet", id, apiStatus(c.Status))
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
		for i, sg := range t.Segments {
			fmt.Fprintf(&b, "%d\n%s --> %s\n%s: %s\n\n", i+1, timestamp(sg.StartMS, ','), timestamp(sg.EndMS, ','), sg.Speaker, sg.Text)
		}
		w.Header().Set("Content-Type", "application/x-subrip; charset=utf-8")
	case "vtt":
		b.WriteString("WEBVTT\n\n")
		for _, sg := range t.Segments {
			fmt.Fprintf(&b, "%s --> %s\n<v %s>%s\n\n", timestamp(sg.StartMS, '.'), timestamp(sg.EndMS, '.'), sg.Speaker, sg.Text)
		}
		w.Header().Set("Content-Type", "text/vtt; charset=utf-8")
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(b.String()))
	return nil
}

// timestamp formats milliseconds as HH:MM:SS,mmm (SubRip, sep ',') or HH:MM:SS.mmm
// (WebVTT, sep '.').
func timestamp(ms int64, sep byte) string {
	return fmt.Sprintf("%02d:%02d:%02d%c%03d", ms/3600000, ms/60000%60, ms/1000%60, sep, ms%1000)
}
