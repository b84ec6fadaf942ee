// Command callscribe turns recorded phone calls into transcripts and summaries for the
// people who consented to it, and forgets the audio. It is the only place that knows every
// concrete adapter and wires them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"unicode/utf8"

	"callscribe"
)

// Exit statuses. Scripts wired to a PBX branch on them.
const (
	exitOK        = 0
	exitFailure   = 1 // anything else: a fault of ours or of a dependency
	exitBadInput  = 2 // unreadable audio, a missing file, a wrong flag
	exitNoConsent = 3 // the owner has not consented (or withdrew consent)
	exitNotFound  = 4 // no such user or call
	exitBlocked   = 5 // the user is blocked: their data is not processed or shown
)

// exitCodes maps application error codes to exit statuses: the CLI's one table.
var exitCodes = map[string]int{
	callscribe.EINVALID:      exitBadInput,
	callscribe.EUNFETCHABLE:  exitBadInput,
	callscribe.EUNREADABLE:   exitBadInput,
	callscribe.ETOOLARGE:     exitBadInput,
	callscribe.ENOCONSENT:    exitNoConsent,
	callscribe.EBLOCKED:      exitBlocked,
	callscribe.ENOTFOUND:     exitNotFound,
	callscribe.ECONFLICT:     exitFailure,
	callscribe.EUNAVAILABLE:  exitFailure,
	callscribe.EUNAUTHORIZED: exitFailure,
	callscribe.EINTERNAL:     exitFailure,
}

func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	if c, ok := exitCodes[callscribe.ErrorCode(err)]; ok {
		return c
	}
	return exitFailure
}

// commands are the synopses of every command, in the order usage lists them. A command's
// name is its flag set's: `callscribe NAME --help` prints its synopsis and its flags.
var commands = []struct{ name, synopsis string }{
	{"transcribe", "transcribe [--owner EMAIL] [--org NAME] [--json] [--channels agent,client] [RAW] FILE..."},
	{"convert", "convert [--channel N] [--dither-seed N] [RAW] IN OUT.wav"},
	{"users add", `users add --email EMAIL [--name "Surname First Patronymic" | --surname S --first-name F [--patronymic P]] [--phone PHONE] [--org NAME]`},
	{"users edit", "users edit EMAIL [--org NAME] [--email NEW] [--phone PHONE] [--surname S] [--first-name F] [--patronymic P]"},
	{"users password", "users password EMAIL [--org NAME] [--verified]   (the password on standard input)"},
	{"users block", "users block EMAIL [--org NAME]"},
	{"users unblock", "users unblock EMAIL [--org NAME]"},
	{"users link-telegram", "users link-telegram EMAIL [--org NAME]    (prints the deep link that links a Telegram chat)"},
	{"consent grant", "consent grant --email EMAIL [--org NAME] --purpose transcription[,summarization,notifications,crm_export] [--policy-version V]"},
	{"consent withdraw", "consent withdraw --email EMAIL [--org NAME] --purpose transcription[,summarization,notifications,crm_export]"},
	{"consent show", "consent show --email EMAIL [--org NAME]"},
	{"requests add", "requests add --kind access|rectification|blocking|erasure|withdrawal|claim --email EMAIL [--org NAME] [--received YYYY-MM-DD] [--notes TEXT]"},
	{"requests list", "requests list [--due-within 3d] [--overdue] [--status S] [--json]"},
	{"requests show", "requests show ID"},
	{"requests start", "requests start ID"},
	{"requests extend", "requests extend ID --reason TEXT [--days 1-5] [--notice TEXT]"},
	{"requests close", "requests close ID [--notes TEXT] | requests close ID --reject --reason TEXT"},
	{"apikey create", "apikey create --org NAME"},
	{"apikey revoke", "apikey revoke ID"},
	{"apikey list", "apikey list --org NAME"},
	{"serve", "serve    (HTTP API on CALLSCRIBE_HTTP_ADDR, with the worker)"},
	{"worker", "worker   (the worker alone; needs an object store)"},
	{"webhook add", "webhook add --org NAME --url URL --country CC [--events call.completed,...]"},
	{"webhook list", "webhook list [--org NAME]"},
	{"webhook remove", "webhook remove ID"},
	{"webhook deliveries", "webhook deliveries [--org NAME] [--status pending|delivered|failed]"},
	{"breach open", "breach open --description TEXT [--org NAME] [--from T --to T | --users FILE] [--detected T]"},
	{"breach notify", "breach notify ID --template FILE"},
	{"breach status", "breach status ID [--json]"},
	{"breach list", "breach list [--json]"},
	{"calls list", "calls list [--org NAME] [--q TEXT] [--phone PHONE] [--from D] [--to D] [--status S] [--limit N] [--json]"},
	{"transcript show", "transcript show CALL_ID [--json]"},
	{"transcript edit", "transcript edit CALL_ID --segment N [--text TEXT] [--speaker LABEL]"},
	{"export", "export --email EMAIL [--org NAME] [--out FILE]"},
	{"erasure run", "erasure run --email EMAIL [--org NAME] --request ID"},
	{"erasure reapply", "erasure reapply"},
	{"erasure ledger", "erasure ledger"},
	{"org set", "org set --org NAME [--retention 90d|off] [--redact-off TYPES] [--redact-on TYPES|all] [--redact-mask TEXT|tags] [--access-answer file|link]"},
	{"org show", "org show [--org NAME]"},
	{"retention run", "retention run"},
	{"partners add", "partners add --code CODE --name NAME   (a partner link is /r/CODE)"},
	{"partners list", "partners list   (the report: clicks and registrations per partner)"},
	{"agreement publish", "agreement publish --version N FILE   (the user agreement, markdown; in force from now)"},
	{"agreement show", "agreement show   (the version in force)"},
	{"migrate", "migrate"},
	{"config", "config   (the effective configuration, secrets masked)"},
}

const usageNotes = `
convert writes what the recogniser hears of one channel (16 kHz, 16-bit mono WAV):
channel 0 unless --channel says otherwise (stderr says how many there are). IN or OUT
may be - for standard input or output.
RAW is --raw s16|ulaw|alaw|gsm --rate HZ [--channel-count N], for headerless input.

Every command takes --help. Configuration comes from CALLSCRIBE_* environment variables
(callscribe config shows them; see README.md).
`

// usage is the whole usage text, or with group ("users") that group's lines only.
func usage(group string) string {
	var b strings.Builder
	if group == "" {
		b.WriteString("callscribe turns recorded calls into transcripts and forgets the audio.\n\nUsage:\n")
	} else {
		b.WriteString("usage:\n")
	}
	for _, c := range commands {
		if g, _, _ := strings.Cut(c.name, " "); group == "" || g == group {
			fmt.Fprintf(&b, "  callscribe %s\n", c.synopsis)
		}
	}
	if group == "" {
		b.WriteString(usageNotes)
	}
	return b.String()
}

// groups are the commands made of actions (`users add`, `users edit`…).
func isGroup(cmd string) bool {
	for _, c := range commands {
		if strings.HasPrefix(c.name, cmd+" ") {
			return true
		}
	}
	return false
}

func knownCommand(name string) bool {
	for _, c := range commands {
		if c.name == name {
			return true
		}
	}
	return false
}

func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line and returns the exit status. Everything it reads or
// writes comes through its arguments: the environment through getenv, the standard
// streams as given. Tests run it in their own process.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage(""))
		return exitBadInput
	}
	if isHelp(args[0]) {
		fmt.Fprint(stdout, usage(""))
		return exitOK
	}
	cmd, rest := args[0], args[1:]
	if !isGroup(cmd) && !knownCommand(cmd) {
		fmt.Fprintf(stderr, "callscribe: unknown command %q\n\n%s", cmd, usage(""))
		return exitBadInput
	}
	if isGroup(cmd) {
		// The action is checked here, before the configuration: `users --help` helps
		// whatever the environment says.
		switch {
		case len(rest) > 0 && isHelp(rest[0]):
			fmt.Fprint(stdout, usage(cmd))
			return exitOK
		case len(rest) == 0:
			fmt.Fprintf(stderr, "callscribe %s: which one?\n%s", cmd, usage(cmd))
			return exitBadInput
		case !knownCommand(cmd + " " + rest[0]):
			fmt.Fprintf(stderr, "callscribe %s: unknown command %q\n%s", cmd, rest[0], usage(cmd))
			return exitBadInput
		}
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "callscribe: configuration: %v\n", err)
		return exitBadInput
	}
	cfg.stderr = stderr
	// The command line is the operator's, and crosses organizations by design (commands
	// name theirs with --org): its queries run as the system. serve's HTTP handlers do
	// not inherit this context; each request is scoped to its API key's organization.
	ctx = callscribe.AsSystem(ctx)
	var cmdErr error
	switch cmd {
	case "transcribe":
		cmdErr = cmdTranscribe(ctx, cfg, rest, stdout, stderr)
	case "convert":
		cmdErr = cmdConvert(ctx, rest, stdin, stdout, stderr)
	case "users":
		cmdErr = cmdUsers(ctx, cfg, rest, stdin, stdout)
	case "consent":
		cmdErr = cmdConsent(ctx, cfg, rest, stdout)
	case "requests":
		cmdErr = cmdRequests(ctx, cfg, rest, stdout)
	case "calls":
		cmdErr = cmdCalls(ctx, cfg, rest, stdout)
	case "transcript":
		cmdErr = cmdTranscript(ctx, cfg, rest, stdout)
	case "export":
		cmdErr = cmdExport(ctx, cfg, rest, stdout)
	case "erasure":
		cmdErr = cmdErasure(ctx, cfg, rest, stdout)
	case "org":
		cmdErr = cmdOrg(ctx, cfg, rest, stdout)
	case "retention":
		cmdErr = cmdRetention(ctx, cfg, rest, stdout)
	case "partners":
		cmdErr = cmdPartners(ctx, cfg, rest, stdout)
	case "agreement":
		cmdErr = cmdAgreement(ctx, cfg, rest, stdout)
	case "migrate":
		cmdErr = cmdMigrate(ctx, cfg, rest, stdout)
	case "serve":
		cmdErr = cmdServe(ctx, cfg, rest, stdout)
	case "worker":
		cmdErr = cmdWorker(ctx, cfg, rest, stdout)
	case "apikey":
		cmdErr = cmdAPIKey(ctx, cfg, rest, stdout)
	case "webhook":
		cmdErr = cmdWebhook(ctx, cfg, rest, stdout)
	case "breach":
		cmdErr = cmdBreach(ctx, cfg, rest, stdout)
	case "config":
		cmdErr = cmdConfig(cfg, rest, stdout)
	}
	var reported *reportedError
	var help helpError
	switch {
	case cmdErr == nil:
		return exitOK
	case errors.As(cmdErr, &help):
		printHelp(stdout, help.fs)
		return exitOK
	case errors.As(cmdErr, &reported):
		// Already told the user, per file; only the status is left.
		return reported.code
	case errors.As(cmdErr, new(usageError)):
		fmt.Fprintf(stderr, "callscribe %s: %v\n", cmd, cmdErr)
		return exitBadInput
	}
	fmt.Fprintf(stderr, "callscribe %s: %s\n", cmd, message(cmdErr))
	return exitCode(cmdErr)
}

// message is what the user is told about err: an application error's safe message,
// with the cause for internal faults (the CLI's user is the operator).
func message(err error) string {
	var ae *callscribe.Error
	if errors.As(err, &ae) && ae.Code != callscribe.EINTERNAL && ae.Code != callscribe.EUNAVAILABLE {
		return ae.Message
	}
	return err.Error()
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// helpError is what parse returns for --help: run prints the command's usage and flags.
type helpError struct{ fs *flag.FlagSet }

func (e helpError) Error() string { return "help requested" }

// synopsisOf is the synopsis of the command named name in commands; "" for none.
func synopsisOf(name string) string {
	for _, c := range commands {
		if c.name == name {
			return c.synopsis
		}
	}
	return ""
}

// takes reports whether the command named cmd takes the flag: whether its synopsis names
// it (RAW standing for the raw-input flags). The commands of a group share one flag set
// (requests, consent, org …); this is what tells each command's own flags apart. A name
// without a synopsis takes every flag of its set.
func takes(cmd, flagName string) bool {
	synopsis := synopsisOf(cmd)
	if synopsis == "" {
		return true
	}
	if strings.Contains(synopsis, "RAW") && slices.Contains([]string{"raw", "rate", "channel-count"}, flagName) {
		return true
	}
	for rest := synopsis; ; {
		i := strings.Index(rest, "--"+flagName)
		if i < 0 {
			return false
		}
		rest = rest[i+2+len(flagName):]
		if rest == "" || !strings.ContainsAny(rest[:1], "abcdefghijklmnopqrstuvwxyz-") {
			return true
		}
	}
}

// printHelp prints the synopsis of the command fs parses and every flag it takes.
func printHelp(w io.Writer, fs *flag.FlagSet) {
	synopsis := synopsisOf(fs.Name())
	if synopsis == "" {
		synopsis = fs.Name()
	}
	fmt.Fprintf(w, "usage: callscribe %s\n", synopsis)
	first := true
	fs.VisitAll(func(f *flag.Flag) {
		if !takes(fs.Name(), f.Name) {
			return
		}
		if first {
			fmt.Fprintln(w, "\nflags:")
			first = false
		}
		arg, text := flag.UnquoteUsage(f)
		if arg != "" {
			arg = " " + strings.ToUpper(arg)
		}
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			text += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, "  --%s%s\n      %s\n", f.Name, arg, text)
	})
}

// reportedError carries an exit status for errors already printed.
type reportedError struct{ code int }

func (e *reportedError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseNone parses flags for a command that takes no other argument.
func parseNone(fs *flag.FlagSet, args []string) error {
	pos, err := parse(fs, args)
	if err == nil && len(pos) > 0 {
		err = usagef("%s takes no argument, got %q", fs.Name(), pos)
	}
	return err
}

// pathFlags name files: a file's name may be any bytes, not only UTF-8 text.
var pathFlags = map[string]bool{"out": true, "template": true, "users": true}

// parse parses flags, allowing them before and after positional arguments. A flag of
// the set that the command does not take (takes: `requests list --days 3`, the group's
// shared set defines it) is refused, not silently ignored.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, helpError{fs}
			}
			return nil, usagef("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			var foreign error
			fs.Visit(func(f *flag.Flag) {
				switch {
				case foreign != nil:
				case !takes(fs.Name(), f.Name):
					foreign = usagef("%s takes no --%s (callscribe %s --help lists its flags)", fs.Name(), f.Name, fs.Name())
				case !pathFlags[f.Name] && !utf8.ValidString(f.Value.String()):
					// The database stores text as UTF-8 and refused it: exit 1 and its raw error.
					foreign = usagef("--%s is not UTF-8 text", f.Name)
				}
			})
			if foreign != nil {
				return nil, foreign
			}
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
