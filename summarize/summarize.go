// Package summarize holds the summary contract: a call's turns in, a short text out.
// Adapters live in subpackages (summarize/extractive, summarize/openai). A Summarizer is
// called only when the owner consented to summarization; it keeps nothing it is given.
package summarize

import "context"

// Turn is one speaker's stretch of speech in the merged call.
type Turn struct {
	Speaker string // "agent", "client", or a caller-given role
	StartMS int64
	EndMS   int64
	Text    string
}

// Summary is what a Summarizer wrote.
type Summary struct {
	Engine string `json:"engine"` // "extractive", "openai:<model>"
	Text   string `json:"text"`
}

// Summarizer writes a summary of a call. It returns an empty Text, not an error, when
// the call has nothing to summarise (no speech).
type Summarizer interface {
	Summarize(ctx context.Context, turns []Turn) (Summary, error)
}
