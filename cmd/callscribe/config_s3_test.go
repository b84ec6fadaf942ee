package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadS3Config(t *testing.T) {
	t.Parallel()
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte("from-file\n"), 0o600)
	full := func(extra ...string) map[string]string {
		env := map[string]string{"CALLSCRIBE_DATA_DIR": "/d", "CALLSCRIBE_S3_ENDPOINT": "minio.local:9000",
			"CALLSCRIBE_S3_ACCESS_KEY": "ak", "CALLSCRIBE_S3_SECRET_KEY": "sk", "CALLSCRIBE_S3_COUNTRY": "RU"}
		for i := 0; i+1 < len(extra); i += 2 {
			env[extra[i]] = extra[i+1]
		}
		return env
	}
	tests := []struct {
		name    string
		env     map[string]string
		check   func(s3Config) bool
		wantErr string // the variable the error must name
	}{
		{"unset: memory", map[string]string{"CALLSCRIBE_DATA_DIR": "/d"}, func(c s3Config) bool {
			return c.endpoint == "" && c.bucket == "callscribe-staging" && c.ttl == 24*time.Hour && !c.secure
		}, ""},
		{"defaults", full(), func(c s3Config) bool {
			return c.endpoint == "minio.local:9000" && c.accessKey == "ak" && c.secretKey == "sk" &&
				c.bucket == "callscribe-staging" && c.ttl == 24*time.Hour && !c.secure && c.region == ""
		}, ""},
		{"everything set", full("CALLSCRIBE_S3_BUCKET", "calls-tmp", "CALLSCRIBE_S3_SECURE", "true",
			"CALLSCRIBE_S3_TTL", "6h", "CALLSCRIBE_S3_REGION", "ru-central1"), func(c s3Config) bool {
			return c.bucket == "calls-tmp" && c.secure && c.ttl == 6*time.Hour && c.region == "ru-central1"
		}, ""},
		{"keys from files", full("CALLSCRIBE_S3_SECRET_KEY", "", "CALLSCRIBE_S3_SECRET_KEY_FILE", secret,
			"CALLSCRIBE_S3_ACCESS_KEY", "", "CALLSCRIBE_S3_ACCESS_KEY_FILE", secret), func(c s3Config) bool {
			return c.secretKey == "from-file" && c.accessKey == "from-file"
		}, ""},
		{"endpoint without access key", full("CALLSCRIBE_S3_ACCESS_KEY", ""), nil, "CALLSCRIBE_S3_ACCESS_KEY"},
		{"endpoint without secret key", full("CALLSCRIBE_S3_SECRET_KEY", ""), nil, "CALLSCRIBE_S3_SECRET_KEY"},
		{"keys without endpoint", full("CALLSCRIBE_S3_ENDPOINT", ""), nil, "CALLSCRIBE_S3_ENDPOINT"},
		{"endpoint with scheme", full("CALLSCRIBE_S3_ENDPOINT", "https://minio.local"), nil, "CALLSCRIBE_S3_ENDPOINT"},
		{"missing key file", full("CALLSCRIBE_S3_SECRET_KEY_FILE", "/nonexistent"), nil, "CALLSCRIBE_S3_SECRET_KEY_FILE"},
		{"bad secure", full("CALLSCRIBE_S3_SECURE", "yes please"), nil, "CALLSCRIBE_S3_SECURE"},
		{"bad ttl", full("CALLSCRIBE_S3_TTL", "1 day"), nil, "CALLSCRIBE_S3_TTL"},
		{"zero ttl", full("CALLSCRIBE_S3_TTL", "0s"), nil, "CALLSCRIBE_S3_TTL"},
		{"bad bucket", full("CALLSCRIBE_S3_BUCKET", "Calls_Tmp"), nil, "CALLSCRIBE_S3_BUCKET"},
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
			if !tt.check(c.s3) {
				t.Errorf("S3 config = %+v", c.s3)
			}
		})
	}
}
