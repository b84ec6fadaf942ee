package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"callscribe"
	"callscribe/privacy"
)

// maxJSONBytes bounds the JSON body of a privacy call.
const maxJSONBytes = 64 << 10

// readJSON decodes a small JSON body into v, refusing unknown fields.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return callscribe.Errorf(callscribe.EINVALID, "the body is not the JSON expected: %v", err)
	}
	return plainJSON(v)
}

// actor names who acted through the API: the key, never a person's name.
func actor(key callscribe.APIKey) string { return "api:" + key.ID.String() }

// pathUser is the user the path names, in the key's organization.
func (s *Server) pathUser(r *http.Request, key callscribe.APIKey) (callscribe.User, error) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return callscribe.User{}, callscribe.Errorf(callscribe.ENOTFOUND, "no user %q", r.PathValue("id"))
	}
	return s.cfg.Store.UserInOrg(r.Context(), key.OrgID, id)
}

type consentView struct {
	Purpose       callscribe.Purpose `json:"purpose"`
	PolicyVersion string             `json:"policy_version"`
	GrantedAt     time.Time          `json:"granted_at"`
	WithdrawnAt   *time.Time         `json:"withdrawn_at"`
}

type consentsView struct {
	UserID   uuid.UUID                 `json:"user_id"`
	InForce  []callscribe.Purpose      `json:"in_force"`
	Consents []consentView             `json:"consents"` // every grant, newest first
	Events   []callscribe.ConsentEvent `json:"events"`   // every grant and withdrawal, oldest first
}

func (s *Server) getConsents(w http.ResponseWriter, r *http.Request, key callscribe.APIKey) error {
	u, err := s.pathUser(r, key)
	if err != nil {
		return err
	}
	v, err := s.consents(r, u.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) consents(r *http.Request, userID uuid.UUID) (consentsView, error) {
	history, err := s.cfg.Consents.History(r.Context(), userID)
	if err != nil {
		return consentsView{}, err
	}
	events, err := s.cfg.Consents.Events(r.Context(), userID)
	if err != nil {
		return consentsView{}, err
	}
	v := consentsView{UserID: userID, InForce: []callscribe.Purpose{}, Consents: []consentView{}, Events: events}
	if v.Events == nil {
		v.Events = []callscribe.ConsentEvent{}
	}
	for _, c := range history {
		v.Consents = append(v.Consents, consentView{c.Purpose, c.PolicyVersion, c.GrantedAt, c.WithdrawnAt})
		if c.WithdrawnAt == nil {
			v.InForce = append(v.InForce, c.Purpose)
		}
	}
	return v, nil
}

// postConsents grants or withdraws consents through channel api:
// {"action": "grant"|"withdraw", "purposes": ["transcription", ...]}. A withdrawal of
// transcription stops the user's calls in flight as any withdrawal does.
func (s *Server) postConsents(w http.ResponseWriter, r *http.Request, key callscribe.APIKey) error {
	u, err := s.pathUser(r, key)
	if err != nil {
		return err
	}
	var body struct {
		Action   string   `json:"action"`
		Purposes []string `json:"purposes"`
	}
	if err := readJSON(w, r, &body); err != nil {
		return err
	}
	purposes, err := privacy.ParsePurposes(strings.Join(body.Purposes, ","))
	if err != nil {
		return err
	}
	consents := *s.cfg.Consents
	consents.Actor = actor(key) // each change audited as this key's
	switch body.Action {
	case "grant":
		_, err = consents.Grant(r.Context(), u.ID, purposes, callscribe.ConsentViaAPI)
	case "withdraw":
		_, err = consents.Withdraw(r.Context(), u.ID, purposes, callscribe.ConsentViaAPI)
		if err == nil && slices.Contains(purposes, callscribe.PurposeTranscription) {
			err = s.discardQueued(r, u.ID)
		}
	default:
		err = callscribe.Errorf(callscribe.EINVALID, "action %q is not grant or withdraw", body.Action)
	}
	if err != nil {
		return err
	}
	v, err := s.consents(r, u.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// discardQueued ends the user's queued calls at once after a withdrawal of
// transcription, their audio deleted and confirmed (calls being recognised are stopped by
// the pipeline's consent watcher).
func (s *Server) discardQueued(r *http.Request, userID uuid.UUID) error {
	if s.cfg.Ingester == nil {
		return nil
	}
	n, err := s.cfg.Ingester.DiscardQueued(r.Context(), userID)
	if n > 0 {
		s.log.InfoContext(r.Context(), "queued calls discarded on withdrawal", "user_id", userID, "calls", n)
	}
	return err
}

// requestView is a request as the API shows it, with its history when asked one by one.
type requestView struct {
	callscribe.Request
	Overdue bool                      `json:"overdue"`
	Events  []callscribe.RequestEvent `json:"events,omitempty"`
}

// postRequest records a data-subject request:
// {"kind", "user_id" or "email", "received": "YYYY-MM-DD" (Moscow; default now), "notes"}.
func (s *Server) postRequest(w http.ResponseWriter, r *http.Request, key callscribe.APIKey) error {
	var body struct {
		Kind     string `json:"kind"`
		UserID   string `json:"user_id"`
		Email    string `json:"email"`
		Received string `json:"received"`
		Notes    string `json:"notes"`
	}
	if err := readJSON(w, r, &body); err != nil {
		return err
	}
	kind, err := callscribe.ParseRequestKind(body.Kind)
	if err != nil {
		return err
	}
	var u callscribe.User
	switch {
	case body.UserID != "" && body.Email != "":
		err = callscribe.Errorf(callscribe.EINVALID, "name the subject by user_id or by email, not both")
	case body.UserID != "":
		id, perr := uuid.Parse(body.UserID)
		if perr != nil {
			err = callscribe.Errorf(callscribe.ENOTFOUND, "no user %q", body.UserID)
			break
		}
		u, err = s.cfg.Store.UserInOrg(r.Context(), key.OrgID, id)
	case body.Email != "":
		u, err = s.cfg.Store.UserByEmail(r.Context(), key.OrgID, body.Email)
	default:
		err = callscribe.Errorf(callscribe.EINVALID, "the subject is required: user_id or email")
	}
	if err != nil {
		return err
	}
	var received time.Time
	if body.Received != "" {
		d, err := callscribe.ParseDate(body.Received)
		if err != nil {
			return callscribe.Errorf(callscribe.EINVALID, "received: %s", callscribe.ErrorMessage(err))
		}
		received = d.In(privacy.Moscow)
	}
	req, err := s.cfg.Requests.Add(r.Context(), privacy.NewRequest{
		OrgID: key.OrgID, UserID: u.ID, Kind: kind, ReceivedAt: received, Notes: body.Notes, Actor: actor(key)})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, s.viewRequest(req, nil))
	return nil
}

func (s *Server) viewRequest(req callscribe.Request, events []callscribe.RequestEvent) requestView {
	return requestView{Request: req, Overdue: s.cfg.Requests.Overdue(req), Events: events}
}

// listRequests lists the organization's requests: ?status=&due_within=3d&overdue=true.
func (s *Server) listRequests(w http.ResponseWriter, r *http.Request, key callscribe.APIKey) error {
	q := r.URL.Query()
	o := privacy.ListOptions{OrgID: key.OrgID, Overdue: q.Get("overdue") == "true"}
	if v := q.Get("status"); v != "" {
		st, err := callscribe.ParseRequestStatus(v)
		if err != nil {
			return err
		}
		o.Status = st
	}
	if v := q.Get("due_within"); v != "" {
		n, err := privacy.ParseDays(v)
		if err != nil {
			return callscribe.Errorf(callscribe.EINVALID, "due_within: %s", callscribe.ErrorMessage(err))
		}
		o.DueWithin = n
	}
	list, err := s.cfg.Requests.List(r.Context(), o)
	if err != nil {
		return err
	}
	out := []requestView{}
	for _, req := range list {
		out = append(out, s.viewRequest(req, nil))
	}
	writeJSON(w, http.StatusOK, map[string]any{"requests": out})
	return nil
}

// pathRequest is the request the path names, in the key's organization.
func (s *Server) pathRequest(r *http.Request, key callscribe.APIKey) (callscribe.Request, error) {
	notFound := callscribe.Errorf(callscribe.ENOTFOUND, "no request %q", r.PathValue("id"))
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return callscribe.Request{}, notFound
	}
	req, err := s.cfg.Requests.Get(r.Context(), id)
	if callscribe.ErrorCode(err) == callscribe.ENOTFOUND || (err == nil && req.OrgID != key.OrgID) {
		return callscribe.Request{}, notFound
	}
	return req, err
}

func (s *Server) getRequest(w http.ResponseWriter, r *http.Request, key callscribe.APIKey) error {
	req, err := s.pathRequest(r, key)
	if err != nil {
		return err
	}
	events, err := s.cfg.Requests.Events(r.Context(), req.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.viewRequest(req, events))
	return nil
}

// transition runs one step of a request's life on the request the path names.
func (s *Server) transition(w http.ResponseWriter, r *http.Request, key callscribe.APIKey, body any,
	do func(id uuid.UUID) (callscribe.Request, error)) error {
	req, err := s.pathRequest(r, key)
	if err != nil {
		return err
	}
	if body != nil {
		if err := readJSON(w, r, body); err != nil {
			return err
		}
	}
	req, err = do(req.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.viewRequest(req, nil))
	return nil
}

func (s *Server) startRequest(w http.ResponseWriter, r *http.Request, key callscribe.APIKey) error {
	return s.transition(w, r, key, nil, func(id uuid.UUID) (callscribe.Request, error) {
		return s.cfg.Requests.Start(r.Context(), id, actor(key))
	})
}

// extendRequest: {"reason" (required), "days" (1–5, default 5), "notice"}.
func (s *Server) extendRequest(w http.ResponseWriter, r *http.Request, key callscribe.APIKey) error {
	var body struct {
		Reason string `json:"reason"`
		Days   int    `json:"days"`
		Notice string `json:"notice"`
	}
	return s.transition(w, r, key, &body, func(id uuid.UUID) (callscribe.Request, error) {
		return s.cfg.Requests.Extend(r.Context(), id, privacy.Extension{
			Days: body.Days, Reason: body.Reason, Notice: body.Notice, Actor: actor(key)})
	})
}

// closeRequest: {"reject": true, "reason" (required to reject), "notes"}.
func (s *Server) closeRequest(w http.ResponseWriter, r *http.Request, key callscribe.APIKey) error {
	var body struct {
		Reject bool   `json:"reject"`
		Reason string `json:"reason"`
		Notes  string `json:"notes"`
	}
	return s.transition(w, r, key, &body, func(id uuid.UUID) (callscribe.Request, error) {
		req, err := s.cfg.Requests.Close(r.Context(), id, privacy.Closing{
			Reject: body.Reject, Reason: body.Reason, Notes: body.Notes, Actor: actor(key), Channel: callscribe.ConsentViaAPI})
		if err == nil && req.Kind == callscribe.RequestWithdrawal && req.Status == callscribe.RequestCompleted {
			err = s.discardQueued(r, req.UserID) // every consent was withdrawn
		}
		return req, err
	})
}

// audit records e as done by the key, in its organization.
func (s *Server) audit(r *http.Request, key callscribe.APIKey, e callscribe.AuditEntry) error {
	e.Actor, e.OrgID = actor(key), key.OrgID
	return (&privacy.Audit{}).Record(r.Context(), s.cfg.AuditLog, e)
}

// exportUser answers an access request: everything held about the user, as JSON. The
// export is audited before a byte of it is sent.
func (s *Server) exportUser(w http.ResponseWriter, r *http.Request, key callscribe.APIKey) error {
	u, err := s.pathUser(r, key)
	if err == nil {
		err = s.audit(r, key, callscribe.AuditEntry{Action: privacy.ActionExport, ObjectType: "user",
			ObjectID: u.ID.String(), SubjectID: u.ID})
	}
	if err != nil {
		return err
	}
	var buf bytes.Buffer // bounded by one user's data; an error can still become a clean 500
	if err := s.cfg.Exporter.Export(r.Context(), &buf, u.ID); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="export-`+u.ID.String()+`.json"`)
	w.WriteHeader(http.StatusOK)
	_, _ = buf.WriteTo(w)
	return nil
}

// editSegment rectifies segment n (from 1, as the transcript lists them):
// {"text": "...", "speaker": "..."} (either or both).
func (s *Server) editSegment(w http.ResponseWriter, r *http.Request, key callscribe.APIKey) error {
	id, err := parseID(r)
	if err != nil {
		return err
	}
	if _, err := s.cfg.Store.Call(r.Context(), key.OrgID, id); err != nil {
		return err
	}
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 {
		return callscribe.Errorf(callscribe.EINVALID, "segment %q is not a number from 1", r.PathValue("n"))
	}
	var body struct {
		Text    *string `json:"text"`
		Speaker *string `json:"speaker"`
	}
	if err := readJSON(w, r, &body); err != nil {
		return err
	}
	if body.Text == nil && body.Speaker == nil {
		return callscribe.Errorf(callscribe.EINVALID, "nothing to correct: give text, speaker or both")
	}
	c, err := s.cfg.Editor.EditSegment(r.Context(), id, n-1, body.Text, body.Speaker, actor(key))
	if err != nil {
		return err
	}
	// summary: none, unchanged, regenerated, or stale (kept, written from the old words).
	writeJSON(w, http.StatusOK, map[string]any{"call_id": id, "segment": n, "corrected": len(c.Rectifications), "summary": c.Summary})
	return nil
}
