package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

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
	ltStandIn = "\uE002"
	gtStandIn = "\uE003"
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
	// Who: the organization and the owner. What: the conditions on the call itself.
	var who, what []string
	if org != uuid.Nil {
		who = append(who, "organization_id = "+arg(org))
	}
	if f.OwnerID != nil {
		who = append(who, "owner_id = "+arg(*f.OwnerID))
	}
	needJob := false
	switch {
	case f.Status.Ended():
		// A call that has ended has the status it says; the job need not be read for
		// every call the filter passes over (250 ms for a month of 100,000 calls).
		what = append(what, "c.status = "+arg(string(f.Status)))
	case f.Status != "":
		what = append(what, callStatus+" = "+arg(string(f.Status)))
		needJob = true
	}
	if f.From != nil {
		what = append(what, "c.created_at >= "+arg(*f.From))
	}
	if f.To != nil {
		what = append(what, "c.created_at < "+arg(*f.To))
	}
	if f.Phone != "" {
		what = append(what, "c.phone = "+arg(f.Phone))
	}
	if f.ExternalID != "" {
		what = append(what, "c.external_id = "+arg(f.ExternalID))
	}
	job := ""
	if needJob {
		job = callJob
	}

	if !ranked {
		where := []string{"u.blocked_at IS NULL", "u.erased_at IS NULL"}
		for _, w := range who {
			where = append(where, "c."+w)
		}
		where = append(where, what...)
		if f.After != nil {
			where = append(where, "(c.created_at, c.id) < ("+arg(f.After.CreatedAt)+"::timestamptz, "+arg(f.After.ID)+"::uuid)")
		}
		sql := `SELECT ` + callColumns + `, 0::real, c.created_at, c.id, 0, NULL::bigint[], NULL::int[], NULL::bigint[], NULL::text[], NULL::text[]` + callFrom + `
			WHERE ` + strings.Join(where, " AND ") + `
			ORDER BY c.created_at DESC, c.id DESC LIMIT ` + arg(limit)
		rows, err := db.pool.Query(ctx, sql, args...)
		if err != nil {
			return nil, fmt.Errorf("search calls: %w", err)
		}
		return collectHits(rows, false)
	}

	// A text query ranks the matching transcripts as the bare query does, from the
	// transcripts' own columns (their organization and owner are written on them,
	// migration 00017): the calls are read only for the page (hitsSQL), or, when the
	// filter says something of the call itself, each match's call by its key. Joined to
	// the calls and their owners before ranking, the planner read every call of the
	// organization and looked up its transcript (2.1 s for a phrase 146 of 100,000 calls
	// say; 0.13 s this way).
	where := []string{"t.search @@ " + tsQuery}
	for _, w := range who {
		where = append(where, "t."+w)
	}
	// A blocked owner's calls are kept, not shown; an owner being erased is gone. Read
	// once, as an array (an init plan): "NOT IN (SELECT ...)" is a sub-plan, which keeps
	// the ranking of a common word on one core (1.65 s against 0.74 s on two).
	where = append(where, "t.owner_id <> ALL (ARRAY(SELECT id FROM users WHERE blocked_at IS NOT NULL OR erased_at IS NOT NULL))")
	if len(what) > 0 {
		where = append(where, "EXISTS (SELECT 1 FROM calls c"+job+" WHERE c.id = t.call_id AND "+strings.Join(what, " AND ")+")")
	}
	page := ""
	if f.After != nil {
		page = "WHERE (m.rank, m.created_at, m.id) < (" + arg(f.After.Rank) + "::real, " +
			arg(f.After.CreatedAt) + "::timestamptz, " + arg(f.After.ID) + "::uuid)"
	}
	// Among calls of one rank, the newest transcript comes first: the order is the
	// transcripts' own, so that the workers that rank them sort them too.
	sql := `SELECT m.id, m.rank, m.created_at, m.call_id
		FROM (SELECT t.id, t.call_id, t.created_at, ts_rank(t.search, ` + tsQuery + `) AS rank
		      FROM transcripts t WHERE ` + strings.Join(where, " AND ") + `) m ` + page + `
		ORDER BY m.rank DESC, m.created_at DESC, m.id DESC LIMIT ` + arg(limit)
	return db.searchPage(ctx, q, sql, args)
}

// hitsSQL reads the calls of a search's page ($2, with their ranks, transcripts'
// creation and ids, in the page's order) and their hits: the best ranked matching
// segments of each, in time order, each with its snippet (ts_headline runs for those
// alone), and the count of all that match. A call's segments are read by its transcript
// and matched one by one (OFFSET 0 keeps the match out of the scan): ANDed with the
// segments' GIN index, a common word cost 12 ms a call, 240 ms a page. Its text is
// always the same, so PostgreSQL plans it once per connection.
var hitsSQL = `SELECT ` + callColumns + `, p.rank, p.transcript_at, p.transcript_id,
		coalesce(h.n, 0), h.ids, h.ords, h.starts, h.speakers, h.snippets
	FROM unnest($2::uuid[], $3::real[], $4::timestamptz[], $5::uuid[]) WITH ORDINALITY AS p(id, rank, transcript_at, transcript_id, pos)
	JOIN calls c ON c.id = p.id JOIN users u ON u.id = c.owner_id
	LEFT JOIN call_stages s ON s.call_id = c.id
	LEFT JOIN audio_deletion_receipts r ON r.call_id = c.id` + callJob + `
	LEFT JOIN LATERAL (
		SELECT max(x.n) AS n, array_agg(x.id ORDER BY x.ord) AS ids, array_agg(x.ord ORDER BY x.ord) AS ords,
		       array_agg(x.start_ms ORDER BY x.ord) AS starts, array_agg(x.speaker ORDER BY x.ord) AS speakers,
		       array_agg(ts_headline('` + callscribe.SearchConfig + `', translate(translate(x.text, $6, ''), '<>', $7), ` + tsQuery + `, $8) ORDER BY x.ord) AS snippets
		FROM (SELECT sg.id, sg.ord, sg.start_ms, sg.speaker, sg.text, count(*) OVER () AS n
		      FROM (SELECT * FROM segments WHERE transcript_id = p.transcript_id OFFSET 0) sg
		      WHERE sg.search @@ ` + tsQuery + `
		      ORDER BY ts_rank(sg.search, ` + tsQuery + `) DESC, sg.ord LIMIT $9) x
	) h ON true
	WHERE u.blocked_at IS NULL AND u.erased_at IS NULL
	ORDER BY p.pos`

// searchPage runs a text search in two statements on one connection: the page (sql:
// which calls, in which order), planned for the very words each time, then the page's
// calls and hits (hitsSQL), planned once. The page is sent with the simple protocol (the
// values in the text, escaped by pgx): a cached generic plan cannot know how common the
// words are, and for 100,000 transcripts it chose to parse the query again on every row
// instead of asking the index (1.8 s against 0.5 s for a phrase that 146 calls say).
// The calls and hits are not planned with it: on the benchmark's machine under load,
// planning the whole as one statement took 13 ms, the page alone 4 to 7 ms, and a word
// that a few calls say is found in 2 ms once planned.
func (db *DB) searchPage(ctx context.Context, q, sql string, args []any) ([]callscribe.CallHit, error) {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("search calls: %w", err)
	}
	defer conn.Release()
	rows, err := conn.Query(ctx, sql, append([]any{pgx.QueryExecModeSimpleProtocol}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("search calls: %w", err)
	}
	var (
		calls, transcripts []uuid.UUID
		ranks              []float32
		at                 []time.Time
	)
	for rows.Next() {
		var transcript, call uuid.UUID
		var rank float32
		var t time.Time
		if err := rows.Scan(&transcript, &rank, &t, &call); err != nil {
			rows.Close()
			return nil, fmt.Errorf("search calls: %w", err)
		}
		calls, transcripts, ranks, at = append(calls, call), append(transcripts, transcript), append(ranks, rank), append(at, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search calls: %w", err)
	}
	if len(calls) == 0 {
		return nil, nil
	}
	rows, err = conn.Query(ctx, hitsSQL, q, calls, ranks, at, transcripts, stripped, ltStandIn+gtStandIn, headlineOptions, hitsPerCall)
	if err != nil {
		return nil, fmt.Errorf("search calls: %w", err)
	}
	return collectHits(rows, true)
}

// collectHits scans the rows of a listing (ranked: of a search's page).
func collectHits(rows pgx.Rows, ranked bool) ([]callscribe.CallHit, error) {
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (callscribe.CallHit, error) {
		var h callscribe.CallHit
		var (
			ids             []int64
			ords            []int32
			starts          []int64
			speakers, snips []string
		)
		c, err := scanCall(row, &h.Rank, &h.Cursor.CreatedAt, &h.Cursor.ID, &h.HitCount, &ids, &ords, &starts, &speakers, &snips)
		if c.Staging != nil {
			c.Staging.Key = nil
		}
		h.Call = c
		h.Cursor.Ranked, h.Cursor.Rank = ranked, h.Rank
		for i := range ids {
			h.Hits = append(h.Hits, callscribe.SegmentHit{SegmentID: ids[i], Index: int(ords[i]), StartMS: starts[i],
				Speaker: speakers[i], Snippet: callscribe.Snippet(unswap.Replace(snips[i]))})
		}
		return h, err
	})
	if err != nil {
		return nil, fmt.Errorf("search calls: %w", err)
	}
	return out, nil
}
