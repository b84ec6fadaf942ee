package webapp

import (
	"testing"
	"time"

	"callscribe"
)

// TestFormatDay: a due date reads as the pages' other dates do, in each language.
func TestFormatDay(t *testing.T) {
	t.Parallel()
	d := callscribe.DateOf(time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC))
	for lang, want := range map[string]string{"ru": "07.12.2026", "en": "7 Dec 2026"} {
		if got := formatDay(lang, d); got != want {
			t.Errorf("formatDay(%s) = %q, want %q", lang, got, want)
		}
	}
	if got := formatDay("ru", callscribe.Date{}); got != "" {
		t.Errorf("no date: %q, want nothing", got)
	}
}
