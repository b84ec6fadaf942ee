package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"callscribe"
	"callscribe/audio"
	"callscribe/pipeline"
)

// progressMinBytes is the size from which a file gets a progress bar: below it the call
// is done before a bar would be read.
const progressMinBytes = 4 << 20

func cmdTranscribe(ctx context.Context, cfg config, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("transcribe")
	owner := fs.String("owner", localEmail, "email of the user who owns the calls")
	org := fs.String("org", localOrg, "the owner's organization")
	asJSON := fs.Bool("json", false, "print one JSON object per file")
	channels := fs.String("channels", strings.Join(pipeline.DefaultRoles, ","), "speaker of each channel, in channel order")
	raw := addRawFlags(fs)
	files, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usagef("usage: callscribe transcribe [--owner EMAIL] [--json] [--channels agent,client] [--raw s16|ulaw|alaw|gsm --rate HZ [--channel-count N]] FILE...")
	}
	rawFormat, err := raw.format()
	if err != nil {
		return err
	}
	roles := strings.Split(*channels, ",")
	for i := range roles {
		roles[i] = strings.TrimSpace(roles[i])
		if roles[i] == "" {
			return usagef("--channels: %q has an empty role", *channels)
		}
	}

	a, err := openApp(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.close()
	user, err := a.userByEmail(ctx, *org, *owner)
	if err != nil {
		return err
	}
	transcriber, closeASR, err := newTranscriber(cfg)
	if err != nil {
		return err
	}
	defer closeASR()
	summarizer, err := newSummarizer(cfg)
	if err != nil {
		return err
	}
	pcfg := pipeline.Config{
		Store:       a.db,
		Watcher:     a.db,
		Decode:      decoder(rawFormat, audio.Limits{MaxInputBytes: cfg.maxCallBytes}),
		Transcriber: transcriber,
		Summarizer:  summarizer,
		Logger:      a.log,
		ConsentPoll: cfg.consentPoll,
	}
	if cfg.s3.endpoint == "" {
		// In memory the call streams through the stage: recognised while it is staged.
		pcfg.Stream = newMemoryStage(cfg, 1)
	} else if pcfg.Stage, err = newStage(ctx, cfg, 1, a.log); err != nil {
		return err
	}
	p := pipeline.New(pcfg)

	worst := exitOK
	for _, file := range files {
		res, err := transcribeFile(ctx, p, cfg, user, file, roles, stderr)
		if err != nil {
			code := exitCode(err)
			fmt.Fprintf(stderr, "callscribe transcribe: %s: %s\n", file, message(err))
			switch {
			case res.CallID == uuid.Nil:
				// refused before a call was recorded: nothing was staged
			case res.Receipt.ConfirmedAt.IsZero():
				fmt.Fprintf(stderr, "callscribe transcribe: %s: call %s %s; no deletion receipt (nothing was staged, or deletion is unconfirmed)\n", file, res.CallID, res.Status)
			default:
				fmt.Fprintf(stderr, "callscribe transcribe: %s: call %s %s; staged audio deleted and confirmed at %s\n",
					file, res.CallID, res.Status, res.Receipt.ConfirmedAt.Format(time.RFC3339Nano))
			}
			if code == exitNoConsent || code == exitBlocked { // the owner's next files would be refused too
				return &reportedError{code}
			}
			worst = max(worst, code)
			continue
		}
		if *asJSON {
			if err := json.NewEncoder(stdout).Encode(jsonResult(file, res)); err != nil {
				return err
			}
		} else {
			printText(stdout, file, res)
		}
	}
	if worst != exitOK {
		return &reportedError{worst}
	}
	return nil
}

func transcribeFile(ctx context.Context, p *pipeline.Pipeline, cfg config, user callscribe.User, file string, roles []string, stderr io.Writer) (pipeline.Result, error) {
	f, err := os.Open(file)
	if err != nil {
		return pipeline.Result{}, callscribe.Wrap(callscribe.EUNREADABLE, err, "cannot open: %v", unwrapPathError(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return pipeline.Result{}, callscribe.Wrap(callscribe.EUNREADABLE, err, "cannot read: %v", unwrapPathError(err))
	}
	if st.IsDir() {
		return pipeline.Result{}, callscribe.Errorf(callscribe.EUNREADABLE, "is a directory, not an audio file")
	}
	if st.Size() > cfg.maxCallBytes {
		return pipeline.Result{}, callscribe.Errorf(callscribe.ETOOLARGE, "%d bytes is over the limit of %d (CALLSCRIBE_MAX_CALL_BYTES)", st.Size(), cfg.maxCallBytes)
	}
	in := pipeline.Input{Owner: user, Audio: f, Size: st.Size(), Roles: roles}
	if st.Size() >= progressMinBytes && isTerminal(stderr) {
		bar := progressbar.NewOptions64(st.Size(),
			progressbar.OptionSetWriter(stderr),
			progressbar.OptionSetDescription("transcribing"),
			progressbar.OptionShowBytes(true),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionThrottle(100*time.Millisecond))
		in.Progress = func(done, total int64) { _ = bar.Set64(done) }
		defer bar.Finish()
	}
	return p.Run(ctx, in)
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// jsonOutput is the --json shape of one file's result.
type jsonOutput struct {
	File       string               `json:"file"`
	CallID     string               `json:"call_id"`
	Status     string               `json:"status"`
	DurationMS int64                `json:"duration_ms"`
	Channels   []string             `json:"channels"`
	Engine     string               `json:"engine"`
	Segments   []callscribe.Segment `json:"segments"`
	Text       string               `json:"text"`
	Summary    *callscribe.Summary  `json:"summary"`
	Truncated  bool                 `json:"truncated"`  // the recording was cut short: transcribed up to the cut
	Redactions map[string]int       `json:"redactions"` // personal data replaced, by type: counts only
	Audio      jsonAudio            `json:"audio"`
}

type jsonAudio struct {
	Bytes       int64     `json:"bytes"`
	SHA256      string    `json:"sha256"`
	Stage       string    `json:"stage"`
	StagedAt    time.Time `json:"staged_at"`
	DeletedAt   time.Time `json:"deleted_at"`
	ConfirmedAt time.Time `json:"confirmed_at"`
}

func jsonResult(file string, res pipeline.Result) jsonOutput {
	t := res.Transcript
	segs := t.Segments
	if segs == nil {
		segs = []callscribe.Segment{}
	}
	r := res.Receipt
	redactions := t.Redactions
	if redactions == nil {
		redactions = map[string]int{}
	}
	return jsonOutput{
		File: file, CallID: res.CallID.String(), Status: string(res.Status),
		DurationMS: t.DurationMS, Channels: t.Channels, Engine: t.Engine,
		Segments: segs, Text: t.Text, Summary: t.Summary, Truncated: t.Truncated, Redactions: redactions,
		Audio: jsonAudio{Bytes: r.Bytes, SHA256: r.SHA256, Stage: r.Stage, StagedAt: r.StagedAt, DeletedAt: r.DeletedAt, ConfirmedAt: r.ConfirmedAt},
	}
}

// printText prints a call's heading, its text form (pipeline.WriteText: the API's
// format=txt) and the deletion receipt.
func printText(w io.Writer, file string, res pipeline.Result) {
	t := res.Transcript
	fmt.Fprintf(w, "== %s  (call %s, %s, %s)\n", file, res.CallID, pipeline.Clock(t.DurationMS), strings.Join(t.Channels, "+"))
	pipeline.WriteText(w, t)
	r := res.Receipt
	fmt.Fprintf(w, "-- audio: %d bytes, sha256 %s, %s stage; deleted %s, confirmed gone %s\n",
		r.Bytes, r.SHA256, r.Stage, r.DeletedAt.Format(time.RFC3339Nano), r.ConfirmedAt.Format(time.RFC3339Nano))
}
