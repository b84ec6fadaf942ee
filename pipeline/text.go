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
