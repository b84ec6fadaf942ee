package webapp

import (
	"testing"
	"time"
)

// TestPendingStoreForgetsTheOldest: a full store of sign-ins in flight forgets the
// oldest one, not any one; expired sign-ins go first; a sign-in is taken once; and
// sign-ins taken behind a live one do not grow the store's bookkeeping without bound.
func TestPendingStoreForgetsTheOldest(t *testing.T) {
	t.Parallel()
	ps := newPendingStore(time.Hour)
	ids := make([]string, maxPending)
	for i := range ids {
		ids[i] = ps.put(pendingSignIn{provider: "oidc"})
	}
	newest := ps.put(pendingSignIn{provider: "oidc"})
	if _, ok := ps.take(ids[0]); ok {
		t.Error("the oldest sign-in is still there after the store filled up")
	}
	for _, id := range []string{ids[1], ids[maxPending/2], ids[maxPending-1], newest} {
		if _, ok := ps.take(id); !ok {
			t.Errorf("sign-in %s was forgotten; only the oldest should be", id)
		}
	}
	if _, ok := ps.take(newest); ok {
		t.Error("a sign-in was taken twice")
	}

	ps = newPendingStore(time.Hour)
	first, second := ps.put(pendingSignIn{}), ps.put(pendingSignIn{})
	p := ps.byID[first]
	p.expires = time.Now().Add(-time.Second)
	ps.byID[first] = p
	ps.put(pendingSignIn{})
	if _, ok := ps.byID[first]; ok {
		t.Error("an expired sign-in was kept")
	}
	if _, ok := ps.take(first); ok {
		t.Error("an expired sign-in was taken")
	}

	// second stays in flight while many others start and come back.
	for range 3 * maxPending {
		if _, ok := ps.take(ps.put(pendingSignIn{})); !ok {
			t.Fatal("a sign-in just put cannot be taken")
		}
	}
	if n := len(ps.order); n > 2*maxPending {
		t.Errorf("the store tracks %d ids for %d sign-ins in flight", n, len(ps.byID))
	}
	if _, ok := ps.take(second); !ok {
		t.Error("the sign-in in flight was forgotten")
	}
}
