package privacy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"

	"callscribe"
)

// ExportStore is what an access export reads.
type ExportStore interface {
	UserByID(ctx context.Context, id uuid.UUID) (callscribe.User, error)
	Consents(ctx context.Context, userID uuid.UUID) ([]callscribe.Consent, error)
	ConsentEvents(ctx context.Context, userID uuid.UUID) ([]callscribe.ConsentEvent, error)
	Requests(ctx context.Context, f callscribe.RequestFilter) ([]callscribe.Request, error)
	RequestEvents(ctx context.Context, id uuid.UUID) ([]callscribe.RequestEvent, error)
	CallsOf(ctx context.Context, userID uuid.UUID) ([]callscribe.Call, error)
	Transcript(ctx context.Context, callID uuid.UUID) (callscribe.Transcript, error)
	Rectifications(ctx context.Context, userID uuid.UUID) ([]callscribe.Rectification, error)
	AuditAbout(ctx context.Context, subjectID uuid.UUID) ([]callscribe.AuditEntry, error)
	// AccountData is what the user's account on the web holds; nil without an account.
	AccountData(ctx context.Context, userID uuid.UUID) (*callscribe.AccountData, error)
	NoticeDeliveries(ctx context.Context, f callscribe.NoticeDeliveryFilter) ([]callscribe.NoticeDelivery, error)
	NoticeChoices(ctx context.Context, userID uuid.UUID) (map[callscribe.NoticeChannel]map[callscribe.NoticeKind]bool, error)
}

// Exporter writes everything held about a user, as one JSON document: the answer to an
// access request. The document's keys are snake_case and fixed: README ("The access
// export") lists every one, and a test holds the two together. Instants are UTC, RFC
// 3339; an absent value is null, never a missing key.
type Exporter struct {
	Store ExportStore
	Now   func() time.Time
}

// The export's document. Every type here is the export's own, so that a field added to
// a domain type never reaches a subject's export unnamed and undocumented.
type (
	exportDoc struct {
		Format         string                `json:"format"`
		ExportedAt     time.Time             `json:"exported_at"`
		Profile        exportProfile         `json:"profile"`
		Account        *exportAccount        `json:"account"`
		Consents       []exportConsent       `json:"consents"`
		ConsentEvents  []exportConsentEvent  `json:"consent_events"`
		Requests       []exportRequest       `json:"requests"`
		Calls          []exportCall          `json:"calls"`
		Rectifications []exportRectification `json:"rectifications"`
		Audit          []exportAudit         `json:"audit"`
		// Notices: each message sent (or tried) to the person, by id and outcome — never
		// its text, which is not kept — and the notice choices they made.
		Notices           []exportNotice     `json:"notices"`
		NoticePreferences []exportNoticePref `json:"notice_preferences"`
	}
	exportNotice struct {
		ID         uuid.UUID                `json:"id"`
		Event      callscribe.NoticeKind    `json:"event"`
		Channel    callscribe.NoticeChannel `json:"channel"`
		State      string                   `json:"state"`
		Attempts   int                      `json:"attempts"`
		LastError  string                   `json:"last_error"`
		CallID     *uuid.UUID               `json:"call_id"`
		RequestID  *uuid.UUID               `json:"request_id"`
		IncidentID *uuid.UUID               `json:"incident_id"`
		Detail     string                   `json:"detail"`
		CreatedAt  time.Time                `json:"created_at"`
		FinishedAt *time.Time               `json:"finished_at"`
	}
	exportNoticePref struct {
		Event   callscribe.NoticeKind    `json:"event"`
		Channel callscribe.NoticeChannel `json:"channel"`
		Enabled bool                     `json:"enabled"`
	}
	exportProfile struct {
		ID             uuid.UUID  `json:"id"`
		OrganizationID uuid.UUID  `json:"organization_id"`
		Email          string     `json:"email"`
		Surname        string     `json:"surname"`
		FirstName      string     `json:"first_name"`
		Patronymic     string     `json:"patronymic"`
		Phone          string     `json:"phone"`
		CreatedAt      time.Time  `json:"created_at"`
		BlockedAt      *time.Time `json:"blocked_at"`
	}
	exportAccount struct {
		Role             string                  `json:"role"`
		Language         string                  `json:"language"`
		EmailVerifiedAt  *time.Time              `json:"email_verified_at"`
		CreatedAt        time.Time               `json:"created_at"`
		Identities       []exportIdentity        `json:"identities"`
		Sessions         []exportSession         `json:"sessions"`
		AgreementAnswers []exportAgreementAnswer `json:"agreement_answers"`
	}
	exportIdentity struct {
		Provider  string    `json:"provider"`
		Subject   string    `json:"subject"`
		Email     string    `json:"email"`
		Surname   string    `json:"surname"`
		FirstName string    `json:"first_name"`
		LinkedAt  time.Time `json:"linked_at"`
	}
	exportSession struct {
		CreatedAt  time.Time `json:"created_at"`
		LastSeenAt time.Time `json:"last_seen_at"`
		ExpiresAt  time.Time `json:"expires_at"`
		UserAgent  string    `json:"user_agent"`
		Address    string    `json:"address"`
	}
	exportAgreementAnswer struct {
		Version string                    `json:"version"`
		Action  string                    `json:"action"`
		Channel callscribe.ConsentChannel `json:"channel"`
		At      time.Time                 `json:"at"`
	}
	exportConsent struct {
		Purpose       callscribe.Purpose `json:"purpose"`
		PolicyVersion string             `json:"policy_version"`
		GrantedAt     time.Time          `json:"granted_at"`
		WithdrawnAt   *time.Time         `json:"withdrawn_at"`
	}
	exportConsentEvent struct {
		Purpose       callscribe.Purpose        `json:"purpose"`
		Action        callscribe.ConsentAction  `json:"action"`
		PolicyVersion string                    `json:"policy_version"`
		Channel       callscribe.ConsentChannel `json:"channel"`
		At            time.Time                 `json:"at"`
	}
	exportRequest struct {
		ID              uuid.UUID                `json:"id"`
		Kind            callscribe.RequestKind   `json:"kind"`
		Status          callscribe.RequestStatus `json:"status"`
		ReceivedAt      time.Time                `json:"received_at"`
		DueAt           callscribe.Date          `json:"due_at"`
		ExtendedDueAt   *callscribe.Date         `json:"extended_due_at"`
		ExtensionReason string                   `json:"extension_reason"`
		NoticeText      string                   `json:"notice_text"`
		NoticeAt        *time.Time               `json:"notice_at"`
		Reason          string                   `json:"reason"`
		Notes           string                   `json:"notes"`
		ClosedAt        *time.Time               `json:"closed_at"`
		Events          []exportRequestEvent     `json:"events"`
	}
	exportRequestEvent struct {
		Action string                   `json:"action"`
		Status callscribe.RequestStatus `json:"status"`
		Actor  string                   `json:"actor"`
		Note   string                   `json:"note"`
		At     time.Time                `json:"at"`
	}
	exportCall struct {
		ID                   uuid.UUID         `json:"id"`
		OrganizationID       uuid.UUID         `json:"organization_id"`
		ExternalID           string            `json:"external_id"`
		Status               string            `json:"status"`
		Channels             []string          `json:"channels"`
		DurationMS           *int64            `json:"duration_ms"`
		StartedAt            *time.Time        `json:"started_at"`
		CreatedAt            time.Time         `json:"created_at"`
		UpdatedAt            time.Time         `json:"updated_at"`
		ErrorCode            string            `json:"error_code"`
		ErrorMessage         string            `json:"error_message"`
		Transcript           *exportTranscript `json:"transcript"`
		AudioDeletionReceipt *exportReceipt    `json:"audio_deletion_receipt"`
	}
	exportTranscript struct {
		Engine    string          `json:"engine"`
		Text      string          `json:"text"`
		CreatedAt time.Time       `json:"created_at"`
		Segments  []exportSegment `json:"segments"`
		Summary   *exportSummary  `json:"summary"`
		// Truncated: the recording was cut short. Redactions: how many entities of each
		// type were redacted before anything was stored (counts, never values).
		Truncated  bool           `json:"truncated"`
		Redactions map[string]int `json:"redactions"`
	}
	exportSegment struct {
		Channel    int     `json:"channel"`
		Speaker    string  `json:"speaker"`
		StartMS    int64   `json:"start_ms"`
		EndMS      int64   `json:"end_ms"`
		Text       string  `json:"text"`
		Confidence float64 `json:"confidence"`
	}
	exportSummary struct {
		Engine string `json:"engine"`
		Text   string `json:"text"`
		Stale  bool   `json:"stale"`
	}
	exportReceipt struct {
		Stage       string    `json:"stage"`
		Bytes       int64     `json:"bytes"`
		SHA256      string    `json:"sha256"`
		StagedAt    time.Time `json:"staged_at"`
		DeletedAt   time.Time `json:"deleted_at"`
		ConfirmedAt time.Time `json:"confirmed_at"`
	}
	exportRectification struct {
		At         time.Time  `json:"at"`
		Actor      string     `json:"actor"`
		CallID     *uuid.UUID `json:"call_id"`
		ObjectType string     `json:"object_type"`
		ObjectID   string     `json:"object_id"`
		Field      string     `json:"field"`
		Before     string     `json:"before"`
		After      string     `json:"after"`
	}
	exportAudit struct {
		ID         int64          `json:"id"`
		At         time.Time      `json:"at"`
		Actor      string         `json:"actor"`
		Action     string         `json:"action"`
		ObjectType string         `json:"object_type"`
		ObjectID   string         `json:"object_id"`
		Detail     map[string]any `json:"detail"`
	}
)

// ExportFormat names the export's schema; it changes when a key is removed or renamed.
const ExportFormat = "callscribe-export/1"

// Export writes the user's data to w as JSON.
func (x *Exporter) Export(ctx context.Context, w io.Writer, userID uuid.UUID) error {
	doc, err := x.document(ctx, userID)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write export: %w", err)
	}
	return nil
}

func (x *Exporter) document(ctx context.Context, userID uuid.UUID) (exportDoc, error) {
	u, err := x.Store.UserByID(ctx, userID)
	if err != nil {
		return exportDoc{}, err
	}
	now := time.Now
	if x.Now != nil {
		now = x.Now
	}
	doc := exportDoc{
		Format: ExportFormat, ExportedAt: now().UTC(),
		Profile: exportProfile{ID: u.ID, OrganizationID: u.OrgID, Email: u.Email, Surname: u.Surname, FirstName: u.FirstName,
			Patronymic: u.Patronymic, Phone: u.Phone, CreatedAt: u.CreatedAt.UTC(), BlockedAt: utcp(u.BlockedAt)},
		Consents: []exportConsent{}, ConsentEvents: []exportConsentEvent{}, Requests: []exportRequest{},
		Calls: []exportCall{}, Rectifications: []exportRectification{}, Audit: []exportAudit{},
		Notices: []exportNotice{}, NoticePreferences: []exportNoticePref{},
	}
	acct, err := x.Store.AccountData(ctx, userID)
	if err != nil {
		return doc, err
	}
	if acct != nil {
		ea := &exportAccount{Role: acct.Role, Language: acct.Language, EmailVerifiedAt: utcp(acct.EmailVerifiedAt),
			CreatedAt: acct.CreatedAt.UTC(), Identities: []exportIdentity{}, Sessions: []exportSession{},
			AgreementAnswers: []exportAgreementAnswer{}}
		for _, i := range acct.Identities {
			ea.Identities = append(ea.Identities, exportIdentity{Provider: i.Provider, Subject: i.Subject, Email: i.Email,
				Surname: i.Surname, FirstName: i.FirstName, LinkedAt: i.LinkedAt.UTC()})
		}
		for _, s := range acct.Sessions {
			ea.Sessions = append(ea.Sessions, exportSession{CreatedAt: s.CreatedAt.UTC(), LastSeenAt: s.LastSeenAt.UTC(),
				ExpiresAt: s.ExpiresAt.UTC(), UserAgent: s.UserAgent, Address: s.Address})
		}
		for _, a := range acct.AgreementAnswers {
			ea.AgreementAnswers = append(ea.AgreementAnswers, exportAgreementAnswer{Version: a.Version, Action: a.Action,
				Channel: a.Channel, At: a.At.UTC()})
		}
		doc.Account = ea
	}
	consents, err := x.Store.Consents(ctx, userID)
	if err != nil {
		return doc, err
	}
	for _, c := range consents {
		doc.Consents = append(doc.Consents, exportConsent{Purpose: c.Purpose, PolicyVersion: c.PolicyVersion,
			GrantedAt: c.GrantedAt.UTC(), WithdrawnAt: utcp(c.WithdrawnAt)})
	}
	events, err := x.Store.ConsentEvents(ctx, userID)
	if err != nil {
		return doc, err
	}
	for _, e := range events {
		doc.ConsentEvents = append(doc.ConsentEvents, exportConsentEvent{Purpose: e.Purpose, Action: e.Action,
			PolicyVersion: e.PolicyVersion, Channel: e.Channel, At: e.At.UTC()})
	}
	requests, err := x.Store.Requests(ctx, callscribe.RequestFilter{OrgID: u.OrgID, UserID: userID})
	if err != nil {
		return doc, err
	}
	for _, r := range requests {
		evs, err := x.Store.RequestEvents(ctx, r.ID)
		if err != nil {
			return doc, err
		}
		er := exportRequest{ID: r.ID, Kind: r.Kind, Status: r.Status, ReceivedAt: r.ReceivedAt.UTC(), DueAt: r.DueAt,
			ExtendedDueAt: r.ExtendedDueAt, ExtensionReason: r.ExtensionReason, NoticeText: r.NoticeText,
			NoticeAt: utcp(r.NoticeAt), Reason: r.Reason, Notes: r.Notes, ClosedAt: utcp(r.ClosedAt),
			Events: []exportRequestEvent{}}
		for _, e := range evs {
			er.Events = append(er.Events, exportRequestEvent{Action: e.Action, Status: e.Status, Actor: e.Actor, Note: e.Note, At: e.At.UTC()})
		}
		doc.Requests = append(doc.Requests, er)
	}
	calls, err := x.Store.CallsOf(ctx, userID)
	if err != nil {
		return doc, err
	}
	for _, c := range calls {
		ec := exportCall{ID: c.ID, OrganizationID: c.OrgID, ExternalID: c.ExternalID, Status: string(c.Status),
			Channels: c.Channels, DurationMS: c.DurationMS, StartedAt: utcp(c.StartedAt), CreatedAt: c.CreatedAt.UTC(),
			UpdatedAt: c.UpdatedAt.UTC(), ErrorCode: c.ErrorCode, ErrorMessage: c.ErrorMessage}
		if ec.Channels == nil {
			ec.Channels = []string{}
		}
		if t, err := x.Store.Transcript(ctx, c.ID); err == nil {
			et := &exportTranscript{Engine: t.Engine, Text: t.Text, CreatedAt: t.CreatedAt.UTC(), Segments: []exportSegment{},
				Truncated: t.Truncated, Redactions: t.Redactions}
			if et.Redactions == nil {
				et.Redactions = map[string]int{}
			}
			for _, s := range t.Segments {
				et.Segments = append(et.Segments, exportSegment{Channel: s.Channel, Speaker: s.Speaker, StartMS: s.StartMS,
					EndMS: s.EndMS, Text: s.Text, Confidence: s.Confidence})
			}
			if t.Summary != nil {
				et.Summary = &exportSummary{Engine: t.Summary.Engine, Text: t.Summary.Text, Stale: t.Summary.Stale}
			}
			ec.Transcript = et
		} else if callscribe.ErrorCode(err) != callscribe.ENOTFOUND {
			return doc, err
		}
		if r := c.Receipt; r != nil {
			ec.AudioDeletionReceipt = &exportReceipt{Stage: r.Stage, Bytes: r.Bytes, SHA256: r.SHA256,
				StagedAt: r.StagedAt.UTC(), DeletedAt: r.DeletedAt.UTC(), ConfirmedAt: r.ConfirmedAt.UTC()}
		}
		doc.Calls = append(doc.Calls, ec)
	}
	rects, err := x.Store.Rectifications(ctx, userID)
	if err != nil {
		return doc, err
	}
	for _, r := range rects {
		doc.Rectifications = append(doc.Rectifications, exportRectification{At: r.At.UTC(), Actor: r.Actor, CallID: r.CallID,
			ObjectType: r.ObjectType, ObjectID: r.ObjectID, Field: r.Field, Before: r.Before, After: r.After})
	}
	audit, err := x.Store.AuditAbout(ctx, userID)
	if err != nil {
		return doc, err
	}
	for _, a := range audit {
		d := a.Detail
		if d == nil {
			d = map[string]any{}
		}
		doc.Audit = append(doc.Audit, exportAudit{ID: a.ID, At: a.At.UTC(), Actor: a.Actor, Action: a.Action,
			ObjectType: a.ObjectType, ObjectID: a.ObjectID, Detail: d})
	}
	notices, err := x.Store.NoticeDeliveries(ctx, callscribe.NoticeDeliveryFilter{UserID: userID})
	if err != nil {
		return doc, err
	}
	for _, n := range notices {
		doc.Notices = append(doc.Notices, exportNotice{ID: n.ID, Event: n.Kind, Channel: n.Channel, State: n.State,
			Attempts: n.Attempts, LastError: n.LastError, CallID: idp(n.CallID), RequestID: idp(n.RequestID),
			IncidentID: idp(n.IncidentID), Detail: n.Detail, CreatedAt: n.CreatedAt.UTC(), FinishedAt: utcp(n.FinishedAt)})
	}
	choices, err := x.Store.NoticeChoices(ctx, userID)
	if err != nil {
		return doc, err
	}
	for _, k := range callscribe.NoticeKinds {
		for _, c := range callscribe.NoticeChannels {
			if on, ok := choices[c][k]; ok {
				doc.NoticePreferences = append(doc.NoticePreferences, exportNoticePref{Event: k, Channel: c, Enabled: on})
			}
		}
	}
	return doc, nil
}

func idp(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

func utcp(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
