package callscribe_test

import (
	"strings"
	"testing"

	"callscribe"
)

func TestNormalizePhone(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in, want string // want "": refused
	}{
		{"+79031234567", "+79031234567"},
		{"+7 903 123-45-67", "+79031234567"},
		{"8 (903) 123-45-67", "+79031234567"}, // the Russian trunk prefix
		{"89031234567", "+79031234567"},
		{"903 123 45 67", "+79031234567"}, // no country code: Russian
		{"  +7 (495) 123-45-67 ", "+74951234567"},
		{"+79161234567", "+79161234567"},
		{"+79990000000", "+79990000000"},
		{"+79035550101", "+79035550101"},
		{"+44 20 7946 0958", "+442079460958"},
		{"+49 30 901820", "+4930901820"},
		{"call me", ""},
		{"", ""},
		{"   ", ""},
		{"+7", ""},
		{"12345", ""},
		{"+7 903 123-45-67-89-00", ""},
		{"+999 123 456", ""}, // no such country code
		{"+79031234567; DROP TABLE users", ""},
		{strings.Repeat("9", 300), ""},
		{"\xff\xfe", ""},
	} {
		got, err := callscribe.NormalizePhone(tt.in)
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("NormalizePhone(%q) = %q; want it refused", tt.in, got)
		case tt.want == "" && callscribe.ErrorCode(err) != callscribe.EINVALID:
			t.Errorf("NormalizePhone(%q): error %v is not EINVALID", tt.in, err)
		case tt.want == "" && len(strings.TrimSpace(tt.in)) >= 5 && strings.Contains(err.Error(), strings.TrimSpace(tt.in)):
			t.Errorf("NormalizePhone(%q): the error %q repeats the number", tt.in, err)
		case tt.want != "" && (err != nil || got != tt.want):
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
