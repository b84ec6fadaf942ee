package webapp_test

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"callscribe"
	"callscribe/accounts"
	"callscribe/internal/logbuf"
	"callscribe/pipeline"
	"callscribe/privacy"
	"callscribe/storage/pgtest"
	"callscribe/storage/postgres"
	"callscribe/webapp"
)

// readersApp is the web app with the readers' pages wired as `callscribe serve` wires
// them: the privacy services over the test's database, an erasure queue whose worker
// purges what a closed erasure request names.
type readersApp struct {
	*app
	Requests *privacy.Requests
	Pipeline *pipeline.Pipeline // with readersOptions.pipeline
	org      uuid.UUID
	admin    accounts.Account
}

type readersOptions struct {
	pipeline  bool             // a real pipeline (PocketSphinx) behind uploads, its worker running
	discarder webapp.Discarder // without a pipeline: what a withdrawal calls
}

func newReadersApp(t *testing.T, opts ...func(*readersOptions)) *readersApp {
	t.Helper()
	var o readersOptions
	for _, f := range opts {
		f(&o)
	}
	ra := &readersApp{}
	ctx := callscribe.AsSystem(context.Background())
	db, err := postgres.Open(ctx, pgtest.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	log := &logbuf.Buffer{}
	logger := slog.New(slog.NewTextHandler(log, nil))
	cfg := accounts.Config{}
	cfg.Argon2.Time, cfg.Argon2.MemoryKiB, cfg.Argon2.Threads = 1, 1024, 1
	acc := accounts.New(db, cfg, logger)

	hasher, err := privacy.NewSubjectHasher([]byte("webapp test ledger key, 32 bytes or more"))
	if err != nil {
		t.Fatal(err)
	}
	eraser := &privacy.Eraser{Store: db, Hasher: hasher, Ledger: &privacy.LedgerFile{Path: filepath.Join(t.TempDir(), "ledger.jsonl")}}
	queued := &postgres.Queued{DB: db}
	workers := river.NewWorkers()
	river.AddWorker(workers, &privacy.EraseWorker{Requests: db, Eraser: eraser, Logger: logger})
	queues := map[string]river.QueueConfig{callscribe.EraseQueue: {MaxWorkers: 1}}
	discarder := o.discarder
	if o.pipeline {
		p := newPipeline(t, db, queued, logger)
		river.AddWorker(workers, &pipeline.Worker{Pipeline: p})
		queues[river.QueueDefault] = river.QueueConfig{MaxWorkers: 1}
		discarder = p
		ra.Pipeline = p
	}
	client, err := river.NewClient(riverpgxv5.New(db.Pool()), &river.Config{Workers: workers, Logger: logger,
		FetchPollInterval: 100 * time.Millisecond, FetchCooldown: 50 * time.Millisecond, Queues: queues})
	if err != nil {
		t.Fatal(err)
	}
	queued.Jobs = client
	if err := client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stop, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		_ = client.Stop(stop)
	})
	requests := &privacy.Requests{Store: queued, Eraser: eraser}

	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	w, err := webapp.New(webapp.Config{Accounts: acc, BaseURL: srv.URL, InsecureCookies: true, Logger: logger,
		Readers: webapp.Readers{
			Store:     db,
			Consents:  &privacy.Consents{Store: db, PolicyVersion: "2026-01", Audit: &privacy.Audit{}, AuditLog: db},
			Requests:  requests,
			Exporter:  &privacy.Exporter{Store: db},
			Editor:    &privacy.Corrections{Store: db, Logger: logger},
			Discarder: discarder,
		}})
	if err != nil {
		t.Fatal(err)
	}
	h = w.Handler()
	a := &app{t: t, URL: srv.URL, DB: db, Accounts: acc, Server: w, Log: log, transport: srv.Client().Transport}
	ra.app, ra.Requests = a, requests
	return ra
}

// person registers p (verified at once) in the admin's organization, or founds one when
// it is the first; role applies to the invited.
func (a *readersApp) person(p person, role accounts.Role) (*client, accounts.Account) {
	a.t.Helper()
	ctx := callscribe.AsSystem(context.Background())
	var c *client
	if a.admin.ID == uuid.Nil {
		c = a.register(p)
	} else {
		token, err := a.Accounts.Invite(ctx, a.admin, p.email, role)
		if err != nil {
			a.t.Fatal(err)
		}
		c = a.client()
		f := p.form()
		f.Set("invite", token)
		for _, k := range []string{"company", "inn"} {
			f.Del(k)
		}
		if status, body := c.post("/register", f); status != http.StatusOK {
			a.t.Fatalf("register invited %s: %d\n%s", p.email, status, body)
		}
	}
	acct := a.account(p.email)
	if _, err := a.DB.Pool().Exec(ctx, `UPDATE accounts SET email_verified_at = now() WHERE user_id = $1`, acct.ID); err != nil {
		a.t.Fatal(err)
	}
	for _, p := range []callscribe.Purpose{callscribe.PurposeTranscription, callscribe.PurposeSummarization} {
		if _, err := a.DB.GrantConsent(ctx, acct.ID, p, "2026-01", callscribe.ConsentViaWeb, time.Now().Add(-time.Hour)); err != nil {
			a.t.Fatal(err)
		}
	}
	acct = a.account(p.email)
	if a.admin.ID == uuid.Nil {
		a.admin, a.org = acct, acct.OrgID
	}
	return c, acct
}

// call stores a completed call of u's: a segment per text (agent and client in turn),
// the other party's phone, a summary, and the receipt of its audio's confirmed deletion.
func (a *readersApp) call(u accounts.Account, phone, summary string, texts ...string) uuid.UUID {
	a.t.Helper()
	ctx := callscribe.AsSystem(context.Background())
	db := a.DB
	id, err := db.CreateCall(ctx, u.OrgID, u.ID, []string{"agent", "client"})
	if err != nil {
		a.t.Fatal(err)
	}
	if err := db.RecordStaging(ctx, id, callscribe.Staging{Stage: "memory", ObjectKey: "calls/" + id.String(),
		Key: []byte("0123456789abcdef0123456789abcdef"), Bytes: 48000, SHA256: strings.Repeat("c0", 32), StagedAt: time.Now()}); err != nil {
		a.t.Fatal(err)
	}
	if err := db.SetProcessing(ctx, id); err != nil {
		a.t.Fatal(err)
	}
	tr := callscribe.Transcript{CallID: id, Engine: "test", Text: strings.Join(texts, " "), DurationMS: int64(len(texts)) * 3000, Channels: []string{"agent", "client"}}
	for i, text := range texts {
		tr.Segments = append(tr.Segments, callscribe.Segment{Channel: i % 2, Speaker: []string{"agent", "client"}[i%2],
			StartMS: int64(i) * 3000, EndMS: int64(i)*3000 + 2500, Text: text})
	}
	if summary != "" {
		tr.Summary = &callscribe.Summary{Engine: "test", Text: summary}
	}
	if done, err := db.CompleteCall(ctx, u.ID, tr); err != nil || !done.Stored {
		a.t.Fatalf("store call: %+v, %v", done, err)
	}
	now := time.Now()
	if _, err := db.ConfirmDeletion(ctx, id, now, now); err != nil {
		a.t.Fatal(err)
	}
	if _, err := db.Pool().Exec(ctx, `UPDATE calls SET phone = nullif($2, ''), duration_ms = $3 WHERE id = $1`, id, phone, tr.DurationMS); err != nil {
		a.t.Fatal(err)
	}
	return id
}

func bob() person {
	return person{"Петров", "Борис", "", "boris.petrov@example.ru", "+7 916 765-43-21", "correct horse battery", "", ""}
}

func olga() person {
	return person{"Смирнова", "Ольга", "", "olga.smirnova@example.ru", "+7 916 111-22-33", "correct horse battery", "", ""}
}

func (c *client) mustGet(path string, want int) string {
	c.t.Helper()
	status, body := c.get(path)
	if status != want {
		c.t.Fatalf("GET %s: %d, want %d\n%s", path, status, want, body)
	}
	return body
}

// TestCallsListAndSearch: the list shows each call's time, duration, other party,
// status, summary line and deletion badge; the search finds a Russian word in another
// form, an English phrase, and a phone number, with escaped snippets marked and linked to
// their segment; a member sees only their own calls, an admin everyone's.
func TestCallsListAndSearch(t *testing.T) {
	t.Parallel()
	a := newReadersApp(t)
	admin, adminAcct := a.person(alice(), "")
	member, memberAcct := a.person(bob(), accounts.RoleMember)

	ru := a.call(memberAcct, "+79161234567", "Клиент просит перенести поставку.\nВторая строка.",
		"Добрый день, звоню по поводу договоров поставки", "Да, слушаю вас", "Давайте перенесём поставку на пятницу")
	en := a.call(memberAcct, "+74951112233", "", "Hello, I am calling about the invoice", "please send the invoice tomorrow morning", "<script>alert(1)</script> sure")
	mine := a.call(adminAcct, "", "", "Совещание по бюджету")

	body := member.mustGet("/calls", http.StatusOK)
	for _, want := range []string{ru.String(), en.String(), "Клиент просит перенести поставку.", "аудио удалено ✓ подтверждено", "&#43;79161234567", "0:09", `<img class="chart" src="/calls/chart.svg?"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the member's calls list lacks %q", want)
		}
	}
	if strings.Contains(body, "Вторая строка") {
		t.Errorf("the list shows more than the summary's first line")
	}
	if strings.Contains(body, mine.String()) {
		t.Errorf("a member sees another member's call in the list")
	}
	if status, _ := member.get("/calls/" + mine.String()); status != http.StatusNotFound {
		t.Errorf("a member opens another's call: %d, want 404", status)
	}
	for _, p := range []string{"/download/txt", "/download/docx"} {
		if status, _ := member.get("/calls/" + mine.String() + p); status != http.StatusNotFound {
			t.Errorf("a member downloads another's transcript (%s): %d, want 404", p, status)
		}
	}
	if status, _ := member.post("/calls/"+mine.String()+"/segments/1", url.Values{"text": {"чужое"}}); status != http.StatusNotFound {
		t.Errorf("a member corrects another's call: %d, want 404", status)
	}
	if body := admin.mustGet("/calls", http.StatusOK); !strings.Contains(body, mine.String()) || !strings.Contains(body, ru.String()) {
		t.Errorf("the admin does not see every call of the organization")
	}

	for _, tc := range []struct {
		name, query string
		want        uuid.UUID
		mark        string
	}{
		{"russian stem", "q=" + url.QueryEscape("договор"), ru, "<mark>договоров</mark>"},
		{"russian inflection", "q=" + url.QueryEscape("поставками"), ru, "<mark>поставку</mark>"},
		{"english phrase", "q=" + url.QueryEscape(`"send the invoice"`), en, "<mark>send</mark>"},
		{"phone", "phone=" + url.QueryEscape("8 (495) 111-22-33"), en, ""},
	} {
		body := member.mustGet("/calls?"+tc.query, http.StatusOK)
		if !strings.Contains(body, "/calls/"+tc.want.String()) {
			t.Errorf("%s: %s does not find call %s", tc.name, tc.query, tc.want)
		}
		other := ru
		if tc.want == ru {
			other = en
		}
		if strings.Contains(body, "/calls/"+other.String()) {
			t.Errorf("%s: %s finds call %s too", tc.name, tc.query, other)
		}
		if tc.mark != "" && !strings.Contains(body, tc.mark) {
			t.Errorf("%s: no %s in the snippets", tc.name, tc.mark)
		}
	}
	entries, err := a.DB.AuditAbout(callscribe.AsSystem(context.Background()), memberAcct.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !hasAudit(entries, privacy.ActionTranscriptRead, ru.String(), "user:"+memberAcct.ID.String()) {
		t.Errorf("the list showed call %s's summary and did not audit the read", ru)
	}
	body = member.mustGet("/calls?q="+url.QueryEscape("sure"), http.StatusOK)
	if strings.Contains(body, "<script>alert") || !strings.Contains(body, "&lt;script&gt;") {
		t.Errorf("a snippet's stored text is not escaped")
	}
	if !regexp.MustCompile(`href="/calls/` + en.String() + `#seg-3"`).MatchString(body) {
		t.Errorf("the hit does not link to its segment #seg-3")
	}
	if status, body := member.get("/calls?phone=abc"); status != http.StatusBadRequest || !strings.Contains(body, "не похоже на номер") {
		t.Errorf("a bad phone: %d, want 400 with the message next to the field", status)
	}
}

// TestCallsPaging: the list is keyset-paged newest first, a search best ranked first:
// the next page starts after the last call shown, and the two pages together hold every
// call once — for a search also when every call ranks the same (its cursor is the
// transcript's, not the call's: with the call's, the second page was empty).
func TestCallsPaging(t *testing.T) {
	t.Parallel()
	a := newReadersApp(t)
	c, acct := a.person(alice(), "")
	want := map[string]bool{}
	for range 27 {
		want[a.call(acct, "", "", "текст").String()] = true
	}
	// Transcribed an hour after they came, as calls that waited in a queue are.
	if _, err := a.DB.Pool().Exec(callscribe.AsSystem(context.Background()), `UPDATE transcripts SET created_at = created_at + interval '1 hour'`); err != nil {
		t.Fatal(err)
	}
	idRE := regexp.MustCompile(`<a href="/calls/([0-9a-f-]{36})[#"]`)
	for _, start := range []string{"/calls", "/calls?q=" + url.QueryEscape("текст")} {
		seen := map[string]int{}
		path := start
		pages := 0
		for path != "" && pages < 5 {
			body := c.mustGet(path, http.StatusOK)
			pages++
			shown := map[string]bool{}
			for _, m := range idRE.FindAllStringSubmatch(body, -1) {
				shown[m[1]] = true
			}
			for id := range shown {
				seen[id]++
			}
			path = ""
			if m := regexp.MustCompile(`href="(/calls\?[^"]*cursor=[^"]*)" rel="next"`).FindStringSubmatch(body); m != nil {
				path = strings.ReplaceAll(m[1], "&amp;", "&")
			}
		}
		if pages != 2 {
			t.Errorf("%s: 27 calls took %d pages, want 2", start, pages)
		}
		for id := range want {
			if seen[id] != 1 {
				t.Errorf("%s: call %s shown on %d pages, want one", start, id, seen[id])
			}
		}
	}
}

// TestTranscriptPage: the transcript page shows the turns with anchors, the summary, the
// receipt, the consent and that no audio is kept; the read is audited; every download
// carries the text, the docx a valid document whose word/document.xml holds it.
func TestTranscriptPage(t *testing.T) {
	t.Parallel()
	a := newReadersApp(t)
	c, acct := a.person(alice(), "")
	id := a.call(acct, "+79161234567", "Договорились о поставке.", "Добрый день, звоню по поводу поставки", "Hello & <welcome>")

	body := c.mustGet("/calls/"+id.String(), http.StatusOK)
	for _, want := range []string{`id="seg-1"`, `id="seg-2"`, `href="#seg-2"`, "Добрый день, звоню по поводу поставки", "Hello &amp; &lt;welcome&gt;",
		"Договорились о поставке.", strings.Repeat("c0", 32), "48000", "Аудиозапись не хранится", "2026-01", `href="?edit=2#seg-2"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the transcript page lacks %q", want)
		}
	}
	if strings.Contains(body, "<form method=\"post\" action=\"/calls/") {
		t.Errorf("the transcript page has a correction form open unasked")
	}
	if body := c.mustGet("/calls/"+id.String()+"?edit=2", http.StatusOK); strings.Count(body, `action="/calls/`+id.String()+`/segments/`) != 1 ||
		!strings.Contains(body, `action="/calls/`+id.String()+`/segments/2"`) {
		t.Errorf("?edit=2 does not open the one correction form of segment 2")
	}
	entries, err := a.DB.AuditAbout(callscribe.AsSystem(context.Background()), acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !hasAudit(entries, privacy.ActionTranscriptRead, id.String(), "user:"+acct.ID.String()) {
		t.Errorf("the page's read is not audited: %+v", entries)
	}

	for format, want := range map[string]string{
		"txt": "Добрый день", "srt": "00:00:03,000 --> 00:00:05,500\nclient: Hello & <welcome>", "vtt": "WEBVTT", "json": `"text": "Hello \u0026 \u003cwelcome\u003e"`,
	} {
		got := c.mustGet("/calls/"+id.String()+"/download/"+format, http.StatusOK)
		if !strings.Contains(got, want) {
			t.Errorf("%s download lacks %q:\n%s", format, want, got)
		}
	}
	doc := docxText(t, c.mustGet("/calls/"+id.String()+"/download/docx", http.StatusOK))
	for _, want := range []string{"[0:00] agent: Добрый день, звоню по поводу поставки", "[0:03] client: Hello &amp; &lt;welcome&gt;", "Договорились о поставке."} {
		if !strings.Contains(doc, want) {
			t.Errorf("word/document.xml lacks %q:\n%s", want, doc)
		}
	}
	// Asked for gzip, the page comes compressed (the client above decompressed it unseen).
	req, _ := http.NewRequest("GET", a.URL+"/calls/"+id.String(), nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := (&http.Client{Jar: c.http.Jar, Transport: &http.Transport{DisableCompression: true}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil || resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("the transcript page asked for gzip: %s, %v", resp.Header.Get("Content-Encoding"), err)
	}
	plain, _ := io.ReadAll(zr)
	resp.Body.Close()
	if !strings.Contains(string(plain), "Добрый день, звоню по поводу поставки") {
		t.Errorf("the gzipped page does not decompress to the transcript")
	}
	if status, _ := c.get("/calls/" + id.String() + "/download/mp3"); status != http.StatusNotFound {
		t.Errorf("an unknown format: %d, want 404", status)
	}
}

func hasAudit(entries []callscribe.AuditEntry, action, object, actor string) bool {
	for _, e := range entries {
		if e.Action == action && e.ObjectID == object && e.Actor == actor {
			return true
		}
	}
	return false
}

// docxText opens a .docx as Word would (a zip holding [Content_Types].xml, the package
// relationships and word/document.xml) and returns word/document.xml.
func docxText(t *testing.T, b string) string {
	t.Helper()
	z, err := zip.NewReader(bytes.NewReader([]byte(b)), int64(len(b)))
	if err != nil {
		t.Fatalf("the docx is not a zip: %v", err)
	}
	parts := map[string]string{}
	for _, f := range z.File {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(r)
		r.Close()
		parts[f.Name] = string(data)
	}
	for _, name := range []string{"[Content_Types].xml", "_rels/.rels", "word/document.xml"} {
		if _, ok := parts[name]; !ok {
			t.Errorf("the docx has no %s", name)
		}
	}
	if !strings.Contains(parts["[Content_Types].xml"], "wordprocessingml.document.main+xml") {
		t.Errorf("[Content_Types].xml does not declare the main document")
	}
	return parts["word/document.xml"]
}

// TestCorrectionInPlace: correcting a segment on the page goes through the API's path:
// the history shows before and after, and the search finds the new word and not the old.
func TestCorrectionInPlace(t *testing.T) {
	t.Parallel()
	a := newReadersApp(t)
	c, acct := a.person(alice(), "")
	id := a.call(acct, "", "Итог.", "звоню по поводу счёта", "please send the invoice")

	if status, body := c.post("/calls/"+id.String()+"/segments/2", url.Values{"text": {"please send the receipt"}, "speaker": {"client"}}); status != http.StatusOK ||
		!strings.Contains(body, "Исправление сохранено") {
		t.Fatalf("correct: %d\n%s", status, body)
	}
	body := c.mustGet("/calls/"+id.String(), http.StatusOK)
	if !strings.Contains(body, "please send the receipt") || !strings.Contains(body, "<td>please send the invoice</td>") {
		t.Errorf("the page does not show the corrected text and the history's before")
	}
	if !strings.Contains(body, "может не соответствовать тексту") {
		t.Errorf("the summary written before the correction is not marked stale")
	}
	if body := c.mustGet("/calls?q=receipt", http.StatusOK); !strings.Contains(body, "/calls/"+id.String()) {
		t.Errorf("the search does not find the corrected word")
	}
	if body := c.mustGet("/calls?q=invoice", http.StatusOK); strings.Contains(body, "/calls/"+id.String()) {
		t.Errorf("the search still finds the word corrected away")
	}
	if status, _ := c.post("/calls/"+id.String()+"/segments/9", url.Values{"text": {"x"}}); status != http.StatusNotFound {
		t.Errorf("a segment that does not exist: %d, want 404", status)
	}
}

// TestUnverifiedSeeProfile: an account whose email is not confirmed is sent to the
// profile (which says how to confirm) instead of the calls.
func TestUnverifiedSeeProfile(t *testing.T) {
	t.Parallel()
	a := newReadersApp(t)
	c := a.register(alice())
	status, body := c.get("/calls")
	if status != http.StatusOK || !strings.Contains(body, "Адрес почты ещё не подтверждён") {
		t.Errorf("an unverified account's /calls: %d, want the profile's notice", status)
	}
}

// TestPrivacyDesk: the user sees their consents with the version, withdraws and grants
// again through privacy.Consents (channel web, audited as theirs), files a request and
// sees its due date, downloads the export as JSON and as a page, and sees the audit
// trail of their data.
func TestPrivacyDesk(t *testing.T) {
	t.Parallel()
	a := newReadersApp(t)
	c, acct := a.person(alice(), "")
	id := a.call(acct, "", "", "текст звонка")
	c.mustGet("/calls/"+id.String(), http.StatusOK) // a read, for the audit trail

	body := c.mustGet("/privacy", http.StatusOK)
	// The audit trail names who in words (a person, the service's own deletion of the
	// audio) and links the call it is about.
	for _, want := range []string{"Расшифровка звонков", "2026-01", "Отозвать", "звонки в очереди и в распознавании прекращаются", "прочитана расшифровка", "Иванова Анна (администратор)",
		"<td>служба расшифровки</td><td>аудио удалено</td>", `<a href="/calls/` + id.String() + `">звонок ` + id.String()[:8] + `</a>`, "<td>аккаунт</td>"} {
		if !strings.Contains(body, want) {
			t.Errorf("the desk lacks %q", want)
		}
	}
	if strings.Contains(body, "system:pipeline") || strings.Contains(body, "call "+id.String()) {
		t.Errorf("the desk's audit trail shows an actor or an object as recorded, not in words")
	}
	status, body := c.post("/privacy/consents", url.Values{"purpose": {"transcription"}, "action": {"withdraw"}})
	if status != http.StatusOK || !strings.Contains(body, "Согласие на расшифровку отозвано") || !strings.Contains(body, `action="/signin"`) {
		t.Fatalf("withdraw: %d, want the sign-in page saying so\n%s", status, body)
	}
	// The withdrawal ended the user's sessions; they sign in again.
	if status, body := c.post("/signin", url.Values{"email": {acct.Email}, "password": {alice().password}, "next": {"/privacy"}}); status != http.StatusOK || !strings.Contains(body, "Мои данные и согласия") {
		t.Fatalf("sign in after the withdrawal: %d\n%s", status, body)
	}
	ctx := callscribe.AsSystem(context.Background())
	if ok, err := a.DB.ConsentInForce(ctx, acct.ID, callscribe.PurposeTranscription); err != nil || ok {
		t.Errorf("after the withdrawal, consent to transcription in force = %v, %v", ok, err)
	}
	events, err := a.DB.ConsentEvents(ctx, acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	if last := events[len(events)-1]; last.Action != callscribe.ConsentWithdraw || last.Channel != callscribe.ConsentViaWeb {
		t.Errorf("the last consent event is %+v, want a withdrawal through web", last)
	}
	entries, _ := a.DB.AuditAbout(ctx, acct.ID)
	if !hasAuditAction(entries, privacy.ActionConsentWithdraw, "user:"+acct.ID.String()) {
		t.Errorf("the withdrawal is not audited as the user's")
	}
	if status, _ := c.post("/privacy/consents", url.Values{"purpose": {"transcription"}, "action": {"grant"}}); status != http.StatusOK {
		t.Errorf("grant again: %d", status)
	}
	if ok, _ := a.DB.ConsentInForce(ctx, acct.ID, callscribe.PurposeTranscription); !ok {
		t.Errorf("after granting again, consent to transcription is not in force")
	}

	status, body = c.post("/privacy/requests", url.Values{"kind": {"access"}, "notes": {"прошу копию"}})
	if status != http.StatusOK || !strings.Contains(body, "Обращение получено") {
		t.Fatalf("file a request: %d\n%s", status, body)
	}
	reqs, err := a.Requests.List(ctx, privacy.ListOptions{UserID: acct.ID})
	if err != nil || len(reqs) != 1 {
		t.Fatalf("requests after filing one: %v, %v", reqs, err)
	}
	if !strings.Contains(body, reqs[0].DueAt.In(time.UTC).Format("02.01.2006")) || !strings.Contains(body, "Доступ к моим данным") {
		t.Errorf("the desk does not show the request with its due date %s", reqs[0].DueAt)
	}
	if status, _ := c.post("/privacy/requests", url.Values{"kind": {"nonsense"}}); status != http.StatusBadRequest {
		t.Errorf("an unknown kind: %d, want 400", status)
	}

	js := c.mustGet("/privacy/export.json", http.StatusOK)
	if !strings.Contains(js, "текст звонка") || !strings.Contains(js, acct.Email) {
		t.Errorf("the JSON export lacks the transcript or the email")
	}
	page := c.mustGet("/privacy/export", http.StatusOK)
	if !strings.Contains(page, "текст звонка") || !strings.Contains(page, "<dt>email</dt>") {
		t.Errorf("the printable export lacks the transcript or the email")
	}
	entries, _ = a.DB.AuditAbout(ctx, acct.ID)
	if !hasAuditAction(entries, privacy.ActionExport, "user:"+acct.ID.String()) {
		t.Errorf("the export is not audited")
	}
}

func hasAuditAction(entries []callscribe.AuditEntry, action, actor string) bool {
	for _, e := range entries {
		if e.Action == action && e.Actor == actor {
			return true
		}
	}
	return false
}

// TestOfficerDesk: an officer sees the organization's open requests with the subject's
// name and email, received and due dates, business days left, the overdue in red and
// counted on every officer page; starts, extends once (the notice in the subject's
// language when left empty), and closes, each step shown with who took it. A member may
// not open the desk.
func TestOfficerDesk(t *testing.T) {
	t.Parallel()
	a := newReadersApp(t)
	a.person(alice(), "")
	member, memberAcct := a.person(bob(), accounts.RoleMember)
	officer, _ := a.person(olga(), accounts.RoleOfficer)
	ctx := callscribe.AsSystem(context.Background())
	if err := a.Accounts.SetLanguage(ctx, memberAcct.ID, "en"); err != nil {
		t.Fatal(err)
	}

	if status, _ := member.get("/officer"); status != http.StatusForbidden {
		t.Errorf("a member opens the officer's desk: %d, want 403", status)
	}
	fresh, err := a.Requests.Add(ctx, privacy.NewRequest{OrgID: a.org, UserID: memberAcct.ID, Kind: callscribe.RequestAccess, Actor: "cli:test"})
	if err != nil {
		t.Fatal(err)
	}
	old, err := a.Requests.Add(ctx, privacy.NewRequest{OrgID: a.org, UserID: memberAcct.ID, Kind: callscribe.RequestBlocking,
		ReceivedAt: time.Now().AddDate(0, 0, -30), Actor: "cli:test"})
	if err != nil {
		t.Fatal(err)
	}
	body := officer.mustGet("/officer", http.StatusOK)
	for _, want := range []string{"Петров Борис", "boris.petrov@example.ru", fresh.DueAt.In(time.UTC).Format("02.01.2006"), old.DueAt.In(time.UTC).Format("02.01.2006"), "Просрочено обращений: 1", `class="overdue"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the officer's desk lacks %q", want)
		}
	}
	if body := officer.mustGet("/officer?overdue=1", http.StatusOK); strings.Contains(body, fresh.ID.String()) || !strings.Contains(body, old.ID.String()) {
		t.Errorf("the overdue filter shows the wrong requests")
	}

	path := "/officer/requests/" + fresh.ID.String()
	if body := officer.mustGet(path, http.StatusOK); !strings.Contains(body, "Просрочено обращений: 1") || !strings.Contains(body, "рабочих дней осталось") {
		t.Errorf("the request page lacks the overdue counter or the days left")
	}
	if status, body := officer.post(path+"/start", nil); status != http.StatusOK || !strings.Contains(body, "взято в работу") {
		t.Fatalf("start: %d\n%s", status, body)
	}
	if status, body := officer.post(path+"/extend", url.Values{"days": {"3"}, "reason": {"много данных"}}); status != http.StatusOK {
		t.Fatalf("extend: %d\n%s", status, body)
	}
	got, err := a.Requests.Get(ctx, fresh.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ExtendedDueAt == nil || !strings.HasPrefix(got.NoticeText, "The term for answering your request") || !strings.Contains(got.NoticeText, "много данных") {
		t.Errorf("after extending: due %v, notice %q; want an English notice (the subject chose English) with the reason", got.ExtendedDueAt, got.NoticeText)
	}
	if status, _ := officer.post(path+"/extend", url.Values{"reason": {"ещё раз"}}); status != http.StatusConflict {
		t.Errorf("a second extension: %d, want 409", status)
	}
	if status, body := officer.post(path+"/complete", url.Values{"notes": {"выгрузка отправлена"}}); status != http.StatusOK || !strings.Contains(body, "Обращение закрыто") {
		t.Fatalf("complete: %d\n%s", status, body)
	}
	body = officer.mustGet(path, http.StatusOK)
	for _, want := range []string{"взято в работу", "срок продлён", "выполнено", "Смирнова Ольга (ответственный за обработку данных)"} {
		if !strings.Contains(body, want) {
			t.Errorf("the request's history lacks %q", want)
		}
	}
	if status, _ := officer.post("/officer/requests/"+old.ID.String()+"/reject", url.Values{"reason": {""}}); status != http.StatusBadRequest {
		t.Errorf("a rejection without a reason: %d, want 400", status)
	}
}

// TestErasureLeavesEveryPage: once an officer closes a user's erasure request, the
// user's calls are gone from the list, the search and their pages, for everyone.
func TestErasureLeavesEveryPage(t *testing.T) {
	t.Parallel()
	a := newReadersApp(t)
	admin, _ := a.person(alice(), "")
	member, memberAcct := a.person(bob(), accounts.RoleMember)
	id := a.call(memberAcct, "+79161234567", "", "обсудили условия договора")
	if status, _ := member.post("/privacy/requests", url.Values{"kind": {"erasure"}}); status != http.StatusOK {
		t.Fatalf("file erasure: %d", status)
	}
	reqs, err := a.Requests.List(callscribe.AsSystem(context.Background()), privacy.ListOptions{UserID: memberAcct.ID})
	if err != nil || len(reqs) != 1 {
		t.Fatalf("requests: %v, %v", reqs, err)
	}
	path := "/officer/requests/" + reqs[0].ID.String()
	if status, _ := admin.post(path+"/start", nil); status != http.StatusOK {
		t.Fatalf("start: %d", status)
	}
	if status, body := admin.post(path+"/complete", nil); status != http.StatusOK {
		t.Fatalf("complete: %d\n%s", status, body)
	}
	for _, p := range []string{"/calls", "/calls?q=" + url.QueryEscape("договор"), "/calls?phone=%2B79161234567"} {
		if body := admin.mustGet(p, http.StatusOK); strings.Contains(body, id.String()) {
			t.Errorf("%s still shows the erased user's call", p)
		}
	}
	if status, _ := admin.get("/calls/" + id.String()); status != http.StatusNotFound {
		t.Errorf("the erased user's call page: %d, want 404", status)
	}
	if body := admin.mustGet(path, http.StatusOK); !strings.Contains(body, "(данные удалены)") {
		t.Errorf("the closed request does not say the subject is erased")
	}
}

func uuidOf(t *testing.T, s string) uuid.UUID {
	t.Helper()
	id, err := uuid.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestChart: the list's chart counts the calls of each day and the talk time of each
// speaker, of the calls the visitor may see: an image, and its figures as a table.
func TestChart(t *testing.T) {
	t.Parallel()
	a := newReadersApp(t)
	admin, adminAcct := a.person(alice(), "")
	member, memberAcct := a.person(bob(), accounts.RoleMember)
	a.call(memberAcct, "", "", "раз", "два", "три") // 3 segments of 2.5 s: agent 5 s, client 2.5 s
	a.call(memberAcct, "", "", "четыре")
	a.call(adminAcct, "", "", "пять")

	resp, err := member.http.Get(a.URL + "/calls/chart.svg")
	if err != nil {
		t.Fatal(err)
	}
	svg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "image/svg+xml" {
		t.Fatalf("chart.svg: %d %s", resp.StatusCode, ct)
	}
	if n := strings.Count(string(svg), "<rect"); n < 3 {
		t.Errorf("the chart has %d rectangles, want bars and a legend:\n%s", n, svg)
	}
	today := time.Now().In(time.FixedZone("MSK", 3*3600)).Format("02.01")
	row := regexp.MustCompile(`<tr><td>` + regexp.QuoteMeta(today) + `</td><td>(\d+)</td><td>([\d.]+)</td><td>([\d.]+)</td></tr>`)
	for _, tc := range []struct {
		c                    *client
		calls, agent, client string
	}{{member, "2", "0.1", "0.0"}, {admin, "3", "0.2", "0.0"}} {
		m := row.FindStringSubmatch(tc.c.mustGet("/calls/chart", http.StatusOK))
		if m == nil {
			t.Errorf("the chart's table has no row for today %s", today)
			continue
		}
		if m[1] != tc.calls || m[2] != tc.agent || m[3] != tc.client {
			t.Errorf("today's row: %v calls, %v / %v minutes; want %s, %s / %s", m[1], m[2], m[3], tc.calls, tc.agent, tc.client)
		}
	}
	if status, _ := member.get("/calls/chart.svg?from=nonsense"); status != http.StatusBadRequest {
		t.Errorf("a chart of bad filters: %d, want 400", status)
	}
}

// discards records whom DiscardQueued was called for.
type discards struct {
	mu    sync.Mutex
	users []uuid.UUID
}

func (d *discards) DiscardQueued(ctx context.Context, owner uuid.UUID) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.users = append(d.users, owner)
	return 1, nil
}

// TestWithdrawalDiscardsQueued: withdrawing consent to transcription on the desk ends
// the user's queued calls through the pipeline's DiscardQueued, as the API's withdrawal
// does; withdrawing another purpose does not.
func TestWithdrawalDiscardsQueued(t *testing.T) {
	t.Parallel()
	d := &discards{}
	a := newReadersApp(t, func(o *readersOptions) { o.discarder = d })
	c, acct := a.person(alice(), "")
	if status, _ := c.post("/privacy/consents", url.Values{"purpose": {"summarization"}, "action": {"withdraw"}}); status != http.StatusOK {
		t.Fatalf("withdraw summarization: %d", status)
	}
	if len(d.users) != 0 {
		t.Errorf("withdrawing summarization discarded queued calls of %v", d.users)
	}
	if status, _ := c.post("/privacy/consents", url.Values{"purpose": {"transcription"}, "action": {"withdraw"}}); status != http.StatusOK {
		t.Fatalf("withdraw transcription: %d", status)
	}
	if len(d.users) != 1 || d.users[0] != acct.ID {
		t.Errorf("withdrawing transcription discarded the queued calls of %v, want [%s]", d.users, acct.ID)
	}
}

// TestReadersInEnglish: an account that chose English reads every readers' page in
// English, from the same catalogue.
func TestReadersInEnglish(t *testing.T) {
	t.Parallel()
	a := newReadersApp(t)
	c, acct := a.person(alice(), "")
	if err := a.Accounts.SetLanguage(callscribe.AsSystem(context.Background()), acct.ID, "en"); err != nil {
		t.Fatal(err)
	}
	id := a.call(acct, "", "", "hello there")
	for path, want := range map[string][]string{
		"/calls":                {"<h1>Calls</h1>", "audio deleted ✓ confirmed", "Words said in the call"},
		"/calls/" + id.String(): {"No audio is kept", "Proof the audio was deleted", "Word document (.docx)"},
		"/privacy":              {"My data and consents", "Transcribing calls", "File the request"},
		"/officer":              {"Data-subject requests", "Overdue requests: 0"},
		"/calls/chart":          {"Calls per day", "Number of calls"},
	} {
		body := c.mustGet(path, http.StatusOK)
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("%s in English lacks %q", path, w)
			}
		}
		if strings.Contains(body, "Звонки") || strings.Contains(body, "Мои данные") {
			t.Errorf("%s in English shows Russian menu items", path)
		}
	}
}
