package peer

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"time"
)

// Resolver returns the address ("host:port") to dial to reach region. A
// [Client] calls it for every new connection, so the answer may change
// between dials, after a restart or to go through a proxy.
type Resolver func(region string) (addr string, err error)

// Client sends requests to other regions over mutual TLS, HTTP/2 only. It
// keeps one connection per region and reuses it. A connection that stays
// silent is probed with HTTP/2 PINGs and closed after about 1.5 s without an
// answer, so a partition that black-holes bytes is noticed and the next
// request dials again. A Client is safe for concurrent use.
type Client struct {
	id        *Identity
	resolve   Resolver
	transport *http.Transport
	http      *http.Client
}

// NewClient returns a client of id's region that dials the address resolve
// returns for the region asked for.
func NewClient(id *Identity, resolve Resolver) *Client {
	c := &Client{id: id, resolve: resolve}
	var protocols http.Protocols
	protocols.SetHTTP2(true)
	c.transport = &http.Transport{
		Protocols: &protocols,
		HTTP2: &http.HTTP2Config{
			SendPingTimeout: sendPingTimeout,
			PingTimeout:     pingTimeout,
		},
		DialTLSContext:  c.dialTLS,
		IdleConnTimeout: idleConnTimeout,
	}
	c.http = &http.Client{
		Transport: c.transport,
		// A redirect is the handler's answer to give back, not one to
		// follow: it could name a host outside the peers.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c
}

// Do sends req to region and returns its response, whose body the caller
// must close. The request URL's scheme and host are replaced by
// https://[ServerName](region); path and query are kept. req itself is not
// modified, and may be one a server received. The request fails when its
// context ends, whether the peer answers or not.
func (c *Client) Do(req *http.Request, region string) (*http.Response, error) {
	if err := checkRegion(region); err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, err
	}
	out := req.Clone(req.Context())
	out.URL.Scheme = "https"
	out.URL.Host = ServerName(region)
	out.Host = ""
	out.RequestURI = ""
	return c.http.Do(out)
}

// Ping measures one round trip to region: GET [PingPath] over an established
// connection, from the moment the request has its connection to the
// response's headers. If there was no connection yet, it first makes one with
// a ping of its own, so the figure leaves out the dial and the handshake.
func (c *Client) Ping(ctx context.Context, region string) (time.Duration, error) {
	rtt, reused, err := c.ping(ctx, region)
	if err != nil || reused {
		return rtt, err
	}
	rtt, _, err = c.ping(ctx, region)
	return rtt, err
}

// ping does one GET [PingPath], returning its duration and whether it went
// over a connection that had served a request before.
func (c *Client) ping(ctx context.Context, region string) (time.Duration, bool, error) {
	var (
		mu     sync.Mutex
		start  time.Time
		reused bool
	)
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		mu.Lock()
		defer mu.Unlock()
		start, reused = time.Now(), info.Reused
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace),
		http.MethodGet, "https://"+ServerName(region)+PingPath, nil)
	if err != nil {
		return 0, false, fmt.Errorf("peer: ping region %q: %w", region, err)
	}
	begin := time.Now()
	resp, err := c.Do(req, region)
	end := time.Now()
	if err != nil {
		return 0, false, fmt.Errorf("peer: ping region %q: %w", region, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<10))
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, false, fmt.Errorf("peer: ping region %q: %s", region, resp.Status)
	}

	mu.Lock()
	defer mu.Unlock()
	if start.IsZero() {
		start = begin
	}
	return end.Sub(start), reused, nil
}

// CloseIdleConnections closes the connections that carry no request now.
// The next request to their regions dials again, asking the [Resolver] anew.
func (c *Client) CloseIdleConnections() {
	c.transport.CloseIdleConnections()
}

// dialTLS is the transport's dialer: addr is ServerName(region) and a port,
// and the TCP dial goes to the address the resolver gives for region, with
// the TLS handshake verifying the server is region.
func (c *Client) dialTLS(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("peer: dial %s: %w", addr, err)
	}
	region, ok := strings.CutSuffix(host, serverNameSuffix)
	if !ok || checkRegion(region) != nil {
		return nil, fmt.Errorf("peer: dial %s: not the server name of a region", addr)
	}
	target, err := c.resolve(region)
	if err != nil {
		return nil, fmt.Errorf("peer: resolve region %q: %w", region, err)
	}
	dialer := &tls.Dialer{
		NetDialer: &net.Dialer{Timeout: dialTimeout}, // bounds the handshake too
		Config:    c.id.ClientTLSConfig(region),
	}
	conn, err := dialer.DialContext(ctx, network, target)
	if err != nil {
		return nil, fmt.Errorf("peer: dial region %q at %s: %w", region, target, err)
	}
	if proto := conn.(*tls.Conn).ConnectionState().NegotiatedProtocol; proto != "h2" {
		_ = conn.Close()
		return nil, fmt.Errorf("peer: dial region %q at %s: negotiated protocol %q, not h2", region, target, proto)
	}
	return conn, nil
}
