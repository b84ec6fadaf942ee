package callscribe

import (
	"html/template"
	"strings"
	"time"
)

// SearchConfig is the PostgreSQL text-search configuration of every tsvector and
// tsquery: it stems Cyrillic words with the Russian stemmer and Latin ones with the
// English stemmer, so one configuration serves a call in both languages. It is named in
// every query, never left to the cluster's default (English).
const SearchConfig = "russian"

// The marks a Snippet carries around each matched word: characters of Unicode's private
// use area, which the database strips from the text before it marks the matches, so
// that a mark can only be one the search put there.
const (
	MarkStart = "\uE000"
	MarkEnd   = "\uE001"
)

// Snippet is a fragment of a segment's text around the words a search matched, each
// matched word between MarkStart and MarkEnd. It is stored text: never put it on a page
// as it is; HTML escapes it.
type Snippet string

// HTML is the snippet escaped for a page, each match in a <mark> element: the text
// itself can never open an element, whatever it holds.
func (s Snippet) HTML() template.HTML {
	esc := template.HTMLEscapeString(string(s))
	esc = strings.ReplaceAll(esc, MarkStart, "<mark>")
	esc = strings.ReplaceAll(esc, MarkEnd, "</mark>")
	// A mark left open by a cut fragment is closed, so the page's markup stays whole.
	if n := strings.Count(esc, "<mark>") - strings.Count(esc, "</mark>"); n > 0 {
		esc += strings.Repeat("</mark>", n)
	}
	return template.HTML(esc)
}

// Text is the snippet without its marks.
func (s Snippet) Text() string {
	return strings.NewReplacer(MarkStart, "", MarkEnd, "").Replace(string(s))
}

// SegmentHit is a segment of a call's transcript that a search matched: where it is
// (its id, its index from 0 in the transcript, its start) and the words around the match.
type SegmentHit struct {
	SegmentID int64
	Index     int // the segment's position in the transcript, from 0
	StartMS   int64
	Speaker   string
	Snippet   Snippet
}

// CallHit is a call a listing or search found: the call, and for a text query its rank
// and its best matching segments (at most a few, in time order) out of HitCount.
// Cursor is its position in the listing: CallFilter.After to fetch what follows it.
type CallHit struct {
	Call
	Rank     float32
	HitCount int
	Hits     []SegmentHit
	Cursor   CallCursor
}

// ParseRangeTime reads one end of a date range, as the API's from/to and the CLI's
// --from/--to take it: an RFC 3339 time, or a day (YYYY-MM-DD, UTC), which as the end of
// the range (end) means the start of the next day, so that the day is included.
func ParseRangeTime(v string, end bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	d, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, err
	}
	if end {
		d = d.AddDate(0, 0, 1)
	}
	return d, nil
}

// DayActivity is one day's calls and talk time per channel, for the calls list's chart.
type DayActivity struct {
	Day   time.Time     // midnight of the day in the zone asked for
	Calls int           // calls created that day
	Talk  map[int]int64 // milliseconds spoken, by channel
}
