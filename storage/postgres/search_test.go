package postgres_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"callscribe"
	"callscribe/storage/pgtest"
	"callscribe/storage/postgres"
)

// searchOrg is a test's database with one organization and its users.
type searchOrg struct {
	t   *testing.T
	db  *postgres.DB
	org uuid.UUID
}

func newSearchOrg(t *testing.T, db *postgres.DB, name string) *searchOrg {
	t.Helper()
	if db == nil {
		var err error
		db, err = postgres.Open(callscribe.AsSystem(context.Background()), pgtest.DB(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(db.Close)
	}
	org, err := db.EnsureOrganization(callscribe.AsSystem(context.Background()), name)
	if err != nil {
		t.Fatal(err)
	}
	return &searchOrg{t: t, db: db, org: org}
}

func (s *searchOrg) user(email string) callscribe.User {
	s.t.Helper()
	ctx := callscribe.AsSystem(context.Background())
	u, err := s.db.CreateUser(ctx, callscribe.User{OrgID: s.org, Email: email})
	if err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.db.GrantConsent(ctx, u.ID, callscribe.PurposeTranscription, "1", callscribe.ConsentViaAPI, time.Now()); err != nil {
		s.t.Fatal(err)
	}
	return u
}

// call stores a completed call of u's, one segment per text, and the other party's
// phone when given.
func (s *searchOrg) call(u callscribe.User, phone string, texts ...string) uuid.UUID {
	s.t.Helper()
	ctx := callscribe.AsSystem(context.Background())
	id := stagedCall(s.t, s.db, u)
	if err := s.db.SetProcessing(ctx, id); err != nil {
		s.t.Fatal(err)
	}
	tr := callscribe.Transcript{CallID: id, Engine: "test", Text: strings.Join(texts, " "), DurationMS: int64(len(texts)) * 2000}
	for i, text := range texts {
		tr.Segments = append(tr.Segments, callscribe.Segment{Channel: i % 2, Speaker: []string{"agent", "client"}[i%2],
			StartMS: int64(i) * 2000, EndMS: int64(i)*2000 + 1500, Text: text})
	}
	if done, err := s.db.CompleteCall(ctx, u.ID, tr); err != nil || !done.Stored {
		s.t.Fatalf("store call: %+v, %v", done, err)
	}
	if phone != "" {
		if _, err := s.db.Pool().Exec(ctx, `UPDATE calls SET phone = $2 WHERE id = $1`, id, phone); err != nil {
			s.t.Fatal(err)
		}
	}
	return id
}

// search runs SearchCalls in the organization's scope.
func (s *searchOrg) search(f callscribe.CallFilter) []callscribe.CallHit {
	s.t.Helper()
	hits, err := s.db.SearchCalls(callscribe.WithOrg(context.Background(), s.org), f)
	if err != nil {
		s.t.Fatalf("SearchCalls(%+v): %v", f, err)
	}
	return hits
}

func ids(hits []callscribe.CallHit) []uuid.UUID {
	out := make([]uuid.UUID, len(hits))
	for i, h := range hits {
		out[i] = h.ID
	}
	return out
}

// TestSearchWords: the text query, in Russian and English, through the 'russian'
// configuration: another inflection of a Russian word finds it (stemming), an English
// plural finds the singular, a quoted phrase finds only the words in that order, -word
// leaves out a call that says the word anywhere, "or" finds either; each hit names its
// segment and start, and its snippet marks the words found.
func TestSearchWords(t *testing.T) {
	t.Parallel()
	s := newSearchOrg(t, nil, "acme")
	u := s.user("petrova@example.ru")
	contract := s.call(u, "", "Добрый день, слушаю вас", "Мы подписали договор в марте", "Хорошо, спасибо")
	discount := s.call(u, "", "Договоры на поставку готовы", "И скидка десять процентов")
	refund := s.call(u, "", "hello how can I help", "I want to ask about your refund policy please")
	reversed := s.call(u, "", "the policy says a refund takes a week")
	other := s.call(u, "", "погода сегодня хорошая")

	for _, c := range []struct {
		q    string
		want []uuid.UUID
	}{
		{"договоров", []uuid.UUID{contract, discount}}, // договор, Договоры: one stem
		{"ДОГОВОРОМ", []uuid.UUID{contract, discount}},
		{"refunds", []uuid.UUID{refund, reversed}},
		{`"refund policy"`, []uuid.UUID{refund}},
		{"договор -скидкой", []uuid.UUID{contract}},
		{"погоду or скидки", []uuid.UUID{discount, other}},
		{"кенгуру", nil},
		{"и", nil}, // a stop word alone: no lexeme, no match (and no error)
	} {
		got := ids(s.search(callscribe.CallFilter{Q: c.q}))
		slices.SortFunc(got, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
		slices.SortFunc(c.want, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
		if !slices.Equal(got, c.want) {
			t.Errorf("q %q found %v, want %v", c.q, got, c.want)
		}
	}

	hits := s.search(callscribe.CallFilter{Q: "договоры"})
	for _, h := range hits {
		if h.ID != contract {
			continue
		}
		if h.HitCount != 1 || len(h.Hits) != 1 {
			t.Fatalf("hit %+v: want one segment", h)
		}
		sh := h.Hits[0]
		if sh.Index != 1 || sh.StartMS != 2000 || sh.Speaker != "client" || sh.SegmentID == 0 {
			t.Errorf("segment hit %+v: want index 1, start 2000 ms, client", sh)
		}
		if want := "Мы подписали <mark>договор</mark> в марте"; string(sh.Snippet.HTML()) != want {
			t.Errorf("snippet %q, HTML %q; want %q", sh.Snippet, sh.Snippet.HTML(), want)
		}
		if h.Rank <= 0 {
			t.Errorf("rank %v; want > 0", h.Rank)
		}
	}
}

// TestSearchSnippetIsEscaped: stored text holding markup, quotes and the very sentinel
// characters the snippets use comes back escaped, with only the search's own marks.
func TestSearchSnippetIsEscaped(t *testing.T) {
	t.Parallel()
	s := newSearchOrg(t, nil, "acme")
	u := s.user("petrova@example.ru")
	s.call(u, "", `say <script>alert("x")</script> refund `+callscribe.MarkStart+`'now'`+callscribe.MarkEnd+` & go`)
	hits := s.search(callscribe.CallFilter{Q: "refund"})
	if len(hits) != 1 || len(hits[0].Hits) != 1 {
		t.Fatalf("hits %+v; want the one call and segment", hits)
	}
	html := string(hits[0].Hits[0].Snippet.HTML())
	want := `say &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; <mark>refund</mark> &#39;now&#39; &amp; go`
	if html != want {
		t.Errorf("snippet HTML\n %q\nwant\n %q", html, want)
	}
}

// TestSearchFilters: phone, external id, status, dates and owner narrow the listing;
// without a query it is newest first and keyset-paged, and so is a ranked search.
func TestSearchFilters(t *testing.T) {
	t.Parallel()
	s := newSearchOrg(t, nil, "acme")
	anna, boris := s.user("anna@example.ru"), s.user("boris@example.ru")
	var all []uuid.UUID
	for i := range 7 {
		phone := ""
		if i%3 == 0 {
			phone = "+79161357968"
		}
		owner := anna
		if i%2 == 1 {
			owner = boris
		}
		all = append(all, s.call(owner, phone, "заказ номер "+strings.Repeat("заказ ", i)+"готов"))
	}
	slices.Reverse(all) // newest first
	if _, err := s.db.Pool().Exec(callscribe.AsSystem(context.Background()),
		`UPDATE calls SET external_id = 'pbx-42' WHERE id = $1`, all[3]); err != nil {
		t.Fatal(err)
	}

	if got := ids(s.search(callscribe.CallFilter{})); !slices.Equal(got, all) {
		t.Errorf("list %v; want every call newest first %v", got, all)
	}
	if got := ids(s.search(callscribe.CallFilter{Phone: "+79161357968"})); !slices.Equal(got, []uuid.UUID{all[0], all[3], all[6]}) {
		t.Errorf("phone found %v; want %v", got, []uuid.UUID{all[0], all[3], all[6]})
	}
	if got := ids(s.search(callscribe.CallFilter{ExternalID: "pbx-42"})); !slices.Equal(got, []uuid.UUID{all[3]}) {
		t.Errorf("external id found %v; want %v", got, all[3])
	}
	if got := s.search(callscribe.CallFilter{OwnerID: &boris.ID}); len(got) != 3 {
		t.Errorf("boris's calls: %d; want 3", len(got))
	}
	if got := s.search(callscribe.CallFilter{Status: callscribe.CallFailed}); len(got) != 0 {
		t.Errorf("failed calls: %d; want none", len(got))
	}
	future := time.Now().Add(time.Hour)
	if got := s.search(callscribe.CallFilter{From: &future}); len(got) != 0 {
		t.Errorf("calls from an hour on: %d; want none", len(got))
	}
	if got := s.search(callscribe.CallFilter{To: &future, Q: "заказ", Phone: "+79161357968"}); len(got) != 3 {
		t.Errorf("calls before an hour on saying заказ with the phone: %d; want 3", len(got))
	}

	// "номер", said once in every call, ranks them all alike: pages follow the tie-break.
	for _, q := range []string{"", "заказы", "номер"} {
		var paged []uuid.UUID
		var after *callscribe.CallCursor
		for page := 0; ; page++ {
			hits := s.search(callscribe.CallFilter{Q: q, Limit: 3, After: after})
			paged = append(paged, ids(hits)...)
			if len(hits) < 3 || page > 5 {
				break
			}
			last := hits[len(hits)-1]
			after = &last.Cursor
		}
		got := slices.Clone(paged)
		slices.SortFunc(got, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
		want := slices.Clone(all)
		slices.SortFunc(want, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
		if !slices.Equal(got, want) {
			t.Errorf("q %q: pages of 3 gave %v; want each call once", q, paged)
		}
	}
	if hits := s.search(callscribe.CallFilter{Q: "номер"}); len(hits) != 7 || hits[0].Rank != hits[6].Rank {
		t.Errorf("q номер: %d calls, ranks %v … %v; want 7 of one rank (the tie the paging above went through)", len(hits), hits[0].Rank, hits[len(hits)-1].Rank)
	}
	// Ranked: the call that says заказ most often comes first.
	if hits := s.search(callscribe.CallFilter{Q: "заказ"}); len(hits) == 0 || hits[0].ID != all[0] || hits[0].Rank < hits[len(hits)-1].Rank {
		t.Errorf("ranked order %v; want %s (the most заказ) first", ids(hits), all[0])
	}
	ranked := &callscribe.CallCursor{CreatedAt: time.Now(), ID: all[0], Ranked: true, Rank: 0.5}
	if _, err := s.db.SearchCalls(callscribe.WithOrg(context.Background(), s.org), callscribe.CallFilter{After: ranked}); callscribe.ErrorCode(err) != callscribe.EINVALID {
		t.Errorf("a search's cursor on a plain listing: %v; want %s", err, callscribe.EINVALID)
	}
}

// TestSearchLeavesOut: calls of a blocked owner, of an owner being erased, and of
// another organization are found by no query, whatever the filter names; a context
// scoped to one organization finds nothing of another's even when asked for it.
func TestSearchLeavesOut(t *testing.T) {
	t.Parallel()
	a := newSearchOrg(t, nil, "acme")
	b := newSearchOrg(t, a.db, "globex")
	ctx := callscribe.AsSystem(context.Background())
	kept, blocked, erased := a.user("kept@example.ru"), a.user("blocked@example.ru"), a.user("erased@example.ru")
	other := b.user("other@example.ru")
	keptCall := a.call(kept, "+79161357968", "поставка оборудования")
	a.call(blocked, "+79161357968", "поставка оборудования")
	a.call(erased, "+79161357968", "поставка оборудования")
	otherCall := b.call(other, "+79161357968", "поставка оборудования")
	if _, err := a.db.BlockUser(ctx, blocked.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := a.db.MarkErased(ctx, erased.ID, "req-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, f := range []callscribe.CallFilter{{Q: "поставки"}, {Phone: "+79161357968"}, {}, {OwnerID: &erased.ID}, {OwnerID: &blocked.ID, Q: "поставка"}} {
		var want []uuid.UUID
		if f.OwnerID == nil {
			want = []uuid.UUID{keptCall}
		}
		if got := ids(a.search(f)); !slices.Equal(got, want) {
			t.Errorf("acme %+v found %v; want %v", f, got, want)
		}
	}
	// Asking acme's scope for globex's calls: row-level security answers nothing.
	hits, err := a.db.SearchCalls(callscribe.WithOrg(context.Background(), a.org), callscribe.CallFilter{OrgID: b.org, Q: "поставка"})
	if err != nil || len(hits) != 0 {
		t.Errorf("acme's scope asking for globex's calls: %v, %v; want nothing", ids(hits), err)
	}
	if got := ids(b.search(callscribe.CallFilter{Q: "поставка"})); !slices.Equal(got, []uuid.UUID{otherCall}) {
		t.Errorf("globex found %v; want its own call %s", got, otherCall)
	}
	if _, err := a.db.SearchCalls(context.Background(), callscribe.CallFilter{Q: "поставка"}); callscribe.ErrorCode(err) != callscribe.EINVALID {
		t.Errorf("no scope, no organization: %v; want %s", err, callscribe.EINVALID)
	}
}

// TestParallelSearchKeepsScope: the policies' scope functions are parallel safe
// (migration 00013), so a scan of many transcripts may run in parallel workers; a
// parallel plan still sees only the organization the session is scoped to.
func TestParallelSearchKeepsScope(t *testing.T) {
	t.Parallel()
	a := newSearchOrg(t, nil, "acme")
	b := newSearchOrg(t, a.db, "globex")
	ua, ub := a.user("a@example.ru"), b.user("b@example.ru")
	for range 3 {
		a.call(ua, "", "поставка оборудования")
	}
	for range 5 {
		b.call(ub, "", "поставка оборудования")
	}
	ctx := callscribe.WithOrg(context.Background(), a.org)
	conn, err := a.db.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	// Parallel plans at any size, for this session only (the connection is this test's
	// database's, dropped with it).
	if _, err := conn.Exec(ctx, `SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
		SET max_parallel_workers_per_gather = 2; SET enable_indexscan = off; SET enable_bitmapscan = off`); err != nil {
		t.Fatal(err)
	}
	const q = `SELECT count(*) FROM transcripts WHERE search @@ websearch_to_tsquery('russian', 'поставки')`
	var plan strings.Builder
	rows, err := conn.Query(ctx, `EXPLAIN `+q)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	if !strings.Contains(plan.String(), "Parallel Seq Scan") {
		t.Fatalf("want a parallel plan under the policy, got:\n%s", plan.String())
	}
	var n int
	if err := conn.QueryRow(ctx, q).Scan(&n); err != nil || n != 3 {
		t.Errorf("acme's scope counts %d matching transcripts in parallel (%v); want its 3", n, err)
	}
}

// TestSearchUsesTheIndex: under the row-level security policies the text match can be
// answered by the GIN index (migration 00013 marks it leakproof); without that, every
// search read every transcript of the organization.
func TestSearchUsesTheIndex(t *testing.T) {
	t.Parallel()
	s := newSearchOrg(t, nil, "acme")
	s.call(s.user("a@example.ru"), "", "поставка оборудования")
	ctx := callscribe.WithOrg(context.Background(), s.org)
	conn, err := s.db.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	// The table is tiny: without this a scan is cheaper, index or not.
	if _, err := conn.Exec(ctx, `SET enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"transcripts", "segments"} {
		var plan strings.Builder
		rows, err := conn.Query(ctx, `EXPLAIN SELECT id FROM `+table+` WHERE search @@ websearch_to_tsquery('russian', 'поставки')`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan.WriteString(line + "\n")
		}
		if rows.Err() != nil {
			t.Fatal(rows.Err())
		}
		if !strings.Contains(plan.String(), "Bitmap Index Scan on "+table+"_search_idx") {
			t.Errorf("%s: the match does not use the index under the policy:\n%s", table, plan.String())
		}
	}
}

// TestRetentionForgetsThePhone: the other party's number goes with the transcript when
// the organization's retention purges an old call (the call row and its receipt stay),
// also for a call that has no transcript; a newer call keeps its number.
func TestRetentionForgetsThePhone(t *testing.T) {
	t.Parallel()
	s := newSearchOrg(t, nil, "acme")
	u := s.user("a@example.ru")
	ctx := callscribe.AsSystem(context.Background())
	old := s.call(u, "+79161357968", "поставка оборудования")
	bare := stagedCall(t, s.db, u) // never transcribed
	newer := s.call(u, "+79161357968", "поставка оборудования")
	if _, err := s.db.Pool().Exec(ctx, `UPDATE calls SET phone = '+79161357968' WHERE id = $1`, bare); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Pool().Exec(ctx, `UPDATE calls SET created_at = now() - interval '200 days' WHERE id = ANY($1)`, []uuid.UUID{old, bare}); err != nil {
		t.Fatal(err)
	}
	for {
		counts, err := s.db.PurgeExpired(ctx, s.org, time.Now().AddDate(0, 0, -90), 10, "system:retention")
		if err != nil {
			t.Fatal(err)
		}
		if counts["calls"] == 0 {
			break
		}
		if counts["phones"] != 2 || counts["transcripts"] != 1 {
			t.Errorf("purge counts %v; want 2 phones forgotten, 1 transcript", counts)
		}
	}
	if got := ids(s.search(callscribe.CallFilter{Phone: "+79161357968"})); !slices.Equal(got, []uuid.UUID{newer}) {
		t.Errorf("calls with the number after retention: %v; want only the newer %s", got, newer)
	}
	if got := s.search(callscribe.CallFilter{}); len(got) != 3 {
		t.Errorf("calls after retention: %d; want all 3 kept", len(got))
	}
}
