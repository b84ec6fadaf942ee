package pipeline

import (
	"sort"
	"strings"

	"callscribe"
	"callscribe/asr"
	"callscribe/summarize"
)

// merge puts the channels' segments in one time line, each under its channel's speaker,
// and joins the text. A channel with no speech contributes nothing, so a one-sided
// recording has no empty speaker.
func merge(results []asr.Result, names []string) callscribe.Transcript {
	var t callscribe.Transcript
	engines := map[string]bool{}
	for ch, r := range results {
		if r.Engine != "" && !engines[r.Engine] {
			engines[r.Engine] = true
			if t.Engine != "" {
				t.Engine += ","
			}
			t.Engine += r.Engine
		}
		for _, s := range r.Segments {
			text := strings.TrimSpace(s.Text)
			if text == "" {
				continue
			}
			t.Segments = append(t.Segments, callscribe.Segment{
				Channel: ch, Speaker: names[ch], StartMS: s.StartMS, EndMS: max(s.EndMS, s.StartMS),
				Text: text, Confidence: s.Confidence,
			})
		}
	}
	sort.SliceStable(t.Segments, func(i, j int) bool {
		a, b := t.Segments[i], t.Segments[j]
		if a.StartMS != b.StartMS {
			return a.StartMS < b.StartMS
		}
		return a.Channel < b.Channel
	})
	t.Text = joinText(t.Segments)
	t.Channels = names
	return t
}

// joinText is a transcript's text: its segments' texts in order, space-separated (as the
// store rebuilds it after a correction).
func joinText(segs []callscribe.Segment) string {
	texts := make([]string, len(segs))
	for i, s := range segs {
		texts[i] = s.Text
	}
	return strings.Join(texts, " ")
}

// Turns groups consecutive segments of the same speaker into turns, in time order.
func Turns(segs []callscribe.Segment) []summarize.Turn {
	var out []summarize.Turn
	for _, s := range segs {
		if n := len(out); n > 0 && out[n-1].Speaker == s.Speaker {
			out[n-1].Text += " " + s.Text
			out[n-1].EndMS = max(out[n-1].EndMS, s.EndMS)
			continue
		}
		out = append(out, summarize.Turn{Speaker: s.Speaker, StartMS: s.StartMS, EndMS: s.EndMS, Text: s.Text})
	}
	return out
}
