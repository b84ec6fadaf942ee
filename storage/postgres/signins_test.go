package postgres_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"callscribe"
)

// TestSignInsInFlight: a sign-in through a provider in flight is taken once; an expired
// one is not taken and is pruned by the next one stored; past the bound the oldest are
// forgotten; a link's account comes back with it.
func TestSignInsInFlight(t *testing.T) {
	t.Parallel()
	db, u := setup(t)
	ctx := callscribe.AsSystem(context.Background())
	now := time.Now()
	hash := func(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }
	put := func(id string, expires time.Time, max int) {
		t.Helper()
		p := callscribe.PendingSignIn{Hash: hash(id), Provider: "oidc:corp", State: "state-" + id, Nonce: "nonce-" + id, Verifier: "verifier-" + id, ExpiresAt: expires}
		if err := db.PutSignIn(ctx, p, now, max); err != nil {
			t.Fatal(err)
		}
	}
	taken := func(id string) bool {
		t.Helper()
		p, err := db.TakeSignIn(ctx, hash(id), now)
		if callscribe.ErrorCode(err) == callscribe.ENOTFOUND {
			return false
		}
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(p.Hash, hash(id)) || p.State != "state-"+id || p.Nonce != "nonce-"+id || p.Verifier != "verifier-"+id || p.Provider != "oidc:corp" {
			t.Errorf("sign-in %s came back as %+v", id, p)
		}
		return true
	}

	put("a", now.Add(time.Minute), 100)
	if !taken("a") {
		t.Error("a sign-in in flight was not taken")
	}
	if taken("a") {
		t.Error("a sign-in was taken twice")
	}

	put("old", now.Add(-time.Second), 100)
	if taken("old") {
		t.Error("an expired sign-in was taken")
	}
	put("stale", now.Add(-time.Second), 100)
	put("b", now.Add(time.Minute), 100)
	var n int
	if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM oauth_pending WHERE expires_at <= $1`, now).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d expired sign-ins kept after another was stored (%v)", n, err)
	}

	for i := range 5 {
		put(fmt.Sprint("n", i), now.Add(time.Duration(i+2)*time.Minute), 3)
	}
	for id, want := range map[string]bool{"b": false, "n0": false, "n1": false, "n2": true, "n3": true, "n4": true} {
		if got := taken(id); got != want {
			t.Errorf("past the bound of 3, sign-in %s taken: %v, want %v (the oldest go)", id, got, want)
		}
	}

	if err := db.OperatorSetPassword(ctx, u.ID, "$argon2id$v=19$m=1024,t=1,p=1$c2FsdA$aGFzaA", nil, "cli"); err != nil {
		t.Fatal(err)
	}
	user := u.ID
	p := callscribe.PendingSignIn{Hash: hash("link"), Provider: "oidc:corp", State: "s", Nonce: "n", Verifier: "v", LinkUserID: user, ExpiresAt: now.Add(time.Minute)}
	if err := db.PutSignIn(ctx, p, now, 100); err != nil {
		t.Fatal(err)
	}
	if got, err := db.TakeSignIn(ctx, hash("link"), now); err != nil || got.LinkUserID != user {
		t.Errorf("a link's sign-in came back with account %s (%v), want %s", got.LinkUserID, err, user)
	}
}
