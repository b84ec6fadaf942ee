package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPartnersAndAgreementCommands: partners add and list (the report), agreement
// publish and show, and the refusals of a second partner code or version.
func TestPartnersAndAgreementCommands(t *testing.T) {
	t.Parallel()
	env := dbEnv(t)
	if out := mustRun(t, env, "partners", "add", "--code", "bank-7", "--name", "Bank Seven"); !strings.Contains(out, "/r/bank-7") {
		t.Errorf("partners add: %q", out)
	}
	if r := runCLI(t, env, "partners", "add", "--code", "bank-7", "--name", "Again"); r.code == exitOK || !strings.Contains(r.stderr, "exists") {
		t.Errorf("a partner code twice: exit %d, %q", r.code, r.stderr)
	}
	out := mustRun(t, env, "partners", "list")
	if !strings.Contains(out, "bank-7\t0\t0\tBank Seven") {
		t.Errorf("partners list:\n%s", out)
	}
	file := filepath.Join(t.TempDir(), "agreement.md")
	if err := os.WriteFile(file, []byte("# User agreement\n\nVersion two.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, env, "agreement", "show"); r.code != exitNotFound {
		t.Errorf("agreement show before any: exit %d, %q", r.code, r.stderr)
	}
	if out := mustRun(t, env, "agreement", "publish", "--version", "2", file); !strings.Contains(out, "version 2 published") {
		t.Errorf("agreement publish: %q", out)
	}
	if r := runCLI(t, env, "agreement", "publish", "--version", "2", file); r.code == exitOK {
		t.Error("publishing a version twice succeeded")
	}
	if out := mustRun(t, env, "agreement", "show"); !strings.HasPrefix(out, "version 2, in force from ") || !strings.Contains(out, "Version two.") {
		t.Errorf("agreement show:\n%s", out)
	}
}
