package privacy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"

	"callscribe"
	"callscribe/privacy"
	"callscribe/storage/pgtest"
	"callscribe/storage/postgres"
)

// TestExportHoldsTheUsersDataOnly: the export of a user with stored calls holds their
// transcript words, profile, consents, receipts, history and audit entries, and none of
// another user's.
func TestExportHoldsTheUsersDataOnly(t *testing.T) {
	ctx := callscribe.AsSystem(context.Background())
	db := openDB(t, pgtest.DB(t))
	alice := makePerson(t, db, "quokka", "alice@example.ru", "+79160001122", 2)
	bob := makePerson(t, db, "wombat", "bob@example.ru", "+79035556677", 2)
	if _, err := db.EditUser(ctx, alice.user.ID, []postgres.ProfileEdit{{Field: "surname", Value: "Quokkina"}}, "cli"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	x := &privacy.Exporter{Store: db, Sections: map[string]privacy.ExportSection{
		"requests": func(context.Context, uuid.UUID) (any, error) { return []string{}, nil },
	}}
	if err := x.Export(ctx, &buf, alice.user.ID); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, w := range append(alice.words, alice.user.Email, "+79160001122", "Quokkina", "quokkaova", alice.calls[0].String(), "audio_deletion_receipt", "transcript.read", "consent.grant", `"requests"`) {
		if !strings.Contains(out, w) {
			t.Errorf("export lacks %q", w)
		}
	}
	for _, w := range append(bob.words, bob.user.Email, bob.user.ID.String(), bob.calls[0].String()) {
		if strings.Contains(out, w) {
			t.Errorf("export of alice holds bob's %q", w)
		}
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("export is not JSON: %v", err)
	}
	for _, k := range []string{"profile", "consents", "calls", "rectifications", "audit"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("export has no %q section", k)
		}
	}
}
