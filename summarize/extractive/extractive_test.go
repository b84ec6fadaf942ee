package extractive

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"callscribe/summarize"
)

// supportCall is a short support call as the pipeline merges it.
var supportCall = []summarize.Turn{
	{Speaker: "agent", StartMS: 0, EndMS: 3000, Text: "Good morning, thank you for calling. How can I help you today?"},
	{Speaker: "client", StartMS: 3200, EndMS: 8000, Text: "Hi. My internet router keeps dropping the connection every evening. It started after the firmware update last week."},
	{Speaker: "agent", StartMS: 8200, EndMS: 10000, Text: "I'm sorry to hear that. Can you tell me your account number?"},
	{Speaker: "client", StartMS: 10100, EndMS: 12000, Text: "Yes, it is four five six seven."},
	{Speaker: "agent", StartMS: 12100, EndMS: 17000, Text: "Thank you. I see the firmware update on your router. I will roll the router back to the previous firmware and send a technician on Monday."},
	{Speaker: "client", StartMS: 17100, EndMS: 18000, Text: "Okay, great."},
	{Speaker: "agent", StartMS: 18100, EndMS: 19000, Text: "Is there anything else?"},
	{Speaker: "client", StartMS: 19100, EndMS: 20000, Text: "No, thank you very much. Goodbye."},
}

func TestSummarizeSupportCall(t *testing.T) {
	t.Parallel()
	got, err := New(Config{}).Summarize(context.Background(), supportCall)
	if err != nil {
		t.Fatalf("Summarize: %v", err)
	}
	want := "client: My internet router keeps dropping the connection every evening.\n" +
		"client: It started after the firmware update last week.\n" +
		"agent: I will roll the router back to the previous firmware and send a technician on Monday."
	if got.Engine != "extractive" {
		t.Errorf("engine = %q, want %q", got.Engine, "extractive")
	}
	if got.Text != want {
		t.Errorf("summary =\n%s\nwant\n%s", got.Text, want)
	}
}

func TestSummaryQuotesTheCallInOrder(t *testing.T) {
	t.Parallel()
	var said []string
	for _, turn := range supportCall {
		for _, s := range sentences(turn.Text) {
			said = append(said, turn.Speaker+": "+s)
		}
	}
	for _, n := range []int{1, 2, 3, 5} {
		got, err := New(Config{MaxSentences: n}).Summarize(context.Background(), supportCall)
		if err != nil {
			t.Fatalf("MaxSentences %d: %v", n, err)
		}
		lines := strings.Split(got.Text, "\n")
		if len(lines) != n {
			t.Errorf("MaxSentences %d: %d lines, want %d:\n%s", n, len(lines), n, got.Text)
		}
		last := -1
		for _, l := range lines {
			i := slices.Index(said, l)
			if i < 0 {
				t.Errorf("MaxSentences %d: line %q is not a sentence of the call with its speaker", n, l)
				continue
			}
			if i <= last {
				t.Errorf("MaxSentences %d: line %q is out of time order", n, l)
			}
			last = i
		}
		for _, filler := range []string{"Okay, great.", "Goodbye.", "Is there anything else?"} {
			if strings.Contains(got.Text, filler) {
				t.Errorf("MaxSentences %d: summary quotes the filler %q:\n%s", n, filler, got.Text)
			}
		}
	}
}

func TestSummarizeIsDeterministic(t *testing.T) {
	t.Parallel()
	s := New(Config{})
	first, err := s.Summarize(context.Background(), supportCall)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20 {
		turns := slices.Clone(supportCall)
		rng.Shuffle(len(turns), func(a, b int) { turns[a], turns[b] = turns[b], turns[a] })
		got, err := s.Summarize(context.Background(), turns)
		if err != nil {
			t.Fatal(err)
		}
		if got != first {
			t.Fatalf("run %d on the same turns in another order = %q, want %q", i, got.Text, first.Text)
		}
	}
}

func TestSummarizeEdgeCases(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		turns []summarize.Turn
		want  string
	}{
		{"no turns", nil, ""},
		{"only silence", []summarize.Turn{{Speaker: "agent", Text: "  "}, {Speaker: "client", Text: "\n"}}, ""},
		{"only courtesies", []summarize.Turn{{Speaker: "agent", Text: "hello"}, {Speaker: "client", Text: "hi thank you bye"}}, "agent: hello"},
		{"no speaker", []summarize.Turn{{Text: "the parcel never arrived"}}, "unknown: the parcel never arrived"},
		{
			"unpunctuated asr text is one sentence per turn",
			[]summarize.Turn{
				{Speaker: "agent", StartMS: 0, Text: "good morning how can i help you"},
				{Speaker: "client", StartMS: 2000, Text: "i would like to check the status of my order please"},
				{Speaker: "agent", StartMS: 5000, Text: "your order will arrive on monday"},
				{Speaker: "client", StartMS: 7000, Text: "thank you goodbye"},
			},
			"client: i would like to check the status of my order please\nagent: your order will arrive on monday",
		},
		{
			"a repeated sentence is quoted once",
			[]summarize.Turn{
				{Speaker: "client", StartMS: 0, Text: "the heating in flat twelve is broken"},
				{Speaker: "agent", StartMS: 1000, Text: "the heating in flat twelve is broken"},
				{Speaker: "client", StartMS: 2000, Text: "a plumber should come tomorrow morning"},
			},
			"client: the heating in flat twelve is broken\nclient: a plumber should come tomorrow morning",
		},
		{
			"russian",
			[]summarize.Turn{
				{Speaker: "agent", StartMS: 0, Text: "Здравствуйте, чем могу помочь?"},
				{Speaker: "client", StartMS: 1000, Text: "Мне не пришла посылка с заказом номер сорок два."},
				{Speaker: "agent", StartMS: 2000, Text: "Посылка задержана на складе, курьер привезёт заказ в пятницу."},
				{Speaker: "client", StartMS: 3000, Text: "Хорошо, спасибо."},
			},
			"client: Мне не пришла посылка с заказом номер сорок два.\nagent: Посылка задержана на складе, курьер привезёт заказ в пятницу.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := New(Config{MaxSentences: 2}).Summarize(context.Background(), tt.turns)
			if err != nil {
				t.Fatalf("Summarize: %v", err)
			}
			if got.Text != tt.want || got.Engine != "extractive" {
				t.Errorf("summary = %q (%s), want %q (extractive)", got.Text, got.Engine, tt.want)
			}
		})
	}
}

func TestSentences(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"no punctuation at all", []string{"no punctuation at all"}},
		{"One. Two!  Three?\nFour… five", []string{"One.", "Two!", "Three?", "Four…", "five"}},
		{"version 2.5 is out", []string{"version 2.5 is out"}},
	}
	for _, tt := range tests {
		if got := sentences(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("sentences(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
