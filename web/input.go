package web

import (
	"net/url"
	"reflect"

	"callscribe"
)

// plainQuery checks the request's query string: well formed (a malformed one was read
// as if its broken pairs were not there), and every name and value plain text.
func plainQuery(rawQuery string) error {
	vs, err := url.ParseQuery(rawQuery)
	if err != nil {
		return callscribe.Errorf(callscribe.EINVALID, "the query string is malformed (a %% not followed by two hex digits, or a ; separator)")
	}
	return callscribe.PlainValues("query parameter", vs)
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
		return callscribe.PlainText("a string of "+where, v.String())
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
