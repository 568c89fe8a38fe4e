package health

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// testProber has short timeouts, so that a failing test fails fast; the tests of a
// particular timeout shorten it further.
func testProber() *Prober {
	return &Prober{ConnectTimeout: 2 * time.Second, ResponseTimeout: 2 * time.Second, BodyTimeout: 2 * time.Second, TCPConnectTimeout: 2 * time.Second}
}

func checkFor(typ Type, ip string, port int) Check {
	return defaulted(Check{ID: "c", Type: typ, IPAddress: ip, Port: port})
}

// blockUntilGone blocks a handler until the prober closes the connection or the test ends.
func blockUntilGone(t *testing.T) <-chan struct{} {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	return release
}

func TestProbeHTTPStatus(t *testing.T) {
	tg := newTarget(t, nil)
	for _, tc := range []struct {
		code    int
		healthy bool
	}{
		{200, true}, {204, true}, {299, true}, {301, true}, {302, true}, {304, true}, {307, true}, {399, true},
		{400, false}, {404, false}, {499, false}, {500, false}, {503, false},
	} {
		tg.set(status(tc.code))
		got := testProber().ProbeHTTP(context.Background(), checkFor(TypeHTTP, tg.ip, tg.port), "eu-west")
		want := Result{Healthy: tc.healthy, Reason: fmt.Sprintf("HTTP %d", tc.code)}
		if got != want {
			t.Errorf("status %d: got %+v, want %+v", tc.code, got, want)
		}
	}
}

// TestProbeHTTPRedirectNotFollowed: a 3xx is healthy by itself, and its Location is not
// requested, even when it would fail.
func TestProbeHTTPRedirectNotFollowed(t *testing.T) {
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/broken" {
			w.WriteHeader(500)
			return
		}
		http.Redirect(w, r, "/broken", http.StatusFound)
	})
	got := testProber().ProbeHTTP(context.Background(), checkFor(TypeHTTP, tg.ip, tg.port), "eu-west")
	if want := (Result{Healthy: true, Reason: "HTTP 302"}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if n := tg.hitsOn("/broken"); n != 0 {
		t.Errorf("the redirect target was requested %d times", n)
	}
}

// TestProbeHTTPRequest pins what the probe sends: GET of the resource path (query kept),
// the region in the User-Agent, and the Host header.
func TestProbeHTTPRequest(t *testing.T) {
	var mu sync.Mutex
	var got *http.Request
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r.Clone(context.Background())
		mu.Unlock()
	})
	c := checkFor(TypeHTTP, tg.ip, tg.port)
	c.ResourcePath = "/health?deep=1"
	if res := testProber().ProbeHTTP(context.Background(), c, "ap-southeast"); !res.Healthy {
		t.Fatalf("probe: %+v", res)
	}
	mu.Lock()
	defer mu.Unlock()
	if got.Method != "GET" || got.RequestURI != "/health?deep=1" {
		t.Errorf("request %s %s, want GET /health?deep=1", got.Method, got.RequestURI)
	}
	if ua := got.UserAgent(); ua != "polyregion-health-check/ap-southeast" {
		t.Errorf("User-Agent %q, want polyregion-health-check/ap-southeast", ua)
	}
	if want := fmt.Sprintf("127.0.0.1:%d", tg.port); got.Host != want {
		t.Errorf("Host %q, want %q (the IP address with its port)", got.Host, want)
	}
	if !got.Close {
		t.Error("the probe did not ask to close the connection")
	}
}

func TestHostHeader(t *testing.T) {
	v4, v6 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")
	for _, tc := range []struct {
		c    Check
		port int
		ip   netip.Addr
		want string
	}{
		{Check{Type: TypeHTTP, FQDN: "app.example."}, 80, v4, "app.example"},
		{Check{Type: TypeHTTP, FQDN: "app.example"}, 8080, v4, "app.example:8080"},
		{Check{Type: TypeHTTP, FQDN: "app.example"}, 443, v4, "app.example:443"},
		{Check{Type: TypeHTTPS, FQDN: "app.example"}, 443, v4, "app.example"},
		{Check{Type: TypeHTTPSStrMatch, FQDN: "app.example"}, 80, v4, "app.example:80"},
		{Check{Type: TypeHTTP, IPAddress: "192.0.2.1"}, 80, v4, "192.0.2.1"},
		{Check{Type: TypeHTTP, IPAddress: "2001:db8::1"}, 80, v6, "[2001:db8::1]"},
		{Check{Type: TypeHTTPS, IPAddress: "2001:db8::1"}, 8443, v6, "[2001:db8::1]:8443"},
	} {
		if got := hostHeader(tc.c, tc.port, tc.ip); got != tc.want {
			t.Errorf("hostHeader(%+v, %d) = %q, want %q", tc.c, tc.port, got, tc.want)
		}
	}
}

func TestProbeHTTPStrMatch(t *testing.T) {
	const needle = "status: OK"
	body := func(s string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, s) }
	}
	// ending returns a body of size bytes that ends with needle.
	ending := func(size int) string { return strings.Repeat("x", size-len(needle)) + needle }
	chunked := func(parts ...string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			for _, p := range parts {
				io.WriteString(w, p)
				w.(http.Flusher).Flush()
			}
		}
	}
	for _, tc := range []struct {
		name string
		h    http.HandlerFunc
		want Result
	}{
		{"found", body("<p>" + needle + "</p>"), Result{true, "HTTP 200, search string found"}},
		{"ends at byte 5120", body(ending(5120)), Result{true, "HTTP 200, search string found"}},
		{"ends at byte 5120, more follows", body(ending(5120) + strings.Repeat("y", 10000)), Result{true, "HTTP 200, search string found"}},
		{"ends at byte 5121", body(ending(5121)), Result{false, "search string not found in the first 5120 bytes"}},
		{"starts at byte 5120", body(strings.Repeat("x", 5119) + needle), Result{false, "search string not found in the first 5120 bytes"}},
		{"split across chunks", chunked(strings.Repeat("x", 3000), needle[:4], needle[4:], "tail"), Result{true, "HTTP 200, search string found"}},
		{"ends at byte 5120 in chunks", chunked(ending(5120)[:5115], ending(5120)[5115:], "more"), Result{true, "HTTP 200, search string found"}},
		{"ends at byte 5121 in chunks", chunked(ending(5121)[:5000], ending(5121)[5000:]), Result{false, "search string not found in the first 5120 bytes"}},
		{"case sensitive", body(strings.ToUpper(needle)), Result{false, "search string not found in the 10-byte body"}},
		{"empty body", body(""), Result{false, "search string not found in the 0-byte body"}},
		{"redirect with the string", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(301)
			io.WriteString(w, needle)
		}, Result{true, "HTTP 301, search string found"}},
		{"server error with the string", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(500)
			io.WriteString(w, needle)
		}, Result{false, "HTTP 500"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg := newTarget(t, tc.h)
			c := checkFor(TypeHTTPStrMatch, tg.ip, tg.port)
			c.SearchString = needle
			if got := testProber().ProbeHTTP(context.Background(), c, "eu-west"); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestProbeHTTPTimeouts(t *testing.T) {
	t.Run("response", func(t *testing.T) {
		release := blockUntilGone(t)
		tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		})
		p := testProber()
		p.ResponseTimeout = 100 * time.Millisecond
		start := time.Now()
		got := p.ProbeHTTP(context.Background(), checkFor(TypeHTTP, tg.ip, tg.port), "eu-west")
		if want := (Result{Reason: "timeout after 100ms waiting for the response"}); got != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("the probe took %v", d)
		}
	})
	// slowBody sends the status and first, then stalls.
	slowBody := func(t *testing.T, first string) *target {
		release := blockUntilGone(t)
		return newTarget(t, func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, first)
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-release:
			}
		})
	}
	t.Run("body", func(t *testing.T) {
		tg := slowBody(t, "partial")
		p := testProber()
		p.BodyTimeout = 100 * time.Millisecond
		c := checkFor(TypeHTTPStrMatch, tg.ip, tg.port)
		c.SearchString = "needle"
		got := p.ProbeHTTP(context.Background(), c, "eu-west")
		want := Result{Reason: "timeout after 100ms reading the body (search string not found in the 7 bytes received)"}
		if got != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})
	t.Run("string found before the body stalls", func(t *testing.T) {
		tg := slowBody(t, "the needle, then nothing")
		p := testProber()
		p.BodyTimeout = 10 * time.Second
		c := checkFor(TypeHTTPStrMatch, tg.ip, tg.port)
		c.SearchString = "needle"
		start := time.Now()
		if got := p.ProbeHTTP(context.Background(), c, "eu-west"); !got.Healthy {
			t.Errorf("got %+v, want healthy", got)
		}
		// It stops reading once the string is found.
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("the probe took %v", d)
		}
	})
	t.Run("a plain HTTP check does not read the body", func(t *testing.T) {
		tg := slowBody(t, "partial")
		p := testProber()
		p.BodyTimeout = 100 * time.Millisecond
		if got := p.ProbeHTTP(context.Background(), checkFor(TypeHTTP, tg.ip, tg.port), "eu-west"); got != (Result{true, "HTTP 200"}) {
			t.Errorf("got %+v, want healthy", got)
		}
	})
}

// closedPort returns a port on 127.0.0.1 that nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port := hostPort(t, ln.Addr())
	ln.Close()
	return port
}

// rawListener accepts connections on 127.0.0.1:0 and hands each to serve.
func rawListener(t *testing.T, serve func(net.Conn)) (string, int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				serve(conn)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return hostPort(t, ln.Addr())
}

func TestProbeHTTPConnectionFailures(t *testing.T) {
	port := closedPort(t)
	if got := testProber().ProbeHTTP(context.Background(), checkFor(TypeHTTP, "127.0.0.1", port), "eu-west"); got != (Result{Reason: "connection refused"}) {
		t.Errorf("closed port: got %+v", got)
	}
	// The request is read first, so that closing sends a FIN, not a reset.
	ip, port := rawListener(t, func(c net.Conn) {
		defer c.Close()
		http.ReadRequest(bufio.NewReader(c))
	})
	if got := testProber().ProbeHTTP(context.Background(), checkFor(TypeHTTP, ip, port), "eu-west"); got != (Result{Reason: "connection closed waiting for the response"}) {
		t.Errorf("closed at once: got %+v", got)
	}
	ip, port = rawListener(t, func(c net.Conn) {
		defer c.Close()
		http.ReadRequest(bufio.NewReader(c))
		io.WriteString(c, "SSH-2.0-OpenSSH_9.6\r\n")
	})
	if got := testProber().ProbeHTTP(context.Background(), checkFor(TypeHTTP, ip, port), "eu-west"); got.Healthy || got.Reason == "" {
		t.Errorf("not HTTP: got %+v, want unhealthy with a reason", got)
	}
}

// TestProbeHTTPCanceled: a probe ends as soon as its context does.
func TestProbeHTTPCanceled(t *testing.T) {
	started := make(chan struct{}, 1)
	release := blockUntilGone(t)
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan Result, 1)
	go func() { done <- testProber().ProbeHTTP(ctx, checkFor(TypeHTTP, tg.ip, tg.port), "eu-west") }()
	<-started
	cancel()
	select {
	case got := <-done:
		if got != (Result{Reason: "canceled"}) {
			t.Errorf("got %+v", got)
		}
	case <-time.After(time.Second):
		t.Fatal("the probe did not end with its context")
	}
}

// quietTLSServer is an httptest TLS server that does not log handshake errors.
func quietTLSServer(t *testing.T, h http.Handler, cfg *tls.Config) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = cfg
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func TestProbeHTTPS(t *testing.T) {
	// httptest's certificate is self-signed and not for the address probed: still healthy.
	srv := quietTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.UserAgent() != "polyregion-health-check/us-east" {
			w.WriteHeader(400)
		}
		io.WriteString(w, "tls ok")
	}), nil)
	ip, port := hostPort(t, srv.Listener.Addr())
	if got := testProber().ProbeHTTP(context.Background(), checkFor(TypeHTTPS, ip, port), "us-east"); got != (Result{true, "HTTP 200"}) {
		t.Errorf("HTTPS: got %+v", got)
	}
	c := checkFor(TypeHTTPSStrMatch, ip, port)
	c.SearchString = "tls ok"
	if got := testProber().ProbeHTTP(context.Background(), c, "us-east"); !got.Healthy {
		t.Errorf("HTTPS_STR_MATCH: got %+v", got)
	}
	// Plain HTTP to a TLS port fails.
	if got := testProber().ProbeHTTP(context.Background(), checkFor(TypeHTTP, ip, port), "us-east"); got != (Result{Reason: "HTTP 400"}) {
		t.Errorf("HTTP to a TLS port: got %+v", got)
	}
	// TLS to a plain HTTP port fails in the handshake.
	tg := newTarget(t, status(200))
	if got := testProber().ProbeHTTP(context.Background(), checkFor(TypeHTTPS, tg.ip, tg.port), "us-east"); got.Healthy || !strings.HasPrefix(got.Reason, "TLS handshake failed: ") {
		t.Errorf("HTTPS to an HTTP port: got %+v", got)
	}
}

func TestProbeHTTPSSNI(t *testing.T) {
	var mu sync.Mutex
	var names []string
	var refuseSNI bool
	var hosts []string
	cfg := &tls.Config{GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		mu.Lock()
		defer mu.Unlock()
		names = append(names, hello.ServerName)
		if refuseSNI && hello.ServerName != "" {
			return nil, errors.New("no such name")
		}
		return nil, nil
	}}
	srv := quietTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hosts = append(hosts, r.Host)
		mu.Unlock()
	}), cfg)
	ip, port := hostPort(t, srv.Listener.Addr())
	c := checkFor(TypeHTTPS, ip, port)
	c.FQDN = "shop.example."
	for _, tc := range []struct {
		sni, refuse bool
		names       []string
	}{
		{sni: false, names: []string{""}},
		{sni: true, names: []string{"shop.example"}},
		// Route 53 retries without SNI when the handshake with it fails.
		{sni: true, refuse: true, names: []string{"shop.example", ""}},
	} {
		mu.Lock()
		names, hosts, refuseSNI = nil, nil, tc.refuse
		mu.Unlock()
		c.EnableSNI = tc.sni
		got := testProber().ProbeHTTP(context.Background(), c, "us-east")
		mu.Lock()
		if got != (Result{true, "HTTP 200"}) || !equalStrings(names, tc.names) || !equalStrings(hosts, []string{fmt.Sprintf("shop.example:%d", port)}) {
			t.Errorf("sni %v, refused %v: got %+v, server names %q, hosts %q; want healthy, server names %q",
				tc.sni, tc.refuse, got, names, hosts, tc.names)
		}
		mu.Unlock()
	}
}

func equalStrings(a, b []string) bool {
	return strings.Join(a, "\x00") == strings.Join(b, "\x00") && len(a) == len(b)
}

func TestProbeFQDN(t *testing.T) {
	tg := newTarget(t, status(200))
	var asked []string
	var mu sync.Mutex
	p := testProber()
	p.Resolve = func(ctx context.Context, host string) ([]netip.Addr, error) {
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, host)
		switch host {
		case "app.example":
			// IPv4 is preferred: nothing listens on ::1 at this port.
			return []netip.Addr{netip.MustParseAddr("::1"), netip.MustParseAddr("::ffff:127.0.0.1")}, nil
		case "v6only.example":
			return []netip.Addr{netip.MustParseAddr("::1")}, nil
		case "empty.example":
			return nil, nil
		case "slow.example":
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	c := defaulted(Check{ID: "c", Type: TypeHTTP, FQDN: "app.example", Port: tg.port})
	if got := p.ProbeHTTP(context.Background(), c, "eu-west"); got != (Result{true, "HTTP 200"}) {
		t.Errorf("FQDN: got %+v", got)
	}
	if h, want := tg.lastHost(), fmt.Sprintf("app.example:%d", tg.port); h != want {
		t.Errorf("Host %q, want %q", h, want)
	}
	c.FQDN = "missing.example"
	if got := p.ProbeHTTP(context.Background(), c, "eu-west"); got != (Result{Reason: "DNS resolution failed: lookup missing.example: no such host"}) {
		t.Errorf("unknown name: got %+v", got)
	}
	c.FQDN = "empty.example"
	if got := p.ProbeHTTP(context.Background(), c, "eu-west"); got != (Result{Reason: "DNS resolution failed: no address for empty.example"}) {
		t.Errorf("no address: got %+v", got)
	}
	// Resolution counts against the connect timeout.
	c.FQDN = "slow.example"
	short := *p
	short.ConnectTimeout = 100 * time.Millisecond
	if got := short.ProbeHTTP(context.Background(), c, "eu-west"); got != (Result{Reason: "timeout after 100ms resolving slow.example"}) {
		t.Errorf("slow resolver: got %+v", got)
	}
	tcp := defaulted(Check{ID: "t", Type: TypeTCP, FQDN: "app.example", Port: tg.port})
	if got := p.ProbeTCP(context.Background(), tcp); !got.Healthy {
		t.Errorf("TCP by FQDN: got %+v", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(asked) != 5 {
		t.Errorf("resolved %q; want one resolution per probe", asked)
	}
}

func TestProbeTCP(t *testing.T) {
	ip, port := rawListener(t, func(c net.Conn) { c.Close() })
	if got := testProber().ProbeTCP(context.Background(), checkFor(TypeTCP, ip, port)); got != (Result{true, "connected"}) {
		t.Errorf("open port: got %+v", got)
	}
	if got := testProber().Probe(context.Background(), checkFor(TypeTCP, ip, port), "eu-west"); got != (Result{true, "connected"}) {
		t.Errorf("Probe: got %+v", got)
	}
	if got := testProber().ProbeTCP(context.Background(), checkFor(TypeTCP, "127.0.0.1", closedPort(t))); got != (Result{Reason: "connection refused"}) {
		t.Errorf("closed port: got %+v", got)
	}
	// The zero Prober (and a nil one) works, with the default timeouts.
	var nilProber *Prober
	if got := nilProber.ProbeTCP(context.Background(), checkFor(TypeTCP, ip, port)); !got.Healthy {
		t.Errorf("nil prober: got %+v", got)
	}
}

func TestSearchPrefix(t *testing.T) {
	for _, tc := range []struct {
		body  string
		limit int
		found bool
		n     int
	}{
		{"abcneedle", 9, true, 9},
		{"abcneedle", 8, false, 8},
		{"needle", 6, true, 6},
		{"", 6, false, 0},
		{"xxneedlexx", 100, true, 8}, // stops reading once found
	} {
		// One byte at a time, so that every match straddles reads.
		found, n, err := searchPrefix(&oneByteReader{s: tc.body}, []byte("needle"), tc.limit)
		if found != tc.found || n != tc.n || err != nil {
			t.Errorf("searchPrefix(%q, %d) = %v, %d, %v; want %v, %d", tc.body, tc.limit, found, n, err, tc.found, tc.n)
		}
	}
}

type oneByteReader struct{ s string }

func (r *oneByteReader) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = r.s[0]
	r.s = r.s[1:]
	return 1, nil
}

// TestProbeHTTPInformational: 1xx responses before the final one are skipped.
func TestProbeHTTPInformational(t *testing.T) {
	ip, port := rawListener(t, func(c net.Conn) {
		defer c.Close()
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"+
			"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
	})
	if got := testProber().ProbeHTTP(context.Background(), checkFor(TypeHTTP, ip, port), "eu-west"); got != (Result{true, "HTTP 204"}) {
		t.Errorf("got %+v, want healthy with HTTP 204", got)
	}
}
