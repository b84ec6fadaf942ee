package webapp

import (
	"bufio"
	_ "embed"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"callscribe/accounts"
)

// messages.tsv is the web app's one message catalogue: a line per message, its key, the
// Russian text and the English text separated by tabs. Every string a page shows comes from
// it; TestCatalogue checks that each key has both texts and that every key a template or
// handler uses exists.
//
//go:embed messages.tsv
var messagesTSV string

// languages are the languages of the catalogue, the first the default.
var languages = []string{"ru", "en"}

// catalogue maps a language to its messages by key.
var catalogue = mustCatalogue(messagesTSV)

func mustCatalogue(tsv string) map[string]map[string]string {
	c, err := parseCatalogue(tsv)
	if err != nil {
		panic(err) // the embedded file is checked by TestCatalogue; this cannot happen in a build that passed it
	}
	return c
}

func parseCatalogue(tsv string) (map[string]map[string]string, error) {
	c := map[string]map[string]string{}
	for _, l := range languages {
		c[l] = map[string]string{}
	}
	sc := bufio.NewScanner(strings.NewReader(tsv))
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 1+len(languages) {
			return nil, fmt.Errorf("messages.tsv:%d: %d fields, want a key and %d texts", n, len(f), len(languages))
		}
		for i, l := range languages {
			if _, dup := c[l][f[0]]; dup {
				return nil, fmt.Errorf("messages.tsv:%d: key %q twice", n, f[0])
			}
			if strings.TrimSpace(f[i+1]) == "" {
				return nil, fmt.Errorf("messages.tsv:%d: key %q has no %s text", n, f[0], l)
			}
			c[l][f[0]] = strings.ReplaceAll(f[i+1], `\n`, "\n")
		}
	}
	return c, sc.Err()
}

// translate returns the message key in lang, formatted with args; a missing key shows
// itself (TestCatalogue keeps that from shipping).
func translate(lang, key string, args ...any) string {
	m, ok := catalogue[lang][key]
	if !ok {
		m, ok = catalogue[languages[0]][key]
	}
	if !ok {
		return key
	}
	if len(args) > 0 {
		return fmt.Sprintf(m, args...)
	}
	return m
}

// language picks the visitor's language: the account's, else ?lang= (the switch on every
// page), else the first of ours in Accept-Language, else Russian.
func (s *Server) language(r *http.Request, a *accounts.Account) string {
	if a != nil && known(a.Language) {
		return a.Language
	}
	if l := r.URL.Query().Get("lang"); known(l) {
		return l
	}
	if r.Method == http.MethodPost {
		if l := r.PostFormValue("lang"); known(l) {
			return l
		}
	}
	return fromAcceptLanguage(r.Header.Get("Accept-Language"))
}

func known(l string) bool {
	for _, k := range languages {
		if l == k {
			return true
		}
	}
	return false
}

// fromAcceptLanguage returns the one of our languages the header weighs highest.
func fromAcceptLanguage(h string) string {
	best, bestQ := languages[0], -1.0
	for _, part := range strings.Split(h, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if known(base) && q > bestQ {
			best, bestQ = base, q
		}
	}
	return best
}
