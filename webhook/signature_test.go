package webhook

import (
	"errors"
	"testing"
	"time"
)

func TestSignVerify(t *testing.T) {
	t.Parallel()
	secret := "whsec_test-secret-of-enough-length-000"
	body := []byte(`{"id":"d1","event":"call.completed"}`)
	now := time.Unix(1_800_000_000, 0)
	header := Sign(secret, now, body)
	if want := "t=1800000000,v1="; header[:len(want)] != want || len(header) != len(want)+64 {
		t.Fatalf("Sign = %q, want t=<unix>,v1=<64 hex digits>", header)
	}
	tests := []struct {
		name   string
		secret string
		header string
		body   []byte
		at     time.Time
		want   error
	}{
		{"genuine", secret, header, body, now, nil},
		{"genuine, a little later", secret, header, body, now.Add(4 * time.Minute), nil},
		{"body changed", secret, header, []byte(`{"id":"d1","event":"call.failed"}`), now, ErrBadSignature},
		{"other secret", "whsec_someone-else-entirely-00000000", header, body, now, ErrBadSignature},
		{"replayed later", secret, header, body, now.Add(6 * time.Minute), ErrTooOld},
		{"from the future", secret, header, body, now.Add(-6 * time.Minute), ErrTooOld},
		{"timestamp swapped", secret, "t=1800000060," + header[len("t=1800000000,"):], body, now, ErrBadSignature},
		{"rotated secrets: one of two matches", secret, header + ",v1=" + Sign("old", now, body)[len("t=1800000000,v1="):], body, now, nil},
		{"no v1", secret, "t=1800000000", body, now, ErrNoSignature},
		{"empty", secret, "", body, now, ErrNoSignature},
		{"garbage", secret, "sha256=abc", body, now, ErrNoSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := verifyAt(tt.at, tt.secret, tt.header, tt.body, 0); !errors.Is(err, tt.want) {
				t.Errorf("verify = %v, want %v", err, tt.want)
			}
		})
	}
	if err := Verify(secret, Sign(secret, time.Now(), body), body, time.Minute); err != nil {
		t.Errorf("Verify of a fresh signature: %v", err)
	}
}
