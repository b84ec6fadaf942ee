package callscribe

import (
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestCallCursorToken: a cursor reads back as it was (the rank bit for bit), and a token
// it did not write is refused.
func TestCallCursorToken(t *testing.T) {
	t.Parallel()
	at := time.UnixMicro(1764770000123456)
	for _, c := range []CallCursor{
		{CreatedAt: at, ID: uuid.New()},
		{CreatedAt: at, ID: uuid.New(), Ranked: true, Rank: 0.0607927},
		{CreatedAt: at, ID: uuid.New(), Ranked: true, Rank: 0},
	} {
		got, ok := ParseCallCursor(c.Token())
		if !ok || !got.CreatedAt.Equal(c.CreatedAt) || got.ID != c.ID || got.Ranked != c.Ranked || got.Rank != c.Rank {
			t.Errorf("%+v read back as %+v (%v)", c, got, ok)
		}
	}
	for _, bad := range []string{"", "x", "bm90IGEgY3Vyc29y", CallCursor{CreatedAt: at, ID: uuid.New()}.Token() + "A",
		"MTIzXzAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAwMDAwMDAwMDAwMF8x"} { // a rank of one hex digit
		if c, ok := ParseCallCursor(bad); ok {
			t.Errorf("%q read as %+v", bad, c)
		}
	}
}
