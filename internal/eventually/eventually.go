// Package eventually waits in tests for a condition instead of sleeping for a guessed
// time: it polls until the condition holds and fails the test, naming what it waited for,
// when it does not hold within the limit. It is for tests only and never used by the service.
package eventually

import (
	"testing"
	"time"
)

// Poll is how often a condition is checked.
const Poll = 20 * time.Millisecond

// True waits until ok returns true, checking every Poll, and fails the test with
// "no WHAT after WITHIN" when it has not by then.
func True(t testing.TB, within time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after %s", what, within)
		}
		time.Sleep(Poll)
	}
}

// Value waits until get returns a value and true, and returns that value; it fails the
// test as True does.
func Value[T any](t testing.TB, within time.Duration, what string, get func() (T, bool)) T {
	t.Helper()
	var v T
	True(t, within, what, func() bool {
		var ok bool
		v, ok = get()
		return ok
	})
	return v
}
