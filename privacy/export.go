package privacy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"

	"callscribe"
	"callscribe/storage/postgres"
)

// ExportStore is what an access export reads.
type ExportStore interface {
	UserByID(ctx context.Context, id uuid.UUID) (callscribe.User, error)
	Consents(ctx context.Context, userID uuid.UUID) ([]callscribe.Consent, error)
	CallsOf(ctx context.Context, userID uuid.UUID) ([]postgres.Call, error)
	Transcript(ctx context.Context, callID uuid.UUID) (callscribe.Transcript, error)
	Receipt(ctx context.Context, callID uuid.UUID) (callscribe.Receipt, error)
	Rectifications(ctx context.Context, userID uuid.UUID) ([]callscribe.Rectification, error)
	AuditAbout(ctx context.Context, subjectID uuid.UUID) ([]callscribe.AuditEntry, error)
}

// ExportSection adds one part to a user's export: the registration point for data kept
// elsewhere (the data-subject requests, for one; an integration's copies).
type ExportSection func(ctx context.Context, userID uuid.UUID) (any, error)

// Exporter writes everything held about a user, as one JSON document: the answer to an
// access request.
type Exporter struct {
	Store ExportStore
	// Sections are added under their names. When merging the requests branch, register
	// "requests" (the user's requests and their transitions) and "consent_events".
	Sections map[string]ExportSection
	Now      func() time.Time
}

// ExportedCall is one call with everything kept of it.
type ExportedCall struct {
	postgres.Call
	Transcript *callscribe.Transcript `json:"transcript,omitempty"`
	Receipt    *callscribe.Receipt    `json:"audio_deletion_receipt,omitempty"`
}

// Export writes the user's data to w as JSON.
func (x *Exporter) Export(ctx context.Context, w io.Writer, userID uuid.UUID) error {
	u, err := x.Store.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	now := time.Now
	if x.Now != nil {
		now = x.Now
	}
	doc := map[string]any{
		"exported_at": now().UTC(),
		"profile": map[string]any{"id": u.ID, "organization_id": u.OrgID, "email": u.Email, "surname": u.Surname,
			"first_name": u.FirstName, "patronymic": u.Patronymic, "phone": u.Phone, "created_at": u.CreatedAt},
	}
	if doc["consents"], err = x.Store.Consents(ctx, userID); err != nil {
		return err
	}
	calls, err := x.Store.CallsOf(ctx, userID)
	if err != nil {
		return err
	}
	out := make([]ExportedCall, 0, len(calls))
	for _, c := range calls {
		ec := ExportedCall{Call: c}
		if t, err := x.Store.Transcript(ctx, c.ID); err == nil {
			ec.Transcript = &t
		} else if callscribe.ErrorCode(err) != callscribe.ENOTFOUND {
			return err
		}
		if r, err := x.Store.Receipt(ctx, c.ID); err == nil {
			ec.Receipt = &r
		} else if callscribe.ErrorCode(err) != callscribe.ENOTFOUND {
			return err
		}
		out = append(out, ec)
	}
	doc["calls"] = out
	if doc["rectifications"], err = x.Store.Rectifications(ctx, userID); err != nil {
		return err
	}
	if doc["audit"], err = x.Store.AuditAbout(ctx, userID); err != nil {
		return err
	}
	for name, section := range x.Sections {
		v, err := section(ctx, userID)
		if err != nil {
			return fmt.Errorf("export %s: %w", name, err)
		}
		doc[name] = v
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write export: %w", err)
	}
	return nil
}
