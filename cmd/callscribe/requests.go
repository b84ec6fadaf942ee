package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"callscribe"
	"callscribe/privacy"
	"callscribe/storage/postgres"
)

const requestsUsage = `usage:
  callscribe requests add --kind access|rectification|blocking|erasure|withdrawal|claim --email EMAIL [--received YYYY-MM-DD] [--notes TEXT]
  callscribe requests list [--due-within 3d] [--overdue] [--status S] [--json]
  callscribe requests show ID
  callscribe requests start ID
  callscribe requests extend ID --reason TEXT [--days 1-5] [--notice TEXT]
  callscribe requests close ID [--notes TEXT]
  callscribe requests close ID --reject --reason TEXT`

func cmdRequests(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usagef(requestsUsage)
	}
	action := args[0]
	fs := newFlags("requests " + action)
	kind := fs.String("kind", "", "what the subject asked for")
	email := fs.String("email", "", "the subject's email")
	org := fs.String("org", localOrg, "the subject's organization")
	received := fs.String("received", "", "day the request was received, YYYY-MM-DD (Moscow); default now")
	notes := fs.String("notes", "", "notes")
	dueWithin := fs.String("due-within", "", "open requests due within this many days, e.g. 3d")
	overdue := fs.Bool("overdue", false, "open requests past their due day")
	status := fs.String("status", "", "requests in this status")
	asJSON := fs.Bool("json", false, "one JSON object per line")
	reason := fs.String("reason", "", "why (extend, reject)")
	days := fs.Int("days", privacy.ExtensionBusinessDays, "business days to extend by")
	notice := fs.String("notice", "", "the notice sent to the subject (default: written from --reason)")
	reject := fs.Bool("reject", false, "reject instead of completing")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}

	// Check the input before opening the database.
	var id uuid.UUID
	switch action {
	case "add", "list":
		if len(pos) != 0 {
			return usagef("requests %s takes no arguments, got %q", action, pos)
		}
	case "show", "start", "extend", "close":
		if len(pos) != 1 {
			return usagef("requests %s needs the request's id", action)
		}
		if id, err = uuid.Parse(pos[0]); err != nil {
			return usagef("%q is not a request id", pos[0])
		}
	default:
		return usagef(requestsUsage)
	}
	var opts privacy.ListOptions
	var receivedAt time.Time
	switch action {
	case "add":
		if *email == "" || *kind == "" {
			return usagef("requests add needs --kind and --email")
		}
		if _, err := callscribe.ParseRequestKind(*kind); err != nil {
			return err
		}
		if *received != "" {
			d, err := callscribe.ParseDate(*received)
			if err != nil {
				return usagef("--received: %s", callscribe.ErrorMessage(err))
			}
			receivedAt = d.In(privacy.Moscow)
		}
	case "list":
		if *dueWithin != "" {
			if opts.DueWithin, err = privacy.ParseDays(*dueWithin); err != nil {
				return usagef("--due-within: %s", callscribe.ErrorMessage(err))
			}
		}
		opts.Overdue = *overdue
		if *status != "" {
			if opts.Status, err = callscribe.ParseRequestStatus(*status); err != nil {
				return err
			}
		}
	}

	a, err := openApp(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.close()
	cal, err := privacy.LoadCalendar(cfg.calendarFile)
	if err != nil {
		return err
	}
	// Closing an erasure request enqueues its purge in the closing transaction: the store
	// needs the job queue (as an insert-only client: the CLI works no jobs).
	jobs, err := river.NewClient(riverpgxv5.New(a.db.Pool()), &river.Config{Logger: a.log})
	if err != nil {
		return fmt.Errorf("job queue: %w", err)
	}
	reqs := &privacy.Requests{Store: &postgres.Queued{DB: a.db, Jobs: jobs}, Calendar: cal}
	actor := requestActor(cfg.getenv)
	var r callscribe.Request
	switch action {
	case "add":
		u, err := a.userByEmail(ctx, *org, *email)
		if err != nil {
			return err
		}
		r, err = reqs.Add(ctx, privacy.NewRequest{OrgID: u.OrgID, UserID: u.ID, Kind: callscribe.RequestKind(*kind),
			ReceivedAt: receivedAt, Notes: *notes, Actor: actor})
		if err != nil {
			return err
		}
	case "list":
		list, err := reqs.List(ctx, opts)
		if err != nil {
			return err
		}
		return printRequests(stdout, reqs, list, *asJSON)
	case "show":
		if r, err = reqs.Get(ctx, id); err != nil {
			return err
		}
		events, err := reqs.Events(ctx, id)
		if err != nil {
			return err
		}
		out := requestJSON(reqs, r)
		out.Events = events
		return json.NewEncoder(stdout).Encode(out)
	case "start":
		r, err = reqs.Start(ctx, id, actor)
	case "extend":
		r, err = reqs.Extend(ctx, id, privacy.Extension{Days: *days, Reason: *reason, Notice: *notice, Actor: actor})
	case "close":
		// Completing an erasure request erases: that needs the ledger's key, which only
		// this command must have.
		var eraser *privacy.Eraser
		if r, err = reqs.Get(ctx, id); err != nil {
			return err
		}
		if r.Kind == callscribe.RequestErasure && !*reject {
			if eraser, err = a.eraser(); err != nil {
				return err
			}
			reqs.Eraser = eraser
		}
		r, err = reqs.Close(ctx, id, privacy.Closing{Reject: *reject, Reason: *reason, Notes: *notes, Actor: actor, Channel: callscribe.ConsentViaCLI})
		if err == nil && r.Kind == callscribe.RequestErasure && r.Status == callscribe.RequestCompleted {
			// The subject is out of reach since the close committed, and the close queued
			// their purge; purge now rather than wait for a worker (which then finds the
			// subject gone and does nothing).
			if _, err = eraser.Erase(ctx, r.UserID, r.ID.String()); callscribe.ErrorCode(err) == callscribe.ENOTFOUND {
				err = nil // a worker was first
			}
		}
	}
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(requestJSON(reqs, r))
}

// requestActor names the operator in request events: the command line and its user.
func requestActor(getenv func(string) string) string {
	if u := getenv("USER"); u != "" {
		return "cli:" + u
	}
	return "cli"
}

// requestOutput is how the CLI prints a request: as the API does (instants in UTC), with
// the day it is due.
type requestOutput struct {
	callscribe.Request
	Due     callscribe.Date           `json:"due"` // extended_due_at when extended, else due_at
	Overdue bool                      `json:"overdue"`
	Events  []callscribe.RequestEvent `json:"events,omitempty"`
}

func requestJSON(reqs *privacy.Requests, r callscribe.Request) requestOutput {
	return requestOutput{Request: r, Due: r.Due(), Overdue: reqs.Overdue(r)}
}

func printRequests(w io.Writer, reqs *privacy.Requests, list []callscribe.Request, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		for _, r := range list {
			if err := enc.Encode(requestJSON(reqs, r)); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tSTATUS\tRECEIVED\tDUE\t")
	for _, r := range list {
		due := r.Due().String()
		if r.ExtendedDueAt != nil {
			due += " (extended)"
		}
		if reqs.Overdue(r) {
			due += " OVERDUE"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", r.ID, r.Kind, r.Status, r.ReceivedAt.In(privacy.Moscow).Format(time.DateOnly), due)
	}
	return tw.Flush()
}
