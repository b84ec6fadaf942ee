package privacy_test

import (
	"strings"
	"testing"
	"time"

	"callscribe"
	"callscribe/privacy"
)

func date(t *testing.T, s string) callscribe.Date {
	t.Helper()
	d, err := callscribe.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDueDateOverTheNovember2025Transfer is the check the policy names: a request
// received on Friday 31 October 2025 is due on 17 November 2025 (Saturday 1 November was
// a working day; 3 and 4 November were off).
func TestDueDateOverTheNovember2025Transfer(t *testing.T) {
	t.Parallel()
	received := time.Date(2025, 10, 31, 15, 30, 0, 0, privacy.Moscow)
	if got, want := privacy.DefaultCalendar().DueDate(received), date(t, "2025-11-17"); got != want {
		t.Errorf("DueDate(%s) = %s, want %s", received, got, want)
	}
}

func TestAddBusinessDays(t *testing.T) {
	t.Parallel()
	cal := privacy.DefaultCalendar()
	tests := []struct {
		name string
		from string
		n    int
		want string
	}{
		{"plain week", "2025-10-06", 4, "2025-10-10"},
		{"over a weekend", "2025-10-10", 1, "2025-10-13"},
		{"from a Saturday", "2025-10-11", 1, "2025-10-13"},
		{"zero days is the day itself", "2025-10-11", 0, "2025-10-11"},
		{"working Saturday counts", "2025-10-31", 1, "2025-11-01"},
		{"transferred days off skipped", "2025-11-01", 1, "2025-11-05"},
		{"May 2025: 1, 2, 8, 9 off", "2025-04-30", 4, "2025-05-12"},
		{"June 2025: 12 and 13 off", "2025-06-11", 1, "2025-06-16"},
		{"2025 year end: Dec 31 off, then the January holidays", "2025-12-30", 1, "2026-01-12"},
		{"2026 January: off to the 9th", "2025-12-29", 2, "2026-01-12"},
		{"Feb 23 2026 is a Monday off", "2026-02-20", 1, "2026-02-24"},
		{"Mar 8 2026 Sunday moves to Mar 9", "2026-03-06", 1, "2026-03-10"},
		{"May 9 2026 Saturday moves to May 11", "2026-05-08", 1, "2026-05-12"},
		{"2026 year end: Dec 31 off", "2026-12-30", 1, "2027-01-11"},
		{"Feb 24 2025 was a working day (Feb 23 moved to May 8)", "2025-02-21", 1, "2025-02-24"},
		{"2027 derived: May 1 Saturday moves to May 3", "2027-04-30", 1, "2027-05-04"},
		{"2027 derived: Jun 12 Saturday moves to Jun 14", "2027-06-11", 1, "2027-06-15"},
		{"2028 falls back: Jan 1-8 off", "2027-12-31", 1, "2028-01-10"},
		{"2028 falls back: Mar 8 Wednesday", "2028-03-07", 1, "2028-03-09"},
		{"ten days across two weekends", "2026-04-03", 10, "2026-04-17"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from := date(t, tt.from).In(privacy.Moscow).Add(13 * time.Hour)
			got := cal.AddBusinessDays(from, tt.n)
			if g := callscribe.DateOf(got); g != date(t, tt.want) {
				t.Errorf("AddBusinessDays(%s, %d) = %s, want %s", tt.from, tt.n, g, tt.want)
			}
			if got.Hour() != 0 || got.Location() != privacy.Moscow {
				t.Errorf("AddBusinessDays returned %v, want the start of the day in Moscow", got)
			}
		})
	}
}

// TestBusinessDaysCountInMoscow: 22:30 UTC on Friday is already Saturday in Moscow.
func TestBusinessDaysCountInMoscow(t *testing.T) {
	t.Parallel()
	late := time.Date(2026, 4, 3, 22, 30, 0, 0, time.UTC) // Sat 01:30 MSK
	if got, want := privacy.DefaultCalendar().DueDate(late), date(t, "2026-04-17"); got != want {
		t.Errorf("DueDate(%v) = %s, want %s (counted from Saturday in Moscow)", late, got, want)
	}
	early := time.Date(2026, 4, 3, 20, 30, 0, 0, time.UTC) // Fri 23:30 MSK
	if got, want := privacy.DefaultCalendar().DueDate(early), date(t, "2026-04-17"); got != want {
		t.Errorf("DueDate(%v) = %s, want %s", early, got, want)
	}
	monday := time.Date(2026, 4, 5, 21, 30, 0, 0, time.UTC) // Mon 00:30 MSK
	if got, want := privacy.DefaultCalendar().DueDate(monday), date(t, "2026-04-20"); got != want {
		t.Errorf("DueDate(%v) = %s, want %s (counted from Monday in Moscow)", monday, got, want)
	}
}

// TestWorkingDaysPerYear checks the embedded calendar against the published totals:
// 247 working days in 2025 and in 2026.
func TestWorkingDaysPerYear(t *testing.T) {
	t.Parallel()
	cal := privacy.DefaultCalendar()
	for year, want := range map[int]int{2025: 247, 2026: 247} {
		n := 0
		for d := (callscribe.Date{Year: year, Month: 1, Day: 1}); d.Year == year; d = d.AddDays(1) {
			if cal.IsBusinessDay(d) {
				n++
			}
		}
		if n != want {
			t.Errorf("%d has %d working days in the calendar, want %d (the production calendar's)", year, n, want)
		}
		if !cal.Covers(year) {
			t.Errorf("the calendar does not cover %d", year)
		}
	}
	if cal.Covers(2028) {
		t.Error("the calendar claims to cover 2028")
	}
}

// TestDerived2027MatchesTheLabourCodeRule: the 2027 lines were derived by the same rule
// as the fallback; if the two disagree, one of them is wrong.
func TestDerived2027MatchesTheLabourCodeRule(t *testing.T) {
	t.Parallel()
	cal := privacy.DefaultCalendar()
	off := privacy.LabourCodeDaysOff(2027)
	for d := (callscribe.Date{Year: 2027, Month: 1, Day: 1}); d.Year == 2027; d = d.AddDays(1) {
		wd := d.In(time.UTC).Weekday()
		fallback := wd != time.Saturday && wd != time.Sunday && !off[d]
		if got := cal.IsBusinessDay(d); got != fallback {
			t.Errorf("%s: calendar says business day %v, the Labour Code rule %v", d, got, fallback)
		}
	}
}

func TestParseCalendarErrorsNameTheLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text, want string
	}{
		{"bad date", "# header\n\n2025-13-01 off\n", "cal.txt:3:"},
		{"bad word", "2025-01-01 holiday\n", "cal.txt:1:"},
		{"too many fields", "2025-01-01 off extra\n", "cal.txt:1:"},
		{"work on a weekday", "2025-01-01 off\n2025-11-05 work\n", "cal.txt:2:"},
		{"both ways", "2025-11-01 work\n2025-11-01 off\n", "cal.txt:2:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := privacy.ParseCalendar(strings.NewReader(tt.text), "cal.txt")
			if callscribe.ErrorCode(err) != callscribe.EINVALID || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseCalendar: %v (code %q), want an invalid error naming %q", err, callscribe.ErrorCode(err), tt.want)
			}
		})
	}
	c, err := privacy.ParseCalendar(strings.NewReader("2030-05-06 off # a decree's day\n2030-05-11 work\n"), "cal.txt")
	if err != nil {
		t.Fatal(err)
	}
	if c.IsBusinessDay(date(t, "2030-05-06")) || !c.IsBusinessDay(date(t, "2030-05-11")) || !c.IsBusinessDay(date(t, "2030-05-09")) {
		t.Error("a file's lines define the year: May 6 off, May 11 working, and May 9 (not listed) a plain Thursday")
	}
}
