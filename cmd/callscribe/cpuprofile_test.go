package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCPUProfile: off unless CALLSCRIBE_CPU_PROFILE names a file; a file that cannot be
// written is an error naming the variable; a profile is written by the time stop returns.
func TestCPUProfile(t *testing.T) {
	t.Parallel()
	stop, err := startCPUProfile("")
	if err != nil {
		t.Fatalf("empty path: %v; want off, no error", err)
	}
	stop()

	_, err = startCPUProfile(filepath.Join(t.TempDir(), "missing", "cpu.pprof"))
	if err == nil || !strings.Contains(err.Error(), "CALLSCRIBE_CPU_PROFILE") {
		t.Errorf("unwritable path: %v; want an error naming CALLSCRIBE_CPU_PROFILE", err)
	}

	path := filepath.Join(t.TempDir(), "cpu.pprof")
	stop, err = startCPUProfile(path)
	if err != nil {
		t.Fatal(err)
	}
	stop()
	fi, err := os.Stat(path)
	if err != nil || fi.Size() == 0 {
		t.Errorf("profile after stop: %v, %v; want a non-empty file", fi, err)
	}
}
