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
	"syscall"

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

const usage = `callscribe turns recorded calls into transcripts and forgets the audio.

Usage:
  callscribe transcribe [--owner EMAIL] [--org NAME] [--json] [--channels agent,client] [RAW] FILE...
  callscribe convert [--channel N] [RAW] IN OUT.wav
  callscribe users add --email EMAIL [--name "Surname First Patronymic"] [--phone PHONE] [--org NAME]
  callscribe users block|unblock EMAIL [--org NAME]
  callscribe consent grant|withdraw --email EMAIL [--org NAME] --purpose transcription[,summarization,notifications,crm_export]
  callscribe consent show --email EMAIL [--org NAME]
  callscribe requests add --kind KIND --email EMAIL [--received YYYY-MM-DD]
  callscribe requests list [--due-within 3d] [--overdue] [--status S] [--json]
  callscribe requests show|start ID
  callscribe requests extend ID --reason TEXT [--days N] [--notice TEXT]
  callscribe requests close ID [--notes TEXT] | close ID --reject --reason TEXT
  callscribe apikey create --org NAME | apikey revoke ID | apikey list --org NAME
  callscribe serve     (HTTP API on CALLSCRIBE_HTTP_ADDR, with the worker)
  callscribe worker    (the worker alone; needs an object store)
  callscribe webhook add --org NAME --url URL --country CC [--events call.completed,...]
  callscribe webhook list [--org NAME] | webhook remove ID
  callscribe users edit EMAIL [--email NEW] [--phone PHONE] [--surname S] [--first-name F] [--patronymic P]
  callscribe transcript show CALL_ID [--json]
  callscribe transcript edit CALL_ID --segment N [--text TEXT] [--speaker LABEL]
  callscribe export --email EMAIL [--out FILE]
  callscribe erasure run --email EMAIL --request ID | erasure reapply | erasure ledger
  callscribe org set --org NAME --retention 90d|off | org show [--org NAME]
  callscribe retention run
  callscribe migrate

convert writes what the recogniser hears of one channel (16 kHz, 16-bit mono WAV):
channel 0 unless --channel says otherwise (stderr says how many there are). IN or OUT
may be - for standard input or output.
RAW is --raw s16|ulaw|alaw|gsm --rate HZ [--channel-count N], for headerless input.

Configuration comes from CALLSCRIBE_* environment variables (see README.md).
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return exitBadInput
		}
		return exitOK
	}
	cfg, err := LoadConfig(os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "callscribe: configuration: %v\n", err)
		return exitBadInput
	}
	cmd, rest := args[0], args[1:]
	// The command line is the operator's, and crosses organizations by design (commands
	// name theirs with --org): its queries run as the system. serve's HTTP handlers do
	// not inherit this context; each request is scoped to its API key's organization.
	ctx = callscribe.AsSystem(ctx)
	var cmdErr error
	switch cmd {
	case "transcribe":
		cmdErr = cmdTranscribe(ctx, cfg, rest, stdout, stderr)
	case "convert":
		cmdErr = cmdConvert(ctx, rest, stdout, stderr)
	case "users":
		cmdErr = cmdUsers(ctx, cfg, rest, stdout)
	case "consent":
		cmdErr = cmdConsent(ctx, cfg, rest, stdout)
	case "requests":
		cmdErr = cmdRequests(ctx, cfg, rest, stdout)
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
	case "migrate":
		cmdErr = cmdMigrate(ctx, cfg, stdout)
	case "serve":
		cmdErr = cmdServe(ctx, cfg, rest, stdout)
	case "worker":
		cmdErr = cmdWorker(ctx, cfg, rest, stdout)
	case "apikey":
		cmdErr = cmdAPIKey(ctx, cfg, rest, stdout)
	case "webhook":
		cmdErr = cmdWebhook(ctx, cfg, rest, stdout)
	default:
		fmt.Fprintf(stderr, "callscribe: unknown command %q\n\n%s", cmd, usage)
		return exitBadInput
	}
	var reported *reportedError
	switch {
	case cmdErr == nil:
		return exitOK
	case errors.Is(cmdErr, flag.ErrHelp):
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

// reportedError carries an exit status for errors already printed.
type reportedError struct{ code int }

func (e *reportedError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parse parses flags, allowing them before and after positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usagef("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
