package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"callscribe"
	"callscribe/pipeline"
	"callscribe/privacy"
	"callscribe/redact"
	"callscribe/storage/postgres"
	"callscribe/summarize"
)

// cliActor names the command line in the audit log: whoever runs it is the operator.
const cliActor = "cli"

// ledgerKeyFile is where the embedded default keeps its generated ledger key.
const ledgerKeyFile = "ledger.key"

// ledgerKey returns the erasure ledger's key: CALLSCRIBE_LEDGER_KEY, else the data dir's
// key file, generated there once when the database is the embedded one. A production
// database (CALLSCRIBE_DATABASE_URL) needs the key set: a key generated on one machine
// would not hash alike on the next.
func (a *app) ledgerKey() ([]byte, error) {
	if a.cfg.ledgerKey != "" {
		return []byte(a.cfg.ledgerKey), nil
	}
	path := filepath.Join(a.cfg.dataDir, ledgerKeyFile)
	b, err := os.ReadFile(path)
	if err == nil {
		return []byte(strings.TrimSpace(string(b))), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read the ledger key %s: %w", path, err)
	}
	if a.cfg.databaseURL != "" {
		return nil, callscribe.Errorf(callscribe.EINVALID,
			"erasure needs CALLSCRIBE_LEDGER_KEY (or _FILE), at least 32 bytes, the same on every machine sharing the database")
	}
	var k [32]byte
	rand.Read(k[:])
	if err := os.MkdirAll(a.cfg.dataDir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) { // made at the same moment by another process
		return a.ledgerKey()
	}
	if err != nil {
		return nil, fmt.Errorf("create the ledger key %s: %w", path, err)
	}
	if _, err := f.WriteString(hex.EncodeToString(k[:]) + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("write the ledger key %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return []byte(hex.EncodeToString(k[:])), nil
}

// eraser wires the erasure of data subjects.
func (a *app) eraser() (*privacy.Eraser, error) {
	key, err := a.ledgerKey()
	if err != nil {
		return nil, err
	}
	h, err := privacy.NewSubjectHasher(key)
	if err != nil {
		return nil, fmt.Errorf("CALLSCRIBE_LEDGER_KEY: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(a.cfg.ledgerFile), 0o700); err != nil {
		return nil, fmt.Errorf("CALLSCRIBE_LEDGER_FILE: %w", err)
	}
	return &privacy.Eraser{Store: a.db, Hasher: h, Ledger: &privacy.LedgerFile{Path: a.cfg.ledgerFile}}, nil
}

// corrections wires the one path of a transcript's correction (the API's and the CLI's):
// the configured summarizer writes a corrected transcript's summary again.
func corrections(db *postgres.DB, s summarize.Summarizer, log *slog.Logger) *privacy.Corrections {
	c := &privacy.Corrections{Store: db, Logger: log}
	if s != nil {
		c.Summarize = func(ctx context.Context, segs []callscribe.Segment) (callscribe.Summary, error) {
			out, err := s.Summarize(ctx, pipeline.Turns(segs))
			return callscribe.Summary{Engine: out.Engine, Text: out.Text}, err
		}
	}
	return c
}

// reapplyAtStart re-applies the erasure ledger when its file holds entries: after a
// backup restore, the subjects it names are purged again before anything else runs.
func (a *app) reapplyAtStart(ctx context.Context) error {
	st, err := os.Stat(a.cfg.ledgerFile)
	if errors.Is(err, os.ErrNotExist) || err == nil && st.Size() == 0 {
		return nil
	}
	if err != nil {
		return fmt.Errorf("CALLSCRIBE_LEDGER_FILE: %w", err)
	}
	e, err := a.eraser()
	if err != nil {
		return err
	}
	done, err := e.Reapply(ctx)
	for _, d := range done {
		a.log.Warn("erasure re-applied from the ledger", "ledger_entry", d.Entry.ID, "request_id", d.Entry.RequestID)
	}
	return err
}

func cmdErasure(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	const use = "usage: callscribe erasure run --email EMAIL --request ID | erasure reapply | erasure ledger"
	if len(args) == 0 {
		return usagef(use)
	}
	fs := newFlags("erasure " + args[0])
	email := fs.String("email", "", "the subject's email")
	org := fs.String("org", localOrg, "the subject's organization")
	request := fs.String("request", "", "id of the request that orders the erasure")
	if _, err := parse(fs, args[1:]); err != nil {
		return err
	}
	switch args[0] {
	case "run":
		if *email == "" || *request == "" {
			return usagef("erasure run needs --email and --request")
		}
	case "reapply", "ledger":
	default:
		return usagef(use)
	}
	a, err := openApp(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.close()
	enc := json.NewEncoder(stdout)
	switch args[0] {
	case "ledger":
		entries, err := a.db.ErasureLedger(ctx)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := enc.Encode(e); err != nil {
				return err
			}
		}
		return nil
	case "reapply":
		e, err := a.eraser()
		if err != nil {
			return err
		}
		done, err := e.Reapply(ctx)
		fmt.Fprintf(stdout, "%d erasures re-applied\n", len(done))
		return err
	}
	u, err := a.userByEmail(ctx, *org, *email)
	if err != nil {
		return err
	}
	e, err := a.eraser()
	if err != nil {
		return err
	}
	er, err := e.Erase(ctx, u.ID, *request)
	if err != nil {
		return err
	}
	rep, err := e.VerifyErased(ctx, privacy.Subject{UserID: u.ID, CallIDs: er.CallIDs})
	if err != nil {
		return err
	}
	if !rep.Clean() {
		return fmt.Errorf("erasure of request %s left rows behind: %v", *request, rep.Remaining)
	}
	return enc.Encode(er.Entry)
}

func cmdOrg(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	const use = "usage: callscribe org set --org NAME [--retention 90d|off] [--redact-off TYPES] [--redact-on TYPES|all] [--redact-mask TEXT|tags] [--access-answer file|link] | org show [--org NAME]"
	if len(args) == 0 || args[0] != "set" && args[0] != "show" {
		return usagef(use)
	}
	fs := newFlags("org " + args[0])
	name := fs.String("org", "", "organization name")
	retention := fs.String("retention", "", "how long transcripts and summaries are kept: 90d, 12w, 720h, or off")
	redactOff := fs.String("redact-off", "", "redaction types to stop redacting, comma-separated, or all; the types: "+typeNames())
	redactOn := fs.String("redact-on", "", "redaction types to redact again, comma-separated, or all")
	redactMask := fs.String("redact-mask", "", "replace every redacted entity with this text (1 to 32 characters, no digits) instead of its type's tag; tags: the tags again")
	accessAnswer := fs.String("access-answer", "", "how a completed access request is answered in the messenger chat: file (the export as a document) or link (to the privacy desk only)")
	if _, err := parse(fs, args[1:]); err != nil {
		return err
	}
	var d *time.Duration
	var off, on []string
	if args[0] == "set" {
		if *name == "" || *retention == "" && *redactOff == "" && *redactOn == "" && *redactMask == "" && *accessAnswer == "" {
			return usagef("org set needs --org and --retention, --redact-off, --redact-on, --redact-mask or --access-answer")
		}
		if *accessAnswer != "" && *accessAnswer != callscribe.AccessAnswerFile && *accessAnswer != callscribe.AccessAnswerLink {
			return usagef("--access-answer is file or link")
		}
		if err := checkMask(*redactMask); err != nil {
			return err
		}
		var err error
		if *retention != "" {
			if d, err = privacy.ParseRetention(*retention); err != nil {
				return err
			}
		}
		if off, err = redactionTypes("--redact-off", *redactOff); err != nil {
			return err
		}
		if on, err = redactionTypes("--redact-on", *redactOn); err != nil {
			return err
		}
	}
	a, err := openApp(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.close()
	if args[0] == "set" {
		o, err := a.db.OrganizationByName(ctx, *name)
		if err != nil {
			return err
		}
		if *retention != "" {
			if err := a.db.SetRetention(ctx, o.ID, d, cliActor); err != nil {
				return err
			}
			o.Retention = d
		}
		if *redactOff != "" || *redactOn != "" || *redactMask != "" {
			next := slices.DeleteFunc(slices.Clone(o.RedactionOff), func(t string) bool { return slices.Contains(on, t) })
			for _, t := range off {
				if !slices.Contains(next, t) {
					next = append(next, t)
				}
			}
			mask := o.RedactionMask
			switch *redactMask {
			case "":
			case "tags":
				mask = ""
			default:
				mask = *redactMask
			}
			if err := a.db.SetRedaction(ctx, o.ID, next, mask, cliActor); err != nil {
				return err
			}
			o.RedactionOff, o.RedactionMask = next, mask
		}
		if *accessAnswer != "" {
			if err := a.db.SetAccessAnswer(ctx, o.ID, *accessAnswer, cliActor); err != nil {
				return err
			}
			o.AccessAnswer = *accessAnswer
		}
		fmt.Fprintf(stdout, "%s\tretention %s\t%s\taccess answer %s\n", o.Name, privacy.FormatRetention(o.Retention), formatRedaction(o), o.AccessAnswer)
		return nil
	}
	orgs, err := a.db.Organizations(ctx)
	if err != nil {
		return err
	}
	found := false
	for _, o := range orgs {
		if *name == "" || o.Name == *name {
			found = true
			fmt.Fprintf(stdout, "%s\t%s\tretention %s\t%s\taccess answer %s\n", o.Name, o.ID, privacy.FormatRetention(o.Retention), formatRedaction(o), o.AccessAnswer)
		}
	}
	if !found && *name != "" {
		return callscribe.Errorf(callscribe.ENOTFOUND, "no organization %q", *name)
	}
	return nil
}

// redactionTypes parses flag's comma-separated list of redaction types; "all" is every
// type. An unknown or empty name is refused, naming the flag and the known types.
func redactionTypes(flag, list string) ([]string, error) {
	if list == "" {
		return nil, nil
	}
	var out []string
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "all" {
			out = out[:0]
			for _, t := range redact.Types {
				out = append(out, string(t))
			}
			return out, nil
		}
		t, err := redact.ParseType(s)
		if err != nil {
			return nil, usagef("%s: %q is not a redaction type; the types: %s, or all", flag, s, typeNames())
		}
		out = append(out, string(t))
	}
	return out, nil
}

// typeNames lists the redaction types' names, as the --redact-* flags take them.
func typeNames() string {
	names := make([]string, len(redact.Types))
	for i, t := range redact.Types {
		names[i] = string(t)
	}
	return strings.Join(names, ",")
}

// formatRedaction says what an organization redacts: "redaction all", or the types off.
func formatRedaction(o callscribe.Organization) string {
	var s string
	switch off := o.RedactionOff; {
	case len(off) == 0:
		s = "redaction all"
	case len(off) == len(redact.Types):
		return "redaction off"
	default:
		s = "redaction all but " + strings.Join(off, ",")
	}
	if o.RedactionMask != "" {
		return s + fmt.Sprintf(", masked %q", o.RedactionMask)
	}
	return s + ", tagged"
}

// checkMask checks --redact-mask: "tags" or a mask redact.CheckMask accepts.
func checkMask(m string) error {
	if m == "tags" {
		return nil
	}
	if err := redact.CheckMask(m); err != nil {
		return usagef("--redact-mask: %s (or tags)", callscribe.ErrorMessage(err))
	}
	return nil
}

func cmdRetention(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "run" {
		return usagef("usage: callscribe retention run")
	}
	if err := parseNone(newFlags("retention run"), args[1:]); err != nil {
		return err
	}
	a, err := openApp(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.close()
	r := &privacy.Retention{Store: a.db, Logger: a.log}
	if r.Eraser, err = a.eraser(); err != nil {
		return err
	}
	purged, err := r.RunOnce(ctx)
	for _, p := range purged {
		fmt.Fprintf(stdout, "organization %s: calls before %s: %d transcripts, %d segments, %d summaries purged\n",
			p.OrgID, p.Cutoff.Format("2006-01-02T15:04:05Z07:00"), p.Counts["transcripts"], p.Counts["segments"], p.Counts["summaries"])
	}
	return err
}

func cmdTranscript(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	const use = "usage: callscribe transcript show CALL_ID [--json] | transcript edit CALL_ID --segment N [--text TEXT] [--speaker LABEL]"
	if len(args) == 0 || args[0] != "show" && args[0] != "edit" {
		return usagef(use)
	}
	fs := newFlags("transcript " + args[0])
	asJSON := fs.Bool("json", false, "print JSON")
	segment := fs.Int("segment", 0, "number of the segment to correct, from 1 (as show prints it)")
	text := fs.String("text", "", "corrected text of the segment")
	speaker := fs.String("speaker", "", "corrected speaker label of the segment")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef(use)
	}
	callID, err := uuid.Parse(pos[0])
	if err != nil {
		return usagef("%q is not a call id", pos[0])
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if args[0] == "edit" && (*segment < 1 || !set["text"] && !set["speaker"]) {
		return usagef("transcript edit needs --segment N (from 1) and --text or --speaker")
	}
	a, err := openApp(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.close()
	if args[0] == "edit" {
		var tp, sp *string
		if set["text"] {
			tp = text
		}
		if set["speaker"] {
			sp = speaker
		}
		summarizer, err := newSummarizer(a.cfg)
		if err != nil {
			return err
		}
		c, err := corrections(a.db, summarizer, a.log).EditSegment(ctx, callID, *segment-1, tp, sp, cliActor)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "call %s segment %d: %d field(s) corrected; summary %s\n", callID, *segment, len(c.Rectifications), c.Summary)
		return nil
	}
	owner, org, err := a.db.CallOwner(ctx, callID)
	if err != nil {
		return err
	}
	t, err := a.db.Transcript(ctx, callID)
	if err != nil {
		return err
	}
	// The read is audited before anything is shown.
	if err := (&privacy.Audit{}).Record(ctx, a.db, callscribe.AuditEntry{Actor: cliActor, Action: privacy.ActionTranscriptRead,
		ObjectType: "call", ObjectID: callID.String(), OrgID: org, SubjectID: owner}); err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(t)
	}
	fmt.Fprintf(stdout, "== call %s (%s, %s)\n", callID, pipeline.Clock(t.DurationMS), strings.Join(t.Channels, "+"))
	for i, s := range t.Segments {
		fmt.Fprintf(stdout, "%3d [%s %s] %s\n", i+1, pipeline.Clock(s.StartMS), s.Speaker, s.Text)
	}
	if t.Summary != nil {
		stale := ""
		if t.Summary.Stale {
			stale = ", stale: written before a correction"
		}
		fmt.Fprintf(stdout, "-- summary (%s%s)\n   %s\n", t.Summary.Engine, stale, strings.ReplaceAll(t.Summary.Text, "\n", "\n   "))
	}
	return nil
}

func cmdUsersEdit(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	const use = "usage: callscribe users edit EMAIL [--org NAME] [--email NEW] [--phone PHONE] [--surname S] [--first-name F] [--patronymic P]"
	fs := newFlags("users edit")
	org := fs.String("org", localOrg, "the user's organization")
	fields := map[string]*string{
		"email":      fs.String("email", "", "new email"),
		"phone":      fs.String("phone", "", "new phone"),
		"surname":    fs.String("surname", "", "new surname"),
		"first_name": fs.String("first-name", "", "new first name"),
		"patronymic": fs.String("patronymic", "", "new patronymic"),
	}
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef(use)
	}
	var edits []callscribe.ProfileEdit
	fs.Visit(func(f *flag.Flag) {
		name := strings.ReplaceAll(f.Name, "-", "_")
		if v, ok := fields[name]; ok { // --org names the user, it is not an edit
			edits = append(edits, callscribe.ProfileEdit{Field: name, Value: strings.TrimSpace(*v)})
		}
	})
	if len(edits) == 0 {
		return usagef(use)
	}
	for i, e := range edits {
		switch {
		case e.Field == "email" && !validEmail(e.Value):
			return usagef("--email: %q is not an email address", e.Value)
		case e.Field == "phone" && e.Value != "":
			if edits[i].Value, err = callscribe.NormalizePhone(e.Value); err != nil {
				return usagef("--phone: %s", callscribe.ErrorMessage(err))
			}
		}
	}
	a, err := openApp(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.close()
	u, err := a.userByEmail(ctx, *org, pos[0])
	if err != nil {
		return err
	}
	rs, err := a.db.EditUser(ctx, u.ID, edits, cliActor)
	if err != nil {
		return err
	}
	for _, r := range rs {
		fmt.Fprintf(stdout, "%s: %s corrected\n", u.ID, r.Field)
	}
	if len(rs) == 0 {
		fmt.Fprintf(stdout, "%s: nothing changed\n", u.ID)
	}
	return nil
}

func cmdExport(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	fs := newFlags("export")
	email := fs.String("email", "", "the user's email (required)")
	org := fs.String("org", localOrg, "the user's organization")
	out := fs.String("out", "", "file to write (default: standard output)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *email == "" {
		return usagef("usage: callscribe export --email EMAIL [--org NAME] [--out FILE]")
	}
	a, err := openApp(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.close()
	u, err := a.userByEmail(ctx, *org, *email)
	if err != nil {
		return err
	}
	w := stdout
	var file *os.File
	if *out != "" {
		f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return callscribe.Wrap(callscribe.EINVALID, err, "--out: cannot write %s", *out)
		}
		defer f.Close()
		w, file = f, f
	}
	if err := (&privacy.Audit{}).Record(ctx, a.db, callscribe.AuditEntry{Actor: cliActor, Action: privacy.ActionExport,
		ObjectType: "user", ObjectID: u.ID.String(), OrgID: u.OrgID, SubjectID: u.ID}); err != nil {
		return err
	}
	if err := (&privacy.Exporter{Store: a.db}).Export(ctx, w, u.ID); err != nil {
		return err
	}
	if file != nil {
		return file.Close()
	}
	return nil
}
