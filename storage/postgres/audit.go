package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"callscribe"
)

// execer runs a statement: the pool, or a transaction the audit entry must share.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// AppendAudit appends e to the audit log in a transaction of its own. A zero At is the
// database's now().
func (db *DB) AppendAudit(ctx context.Context, e callscribe.AuditEntry) error {
	return insertAudit(ctx, db.pool, e)
}

func insertAudit(ctx context.Context, q execer, e callscribe.AuditEntry) error {
	detail := []byte("{}")
	if len(e.Detail) > 0 {
		var err error
		if detail, err = json.Marshal(e.Detail); err != nil {
			return fmt.Errorf("audit detail: %w", err)
		}
	}
	var at any
	if !e.At.IsZero() {
		at = e.At
	}
	_, err := q.Exec(ctx, `
		INSERT INTO audit_log (at, actor, action, object_type, object_id, organization_id, subject_id, detail)
		VALUES (coalesce($1, now()), $2, $3, $4, $5, $6, $7, $8)`,
		at, e.Actor, e.Action, e.ObjectType, e.ObjectID, nullUUID(e.OrgID), nullUUID(e.SubjectID), detail)
	if err != nil {
		return fmt.Errorf("write audit entry: %w", err)
	}
	return nil
}

func nullUUID(id uuid.UUID) any {
	if id == uuid.Nil {
		return nil
	}
	return id
}

// AuditAbout lists the audit entries about a subject, oldest first.
func (db *DB) AuditAbout(ctx context.Context, subjectID uuid.UUID) ([]callscribe.AuditEntry, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT id, at, actor, action, object_type, object_id, organization_id, subject_id, detail
		FROM audit_log WHERE subject_id = $1 ORDER BY id`, subjectID)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (callscribe.AuditEntry, error) {
		var e callscribe.AuditEntry
		var org, subj *uuid.UUID
		err := row.Scan(&e.ID, &e.At, &e.Actor, &e.Action, &e.ObjectType, &e.ObjectID, &org, &subj, &e.Detail)
		if org != nil {
			e.OrgID = *org
		}
		if subj != nil {
			e.SubjectID = *subj
		}
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return out, nil
}

// AppendAudits appends entries to the audit log in one transaction: a page that shows
// the words of many calls (a list, a search) records a read of each, at the cost of one
// commit.
func (db *DB) AppendAudits(ctx context.Context, entries []callscribe.AuditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	return db.inTx(ctx, func(tx pgx.Tx) error {
		for _, e := range entries {
			if err := insertAudit(ctx, tx, e); err != nil {
				return err
			}
		}
		return nil
	})
}
