package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"callscribe"
)

// purge names the rows of one table that are about an erased subject. In Where, $1 is
// the user id and $2 the ids of (a batch of) their calls, uuid[]. The same predicate
// deletes (DELETE FROM Table WHERE Where) and proves the table clean afterwards
// (SELECT count(*) FROM Table WHERE Where). purgeCalls sends the deletes as unnamed
// statements, each planned for the batch at hand (see there).
type purge struct {
	Table string
	Where string
}

// sql is the statement verb ("DELETE FROM", "SELECT count(*) FROM") over the purge's
// rows. Both parameters are always referenced, so that every statement takes the same
// two arguments whichever of them its predicate uses.
func (p purge) sql(verb string) string {
	return verb + " " + p.Table + " WHERE (" + p.Where + ") AND $1::uuid IS NOT NULL AND $2::uuid[] IS NOT NULL"
}

// callPurges delete what hangs off a batch of the subject's calls, children before
// parents, the calls themselves last. This list is the one place a table holding data
// about calls registers for erasure, one line per integration that keeps a copy of a call
// too (none exist yet).
var callPurges = []purge{
	// The batch's transcript ids as one array: a bitmap scan of the index, then the
	// table's pages once each, in page order (through a join on transcripts, PostgreSQL
	// walks the index once per transcript and fetches row by row: 1.5 to 2 times as long).
	{"segments", `transcript_id = ANY (ARRAY(SELECT id FROM transcripts WHERE call_id IN (SELECT unnest($2::uuid[]))))`},
	{"transcripts", `call_id IN (SELECT unnest($2::uuid[]))`}, // the search tsvector is a column of this row
	{"summaries", `call_id IN (SELECT unnest($2::uuid[]))`},
	{"rectifications", `call_id IN (SELECT unnest($2::uuid[]))`},
	{"audio_deletion_receipts", `call_id IN (SELECT unnest($2::uuid[]))`},
	{"call_stages", `call_id IN (SELECT unnest($2::uuid[]))`},        // with the staging key: a staged object left is unreadable
	{"webhook_deliveries", `call_id IN (SELECT unnest($2::uuid[]))`}, // webhook payloads
	// Job payloads: transcribe_call jobs carry the call id. River's table has no index on
	// it; it holds live and recently finished jobs only (River prunes the rest).
	{"river_job", `args->>'call_id' IN (SELECT unnest($2::uuid[])::text)`},
	{"calls", `owner_id = $1 AND id IN (SELECT unnest($2::uuid[]))`},
}

// userPurges delete what is keyed by the subject, once their calls are gone; the user
// row goes last. The data-subject requests are kept: the request that ordered the
// erasure is the operator's record of having answered it, and its user id is cleared
// when the user row goes (ON DELETE SET NULL).
var userPurges = []purge{
	{"rectifications", `subject_id = $1`},
	{"consents", `user_id = $1`},
	{"consent_events", `user_id = $1`},
	// What the Telegram bot keeps: the link (Telegram user id, username), unused link
	// tokens, the text of a request waiting for its kind.
	{"telegram_links", `user_id = $1`},
	{"telegram_link_tokens", `user_id = $1`},
	{"telegram_drafts", `user_id = $1`},
	// The account (migration 00012): sessions (with the address each came from), linked
	// provider identities, one-time tokens, answers to the agreement, the account row.
	{"sessions", `user_id = $1`},
	{"identities", `user_id = $1`},
	// An invitation not yet used names its email and no user.
	{"account_tokens", `user_id = $1 OR (kind = 'invite' AND lower(email) = (SELECT lower(email) FROM users WHERE id = $1))`},
	{"agreement_answers", `user_id = $1`},
	{"accounts", `user_id = $1`},
	{"users", `id = $1`},
}

// MarkErased starts the erasure of a user: it sets erased_at (kept from a first,
// interrupted attempt) and the request, under the user row's exclusive lock, so it waits
// for any transaction storing data of theirs. From its commit on the user is invisible to
// readers and nothing more is stored for them (lockUser refuses erased users).
func (db *DB) MarkErased(ctx context.Context, userID uuid.UUID, requestID string, at time.Time) (callscribe.User, error) {
	u, err := scanUser(db.pool.QueryRow(ctx, `
		UPDATE users SET erased_at = coalesce(erased_at, $2), erasure_request = coalesce(erasure_request, $3)
		WHERE id = $1
		RETURNING `+userColumns, userID, at, requestID))
	if errors.Is(err, pgx.ErrNoRows) {
		return u, callscribe.Errorf(callscribe.ENOTFOUND, "no user with id %s", userID)
	}
	if err != nil {
		return u, fmt.Errorf("mark user erased: %w", err)
	}
	return u, nil
}

// SubjectCalls lists the ids of every call the user owns, oldest first: rows are written
// in about that order, so a batch of neighbouring calls finds its segments on neighbouring
// pages (in id order, random uuids, each batch touched pages all over the table and took
// several times longer).
func (db *DB) SubjectCalls(ctx context.Context, userID uuid.UUID) ([]uuid.UUID, error) {
	rows, err := db.pool.Query(ctx, `SELECT id FROM calls WHERE owner_id = $1 ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list calls of user: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, fmt.Errorf("list calls of user: %w", err)
	}
	return ids, nil
}

// PurgeCalls deletes a batch of the user's calls and everything hanging off them in one
// short transaction, adding the rows deleted per table to counts. Calls of other owners
// in callIDs are left alone.
func (db *DB) PurgeCalls(ctx context.Context, userID uuid.UUID, callIDs []uuid.UUID, counts map[string]int64) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		return purgeCalls(ctx, tx, userID, callIDs, counts)
	})
	if err != nil {
		return fmt.Errorf("purge calls: %w", err)
	}
	return nil
}

func purgeCalls(ctx context.Context, tx pgx.Tx, userID uuid.UUID, callIDs []uuid.UUID, counts map[string]int64) error {
	// Only the subject's own calls, whatever the caller passed.
	rows, err := tx.Query(ctx, `SELECT id FROM calls WHERE id IN (SELECT unnest($1::uuid[])) AND owner_id = $2`, callIDs, userID)
	if err != nil {
		return err
	}
	own, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil || len(own) == 0 {
		return err
	}
	// One round trip for the whole batch: on a busy machine every round trip is a wait
	// for the scheduler, and an erasure has many batches. The statements are unnamed, so
	// each is planned for this batch's ids: a generic plan of a prepared statement, blind
	// to how few ids the array holds, may scan whole tables once per batch. Forcing custom
	// plans with plan_cache_mode instead would also re-plan, for every deleted call, the
	// cascade queries of its foreign keys (six per call): a third of the erasure's time.
	user, err := tx.Conn().TypeMap().Encode(pgtype.UUIDOID, pgtype.BinaryFormatCode, userID, nil)
	if err != nil {
		return err
	}
	ids, err := tx.Conn().TypeMap().Encode(pgtype.UUIDArrayOID, pgtype.BinaryFormatCode, own, nil)
	if err != nil {
		return err
	}
	params := [][]byte{user, ids}
	oids := []uint32{pgtype.UUIDOID, pgtype.UUIDArrayOID}
	binary := []int16{pgtype.BinaryFormatCode, pgtype.BinaryFormatCode}
	b := &pgconn.Batch{}
	b.ExecParams(`SELECT count(*) FROM call_stages WHERE call_id IN (SELECT unnest($2::uuid[])) AND confirmed_at IS NULL AND $1::uuid IS NOT NULL`,
		params, oids, binary, []int16{pgtype.TextFormatCode})
	for _, p := range callPurges {
		b.ExecParams(p.sql("DELETE FROM"), params, oids, binary, nil)
	}
	results, err := tx.Conn().PgConn().ExecBatch(ctx, b).ReadAll()
	if err != nil {
		// The failed statement is the last one read when it got as far as a result,
		// else the next; none after it ran.
		i := len(results)
		if i > 0 && results[i-1].Err != nil {
			i--
		}
		if i >= 1 && i <= len(callPurges) {
			return fmt.Errorf("%s: %w", callPurges[i-1].Table, err)
		}
		return err
	}
	if len(results) != 1+len(callPurges) || len(results[0].Rows) != 1 {
		return fmt.Errorf("purge batch: %d results, want %d", len(results), 1+len(callPurges))
	}
	unconfirmed, err := strconv.ParseInt(string(results[0].Rows[0][0]), 10, 64)
	if err != nil {
		return fmt.Errorf("count unconfirmed stages: %w", err)
	}
	counts["staged_audio_unconfirmed"] += unconfirmed
	for i, p := range callPurges {
		counts[p.Table] += results[1+i].CommandTag.RowsAffected()
	}
	return nil
}

// FinishErasure ends an erasure in one transaction: it purges any call of the user
// created since the batches ran, deletes what is keyed by the user and the user row,
// replaces the user's ids in the audit log by "erased:<entry id>", and records the ledger
// entry (its Counts are counts plus this transaction's). beforeCommit runs last, before
// the commit: the ledger file is appended there, so an entry the file holds but the
// database lacks can only mean an erasure that must still happen, never the reverse.
func (db *DB) FinishErasure(ctx context.Context, userID uuid.UUID, entry callscribe.ErasureEntry, counts map[string]int64,
	beforeCommit func(callscribe.ErasureEntry) error) (callscribe.ErasureEntry, error) {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		// Two erasers of one subject (a queued purge and Reapply, say): the second finds
		// the user row gone and writes no second ledger entry.
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, userID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return callscribe.Errorf(callscribe.ENOTFOUND, "no user with id %s", userID)
		}
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id FROM calls WHERE owner_id = $1`, userID)
		if err != nil {
			return err
		}
		late, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			return err
		}
		if len(late) > 0 {
			if err := purgeCalls(ctx, tx, userID, late, counts); err != nil {
				return err
			}
		}
		for _, p := range userPurges {
			tag, err := tx.Exec(ctx, p.sql("DELETE FROM"), userID, []uuid.UUID{})
			if err != nil {
				return fmt.Errorf("%s: %w", p.Table, err)
			}
			counts[p.Table] += tag.RowsAffected()
		}
		pseudonym := "erased:" + entry.ID.String()
		if _, err := tx.Exec(ctx, `SELECT set_config('callscribe.erasing', $1, true)`, userID.String()); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `
			UPDATE audit_log SET subject_id = NULL, object_id = $2,
			       actor = CASE WHEN actor = 'user:' || $1::text THEN $2 ELSE actor END
			WHERE subject_id = $1`, userID, pseudonym)
		if err != nil {
			return fmt.Errorf("pseudonymize audit log: %w", err)
		}
		counts["audit_log_pseudonymized"] += tag.RowsAffected()
		if _, err := tx.Exec(ctx, `SELECT set_config('callscribe.erasing', '', true)`); err != nil {
			return err
		}
		entry.Counts = counts
		if err := insertLedger(ctx, tx, entry); err != nil {
			return err
		}
		if err := insertAudit(ctx, tx, callscribe.AuditEntry{
			At: entry.ErasedAt, Actor: "system:erasure", Action: "erasure",
			ObjectType: "erasure", ObjectID: entry.ID.String(),
			Detail: map[string]any{"request_id": entry.RequestID},
		}); err != nil {
			return err
		}
		if beforeCommit != nil {
			return beforeCommit(entry)
		}
		return nil
	})
	if err != nil {
		return entry, fmt.Errorf("finish erasure: %w", err)
	}
	return entry, nil
}

func insertLedger(ctx context.Context, q execer, e callscribe.ErasureEntry) error {
	counts, err := json.Marshal(e.Counts)
	if err != nil {
		return err
	}
	_, err = q.Exec(ctx, `
		INSERT INTO erasure_ledger (id, request_id, subject_hash, email_hash, phone_hash, counts, reapplied, erased_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING`,
		e.ID, e.RequestID, e.SubjectHash, e.EmailHash, e.PhoneHash, counts, e.Reapplied, e.ErasedAt)
	if err != nil {
		return fmt.Errorf("write erasure ledger: %w", err)
	}
	return nil
}

// VerifyErased counts, in every registered table, the rows about the user or the given
// calls: all zero once the erasure is done.
func (db *DB) VerifyErased(ctx context.Context, userID uuid.UUID, callIDs []uuid.UUID) (map[string]int64, error) {
	if callIDs == nil {
		callIDs = []uuid.UUID{}
	}
	out := map[string]int64{}
	for _, p := range append(append([]purge{}, callPurges...), userPurges...) {
		var n int64
		if err := db.pool.QueryRow(ctx, p.sql("SELECT count(*) FROM"), userID, callIDs).Scan(&n); err != nil {
			return nil, fmt.Errorf("verify erasure: %s: %w", p.Table, err)
		}
		out[p.Table] += n
	}
	var n int64
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM calls WHERE owner_id = $1`, userID).Scan(&n); err != nil {
		return nil, fmt.Errorf("verify erasure: calls: %w", err)
	}
	out["calls"] += n
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE subject_id = $1 OR actor = 'user:' || $1::text OR object_id = $1::text OR object_id = ANY($2::text[])`,
		userID, callIDs).Scan(&n); err != nil {
		return nil, fmt.Errorf("verify erasure: audit_log: %w", err)
	}
	out["audit_log"] = n
	return out, nil
}

// ErasureLedger lists every ledger entry, oldest first.
func (db *DB) ErasureLedger(ctx context.Context) ([]callscribe.ErasureEntry, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT id, request_id, subject_hash, email_hash, phone_hash, counts, reapplied, erased_at
		FROM erasure_ledger ORDER BY erased_at, id`)
	if err != nil {
		return nil, fmt.Errorf("read erasure ledger: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (callscribe.ErasureEntry, error) {
		var e callscribe.ErasureEntry
		err := row.Scan(&e.ID, &e.RequestID, &e.SubjectHash, &e.EmailHash, &e.PhoneHash, &e.Counts, &e.Reapplied, &e.ErasedAt)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("read erasure ledger: %w", err)
	}
	return out, nil
}

// ImportLedger adds entries the database lacks (after a restore) and reports how many.
func (db *DB) ImportLedger(ctx context.Context, entries []callscribe.ErasureEntry) (int, error) {
	var n int
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		n = 0
		for _, e := range entries {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM erasure_ledger WHERE id = $1)`, e.ID).Scan(&exists); err != nil {
				return err
			}
			if exists {
				continue
			}
			if err := insertLedger(ctx, tx, e); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("import erasure ledger: %w", err)
	}
	return n, nil
}

// Subjects calls fn for every user, erased ones included, in id order; 10,000 users are
// one streamed query.
func (db *DB) Subjects(ctx context.Context, fn func(callscribe.Subject) error) error {
	rows, err := db.pool.Query(ctx, `
		SELECT id, email, phone, CASE WHEN erased_at IS NULL THEN '' ELSE coalesce(erasure_request, '') END
		FROM users ORDER BY id`)
	if err != nil {
		return fmt.Errorf("list users: %w", err)
	}
	var subjects []callscribe.Subject
	for rows.Next() {
		var s callscribe.Subject
		if err := rows.Scan(&s.ID, &s.Email, &s.Phone, &s.ErasureRequest); err != nil {
			rows.Close()
			return fmt.Errorf("list users: %w", err)
		}
		subjects = append(subjects, s)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list users: %w", err)
	}
	// fn runs after the query is done: it may use the pool (an erasure).
	for _, s := range subjects {
		if err := fn(s); err != nil {
			return err
		}
	}
	return nil
}
