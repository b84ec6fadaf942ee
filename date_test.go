package callscribe_test

import (
	"testing"
	"time"

	"callscribe"
)

// TestDateLocal: a due date reads as people read dates in each language; a language
// we do not speak gets the Russian form, as the catalogues' fall back.
func TestDateLocal(t *testing.T) {
	t.Parallel()
	d := callscribe.DateOf(time.Date(2026, 12, 7, 23, 0, 0, 0, time.UTC))
	for lang, want := range map[string]string{"ru": "07.12.2026", "en": "7 Dec 2026", "de": "07.12.2026"} {
		if got := d.Local(lang); got != want {
			t.Errorf("Local(%s) = %q, want %q", lang, got, want)
		}
	}
	if got := (callscribe.Date{}).Local("ru"); got != "" {
		t.Errorf("the zero Date: %q, want nothing", got)
	}
}
