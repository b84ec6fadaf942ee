package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"

	"callscribe"
	"callscribe/metrics"
	"callscribe/privacy/residency"
	"callscribe/webhook"
)

const webhookUsage = `usage:
  callscribe webhook add --org NAME --url URL --country CC [--events call.completed,call.failed,call.discarded]
  callscribe webhook list [--org NAME]
  callscribe webhook remove ID
  callscribe webhook deliveries [--org NAME] [--status pending|delivered|failed]`

// webhookConfig is the webhook settings the configuration describes; log is told of
// every delivery given up for good, and m (when not nil) counts every attempt.
func (c config) webhookConfig(log *slog.Logger, m *metrics.Metrics) webhook.Config {
	wc := webhook.Config{
		Logger:      log,
		Allowed:     c.egress.allowed,
		Policy:      c.egress.webhookAllow,
		Timeout:     c.egress.webhookTimeout,
		MaxAttempts: c.egress.webhookMaxAttempts,
	}
	if m != nil {
		wc.Observe = func(o webhook.Outcome) { m.WebhookDelivery(string(o.Event), o.State) }
	}
	return wc
}

func cmdWebhook(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usagef("%s", webhookUsage)
	}
	fs := newFlags("webhook " + args[0])
	var org, rawURL, country, events, status *string
	switch args[0] {
	case "add":
		org = fs.String("org", "", "organization name (required)")
		rawURL = fs.String("url", "", "endpoint URL (required)")
		country = fs.String("country", "", "ISO 3166-1 alpha-2 country of the endpoint (required)")
		events = fs.String("events", "", "events to send; default all")
	case "list":
		org = fs.String("org", "", "organization name; default all")
	case "deliveries":
		org = fs.String("org", "", "organization name; default all")
		status = fs.String("status", "", "pending, delivered or failed; default all")
	case "remove":
	default:
		return usagef("unknown webhook command %q\n%s", args[0], webhookUsage)
	}
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	var id uuid.UUID
	var evs []webhook.Event
	switch args[0] {
	case "add":
		switch {
		case *org == "":
			return usagef("--org is required")
		case *rawURL == "":
			return usagef("--url is required")
		case *country == "":
			return usagef("--country is required: the endpoint receives personal data (ids), so its country is declared")
		}
		if evs, err = webhook.ParseEvents(*events); err != nil {
			return usagef("--events: %s", callscribe.ErrorMessage(err))
		}
	case "list", "deliveries":
		if len(pos) != 0 {
			return usagef("webhook %s takes no argument, got %q", args[0], pos)
		}
	}
	switch args[0] {
	case "deliveries":
		switch *status {
		case "", callscribe.WebhookPending, callscribe.WebhookDelivered, callscribe.WebhookFailed:
		default:
			return usagef("--status: %q is not pending, delivered or failed", *status)
		}
	case "remove":
		if len(pos) != 1 {
			return usagef("usage: callscribe webhook remove ID")
		}
		if id, err = uuid.Parse(pos[0]); err != nil {
			return usagef("%q is not an endpoint id", pos[0])
		}
	}

	a, err := openApp(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.close()
	w := webhook.New(a.db, cfg.webhookConfig(a.log, nil))
	switch args[0] {
	case "add":
		ep, err := w.Add(ctx, *org, *rawURL, *country, evs)
		if err != nil {
			return err
		}
		// The secret is shown this once; only its holder can verify deliveries.
		return json.NewEncoder(stdout).Encode(map[string]any{
			"id": ep.ID, "organization": ep.Org, "url": ep.URL, "country": ep.Country,
			"events": ep.Events, "secret": ep.Secret,
		})
	case "list":
		eps, err := w.List(ctx, *org)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tORGANIZATION\tCOUNTRY\tSTATE\tEVENTS\tURL")
		for _, ep := range eps {
			state := "active"
			if ep.DisabledAt != nil {
				state = "removed " + ep.DisabledAt.Format("2006-01-02")
			}
			var names []string
			for _, e := range ep.Events {
				names = append(names, string(e))
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", ep.ID, ep.Org, ep.Country, state, strings.Join(names, ","), residency.Redact(ep.URL))
		}
		return tw.Flush()
	case "deliveries":
		ds, err := w.ListDeliveries(ctx, webhook.DeliveryFilter{Org: *org, State: *status})
		if err != nil {
			return err
		}
		// Ids, states and the last answer: never a payload.
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tORGANIZATION\tENDPOINT\tEVENT\tCALL\tSTATE\tATTEMPTS\tLAST\tCREATED")
		for _, d := range ds {
			last := d.LastError
			if d.LastStatus != nil && last == "" {
				last = fmt.Sprint(*d.LastStatus)
			}
			if last == "" {
				last = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", d.ID, d.Org, d.EndpointID, d.Event, d.CallID, d.State(),
				d.Attempts, last, d.CreatedAt.UTC().Format(time.RFC3339))
		}
		return tw.Flush()
	default:
		if err := w.Remove(ctx, id); err != nil {
			return err
		}
		_, err := fmt.Fprintf(stdout, "webhook endpoint %s removed\n", id)
		return err
	}
}
