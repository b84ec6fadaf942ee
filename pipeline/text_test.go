package pipeline

import (
	"strings"
	"testing"

	"callscribe"
)

func TestWriteText(t *testing.T) {
	t.Parallel()
	segs := []callscribe.Segment{
		{Channel: 0, Speaker: "agent", StartMS: 1230, EndMS: 2000, Text: "good morning"},
		{Channel: 0, Speaker: "agent", StartMS: 2100, EndMS: 3000, Text: "how can i help"},
		{Channel: 1, Speaker: "client", StartMS: 61005, EndMS: 62000, Text: "my line is slow"},
	}
	for _, tt := range []struct {
		name string
		t    callscribe.Transcript
		want string
	}{
		{"turns and summary", callscribe.Transcript{Segments: segs, Summary: &callscribe.Summary{Engine: "extractive", Text: "agent: good morning\nclient: my line is slow"}},
			"[00:01.23 agent] good morning how can i help\n[01:01.00 client] my line is slow\n-- summary (extractive)\n   agent: good morning\n   client: my line is slow\n"},
		{"truncated, no summary", callscribe.Transcript{Segments: segs[2:], Truncated: true, DurationMS: 62500},
			"-- truncated: the recording was cut short; transcribed up to the cut (01:02.50)\n[01:01.00 client] my line is slow\n-- summary: none (off, no speech, or no consent to summarization)\n"},
		{"no speech", callscribe.Transcript{},
			"(no speech recognised)\n-- summary: none (off, no speech, or no consent to summarization)\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b strings.Builder
			if err := WriteText(&b, tt.t); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("WriteText:\n%s\nwant:\n%s", b.String(), tt.want)
			}
		})
	}
}
