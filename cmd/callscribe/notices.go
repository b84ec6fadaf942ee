package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"callscribe"
	"callscribe/mail"
	"callscribe/metrics"
	"callscribe/notify"
	"callscribe/privacy"
)

// noticesConfig is how email is sent (notices link to CALLSCRIBE_PUBLIC_URL, the web
// app's address). Its options are in config.go.
type noticesConfig struct {
	smtpAddr     string // empty: email goes to the server log (mail.Log)
	smtpUsername string
	smtpPassword string
	smtpFrom     string
	smtpTLS      string
	smtpCountry  string
}

// noticeWorkers is how many notices a process sends at once.
const noticeWorkers = 8

// mailSender is the email sender the configuration describes: SMTP when a server is
// set, the server log otherwise.
func (c config) mailSender(log *slog.Logger) (mail.Sender, error) {
	n := c.notices
	if n.smtpAddr == "" {
		return &mail.Log{Logger: log}, nil
	}
	if n.smtpFrom == "" {
		return nil, errors.New("CALLSCRIBE_SMTP_ADDR is set but CALLSCRIBE_SMTP_FROM is not: the sender address is required")
	}
	s, err := mail.New(mail.Config{Addr: n.smtpAddr, Username: n.smtpUsername, Password: n.smtpPassword, From: n.smtpFrom, TLS: n.smtpTLS})
	if err != nil {
		return nil, errors.New(callscribe.ErrorMessage(err))
	}
	return s, nil
}

// wireNotices makes the app's notices and sets the database's notice hook, so that
// whatever a command changes (a request, a consent, a call's end) records its notices
// in the same transaction. Jobs are inserted through an insert-only River client: the
// serve and worker processes deliver them.
func (a *app) wireNotices() error {
	var err error
	if a.notices, err = a.newNotices(nil); err != nil {
		return err
	}
	jobs, err := river.NewClient(riverpgxv5.New(a.db.Pool()), &river.Config{Logger: a.log})
	if err != nil {
		return fmt.Errorf("job queue: %w", err)
	}
	a.db.NoticeOn(a.notices.Record, jobs)
	return nil
}

// newNotices returns the notices the configuration describes; m, when not nil, counts
// every delivery attempt.
func (a *app) newNotices(m *metrics.Metrics) (*notify.Notices, error) {
	sender, err := a.cfg.mailSender(a.log)
	if err != nil {
		return nil, err
	}
	cfg := notify.Config{Store: a.db, Mail: sender, BaseURL: a.cfg.web.publicURL, Logger: a.log, AuditLog: a.db,
		Exporter: &privacy.Exporter{Store: a.db}}
	if a.cfg.telegram.token != "" { // without a bot, no notice is queued for a messenger
		cfg.Channels = []notify.Channel{notify.TelegramChannel(a.bot.Load)}
	}
	if m != nil {
		cfg.Observe = func(o notify.Outcome) { m.NoticeDelivery(string(o.Kind), string(o.Channel), o.State) }
	}
	return notify.New(cfg), nil
}

const breachUsage = `usage:
  callscribe breach open --description TEXT [--org NAME] [--from T --to T | --users FILE] [--detected T]
  callscribe breach notify ID --template FILE
  callscribe breach status ID [--json]
  callscribe breach list [--json]
T is RFC 3339 (2026-12-01T10:00:00+03:00), or YYYY-MM-DD HH:MM or YYYY-MM-DD in Moscow time.`

func cmdBreach(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usagef("%s", breachUsage)
	}
	action := args[0]
	fs := newFlags("breach " + action)
	var description, from, to, org, users, detected, template *string
	var asJSON *bool
	switch action {
	case "open":
		description = fs.String("description", "", "what happened (required)")
		from = fs.String("from", "", "start of the window of affected calls")
		to = fs.String("to", "", "end of the window of affected calls")
		org = fs.String("org", "", "the organization whose data is affected (alone: every user of it); default every one")
		users = fs.String("users", "", "file of affected users' emails, one a line (instead of a window)")
		detected = fs.String("detected", "", "when the breach was detected; default now")
	case "notify":
		template = fs.String("template", "", "file of the notice: one text, or [ru] and [en] sections (required)")
	case "status", "list":
		asJSON = fs.Bool("json", false, "JSON")
	default:
		return usagef("unknown breach command %q\n%s", action, breachUsage)
	}
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	var id uuid.UUID
	switch action {
	case "open", "list":
		if len(pos) != 0 {
			return usagef("breach %s takes no arguments, got %q", action, pos)
		}
	default:
		if len(pos) != 1 {
			return usagef("breach %s needs the incident's id", action)
		}
		if id, err = uuid.Parse(pos[0]); err != nil {
			return usagef("%q is not an incident id", pos[0])
		}
	}
	var nb notify.NewBreach
	var tmpl notify.Template
	switch action {
	case "open":
		if strings.TrimSpace(*description) == "" {
			return usagef("breach open needs --description")
		}
		nb.Description = *description
		if *users != "" {
			if *from != "" || *to != "" {
				return usagef("breach open takes a window (--from, --to) or a list (--users), not both")
			}
			b, err := os.ReadFile(*users)
			if err != nil {
				return callscribe.Errorf(callscribe.EINVALID, "--users: %v", err)
			}
			for _, line := range strings.Split(string(b), "\n") {
				if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
					nb.Emails = append(nb.Emails, line)
				}
			}
			if len(nb.Emails) == 0 {
				return usagef("--users %s lists nobody", *users)
			}
		} else {
			switch {
			case *from == "" && *to == "" && *org == "":
				return usagef("breach open needs whose data: --org NAME (every user of it), --from and --to (the window of affected calls), or --users FILE")
			case (*from == "") != (*to == ""):
				return usagef("breach open needs both --from and --to")
			case *from != "":
				if nb.From, err = parseInstant("--from", *from); err != nil {
					return err
				}
				if nb.To, err = parseInstant("--to", *to); err != nil {
					return err
				}
			}
		}
		if *detected != "" {
			if nb.DetectedAt, err = parseInstant("--detected", *detected); err != nil {
				return err
			}
		}
	case "notify":
		if *template == "" {
			return usagef("breach notify needs --template FILE")
		}
		b, err := os.ReadFile(*template)
		if err != nil {
			return callscribe.Errorf(callscribe.EINVALID, "--template: %v", err)
		}
		if tmpl, err = notify.ParseTemplate(string(b)); err != nil {
			return err
		}
	}

	a, err := openApp(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.close()
	b := &notify.Breaches{Store: a.db, Notices: a.notices, AuditLog: a.db, Actor: requestActor(cfg.getenv)}
	switch action {
	case "open":
		if org != nil && *org != "" {
			if nb.OrgID, err = a.db.OrganizationID(ctx, *org); err != nil {
				return err
			}
		}
		inc, missing, err := b.Open(ctx, nb)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "breach %s opened: %d users affected\n", inc.ID, inc.Affected)
		for _, m := range missing {
			fmt.Fprintf(stdout, "  no user with email %s\n", m)
		}
		printDeadlines(stdout, inc.DetectedAt, time.Now())
		fmt.Fprintf(stdout, "next: callscribe breach notify %s --template FILE\n", inc.ID)
	case "notify":
		n, err := b.Notify(ctx, id, tmpl)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "breach %s: %d notices queued; serve or worker sends them; follow with callscribe breach status %s\n", id, n, id)
	case "status":
		st, err := b.Status(ctx, id)
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(stdout).Encode(st)
		}
		printIncident(stdout, st.Incident)
		printDeadlines(stdout, st.Incident.DetectedAt, time.Now())
		fmt.Fprintf(stdout, "users: %d", len(st.Users))
		for _, k := range []string{"sent", "pending", "failed", "no_channel", "not_notified"} {
			if st.Counts[k] > 0 {
				fmt.Fprintf(stdout, ", %s %d", strings.ReplaceAll(k, "_", " "), st.Counts[k])
			}
		}
		fmt.Fprintln(stdout)
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USER\tOUTCOME\tTELEGRAM\tEMAIL")
		for _, u := range st.Users {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.UserID, u.Outcome, orDash(u.Channels[callscribe.NoticeTelegram]), orDash(u.Channels[callscribe.NoticeEmail]))
		}
		return tw.Flush()
	case "list":
		list, err := b.List(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			for _, inc := range list {
				if err := enc.Encode(inc); err != nil {
					return err
				}
			}
			return nil
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tDETECTED\tORGANIZATION\tAFFECTED\tNOTIFIED")
		for _, inc := range list {
			notified := "-"
			if inc.NotifiedAt != nil {
				notified = inc.NotifiedAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", inc.ID, inc.DetectedAt.UTC().Format(time.RFC3339), orDash(inc.Org), inc.Affected, notified)
		}
		return tw.Flush()
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func printIncident(w io.Writer, inc callscribe.BreachIncident) {
	fmt.Fprintf(w, "breach %s: %s\n", inc.ID, inc.Description)
	scope := "every organization"
	if inc.Org != "" {
		scope = "organization " + inc.Org
	}
	switch {
	case inc.ByList:
		scope += ", listed users"
	case inc.From != nil && inc.To != nil:
		scope += fmt.Sprintf(", calls from %s to %s", inc.From.UTC().Format(time.RFC3339), inc.To.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(w, "scope: %s; %d users affected\n", scope, inc.Affected)
	if inc.NotifiedAt != nil {
		fmt.Fprintf(w, "users notified: %s\n", inc.NotifiedAt.UTC().Format(time.RFC3339))
	} else {
		fmt.Fprintln(w, "users notified: not yet")
	}
}

// printDeadlines shows the regulator's deadlines (152-FZ art. 21 p. 3.1) and the time
// left to each.
func printDeadlines(w io.Writer, detected, now time.Time) {
	fmt.Fprintf(w, "detected: %s\n", detected.UTC().Format(time.RFC3339))
	for _, d := range []struct {
		what  string
		after time.Duration
	}{{"first report to Roskomnadzor (24 h)", notify.FirstReport}, {"investigation results to Roskomnadzor (72 h)", notify.FinalReport}} {
		due := detected.Add(d.after)
		left := due.Sub(now).Truncate(time.Minute)
		state := fmt.Sprintf("%s left", left)
		if left < 0 {
			state = fmt.Sprintf("overdue by %s", -left)
		}
		fmt.Fprintf(w, "%s: due %s (%s)\n", d.what, due.UTC().Format(time.RFC3339), state)
	}
}

// parseInstant reads RFC 3339, or a Moscow-time "YYYY-MM-DD HH:MM" or "YYYY-MM-DD".
func parseInstant(flag, s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	moscow := privacy.Moscow
	for _, layout := range []string{"2006-01-02 15:04", time.DateOnly} {
		if t, err := time.ParseInLocation(layout, s, moscow); err == nil {
			return t, nil
		}
	}
	return time.Time{}, usagef("%s %q is not a time (RFC 3339, or YYYY-MM-DD HH:MM or YYYY-MM-DD in Moscow time)", flag, s)
}
