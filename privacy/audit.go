package privacy

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"callscribe"
)

// Audit appends entries to the audit log, which the database keeps append-only (a
// trigger refuses UPDATE, DELETE and TRUNCATE). An entry names objects by id only; Record
// refuses anything that looks like text, an email or a phone number.
//
// Entries about a subject survive their erasure: the log must still show that data was
// read, edited and erased, and when. The erasure replaces the subject's ids in them by a
// pseudonym naming the ledger entry ("erased:<ledger id>"), the one change the trigger
// allows; without the user and call rows, and with the ids gone, an entry says that
// someone's transcript was read, never whose.
type Audit struct {
	Now func() time.Time // default: the database's clock
}

// Actions recorded in the audit log.
const (
	ActionTranscriptRead  = "transcript.read"
	ActionTranscriptEdit  = "transcript.edit"
	ActionUserEdit        = "user.edit"
	ActionExport          = "export"
	ActionConsentGrant    = "consent.grant"
	ActionConsentWithdraw = "consent.withdraw"
	ActionRetentionPurge  = "retention.purge"
	ActionOrgSet          = "organization.set"
)

// safeID is what an actor or object id may look like: ids, kinds and separators.
var safeID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9:._/-]{0,199}$`)

// AuditLog is where Record appends: the database.
type AuditLog interface {
	AppendAudit(ctx context.Context, e callscribe.AuditEntry) error
}

// Record checks e and appends it to log.
func (a *Audit) Record(ctx context.Context, log AuditLog, e callscribe.AuditEntry) error {
	for name, v := range map[string]string{"actor": e.Actor, "action": e.Action, "object type": e.ObjectType, "object id": e.ObjectID} {
		if !safeID.MatchString(v) {
			return callscribe.Errorf(callscribe.EINVALID, "audit entry: the %s %q is not an id", name, v)
		}
	}
	for k, v := range e.Detail {
		switch v := v.(type) {
		case int, int64, float64, bool:
		case string:
			if !safeID.MatchString(v) {
				return callscribe.Errorf(callscribe.EINVALID, "audit entry: detail %s is not an id", k)
			}
		default:
			return callscribe.Errorf(callscribe.EINVALID, "audit entry: detail %s is neither a number nor an id", k)
		}
	}
	if e.At.IsZero() && a != nil && a.Now != nil {
		e.At = a.Now()
	}
	if err := log.AppendAudit(ctx, e); err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}
