package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"callscribe"
)

const orgColumns = `id, name, extract(epoch FROM retention)::bigint, redaction_off, redaction_mask, access_answer`

func scanOrg(row pgx.Row) (callscribe.Organization, error) {
	var o callscribe.Organization
	var secs *int64
	if err := row.Scan(&o.ID, &o.Name, &secs, &o.RedactionOff, &o.RedactionMask, &o.AccessAnswer); err != nil {
		return o, err
	}
	if secs != nil {
		d := time.Duration(*secs) * time.Second
		o.Retention = &d
	}
	return o, nil
}

// EnsureOrganization returns the id of the organization named name, creating it if needed.
func (db *DB) EnsureOrganization(ctx context.Context, name string) (uuid.UUID, error) {
	var id uuid.UUID
	err := db.pool.QueryRow(ctx, `
		WITH ins AS (
			INSERT INTO organizations (name) VALUES ($1)
			ON CONFLICT (name) DO NOTHING RETURNING id)
		SELECT id FROM ins UNION ALL SELECT id FROM organizations WHERE name = $1
		LIMIT 1`, name).Scan(&id)
	if err != nil {
		return uuid.Nil, fmt.Errorf("ensure organization: %w", err)
	}
	return id, nil
}

// OrganizationByName finds an organization; ENOTFOUND when there is none.
func (db *DB) OrganizationByName(ctx context.Context, name string) (callscribe.Organization, error) {
	o, err := scanOrg(db.pool.QueryRow(ctx, `SELECT `+orgColumns+` FROM organizations WHERE name = $1`, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return o, callscribe.Errorf(callscribe.ENOTFOUND, "no organization %q", name)
	}
	if err != nil {
		return o, fmt.Errorf("find organization: %w", err)
	}
	return o, nil
}

// Organizations lists every organization by name.
func (db *DB) Organizations(ctx context.Context) ([]callscribe.Organization, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+orgColumns+` FROM organizations ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list organizations: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (callscribe.Organization, error) { return scanOrg(r) })
	if err != nil {
		return nil, fmt.Errorf("list organizations: %w", err)
	}
	return out, nil
}

// SetRetention sets the organization's retention period (nil: keep) and audits it.
func (db *DB) SetRetention(ctx context.Context, orgID uuid.UUID, retention *time.Duration, actor string) error {
	var secs *int64
	if retention != nil {
		s := int64(*retention / time.Second)
		secs = &s
	}
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE organizations SET retention = $2::bigint * interval '1 second' WHERE id = $1`, orgID, secs)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return callscribe.Errorf(callscribe.ENOTFOUND, "no organization %s", orgID)
		}
		detail := map[string]any{"retention_seconds": -1}
		if secs != nil {
			detail["retention_seconds"] = *secs
		}
		return insertAudit(ctx, tx, callscribe.AuditEntry{Actor: actor, Action: "organization.set",
			ObjectType: "organization", ObjectID: orgID.String(), OrgID: orgID, Detail: detail})
	})
	if err != nil {
		return fmt.Errorf("set retention: %w", err)
	}
	return nil
}

// OrganizationID returns the id of an existing organization; ENOTFOUND if none.
func (db *DB) OrganizationID(ctx context.Context, name string) (uuid.UUID, error) {
	o, err := db.OrganizationByName(ctx, name)
	return o.ID, err
}

// RedactionPolicy returns the organization's redaction policy: the types it turned off
// (empty: none) and its mask (empty: type tags).
func (db *DB) RedactionPolicy(ctx context.Context, orgID uuid.UUID) (off []string, mask string, err error) {
	err = db.pool.QueryRow(ctx, `SELECT redaction_off, redaction_mask FROM organizations WHERE id = $1`, orgID).Scan(&off, &mask)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, "", callscribe.Errorf(callscribe.ENOTFOUND, "no organization %s", orgID)
	}
	if err != nil {
		return nil, "", fmt.Errorf("read redaction policy: %w", err)
	}
	return off, mask, nil
}

// SetRedaction sets the redaction types the organization turns off (empty: every type
// is redacted) and its mask (empty: type tags), and audits it, naming the types and
// whether a mask is set, never the mask's text.
func (db *DB) SetRedaction(ctx context.Context, orgID uuid.UUID, off []string, mask, actor string) error {
	if off == nil {
		off = []string{}
	}
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE organizations SET redaction_off = $2, redaction_mask = $3 WHERE id = $1`, orgID, off, mask)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return callscribe.Errorf(callscribe.ENOTFOUND, "no organization %s", orgID)
		}
		return insertAudit(ctx, tx, callscribe.AuditEntry{Actor: actor, Action: "organization.set",
			ObjectType: "organization", ObjectID: orgID.String(), OrgID: orgID, Detail: map[string]any{"redaction_off": off, "redaction_mask": mask != ""}})
	})
	if err != nil {
		return fmt.Errorf("set redaction policy: %w", err)
	}
	return nil
}

// SetAccessAnswer sets how the organization answers a completed access request in the
// messenger (callscribe.AccessAnswerFile or AccessAnswerLink) and audits it.
func (db *DB) SetAccessAnswer(ctx context.Context, orgID uuid.UUID, answer, actor string) error {
	if answer != callscribe.AccessAnswerFile && answer != callscribe.AccessAnswerLink {
		return callscribe.Errorf(callscribe.EINVALID, "access answer must be %s or %s", callscribe.AccessAnswerFile, callscribe.AccessAnswerLink)
	}
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE organizations SET access_answer = $2 WHERE id = $1`, orgID, answer)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return callscribe.Errorf(callscribe.ENOTFOUND, "no organization %s", orgID)
		}
		return insertAudit(ctx, tx, callscribe.AuditEntry{Actor: actor, Action: "organization.set",
			ObjectType: "organization", ObjectID: orgID.String(), OrgID: orgID, Detail: map[string]any{"access_answer": answer}})
	})
	if err != nil {
		return fmt.Errorf("set access answer: %w", err)
	}
	return nil
}
