// Package privacy owns what the operator promised the people whose calls we process:
// consent per purpose, kept as a history of grant and withdrawal events under a policy
// version with the channel each came through; data-subject requests answered on a
// business-day clock; blocking. It must never let processing start, or data be stored,
// for a purpose whose consent is not in force or for a blocked user; the storing
// transactions re-check what it records.
package privacy

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"

	"callscribe"
)

// ConsentStore is what consent needs of the database.
type ConsentStore interface {
	GrantConsent(ctx context.Context, userID uuid.UUID, purpose callscribe.Purpose, policyVersion string, channel callscribe.ConsentChannel, at time.Time) (bool, error)
	WithdrawConsent(ctx context.Context, userID uuid.UUID, purpose callscribe.Purpose, channel callscribe.ConsentChannel, at time.Time) (bool, error)
	Consents(ctx context.Context, userID uuid.UUID) ([]callscribe.Consent, error)
	ConsentEvents(ctx context.Context, userID uuid.UUID) ([]callscribe.ConsentEvent, error)
}

// Consents grants and withdraws users' consent.
type Consents struct {
	Store         ConsentStore
	PolicyVersion string           // recorded with every grant
	Now           func() time.Time // default time.Now
	// Audit, AuditLog and Actor, when set, record every change in the audit log.
	Audit    *Audit
	AuditLog AuditLog
	Actor    string
}

// Change is what one grant or withdrawal did to one purpose.
type Change struct {
	Purpose callscribe.Purpose
	Changed bool // false: already granted (grant) or not in force (withdraw)
}

// Grant puts the user's consent to each purpose in force under c.PolicyVersion, and
// records each grant as an event with the channel it came through.
func (c *Consents) Grant(ctx context.Context, userID uuid.UUID, purposes []callscribe.Purpose, channel callscribe.ConsentChannel) ([]Change, error) {
	if c.PolicyVersion == "" {
		return nil, callscribe.Errorf(callscribe.EINVALID, "a consent needs the version of the policy it was given under")
	}
	if _, err := callscribe.ParseConsentChannel(string(channel)); err != nil {
		return nil, err
	}
	return c.apply(ctx, userID, ActionConsentGrant, purposes, func(p callscribe.Purpose, at time.Time) (bool, error) {
		return c.Store.GrantConsent(ctx, userID, p, c.PolicyVersion, channel, at)
	})
}

// Withdraw ends the user's consent to each purpose and records each withdrawal as an
// event with its channel. A call of theirs in flight is told at once (a database
// notification) or sees it within the pipeline's consent poll, and is discarded, its
// audio deleted; the storing transaction, which holds the same user row lock, never
// stores after it.
func (c *Consents) Withdraw(ctx context.Context, userID uuid.UUID, purposes []callscribe.Purpose, channel callscribe.ConsentChannel) ([]Change, error) {
	if _, err := callscribe.ParseConsentChannel(string(channel)); err != nil {
		return nil, err
	}
	return c.apply(ctx, userID, ActionConsentWithdraw, purposes, func(p callscribe.Purpose, at time.Time) (bool, error) {
		return c.Store.WithdrawConsent(ctx, userID, p, channel, at)
	})
}

// Events lists every grant and withdrawal of the user, oldest first, with its channel.
func (c *Consents) Events(ctx context.Context, userID uuid.UUID) ([]callscribe.ConsentEvent, error) {
	return c.Store.ConsentEvents(ctx, userID)
}

// History lists every grant of the user, newest first, withdrawn ones included.
func (c *Consents) History(ctx context.Context, userID uuid.UUID) ([]callscribe.Consent, error) {
	return c.Store.Consents(ctx, userID)
}

func (c *Consents) apply(ctx context.Context, userID uuid.UUID, action string, purposes []callscribe.Purpose, do func(callscribe.Purpose, time.Time) (bool, error)) ([]Change, error) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	at := now()
	changes := make([]Change, 0, len(purposes))
	for _, p := range purposes {
		changed, err := do(p, at)
		if err != nil {
			return changes, err
		}
		changes = append(changes, Change{Purpose: p, Changed: changed})
		if changed && c.Audit != nil {
			if err := c.Audit.Record(ctx, c.AuditLog, callscribe.AuditEntry{At: at, Actor: c.Actor, Action: action,
				ObjectType: "user", ObjectID: userID.String(), SubjectID: userID,
				Detail: map[string]any{"purpose": string(p)}}); err != nil {
				return changes, err
			}
		}
	}
	return changes, nil
}

// ParsePurposes reads a comma-separated list of purposes, e.g.
// "transcription,summarization"; unknown names are refused, duplicates dropped.
func ParsePurposes(list string) ([]callscribe.Purpose, error) {
	var out []callscribe.Purpose
	seen := map[callscribe.Purpose]bool{}
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		p, err := callscribe.ParsePurpose(s)
		if err != nil {
			return nil, err
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, callscribe.Errorf(callscribe.EINVALID, "no purpose given (known: transcription, summarization, notifications, crm_export)")
	}
	return out, nil
}
