package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"callscribe"
)

// PurgeExpired deletes, in one short transaction, the transcripts (with their segments
// and segment history) and summaries of at most limit calls of the organization created
// before cutoff, forgets the other party's phone number of those calls, and audits the
// batch. The calls and their deletion receipts stay. It returns the rows deleted per
// table ("phones": the numbers forgotten); no calls left means it is done.
func (db *DB) PurgeExpired(ctx context.Context, orgID uuid.UUID, cutoff time.Time, limit int, actor string) (map[string]int64, error) {
	counts := map[string]int64{}
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		clear(counts)
		rows, err := tx.Query(ctx, `
			SELECT c.id FROM calls c
			WHERE c.organization_id = $1 AND c.created_at < $2
			  AND (EXISTS (SELECT 1 FROM transcripts t WHERE t.call_id = c.id)
			       OR EXISTS (SELECT 1 FROM summaries s WHERE s.call_id = c.id)
			       OR c.phone IS NOT NULL)
			ORDER BY c.created_at LIMIT $3`, orgID, cutoff, limit)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil || len(ids) == 0 {
			return err
		}
		counts["calls"] = int64(len(ids))
		for _, p := range []purge{
			{"segments", `transcript_id IN (SELECT id FROM transcripts WHERE call_id IN (SELECT unnest($2::uuid[])))`},
			{"rectifications", `call_id IN (SELECT unnest($2::uuid[]))`},
			{"transcripts", `call_id IN (SELECT unnest($2::uuid[]))`},
			{"summaries", `call_id IN (SELECT unnest($2::uuid[]))`},
		} {
			tag, err := tx.Exec(ctx, p.sql("DELETE FROM"), uuid.Nil, ids)
			if err != nil {
				return fmt.Errorf("%s: %w", p.Table, err)
			}
			counts[p.Table] = tag.RowsAffected()
		}
		tag, err := tx.Exec(ctx, `UPDATE calls SET phone = NULL WHERE id IN (SELECT unnest($1::uuid[])) AND phone IS NOT NULL`, ids)
		if err != nil {
			return fmt.Errorf("phones: %w", err)
		}
		counts["phones"] = tag.RowsAffected()
		detail := map[string]any{"cutoff_unix": cutoff.Unix()}
		for k, v := range counts {
			detail[k] = v
		}
		return insertAudit(ctx, tx, callscribe.AuditEntry{Actor: actor, Action: "retention.purge",
			ObjectType: "organization", ObjectID: orgID.String(), OrgID: orgID, Detail: detail})
	})
	if err != nil {
		return nil, fmt.Errorf("purge expired transcripts: %w", err)
	}
	return counts, nil
}
