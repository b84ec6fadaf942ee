package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"

	"callscribe"
	"callscribe/storage/pgtest"
	"callscribe/storage/postgres"
)

func TestWebhookCommands(t *testing.T) {
	t.Parallel()
	env := dbEnv(t)
	mustRun(t, env, "users", "add", "--email", "ivanova@example.ru", "--org", "acme")
	var ep struct {
		ID, Organization, URL, Country, Secret string
		Events                                 []string
	}
	out := mustRun(t, env, "webhook", "add", "--org", "acme", "--url", "https://crm.example.ru/hooks?token=t0k", "--country", "ru", "--events", "call.completed,call.failed")
	if err := json.Unmarshal([]byte(out), &ep); err != nil {
		t.Fatalf("webhook add output %q: %v", out, err)
	}
	if ep.ID == "" || ep.Country != "RU" || !strings.HasPrefix(ep.Secret, "whsec_") || len(ep.Secret) < 40 || strings.Join(ep.Events, ",") != "call.completed,call.failed" {
		t.Errorf("webhook add = %+v", ep)
	}
	list := mustRun(t, env, "webhook", "list")
	if !strings.Contains(list, ep.ID) || !strings.Contains(list, "active") || !strings.Contains(list, "https://crm.example.ru/hooks") {
		t.Errorf("webhook list = %q, want the endpoint, active", list)
	}
	if strings.Contains(list, ep.Secret) || strings.Contains(list, "t0k") {
		t.Errorf("webhook list shows the secret or the URL's query: %q", list)
	}
	mustRun(t, env, "webhook", "remove", ep.ID)
	if list := mustRun(t, env, "webhook", "list", "--org", "acme"); !strings.Contains(list, "removed") {
		t.Errorf("after remove: %q", list)
	}

	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"webhook", "add", "--org", "acme", "--url", "https://hooks.example.com/x", "--country", "US"}, exitBadInput, "country=US"},
		{[]string{"webhook", "add", "--org", "acme", "--url", "https://hooks.example.com/x"}, exitBadInput, "--country is required"},
		{[]string{"webhook", "add", "--org", "acme", "--url", "http://169.254.169.254/latest", "--country", "RU"}, exitBadInput, "link-local"},
		{[]string{"webhook", "add", "--org", "acme", "--url", "https://x.example.ru", "--country", "RU", "--events", "call.started"}, exitBadInput, "call.started"},
		{[]string{"webhook", "add", "--org", "nobody", "--url", "https://x.example.ru", "--country", "RU"}, exitNotFound, "nobody"},
		{[]string{"webhook", "remove", ep.ID}, exitNotFound, ep.ID},
	} {
		r := runCLI(t, env, tt.args...)
		if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d mentioning %q", strings.Join(tt.args, " "), r.code, r.stderr, tt.code, tt.want)
		}
	}
}

// TestWebhookDeliveriesCommand: `webhook deliveries` lists the deliveries given up for
// good, by organization and state, with ids and the last answer, never a payload.
func TestWebhookDeliveriesCommand(t *testing.T) {
	t.Parallel()
	ctx := callscribe.AsSystem(context.Background())
	url := pgtest.DB(t)
	env := []string{"CALLSCRIBE_DATABASE_URL=" + url, "TMPDIR=" + t.TempDir()}
	mustRun(t, env, "users", "add", "--email", "ivanova@example.ru", "--org", "acme")
	db, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	org, err := db.OrganizationID(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	u, err := db.UserByEmail(ctx, org, "ivanova@example.ru")
	if err != nil {
		t.Fatal(err)
	}
	call, err := db.CreateCall(ctx, org, u.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	ep := mustRun(t, env, "webhook", "add", "--org", "acme", "--url", "https://crm.example.ru/hooks", "--country", "RU")
	var endpoint struct{ ID string }
	if err := json.Unmarshal([]byte(ep), &endpoint); err != nil {
		t.Fatal(err)
	}
	failed, pending := uuid.New(), uuid.New()
	for _, d := range []struct {
		id     uuid.UUID
		failed bool
	}{{failed, true}, {pending, false}} {
		if _, err := db.Pool().Exec(ctx, `
			INSERT INTO webhook_deliveries (id, endpoint_id, event, call_id, payload, attempts, last_status, last_error, failed_at)
			VALUES ($1, $2, 'call.completed', $3, '{"data":{"status":"completed"}}', 1, 410, '410 Gone', CASE WHEN $4 THEN now() END)`,
			d.id, endpoint.ID, call, d.failed); err != nil {
			t.Fatal(err)
		}
	}
	out := mustRun(t, env, "webhook", "deliveries", "--org", "acme", "--status", "failed")
	if !strings.Contains(out, failed.String()) || !strings.Contains(out, "failed") || !strings.Contains(out, "410 Gone") ||
		!strings.Contains(out, call.String()) || strings.Contains(out, pending.String()) || strings.Contains(out, `"status"`) {
		t.Errorf("webhook deliveries --status failed:\n%s\nwant the failed delivery alone, with its call and last answer, no payload", out)
	}
	if all := mustRun(t, env, "webhook", "deliveries"); !strings.Contains(all, failed.String()) || !strings.Contains(all, pending.String()) {
		t.Errorf("webhook deliveries:\n%s\nwant both", all)
	}
	if none := mustRun(t, env, "webhook", "deliveries", "--org", "nobody"); strings.Contains(none, failed.String()) {
		t.Errorf("webhook deliveries --org nobody lists acme's: %s", none)
	}
	if r := runCLI(t, env, t.TempDir(), "webhook", "deliveries", "--status", "lost"); r.code != exitBadInput {
		t.Errorf("webhook deliveries --status lost: exit %d, want %d", r.code, exitBadInput)
	}
}
