package privacy

import (
	"bufio"
	_ "embed"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"callscribe"
)

// Moscow is the time zone business days are counted in. Moscow has kept UTC+3 all year
// since 26 October 2014; a fixed zone does not depend on the system's tzdata.
var Moscow = time.FixedZone("MSK", 3*60*60)

// TermBusinessDays is how long a data-subject request may take (152-FZ art. 14, 20, 21);
// ExtensionBusinessDays is the most it may be extended by, with a reasoned notice.
const (
	TermBusinessDays      = 10
	ExtensionBusinessDays = 5
)

// ClaimTermBusinessDays is how long the answer to a pre-trial claim may take (the user
// agreement, clause 6.1), on the same production calendar. A claim's term has no
// extension: neither the agreement nor the law gives one.
const ClaimTermBusinessDays = 14

// TermOf is the business days a request of kind k may take.
func TermOf(k callscribe.RequestKind) int {
	if k == callscribe.RequestClaim {
		return ClaimTermBusinessDays
	}
	return TermBusinessDays
}

//go:embed calendar_ru.txt
var calendarRU string

// Calendar says which days are business days. For a year it covers (one its file has a
// line for), the file's lines are the exceptions to "Monday to Friday"; any other year
// falls back to the Labour Code's rule: weekends and the fixed holidays of art. 112
// off, a holiday on a weekend moved to the next working day except in January (those
// days are moved by yearly decrees that cannot be derived).
//
// The fallback is there rather than a refusal because a request received late in the
// last covered year is due in the next one, and the clock must still run; where a decree
// later moves days, its lines belong in CALLSCRIBE_CALENDAR_FILE.
type Calendar struct {
	days  map[callscribe.Date]bool // the file's lines: true a working day, false a day off
	years map[int]bool             // years the file covers

	mu       sync.Mutex
	fallback map[int]map[callscribe.Date]bool // per year: weekdays off by the Labour Code rule
}

var defaultCalendar = sync.OnceValue(func() *Calendar {
	c, err := ParseCalendar(strings.NewReader(calendarRU), "calendar_ru.txt")
	if err != nil {
		panic(err) // the embedded file is tested
	}
	return c
})

// DefaultCalendar is the Russian production calendar shipped in the binary
// (calendar_ru.txt: 2025, 2026 from their decrees, 2027 derived).
func DefaultCalendar() *Calendar { return defaultCalendar() }

// LoadCalendar reads the calendar file at path (CALLSCRIBE_CALENDAR_FILE); the years it
// covers are taken from it wholly, the others from the default calendar. An empty path
// is the default calendar.
func LoadCalendar(path string) (*Calendar, error) {
	if path == "" {
		return DefaultCalendar(), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, callscribe.Wrap(callscribe.EINVALID, err, "calendar file: %v", err)
	}
	defer f.Close()
	c, err := ParseCalendar(f, path)
	if err != nil {
		return nil, err
	}
	def := DefaultCalendar()
	for d, work := range def.days {
		if !c.years[d.Year] {
			c.days[d] = work
		}
	}
	for y := range def.years {
		c.years[y] = true
	}
	return c, nil
}

// ParseCalendar reads calendar lines, "YYYY-MM-DD off" or "YYYY-MM-DD work", with
// blank lines and # comments; errors name the file and line.
func ParseCalendar(r io.Reader, name string) (*Calendar, error) {
	c := &Calendar{days: map[callscribe.Date]bool{}, years: map[int]bool{}}
	sc := bufio.NewScanner(r)
	bad := func(n int, format string, args ...any) error {
		return callscribe.Errorf(callscribe.EINVALID, "%s:%d: %s", name, n, fmt.Sprintf(format, args...))
	}
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return nil, bad(n, "want \"YYYY-MM-DD off\" or \"YYYY-MM-DD work\", got %q", strings.TrimSpace(line))
		}
		t, err := time.Parse(time.DateOnly, f[0])
		if err != nil {
			return nil, bad(n, "%q is not a date (want YYYY-MM-DD)", f[0])
		}
		d := callscribe.DateOf(t)
		var work bool
		switch f[1] {
		case "off":
		case "work":
			work = true
			if !weekend(d) {
				return nil, bad(n, "%s is a %s: \"work\" marks a Saturday or Sunday that is a working day", d, t.Weekday())
			}
		default:
			return nil, bad(n, "%q is neither off nor work", f[1])
		}
		if prev, ok := c.days[d]; ok && prev != work {
			return nil, bad(n, "%s is listed both as off and as work", d)
		}
		c.days[d] = work
		c.years[d.Year] = true
	}
	if err := sc.Err(); err != nil {
		return nil, callscribe.Wrap(callscribe.EINVALID, err, "%s: %v", name, err)
	}
	return c, nil
}

// Covers reports whether the calendar has the year's own days; other years use the
// Labour Code fallback.
func (c *Calendar) Covers(year int) bool { return c.years[year] }

// IsBusinessDay reports whether d is a working day.
func (c *Calendar) IsBusinessDay(d callscribe.Date) bool {
	if c.years[d.Year] {
		if work, ok := c.days[d]; ok {
			return work
		}
		return !weekend(d)
	}
	return !weekend(d) && !c.fallbackOff(d)
}

// AddBusinessDays returns the start (00:00 Moscow time) of the n-th business day after
// the day from falls on in Moscow; the day itself is not counted, whatever it is.
// n = 0 gives the start of that day.
func (c *Calendar) AddBusinessDays(from time.Time, n int) time.Time {
	return c.AddBusinessDaysTo(callscribe.DateOf(from.In(Moscow)), n).In(Moscow)
}

// AddBusinessDaysTo is AddBusinessDays on calendar days.
func (c *Calendar) AddBusinessDaysTo(d callscribe.Date, n int) callscribe.Date {
	for n > 0 {
		d = d.AddDays(1)
		if c.IsBusinessDay(d) {
			n--
		}
	}
	return d
}

// DueDate is the day the answer to a request received at received is due: the tenth
// business day after the day it was received on, in Moscow.
func (c *Calendar) DueDate(received time.Time) callscribe.Date {
	return callscribe.DateOf(c.AddBusinessDays(received, TermBusinessDays))
}

// DueDateOf is the day the answer to a request of kind k received at received is due:
// the TermOf(k)-th business day after the day it was received on, in Moscow.
func (c *Calendar) DueDateOf(k callscribe.RequestKind, received time.Time) callscribe.Date {
	return callscribe.DateOf(c.AddBusinessDays(received, TermOf(k)))
}

func weekend(d callscribe.Date) bool {
	wd := d.In(time.UTC).Weekday()
	return wd == time.Saturday || wd == time.Sunday
}

// fallbackOff reports whether weekday d is off by the Labour Code's rule alone.
func (c *Calendar) fallbackOff(d callscribe.Date) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fallback == nil {
		c.fallback = map[int]map[callscribe.Date]bool{}
	}
	off, ok := c.fallback[d.Year]
	if !ok {
		off = LabourCodeDaysOff(d.Year)
		c.fallback[d.Year] = off
	}
	return off[d]
}

// LabourCodeDaysOff lists the weekdays of year that are off by the Labour Code (art. 112)
// alone: the public holidays, and for a holiday on a Saturday or Sunday outside January
// the next working day. Decrees that move further days are not known to it.
func LabourCodeDaysOff(year int) map[callscribe.Date]bool {
	day := func(m time.Month, d int) callscribe.Date { return callscribe.Date{Year: year, Month: m, Day: d} }
	holidays := []callscribe.Date{
		day(1, 1), day(1, 2), day(1, 3), day(1, 4), day(1, 5), day(1, 6), day(1, 7), day(1, 8),
		day(2, 23), day(3, 8), day(5, 1), day(5, 9), day(6, 12), day(11, 4),
	}
	isHoliday := map[callscribe.Date]bool{}
	for _, h := range holidays {
		isHoliday[h] = true
	}
	off := map[callscribe.Date]bool{}
	for _, h := range holidays {
		if !weekend(h) {
			off[h] = true
		}
	}
	for _, h := range holidays {
		if !weekend(h) || h.Month == time.January {
			continue
		}
		d := h.AddDays(1)
		for weekend(d) || isHoliday[d] || off[d] {
			d = d.AddDays(1)
		}
		off[d] = true
	}
	return off
}
