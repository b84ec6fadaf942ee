package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"callscribe"
)

// unreachableEnv is an environment whose database cannot be reached and whose data dir is
// empty: a command that opens the database fails, and one that writes leaves a trace.
func unreachableEnv(t *testing.T) ([]string, string) {
	t.Helper()
	data := t.TempDir()
	return []string{"CALLSCRIBE_DATABASE_URL=postgres://callscribe@127.0.0.1:1/none?connect_timeout=1",
		"CALLSCRIBE_DATA_DIR=" + data, "TMPDIR=" + t.TempDir()}, data
}

// helpFlags are the flags each command's --help must list, and no others: its own, not
// every flag its group's shared set defines.
var helpFlags = map[string][]string{
	"transcribe":          {"owner", "org", "json", "channels", "raw", "rate", "channel-count"},
	"convert":             {"channel", "dither-seed", "raw", "rate", "channel-count"},
	"users add":           {"email", "name", "surname", "first-name", "patronymic", "phone", "org"},
	"users edit":          {"org", "email", "phone", "surname", "first-name", "patronymic"},
	"users block":         {"org"},
	"users unblock":       {"org"},
	"users link-telegram": {"org"},
	"consent grant":       {"email", "purpose", "policy-version", "org"},
	"consent withdraw":    {"email", "purpose", "org"},
	"consent show":        {"email", "org"},
	"requests add":        {"kind", "email", "org", "received", "notes"},
	"requests list":       {"due-within", "overdue", "status", "json"},
	"requests show":       nil,
	"requests start":      nil,
	"requests extend":     {"reason", "days", "notice"},
	"requests close":      {"notes", "reject", "reason"},
	"apikey create":       {"org"},
	"apikey revoke":       nil,
	"apikey list":         {"org"},
	"serve":               nil,
	"worker":              nil,
	"webhook add":         {"org", "url", "country", "events"},
	"webhook list":        {"org"},
	"webhook remove":      nil,
	"webhook deliveries":  {"org", "status"},
	"transcript show":     {"json"},
	"transcript edit":     {"segment", "text", "speaker"},
	"export":              {"email", "org", "out"},
	"erasure run":         {"email", "org", "request"},
	"erasure reapply":     nil,
	"erasure ledger":      nil,
	"org set":             {"org", "retention", "redact-off", "redact-on", "redact-mask", "access-answer"},
	"org show":            {"org"},
	"retention run":       nil,
	"migrate":             nil,
	"config":              nil,
	"partners add":        {"code", "name"},
	"partners list":       nil,
	"agreement publish":   {"version"},
	"agreement show":      nil,
	"users password":      {"org", "verified"},
	"breach open":         {"description", "from", "to", "org", "users", "detected"},
	"breach notify":       {"template"},
	"breach status":       {"json"},
	"breach list":         {"json"},
	"calls list":          {"org", "q", "phone", "from", "to", "status", "limit", "json"},
}

// TestHelpForEveryCommand: `callscribe CMD --help` (and -h, anywhere among the flags)
// prints the command's synopsis and every flag it takes, exits 0 and does nothing: the
// database is never opened (it cannot be reached here) and the data dir stays empty.
// `migrate --help` used to migrate, and every --help used to print nothing.
func TestHelpForEveryCommand(t *testing.T) {
	t.Parallel()
	if len(helpFlags) != len(commands) {
		t.Errorf("helpFlags covers %d commands, usage lists %d: test them all", len(helpFlags), len(commands))
	}
	flagLine := regexp.MustCompile(`(?m)^  --([a-z-]+)`)
	for _, c := range commands {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			want, ok := helpFlags[c.name]
			if !ok {
				t.Fatalf("no flags listed for %q in helpFlags", c.name)
			}
			for _, help := range [][]string{{"--help"}, {"-h"}, {"--org", "acme", "--help"}} {
				if help[0] == "--org" && !slices.Contains(want, "org") {
					continue
				}
				env, data := unreachableEnv(t)
				args := append(strings.Fields(c.name), help...)
				r := runCLI(t, env, args...)
				if r.code != exitOK || r.stderr != "" {
					t.Fatalf("callscribe %s: exit %d, stderr %q; want 0 and nothing on stderr", strings.Join(args, " "), r.code, r.stderr)
				}
				if !strings.HasPrefix(r.stdout, "usage: callscribe "+c.name) {
					t.Errorf("callscribe %s printed %q; want the usage of %s", strings.Join(args, " "), r.stdout, c.name)
				}
				var got []string
				for _, m := range flagLine.FindAllStringSubmatch(r.stdout, -1) {
					got = append(got, m[1])
				}
				slices.Sort(got)
				w := slices.Sorted(slices.Values(want))
				if !slices.Equal(got, w) {
					t.Errorf("callscribe %s lists flags %q; want %q\n%s", strings.Join(args, " "), got, w, r.stdout)
				}
				if entries, _ := os.ReadDir(data); len(entries) != 0 {
					t.Errorf("callscribe %s left %d entries in the data dir; want none", strings.Join(args, " "), len(entries))
				}
			}
		})
	}
	// A group, and the whole: every line of theirs.
	env, _ := unreachableEnv(t)
	for _, args := range [][]string{{"users", "--help"}, {"requests", "-h"}, {"--help"}, {"help"}} {
		r := runCLI(t, env, args...)
		if r.code != exitOK || !strings.Contains(r.stdout, "callscribe "+args[0]) && args[0] != "--help" && args[0] != "help" {
			t.Errorf("callscribe %s: exit %d, stdout %q", strings.Join(args, " "), r.code, r.stdout)
		}
	}
	if r := runCLI(t, env, "--help"); !strings.Contains(r.stdout, "users edit EMAIL [--org NAME]") || !strings.Contains(r.stdout, "callscribe config") {
		t.Errorf("usage lacks commands:\n%s", r.stdout)
	}
}

// TestOtherCommandsFlagsRefused: the commands of a group share one flag set; a flag of
// the set that the command does not take (`requests list --days 3`, `consent show
// --purpose …`) is refused with exit 2 naming it, before anything is opened, instead of
// being accepted and ignored.
func TestOtherCommandsFlagsRefused(t *testing.T) {
	t.Parallel()
	for _, c := range commands {
		group := strings.Fields(c.name)[0]
		var others []string
		for name, flags := range helpFlags {
			if strings.Fields(name)[0] == group {
				others = append(others, flags...)
			}
		}
		for _, f := range others {
			if slices.Contains(helpFlags[c.name], f) {
				continue
			}
			env, data := unreachableEnv(t)
			args := append(strings.Fields(c.name), "--"+f+"=1")
			r := runCLI(t, env, args...)
			// A group whose commands have a flag set each says so in flag's words.
			named := strings.Contains(r.stderr, "takes no --"+f) || strings.Contains(r.stderr, "flag provided but not defined: -"+f)
			if r.code != exitBadInput || !named {
				t.Errorf("callscribe %s: exit %d, stderr %q; want exit %d saying it takes no --%s", strings.Join(args, " "), r.code, r.stderr, exitBadInput, f)
			}
			if entries, _ := os.ReadDir(data); len(entries) != 0 {
				t.Errorf("callscribe %s left %d entries in the data dir; want none", strings.Join(args, " "), len(entries))
			}
		}
	}
}

// TestTextNotUTF8Refused: a flag's text that is not UTF-8 is refused with exit 2 naming
// the flag, before the database is opened, and so is an email argument that is not (the
// database refused such text: exit 1 and its raw error); a file's name (--out) may be
// any bytes.
func TestTextNotUTF8Refused(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"users", "add", "--email", "x@example.ru", "--surname", "I\xffv", "--first-name", "Ivan"},
		{"users", "edit", "x@example.ru", "--surname", "\xfe"},
		{"requests", "add", "--kind", "access", "--email", "x@example.ru", "--notes", "\xff"},
		{"calls", "list", "--q", "\xff"},
	} {
		env, data := unreachableEnv(t)
		r := runCLI(t, env, args...)
		if r.code != exitBadInput || !strings.Contains(r.stderr, "is not UTF-8 text") {
			t.Errorf("callscribe %q: exit %d, stderr %q; want exit %d saying the flag is not UTF-8 text", args, r.code, r.stderr, exitBadInput)
		}
		if entries, _ := os.ReadDir(data); len(entries) != 0 {
			t.Errorf("callscribe %q left %d entries in the data dir; want none", args, len(entries))
		}
	}
	// An email given as the argument (users edit EMAIL …), with a database to ask.
	db := append(dbEnv(t), "CALLSCRIBE_DATA_DIR="+t.TempDir())
	for _, args := range [][]string{{"users", "edit", "a\xff@example.ru", "--surname", "P"}, {"users", "block", "a\xff@example.ru"}} {
		if r := runCLI(t, db, args...); r.code != exitBadInput || !strings.Contains(r.stderr, "is not UTF-8 text") {
			t.Errorf("callscribe %q: exit %d, stderr %q; want exit %d saying the email is not UTF-8 text", args, r.code, r.stderr, exitBadInput)
		}
	}
	// A file's name is not text: the export goes on to open the database (unreachable here).
	env, _ := unreachableEnv(t)
	if r := runCLI(t, env, "export", "--email", "x@example.ru", "--out", "/tmp/\xff.json"); strings.Contains(r.stderr, "UTF-8") {
		t.Errorf("export --out with a name that is not UTF-8: %q; want it taken as a file name", r.stderr)
	}
}

// TestNoInputPanics runs every command with bad or edge flags in-process: none may panic,
// and each must exit non-zero with a message. `users edit --org NAME` used to panic
// (a nil pointer: --org was visited but not an editable field).
func TestNoInputPanics(t *testing.T) {
	t.Parallel()
	env := append(dbEnv(t), "CALLSCRIBE_DATA_DIR="+t.TempDir(), "CALLSCRIBE_LEDGER_KEY="+strings.Repeat("k", 40))
	mustRun(t, env, "users", "add", "--org", "acme", "--email", "ivanova@example.ru", "--surname", "Ivanova", "--first-name", "Anna")
	id := uuid.NewString()
	long := strings.Repeat("я", 1<<15)
	lines := [][]string{
		{"bogus"}, {""}, {"-x"}, {"--version"},
		{"users"}, {"users", "bogus"}, {"users", "add"}, {"users", "add", "--email"}, {"users", "add", "--email", "@"},
		{"users", "add", "--email", "a b@example.ru"}, {"users", "add", "--email", "x@example.ru", "--org", ""},
		{"users", "add", "--email", "x@example.ru", "--name", "Ivan"},
		{"users", "add", "--email", "x@example.ru", "--name", "Ivanov Ivan", "--surname", "Petrov"},
		{"users", "add", "--email", "x@example.ru", "--phone", "call me"},
		{"users", "add", "--email", "x@example.ru", "--phone", long},
		{"users", "add", "--email", "x@example.ru", "stray"},
		{"users", "edit"}, {"users", "edit", "--org", "acme"}, {"users", "edit", "--org", "acme", "ivanova@example.ru"},
		{"users", "edit", "--org", "acme", "nobody@example.ru", "--surname", "X"},
		{"users", "edit", "--org", "nowhere", "ivanova@example.ru", "--surname", "X"},
		{"users", "edit", "--org", "acme", "ivanova@example.ru", "--phone", "call me"},
		{"users", "edit", "--org", "acme", "ivanova@example.ru", "--email", "nope"},
		{"users", "edit", "ivanova@example.ru", "other@example.ru", "--surname", "X"},
		{"users", "block"}, {"users", "block", "a@example.ru", "b@example.ru"}, {"users", "unblock", "nobody@example.ru", "--org", "acme"},
		{"consent"}, {"consent", "grant"}, {"consent", "grant", "--email", "ivanova@example.ru", "--org", "acme", "--purpose", "marketing"},
		{"consent", "grant", "--email", "ivanova@example.ru", "--org", "acme"},
		{"consent", "show", "--email", "nobody@example.ru", "--org", "nowhere"},
		{"requests"}, {"requests", "add", "--kind", "access"}, {"requests", "add", "--kind", "access", "--email", "ivanova@example.ru", "--org", "acme", "--received", "2025-13-45"},
		{"requests", "extend", "not-an-id"}, {"requests", "close", id}, {"requests", "show"}, {"requests", "start", id, id},
		{"requests", "list", "--status", "bogus"}, {"requests", "list", "--due-within", "-3d"}, {"requests", "list", "extra"},
		{"requests", "extend", id, "--reason", "x", "--days", "-1"},
		{"apikey"}, {"apikey", "create"}, {"apikey", "revoke", "x"}, {"apikey", "revoke"}, {"apikey", "list", "--org", "nowhere"}, {"apikey", "create", "--org", "acme", "extra"},
		{"webhook"}, {"webhook", "add"}, {"webhook", "add", "--org", "acme", "--url", ":::", "--country", "RU"},
		{"webhook", "add", "--org", "acme", "--url", "https://x.example.ru", "--country", "RUS"}, {"webhook", "remove", "x"},
		{"webhook", "remove", id}, {"webhook", "list", "--org", "acme", "extra"},
		{"transcript"}, {"transcript", "show"}, {"transcript", "show", "not-an-id"}, {"transcript", "show", id},
		{"transcript", "edit", id, "--segment", "-1", "--text", "x"}, {"transcript", "edit", id, "--segment", "99999999999999999999", "--text", "x"},
		{"transcript", "edit", id, "--segment", "1"}, {"transcript", "edit", id, "--segment", "1", "--text", "x"},
		{"export"}, {"export", "--email", "nobody@example.ru"}, {"export", "--email", "ivanova@example.ru", "--org", "acme", "--out", "/nonexistent/dir/export.json"},
		{"erasure"}, {"erasure", "run"}, {"erasure", "run", "--email", "nobody@example.ru", "--request", "r"}, {"erasure", "bogus"},
		{"org"}, {"org", "set"}, {"org", "set", "--org", "acme", "--retention", "forever"}, {"org", "set", "--org", "nowhere", "--retention", "30d"},
		{"org", "show", "--org", "nowhere"},
		{"retention"}, {"retention", "run", "extra"}, {"retention", "bogus"},
		{"partners"}, {"partners", "add"}, {"partners", "add", "--code", "a b", "--name", "X"}, {"partners", "add", "--code", "x"},
		{"partners", "list", "extra"}, {"partners", "bogus"},
		{"agreement"}, {"agreement", "publish"}, {"agreement", "publish", "--version", "1"}, {"agreement", "publish", "--version", "1", "/nonexistent/agreement.md"},
		{"agreement", "show"}, {"agreement", "show", "extra"},
		{"migrate", "extra"}, {"config", "extra"}, {"serve", "extra"}, {"worker"}, {"worker", "extra"},
		{"transcribe"}, {"transcribe", "/nonexistent/call.wav"}, {"transcribe", "--channels", ",,", "x.wav"},
		{"transcribe", "--raw", "s16", "--rate", "0", "x.wav"}, {"transcribe", "--owner", "nobody@example.ru", "--org", "nowhere", "x.wav"},
		{"convert"}, {"convert", "a.wav"}, {"convert", "--channel", "-5", "a.wav", "b.wav"}, {"convert", "--raw", "bogus", "a.wav", "b.wav"},
		{"convert", "/nonexistent/a.wav", filepath.Join(t.TempDir(), "b.wav")}, {"convert", "--dither-seed", "-1", "a.wav", "b.wav"},
	}
	// And every command with a flag it does not know.
	for _, c := range commands {
		lines = append(lines, append(strings.Fields(c.name), "--no-such-flag"))
	}
	for _, args := range lines {
		r, panicked := runRecovering(t, env, args...)
		if panicked != nil {
			t.Errorf("callscribe %q panicked: %v", args, panicked)
			continue
		}
		if r.code == exitOK || strings.TrimSpace(r.stderr) == "" {
			t.Errorf("callscribe %q: exit %d, stderr %q; want a non-zero exit with a message", args, r.code, r.stderr)
		}
	}
}

// runRecovering is runCLI, reporting a panic instead of dying of it.
func runRecovering(t *testing.T, env []string, args ...string) (r result, panicked any) {
	t.Helper()
	defer func() { panicked = recover() }()
	return runCLI(t, env, args...), nil
}

// TestUsersNamesAndPhones: a name is given in parts or as "Surname First [Patronymic]",
// never as one word, whose part nobody can tell; phones are checked and stored as E.164,
// on add and on edit; edit finds the user in the organization --org names.
func TestUsersNamesAndPhones(t *testing.T) {
	t.Parallel()
	env := dbEnv(t)
	db := openDB(t, env)
	ctx := callscribe.AsSystem(context.Background())
	user := func(org, email string) (callscribe.User, error) {
		t.Helper()
		id, err := db.OrganizationID(ctx, org)
		if err != nil {
			return callscribe.User{}, err
		}
		return db.UserByEmail(ctx, id, email)
	}

	mustRun(t, env, "users", "add", "--org", "acme", "--email", "ivanova@example.ru", "--name", "Ivanova Anna Petrovna", "--phone", "8 (916) 123-45-67")
	mustRun(t, env, "users", "add", "--org", "acme", "--email", "petrov@example.ru", "--surname", "Petrov", "--first-name", "Ivan")
	mustRun(t, env, "users", "add", "--org", "acme", "--email", "aliev@example.ru", "--name", "Aliev Ramil Farid ogly", "--phone", "+44 20 7946 0958")
	mustRun(t, env, "users", "add", "--org", "acme", "--email", "oleg@example.ru", "--first-name", "Oleg")
	for _, tt := range []struct {
		email, surname, first, patronymic, phone string
	}{
		{"ivanova@example.ru", "Ivanova", "Anna", "Petrovna", "+79161234567"},
		{"petrov@example.ru", "Petrov", "Ivan", "", ""},
		{"aliev@example.ru", "Aliev", "Ramil", "Farid ogly", "+442079460958"},
		{"oleg@example.ru", "", "Oleg", "", ""},
	} {
		u, err := user("acme", tt.email)
		if err != nil {
			t.Fatal(err)
		}
		if u.Surname != tt.surname || u.FirstName != tt.first || u.Patronymic != tt.patronymic || u.Phone != tt.phone {
			t.Errorf("%s stored as surname %q, first %q, patronymic %q, phone %q; want %q, %q, %q, %q",
				tt.email, u.Surname, u.FirstName, u.Patronymic, u.Phone, tt.surname, tt.first, tt.patronymic, tt.phone)
		}
	}

	for _, tt := range []struct {
		args []string
		want []string // in the message
	}{
		{[]string{"--name", "Ivan"}, []string{"--surname", "--first-name", "one word"}},
		{[]string{"--name", " Ivan  "}, []string{"--surname", "--first-name"}},
		{[]string{"--name", "Ivanov Ivan", "--patronymic", "Ivanovich"}, []string{"--name", "not both"}},
		{[]string{"--phone", "call me"}, []string{"--phone", "not a valid phone number"}},
		{[]string{"--phone", "+7 903"}, []string{"--phone"}},
		{[]string{"--phone", "12345"}, []string{"--phone"}},
	} {
		args := append([]string{"users", "add", "--org", "acme", "--email", "refused@example.ru"}, tt.args...)
		r := runCLI(t, env, args...)
		if r.code != exitBadInput {
			t.Errorf("%q: exit %d, want %d\n%s", tt.args, r.code, exitBadInput, r.stderr)
		}
		for _, w := range tt.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%q: stderr %q does not say %q", tt.args, r.stderr, w)
			}
		}
		if _, err := user("acme", "refused@example.ru"); callscribe.ErrorCode(err) != callscribe.ENOTFOUND {
			t.Errorf("%q: the user was created (%v)", tt.args, err)
		}
	}

	// users edit in another organization than local: this panicked.
	if out := mustRun(t, env, "users", "edit", "--org", "acme", "petrov@example.ru", "--patronymic", "Sergeevich", "--phone", "+7 903 123 45 67"); !strings.Contains(out, "corrected") {
		t.Errorf("users edit said %q", out)
	}
	if u, _ := user("acme", "petrov@example.ru"); u.Patronymic != "Sergeevich" || u.Phone != "+79031234567" {
		t.Errorf("after edit: patronymic %q, phone %q; want Sergeevich, +79031234567", u.Patronymic, u.Phone)
	}
	r := runCLI(t, env, "users", "edit", "--org", "acme", "petrov@example.ru", "--phone", "call me")
	if r.code != exitBadInput || !strings.Contains(r.stderr, "--phone") {
		t.Errorf("edit --phone \"call me\": exit %d, %q; want %d naming --phone", r.code, r.stderr, exitBadInput)
	}
	if u, _ := user("acme", "petrov@example.ru"); u.Phone != "+79031234567" {
		t.Errorf("a refused edit changed the phone to %q", u.Phone)
	}
}

// TestConfigCommand: `callscribe config` prints every option once with its effective
// value and where it came from; secrets are masked wherever they came from.
func TestConfigCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	os.WriteFile(keyFile, []byte("sk-file-secret\n"), 0o600)
	env := []string{"CALLSCRIBE_DATA_DIR=" + dir, "CALLSCRIBE_DATABASE_URL=postgres://app:db-password@db.internal/calls",
		"CALLSCRIBE_ASR=openai", "CALLSCRIBE_OPENAI_BASE_URL=https://asr.example.ru/v1", "CALLSCRIBE_ASR_COUNTRY=RU",
		"CALLSCRIBE_OPENAI_API_KEY_FILE=" + keyFile, "CALLSCRIBE_LEDGER_KEY=" + strings.Repeat("L", 40),
		"CALLSCRIBE_S3_ENDPOINT=minio.internal:9000", "CALLSCRIBE_S3_ACCESS_KEY=access-key-id", "CALLSCRIBE_S3_SECRET_KEY=s3-secret-value",
		"CALLSCRIBE_S3_COUNTRY=RU", "CALLSCRIBE_WORKERS=7"}
	r := runCLI(t, env, "config")
	if r.code != exitOK {
		t.Fatalf("config: exit %d\n%s", r.code, r.stderr)
	}
	for _, secret := range []string{"db-password", "sk-file-secret", "LLLLLLLL", "access-key-id", "s3-secret-value"} {
		if strings.Contains(r.stdout, secret) {
			t.Errorf("config shows the secret %q:\n%s", secret, r.stdout)
		}
	}
	for _, want := range []string{
		"CALLSCRIBE_DATABASE_URL=" + mask + "\t# environment\n",
		"CALLSCRIBE_OPENAI_API_KEY=" + mask + "\t# CALLSCRIBE_OPENAI_API_KEY_FILE\n",
		"CALLSCRIBE_WORKERS=7\t# environment\n",
		"CALLSCRIBE_ASR_MODEL=whisper-1\t# default\n",
		"CALLSCRIBE_SWEEP_EVERY=5m\t# default\n",
		"CALLSCRIBE_LEDGER_FILE=" + filepath.Join(dir, "erasure-ledger.jsonl") + "\t# default\n",
		"CALLSCRIBE_SUMMARY_MODEL=\t# unset\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("config lacks %q:\n%s", want, r.stdout)
		}
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != len(options) {
		t.Errorf("config printed %d lines; want one per option, %d", len(lines), len(options))
	}
	for i, o := range options {
		if i < len(lines) && !strings.HasPrefix(lines[i], o.name+"=") {
			t.Errorf("config line %d is %q; want %s, in the table's order", i+1, lines[i], o.name)
		}
	}
	if r := runCLI(t, append(env, "CALLSCRIBE_WORKERS=0"), "config"); r.code != exitBadInput || !strings.Contains(r.stderr, "CALLSCRIBE_WORKERS") {
		t.Errorf("config with a bad value: exit %d, %q; want %d naming the variable", r.code, r.stderr, exitBadInput)
	}
}

// TestREADMEConfigTable: README's configuration table is the options table: every
// variable, its _FILE variant, its default and its description, in the same order.
func TestREADMEConfigTable(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	want := configTable()
	if !strings.Contains(string(readme), want) {
		t.Errorf("README.md's configuration table is not the options table (config.go); it should read:\n\n%s", want)
	}
	for _, o := range options {
		if n := strings.Count(string(readme), "| `"+o.name+"`"); n != 1 {
			t.Errorf("README.md has %d rows for %s; want 1", n, o.name)
		}
	}
}

// configTable renders the options as README's Markdown table.
func configTable() string {
	var b strings.Builder
	b.WriteString("| variable | default | meaning |\n|---|---|---|\n")
	for _, o := range options {
		name := "`" + o.name + "`"
		if o.file {
			name += " (`_FILE`)"
		}
		def := o.defDoc
		switch {
		case def != "":
		case o.def != "":
			def = "`" + o.def + "`"
		default:
			def = "unset"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", name, def, o.doc)
	}
	return b.String()
}
