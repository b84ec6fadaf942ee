package privacy

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/google/uuid"

	"callscribe"
	"callscribe/redact"
)

// CorrectionStore is what a correction needs of the database.
type CorrectionStore interface {
	// EditSegmentRedacted stores a correction whose text is already redacted and adds
	// redacted (type name → count) to the transcript's redaction counts.
	EditSegmentRedacted(ctx context.Context, callID uuid.UUID, ord int, text, speaker *string, actor string, redacted map[string]int) ([]callscribe.Rectification, error)
	UserByID(ctx context.Context, id uuid.UUID) (callscribe.User, error)
	RedactionPolicy(ctx context.Context, orgID uuid.UUID) (off []string, mask string, err error)
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
// label or both (nil: unchanged), and brings the summary up to date. A new text or label
// is redacted first (invariant 9), under the organization's policy with the call's owner
// as the subject, exactly as the pipeline redacts a call: what a person types is stored,
// indexed and summarised only redacted.
func (c *Corrections) EditSegment(ctx context.Context, callID uuid.UUID, ord int, text, speaker *string, actor string) (Correction, error) {
	var counts map[string]int
	if text != nil || speaker != nil {
		redactText, err := c.redactor(ctx, callID)
		if err != nil {
			return Correction{}, err
		}
		// A speaker label is typed as freely as a text, and sent to the summarizer with
		// each turn: it is redacted too.
		counts = map[string]int{}
		redacted := func(field *string) *string {
			if field == nil {
				return nil
			}
			out, n := redactText(*field)
			for typ, k := range n {
				counts[typ] += k
			}
			return &out
		}
		text, speaker = redacted(text), redacted(speaker)
	}
	rs, err := c.Store.EditSegmentRedacted(ctx, callID, ord, text, speaker, actor, counts)
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

// redactor returns what redacts a call's corrections as the pipeline redacts the call:
// the organization's policy, the call's owner as the subject.
func (c *Corrections) redactor(ctx context.Context, callID uuid.UUID) (func(string) (string, map[string]int), error) {
	owner, org, err := c.Store.CallOwner(ctx, callID)
	if err != nil {
		return nil, err
	}
	u, err := c.Store.UserByID(ctx, owner)
	if err != nil {
		return nil, err
	}
	off, mask, err := c.Store.RedactionPolicy(ctx, org)
	if err != nil {
		return nil, err
	}
	policy, err := redact.OrganizationPolicy(off, mask)
	if err != nil {
		return nil, fmt.Errorf("organization %s redaction policy: %w", org, err)
	}
	r, subj := redact.New(), redact.SubjectOf(u)
	return func(text string) (string, map[string]int) {
		redacted, counts := r.Text(text, subj, policy)
		return redacted, redact.Counts(counts)
	}, nil
}
