// Package safehttp makes HTTP requests to addresses that someone else chose (a call's
// recording_url, an organization's webhook target) without letting them reach inside
// our network: loopback, private, link-local (cloud metadata), CGNAT, multicast and
// other special addresses are refused unless the operator allow-listed the host or range.
//
// The check happens when a connection is made, on the address actually dialled, so a
// host name that resolves differently the second time (DNS rebinding) or a redirect to
// another host cannot get around it. It must never go through an HTTP proxy (the proxy
// would dial for us, unchecked).
package safehttp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Defaults of Options' zero fields.
const (
	DefaultConnectTimeout = 10 * time.Second
	DefaultMaxRedirects   = 3
)

// blocked lists the address ranges no request may reach unless allow-listed, with the
// reason given when one is refused.
var blocked = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "an unspecified address"},
	{netip.MustParsePrefix("10.0.0.0/8"), "a private address"},
	{netip.MustParsePrefix("100.64.0.0/10"), "a carrier-grade NAT address"},
	{netip.MustParsePrefix("127.0.0.0/8"), "a loopback address"},
	{netip.MustParsePrefix("169.254.0.0/16"), "a link-local address (cloud metadata lives there)"},
	{netip.MustParsePrefix("172.16.0.0/12"), "a private address"},
	{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol address"},
	{netip.MustParsePrefix("192.168.0.0/16"), "a private address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address"},
	{netip.MustParsePrefix("224.0.0.0/4"), "a multicast address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"},
	{netip.MustParsePrefix("::/128"), "an unspecified address"},
	{netip.MustParsePrefix("::1/128"), "a loopback address"},
	{netip.MustParsePrefix("::/96"), "an IPv4-compatible address"},
	{netip.MustParsePrefix("fc00::/7"), "a private (unique local) address"},
	{netip.MustParsePrefix("fe80::/10"), "a link-local address"},
	{netip.MustParsePrefix("fec0::/10"), "a site-local address"},
	{netip.MustParsePrefix("ff00::/8"), "a multicast address"},
}

// Translation prefixes that embed an IPv4 address: the embedded one is checked too.
var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// Why says why ip may not be reached, or "" when it may: the address is checked as
// IPv4 when it is IPv4-mapped, and through the IPv4 address a NAT64 or 6to4 address
// carries.
func Why(ip netip.Addr) string {
	ip = ip.Unmap().WithZone("") // Prefix.Contains is false for any address with a zone
	if !ip.IsValid() {
		return "not an address"
	}
	for _, b := range blocked {
		if b.prefix.Contains(ip) {
			return b.reason
		}
	}
	if ip.Is6() {
		a := ip.As16()
		var v4 netip.Addr
		switch {
		case nat64.Contains(ip):
			v4 = netip.AddrFrom4([4]byte(a[12:16]))
		case sixToFour.Contains(ip):
			v4 = netip.AddrFrom4([4]byte(a[2:6]))
		}
		if v4.IsValid() {
			if r := Why(v4); r != "" {
				return r + ", inside an IPv6 translation address"
			}
		}
	}
	return ""
}

// Policy says which blocked hosts and ranges may be reached all the same. The zero
// Policy allows none.
type Policy struct {
	// Variable names the setting the allow list came from, for error messages.
	Variable string
	hosts    map[string]bool
	prefixes []netip.Prefix
}

// ParsePolicy reads an allow list: comma-separated host names, IP addresses and CIDR
// ranges ("minio.internal,10.20.0.0/16,127.0.0.1"). variable names the setting in
// errors.
func ParsePolicy(variable, list string) (Policy, error) {
	p := Policy{Variable: variable, hosts: map[string]bool{}}
	for _, item := range strings.Split(list, ",") {
		item = strings.ToLower(strings.TrimSpace(item))
		switch {
		case item == "":
			continue
		case strings.Contains(item, "/"):
			pfx, err := netip.ParsePrefix(item)
			if err != nil {
				return Policy{}, fmt.Errorf("%s: %q is not a CIDR range such as 10.20.0.0/16", variable, item)
			}
			p.prefixes = append(p.prefixes, pfx.Masked())
		default:
			if ip, err := netip.ParseAddr(strings.Trim(item, "[]")); err == nil {
				p.prefixes = append(p.prefixes, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
				continue
			}
			if strings.ContainsAny(item, " :@?#") {
				return Policy{}, fmt.Errorf("%s: %q is not a host name, address or CIDR range", variable, item)
			}
			p.hosts[strings.TrimSuffix(item, ".")] = true
		}
	}
	return p, nil
}

// AllowsHost reports whether host (a name or an address literal) is allow-listed by name.
func (p Policy) AllowsHost(host string) bool {
	return p.hosts[strings.TrimSuffix(strings.ToLower(host), ".")]
}

// Check returns a *RefusedError when host's address ip may not be reached.
func (p Policy) Check(host string, ip netip.Addr) error {
	ip = ip.Unmap().WithZone("")
	reason := Why(ip)
	if reason == "" || p.AllowsHost(host) {
		return nil
	}
	for _, pfx := range p.prefixes {
		if pfx.Contains(ip) {
			return nil
		}
	}
	return &RefusedError{Host: host, IP: ip, Reason: reason, Variable: p.Variable}
}

// CheckLiteral refuses, before any connection, a host that is an address literal
// which may not be reached; host names are checked when dialled.
func (p Policy) CheckLiteral(host string) error {
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err != nil {
		return nil
	}
	return p.Check(host, ip)
}

// RefusedError says that a request was not made because its address is off limits.
// Its message names the host, the address and the setting that would allow it, and
// nothing else of the request.
type RefusedError struct {
	Host     string
	IP       netip.Addr
	Reason   string
	Variable string
}

func (e *RefusedError) Error() string {
	host := e.Host
	if host != e.IP.String() {
		host += " (" + e.IP.String() + ")"
	}
	msg := fmt.Sprintf("%s is %s: refused", host, e.Reason)
	if e.Variable != "" {
		msg += " unless allow-listed in " + e.Variable
	}
	return msg
}

// Options shape a client.
type Options struct {
	ConnectTimeout time.Duration // per connection attempt; 0 means DefaultConnectTimeout
	// MaxRedirects is how many redirects are followed, each one checked again;
	// 0 means DefaultMaxRedirects, <0 none (the 3xx response is returned as is).
	MaxRedirects int
	// Timeout bounds a whole request, body included; 0: only the context bounds it.
	Timeout time.Duration
	// Redirect, when set, may refuse a redirect's target (say, a host not declared);
	// its error ends the request.
	Redirect func(u *url.URL) error
}

// NewClient returns an HTTP client that dials only addresses p permits, follows at
// most the configured redirects (http and https only) and never uses a proxy.
func NewClient(p Policy, o Options) *http.Client {
	connect := o.ConnectTimeout
	if connect <= 0 {
		connect = DefaultConnectTimeout
	}
	maxRedirects := o.MaxRedirects
	if maxRedirects == 0 {
		maxRedirects = DefaultMaxRedirects
	}
	tr := &http.Transport{
		Proxy:               nil, // a proxy would dial for us, unchecked
		DialContext:         p.dialer(connect),
		TLSHandshakeTimeout: connect,
		MaxIdleConns:        16,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   o.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if maxRedirects < 0 {
				return http.ErrUseLastResponse
			}
			if len(via) > maxRedirects {
				return &RedirectError{Reason: fmt.Sprintf("more than %d redirects", maxRedirects)}
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return &RedirectError{Reason: fmt.Sprintf("a redirect to a %s URL", req.URL.Scheme)}
			}
			if o.Redirect != nil {
				if err := o.Redirect(req.URL); err != nil {
					return &RedirectError{Reason: err.Error()}
				}
			}
			// The new host's addresses are checked when it is dialled; a literal is
			// refused here already, with a clearer error.
			return p.CheckLiteral(req.URL.Hostname())
		},
	}
}

// RedirectError is a redirect chain that was not followed.
type RedirectError struct{ Reason string }

func (e *RedirectError) Error() string { return "redirect refused: " + e.Reason }

// dialer returns a DialContext that checks every address it connects to. A host
// allow-listed by name is dialled without checks; any other is resolved by the
// dialer and each address is checked in Control, just before connect(2), so the
// address checked is the address used.
func (p Policy) dialer(timeout time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
		if !p.AllowsHost(host) {
			d.Control = func(_, address string, _ syscall.RawConn) error {
				ap, err := netip.ParseAddrPort(address)
				if err != nil {
					return fmt.Errorf("dial %s: unexpected address %q", host, address)
				}
				return p.Check(host, ap.Addr())
			}
		}
		return d.DialContext(ctx, network, addr)
	}
}

// Refused returns the RefusedError or RedirectError in err's chain, if any: a request
// that was not made for policy reasons, and that a retry would not change.
func Refused(err error) (error, bool) {
	if r, ok := errors.AsType[*RefusedError](err); ok {
		return r, true
	}
	if r, ok := errors.AsType[*RedirectError](err); ok {
		return r, true
	}
	return nil, false
}
