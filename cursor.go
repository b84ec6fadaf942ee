package callscribe

import (
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Token is the cursor as the API and the pages hand it out: opaque, URL-safe, the
// creation time and id, and for a text query the rank's bits (so it compares exactly).
func (c CallCursor) Token() string {
	s := fmt.Sprintf("%d_%s", c.CreatedAt.UnixMicro(), c.ID)
	if c.Ranked {
		s += fmt.Sprintf("_%08x", math.Float32bits(c.Rank))
	}
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

// ParseCallCursor reads a Token back; false for anything Token did not write.
func ParseCallCursor(s string) (CallCursor, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return CallCursor{}, false
	}
	parts := strings.Split(string(b), "_")
	if len(parts) != 2 && len(parts) != 3 {
		return CallCursor{}, false
	}
	us, err1 := strconv.ParseInt(parts[0], 10, 64)
	id, err2 := uuid.Parse(parts[1])
	if err1 != nil || err2 != nil {
		return CallCursor{}, false
	}
	c := CallCursor{CreatedAt: time.UnixMicro(us), ID: id}
	if len(parts) == 3 {
		bits, err := strconv.ParseUint(parts[2], 16, 32)
		if err != nil || len(parts[2]) != 8 {
			return CallCursor{}, false
		}
		c.Ranked, c.Rank = true, math.Float32frombits(uint32(bits))
	}
	return c, true
}
