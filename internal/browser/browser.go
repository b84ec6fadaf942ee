// Package browser drives a real headless Chromium for the page tests: Debian's
// chromium-headless-shell (scripts/deps.sh installs it), through chromedp. One browser
// serves a test binary; each test gets its own browser context, so its cookies are its own
// and tests run in parallel.
package browser

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// candidates are the browsers tried, in order; CALLSCRIBE_CHROMIUM names another.
var candidates = []string{"chromium-headless-shell", "chromium", "chromium-browser", "google-chrome"}

var shared struct {
	once sync.Once
	ctx  context.Context
	err  error
}

// start launches the one browser of this test binary. It lives until the binary exits:
// the kernel kills it then (chromedp starts it with Pdeathsig).
func start() (context.Context, error) {
	shared.once.Do(func() {
		path := os.Getenv("CALLSCRIBE_CHROMIUM")
		for _, c := range candidates {
			if path != "" {
				break
			}
			if p, err := exec.LookPath(c); err == nil {
				path = p
			}
		}
		if path == "" {
			shared.err = errors.New("no headless Chromium found (install chromium-headless-shell: scripts/deps.sh)")
			return
		}
		opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.WindowSize(1280, 900))
		actx, _ := chromedp.NewExecAllocator(context.Background(), opts...)
		bctx, _ := chromedp.NewContext(actx)
		if err := chromedp.Do(bctx); err != nil {
			shared.err = fmt.Errorf("start %s: %w", path, err)
			return
		}
		shared.ctx = bctx
	})
	return shared.ctx, shared.err
}

// Tab is one test's page, in a browser context of its own.
type Tab struct {
	t   testing.TB
	ctx context.Context
	// Base is prepended to paths given to Go.
	Base string
}

// Timeout bounds each step of a test in the browser.
const Timeout = 30 * time.Second

// New opens a tab in a fresh browser context (no cookies, no storage) for t; base is the
// site's address. The context is disposed of when t ends.
func New(t testing.TB, base string) *Tab {
	t.Helper()
	bctx, err := start()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	return &Tab{t: t, ctx: ctx, Base: strings.TrimRight(base, "/")}
}

// Context is the tab's chromedp context, for actions the Tab has no method for.
func (b *Tab) Context() context.Context { return b.ctx }

func (b *Tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, Timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.Screenshot("failed")
		b.t.Fatalf("%s: %v (on %s)", what, err, b.Location())
	}
}

// Go opens path (or a whole URL) and waits for the page.
func (b *Tab) Go(path string) {
	b.t.Helper()
	url := path
	if strings.HasPrefix(path, "/") {
		url = b.Base + path
	}
	b.do("open "+url, chromedp.Navigate(url))
}

// Fill types value into the field sel (CSS), after clearing it.
func (b *Tab) Fill(sel, value string) {
	b.t.Helper()
	b.do("fill "+sel, chromedp.Clear(chromedp.CSS(sel)), chromedp.SendKeys(chromedp.CSS(sel), value))
}

// Submit clicks sel (a button or link) and waits until the next page has loaded.
func (b *Tab) Submit(sel string) {
	b.t.Helper()
	b.do("mark the page", chromedp.Evaluate[chromedp.Void](`window.__old = true`))
	b.do("click "+sel, chromedp.Click(chromedp.CSS(sel)))
	b.WaitNewPage()
}

// Press sends keys (chromedp's kb names, e.g. "\r" for Enter, "\t" for Tab) to the page.
func (b *Tab) Press(keys string) {
	b.t.Helper()
	b.do("press keys", chromedp.KeyEvent(keys))
}

// WaitNewPage waits until a page loaded after the one Submit marked. It asks the page
// again and again: while the old page unloads and the new one loads, the question may
// find no page to ask, which is no answer yet.
func (b *Tab) WaitNewPage() {
	b.t.Helper()
	deadline := time.Now().Add(Timeout)
	var last error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
		done, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!window.__old && document.readyState === "complete"`))
		cancel()
		if err == nil && done {
			return
		}
		last = err
		time.Sleep(20 * time.Millisecond)
	}
	b.Screenshot("failed")
	b.t.Fatalf("wait for the next page: %v (on %s)", last, b.Location())
}

// Text is the visible text of the first element matching sel.
func (b *Tab) Text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, Timeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.Screenshot("failed")
		b.t.Fatalf("text of %s: %v (on %s)", sel, err, b.Location())
	}
	return s
}

// Has says whether an element matches sel now.
func (b *Tab) Has(sel string) bool {
	b.t.Helper()
	n, err := Eval[int](b, fmt.Sprintf(`document.querySelectorAll(%q).length`, sel))
	return err == nil && n > 0
}

// Eval evaluates a JavaScript expression in the page.
func Eval[T any](b *Tab, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, Timeout)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr))
}

// Location is the page's URL.
func (b *Tab) Location() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	l, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "(unknown: " + err.Error() + ")"
	}
	return l
}

// Path is the page's URL without the site's address.
func (b *Tab) Path() string { return strings.TrimPrefix(b.Location(), b.Base) }

// Cookies are the browser context's cookies for the site.
func (b *Tab) Cookies() []*network.Cookie {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, Timeout)
	defer cancel()
	c, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{b.Base}})
	if err != nil {
		b.t.Fatalf("read cookies: %v", err)
	}
	return c.Cookies
}

// Screenshot saves the whole page as name.png in the test's artifact directory (kept
// with `go test -artifacts`; under the test's temporary directory otherwise) and returns
// its path. The page is scrolled to its top first: a whole page taken while scrolled
// down draws a sticky element (the flash) where the viewport was, over other content.
func (b *Tab) Screenshot(name string) string {
	ctx, cancel := context.WithTimeout(b.ctx, Timeout)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`)); err != nil {
		b.t.Logf("screenshot %s: scroll to the top: %v", name, err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG (less is JPEG)
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	dir := artifactDir(b.t)
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	return p
}

func artifactDir(t testing.TB) string {
	if a, ok := t.(interface{ ArtifactDir() string }); ok {
		return a.ArtifactDir()
	}
	return t.TempDir()
}
