package callscribe_test

import (
	"testing"

	"callscribe"
)

// TestPublicStatuses: every status the API names reads back as the stored status it
// filters on and is named the same again (one vocabulary for the API, the CLI and the
// metrics); the stored words the API does not use, and anything else, are refused.
func TestPublicStatuses(t *testing.T) {
	t.Parallel()
	for _, s := range callscribe.PublicStatuses {
		st, err := callscribe.ParsePublicStatus(s)
		if err != nil || st.Public() != s {
			t.Errorf("ParsePublicStatus(%q) = %q, %v; want a status named %q again", s, st, err, s)
		}
	}
	if st, _ := callscribe.ParsePublicStatus("queued"); st != callscribe.CallStaged {
		t.Errorf("queued filters on %q; want staged", st)
	}
	for _, s := range []string{"staged", "received", "", "Queued", "lost"} {
		if _, err := callscribe.ParsePublicStatus(s); callscribe.ErrorCode(err) != callscribe.EINVALID {
			t.Errorf("ParsePublicStatus(%q): %v; want invalid", s, err)
		}
	}
}
