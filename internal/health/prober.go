package health

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Probe timeouts, as Route 53 documents them.
const (
	DefaultConnectTimeout    = 4 * time.Second
	DefaultResponseTimeout   = 2 * time.Second
	DefaultBodyTimeout       = 2 * time.Second
	DefaultTCPConnectTimeout = 10 * time.Second
)

// SearchWindow is how many bytes at the start of a response body a *_STR_MATCH check
// searches: the SearchString must lie wholly within them.
const SearchWindow = 5120

// UserAgentPrefix starts the User-Agent header of every HTTP probe; the vantage region
// follows it: "polyregion-health-check/eu-west".
const UserAgentPrefix = "polyregion-health-check/"

// Prober probes endpoints once. Its zero value (and a nil *Prober) uses the default
// timeouts and the system resolver; tests shorten the timeouts.
type Prober struct {
	// ConnectTimeout bounds the resolution of the FQDN (if any) plus the TCP connect of an
	// HTTP probe. Default 4 s.
	ConnectTimeout time.Duration
	// ResponseTimeout bounds the time from the TCP connection to the response's status
	// line; it includes the TLS handshake and sending the request. Default 2 s.
	ResponseTimeout time.Duration
	// BodyTimeout bounds, for *_STR_MATCH, reading the body after the status line.
	// Default 2 s.
	BodyTimeout time.Duration
	// TCPConnectTimeout bounds the resolution plus the TCP connect of a TCP probe.
	// Default 10 s.
	TCPConnectTimeout time.Duration
	// Resolve returns the addresses of a host name; nil uses net.DefaultResolver. The first
	// IPv4 address is probed, else the first address.
	Resolve func(ctx context.Context, host string) ([]netip.Addr, error)
}

// Result is the outcome of one probe.
type Result struct {
	Healthy bool
	// Reason says briefly why: "HTTP 200", "connection refused", "timeout after 2s waiting
	// for the response", "search string not found in the first 5120 bytes".
	Reason string
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func (p *Prober) connectTimeout() time.Duration {
	if p == nil {
		return DefaultConnectTimeout
	}
	return orDefault(p.ConnectTimeout, DefaultConnectTimeout)
}

func (p *Prober) responseTimeout() time.Duration {
	if p == nil {
		return DefaultResponseTimeout
	}
	return orDefault(p.ResponseTimeout, DefaultResponseTimeout)
}

func (p *Prober) bodyTimeout() time.Duration {
	if p == nil {
		return DefaultBodyTimeout
	}
	return orDefault(p.BodyTimeout, DefaultBodyTimeout)
}

func (p *Prober) tcpConnectTimeout() time.Duration {
	if p == nil {
		return DefaultTCPConnectTimeout
	}
	return orDefault(p.TCPConnectTimeout, DefaultTCPConnectTimeout)
}

// longest is the longest a probe of type t can take.
func (p *Prober) longest(t Type) time.Duration {
	switch {
	case t == TypeTCP:
		return p.tcpConnectTimeout()
	case t.isStrMatch():
		return p.connectTimeout() + p.responseTimeout() + p.bodyTimeout()
	case t.isHTTP():
		return p.connectTimeout() + p.responseTimeout()
	}
	return 0
}

// Probe probes c once from the vantage region and returns the raw result: neither Inverted
// nor Disabled nor FailureThreshold is applied here. c must be valid, with defaults set.
func (p *Prober) Probe(ctx context.Context, c Check, vantage string) Result {
	switch {
	case c.Type.isHTTP():
		return p.ProbeHTTP(ctx, c, vantage)
	case c.Type == TypeTCP:
		return p.ProbeTCP(ctx, c)
	}
	return Result{Reason: fmt.Sprintf("type %s is not probed", c.Type)}
}

// ProbeTCP probes a TCP check: healthy when a TCP connection is established within
// TCPConnectTimeout.
func (p *Prober) ProbeTCP(ctx context.Context, c Check) Result {
	conn, _, res := p.dial(ctx, c, c.Port, p.tcpConnectTimeout())
	if conn == nil {
		return res
	}
	_ = conn.Close()
	return Result{Healthy: true, Reason: "connected"}
}

// ProbeHTTP probes an HTTP, HTTPS, HTTP_STR_MATCH or HTTPS_STR_MATCH check: one GET over a
// new connection, with User-Agent "polyregion-health-check/<vantage>". Healthy when the
// connection opens within ConnectTimeout and a status 200-399 arrives within
// ResponseTimeout of it (redirects are not followed); for *_STR_MATCH the search string must
// also lie within the first [SearchWindow] bytes of the body, read within a further
// BodyTimeout. HTTPS certificates are not verified.
func (p *Prober) ProbeHTTP(ctx context.Context, c Check, vantage string) Result {
	port := c.Port
	if port == 0 {
		port = c.Type.defaultPort()
	}
	conn, ip, res := p.open(ctx, c, port, c.Type.isTLS() && c.EnableSNI && c.FQDN != "")
	if conn == nil {
		return res
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	respTimeout := p.responseTimeout()

	path := c.ResourcePath
	if path == "" {
		path = "/"
	}
	req := &http.Request{
		Method: http.MethodGet,
		URL:    &url.URL{Opaque: path}, // sent exactly as configured
		Header: http.Header{"User-Agent": {UserAgentPrefix + vantage}, "Accept": {"*/*"}},
		Host:   hostHeader(c, port, ip),
		Close:  true,
	}
	if err := req.Write(conn); err != nil {
		return failure(ctx, err, "sending the request", respTimeout)
	}
	br := bufio.NewReader(conn)
	resp, err := readResponse(br, req)
	if err != nil {
		return failure(ctx, err, "waiting for the response", respTimeout)
	}
	// resp.Body is not closed: closing it would drain the rest of the body. Closing conn
	// (deferred above) ends the exchange at once.
	status := "HTTP " + strconv.Itoa(resp.StatusCode)
	if resp.StatusCode < 200 || resp.StatusCode > 399 {
		return Result{Reason: status}
	}
	if !c.Type.isStrMatch() {
		return Result{Healthy: true, Reason: status}
	}
	bodyTimeout := p.bodyTimeout()
	_ = conn.SetDeadline(time.Now().Add(bodyTimeout))
	found, n, err := searchPrefix(resp.Body, []byte(c.SearchString), SearchWindow)
	switch {
	case found:
		return Result{Healthy: true, Reason: status + ", search string found"}
	case err != nil:
		r := failure(ctx, err, "reading the body", bodyTimeout)
		r.Reason += fmt.Sprintf(" (search string not found in the %d bytes received)", n)
		return r
	case n < SearchWindow:
		return Result{Reason: fmt.Sprintf("search string not found in the %d-byte body", n)}
	}
	return Result{Reason: fmt.Sprintf("search string not found in the first %d bytes", SearchWindow)}
}

// readResponse reads the response to req, skipping informational (1xx) responses other
// than 101.
func readResponse(br *bufio.Reader, req *http.Request) (*http.Response, error) {
	for {
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
			_ = resp.Body.Close()
			continue
		}
		return resp, nil
	}
}

// searchPrefix reads r until needle is found within its first limit bytes, limit bytes have
// been read, or r ends. It returns how many bytes it read; err is nil at the end of r.
func searchPrefix(r io.Reader, needle []byte, limit int) (found bool, n int, err error) {
	buf := make([]byte, limit)
	for n < limit {
		k, err := r.Read(buf[n:])
		if k > 0 {
			// Only a match that ends in the new bytes is new.
			from := max(0, n-len(needle)+1)
			n += k
			if bytes.Contains(buf[from:n], needle) {
				return true, n, nil
			}
		}
		if errors.Is(err, io.EOF) {
			return false, n, nil
		}
		if err != nil {
			return false, n, err
		}
	}
	return false, n, nil
}

// hostHeader is the Host header of an HTTP probe: the FQDN, else the IP address, with
// ":port" unless port is the scheme's default.
func hostHeader(c Check, port int, ip netip.Addr) string {
	host := strings.TrimSuffix(c.FQDN, ".")
	if host == "" {
		if c.IPAddress != "" {
			host = c.IPAddress
		} else {
			host = ip.String()
		}
	}
	if port != c.Type.defaultPort() {
		return net.JoinHostPort(host, strconv.Itoa(port))
	}
	if strings.Contains(host, ":") {
		return "[" + host + "]"
	}
	return host
}

// open connects to the check's endpoint and, for HTTPS types, completes the TLS handshake
// (sending the FQDN as SNI if sni, and trying once more without SNI if that handshake
// fails). On success the connection's deadline is ResponseTimeout from the TCP connect.
func (p *Prober) open(ctx context.Context, c Check, port int, sni bool) (net.Conn, netip.Addr, Result) {
	conn, ip, res := p.dial(ctx, c, port, p.connectTimeout())
	if conn == nil {
		return nil, ip, res
	}
	respTimeout := p.responseTimeout()
	_ = conn.SetDeadline(time.Now().Add(respTimeout))
	if !c.Type.isTLS() {
		return conn, ip, Result{}
	}
	cfg := &tls.Config{
		InsecureSkipVerify: true, // health checks do not validate certificates, as in Route 53
		NextProtos:         []string{"http/1.1"},
	}
	if sni {
		cfg.ServerName = strings.TrimSuffix(c.FQDN, ".")
	}
	tc := tls.Client(conn, cfg)
	err := tc.HandshakeContext(ctx)
	if err == nil {
		return tc, ip, Result{}
	}
	_ = conn.Close()
	if sni && ctx.Err() == nil && !isTimeout(err) {
		return p.open(ctx, c, port, false)
	}
	if isTimeout(err) || ctx.Err() != nil {
		return nil, ip, failure(ctx, err, "in the TLS handshake", respTimeout)
	}
	return nil, ip, Result{Reason: "TLS handshake failed: " + rootError(err).Error()}
}

// dial resolves the endpoint if needed and opens a TCP connection, all within timeout.
func (p *Prober) dial(ctx context.Context, c Check, port int, timeout time.Duration) (net.Conn, netip.Addr, Result) {
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ip, res := p.target(dctx, c, timeout)
	if !ip.IsValid() {
		if ctx.Err() != nil {
			res.Reason = "canceled"
		}
		return nil, ip, res
	}
	var d net.Dialer
	conn, err := d.DialContext(dctx, "tcp", netip.AddrPortFrom(ip, uint16(port)).String())
	if err != nil {
		return nil, ip, failure(ctx, err, "connecting", timeout)
	}
	return conn, ip, Result{}
}

// target returns the address to probe: IPAddress, else the FQDN resolved now.
func (p *Prober) target(ctx context.Context, c Check, timeout time.Duration) (netip.Addr, Result) {
	if c.IPAddress != "" {
		a, err := netip.ParseAddr(c.IPAddress)
		if err != nil {
			return netip.Addr{}, Result{Reason: fmt.Sprintf("invalid ip_address %q", c.IPAddress)}
		}
		return a, Result{}
	}
	resolve := func(ctx context.Context, host string) ([]netip.Addr, error) {
		return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	}
	if p != nil && p.Resolve != nil {
		resolve = p.Resolve
	}
	addrs, err := resolve(ctx, c.FQDN)
	if err != nil {
		if isTimeout(err) {
			return netip.Addr{}, Result{Reason: fmt.Sprintf("timeout after %v resolving %s", timeout, c.FQDN)}
		}
		return netip.Addr{}, Result{Reason: "DNS resolution failed: " + rootError(err).Error()}
	}
	var pick netip.Addr
	for _, a := range addrs {
		if a = a.Unmap(); a.Is4() {
			pick = a
			break
		}
		if !pick.IsValid() {
			pick = a
		}
	}
	if !pick.IsValid() {
		return pick, Result{Reason: "DNS resolution failed: no address for " + c.FQDN}
	}
	return pick, Result{}
}

// failure turns a network error met while doing what into a short reason.
func failure(ctx context.Context, err error, what string, timeout time.Duration) Result {
	switch {
	case ctx.Err() != nil:
		return Result{Reason: "canceled"}
	case isTimeout(err):
		return Result{Reason: fmt.Sprintf("timeout after %v %s", timeout, what)}
	case errors.Is(err, syscall.ECONNREFUSED):
		return Result{Reason: "connection refused"}
	case errors.Is(err, syscall.ECONNRESET):
		return Result{Reason: "connection reset " + what}
	case errors.Is(err, syscall.EHOSTUNREACH):
		return Result{Reason: "host unreachable"}
	case errors.Is(err, syscall.ENETUNREACH):
		return Result{Reason: "network unreachable"}
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return Result{Reason: "connection closed " + what}
	}
	return Result{Reason: rootError(err).Error() + " " + what}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		errors.As(err, &ne) && ne.Timeout()
}

// rootError strips the layers that repeat the operation and address ("dial tcp
// 127.0.0.1:80: connect: ") from a network error.
func rootError(err error) error {
	for {
		var op *net.OpError
		var sys *os.SyscallError
		var dns *net.DNSError
		switch {
		case errors.As(err, &dns):
			return dns
		case errors.As(err, &op) && op.Err != nil && op.Err != err:
			err = op.Err
		case errors.As(err, &sys) && sys.Err != nil && sys.Err != err:
			err = sys.Err
		default:
			return err
		}
	}
}
