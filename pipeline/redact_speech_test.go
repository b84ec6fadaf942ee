package pipeline_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"callscribe"
	"callscribe/asr"
	"callscribe/internal/testcall"
	"callscribe/pipeline"
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

// TestDictatedCardNeverStored: flite dictates a card number in a call, PocketSphinx
// transcribes it in the real pipeline, and whatever card the recogniser heard is in
// neither the stored transcript, nor the summary, nor anywhere in a pg_dump of the
// database, while the rest of the call is there.
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
	stored, err := e.db.Transcript(ctx, res.CallID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Summary == nil {
		t.Fatal("no summary stored")
	}
	dump := pgDump(t, e)
	leaks := cardForms(card)
	for what, text := range map[string]string{"stored text": stored.Text, "stored summary": stored.Summary.Text, "pg_dump": dump} {
		for _, re := range leaks {
			if m := re.FindString(text); m != "" {
				t.Errorf("%s holds the card heard (%s) as %q", what, strings.Join(card, " "), m)
			}
		}
	}
	for _, s := range stored.Segments {
		for _, re := range leaks {
			if m := re.FindString(s.Text); m != "" {
				t.Errorf("stored segment %q holds the card as %q", s.Text, m)
			}
		}
	}
	if stored.Redactions["card"] != 1 {
		t.Errorf("redactions = %v, want card 1", stored.Redactions)
	}
	// The rest of the call is intact: the words PocketSphinx heard outside the card.
	for _, w := range []string{"morning", "pay", "order", "goodbye"} {
		if contains(heard, w) && !strings.Contains(stored.Text, w) {
			t.Errorf("stored text lost %q, which was heard: %q", w, stored.Text)
		}
	}
	if !strings.Contains(stored.Text, "[CARD]") || !strings.Contains(dump, "[CARD]") || !strings.Contains(dump, "goodbye") {
		t.Errorf("no [CARD] tag where the card was: %q", stored.Text)
	}
}

func contains(words []string, w string) bool {
	for _, x := range words {
		if x == w {
			return true
		}
	}
	return false
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
