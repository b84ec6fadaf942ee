package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	secret := filepath.Join(t.TempDir(), "key")
	os.WriteFile(secret, []byte("s3cret\n"), 0o600)
	badCalendar := filepath.Join(t.TempDir(), "calendar.txt")
	os.WriteFile(badCalendar, []byte("2028-01-03 off\n2028-01-04 of\n"), 0o600)
	tests := []struct {
		name    string
		env     map[string]string
		check   func(config) bool
		wantErr string // the variable the error must name
	}{
		{"defaults", map[string]string{"CALLSCRIBE_DATA_DIR": "/d"}, func(c config) bool {
			return c.asr == "sphinx" && c.summary == "extractive" && c.databaseURL == "" && c.dataDir == "/d" && c.consentPoll == time.Second
		}, ""},
		{"secret from file", map[string]string{"CALLSCRIBE_DATA_DIR": "/d", "CALLSCRIBE_OPENAI_API_KEY_FILE": secret}, func(c config) bool {
			return c.openAIAPIKey == "s3cret"
		}, ""},
		{"missing secret file", map[string]string{"CALLSCRIBE_DATABASE_URL_FILE": "/nonexistent/url"}, nil, "CALLSCRIBE_DATABASE_URL_FILE"},
		{"unknown asr", map[string]string{"CALLSCRIBE_ASR": "vosk"}, nil, "CALLSCRIBE_ASR"},
		{"openai asr without url", map[string]string{"CALLSCRIBE_ASR": "openai"}, nil, "CALLSCRIBE_OPENAI_BASE_URL"},
		{"openai summary without model", map[string]string{"CALLSCRIBE_SUMMARY": "openai", "CALLSCRIBE_OPENAI_BASE_URL": "http://llm.local/v1"}, nil, "CALLSCRIBE_SUMMARY_MODEL"},
		{"unknown summary", map[string]string{"CALLSCRIBE_SUMMARY": "abstractive"}, nil, "CALLSCRIBE_SUMMARY"},
		{"bad size", map[string]string{"CALLSCRIBE_MAX_CALL_BYTES": "1GB"}, nil, "CALLSCRIBE_MAX_CALL_BYTES"},
		{"bad poll", map[string]string{"CALLSCRIBE_CONSENT_POLL": "-1s"}, nil, "CALLSCRIBE_CONSENT_POLL"},
		{"bad log level", map[string]string{"CALLSCRIBE_LOG_LEVEL": "loud"}, nil, "CALLSCRIBE_LOG_LEVEL"},
		{"bad calendar line", map[string]string{"CALLSCRIBE_CALENDAR_FILE": badCalendar}, nil, "CALLSCRIBE_CALENDAR_FILE: " + badCalendar + ":2:"},
		{"missing calendar", map[string]string{"CALLSCRIBE_CALENDAR_FILE": "/nonexistent/cal.txt"}, nil, "CALLSCRIBE_CALENDAR_FILE"},
		{"short ledger key", map[string]string{"CALLSCRIBE_LEDGER_KEY": "short"}, nil, "CALLSCRIBE_LEDGER_KEY"},
		{"bad retention period", map[string]string{"CALLSCRIBE_RETENTION_EVERY": "daily"}, nil, "CALLSCRIBE_RETENTION_EVERY"},
		{"ledger file in the data dir", map[string]string{"CALLSCRIBE_DATA_DIR": "/d"}, func(c config) bool {
			return c.ledgerFile == "/d/erasure-ledger.jsonl" && c.retentionEvery == time.Hour
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := loadConfig(testGetenv(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Errorf("config = %+v", c)
			}
		})
	}
}

// testGetenv is the environment env describes, with a HOME (the data dir's default
// comes from it) unless env sets one.
func testGetenv(env map[string]string) func(string) string {
	return func(k string) string {
		if v, ok := env[k]; ok || k != "HOME" {
			return v
		}
		return "/home/test"
	}
}
