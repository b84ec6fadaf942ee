package main

import (
	"encoding/json"
	"strings"
	"testing"
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
