package privacy

import (
	"context"
	"log/slog"

	"github.com/google/uuid"

	"callscribe"
)

// CorrectionStore is what a correction needs of the database.
type CorrectionStore interface {
	EditSegment(ctx context.Context, callID uuid.UUID, ord int, text, speaker *string, actor string) ([]callscribe.Rectification, error)
	Transcript(ctx context.Context, callID uuid.UUID) (callscribe.Transcript, error)
	ReplaceSummary(ctx context.Context, callID uuid.UUID, basedOn string, s callscribe.Summary) (bool, error)
	CallOwner(ctx context.Context, callID uuid.UUID) (owner, org uuid.UUID, err error)
	ConsentInForce(ctx context.Context, userID uuid.UUID, purpose callscribe.Purpose) (bool, error)
}

// Corrections rectifies transcripts: the one path the API's PATCH and the CLI's
// `transcript edit` take. A corrected segment's text reaches the summary: the store marks
// the summary stale in the correcting transaction, then it is written again from the
// corrected transcript when consent to summarization is in force and a summarizer is
// configured; otherwise it stays marked stale, and every read shows the mark.
type Corrections struct {
	Store CorrectionStore
	// Summarize writes a summary of a transcript's segments (the configured summarizer);
	// nil: summaries are off, and a corrected one stays stale.
	Summarize func(ctx context.Context, segments []callscribe.Segment) (callscribe.Summary, error)
	Logger    *slog.Logger // optional: a summarizer's failure, by call id
}

// SummaryState is what a correction did to the call's summary.
type SummaryState string

const (
	SummaryNone        SummaryState = "none"        // the call has no summary
	SummaryUnchanged   SummaryState = "unchanged"   // the text did not change (a speaker label, say)
	SummaryRegenerated SummaryState = "regenerated" // written again from the corrected text
	SummaryStale       SummaryState = "stale"       // kept, marked stale: no consent, no summarizer, or it failed
)

// Correction is what one correction did.
type Correction struct {
	Rectifications []callscribe.Rectification
	Summary        SummaryState
}

// EditSegment rectifies segment ord (from 0) of a call's transcript, its text or speaker
// label or both (nil: unchanged), and brings the summary up to date.
func (c *Corrections) EditSegment(ctx context.Context, callID uuid.UUID, ord int, text, speaker *string, actor string) (Correction, error) {
	rs, err := c.Store.EditSegment(ctx, callID, ord, text, speaker, actor)
	if err != nil {
		return Correction{}, err
	}
	out := Correction{Rectifications: rs, Summary: SummaryUnchanged}
	t, err := c.Store.Transcript(ctx, callID)
	if err != nil {
		return out, err
	}
	switch {
	case t.Summary == nil:
		out.Summary = SummaryNone
		return out, nil
	case !t.Summary.Stale:
		return out, nil // nothing in the text changed
	case c.Summarize == nil:
		out.Summary = SummaryStale
		return out, nil
	}
	// The summarizer sees the words only while the owner consents to summarization;
	// ReplaceSummary checks again as it writes.
	owner, _, err := c.Store.CallOwner(ctx, callID)
	if err != nil {
		return out, err
	}
	if ok, err := c.Store.ConsentInForce(ctx, owner, callscribe.PurposeSummarization); err != nil || !ok {
		out.Summary = SummaryStale
		return out, err
	}
	s, err := c.Summarize(ctx, t.Segments)
	if err != nil {
		// The correction is stored; the summary says it is stale until a later correction
		// writes it again. The error may quote the summarizer's answer: its code only.
		out.Summary = SummaryStale
		if c.Logger != nil {
			c.Logger.WarnContext(ctx, "summary not written again after a correction", "call_id", callID, "code", callscribe.ErrorCode(err))
		}
		return out, nil
	}
	written, err := c.Store.ReplaceSummary(ctx, callID, t.Text, s)
	if err != nil {
		out.Summary = SummaryStale
		return out, err
	}
	out.Summary = SummaryStale
	if written {
		out.Summary = SummaryRegenerated
	}
	return out, nil
}
