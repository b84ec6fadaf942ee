package pgtest

import "testing"

func TestWithDatabase(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"postgres://postgres@/postgres?host=%2Ftmp%2Fs&port=5432", "postgres://postgres@/x?host=%2Ftmp%2Fs&port=5432"},
		{"postgresql://u:p@h:5433/db?dbname=other&sslmode=disable", "postgresql://u:p@h:5433/x?sslmode=disable"},
		{"postgres://h", "postgres://h/x"},
		{"host=/tmp/s user=postgres dbname=postgres", "host=/tmp/s user=postgres dbname=postgres dbname=x"},
	} {
		if got := withDatabase(tc.in, "x"); got != tc.want {
			t.Errorf("withDatabase(%q, \"x\"):\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}
