package peer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/polyregion/polyregion/internal/testutil"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// waitFor is testutil.WaitFor under the name the package's other tests call it by.
var waitFor = testutil.WaitFor

// testLog is a testutil.Log with the method names the package's other tests call.
type testLog struct{ *testutil.Log }

func newTestLog(t *testing.T) *testLog { return &testLog{testutil.NewLog(t)} }

func (l *testLog) logger() *slog.Logger { return l.Logger() }

// waitLogged waits until the log holds want.
func (l *testLog) waitLogged(t *testing.T, want string) {
	t.Helper()
	l.WaitFor(t, 5*time.Second, want)
}

// newPKI makes a PKI directory for regions.
func newPKI(t *testing.T, regions ...string) string {
	t.Helper()
	dir := t.TempDir()
	if err := EnsurePKI(dir, regions); err != nil {
		t.Fatalf("EnsurePKI: %v", err)
	}
	return dir
}

func mustIdentity(t *testing.T, dir, region string) *Identity {
	t.Helper()
	id, err := LoadIdentity(dir, region)
	if err != nil {
		t.Fatalf("LoadIdentity: %v", err)
	}
	return id
}

// testServer is a Server on 127.0.0.1:0 whose handler counts the requests
// it gets and answers "<name> <calling region> <request URI>".
type testServer struct {
	*Server
	addr string
	log  *testLog

	mu    sync.Mutex
	calls int
}

func startServer(t *testing.T, id *Identity, name string, allowed func(string) bool) *testServer {
	t.Helper()
	ts := &testServer{log: newTestLog(t)}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.mu.Lock()
		ts.calls++
		ts.mu.Unlock()
		region, ok := RegionFrom(r.Context())
		if !ok {
			region = "?"
		}
		fmt.Fprintf(w, "%s %s %s", name, region, r.RequestURI)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.addr = ln.Addr().String()
	ts.Server = NewServer(id, h, allowed, ts.log.Logger())
	done := make(chan error, 1)
	go func() { done <- ts.Serve(ln) }()
	t.Cleanup(func() {
		_ = ts.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve returned %v, want http.ErrServerClosed", err)
		}
	})
	return ts
}

func (ts *testServer) handlerCalls() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.calls
}

// testResolver maps regions to addresses that a test may change, and counts
// how often each region was resolved.
type testResolver struct {
	mu    sync.Mutex
	addrs map[string]string
	calls map[string]int
}

func newTestResolver() *testResolver {
	return &testResolver{addrs: map[string]string{}, calls: map[string]int{}}
}

func (r *testResolver) set(region, addr string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.addrs[region] = addr
}

func (r *testResolver) resolve(region string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls[region]++
	addr, ok := r.addrs[region]
	if !ok {
		return "", fmt.Errorf("no address for region %q", region)
	}
	return addr, nil
}

func (r *testResolver) count(region string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[region]
}

func newTestClient(t *testing.T, id *Identity, r *testResolver) *Client {
	c := NewClient(id, r.resolve)
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// get sends GET path to region and returns the response, with its body read.
func get(ctx context.Context, c *Client, region, path string) (*http.Response, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, "", err
	}
	resp, err := c.Do(req, region)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, string(body), err
}

// mustGet is get that fails the test on an error or a status other than 200.
func mustGet(t *testing.T, c *Client, region, path string) (*http.Response, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, body, err := get(ctx, c, region, path)
	if err != nil {
		t.Fatalf("GET %s from region %q: %v", path, region, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s from region %q: %s %s", path, region, resp.Status, body)
	}
	return resp, body
}

// silentListener accepts TCP connections and never writes a byte to them.
type silentListener struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func startSilentListener(t *testing.T) *silentListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &silentListener{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, conn)
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		s.wg.Wait()
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, c := range s.conns {
			_ = c.Close()
		}
	})
	return s
}

func (s *silentListener) addr() string { return s.ln.Addr().String() }

// partitionProxy forwards TCP connections to a target, and can be
// partitioned: then it reads what either side sends and drops it, and does
// not pass on a side's closing, as a network that black-holes packets would.
type partitionProxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu          sync.Mutex
	partitioned bool
	conns       []net.Conn
	accepted    int
	clientGone  []time.Time // when each accepted connection's client closed it; zero while open
}

func startPartitionProxy(t *testing.T, target string) *partitionProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &partitionProxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		_ = ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			_ = c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *partitionProxy) addr() string { return p.ln.Addr().String() }

func (p *partitionProxy) setPartitioned(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.partitioned = on
}

func (p *partitionProxy) isPartitioned() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.partitioned
}

// clientClosed returns when the client closed the i-th accepted connection,
// or the zero time.
func (p *partitionProxy) clientClosed(i int) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	if i >= len(p.clientGone) {
		return time.Time{}
	}
	return p.clientGone[i]
}

func (p *partitionProxy) acceptedCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

func (p *partitionProxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = client.Close()
			continue
		}
		p.mu.Lock()
		i := p.accepted
		p.accepted++
		p.clientGone = append(p.clientGone, time.Time{})
		p.conns = append(p.conns, client, server)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(client, server, func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.clientGone[i] = time.Now()
		})
		go p.pipe(server, client, func() {})
	}
}

// pipe copies from src to dst, dropping the bytes while the proxy is
// partitioned. When reading src fails (its peer closed it) it calls gone, and
// closes both connections unless the proxy is partitioned.
func (p *partitionProxy) pipe(src, dst net.Conn, gone func()) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.isPartitioned() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				_ = src.Close()
				_ = dst.Close()
				return
			}
		}
		if err != nil {
			gone()
			if !p.isPartitioned() {
				_ = src.Close()
				_ = dst.Close()
			}
			return
		}
	}
}
