package safehttp

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestWhy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ip      string
		blocked bool
	}{
		{"127.0.0.1", true},
		{"127.8.9.10", true},
		{"10.1.2.3", true},
		{"172.16.0.1", true},
		{"172.31.255.255", true},
		{"172.32.0.1", false},
		{"192.168.1.1", true},
		{"169.254.169.254", true}, // cloud metadata
		{"100.64.0.1", true},
		{"100.128.0.1", false},
		{"0.0.0.0", true},
		{"224.0.0.1", true},
		{"255.255.255.255", true},
		{"::1", true},
		{"::", true},
		{"fd00::1", true},
		{"fc00::1", true},
		{"fe80::1", true},
		{"fe80::1%eth0", true}, // a zone must not hide the range
		{"ff02::1", true},
		{"::ffff:127.0.0.1", true},   // IPv4-mapped loopback
		{"::ffff:10.0.0.1", true},    // IPv4-mapped private
		{"64:ff9b::a9fe:a9fe", true}, // NAT64 of 169.254.169.254
		{"2002:0a00:0001::1", true},  // 6to4 of 10.0.0.1
		{"2002:5db8:d822::1", false}, // 6to4 of a public address
		{"93.184.216.34", false},
		{"77.88.55.242", false},
		{"2a02:6b8::2:242", false},
		{"::ffff:77.88.55.242", false},
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			got := Why(netip.MustParseAddr(tt.ip))
			if (got != "") != tt.blocked {
				t.Errorf("Why(%s) = %q, want blocked=%v", tt.ip, got, tt.blocked)
			}
		})
	}
}

func TestParsePolicy(t *testing.T) {
	t.Parallel()
	p, err := ParsePolicy("X_ALLOW", " minio.internal , 10.20.0.0/16,127.0.0.1, [::1],Files.Example.RU.")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		host, ip string
		ok       bool
	}{
		{"minio.internal", "10.9.9.9", true},
		{"other.internal", "10.9.9.9", false},
		{"x", "10.20.3.4", true},
		{"x", "10.21.3.4", false},
		{"x", "127.0.0.1", true},
		{"x", "127.0.0.2", false},
		{"x", "::1", true},
		{"files.example.ru", "192.168.0.1", true},
		{"x", "::ffff:127.0.0.1", true},
	} {
		err := p.Check(c.host, netip.MustParseAddr(c.ip))
		if (err == nil) != c.ok {
			t.Errorf("Check(%s, %s) = %v, want allowed=%v", c.host, c.ip, err, c.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "X_ALLOW") {
			t.Errorf("refusal %q does not name the setting", err)
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "http://x", "user@host"} {
		if _, err := ParsePolicy("X_ALLOW", bad); err == nil || !strings.Contains(err.Error(), "X_ALLOW") {
			t.Errorf("ParsePolicy(%q) = %v, want an error naming X_ALLOW", bad, err)
		}
	}
}

func get(t *testing.T, c *http.Client, url string) (string, error) {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), "GET", url, nil)
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), nil
}

func TestClientChecksAtDial(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "inside") }))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]

	none, _ := ParsePolicy("X_ALLOW", "")
	for _, url := range []string{srv.URL, "http://localhost" + port} {
		_, err := get(t, NewClient(none, Options{}), url)
		if _, ok := Refused(err); !ok {
			t.Errorf("GET %s without an allow list: err = %v, want a refusal", url, err)
		}
	}
	byCIDR, _ := ParsePolicy("X_ALLOW", "127.0.0.0/8")
	if body, err := get(t, NewClient(byCIDR, Options{}), srv.URL); err != nil || body != "inside" {
		t.Errorf("allow-listed by range: %q, %v", body, err)
	}
	byName, _ := ParsePolicy("X_ALLOW", "localhost")
	if body, err := get(t, NewClient(byName, Options{}), "http://localhost"+port); err != nil || body != "inside" {
		t.Errorf("allow-listed by name: %q, %v", body, err)
	}
	// Allowing the name does not allow the address under another name.
	if _, err := get(t, NewClient(byName, Options{}), srv.URL); err == nil {
		t.Errorf("127.0.0.1 reached although only the name localhost is allow-listed")
	}
}

func TestRedirects(t *testing.T) {
	t.Parallel()
	inside := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "secret") }))
	defer inside.Close()
	hops := 0
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/inside":
			http.Redirect(w, r, inside.URL, http.StatusFound)
		case "/loop":
			hops++
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/file":
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
		default:
			io.WriteString(w, "front")
		}
	}))
	defer front.Close()
	frontPort := front.URL[strings.LastIndex(front.URL, ":"):]
	// The front server is reached by name; the inside one only by address, which is not allowed.
	p, _ := ParsePolicy("X_ALLOW", "localhost")
	c := NewClient(p, Options{})
	if _, err := get(t, c, "http://localhost"+frontPort+"/inside"); err == nil {
		t.Fatal("redirect to a loopback address was followed")
	} else if _, ok := Refused(err); !ok {
		t.Errorf("redirect to loopback: err = %v, want a refusal", err)
	}
	if _, err := get(t, c, "http://localhost"+frontPort+"/loop"); err == nil || !strings.Contains(err.Error(), "more than 3 redirects") {
		t.Errorf("redirect loop: err = %v, want more than 3 redirects", err)
	}
	if hops != 4 {
		t.Errorf("the loop was requested %d times, want 4 (the first and 3 redirects)", hops)
	}
	if _, err := get(t, c, "http://localhost"+frontPort+"/file"); err == nil || !strings.Contains(err.Error(), "file URL") {
		t.Errorf("redirect to file://: err = %v", err)
	}
}
