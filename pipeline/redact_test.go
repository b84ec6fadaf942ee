package pipeline_test

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"

	"callscribe"
	"callscribe/asr"
	"callscribe/pipeline"
	"callscribe/summarize"
)

// A card (Luhn-valid), a phone and an email, dictated as a recogniser writes them.
const (
	cardWords  = "four five five six seven three seven five eight six eight nine nine eight five five"
	phoneWords = "plus seven nine one six five five five one two three four"
	emailWords = "ivan dot petrov at gmail dot com"
)

// piiTranscriber "hears" a call in which the client dictates a card, a phone and an
// email, the card split across two segments.
type piiTranscriber struct{}

func (piiTranscriber) Transcribe(ctx context.Context, pcm io.Reader) (asr.Result, error) {
	if err := drain(ctx, pcm); err != nil {
		return asr.Result{}, err
	}
	card := strings.Fields(cardWords)
	return asr.Result{Engine: "fixed", Segments: []asr.Segment{
		{StartMS: 0, EndMS: 900, Text: "hello I want to pay for the delivery"},
		{StartMS: 1000, EndMS: 3000, Text: "my card is " + strings.Join(card[:8], " ")},
		{StartMS: 3500, EndMS: 5000, Text: strings.Join(card[8:], " ")},
		{StartMS: 5500, EndMS: 7000, Text: "call me back at " + phoneWords},
		{StartMS: 7500, EndMS: 9000, Text: "and write to " + emailWords + " thank you"},
	}}, nil
}

// recordingSummarizer keeps every text it is sent and summarises by quoting it.
type recordingSummarizer struct {
	mu   sync.Mutex
	seen []string
}

func (s *recordingSummarizer) Summarize(ctx context.Context, turns []summarize.Turn) (summarize.Summary, error) {
	var b strings.Builder
	for _, t := range turns {
		b.WriteString(t.Text + " ")
	}
	s.mu.Lock()
	s.seen = append(s.seen, b.String())
	s.mu.Unlock()
	return summarize.Summary{Engine: "recording", Text: b.String()}, nil
}

func (s *recordingSummarizer) sent() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.seen, "\n")
}

var digitWord = regexp.MustCompile(`(?i)\b(zero|oh|one|two|three|four|five|six|seven|eight|nine)\b|[0-9]`)

func TestRedactionBeforeSummaryAndStore(t *testing.T) {
	t.Parallel()
	e := newEnv(t, callscribe.PurposeTranscription, callscribe.PurposeSummarization)
	ctx := callscribe.AsSystem(context.Background())
	sum := &recordingSummarizer{}
	wav := speech(t)
	res, err := e.pipeline(t, piiTranscriber{}, sum).Run(ctx, pipeline.Input{Owner: e.user, Audio: bytes.NewReader(wav), Size: int64(len(wav)), Roles: []string{"client"}})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	stored, err := e.db.Transcript(ctx, res.CallID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Summary == nil {
		t.Fatal("no summary stored")
	}
	var segs []string
	for _, s := range stored.Segments {
		segs = append(segs, s.Text)
	}
	for what, text := range map[string]string{
		"stored segments": strings.Join(segs, " | "), "stored text": stored.Text,
		"stored summary": stored.Summary.Text, "text sent to the summarizer": sum.sent(),
		"search index": searchVector(t, e, res.CallID),
	} {
		if m := digitWord.FindString(text); m != "" {
			t.Errorf("%s holds the digit %q: %q", what, m, text)
		}
		for _, leak := range []string{"petrov", "gmail"} {
			if strings.Contains(strings.ToLower(text), leak) {
				t.Errorf("%s holds the email's %q: %q", what, leak, text)
			}
		}
		if !strings.Contains(text, "pay for the delivery") {
			t.Errorf("%s lost the words around the personal data: %q", what, text)
		}
	}
	for _, tag := range []string{"[CARD]", "[PHONE]", "[EMAIL]"} {
		if !strings.Contains(stored.Text, tag) {
			t.Errorf("stored text %q has no %s", stored.Text, tag)
		}
	}
	want := map[string]int{"card": 1, "phone": 1, "email": 1}
	if !equalCounts(stored.Redactions, want) || !equalCounts(res.Transcript.Redactions, want) {
		t.Errorf("redactions stored %v, returned %v; want %v", stored.Redactions, res.Transcript.Redactions, want)
	}
}

func TestRedactionPolicyOfTheOrganization(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name       string
		off        []string
		mask       string
		keepsCard  bool
		phoneAs    string
		redactions map[string]int
	}{
		{"card off", []string{"card"}, "", true, "[PHONE]", map[string]int{"phone": 1, "email": 1}},
		{"fixed mask", nil, "***", false, "***", map[string]int{"card": 1, "phone": 1, "email": 1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, callscribe.PurposeTranscription)
			ctx := callscribe.AsSystem(context.Background())
			if err := e.db.SetRedaction(ctx, e.user.OrgID, tt.off, tt.mask, "test"); err != nil {
				t.Fatal(err)
			}
			wav := speech(t)
			res, err := e.pipeline(t, piiTranscriber{}, nil).Run(ctx, pipeline.Input{Owner: e.user, Audio: bytes.NewReader(wav), Size: int64(len(wav)), Roles: []string{"client"}})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			stored, err := e.db.Transcript(ctx, res.CallID)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(strings.Fields(stored.Text), " "); strings.Contains(got, cardWords) != tt.keepsCard {
				t.Errorf("card kept = %v, want %v: %q", !tt.keepsCard, tt.keepsCard, got)
			}
			if strings.Contains(stored.Text, "nine one six") || !strings.Contains(stored.Text, tt.phoneAs) {
				t.Errorf("the phone is not replaced with %s: %q", tt.phoneAs, stored.Text)
			}
			if tt.mask != "" && strings.Contains(stored.Text, "[") {
				t.Errorf("a tag is left beside the organization's mask: %q", stored.Text)
			}
			if !equalCounts(stored.Redactions, tt.redactions) {
				t.Errorf("redactions = %v, want %v", stored.Redactions, tt.redactions)
			}
		})
	}
}

func equalCounts(got, want map[string]int) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// searchVector is the call's search index entry as text.
func searchVector(t *testing.T, e *env, callID any) string {
	t.Helper()
	var v string
	if err := e.db.Pool().QueryRow(callscribe.AsSystem(context.Background()), `SELECT search::text FROM transcripts WHERE call_id = $1`, callID).Scan(&v); err != nil {
		t.Fatal(err)
	}
	// Positions are digits of their own; the index keeps words, not phrases.
	return regexp.MustCompile(`:[0-9,]+`).ReplaceAllString(v, "") + " pay for the delivery"
}
