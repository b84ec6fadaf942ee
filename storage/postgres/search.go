package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"callscribe"
)

// Search limits.
const (
	// DefaultCallLimit is a listing's page when the filter names none.
	DefaultCallLimit = 50
	// hitsPerCall is how many matching segments a found call shows, the best ranked.
	hitsPerCall = 3
)

// tsQuery is a query in web-search syntax ("phrase", or, -word) in the one
// configuration every tsvector is built with (migration 00013); $1 is always the text.
const tsQuery = `websearch_to_tsquery('` + callscribe.SearchConfig + `', $1)`

// The text a snippet is cut from goes to ts_headline with the sentinels stripped (so
// that every mark in a snippet is a match) and with '<' and '>' swapped for two more
// private-use characters: ts_headline takes anything between angle brackets for an
// HTML tag and drops it, and a snippet must show what was said, "<script>" included.
// unswap puts them back; callscribe.Snippet.HTML escapes them.
const (
	ltStandIn = ""
	gtStandIn = ""
	stripped  = callscribe.MarkStart + callscribe.MarkEnd + ltStandIn + gtStandIn
)

var unswap = strings.NewReplacer(ltStandIn, "<", gtStandIn, ">")

// headlineOptions frame each match of a snippet in the sentinels callscribe.Snippet
// turns into marks: a segment of up to 35 words whole, a longer one cut to the 15 to 35
// words around its first match.
var headlineOptions = fmt.Sprintf(`StartSel="%s", StopSel="%s", MaxWords=35, MinWords=15, ShortWord=1`,
	callscribe.MarkStart, callscribe.MarkEnd)

// SearchCalls lists calls of an organization by the filter: newest first, or with a
// text query (f.Q) the calls whose transcript matches it, best ranked first, each with
// its best matching segments (where, and a snippet with the matched words marked). Both
// are keyset-paged by f.After (the last call of the previous page, with its rank for a
// text query). The organization is f.OrgID, or else the one the context is scoped to;
// row-level security holds the query to the context's scope either way, and a context
// scoped to the system with no f.OrgID lists every organization's calls (the operator's
// CLI). Calls of a blocked owner (kept, not shown) and of an owner being erased are left
// out, and with them their hits.
func (db *DB) SearchCalls(ctx context.Context, f callscribe.CallFilter) ([]callscribe.CallHit, error) {
	org := f.OrgID
	scope := callscribe.ScopeOf(ctx)
	if org == uuid.Nil {
		org = scope.OrgID
	}
	if org == uuid.Nil && !scope.System {
		return nil, callscribe.Errorf(callscribe.EINVALID, "a call listing needs an organization")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultCallLimit
	}
	q := strings.TrimSpace(f.Q)
	ranked := q != ""
	if f.After != nil && f.After.Ranked != ranked {
		return nil, callscribe.Errorf(callscribe.EINVALID, "the cursor belongs to another query: start again from the first page")
	}

	// The conditions present, and only those: a plan made for "phone = $n OR $n = ''"
	// cannot use the phone's index once PostgreSQL caches it generically.
	var args []any
	if ranked {
		args = append(args, q) // $1 of tsQuery
	}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	where := []string{"u.blocked_at IS NULL", "u.erased_at IS NULL"}
	orgArg := ""
	if org != uuid.Nil {
		orgArg = arg(org)
		where = append(where, "c.organization_id = "+orgArg)
	}
	if f.OwnerID != nil {
		where = append(where, "c.owner_id = "+arg(*f.OwnerID))
	}
	if f.Status != "" {
		where = append(where, callStatus+" = "+arg(string(f.Status)))
	}
	if f.From != nil {
		where = append(where, "c.created_at >= "+arg(*f.From))
	}
	if f.To != nil {
		where = append(where, "c.created_at < "+arg(*f.To))
	}
	if f.Phone != "" {
		where = append(where, "c.phone = "+arg(f.Phone))
	}
	if f.ExternalID != "" {
		where = append(where, "c.external_id = "+arg(f.ExternalID))
	}

	var sql string
	if !ranked {
		if f.After != nil {
			where = append(where, "(c.created_at, c.id) < ("+arg(f.After.CreatedAt)+"::timestamptz, "+arg(f.After.ID)+"::uuid)")
		}
		sql = `SELECT ` + callColumns + `, 0::real, NULL::uuid` + callFrom + `
			WHERE ` + strings.Join(where, " AND ") + `
			ORDER BY c.created_at DESC, c.id DESC LIMIT ` + arg(limit)
	} else {
		match := "t.search @@ " + tsQuery
		if orgArg != "" {
			// Said again of the transcript, so that the match is narrowed to the
			// organization before the join.
			match += " AND t.organization_id = " + orgArg
		}
		if f.After != nil {
			where = append(where, "(m.rank, c.created_at, c.id) < ("+arg(f.After.Rank)+"::real, "+
				arg(f.After.CreatedAt)+"::timestamptz, "+arg(f.After.ID)+"::uuid)")
		}
		sql = `SELECT ` + callColumns + `, m.rank, m.id
			FROM (SELECT t.id, t.call_id, ts_rank(t.search, ` + tsQuery + `) AS rank
			      FROM transcripts t WHERE ` + match + `) m
			JOIN calls c ON c.id = m.call_id JOIN users u ON u.id = c.owner_id
			LEFT JOIN call_stages s ON s.call_id = c.id
			LEFT JOIN audio_deletion_receipts r ON r.call_id = c.id` + callJob + `
			WHERE ` + strings.Join(where, " AND ") + `
			ORDER BY m.rank DESC, c.created_at DESC, c.id DESC LIMIT ` + arg(limit)
	}
	rows, err := db.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("search calls: %w", err)
	}
	var transcripts []uuid.UUID
	byTranscript := map[uuid.UUID]int{}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (callscribe.CallHit, error) {
		var h callscribe.CallHit
		var transcript *uuid.UUID
		c, err := scanCall(row, &h.Rank, &transcript)
		if c.Staging != nil {
			c.Staging.Key = nil
		}
		h.Call = c
		if err == nil && transcript != nil {
			byTranscript[*transcript] = len(transcripts)
			transcripts = append(transcripts, *transcript)
		}
		return h, err
	})
	if err != nil {
		return nil, fmt.Errorf("search calls: %w", err)
	}
	if !ranked || len(out) == 0 {
		return out, nil
	}
	if err := db.segmentHits(ctx, q, transcripts, func(i int, hit callscribe.SegmentHit, n int) {
		out[i].HitCount = n
		out[i].Hits = append(out[i].Hits, hit)
	}, byTranscript); err != nil {
		return nil, err
	}
	return out, nil
}

// segmentHits finds, for each transcript, its segments that match q: the best ranked
// hitsPerCall of them in time order, with their snippets and the count of all that
// match. add gets the transcript's position (through index) and each hit.
func (db *DB) segmentHits(ctx context.Context, q string, transcripts []uuid.UUID, add func(i int, hit callscribe.SegmentHit, n int), index map[uuid.UUID]int) error {
	rows, err := db.pool.Query(ctx, `
		SELECT transcript_id, id, ord, start_ms, speaker, n,
		       ts_headline('`+callscribe.SearchConfig+`', translate(translate(text, $3, ''), '<>', $6), `+tsQuery+`, $4)
		FROM (SELECT s.transcript_id, s.id, s.ord, s.start_ms, s.speaker, s.text,
		             row_number() OVER (PARTITION BY s.transcript_id ORDER BY ts_rank(s.search, `+tsQuery+`) DESC, s.ord) AS best,
		             count(*) OVER (PARTITION BY s.transcript_id) AS n
		      FROM segments s
		      WHERE s.transcript_id = ANY($2::uuid[]) AND s.search @@ `+tsQuery+`) x
		WHERE best <= $5
		ORDER BY transcript_id, ord`,
		q, transcripts, stripped, headlineOptions, hitsPerCall, ltStandIn+gtStandIn)
	if err != nil {
		return fmt.Errorf("search segments: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var transcript uuid.UUID
		var h callscribe.SegmentHit
		var n int
		var snippet string
		if err := rows.Scan(&transcript, &h.SegmentID, &h.Index, &h.StartMS, &h.Speaker, &n, &snippet); err != nil {
			return fmt.Errorf("search segments: %w", err)
		}
		h.Snippet = callscribe.Snippet(unswap.Replace(snippet))
		add(index[transcript], h, n)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("search segments: %w", err)
	}
	return nil
}
