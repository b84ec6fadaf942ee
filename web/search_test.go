package web_test

import (
	"bytes"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"

	"callscribe/internal/testcall"
)

// found lists the ids of the calls a GET /v1/calls answer holds, failing on anything but 200.
func found(t *testing.T, r reply) []string {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("GET /v1/calls: %d %s", r.status, r.body)
	}
	calls, _ := r.json(t)["calls"].([]any)
	var out []string
	for _, c := range calls {
		out = append(out, c.(map[string]any)["id"].(string))
	}
	return out
}

// searchPath is GET /v1/calls with the given parameters, encoded.
func searchPath(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return "/v1/calls?" + v.Encode()
}

// TestSearchOverAPI: a call the real pipeline transcribed (PocketSphinx on flite's
// voices), uploaded with the other party's phone, is found by an English phrase in
// quotes (and not by the same words reversed), by its phone written another way, and
// not by another organization's key. After a segment is corrected through PATCH (the
// privacy.Corrections path) the new word is found, in another inflection, and the old
// one no longer; each hit names its segment and start and marks the words. Once the
// owner is erased, nothing finds the call. A Russian word is found in another
// inflection. Unknown parameters and bad values are refused, naming them.
func TestSearchOverAPI(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{work: true})
	org, key := h.org("acme")
	_, otherKey := h.org("globex")
	u := h.user(org, "ivanova@example.ru", true)
	path, _ := testcall.Stereo(t, t.TempDir(), 0.6, testcall.Dialogue(testcall.Sentences[:4]...))
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	up := h.do("POST", ownerQuery(u.Email, "&phone="+url.QueryEscape("8 (916) 135-79-68")), key, "audio/wav", bytes.NewReader(file))
	if up.status != http.StatusAccepted {
		t.Fatalf("upload: %d %s", up.status, up.body)
	}
	id, _ := up.json(t)["id"].(string)
	if c := h.waitEnded(key, id); c["status"] != "completed" || c["phone"] != "+79161357968" {
		t.Fatalf("call %v; want completed with phone +79161357968", c)
	}
	if bad := h.do("POST", ownerQuery(u.Email, "&phone=12ab"), key, "audio/wav", bytes.NewReader(file)); bad.status != http.StatusBadRequest ||
		!strings.Contains(string(bad.body), "phone") {
		t.Errorf("upload with phone 12ab: %d %s; want 400 naming phone", bad.status, bad.body)
	}

	// The words PocketSphinx heard: a phrase of two long adjacent words, and a word said
	// in one segment only.
	tr := h.get("/v1/calls/"+id+"/transcript", key).json(t)
	segs, _ := tr["segments"].([]any)
	all := strings.Fields(tr["text"].(string))
	var phrase [2]string
	seg, unique := -1, ""
	for i, s := range segs {
		words := strings.Fields(s.(map[string]any)["text"].(string))
		for j := 0; j+1 < len(words) && phrase[0] == ""; j++ {
			if len(words[j]) >= 5 && len(words[j+1]) >= 5 {
				phrase = [2]string{words[j], words[j+1]}
			}
		}
		for _, w := range words {
			if seg < 0 && len(w) >= 5 && sharing(all, w) == 1 {
				seg, unique = i, w
			}
		}
	}
	if phrase[0] == "" || seg < 0 {
		t.Fatalf("transcript %q: no two adjacent long words, or no long word said once", tr["text"])
	}

	quoted := `"` + phrase[0] + " " + phrase[1] + `"`
	r := h.get(searchPath("q", quoted), key)
	if got := found(t, r); len(got) != 1 || got[0] != id {
		t.Fatalf("q %s found %v; want the call %s", quoted, got, id)
	}
	hit := r.json(t)["calls"].([]any)[0].(map[string]any)
	hits, _ := hit["hits"].([]any)
	if len(hits) == 0 || hit["rank"] == nil {
		t.Fatalf("hit %v: want a rank and the matching segments", hit)
	}
	first := hits[0].(map[string]any)
	if html, _ := first["snippet_html"].(string); !strings.Contains(html, "<mark>"+phrase[0]+"</mark>") || first["segment"] == nil || first["start_ms"] == nil {
		t.Errorf("segment hit %v: want segment, start_ms and %s marked", first, phrase[0])
	}
	if reversed := `"` + phrase[1] + " " + phrase[0] + `"`; !strings.Contains(tr["text"].(string), phrase[1]+" "+phrase[0]) {
		if got := found(t, h.get(searchPath("q", reversed), key)); len(got) != 0 {
			t.Errorf("q %s (the words reversed) found %v; want nothing", reversed, got)
		}
	}
	for _, phone := range []string{"+7 916 135 79 68", "89161357968", "+7(916)1357968"} {
		if got := found(t, h.get(searchPath("phone", phone), key)); len(got) != 1 || got[0] != id {
			t.Errorf("phone %q found %v; want %s", phone, got, id)
		}
	}
	if got := found(t, h.get(searchPath("phone", "+7 916 000 00 00"), key)); len(got) != 0 {
		t.Errorf("another phone found %v; want nothing", got)
	}
	if got := found(t, h.get(searchPath("q", quoted), otherKey)); len(got) != 0 {
		t.Errorf("another organization's key found %v", got)
	}

	// A correction through the API: search follows it at once.
	n := strconv.Itoa(seg + 1)
	if r := h.do("PATCH", "/v1/calls/"+id+"/transcript/segments/"+n, key, "application/json",
		strings.NewReader(`{"text": "the kangaroo jumped"}`)); r.status != http.StatusOK {
		t.Fatalf("PATCH segment %s: %d %s", n, r.status, r.body)
	}
	if got := found(t, h.get(searchPath("q", unique), key)); len(got) != 0 {
		t.Errorf("q %s (the word corrected away) found %v; want nothing", unique, got)
	}
	r = h.get(searchPath("q", "kangaroos"), key)
	if got := found(t, r); len(got) != 1 || got[0] != id {
		t.Fatalf("q kangaroos (corrected in: kangaroo) found %v; want %s", got, id)
	}
	first = r.json(t)["calls"].([]any)[0].(map[string]any)["hits"].([]any)[0].(map[string]any)
	if first["segment"] != float64(seg+1) || first["snippet_html"] != "the <mark>kangaroo</mark> jumped" {
		t.Errorf("hit %v; want segment %d, snippet with kangaroo marked", first, seg+1)
	}
	before := h.count(`SELECT count(*) FROM audit_log WHERE action = 'transcript.read' AND object_id = $1`, id)
	h.get(searchPath("q", "kangaroo"), key)
	if after := h.count(`SELECT count(*) FROM audit_log WHERE action = 'transcript.read' AND object_id = $1`, id); after != before+1 {
		t.Errorf("a search showing the call's words audited %d reads; want 1", after-before)
	}

	// Russian, seeded: another inflection finds the word.
	petrova := h.person(org, "petrova", 0)
	ru := h.storedCall(petrova.user, "Добрый день", "Мы подписали договор в марте")
	if got := found(t, h.get(searchPath("q", "договорами"), key)); len(got) != 1 || got[0] != ru.String() {
		t.Errorf("q договорами found %v; want %s (договор)", got, ru)
	}

	for _, c := range []struct{ path, names string }{
		{"/v1/calls?search=kangaroo", "search"},
		{"/v1/calls?from=yesterday", "from"},
		{"/v1/calls?to=2026-13-01", "to"},
		{"/v1/calls?limit=0", "limit"},
		{"/v1/calls?limit=many", "limit"},
		{"/v1/calls?phone=12ab", "phone"},
		{"/v1/calls?status=lost", "status"},
		{"/v1/calls?cursor=xyz", "cursor"},
	} {
		if r := h.get(c.path, key); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), c.names) {
			t.Errorf("GET %s: %d %s; want 400 naming %s", c.path, r.status, r.body, c.names)
		}
	}
	if r := h.get("/v1/calls?from=2026-01-31&to=2099-01-31", key); r.status != http.StatusOK {
		t.Errorf("dates alone: %d %s; want 200", r.status, r.body)
	}

	h.closeErasure(key, u)
	for _, p := range []string{searchPath("q", "kangaroo"), searchPath("phone", "89161357968"), searchPath("q", phrase[0])} {
		if got := found(t, h.get(p, key)); len(got) != 0 {
			t.Errorf("after the owner's erasure %s found %v; want nothing", p, got)
		}
	}
}

// sharing counts the words of all that begin as w does (its first four letters): a
// word counted once has no other inflection in the text either.
func sharing(all []string, w string) int {
	n := 0
	for _, a := range all {
		if len(a) >= 4 && a[:4] == w[:4] {
			n++
		}
	}
	return n
}

// TestSearchPagesOverAPI: a search's next_cursor leads through every match once, ties
// of rank included; a search's cursor is refused for a plain listing, and a listing's
// cursor for a search.
func TestSearchPagesOverAPI(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	org, key := h.org("acme")
	p := h.person(org, "petrova", 0)
	want := map[string]bool{}
	for i := range 5 {
		// One "договор" each, in calls of different lengths: a tie of rank.
		want[h.storedCall(p.user, "мы подписали договор", strings.Repeat("спасибо ", i+1)).String()] = true
	}
	h.storedCall(p.user, "погода хорошая")
	seen := map[string]int{}
	path := searchPath("q", "договоры", "limit", "2")
	var cursor string
	for page := 0; path != "" && page < 5; page++ {
		r := h.get(path, key)
		for _, id := range found(t, r) {
			seen[id]++
		}
		cursor, _ = r.json(t)["next_cursor"].(string)
		path = ""
		if cursor != "" {
			path = searchPath("q", "договоры", "limit", "2", "cursor", cursor)
		}
	}
	for id := range want {
		if seen[id] != 1 {
			t.Errorf("call %s seen %d times over the pages; want once", id, seen[id])
		}
	}
	if len(seen) != len(want) {
		t.Errorf("pages held %d calls; want the %d that say договор", len(seen), len(want))
	}
	first := h.get(searchPath("q", "договоры", "limit", "1"), key).json(t)
	ranked, _ := first["next_cursor"].(string)
	if r := h.get(searchPath("cursor", ranked), key); ranked == "" || r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "cursor") {
		t.Errorf("a search's cursor %q for a listing: %d %s; want 400 naming cursor", ranked, r.status, r.body)
	}
	plain, _ := h.get(searchPath("limit", "1"), key).json(t)["next_cursor"].(string)
	if r := h.get(searchPath("q", "договоры", "cursor", plain), key); plain == "" || r.status != http.StatusBadRequest {
		t.Errorf("a listing's cursor %q for a search: %d %s; want 400", plain, r.status, r.body)
	}
}
