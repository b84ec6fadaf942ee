package callscribe_test

import (
	"testing"

	"callscribe"
)

// TestSnippetHTML: a snippet's text is escaped, whatever it holds, and only the marks
// become markup; a mark left open by a cut is closed.
func TestSnippetHTML(t *testing.T) {
	t.Parallel()
	m, e := callscribe.MarkStart, callscribe.MarkEnd
	for _, c := range []struct{ in, want, text string }{
		{`a <script>alert('x')</script> ` + m + `refund` + e + ` "now" & go`,
			`a &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; <mark>refund</mark> &#34;now&#34; &amp; go`,
			`a <script>alert('x')</script> refund "now" & go`},
		{m + `<b>` + e + ` and ` + m + `договор`, `<mark>&lt;b&gt;</mark> and <mark>договор</mark>`, `<b> and договор`},
		{`plain`, `plain`, `plain`},
	} {
		s := callscribe.Snippet(c.in)
		if got := string(s.HTML()); got != c.want {
			t.Errorf("Snippet(%q).HTML() = %q, want %q", c.in, got, c.want)
		}
		if got := s.Text(); got != c.text {
			t.Errorf("Snippet(%q).Text() = %q, want %q", c.in, got, c.text)
		}
	}
}
