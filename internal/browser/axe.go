package browser

import (
	"context"

	_ "embed"
	"encoding/json"
	"fmt"
	"github.com/chromedp/chromedp"
	"strings"
)

// axeSource is axe-core 4.10.2 (npm: axe-core, MPL-2.0, axe/LICENSE), vendored so the
// accessibility check needs no network: the page loads nothing from another host, and
// neither does its test.
//
//go:embed axe/axe.min.js
var axeSource string

// AxeViolation is one rule axe-core found broken on the page, and where.
type AxeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any  `json:"target"`
		HTML   string `json:"html"`
	} `json:"nodes"`
}

// axeRules are the rule sets checked: WCAG 2.1 A and AA (contrast among them) and
// axe's best practices.
const axeRun = `(async () => {
  const r = await axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}, resultTypes: ["violations"]});
  return JSON.stringify(r.violations);
})()`

// Axe runs axe-core on the page as it is now and returns the rules it breaks. The script
// is injected through the DevTools protocol, so the page's Content-Security-Policy (no
// inline script) is not loosened for the test.
func (b *Tab) Axe() []AxeViolation {
	b.t.Helper()
	if _, err := Eval[any](b, axeSource+";0"); err != nil {
		b.t.Fatalf("inject axe-core: %v (on %s)", err, b.Location())
	}
	out, err := EvalAwait[string](b, axeRun)
	if err != nil {
		b.t.Fatalf("run axe-core: %v (on %s)", err, b.Location())
	}
	var v []AxeViolation
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		b.t.Fatalf("axe-core's answer: %v", err)
	}
	return v
}

// CheckAxe fails the test for each violation axe-core finds on the page, naming the
// rule and the elements, and saves a screenshot when there is one.
func (b *Tab) CheckAxe(page string) {
	b.t.Helper()
	v := b.Axe()
	if len(v) == 0 {
		return
	}
	var lines []string
	for _, x := range v {
		var where []string
		for i, n := range x.Nodes {
			if i == 3 {
				where = append(where, fmt.Sprintf("… %d more", len(x.Nodes)-3))
				break
			}
			where = append(where, fmt.Sprint(n.Target))
		}
		lines = append(lines, fmt.Sprintf("%s (%s): %s at %s", x.ID, x.Impact, x.Help, strings.Join(where, ", ")))
	}
	b.Screenshot("axe-" + page)
	b.t.Errorf("accessibility check of %s (%s): %d rules broken:\n%s", page, b.Location(), len(v), strings.Join(lines, "\n"))
}

// EvalAwait evaluates a JavaScript expression whose value is a promise, and waits for it.
func EvalAwait[T any](b *Tab, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, Timeout)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}
