package pipeline

import (
	"fmt"
	"io"
	"strings"

	"callscribe"
)

// WriteText writes a transcript in its text form, the one the CLI prints and the API
// serves as format=txt: a line saying so when the recording was truncated, one line per
// turn, "[mm:ss.cc speaker] words", then the summary, or a line saying there is none.
func WriteText(w io.Writer, t callscribe.Transcript) error {
	var b strings.Builder
	if t.Truncated {
		fmt.Fprintf(&b, "-- truncated: the recording was cut short; transcribed up to the cut (%s)\n", Clock(t.DurationMS))
	}
	turns := Turns(t.Segments)
	if len(turns) == 0 {
		b.WriteString("(no speech recognised)\n")
	}
	for _, turn := range turns {
		fmt.Fprintf(&b, "[%s %s] %s\n", Clock(turn.StartMS), turn.Speaker, turn.Text)
	}
	if t.Summary != nil {
		fmt.Fprintf(&b, "-- summary (%s)\n", t.Summary.Engine)
		for _, line := range strings.Split(t.Summary.Text, "\n") {
			fmt.Fprintf(&b, "   %s\n", line)
		}
	} else {
		b.WriteString("-- summary: none (off, no speech, or no consent to summarization)\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Clock formats milliseconds as mm:ss.cc, the time of a turn in the text form.
func Clock(ms int64) string {
	return fmt.Sprintf("%02d:%02d.%02d", ms/60000, ms/1000%60, ms%1000/10)
}

// WriteSubRip writes a transcript as SubRip subtitles, a cue per segment, "speaker: text":
// the API's format=srt and the web app's download.
func WriteSubRip(w io.Writer, t callscribe.Transcript) error {
	var b strings.Builder
	for i, sg := range t.Segments {
		fmt.Fprintf(&b, "%d\n%s --> %s\n%s: %s\n\n", i+1, cueTime(sg.StartMS, ','), cueTime(sg.EndMS, ','), sg.Speaker, sg.Text)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteWebVTT writes a transcript as WebVTT, a cue per segment with its voice: the API's
// format=vtt and the web app's download.
func WriteWebVTT(w io.Writer, t callscribe.Transcript) error {
	var b strings.Builder
	b.WriteString("WEBVTT\n\n")
	for _, sg := range t.Segments {
		fmt.Fprintf(&b, "%s --> %s\n<v %s>%s\n\n", cueTime(sg.StartMS, '.'), cueTime(sg.EndMS, '.'), sg.Speaker, sg.Text)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// cueTime formats milliseconds as HH:MM:SS,mmm (SubRip, sep ',') or HH:MM:SS.mmm
// (WebVTT, sep '.').
func cueTime(ms int64, sep byte) string {
	return fmt.Sprintf("%02d:%02d:%02d%c%03d", ms/3600000, ms/60000%60, ms/1000%60, sep, ms%1000)
}
