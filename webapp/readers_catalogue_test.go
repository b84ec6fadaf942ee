package webapp

import (
	"io/fs"
	"os"
	"regexp"
	"strings"
	"testing"

	"callscribe"
	"callscribe/redact"
)

// TestReadersCatalogue: every message key the readers' pages use, in their templates
// and their code, and every key they build from a value (a status, a kind, a purpose),
// has its Russian and its English text.
func TestReadersCatalogue(t *testing.T) {
	t.Parallel()
	keys := map[string]bool{}
	tmpl := regexp.MustCompile(`t "([a-z_.0-9]+)"`)
	for _, name := range []string{"calls", "transcript", "desk", "export", "officer", "officer_request", "chart"} {
		b, err := fs.ReadFile(templateFS, "templates/"+name+".html")
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range tmpl.FindAllStringSubmatch(string(b), -1) {
			if !strings.HasSuffix(m[1], ".") { // a prefix completed from a value, below
				keys[m[1]] = true
			}
		}
	}
	code := regexp.MustCompile(`translate\([a-zA-Z.]+, "([a-z_.0-9]+)"`)
	flash := regexp.MustCompile(`done = "([a-z_]+)"`)
	for _, name := range []string{"calls.go", "chart.go", "transcript.go", "desk.go", "officer.go"} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range code.FindAllStringSubmatch(string(b), -1) {
			if !strings.HasSuffix(m[1], ".") { // role.<role>: the accounts pages' keys
				keys[m[1]] = true
			}
		}
		for _, m := range flash.FindAllStringSubmatch(string(b), -1) {
			keys["done."+m[1]] = true
		}
	}
	for _, k := range []string{"calls.nav", "desk.nav", "officer.nav", "done.desk_request_filed",
		"calls.error.q_long", "calls.error.phone", "calls.error.status", "calls.error.date", "calls.error.owner", "calls.error.cursor"} {
		keys[k] = true
	}
	for _, s := range callscribe.PublicStatuses {
		keys["calls.status."+s] = true
	}
	for _, f := range []string{"txt", "srt", "vtt", "json", "docx"} {
		keys["transcript.format."+f] = true
	}
	for _, typ := range redact.Types {
		keys["transcript.redaction."+string(typ)] = true
	}
	for _, p := range callscribe.Purposes {
		keys["desk.purpose."+string(p)] = true
	}
	for _, a := range []callscribe.ConsentAction{callscribe.ConsentGrant, callscribe.ConsentWithdraw} {
		keys["desk.event."+string(a)] = true
	}
	for _, k := range callscribe.RequestKinds {
		keys["desk.kind."+string(k)] = true
	}
	for _, s := range []string{"received", "in_progress", "completed", "rejected"} {
		keys["desk.status."+s] = true
		keys["officer.status."+s] = true
	}
	keys["officer.status.open"], keys["officer.status.all"] = true, true
	for _, e := range []string{"received", "started", "extended", "completed", "rejected"} {
		keys["officer.event."+e] = true
	}
	for k := range keys {
		for _, lang := range languages {
			if _, ok := catalogue[lang][k]; !ok {
				t.Errorf("messages.tsv has no %s text for %q", lang, k)
			}
		}
	}
	if len(keys) < 150 {
		t.Errorf("found only %d keys: the patterns no longer match the sources", len(keys))
	}
}
