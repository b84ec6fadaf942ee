package privacy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"callscribe"
	"callscribe/privacy"
	"callscribe/storage/pgtest"
)

// exportOf is alice's export after she asked for an extension and a rejection of an
// access request, withdrew a consent over the API and had a profile field corrected:
// every part of the export populated.
func exportOf(t *testing.T) (alice, bob person, out []byte) {
	t.Helper()
	ctx := callscribe.AsSystem(context.Background())
	db := openDB(t, pgtest.DB(t))
	alice = makePerson(t, db, "quokka", "alice@example.ru", "+79160001122", 2)
	bob = makePerson(t, db, "wombat", "bob@example.ru", "+79035556677", 2)
	if _, err := db.EditUser(ctx, alice.user.ID, []callscribe.ProfileEdit{{Field: "surname", Value: "Quokkina"}}, "cli"); err != nil {
		t.Fatal(err)
	}
	c := &privacy.Consents{Store: db, PolicyVersion: "1"}
	if _, err := c.Withdraw(ctx, alice.user.ID, []callscribe.Purpose{callscribe.PurposeSummarization}, callscribe.ConsentViaAPI); err != nil {
		t.Fatal(err)
	}
	reqs := &privacy.Requests{Store: db}
	for _, u := range []callscribe.User{alice.user, bob.user} {
		r, err := reqs.Add(ctx, privacy.NewRequest{OrgID: u.OrgID, UserID: u.ID, Kind: callscribe.RequestAccess,
			Notes: "asked by letter " + u.Surname, Actor: "cli:test"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := reqs.Extend(ctx, r.ID, privacy.Extension{Days: 2, Reason: "archive", Actor: "cli:test"}); err != nil {
			t.Fatal(err)
		}
		if _, err := reqs.Close(ctx, r.ID, privacy.Closing{Reject: true, Reason: "identity not proven", Actor: "cli:test"}); err != nil {
			t.Fatal(err)
		}
	}
	// Alice has an account on the web: a session, a linked identity, an answer to the
	// agreement (storage/postgres's account methods, as package accounts uses them).
	if _, err := db.Pool().Exec(ctx, `INSERT INTO accounts (user_id, role) VALUES ($1, 'member')`, alice.user.ID); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := db.CreateSession(ctx, callscribe.SessionRecord{Hash: bytes.Repeat([]byte{7}, 32), UserID: alice.user.ID,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour), UserAgent: "Firefox on Linux", Addr: "192.0.2.10"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.LinkIdentity(ctx, callscribe.IdentityRecord{Provider: "yandex", Subject: "quokka-1", UserID: alice.user.ID,
		Email: "alice@yandex.ru", FirstName: "Alice", LinkedAt: now}, "user:"+alice.user.ID.String()); err != nil {
		t.Fatal(err)
	}
	if err := db.PublishAgreement(ctx, callscribe.AgreementRecord{Version: "1", Text: "text", PublishedAt: now, PublishedBy: "cli"}); err != nil {
		t.Fatal(err)
	}
	if err := db.AnswerAgreement(ctx, alice.user.ID, "1", "accept", callscribe.ConsentViaWeb, now); err != nil {
		t.Fatal(err)
	}
	// A notice sent to alice, and a choice of hers (the notices component records them;
	// here they are written as it writes them).
	if _, err := db.Pool().Exec(ctx, `
		INSERT INTO notice_deliveries (id, notice_id, user_id, event, channel, call_id, detail, state, attempts, last_error, created_at, finished_at)
		VALUES (gen_random_uuid(), gen_random_uuid(), $1, 'transcript_ready', 'email', $2, '', 'failed', 3, 'smtp 550', now(), now())`,
		alice.user.ID, alice.calls[0]); err != nil {
		t.Fatal(err)
	}
	if err := db.SetNoticeChoice(ctx, alice.user.ID, callscribe.NoticeTranscriptReady, callscribe.NoticeEmail, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := (&privacy.Exporter{Store: db}).Export(ctx, &buf, alice.user.ID); err != nil {
		t.Fatal(err)
	}
	return alice, bob, buf.Bytes()
}

// TestExportHoldsTheUsersDataOnly: the export of a user with stored calls holds their
// transcript words, profile, consents and their events with channels, requests and their
// transitions, receipts, history and audit entries, and none of another user's.
func TestExportHoldsTheUsersDataOnly(t *testing.T) {
	t.Parallel()
	alice, bob, b := exportOf(t)
	out := string(b)
	for _, w := range append(alice.words, alice.user.Email, "+79160001122", "Quokkina", "quokkaova", alice.calls[0].String(),
		`"audio_deletion_receipt": {`, "transcript.read", "consent.grant", `"channel": "api"`, `"channel": "cli"`,
		`"action": "withdraw"`, "asked by letter quokkaova", "identity not proven", `"action": "extended"`, `"granted_at"`) {
		if !strings.Contains(out, w) {
			t.Errorf("export lacks %q", w)
		}
	}
	for _, w := range append(bob.words, bob.user.Email, bob.user.ID.String(), bob.calls[0].String(), "wombatova") {
		if strings.Contains(out, w) {
			t.Errorf("export of alice holds bob's %q", w)
		}
	}
	// Go's field names never reach the document.
	for _, w := range []string{"UserID", "GrantedAt", "PolicyVersion", "Purpose"} {
		if strings.Contains(out, `"`+w+`"`) {
			t.Errorf("export has the Go field name %q as a key", w)
		}
	}
}

// documentedExportKeys reads the export's keys from README, between its markers.
func documentedExportKeys(t *testing.T) map[string]bool {
	t.Helper()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok1 := strings.Cut(string(readme), "<!-- export keys begin -->")
	section, _, ok2 := strings.Cut(rest, "<!-- export keys end -->")
	if !ok1 || !ok2 {
		t.Fatal("README has no export key list between its markers")
	}
	path := regexp.MustCompile("`([a-z_]+(?:\\[\\])?(?:\\.(?:[a-z0-9_]+|\\*)(?:\\[\\])?)*)`")
	keys := map[string]bool{}
	for _, m := range path.FindAllStringSubmatch(section, -1) {
		keys[m[1]] = true
	}
	if len(keys) < 50 {
		t.Fatalf("README lists %d export keys; the list was not read", len(keys))
	}
	return keys
}

// exportKeys walks a JSON value and adds the path of every object key it holds. A key
// whose documented path ends in ".*" holds keys that vary: they count as that path.
func exportKeys(v any, prefix string, documented, seen map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			if documented[prefix+".*"] {
				seen[prefix+".*"] = true
				continue
			}
			seen[p] = true
			exportKeys(child, p, documented, seen)
		}
	case []any:
		for _, child := range v {
			exportKeys(child, prefix+"[]", documented, seen)
		}
	}
}

// TestExportSchema: every key of a fully populated export is one README documents, and
// every documented key is in it, at every depth.
func TestExportSchema(t *testing.T) {
	t.Parallel()
	_, _, out := exportOf(t)
	documented := documentedExportKeys(t)
	var doc any
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("export is not JSON: %v", err)
	}
	seen := map[string]bool{}
	exportKeys(doc, "", documented, seen)
	var undocumented, missing []string
	for k := range seen {
		if !documented[k] {
			undocumented = append(undocumented, k)
		}
	}
	for k := range documented {
		if !seen[k] {
			missing = append(missing, k)
		}
	}
	slices.Sort(undocumented)
	slices.Sort(missing)
	if len(undocumented) > 0 {
		t.Errorf("the export holds keys README does not document:\n%s", strings.Join(undocumented, "\n"))
	}
	if len(missing) > 0 {
		t.Errorf("README documents keys the populated export lacks:\n%s", strings.Join(missing, "\n"))
	}
	// Instants are UTC.
	var d struct {
		ExportedAt time.Time `json:"exported_at"`
		Requests   []struct {
			ReceivedAt string `json:"received_at"`
		} `json:"requests"`
	}
	if err := json.Unmarshal(out, &d); err != nil || len(d.Requests) != 1 || !strings.HasSuffix(d.Requests[0].ReceivedAt, "Z") {
		t.Errorf("requests in the export: %+v, %v; want one, received_at in UTC", d.Requests, err)
	}
}
