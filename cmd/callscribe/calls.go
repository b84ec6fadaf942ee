package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/uuid"

	"callscribe"
	"callscribe/pipeline"
	"callscribe/privacy"
)

// cmdCalls lists and searches calls: `calls list`, through the storage method the API's
// GET /v1/calls and the pages use (SearchCalls).
func cmdCalls(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	const use = "usage: callscribe calls list [--org NAME] [--q TEXT] [--phone PHONE] [--from D] [--to D] [--status S] [--limit N] [--json]"
	if len(args) == 0 || args[0] != "list" {
		return usagef(use)
	}
	fs := newFlags("calls list")
	org := fs.String("org", "", "the organization (default: every one)")
	q := fs.String("q", "", `words the transcript says, in Russian or English: "a phrase", a or b, -word`)
	phone := fs.String("phone", "", "the other party's phone number, written any usual way")
	from := fs.String("from", "", "calls received on or after this day (YYYY-MM-DD, UTC) or RFC 3339 time")
	to := fs.String("to", "", "calls received up to this day, inclusive (YYYY-MM-DD, UTC), or before this RFC 3339 time")
	status := fs.String("status", "", "queued, processing, completed, discarded or failed")
	limit := fs.Int("limit", 50, "at most this many calls")
	asJSON := fs.Bool("json", false, "one JSON object per call and line")
	if err := parseNone(fs, args[1:]); err != nil {
		return err
	}
	f := callscribe.CallFilter{Q: strings.TrimSpace(*q), Limit: *limit}
	if *limit < 1 || *limit > 10000 {
		return usagef("--limit %d: want 1 to 10000", *limit)
	}
	if *phone != "" {
		p, err := callscribe.NormalizePhone(*phone)
		if err != nil {
			return usagef("--phone: %s", message(err))
		}
		f.Phone = p
	}
	for _, d := range []struct {
		name, v string
		dst     **time.Time
		end     bool
	}{{"from", *from, &f.From, false}, {"to", *to, &f.To, true}} {
		if d.v == "" {
			continue
		}
		t, err := callscribe.ParseRangeTime(d.v, d.end)
		if err != nil {
			return usagef("--%s %q is not a date (2026-01-31) or an RFC 3339 time (2026-01-31T09:15:00+03:00)", d.name, d.v)
		}
		*d.dst = &t
	}
	if *status != "" {
		st, err := callscribe.ParsePublicStatus(*status)
		if err != nil {
			return usagef("--%s", callscribe.ErrorMessage(err))
		}
		f.Status = st
	}
	a, err := openApp(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.close()
	if *org != "" {
		o, err := a.db.OrganizationByName(ctx, *org)
		if err != nil {
			return err
		}
		f.OrgID = o.ID
	}
	hits, err := a.db.SearchCalls(ctx, f)
	if err != nil {
		return err
	}
	// Words of transcripts are about to be shown: each call's read is audited first.
	for _, h := range hits {
		if len(h.Hits) == 0 {
			continue
		}
		if err := (&privacy.Audit{}).Record(ctx, a.db, callscribe.AuditEntry{Actor: cliActor, Action: privacy.ActionTranscriptRead,
			ObjectType: "call", ObjectID: h.ID.String(), OrgID: h.OrgID, SubjectID: h.OwnerID, Detail: map[string]any{"via": "search"}}); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, h := range hits {
			if err := enc.Encode(jsonCall(h, f.Q != "")); err != nil {
				return err
			}
		}
		return nil
	}
	if len(hits) == 0 {
		fmt.Fprintln(stdout, "no calls")
		return nil
	}
	for _, h := range hits {
		duration := "-"
		if h.DurationMS != nil {
			duration = pipeline.Clock(*h.DurationMS)
		}
		fmt.Fprintf(stdout, "%s  %s  %-10s %8s  %-13s %s", h.CreatedAt.UTC().Format("2006-01-02 15:04"), h.ID,
			h.Status.Public(), duration, or(h.Phone, "-"), h.OwnerEmail)
		if h.ExternalID != "" {
			fmt.Fprintf(stdout, "  ext %s", h.ExternalID)
		}
		fmt.Fprintln(stdout)
		for _, s := range h.Hits {
			fmt.Fprintf(stdout, "    %3d [%s %s] %s\n", s.Index+1, pipeline.Clock(s.StartMS), s.Speaker, terminalMarks.Replace(string(s.Snippet)))
		}
		if h.HitCount > len(h.Hits) {
			fmt.Fprintf(stdout, "    … %d more segments match\n", h.HitCount-len(h.Hits))
		}
	}
	return nil
}

// terminalMarks shows a snippet's matches in brackets.
var terminalMarks = strings.NewReplacer(callscribe.MarkStart, "[", callscribe.MarkEnd, "]")

type jsonHit struct {
	Segment int    `json:"segment"` // from 1, as transcript show and edit count
	StartMS int64  `json:"start_ms"`
	Speaker string `json:"speaker"`
	Snippet string `json:"snippet"` // matches between [ and ]
}

type jsonListedCall struct {
	ID           uuid.UUID  `json:"id"`
	Organization uuid.UUID  `json:"organization_id"`
	CreatedAt    time.Time  `json:"created_at"`
	Status       string     `json:"status"`
	DurationMS   *int64     `json:"duration_ms"`
	Phone        string     `json:"phone,omitempty"`
	Owner        string     `json:"owner"`
	ExternalID   string     `json:"external_id,omitempty"`
	Rank         *float32   `json:"rank,omitempty"`
	HitCount     *int       `json:"hit_count,omitempty"`
	Hits         []jsonHit  `json:"hits,omitempty"`
	DeletedAt    *time.Time `json:"audio_deletion_confirmed_at"`
}

func jsonCall(h callscribe.CallHit, ranked bool) jsonListedCall {
	c := jsonListedCall{ID: h.ID, Organization: h.OrgID, CreatedAt: h.CreatedAt, Status: h.Status.Public(), DurationMS: h.DurationMS,
		Phone: h.Phone, Owner: h.OwnerEmail, ExternalID: h.ExternalID}
	if h.Receipt != nil {
		c.DeletedAt = &h.Receipt.ConfirmedAt
	}
	if ranked {
		c.Rank, c.HitCount = &h.Rank, &h.HitCount
		for _, s := range h.Hits {
			c.Hits = append(c.Hits, jsonHit{Segment: s.Index + 1, StartMS: s.StartMS, Speaker: s.Speaker, Snippet: terminalMarks.Replace(string(s.Snippet))})
		}
	}
	return c
}

func or(s, otherwise string) string {
	if s == "" {
		return otherwise
	}
	return s
}
