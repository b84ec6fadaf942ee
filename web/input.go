package web

import (
	"net/url"
	"reflect"
	"strings"
	"unicode/utf8"

	"callscribe"
)

// plainText refuses a field a client sent that no text column can hold: bytes that are
// not UTF-8, or a NUL character. Such a field used to reach PostgreSQL, which refused
// it, and the client got 500 internal for its own fault. The message names the field,
// never its value.
func plainText(field, v string) error {
	if !utf8.ValidString(v) {
		return callscribe.Errorf(callscribe.EINVALID, "%s is not UTF-8 text", field)
	}
	if strings.IndexByte(v, 0) >= 0 {
		return callscribe.Errorf(callscribe.EINVALID, "%s holds a NUL character", field)
	}
	return nil
}

// plainQuery checks the request's query string: well formed (a malformed one was read
// as if its broken pairs were not there), and every name and value plain text.
func plainQuery(rawQuery string) error {
	vs, err := url.ParseQuery(rawQuery)
	if err != nil {
		return callscribe.Errorf(callscribe.EINVALID, "the query string is malformed (a %% not followed by two hex digits, or a ; separator)")
	}
	return plainValues("query parameter", vs)
}

// plainValues checks every name and value of form or query fields.
func plainValues(what string, vs url.Values) error {
	for name, values := range vs {
		if err := plainText("a "+what+"'s name", name); err != nil {
			return err
		}
		for _, v := range values {
			if err := plainText(safeName(what, name), v); err != nil {
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

// plainJSON checks every string a decoded JSON body holds, at any depth.
func plainJSON(v any) error {
	return plainStrings(reflect.ValueOf(v), "the body")
}

func plainStrings(v reflect.Value, where string) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return plainStrings(v.Elem(), where)
		}
	case reflect.String:
		return plainText("a string of "+where, v.String())
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				if err := plainStrings(v.Field(i), where); err != nil {
					return err
				}
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if err := plainStrings(v.Index(i), where); err != nil {
				return err
			}
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			if err := plainStrings(it.Key(), where); err != nil {
				return err
			}
			if err := plainStrings(it.Value(), where); err != nil {
				return err
			}
		}
	}
	return nil
}
