// Package extractive is an offline summarize.Summarizer: it picks the call's most
// informative sentences, scored TF-IDF-style over the call's own sentences, and quotes
// them in time order with their speakers. It is deterministic — the same turns give the
// same text, byte for byte — and needs no network, model or data files.
//
// It must never invent or rephrase: every line of a summary is a sentence of the call.
// It keeps nothing it is given.
package extractive

import (
	"cmp"
	"context"
	"math"
	"slices"
	"strings"
	"unicode"

	"callscribe"
	"callscribe/summarize"
)

// DefaultMaxSentences is how many sentences a summary quotes unless told otherwise.
const DefaultMaxSentences = 3

// Engine names this summarizer in summaries.
const Engine = "extractive"

const (
	// positionBoost is the extra weight of the call's first sentence, falling linearly
	// to none for the last: callers tend to state why they call early on.
	positionBoost = 0.15
	// maxOverlap is the share of content words two quoted sentences may have in common;
	// a candidate closer than that to one already chosen adds nothing and is skipped.
	maxOverlap = 0.5
)

// Config configures a Summarizer.
type Config struct {
	MaxSentences int // at most this many sentences; 0 or less means DefaultMaxSentences
}

// Summarizer quotes a call's most informative sentences. It is safe for concurrent use.
type Summarizer struct{ max int }

var _ summarize.Summarizer = (*Summarizer)(nil)

// New returns a Summarizer.
func New(cfg Config) *Summarizer {
	if cfg.MaxSentences <= 0 {
		cfg.MaxSentences = DefaultMaxSentences
	}
	return &Summarizer{max: cfg.MaxSentences}
}

// sentence is one sentence of a turn, with its content words.
type sentence struct {
	index   int // in time order over the call
	speaker string
	text    string
	terms   []string // distinct content words, in order of first appearance
	score   float64
}

// Summarize returns up to MaxSentences lines "speaker: sentence" in the order they were
// said, or an empty text when the call has no words.
func (s *Summarizer) Summarize(ctx context.Context, turns []summarize.Turn) (summarize.Summary, error) {
	if err := ctx.Err(); err != nil {
		return summarize.Summary{}, callscribe.Wrap(callscribe.EUNAVAILABLE, err, "summarize: cancelled")
	}
	sents := split(turns)
	if len(sents) == 0 {
		return summarize.Summary{Engine: Engine}, nil
	}
	score(sents)

	ranked := slices.Clone(sents)
	slices.SortStableFunc(ranked, func(a, b *sentence) int { return cmp.Compare(b.score, a.score) })
	var chosen []*sentence
	for _, c := range ranked {
		if len(chosen) == s.max || c.score <= 0 {
			break
		}
		if !slices.ContainsFunc(chosen, func(o *sentence) bool { return overlap(c.terms, o.terms) > maxOverlap }) {
			chosen = append(chosen, c)
		}
	}
	if len(chosen) == 0 {
		// Only greetings and fillers: the first thing said is as good a summary as any.
		chosen = sents[:1]
	}
	slices.SortFunc(chosen, func(a, b *sentence) int { return cmp.Compare(a.index, b.index) })

	var b strings.Builder
	for i, c := range chosen {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(c.speaker)
		b.WriteString(": ")
		b.WriteString(c.text)
	}
	return summarize.Summary{Engine: Engine, Text: b.String()}, nil
}

// split returns the sentences of the turns in time order (turns sorted by start, ties
// kept in the order given).
func split(turns []summarize.Turn) []*sentence {
	order := make([]int, len(turns))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(turns[a].StartMS, turns[b].StartMS) })
	var out []*sentence
	for _, i := range order {
		speaker := strings.Join(strings.Fields(turns[i].Speaker), " ")
		if speaker == "" {
			speaker = "unknown"
		}
		for _, text := range sentences(turns[i].Text) {
			out = append(out, &sentence{index: len(out), speaker: speaker, text: text, terms: contentTerms(text)})
		}
	}
	return out
}

// sentences splits text after . ! ? … followed by a space, and at line breaks; text
// without punctuation (most ASR output) is one sentence. Whitespace is collapsed.
func sentences(text string) []string {
	var out []string
	for _, line := range strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == '\r' }) {
		words := strings.Fields(line)
		start := 0
		for i, w := range words {
			if strings.ContainsRune(".!?…", lastRune(w)) || i == len(words)-1 {
				out = append(out, strings.Join(words[start:i+1], " "))
				start = i + 1
			}
		}
	}
	return out
}

func lastRune(s string) rune {
	r := []rune(s)
	return r[len(r)-1]
}

// contentTerms returns the distinct lower-cased words of text that are not stopwords,
// in order of first appearance.
func contentTerms(text string) []string {
	var terms []string
	for _, w := range words(text) {
		if stopwords[w] || slices.Contains(terms, w) {
			continue
		}
		terms = append(terms, w)
	}
	return terms
}

// words returns the lower-cased words of text: runs of letters, digits and inner
// apostrophes.
func words(text string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\'' && r != '’'
	}) {
		if w = strings.Trim(strings.ReplaceAll(w, "’", "'"), "'"); w != "" {
			out = append(out, w)
		}
	}
	return out
}

// score gives each sentence the weight of its content words — how often the call uses
// a word (1 + ln tf) times how few of its sentences do (idf) — divided by the square
// root of their number, so that a long sentence needs more than length to win, and
// lifted a little the earlier it comes.
func score(sents []*sentence) {
	tf := map[string]int{}
	df := map[string]int{}
	for _, s := range sents {
		for _, t := range s.terms {
			df[t]++
		}
		for _, w := range words(s.text) {
			tf[w]++
		}
	}
	n := float64(len(sents))
	for _, s := range sents {
		if len(s.terms) == 0 {
			continue
		}
		var sum float64
		for _, t := range s.terms { // a fixed order: float sums must not depend on map order
			sum += (1 + math.Log(float64(tf[t]))) * math.Log(1+n/float64(df[t]))
		}
		pos := 1.0
		if len(sents) > 1 {
			pos += positionBoost * (1 - float64(s.index)/(n-1))
		}
		s.score = sum / math.Sqrt(float64(len(s.terms))) * pos
	}
}

// overlap is the Jaccard similarity of two term sets.
func overlap(a, b []string) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	common := 0
	for _, t := range a {
		if slices.Contains(b, t) {
			common++
		}
	}
	return float64(common) / float64(len(a)+len(b)-common)
}
