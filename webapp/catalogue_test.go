package webapp

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"callscribe"
)

// TestCatalogue: the catalogue parses with a Russian and an English text for every key,
// each pair with the same format verbs; and every key the web app can show exists: each
// `t "key"` of the templates, each key a template builds (field.*, why.*, role.*,
// error.*, done.*, problem.*), each key literal in the handlers, and err.KEY for every
// field error key the accounts service can produce (read from its source).
func TestCatalogue(t *testing.T) {
	t.Parallel()
	c, err := parseCatalogue(messagesTSV)
	if err != nil {
		t.Fatal(err)
	}
	verbs := regexp.MustCompile(`%[a-z%]`)
	for key, ru := range c["ru"] {
		if got, want := verbs.FindAllString(c["en"][key], -1), verbs.FindAllString(ru, -1); strings.Join(got, "") != strings.Join(want, "") {
			t.Errorf("%s: English verbs %v, Russian %v", key, got, want)
		}
	}
	need := map[string]string{} // key: where it is used
	want := func(key, where string) {
		if _, ok := need[key]; !ok {
			need[key] = where
		}
	}

	// The templates' literal keys.
	lit := regexp.MustCompile(`\bt "([^"]+)"`)
	err = fs.WalkDir(templateFS, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(templateFS, path)
		if err != nil {
			return err
		}
		for _, m := range lit.FindAllStringSubmatch(string(b), -1) {
			want(m[1], path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// The keys templates build from data.
	for _, fields := range [][]field{registrationFields, profileFields, companyFields} {
		for _, f := range fields {
			want("field."+f.Name, "a form's field label")
			want("why."+f.Name, "a form's field explanation")
		}
	}
	for _, r := range roles {
		want("role."+string(r), "role names")
	}
	for _, code := range []string{callscribe.EINVALID, callscribe.EUNAUTHORIZED, callscribe.ENOCONSENT, callscribe.EBLOCKED,
		callscribe.ENOTFOUND, callscribe.ECONFLICT, callscribe.ETOOLARGE, callscribe.EUNREADABLE, callscribe.EUNFETCHABLE,
		callscribe.EUNAVAILABLE, callscribe.ETIMEOUT, callscribe.EFORBIDDEN, callscribe.ETHROTTLED, callscribe.EINTERNAL} {
		want("error."+strconv.Itoa(httpStatus(callscribe.Errorf(code, "x"))), "error page of "+code)
	}
	for _, k := range callscribe.NoticeKinds {
		want("notice.kind."+string(k), "the profile's notices form")
	}
	for _, c := range callscribe.NoticeChannels {
		want("notice.channel."+string(c), "the profile's notices form")
	}
	for p := range problems {
		want("problem."+p, "profile problems")
	}
	for p := range orgProblems {
		want("problem."+p, "organization problems")
	}
	for _, k := range actorKinds {
		want("actor."+k, "actors in the audit trail and histories")
	}
	for _, k := range []string{"user", "organization"} {
		want("desk.object."+k, "the desk's audit trail")
	}
	for _, k := range []string{"text", "speaker"} {
		want("transcript.field."+k, "the transcript's history of corrections")
	}

	// The handlers: ?done= values and key literals.
	done := regexp.MustCompile(`done=([a-z_]+)`)
	keyLit := regexp.MustCompile(`"((?:[a-z]+)(?:\.[a-z0-9_]+)+)"`)
	namespaces := map[string]bool{}
	for key := range c["ru"] {
		namespaces[strings.SplitN(key, ".", 2)[0]] = true
	}
	goFiles, _ := filepath.Glob("*.go")
	for _, name := range goFiles {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range done.FindAllStringSubmatch(string(b), -1) {
			want("done."+m[1], name)
		}
		for _, m := range keyLit.FindAllStringSubmatch(string(b), -1) {
			if ns := strings.SplitN(m[1], ".", 2)[0]; namespaces[ns] && !strings.Contains(m[1], ".html") && !strings.Contains(m[1], ".tsv") {
				want(m[1], name)
			}
		}
	}

	// The accounts service's field error keys.
	errKeys := accountsErrorKeys(t)
	if len(errKeys) < 10 {
		t.Fatalf("found only %d field error keys in the accounts package: %v", len(errKeys), errKeys)
	}
	for _, k := range errKeys {
		want("err."+k, "accounts field errors")
	}

	keys := make([]string, 0, len(need))
	for k := range need {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, lang := range languages {
			if _, ok := c[lang][k]; !ok {
				t.Errorf("key %q (%s) has no %s text", k, need[k], lang)
			}
		}
	}
}

// accountsErrorKeys reads the accounts package's source for the message keys its
// FieldErrors carry: values assigned to an index of a FieldErrors, values of FieldErrors
// literals, and what its checkPassword and validEmail return.
func accountsErrorKeys(t *testing.T) []string {
	t.Helper()
	fset := token.NewFileSet()
	dir := filepath.Join("..", "accounts")
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	str := func(e ast.Expr) {
		if bl, ok := e.(*ast.BasicLit); ok && bl.Kind == token.STRING {
			if s, err := strconv.Unquote(bl.Value); err == nil && s != "" {
				set[s] = true
			}
		}
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.AssignStmt:
				for i, l := range n.Lhs {
					if ix, ok := l.(*ast.IndexExpr); ok && i < len(n.Rhs) {
						if id, ok := ix.X.(*ast.Ident); ok && (id.Name == "f" || id.Name == "fe") {
							str(n.Rhs[i])
						}
					}
				}
			case *ast.CompositeLit:
				if id, ok := n.Type.(*ast.Ident); ok && id.Name == "FieldErrors" {
					for _, e := range n.Elts {
						if kv, ok := e.(*ast.KeyValueExpr); ok {
							str(kv.Value)
						}
					}
				}
			case *ast.FuncDecl:
				if n.Name.Name == "checkPassword" || n.Name.Name == "validEmail" {
					ast.Inspect(n.Body, func(m ast.Node) bool {
						if r, ok := m.(*ast.ReturnStmt); ok {
							for _, e := range r.Results {
								str(e)
							}
						}
						return true
					})
				}
			}
			return true
		})
	}
	var out []string
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
