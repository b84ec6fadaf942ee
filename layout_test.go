package callscribe_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestREADMELayoutNamesEveryPackage: the README's layout (the section "Layout", near the
// top) names every folder that holds a package, in backquotes: the root package by
// `callscribe`, the others by their path (`storage/postgres`), the benchmark programs
// under scripts by their name.
func TestREADMELayoutNamesEveryPackage(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	start := strings.Index(readme, "\n## Layout\n")
	if start < 0 {
		t.Fatal("README.md has no section ## Layout")
	}
	if n := strings.Count(readme[:start], "\n## "); n > 3 {
		t.Errorf("the layout is section %d of the README; want it near the top (among the first four)", n+1)
	}
	layout := readme[start+1:]
	if end := strings.Index(layout[3:], "\n## "); end >= 0 {
		layout = layout[:end+3]
	}
	seen := map[string]bool{}
	err = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		name := dir
		switch {
		case dir == ".":
			name = "callscribe"
		case strings.HasPrefix(dir, "scripts/"):
			name = filepath.Base(dir)
		}
		if !seen[dir] && !strings.Contains(layout, "`"+name+"`") {
			t.Errorf("README's layout does not name %s (the package in %s/)", "`"+name+"`", dir)
		}
		seen[dir] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
