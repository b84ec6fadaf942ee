package main

import (
	"strings"
	"testing"
	"time"
)

func TestLoadConfigResidency(t *testing.T) {
	t.Parallel()
	openai := map[string]string{"CALLSCRIBE_DATA_DIR": "/d", "CALLSCRIBE_ASR": "openai", "CALLSCRIBE_OPENAI_BASE_URL": "https://asr.example.ru/v1"}
	with := func(base map[string]string, kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name    string
		env     map[string]string
		wantErr []string // substrings of the error; nil: accepted
	}{
		{"local processors need no declaration", map[string]string{"CALLSCRIBE_DATA_DIR": "/d"}, nil},
		{"asr in country", with(openai, "CALLSCRIBE_ASR_COUNTRY", "RU"), nil},
		{"asr undeclared", openai, []string{"CALLSCRIBE_ASR_COUNTRY is unset", "the ASR endpoint https://asr.example.ru/v1"}},
		{"asr abroad", with(openai, "CALLSCRIBE_ASR_COUNTRY", "US"), []string{"CALLSCRIBE_ASR_COUNTRY=US: the ASR endpoint https://asr.example.ru/v1 is outside CALLSCRIBE_ALLOWED_COUNTRIES (RU)"}},
		{"asr abroad but allowed", with(openai, "CALLSCRIBE_ASR_COUNTRY", "KZ", "CALLSCRIBE_ALLOWED_COUNTRIES", "RU,KZ"), nil},
		{"summary undeclared", with(openai, "CALLSCRIBE_ASR_COUNTRY", "RU", "CALLSCRIBE_SUMMARY", "openai", "CALLSCRIBE_SUMMARY_MODEL", "m"), []string{"CALLSCRIBE_SUMMARY_COUNTRY is unset", "the summary endpoint"}},
		{"object store abroad", map[string]string{"CALLSCRIBE_DATA_DIR": "/d", "CALLSCRIBE_S3_ENDPOINT": "s3.amazonaws.com", "CALLSCRIBE_S3_ACCESS_KEY": "ak", "CALLSCRIBE_S3_SECRET_KEY": "sk", "CALLSCRIBE_S3_COUNTRY": "US"}, []string{"CALLSCRIBE_S3_COUNTRY=US", "the object store s3.amazonaws.com"}},
		{"object store undeclared", map[string]string{"CALLSCRIBE_DATA_DIR": "/d", "CALLSCRIBE_S3_ENDPOINT": "storage.yandexcloud.net", "CALLSCRIBE_S3_ACCESS_KEY": "ak", "CALLSCRIBE_S3_SECRET_KEY": "sk"}, []string{"CALLSCRIBE_S3_COUNTRY is unset"}},
		{"recording hosts undeclared", map[string]string{"CALLSCRIBE_DATA_DIR": "/d", "CALLSCRIBE_FETCH_HOSTS": "api.twilio.com"}, []string{"CALLSCRIBE_FETCH_COUNTRY is unset", "api.twilio.com"}},
		{"recording hosts abroad", map[string]string{"CALLSCRIBE_DATA_DIR": "/d", "CALLSCRIBE_FETCH_HOSTS": "api.twilio.com", "CALLSCRIBE_FETCH_COUNTRY": "US"}, []string{"CALLSCRIBE_FETCH_COUNTRY=US"}},
		{"bad allowed list", map[string]string{"CALLSCRIBE_DATA_DIR": "/d", "CALLSCRIBE_ALLOWED_COUNTRIES": "Russia"}, []string{"CALLSCRIBE_ALLOWED_COUNTRIES"}},
		{"bad fetch allow list", map[string]string{"CALLSCRIBE_DATA_DIR": "/d", "CALLSCRIBE_FETCH_ALLOW": "10.0.0.0/40"}, []string{"CALLSCRIBE_FETCH_ALLOW"}},
		{"bad webhook attempts", map[string]string{"CALLSCRIBE_DATA_DIR": "/d", "CALLSCRIBE_WEBHOOK_MAX_ATTEMPTS": "0"}, []string{"CALLSCRIBE_WEBHOOK_MAX_ATTEMPTS"}},
		{"bad fetch timeout", map[string]string{"CALLSCRIBE_DATA_DIR": "/d", "CALLSCRIBE_FETCH_TIMEOUT": "soon"}, []string{"CALLSCRIBE_FETCH_TIMEOUT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := loadConfig(testGetenv(tt.env))
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("LoadConfig = %v, want it accepted", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("LoadConfig accepted it; want an error mentioning %q", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("LoadConfig = %q, want it to mention %q", err, w)
				}
			}
		})
	}
	c, err := loadConfig(func(k string) string {
		return map[string]string{"CALLSCRIBE_DATA_DIR": "/d", "CALLSCRIBE_WEBHOOK_TIMEOUT": "3s", "CALLSCRIBE_FETCH_HOSTS": " a.example.ru, .b.example.ru ", "CALLSCRIBE_FETCH_COUNTRY": "ru"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	if e := c.egress; e.webhookTimeout != 3*time.Second || e.webhookMaxAttempts != 12 || len(e.fetchHosts) != 2 || e.fetchHosts[1] != ".b.example.ru" || e.allowed.String() != "RU" {
		t.Errorf("egress = %+v", e)
	}
}

// TestRefusesOutOfCountryASR starts the binary as an operator would, with the speech
// endpoint declared abroad: it must refuse to start and say which processor and which
// variable.
func TestRefusesOutOfCountryASR(t *testing.T) {
	t.Parallel()
	env := []string{"CALLSCRIBE_DATA_DIR=" + t.TempDir(), "CALLSCRIBE_ASR=openai",
		"CALLSCRIBE_OPENAI_BASE_URL=https://api.openai.com/v1", "CALLSCRIBE_ASR_COUNTRY=US"}
	r := runCLI(t, env, "consent", "show", "--email", "local@localhost")
	if r.code != exitBadInput {
		t.Errorf("exit %d, want %d (refused configuration)\n%s", r.code, exitBadInput, r.stderr)
	}
	want := "CALLSCRIBE_ASR_COUNTRY=US: the ASR endpoint https://api.openai.com/v1 is outside CALLSCRIBE_ALLOWED_COUNTRIES (RU)"
	if !strings.Contains(r.stderr, want) {
		t.Errorf("stderr = %q, want it to say %q", r.stderr, want)
	}
	r = runCLI(t, env[:3], "consent", "show", "--email", "local@localhost")
	if r.code != exitBadInput || !strings.Contains(r.stderr, "CALLSCRIBE_ASR_COUNTRY is unset") {
		t.Errorf("undeclared ASR country: exit %d, stderr %q; want a refusal naming CALLSCRIBE_ASR_COUNTRY", r.code, r.stderr)
	}
}
