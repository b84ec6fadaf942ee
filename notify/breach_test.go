package notify_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"callscribe"
	"callscribe/notify"
)

// bulkUsers adds n users of org numbered from first, each with one call created at
// callAt, and returns their ids by number.
func (e *env) bulkUsers(t *testing.T, org uuid.UUID, prefix string, first, n int, callAt time.Time) map[int]uuid.UUID {
	t.Helper()
	rows, err := e.db.Pool().Query(ctx, `
		INSERT INTO users (organization_id, email, phone, language)
		SELECT $1, $2 || i || '@example.test', '+79161357968', CASE WHEN i % 3 = 0 THEN 'en' ELSE 'ru' END
		FROM generate_series($3::int, $4::int) AS i
		RETURNING id, email`, org, prefix, first, first+n-1)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]uuid.UUID{}
	var id uuid.UUID
	var email string
	if _, err := pgx.ForEachRow(rows, []any{&id, &email}, func() error {
		var i int
		if _, err := fmt.Sscan(strings.TrimSuffix(strings.TrimPrefix(email, prefix), "@example.test"), &i); err != nil {
			return err
		}
		out[i] = id
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ids := make([]uuid.UUID, 0, len(out))
	for _, id := range out {
		ids = append(ids, id)
	}
	if _, err := e.db.Pool().Exec(ctx, `
		INSERT INTO calls (organization_id, owner_id, status, created_at, updated_at)
		SELECT $1, u, 'completed', $3, $3 FROM unnest($2::uuid[]) AS u`, org, ids, callAt); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBreachThousandUsers: a breach of one organization's calls in a window reaches the
// 1,000 users whose calls fall in it — not the users of calls outside it nor another
// organization's — through the messenger and email, in each one's language; the
// messenger fails for a chosen set and cannot reach another, the SMTP server refuses
// some recipients; every outcome is recorded and audited, and the status shows each
// user's outcome and the regulator's deadlines.
func TestBreachThousandUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{workers: 8, reject: func(addr string) bool {
		var i int
		fmt.Sscan(strings.TrimSuffix(strings.TrimPrefix(addr, "a"), "@example.test"), &i)
		return strings.HasPrefix(addr, "a") && i%11 == 0
	}})
	other, err := e.db.EnsureOrganization(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	detected := time.Now().Add(-2 * time.Hour).UTC().Truncate(time.Second)
	from, to := detected.Add(-48*time.Hour), detected.Add(-time.Hour)
	affected := e.bulkUsers(t, e.org, "a", 1, 1000, from.Add(time.Hour))
	e.bulkUsers(t, e.org, "outside", 1, 30, from.Add(-time.Hour))
	e.bulkUsers(t, other, "elsewhere", 1, 30, from.Add(time.Hour))
	e.channel.mu.Lock()
	for i, id := range affected {
		switch {
		case i%5 == 0:
			e.channel.unlinked[id] = true
		case i%7 == 0:
			e.channel.fail[id] = true
		}
	}
	e.channel.mu.Unlock()

	b := &notify.Breaches{Store: e.db, Notices: e.notices, AuditLog: e.db, Actor: "cli:test"}
	inc, missing, err := b.Open(ctx, notify.NewBreach{Description: "backup copy exposed", DetectedAt: detected, OrgID: e.org, From: from, To: to})
	if err != nil || len(missing) != 0 {
		t.Fatalf("Open = %v, %v", missing, err)
	}
	if inc.Affected != 1000 {
		t.Fatalf("affected %d users, want the 1000 whose calls fall in the window", inc.Affected)
	}
	tmpl, err := notify.ParseTemplate("[ru]\nВаши данные могли быть раскрыты.\n[en]\nYour data may have been disclosed.\n")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	n, err := b.Notify(ctx, inc.ID, tmpl)
	if err != nil || n != 2000 {
		t.Fatalf("Notify = %d, %v; want 2000 deliveries (two channels each)", n, err)
	}
	if _, err := b.Notify(ctx, inc.ID, tmpl); callscribe.ErrorCode(err) != callscribe.ECONFLICT {
		t.Errorf("second Notify: %v, want ECONFLICT", err)
	}
	e.settled(t, callscribe.NoticeDeliveryFilter{IncidentID: inc.ID}, 2000, 3*time.Minute)
	t.Logf("2000 breach deliveries settled in %s", time.Since(start).Round(time.Millisecond))

	st, err := b.Status(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !st.FirstReport.Equal(detected.Add(24*time.Hour)) || !st.FinalReport.Equal(detected.Add(72*time.Hour)) {
		t.Errorf("deadlines %s, %s; want detection + 24 h and + 72 h", st.FirstReport, st.FinalReport)
	}
	byID := map[uuid.UUID]notify.UserOutcome{}
	for _, u := range st.Users {
		byID[u.UserID] = u
	}
	wantCounts := map[string]int{}
	for i, id := range affected {
		tg, mail := callscribe.NoticeSent, callscribe.NoticeSent
		switch {
		case i%5 == 0:
			tg = callscribe.NoticeNoChannel
		case i%7 == 0:
			tg = callscribe.NoticeFailed
		}
		if i%11 == 0 {
			mail = callscribe.NoticeFailed
		}
		want := callscribe.NoticeFailed
		if tg == callscribe.NoticeSent || mail == callscribe.NoticeSent {
			want = callscribe.NoticeSent
		}
		wantCounts[want]++
		got := byID[id]
		if got.Outcome != want || got.Channels[callscribe.NoticeTelegram] != tg || got.Channels[callscribe.NoticeEmail] != mail {
			t.Errorf("user %d: %s (telegram %s, email %s), want %s (telegram %s, email %s)", i, got.Outcome,
				got.Channels[callscribe.NoticeTelegram], got.Channels[callscribe.NoticeEmail], want, tg, mail)
		}
	}
	if len(st.Counts) != len(wantCounts) || st.Counts["sent"] != wantCounts["sent"] || st.Counts["failed"] != wantCounts["failed"] {
		t.Errorf("counts %v, want %v", st.Counts, wantCounts)
	}
	if got := len(e.smtp.Rejected()); got != 90 {
		t.Errorf("SMTP refused %d recipients, want the 90 chosen", got)
	}
	// Each in their language, with the operator's text.
	for _, c := range []struct {
		i    int
		want string
	}{{1, "Ваши данные могли быть раскрыты."}, {3, "Your data may have been disclosed."}} {
		mails := e.emailsTo(t, "a"+strconv.Itoa(c.i)+"@example.test")
		if len(mails) != 1 || !strings.Contains(mails[0].text, c.want) || !strings.Contains(mails[0].text, inc.ID.String()[:8]) {
			t.Errorf("user %d got %+v, want one email with %q and the incident's number", c.i, mails, c.want)
		}
	}
	var audited map[string]int = map[string]int{}
	rows, _ := e.db.Pool().Query(ctx, `SELECT action, count(*) FROM audit_log WHERE action LIKE 'breach.%' GROUP BY action`)
	var action string
	var count int
	pgx.ForEachRow(rows, []any{&action, &count}, func() error { audited[action] = count; return nil })
	if audited["breach.open"] != 1 || audited["breach.notify"] != 1 || audited["breach.notice"] != 2000 {
		t.Errorf("audit %v, want the opening, the notify and 2000 outcomes", audited)
	}
	e.noText(t, "disclosed", "раскрыты", "79161357968", "@example.test")
}

// TestBreachByList: a breach naming its users by email reaches those, says which emails
// matched nobody, and refuses a breach with neither a window nor a list.
func TestBreachByList(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	u := e.user(t, e.org, "en")
	b := &notify.Breaches{Store: e.db, Notices: e.notices, AuditLog: e.db, Actor: "cli:test"}
	inc, missing, err := b.Open(ctx, notify.NewBreach{Description: "laptop stolen", Emails: []string{strings.ToUpper(u.Email), "nobody@example.test"}})
	if err != nil || inc.Affected != 1 || len(missing) != 1 || missing[0] != "nobody@example.test" {
		t.Fatalf("Open = %+v, %v, %v; want 1 affected and nobody@ unmatched", inc, missing, err)
	}
	if _, _, err := b.Open(ctx, notify.NewBreach{Description: "x"}); callscribe.ErrorCode(err) != callscribe.EINVALID {
		t.Errorf("no window, no list: %v, want EINVALID", err)
	}
	st, _ := b.Status(ctx, inc.ID)
	if len(st.Users) != 1 || st.Users[0].Outcome != "not_notified" {
		t.Errorf("status before notify: %+v", st.Users)
	}
	tmpl, _ := notify.ParseTemplate("Одна и та же весть.")
	if _, err := b.Notify(ctx, inc.ID, tmpl); err != nil {
		t.Fatal(err)
	}
	e.settled(t, callscribe.NoticeDeliveryFilter{IncidentID: inc.ID}, 2, 30*time.Second)
	if mails := e.emailsTo(t, u.Email); len(mails) != 1 || !strings.Contains(mails[0].text, "Одна и та же весть.") || mails[0].subject != "Notice of a personal data incident" {
		t.Errorf("got %+v, want the one text in an English frame", mails)
	}
	list, err := b.List(ctx)
	if err != nil || len(list) != 1 || list[0].NotifiedAt == nil {
		t.Errorf("List = %+v, %v", list, err)
	}
}

func TestParseTemplate(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in     string
		ru, en string
		bad    bool
	}{
		{in: "one text\nfor all", ru: "one text\nfor all"},
		{in: "[ru]\nрусский\n[en]\nenglish\n", ru: "русский", en: "english"},
		{in: "[EN]\nenglish only", en: "english only"},
		{in: "preamble\n[ru]\nx", bad: true},
		{in: "  \n", bad: true},
	} {
		got, err := notify.ParseTemplate(c.in)
		if c.bad {
			if callscribe.ErrorCode(err) != callscribe.EINVALID {
				t.Errorf("ParseTemplate(%q) = %+v, %v; want EINVALID", c.in, got, err)
			}
			continue
		}
		if err != nil || got.RU != c.ru || got.EN != c.en {
			t.Errorf("ParseTemplate(%q) = %+v, %v; want ru %q en %q", c.in, got, err, c.ru, c.en)
		}
	}
}

// TestLoggedEmailIsNotDelivered: without an SMTP server (the embedded default's log
// sender) an email notice is written to the log and recorded as not delivered, so that
// a breach's status never counts it as told.
func TestLoggedEmailIsNotDelivered(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{logMail: true})
	u := e.user(t, e.org, "ru")
	e.channel.mu.Lock()
	e.channel.unlinked[u.ID] = true
	e.channel.mu.Unlock()
	b := &notify.Breaches{Store: e.db, Notices: e.notices, Actor: "cli:test"}
	inc, _, err := b.Open(ctx, notify.NewBreach{Description: "x", Emails: []string{u.Email}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Notify(ctx, inc.ID, notify.Template{RU: "текст"}); err != nil {
		t.Fatal(err)
	}
	ds := e.settled(t, callscribe.NoticeDeliveryFilter{IncidentID: inc.ID}, 2, 30*time.Second)
	for _, d := range ds {
		if d.State != callscribe.NoticeNoChannel {
			t.Errorf("%s: %s (%s), want no_channel", d.Channel, d.State, d.LastError)
		}
	}
	if st, _ := b.Status(ctx, inc.ID); st.Counts["no_channel"] != 1 {
		t.Errorf("status counts %v, want the user unreached", st.Counts)
	}
}

// TestBreachOfAnOrganization: an organization's data as a whole affects every one of its
// users (not another organization's); a half window is refused.
func TestBreachOfAnOrganization(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	other, _ := e.db.EnsureOrganization(ctx, "other")
	e.user(t, e.org, "ru")
	e.user(t, e.org, "en")
	e.user(t, other, "ru")
	b := &notify.Breaches{Store: e.db, Notices: e.notices, Actor: "cli:test"}
	inc, _, err := b.Open(ctx, notify.NewBreach{Description: "CRM export leaked", OrgID: e.org})
	if err != nil || inc.Affected != 2 {
		t.Fatalf("Open = %+v, %v; want acme's 2 users", inc, err)
	}
	if _, _, err := b.Open(ctx, notify.NewBreach{Description: "x", OrgID: e.org, From: time.Now().Add(-time.Hour)}); callscribe.ErrorCode(err) != callscribe.EINVALID {
		t.Errorf("half a window: %v, want EINVALID", err)
	}
}
