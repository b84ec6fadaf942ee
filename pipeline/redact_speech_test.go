package pipeline_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"callscribe"
	"callscribe/asr"
	"callscribe/internal/testcall"
	"callscribe/pipeline"
	"callscribe/redact"
	"callscribe/summarize/extractive"
)

// recordingTranscriber keeps what the recogniser really heard, before anything else
// sees it, so a test can assert on PocketSphinx's words rather than on the script.
type recordingTranscriber struct {
	asr.Transcriber
	mu    sync.Mutex
	words []string
}

func (r *recordingTranscriber) Transcribe(ctx context.Context, pcm io.Reader) (asr.Result, error) {
	res, err := r.Transcriber.Transcribe(ctx, pcm)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range res.Segments {
		r.words = append(r.words, strings.Fields(strings.ToLower(s.Text))...)
	}
	return res, err
}

func (r *recordingTranscriber) heard() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.words...)
}

var digitOf = map[string]byte{"zero": '0', "oh": '0', "one": '1', "two": '2', "three": '3', "four": '4',
	"five": '5', "six": '6', "seven": '7', "eight": '8', "nine": '9'}

// luhnCard finds, in recognised words, the longest run of digit words that holds a
// Luhn-valid card of 13–19 digits, and returns that card's words; nil when none.
func luhnCard(words []string) []string {
	for i := 0; i < len(words); i++ {
		j := i
		for j < len(words) && digitOf[words[j]] != 0 {
			j++
		}
		for a := i; a < j; a++ {
			for b := min(j, a+19); b-a >= 13; b-- {
				var digits []byte
				for _, w := range words[a:b] {
					digits = append(digits, digitOf[w])
				}
				if digits[0] >= '2' && digits[0] <= '6' && luhn(string(digits)) {
					return words[a:b]
				}
			}
		}
		i = j
	}
	return nil
}

func luhn(s string) bool {
	sum := 0
	for i := range len(s) {
		d := int(s[len(s)-1-i] - '0')
		if i%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// TestDictatedCardNeverStored: flite dictates a card number, a phone number and an email
// in one call, PocketSphinx transcribes it in the real pipeline, and whatever card, phone
// and email the recogniser heard are in neither the stored transcript, nor the summary,
// nor the search index, nor anywhere in a pg_dump of the database, while the rest of the
// call is there.
func TestDictatedCardNeverStored(t *testing.T) {
	t.Parallel()
	testcall.Require(t, "flite", "sox")
	e := newEnv(t, callscribe.PurposeTranscription, callscribe.PurposeSummarization)
	ctx := callscribe.AsSystem(context.Background())
	script := []string{
		"good morning i would like to pay for my order",
		// 5517 1736 8769 5676, Luhn-valid. PocketSphinx's en-us model hears "four" as
		// "for" and "two" as "to" (4516 4516 6224 1425 came back "for five and six…"),
		// so the number is made of the digits it hears well, dictated in groups.
		"my card number is five five one seven, one seven three six, eight seven six nine, five six seven six",
		// 8 916 135-79-68, a Russian mobile (valid with the default region RU).
		"my phone number is eight nine one six, one three five, seven nine, six eight",
		// peter@first.com. The en-us model hears a spoken "at" as "an", "had" or "if an"
		// before most words ("john dot smith at example dot com" came back "john dodson
		// if an example dot com"); "at first", a frequent pair, it hears as said.
		"my email is peter at first dot com",
		"thank you very much goodbye",
	}
	path := testcall.Mono(t, t.TempDir(), testcall.Agent, 0.6, script...)
	wav, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sphinx, err := recognizer()
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordingTranscriber{Transcriber: sphinx}
	res, err := e.pipeline(t, rec, extractive.New(extractive.Config{})).Run(ctx,
		pipeline.Input{Owner: e.user, Audio: bytes.NewReader(wav), Size: int64(len(wav)), Roles: []string{"client"}})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	heard := rec.heard()
	t.Logf("PocketSphinx heard: %s", strings.Join(heard, " "))
	card := luhnCard(heard)
	if card == nil {
		t.Fatalf("PocketSphinx heard no Luhn-valid card in %q: choose a number it hears", strings.Join(heard, " "))
	}
	// The phone and the email PocketSphinx heard, as the redact package sees them in the
	// raw words: the test fails if the recogniser did not hear a valid one of each.
	phone := spanOf(heard, redact.Phone)
	email := spanOf(heard, redact.Email)
	if phone == nil {
		t.Fatalf("PocketSphinx heard no valid phone in %q: choose a number it hears", strings.Join(heard, " "))
	}
	if email == nil {
		t.Fatalf("PocketSphinx heard no email in %q: choose words it hears", strings.Join(heard, " "))
	}
	t.Logf("heard phone %q, email %q", strings.Join(phone, " "), strings.Join(email, " "))
	stored, err := e.db.Transcript(ctx, res.CallID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Summary == nil {
		t.Fatal("no summary stored")
	}
	dump := pgDump(t, e)
	leaks := append(cardForms(card), numberForms(phone)...)
	leaks = append(leaks, emailForms(email)...)
	for what, text := range map[string]string{"stored text": stored.Text, "stored summary": stored.Summary.Text, "pg_dump": dump} {
		for _, re := range leaks {
			if m := re.FindString(text); m != "" {
				t.Errorf("%s holds what was heard as %q (card %q, phone %q, email %q)", what, m,
					strings.Join(card, " "), strings.Join(phone, " "), strings.Join(email, " "))
			}
		}
	}
	for _, s := range stored.Segments {
		for _, re := range leaks {
			if m := re.FindString(s.Text); m != "" {
				t.Errorf("stored segment %q holds personal data heard as %q", s.Text, m)
			}
		}
	}
	if want := map[string]int{"card": 1, "phone": 1, "email": 1}; !equalCounts(stored.Redactions, want) {
		t.Errorf("redactions = %v, want %v", stored.Redactions, want)
	}
	// The rest of the call is intact: the words PocketSphinx heard outside the card.
	for _, w := range []string{"morning", "pay", "order", "goodbye"} {
		if contains(heard, w) && !strings.Contains(stored.Text, w) {
			t.Errorf("stored text lost %q, which was heard: %q", w, stored.Text)
		}
	}
	for _, tag := range []string{"[CARD]", "[PHONE]", "[EMAIL]"} {
		if !strings.Contains(stored.Text, tag) || !strings.Contains(dump, tag) {
			t.Errorf("no %s tag where it was heard: %q", tag, stored.Text)
		}
	}
	if !strings.Contains(dump, "goodbye") && contains(heard, "goodbye") {
		t.Errorf("pg_dump lost the rest of the call")
	}
	// The search index (the transcript's and the segments' tsvectors, which a pg_dump does
	// not hold: they are generated) has no digit, and none of the words of the card, phone
	// and email heard that the rest of the script does not say too.
	index := indexLexemes(t, e, res.CallID)
	rest := lexemes(t, e, strings.Join(append([]string{"good morning i would like to pay for my order", "thank you very much goodbye"}, scriptLeads...), " "))
	for _, lx := range lexemes(t, e, strings.Join(slices.Concat(card, phone, email), " ")) {
		if slices.Contains(index, lx) && !slices.Contains(rest, lx) {
			t.Errorf("the search index holds %q, a word of the card, phone or email heard; index %q", lx, index)
		}
	}
	for _, lx := range index {
		if strings.ContainsAny(lx, "0123456789") {
			t.Errorf("the search index holds the number %q; index %q", lx, index)
		}
	}
	if !slices.Contains(index, "goodby") && contains(heard, "goodbye") {
		t.Errorf("the search index lost the rest of the call: %q", index)
	}
}

// scriptLeads are the words before each dictated value in TestDictatedCardNeverStored.
var scriptLeads = []string{"my card number is", "my phone number is", "my email is"}

// indexLexemes returns the lexemes of a call's search index: its transcript's tsvector
// and its segments'.
func indexLexemes(t *testing.T, e *env, callID any) []string {
	t.Helper()
	var out []string
	if err := e.db.Pool().QueryRow(callscribe.AsSystem(context.Background()), `
		SELECT coalesce(array_agg(DISTINCT x.lexeme), '{}') FROM (
			SELECT (unnest(t.search)).lexeme FROM transcripts t WHERE t.call_id = $1
			UNION ALL
			SELECT (unnest(s.search)).lexeme FROM segments s JOIN transcripts t ON t.id = s.transcript_id WHERE t.call_id = $1) x`,
		callID).Scan(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// lexemes returns the lexemes the search index would make of text.
func lexemes(t *testing.T, e *env, text string) []string {
	t.Helper()
	var out []string
	if err := e.db.Pool().QueryRow(context.Background(), `SELECT coalesce(array_agg(lexeme), '{}') FROM unnest(to_tsvector($1::regconfig, $2))`,
		callscribe.SearchConfig, text).Scan(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func contains(words []string, w string) bool {
	for _, x := range words {
		if x == w {
			return true
		}
	}
	return false
}

// spanOf returns the words of the one entity of type typ that the redact package finds
// in the recognised words, or nil when it finds none (or more than one).
func spanOf(words []string, typ redact.Type) []string {
	p := redact.Policy{Types: []redact.Type{typ}}
	out, counts := redact.New().Text(strings.Join(words, " "), redact.Subject{}, p)
	if counts[typ] != 1 {
		return nil
	}
	tag := typ.Tag()
	red := strings.Fields(out)
	for i, w := range red {
		if w != tag {
			continue
		}
		// red[:i] are words[:i]; the entity runs up to the word that follows the tag.
		end := len(words)
		if i+1 < len(red) {
			for end = i + 1; end < len(words) && !slices.Equal(words[end:], red[i+1:]); end++ {
			}
		}
		return words[i:end]
	}
	return nil
}

// numberForms are the ways a dictated number could be written down: its words in a row,
// its digits with or without separators.
func numberForms(num []string) []*regexp.Regexp {
	var digits []string
	for _, w := range num {
		if d, ok := digitOf[w]; ok {
			digits = append(digits, string(d))
		}
	}
	return []*regexp.Regexp{
		regexp.MustCompile(`(?i)\b` + strings.Join(num, `\W+`) + `\b`),
		regexp.MustCompile(strings.Join(digits, `[\s()-]*`)),
	}
}

// emailForms are the ways a dictated email could be written down: its words in a row,
// and its written form with the spoken "dot" and "at" as "." and "@".
func emailForms(email []string) []*regexp.Regexp {
	var written strings.Builder
	for _, w := range email {
		switch w {
		case "dot":
			written.WriteString(`\s*\.\s*`)
		case "at":
			written.WriteString(`\s*@\s*`)
		default:
			written.WriteString(regexp.QuoteMeta(w))
		}
	}
	return []*regexp.Regexp{
		regexp.MustCompile(`(?i)\b` + strings.Join(email, `\W+`) + `\b`),
		regexp.MustCompile(`(?i)` + written.String()),
	}
}

// cardForms are the ways the card could be written down: its words in a row, its digits
// with or without separators, and any run of five of its words or four of its digits
// (a card group).
func cardForms(card []string) []*regexp.Regexp {
	var digits []string
	for _, w := range card {
		digits = append(digits, string(digitOf[w]))
	}
	out := []*regexp.Regexp{
		regexp.MustCompile(`(?i)\b` + strings.Join(card, `\W+`) + `\b`),
		regexp.MustCompile(strings.Join(digits, `[\s-]*`)),
	}
	for i := 0; i+5 <= len(card); i++ {
		out = append(out, regexp.MustCompile(`(?i)\b`+strings.Join(card[i:i+5], `\W+`)+`\b`))
	}
	return out
}

// pgDump is a plain-text dump of the test's whole database.
func pgDump(t *testing.T, e *env) string {
	t.Helper()
	var url string
	if err := e.db.Pool().QueryRow(context.Background(), `SELECT current_database()`).Scan(&url); err != nil {
		t.Fatal(err)
	}
	cfg := e.db.Pool().Config().ConnConfig
	cmd := exec.Command("/usr/lib/postgresql/15/bin/pg_dump", "--no-owner", "-h", cfg.Host, "-p", strconv.Itoa(int(cfg.Port)), "-U", cfg.User, url)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+cfg.Password)
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("pg_dump: %v: %s", err, stderr)
	}
	return string(out)
}
