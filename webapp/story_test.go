package webapp_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"callscribe"
	"callscribe/accounts"
	"callscribe/asr"
	"callscribe/asr/sphinx"
	"callscribe/audio"
	"callscribe/internal/browser"
	"callscribe/internal/eventually"
	"callscribe/internal/testcall"
	"callscribe/pipeline"
	"callscribe/storage/memory"
	"callscribe/storage/postgres"
)

var recognizer = sync.OnceValues(func() (*sphinx.Recognizer, error) { return sphinx.New(sphinx.Config{}) })

// newPipeline is the pipeline `callscribe serve` runs, on the test's database, with
// PocketSphinx and the memory stage.
func newPipeline(t *testing.T, db *postgres.DB, queued *postgres.Queued, log *slog.Logger) *pipeline.Pipeline {
	t.Helper()
	rec, err := recognizer()
	if err != nil {
		t.Fatal(err)
	}
	decode := func(ctx context.Context, r io.Reader, ch int) (int, io.ReadCloser, error) {
		d, err := audio.Open(r)
		if err != nil {
			return 0, nil, err
		}
		return d.Format().Channels, audio.Channel(ctx, d, ch, asr.SampleRate), nil
	}
	return pipeline.New(pipeline.Config{Store: queued, Service: queued, Watcher: db, Stage: memory.New(0),
		Decode: decode, Transcriber: rec, Logger: log, ConsentPoll: 50 * time.Millisecond})
}

// upload sends a recording through the pipeline as the ingest endpoint does and waits
// until it is transcribed.
func (a *readersApp) upload(owner accounts.Account, path, phone string) string {
	a.t.Helper()
	f, err := os.Open(path)
	if err != nil {
		a.t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	ctx := callscribe.WithOrg(context.Background(), owner.OrgID)
	acc, err := a.Pipeline.Accept(ctx, pipeline.Upload{Owner: owner.User, Phone: phone, Roles: []string{"agent", "client"}, Audio: f, Size: st.Size()})
	if err != nil {
		a.t.Fatalf("upload: %v", err)
	}
	eventually.True(a.t, 3*time.Minute, "the call is transcribed", func() bool {
		c, err := a.DB.Call(ctx, owner.OrgID, acc.CallID)
		if err != nil || c.Status == callscribe.CallFailed {
			a.t.Fatalf("call %s: %+v, %v", acc.CallID, c.Status, err)
		}
		return c.Status == callscribe.CallCompleted && c.Receipt != nil
	})
	return acc.CallID.String()
}

// page checks the page the tab is on as every page is checked: axe-core finds no
// accessibility violation, the keyboard reaches every control in order, starting at
// the skip link; and saves its screenshot.
func page(t *testing.T, b *browser.Tab, name string) {
	t.Helper()
	b.CheckAxe(name)
	keyboardWalk(t, b, name)
	b.Screenshot(name)
}

// keyboardWalk tabs through the page from its top: the first stop is the skip link, and
// every link, button and field (the ones a person can see, outside closed disclosures)
// is reached, each with a visible focus outline.
func keyboardWalk(t *testing.T, b *browser.Tab, name string) {
	t.Helper()
	const focusable = `Array.from(document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary')).filter(e => !e.disabled && !(e.closest('details:not([open])') && e.tagName !== 'SUMMARY' && !e.closest('details:not([open]) > summary')) && (e.offsetParent !== null || e.classList.contains('skip')))`
	n, err := browser.Eval[int](b, focusable+`.length`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := browser.Eval[bool](b, `(document.activeElement && document.activeElement.blur(), window.__seen = new Set(), true)`); err != nil {
		t.Fatal(err)
	}
	b.Press("\t")
	// The first stop is the skip link; on a page opened at an anchor (#seg-2 after a
	// correction) the browser starts from the anchor's element, as it should.
	if first, _ := browser.Eval[string](b, `location.hash ? (document.querySelector(location.hash).contains(document.activeElement) || document.querySelector(location.hash).compareDocumentPosition(document.activeElement) & Node.DOCUMENT_POSITION_FOLLOWING ? "skip" : document.activeElement.outerHTML) : document.activeElement.className`); first != "skip" {
		t.Errorf("%s: the first Tab stops on %q, want the skip link", name, first)
	}
	// A date field takes a Tab per part (day, month, year): up to four stops a control.
	for i := 0; i < 4*n+10; i++ {
		if _, err := browser.Eval[bool](b, `(window.__seen.add(document.activeElement), getComputedStyle(document.activeElement).outlineStyle !== "none" || document.activeElement === document.body || (window.__nooutline = document.activeElement.outerHTML.slice(0, 80), false))`); err != nil {
			t.Fatal(err)
		}
		b.Press("\t")
		if done, _ := browser.Eval[bool](b, focusable+`.every(e => window.__seen.has(e))`); done {
			break
		}
	}
	missed, err := browser.Eval[[]string](b, focusable+`.filter(e => !window.__seen.has(e)).map(e => e.outerHTML.slice(0, 100))`)
	if err != nil {
		t.Fatal(err)
	}
	if len(missed) > 0 {
		t.Errorf("%s: Tab never reaches %d of %d controls: %v", name, len(missed), n, missed)
	}
	if no, _ := browser.Eval[string](b, `window.__nooutline || ""`); no != "" {
		t.Errorf("%s: focus is not visible on %s", name, no)
	}
}

// signIn signs in through the form, from the keyboard: Tab to the email field, type,
// Tab, type, Enter.
func signInByKeyboard(t *testing.T, b *browser.Tab, email, password, next string) {
	t.Helper()
	b.Go("/signin?next=" + url.QueryEscape(next))
	b.Fill("#email", email)
	b.Fill("#password", password)
	if _, err := browser.Eval[bool](b, `(document.querySelector("#password").focus(), window.__old = true)`); err != nil {
		t.Fatal(err)
	}
	b.Press("\r")
	b.WaitNewPage()
}

var wordRE = regexp.MustCompile(`[a-z]{5,}`)

// TestBrowserStory is the story in headless Chromium, on a call transcribed by
// the real pipeline (flite speaks, PocketSphinx recognises) and a seeded Russian one:
// find calls by a Russian word in another form, by an English phrase, by phone; open
// one; correct a segment, and the search follows; download the docx and read its text;
// withdraw consent on the privacy desk; file an erasure request; as the officer see it
// with its due date and close it; the calls are gone from every page and the search.
// Every page passes axe-core and the keyboard walk; each is saved as a screenshot.
func TestBrowserStory(t *testing.T) {
	t.Parallel()
	testcall.Require(t, "flite", "sox")
	a := newReadersApp(t, func(o *readersOptions) { o.pipeline = true })
	a.person(alice(), "")
	_, user := a.person(bob(), accounts.RoleMember)
	_, _ = a.person(olga(), accounts.RoleOfficer)

	path, _ := testcall.Stereo(t, t.TempDir(), 0.6, testcall.Dialogue(testcall.Sentences[:4]...))
	real := a.upload(user, path, "+74951234567")
	ru := a.call(user, "+79160001122", "Клиент уточнил условия поставки.", "Добрый день, звоню по поводу договоров поставки", "Да, слушаю вас внимательно")
	tr, err := a.DB.Transcript(callscribe.AsSystem(context.Background()), uuidOf(t, real))
	if err != nil || len(tr.Segments) == 0 {
		t.Fatalf("the real call's transcript: %+v, %v", tr, err)
	}
	// An English phrase that PocketSphinx heard: two words of the first segment.
	words := strings.Fields(tr.Segments[0].Text)
	if len(words) < 2 {
		t.Fatalf("PocketSphinx heard too little: %q", tr.Segments[0].Text)
	}
	phrase := `"` + words[0] + " " + words[1] + `"`

	b := browser.New(t, a.URL)
	signInByKeyboard(t, b, user.Email, bob().password, "/")
	if b.Path() != "/calls" {
		t.Fatalf("after signing in: %s, want the calls list", b.Path())
	}
	page(t, b, "01-calls")
	for _, want := range []string{real, ru.String()} {
		if !b.Has(`a[href="/calls/` + want + `"]`) {
			t.Errorf("the calls list lacks call %s", want)
		}
	}
	if !strings.Contains(b.Text("ol.calls"), "аудио удалено ✓ подтверждено") {
		t.Errorf("the list shows no deletion badge")
	}

	search := func(field, value, name string) {
		t.Helper()
		b.Go("/calls")
		b.Fill("#"+field, value)
		if _, err := browser.Eval[bool](b, fmt.Sprintf(`(document.querySelector("#%s").focus(), window.__old = true)`, field)); err != nil {
			t.Fatal(err)
		}
		b.Press("\r") // Enter in the field submits the search: no mouse
		b.WaitNewPage()
		page(t, b, name)
	}
	search("q", "договор", "02-search-russian")
	if !b.Has(`a[href="/calls/`+ru.String()+`#seg-1"]`) || b.Has(`a[href="/calls/`+real+`"]`) {
		t.Errorf("the Russian word in another form does not find just its call")
	}
	if got := b.Text("ol.calls mark"); got != "договоров" {
		t.Errorf("the marked word is %q, want договоров", got)
	}
	search("q", phrase, "03-search-english")
	if !b.Has(`a[href="/calls/`+real+`"]`) || b.Has(`a[href="/calls/`+ru.String()+`"]`) {
		t.Errorf("the English phrase %s does not find just the transcribed call", phrase)
	}
	search("phone", "8 495 123-45-67", "04-search-phone")
	if !b.Has(`a[href="/calls/`+real+`"]`) || b.Has(`a[href="/calls/`+ru.String()+`"]`) {
		t.Errorf("the phone does not find just its call")
	}

	b.Submit(`a[href="/calls/` + real + `"]`)
	page(t, b, "05-transcript")
	if !strings.Contains(b.Text("main"), "Аудиозапись не хранится") {
		t.Errorf("the transcript page does not say no audio is kept")
	}
	// A word said only in the first segment, which the correction replaces.
	var old string
	for _, w := range wordRE.FindAllString(tr.Segments[0].Text, -1) {
		if strings.Count(strings.ToLower(tr.Text), w) == 1 {
			old = w
			break
		}
	}
	if old == "" {
		t.Fatalf("no word of %q is unique to it in %q", tr.Segments[0].Text, tr.Text)
	}
	// The correction form opens from the keyboard: focus the turn's "correct" link, Enter.
	if _, err := browser.Eval[bool](b, `(document.querySelector("#seg-1 a.fix").focus(), window.__old = true)`); err != nil {
		t.Fatal(err)
	}
	b.Press("\r")
	b.WaitNewPage()
	page(t, b, "05b-correcting")
	b.Fill("#text-1", "good evening about the zebra parcel")
	b.Submit(`#seg-1 form button[type=submit]`)
	if got := b.Text(".flash"); !strings.Contains(got, "Исправление сохранено") {
		t.Errorf("after the correction: %q", got)
	}
	page(t, b, "06-corrected")
	search("q", "zebra", "07-search-corrected")
	if !b.Has(`a[href="/calls/` + real + `"]`) {
		t.Errorf("the search does not find the corrected word")
	}
	search("q", old, "08-search-old-word")
	if b.Has(`a[href="/calls/` + real + `"]`) {
		t.Errorf("the search still finds %q, corrected away", old)
	}

	docx, err := browser.EvalAwait[string](b, `fetch("/calls/`+real+`/download/docx").then(r => r.arrayBuffer()).then(b => { let s = ""; for (const c of new Uint8Array(b)) s += String.fromCharCode(c); return btoa(s); })`)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(docx)
	if err != nil {
		t.Fatal(err)
	}
	if doc := docxText(t, string(raw)); !strings.Contains(doc, "good evening about the zebra parcel") {
		t.Errorf("the docx does not hold the corrected text:\n%s", doc)
	}

	b.Go("/privacy")
	page(t, b, "09-desk")
	b.Submit(`form[action="/privacy/consents"]:has(input[value=transcription]) button[value=withdraw]`)
	if got := b.Text(".flash"); !strings.Contains(got, "Согласие на расшифровку отозвано") {
		t.Errorf("after withdrawing: %q", got)
	}
	page(t, b, "10-withdrawn")
	signInByKeyboard(t, b, user.Email, bob().password, "/privacy")
	if b.Path() != "/privacy" {
		t.Fatalf("after signing in again: %s", b.Path())
	}
	if _, err := browser.Eval[bool](b, `(document.querySelector("#kind").value = "erasure", true)`); err != nil {
		t.Fatal(err)
	}
	b.Submit(`form[action="/privacy/requests"] button`)
	page(t, b, "11-requests")
	if !strings.Contains(b.Text("#requests"), "Удаление моих данных") {
		t.Errorf("the desk does not list the erasure request")
	}

	o := browser.New(t, a.URL)
	signInByKeyboard(t, o, olga().email, olga().password, "/officer")
	page(t, o, "12-officer")
	reqs := o.Text("table")
	if !strings.Contains(reqs, "Петров Борис") || !strings.Contains(reqs, "Удаление моих данных") {
		t.Errorf("the officer's desk does not show the erasure request with its subject: %q", reqs)
	}
	o.Go("/officer?kind=erasure")
	o.Submit(`tbody a`)
	page(t, o, "13-officer-request")
	if !strings.Contains(o.Text("dl.facts"), "рабочих дней осталось") {
		t.Errorf("the request shows no business days left")
	}
	o.Submit(`form[action$="/start"] button`)
	o.Submit(`form[action$="/complete"] button`)
	if got := o.Text(".flash"); !strings.Contains(got, "Обращение закрыто") {
		t.Errorf("after closing: %q", got)
	}
	page(t, o, "14-officer-closed")

	// The user is erased: their sessions ended, they cannot sign in; the admin's pages
	// and search no longer show their calls.
	b.Go("/calls")
	if !strings.HasPrefix(b.Path(), "/signin") {
		t.Errorf("the erased user still reaches %s", b.Path())
	}
	ad := browser.New(t, a.URL)
	signInByKeyboard(t, ad, alice().email, alice().password, "/calls")
	page(t, ad, "15-admin-after-erasure")
	for _, q := range []string{"/calls", "/calls?q=" + url.QueryEscape("договор"), "/calls?q=zebra", "/calls?phone=%2B74951234567"} {
		ad.Go(q)
		if ad.Has(`a[href^="/calls/`+real+`"]`) || ad.Has(`a[href^="/calls/`+ru.String()+`"]`) {
			t.Errorf("%s still shows the erased user's calls", q)
		}
	}
	ad.Go("/calls/" + real)
	if got := ad.Text("h1"); strings.Contains(got, "Расшифровка") {
		t.Errorf("the erased user's transcript still opens")
	}
}

// TestAxeFindsViolations: the accessibility check fails a page that breaks the rules (a
// field without a label, text without contrast), so its silence on our pages means
// something.
func TestAxeFindsViolations(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><html lang="en"><head><title>bad</title></head><body><main>
<p style="color:#bbb;background:#fff">pale text</p><input id="x"></main></body></html>`)
	}))
	t.Cleanup(srv.Close)
	b := browser.New(t, srv.URL)
	b.Go("/")
	got := map[string]bool{}
	for _, v := range b.Axe() {
		got[v.ID] = true
	}
	for _, want := range []string{"label", "color-contrast"} {
		if !got[want] {
			t.Errorf("axe-core did not report %s on a page that breaks it (got %v)", want, got)
		}
	}
}
