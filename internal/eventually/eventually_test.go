package eventually

import (
	"testing"
	"time"
)

func TestTrueWaitsForTheCondition(t *testing.T) {
	t.Parallel()
	start := time.Now()
	n := 0
	True(t, 5*time.Second, "third check", func() bool { n++; return n >= 3 })
	if n != 3 {
		t.Errorf("checked %d times, want 3 (it stops at the first true)", n)
	}
	if d := time.Since(start); d < 2*Poll {
		t.Errorf("returned after %s, want at least two polls (%s)", d, 2*Poll)
	}
	if got := Value(t, time.Second, "value", func() (int, bool) { return 7, true }); got != 7 {
		t.Errorf("Value = %d, want 7", got)
	}
}

type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = format
	panic(r)
}

func TestTrueFailsNamingWhat(t *testing.T) {
	t.Parallel()
	r := &recorder{TB: t}
	func() {
		defer func() {
			if p := recover(); p != r {
				t.Fatalf("recovered %v, want the recorder's Fatalf", p)
			}
		}()
		True(r, 3*Poll, "thing", func() bool { return false })
	}()
	if r.failed != "no %s after %s" {
		t.Errorf("failed with %q, want the message naming what was awaited", r.failed)
	}
}
