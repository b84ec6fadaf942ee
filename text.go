package callscribe

import (
	"net/url"
	"strings"
	"unicode/utf8"
)

// PlainText refuses a field a client sent that no text column can hold: bytes that are
// not UTF-8, or a NUL character. Such a field used to reach PostgreSQL, which refused
// it, and the client got 500 internal for its own fault. The message names the field,
// never its value.
func PlainText(field, v string) error {
	if !utf8.ValidString(v) {
		return Errorf(EINVALID, "%s is not UTF-8 text", field)
	}
	if strings.IndexByte(v, 0) >= 0 {
		return Errorf(EINVALID, "%s holds a NUL character", field)
	}
	return nil
}

// PlainValues checks every name and value of form or query fields.
func PlainValues(what string, vs url.Values) error {
	for name, values := range vs {
		if err := PlainText("a "+what+"'s name", name); err != nil {
			return err
		}
		for _, v := range values {
			if err := PlainText(safeName(what, name), v); err != nil {
				return err
			}
		}
	}
	return nil
}

// safeName names a field for a message: its name when that is plain and short.
func safeName(what, name string) string {
	if len(name) > 40 || strings.ContainsFunc(name, func(r rune) bool { return r < ' ' }) {
		return "a " + what
	}
	return what + " " + name
}
