package webapp

import (
	"bytes"
	"callscribe"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"callscribe/oauth"
	"callscribe/privacy"
	"callscribe/web"
)

// pages are the parsed templates: each page is the layout with its own content.
type pages struct{ byName map[string]*template.Template }

func parsePages() (*pages, error) {
	funcs := template.FuncMap{
		// Filled per render with the visitor's language; here so the templates parse.
		"t":             func(string, ...any) string { return "" },
		"date":          func(time.Time) string { return "" },
		"day":           func(callscribe.Date) string { return "" },
		"providerLabel": func(string) string { return "" },
		"row":           func(d *pageData, f field) fieldRow { return fieldRow{D: d, F: f} },
		// The readers' pages (calls.go, transcript.go, desk.go, officer.go).
		"duration": duration,
		"inc":      func(i int) int { return i + 1 },
		"seq": func(n int) []int {
			out := make([]int, n)
			for i := range out {
				out[i] = i + 1
			}
			return out
		},
	}
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{byName: map[string]*template.Template{}}
	for _, n := range names {
		if path.Base(n) == "layout.html" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, err
		}
		p.byName[strings.TrimSuffix(path.Base(n), ".html")] = t
	}
	return p, nil
}

// pageData is what a template sees: the visit, the page's own data, and the form state.
type pageData struct {
	V    *visit
	Data any
	// Path and Query are the request's, for the language switch's links.
	Path, Query string
	// Errors maps a form field to its message, shown next to the field; Form the values
	// entered, shown again.
	Errors map[string]string
	Form   map[string]string
	// Flash is a message at the top of the page (key in the catalogue).
	Flash string
}

// LangURL is this page in another language: the switch's link.
func (d *pageData) LangURL(lang string) string {
	q, _ := url.ParseQuery(d.Query)
	q.Set("lang", lang)
	return d.Path + "?" + q.Encode()
}

// render writes page name with data at status, in the visitor's language.
func (s *Server) render(w http.ResponseWriter, r *http.Request, v *visit, status int, name string, data any) {
	s.renderForm(w, r, v, status, name, data, nil, nil)
}

func (s *Server) renderForm(w http.ResponseWriter, r *http.Request, v *visit, status int, name string, data any, form, errs map[string]string) {
	t, ok := s.pages.byName[name]
	if !ok {
		http.Error(w, "no page "+name, http.StatusInternalServerError)
		return
	}
	t, err := t.Clone()
	if err == nil {
		lang := v.Lang
		t = t.Funcs(template.FuncMap{
			"t":             func(key string, args ...any) string { return translate(lang, key, args...) },
			"date":          func(tm time.Time) string { return formatTime(lang, tm) },
			"day":           func(d callscribe.Date) string { return d.Local(lang) },
			"providerLabel": s.providerLabel,
		})
	}
	var buf bytes.Buffer
	if err == nil {
		err = t.ExecuteTemplate(&buf, "layout.html", &pageData{
			V: v, Data: data, Path: r.URL.Path, Query: r.URL.RawQuery, Errors: errs, Form: form,
			Flash: r.URL.Query().Get("done"),
		})
	}
	if err != nil {
		s.log.ErrorContext(r.Context(), "page failed to render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", v.Lang)
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// moscow is the time zone dates are shown in: the one business days are counted in.
var moscow = privacy.Moscow

func formatTime(lang string, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(moscow)
	day := callscribe.DateOf(t).Local(lang) // the day as Date.Local says it everywhere
	if lang == "en" {
		return day + t.Format(" 15:04 MST")
	}
	return day + t.Format(" 15:04") + " МСК"
}

// fieldRow is one field of a form with the page it is on: what the "field" template
// (layout.html) draws, its label, why it is asked, its value and its error.
type fieldRow struct {
	D *pageData
	F field
}

// Value and Error are the field's value entered or kept, and its error message.
func (r fieldRow) Value() string { return r.D.Form[r.F.Name] }
func (r fieldRow) Error() string { return r.D.Errors[r.F.Name] }

// providerLabel is how a sign-in provider is named on a button, given its Name or an
// identity's provider key ("oidc:corp" is corp): the configured provider's display name
// (oauth.DisplayName), else the name.
func (s *Server) providerLabel(name string) string {
	name = strings.TrimPrefix(name, "oidc:")
	for _, p := range s.cfg.Providers {
		if p.Name() == name {
			return oauth.DisplayName(p)
		}
	}
	return name
}

func httpStatus(err error) int { return web.HTTPStatus(err) }

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
