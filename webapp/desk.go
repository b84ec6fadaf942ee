package webapp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"callscribe"
	"callscribe/privacy"

	"github.com/google/uuid"
)

// consentRow is a purpose on the privacy desk: in force or not, under which version.
type consentRow struct {
	Purpose callscribe.Purpose
	InForce *callscribe.Consent // the grant in force; nil: not in force
}

type requestRow struct {
	callscribe.Request
	Overdue bool
}

type deskPage struct {
	Consents []consentRow
	Events   []callscribe.ConsentEvent
	Requests []requestRow
	Kinds    []callscribe.RequestKind
	Audit    []auditRow
	Who      map[string]string // the audit entries' actors, named
	Actions  map[string]string // the audit entries' actions, in words where the catalogue has them
	Version  string
}

// auditRow is an audit entry on the desk, its object in words and, for a call or one of
// its turns, a link to it.
type auditRow struct {
	callscribe.AuditEntry
	Object string
	Link   string
}

// auditObject words what entry e is about: "звонок 5b1f753e" (the id's first eight
// characters tell the person's calls apart; the link opens the call), "реплика 2
// звонка 5b1f753e", "аккаунт"; an object of another type is shown as recorded.
func auditObject(lang string, e callscribe.AuditEntry) auditRow {
	row := auditRow{AuditEntry: e, Object: e.ObjectType + " " + e.ObjectID}
	short := func(id string) string { return id[:min(8, len(id))] }
	switch e.ObjectType {
	case "call":
		if _, err := uuid.Parse(e.ObjectID); err == nil {
			row.Object, row.Link = translate(lang, "desk.object.call", short(e.ObjectID)), "/calls/"+e.ObjectID
		}
	case "segment":
		call, n, _ := strings.Cut(e.ObjectID, "/")
		if _, err := uuid.Parse(call); err == nil {
			if turn, err := strconv.Atoi(n); err == nil && turn > 0 {
				row.Object, row.Link = translate(lang, "desk.object.segment", turn, short(call)), "/calls/"+call+"#seg-"+n
			}
		}
	case "user", "organization":
		row.Object = translate(lang, "desk.object."+e.ObjectType)
	}
	return row
}

// maxAuditShown bounds the audit trail on the desk: the newest entries.
const maxAuditShown = 100

// deskPage is the user's privacy desk: their consents and their history, their
// requests on the business-day clock, their export, and the audit trail of their data.
func (s *Server) deskPage(w http.ResponseWriter, r *http.Request, v *visit) error {
	ctx := r.Context()
	rd := s.cfg.Readers
	if rd.Consents == nil || rd.Requests == nil {
		return callscribe.Errorf(callscribe.ENOTFOUND, "no such page")
	}
	history, err := rd.Consents.History(ctx, v.Account.ID)
	if err != nil {
		return err
	}
	events, err := rd.Consents.Events(ctx, v.Account.ID)
	if err != nil {
		return err
	}
	page := deskPage{Events: events, Kinds: callscribe.RequestKinds, Version: rd.Consents.PolicyVersion}
	slices.Reverse(page.Events) // newest first
	for _, p := range callscribe.Purposes {
		row := consentRow{Purpose: p}
		for i, c := range history {
			if c.Purpose == p && c.WithdrawnAt == nil {
				row.InForce = &history[i]
				break
			}
		}
		page.Consents = append(page.Consents, row)
	}
	reqs, err := rd.Requests.List(ctx, privacy.ListOptions{OrgID: v.Account.OrgID, UserID: v.Account.ID})
	if err != nil {
		return err
	}
	for _, q := range reqs {
		page.Requests = append(page.Requests, requestRow{q, rd.Requests.Overdue(q)})
	}
	sort.SliceStable(page.Requests, func(i, j int) bool { return page.Requests[i].ReceivedAt.After(page.Requests[j].ReceivedAt) })
	audit, err := rd.Store.AuditAbout(ctx, v.Account.ID)
	if err != nil {
		return err
	}
	slices.Reverse(audit)
	if len(audit) > maxAuditShown {
		audit = audit[:maxAuditShown]
	}
	for _, e := range audit {
		page.Audit = append(page.Audit, auditObject(v.Lang, e))
	}
	var actors []string
	for _, e := range audit {
		actors = append(actors, e.Actor)
	}
	if page.Who, err = s.actorNames(ctx, v, actors); err != nil {
		return err
	}
	page.Actions = map[string]string{}
	for _, e := range audit {
		page.Actions[e.Action] = e.Action
		if _, ok := catalogue[v.Lang]["desk.audit."+e.Action]; ok {
			page.Actions[e.Action] = translate(v.Lang, "desk.audit."+e.Action)
		}
	}
	s.render(w, r, v, http.StatusOK, "desk", page)
	return nil
}

// deskConsent grants or withdraws one purpose through privacy.Consents over channel
// web. A withdrawal of transcription stops the user's calls in flight and deletes their
// audio at once, as the API's withdrawal does (the pipeline's DiscardQueued).
func (s *Server) deskConsent(w http.ResponseWriter, r *http.Request, v *visit) error {
	ctx := r.Context()
	rd := s.cfg.Readers
	if rd.Consents == nil {
		return callscribe.Errorf(callscribe.ENOTFOUND, "no such page")
	}
	p, err := callscribe.ParsePurpose(r.PostFormValue("purpose"))
	if err != nil {
		return err
	}
	consents := *rd.Consents
	consents.Actor = userActor(v) // each change audited as the user's own
	done := ""
	switch r.PostFormValue("action") {
	case "grant":
		_, err = consents.Grant(ctx, v.Account.ID, []callscribe.Purpose{p}, callscribe.ConsentViaWeb)
		done = "desk_granted"
	case "withdraw":
		_, err = consents.Withdraw(ctx, v.Account.ID, []callscribe.Purpose{p}, callscribe.ConsentViaWeb)
		done = "desk_withdrawn"
		if err == nil && p == callscribe.PurposeTranscription {
			done = "desk_withdrawn_transcription"
			if rd.Discarder != nil {
				var n int
				n, err = rd.Discarder.DiscardQueued(ctx, v.Account.ID)
				if n > 0 {
					s.log.InfoContext(ctx, "queued calls discarded on withdrawal", "user_id", v.Account.ID, "calls", n)
				}
			}
		}
	default:
		return callscribe.Errorf(callscribe.EINVALID, "the action is grant or withdraw")
	}
	if err != nil {
		return err
	}
	if done == "desk_withdrawn_transcription" {
		// The database ended every session of the user's with the withdrawal (migration
		// 00012): the page says so on the way to signing in again.
		s.clearCookie(w, "session_id")
		http.Redirect(w, r, "/signin?done="+done+"&next=%2Fprivacy", http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, "/privacy?done="+done+"#consents", http.StatusSeeOther)
	return nil
}

// deskRequest files a data-subject request of the user's own through privacy.Requests.
func (s *Server) deskRequest(w http.ResponseWriter, r *http.Request, v *visit) error {
	rd := s.cfg.Readers
	if rd.Requests == nil {
		return callscribe.Errorf(callscribe.ENOTFOUND, "no such page")
	}
	kind, err := callscribe.ParseRequestKind(r.PostFormValue("kind"))
	if err != nil {
		return err
	}
	notes := strings.TrimSpace(r.PostFormValue("notes"))
	if len(notes) > 2000 {
		return callscribe.Errorf(callscribe.EINVALID, "the notes are longer than 2000 bytes")
	}
	if _, err := rd.Requests.Add(r.Context(), privacy.NewRequest{
		OrgID: v.Account.OrgID, UserID: v.Account.ID, Kind: kind, Notes: notes, Actor: userActor(v)}); err != nil {
		return err
	}
	http.Redirect(w, r, "/privacy?done=desk_request_filed#requests", http.StatusSeeOther)
	return nil
}

// export writes the user's access export (privacy.Exporter), audited before a byte of
// it is sent, as the API's export is.
func (s *Server) export(r *http.Request, v *visit, format string) ([]byte, error) {
	rd := s.cfg.Readers
	if rd.Exporter == nil {
		return nil, callscribe.Errorf(callscribe.ENOTFOUND, "no such page")
	}
	ctx := r.Context()
	if err := s.audit(ctx, v, callscribe.AuditEntry{Action: privacy.ActionExport, ObjectType: "user",
		ObjectID: v.Account.ID.String(), SubjectID: v.Account.ID, Detail: map[string]any{"via": "web", "format": format}}); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := rd.Exporter.Export(ctx, &buf, v.Account.ID); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (s *Server) deskExportJSON(w http.ResponseWriter, r *http.Request, v *visit) error {
	b, err := s.export(r, v, "json")
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="export-`+v.Account.ID.String()+`.json"`)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	return nil
}

// node is a value of the export as the printable page shows it: a scalar, or a list or
// an object of nodes.
type node struct {
	Key      string
	Value    string
	List     bool
	Children []node
}

func toNode(key string, x any) node {
	n := node{Key: key}
	switch x := x.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			n.Children = append(n.Children, toNode(k, x[k]))
		}
		if len(keys) == 0 {
			n.Value = "—"
		}
	case []any:
		n.List = true
		for i, e := range x {
			n.Children = append(n.Children, toNode(fmt.Sprint(i+1), e))
		}
		if len(x) == 0 {
			n.Value = "—"
			n.List = false
		}
	case nil:
		n.Value = "—"
	default:
		n.Value = fmt.Sprint(x)
	}
	return n
}

// deskExportHTML is the same export as a readable page, made for printing (to PDF).
func (s *Server) deskExportHTML(w http.ResponseWriter, r *http.Request, v *visit) error {
	b, err := s.export(r, v, "html")
	if err != nil {
		return err
	}
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return callscribe.Wrap(callscribe.EINTERNAL, err, "read the export")
	}
	s.render(w, r, v, http.StatusOK, "export", toNode("", doc))
	return nil
}
