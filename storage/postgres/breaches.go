package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"callscribe"
)

// OpenBreach records an incident and whom it affected, in one transaction: the users
// listed by email (in the incident's organization, when it names one); or the owners
// of the calls created in the incident's window (in its organization, or in every one);
// or, with neither, every user of the incident's organization. Erased users are left out: nothing of theirs is held any more. It returns
// the incident with its id and count, and the listed emails that match no user.
func (db *DB) OpenBreach(ctx context.Context, inc callscribe.BreachIncident, emails []string) (callscribe.BreachIncident, []string, error) {
	var missing []string
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		inc.ByList = len(emails) > 0
		err := tx.QueryRow(ctx, `
			INSERT INTO breach_incidents (organization_id, description, detected_at, window_from, window_to, by_list, opened_by, opened_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
			nullUUID(inc.OrgID), inc.Description, inc.DetectedAt, inc.From, inc.To, inc.ByList, inc.OpenedBy, inc.OpenedAt).Scan(&inc.ID)
		if err != nil {
			return err
		}
		if inc.ByList {
			lower := make([]string, len(emails))
			for i, e := range emails {
				lower[i] = strings.ToLower(strings.TrimSpace(e))
			}
			tag, err := tx.Exec(ctx, `
				INSERT INTO breach_affected (incident_id, user_id)
				SELECT $1, id FROM users
				WHERE lower(email) = ANY ($2) AND erased_at IS NULL AND ($3::uuid IS NULL OR organization_id = $3)
				ON CONFLICT DO NOTHING`, inc.ID, lower, nullUUID(inc.OrgID))
			if err != nil {
				return err
			}
			inc.Affected = int(tag.RowsAffected())
			rows, err := tx.Query(ctx, `
				SELECT e FROM unnest($1::text[]) AS e
				WHERE NOT EXISTS (SELECT 1 FROM users u WHERE lower(u.email) = e AND u.erased_at IS NULL
				                  AND ($2::uuid IS NULL OR u.organization_id = $2))
				ORDER BY e`, lower, nullUUID(inc.OrgID))
			if err != nil {
				return err
			}
			missing, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		}
		if inc.From == nil {
			// The organization's data as a whole: every one of its users.
			tag, err := tx.Exec(ctx, `
				INSERT INTO breach_affected (incident_id, user_id)
				SELECT $1, id FROM users WHERE organization_id = $2 AND erased_at IS NULL`, inc.ID, inc.OrgID)
			inc.Affected = int(tag.RowsAffected())
			return err
		}
		tag, err := tx.Exec(ctx, `
			INSERT INTO breach_affected (incident_id, user_id)
			SELECT DISTINCT $1::uuid, c.owner_id FROM calls c JOIN users u ON u.id = c.owner_id
			WHERE c.created_at >= $2 AND c.created_at <= $3 AND u.erased_at IS NULL
			  AND ($4::uuid IS NULL OR c.organization_id = $4)
			ON CONFLICT DO NOTHING`, inc.ID, inc.From, inc.To, nullUUID(inc.OrgID))
		if err != nil {
			return err
		}
		inc.Affected = int(tag.RowsAffected())
		return nil
	})
	if err != nil {
		return callscribe.BreachIncident{}, nil, fmt.Errorf("open breach: %w", err)
	}
	return inc, missing, nil
}

const breachQuery = `
	SELECT b.id, coalesce(b.organization_id, '00000000-0000-0000-0000-000000000000'), coalesce(o.name, ''), b.description,
	       b.detected_at, b.window_from, b.window_to, b.by_list, b.opened_by, b.opened_at,
	       coalesce(b.template_ru, ''), coalesce(b.template_en, ''), b.notified_at,
	       (SELECT count(*) FROM breach_affected a WHERE a.incident_id = b.id)
	FROM breach_incidents b LEFT JOIN organizations o ON o.id = b.organization_id`

func scanBreach(row pgx.Row) (callscribe.BreachIncident, error) {
	var b callscribe.BreachIncident
	err := row.Scan(&b.ID, &b.OrgID, &b.Org, &b.Description, &b.DetectedAt, &b.From, &b.To, &b.ByList, &b.OpenedBy, &b.OpenedAt,
		&b.TemplateRU, &b.TemplateEN, &b.NotifiedAt, &b.Affected)
	return b, err
}

// Breach reads one incident; ENOTFOUND when there is none.
func (db *DB) Breach(ctx context.Context, id uuid.UUID) (callscribe.BreachIncident, error) {
	b, err := scanBreach(db.pool.QueryRow(ctx, breachQuery+` WHERE b.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return b, callscribe.Errorf(callscribe.ENOTFOUND, "no breach incident %s", id)
	}
	if err != nil {
		return b, fmt.Errorf("read breach: %w", err)
	}
	return b, nil
}

// Breaches lists every incident, the latest detected first.
func (db *DB) Breaches(ctx context.Context) ([]callscribe.BreachIncident, error) {
	rows, err := db.pool.Query(ctx, breachQuery+` ORDER BY b.detected_at DESC, b.id`)
	if err != nil {
		return nil, fmt.Errorf("list breaches: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (callscribe.BreachIncident, error) { return scanBreach(row) })
	if err != nil {
		return nil, fmt.Errorf("list breaches: %w", err)
	}
	return out, nil
}

// NotifyBreach stores the incident's notice (the operator's text, ru and en) and marks
// it notified, then runs record with the affected users, in one transaction: the
// deliveries record commits with the mark, or neither does. A second notify is refused
// with ECONFLICT. Jobs are enqueued through the notice hook's (NoticeOn).
func (db *DB) NotifyBreach(ctx context.Context, id uuid.UUID, ru, en string, at time.Time,
	record func(ctx context.Context, tx NoticeTx, affected []uuid.UUID) error) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var notified *time.Time
		err := tx.QueryRow(ctx, `SELECT notified_at FROM breach_incidents WHERE id = $1 FOR UPDATE`, id).Scan(&notified)
		if errors.Is(err, pgx.ErrNoRows) {
			return callscribe.Errorf(callscribe.ENOTFOUND, "no breach incident %s", id)
		}
		if err != nil {
			return err
		}
		if notified != nil {
			return callscribe.Errorf(callscribe.ECONFLICT, "breach %s was notified already at %s", id, notified.UTC().Format(time.RFC3339))
		}
		if _, err := tx.Exec(ctx, `UPDATE breach_incidents SET template_ru = $2, template_en = $3, notified_at = $4 WHERE id = $1`,
			id, ru, en, at); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `
			SELECT a.user_id FROM breach_affected a JOIN users u ON u.id = a.user_id
			WHERE a.incident_id = $1 AND u.erased_at IS NULL ORDER BY a.user_id`, id)
		if err != nil {
			return err
		}
		users, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			return err
		}
		return record(ctx, noticeTx{tx: tx, jobs: db.notices.jobs}, users)
	})
	if err != nil {
		return fmt.Errorf("notify breach: %w", err)
	}
	return nil
}

// BreachAffected lists the users an incident affected.
func (db *DB) BreachAffected(ctx context.Context, id uuid.UUID) ([]uuid.UUID, error) {
	rows, err := db.pool.Query(ctx, `SELECT user_id FROM breach_affected WHERE incident_id = $1 ORDER BY user_id`, id)
	if err != nil {
		return nil, fmt.Errorf("list affected users: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, fmt.Errorf("list affected users: %w", err)
	}
	return out, nil
}
