package edge

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"
	"go.uber.org/goleak"

	"github.com/polyregion/polyregion/internal/testutil"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// backend is a TCP endpoint for the tests. It reads the PROXY header when told
// to, greets the client first ("hello <client addr>\n"), then echoes until the
// client half-closes, then closes.
type backend struct {
	ln    net.Listener
	proxy bool
	wg    sync.WaitGroup
}

func startBackend(t *testing.T, proxy bool) *backend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{ln: ln, proxy: proxy}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.wg.Add(1)
			go func() {
				defer b.wg.Done()
				defer c.Close()
				r := bufio.NewReader(c)
				client := c.RemoteAddr().String()
				if proxy {
					h, err := proxyproto.Read(r)
					if err != nil {
						fmt.Fprintf(c, "bad header: %v\n", err)
						return
					}
					client = h.SourceAddr.String()
				}
				fmt.Fprintf(c, "hello %s from %s\n", client, ln.Addr())
				io.Copy(c, r)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); b.wg.Wait() })
	return b
}

func (b *backend) hostPort() (string, uint16) {
	ap := b.ln.Addr().(*net.TCPAddr).AddrPort()
	return ap.Addr().String(), ap.Port()
}

// routesTo returns routes with one group holding the given endpoints, equally
// weighted and healthy.
func routesTo(proxy bool, eps ...*backend) *Routes {
	g := GroupTargets{Endpoints: map[string]EndpointTarget{}}
	var reps []RouteEndpoint
	for i, b := range eps {
		host, port := b.hostPort()
		id := fmt.Sprint("ep", i)
		g.Endpoints[id] = EndpointTarget{Host: host, Port: port, ClientIPPreservation: proxy}
		reps = append(reps, RouteEndpoint{ID: id, Weight: 128, Healthy: true})
	}
	return &Routes{
		Router: NewRouter(AffinityNone, []string{"here"}, []RouteGroup{{Region: "here", Dial: 100, Endpoints: reps}}),
		Groups: map[string]GroupTargets{"here": g},
	}
}

func serve(t *testing.T, opts SocketOptions) *Socket {
	t.Helper()
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.Name == "" {
		opts.Name = "test"
	}
	opts.Logger = testutil.NewLog(t).Logger()
	l, err := Listen(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return l
}

func TestTCPRelayIsByteExactWithHalfCloseAndProxyHeader(t *testing.T) {
	b := startBackend(t, true)
	l := serve(t, SocketOptions{Protocol: TCP, Metrics: NewMetrics(nil)})
	l.SetRoutes(routesTo(true, b))

	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	// The server speaks first, and names the client's own address.
	greeting, err := r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if want := "hello " + c.LocalAddr().String() + " "; !strings.HasPrefix(greeting, want) {
		t.Fatalf("greeting %q, want prefix %q", greeting, want)
	}
	payload := make([]byte, 1<<20)
	rand.Read(payload)
	go func() {
		c.Write(payload)
		c.(*net.TCPConn).CloseWrite() // the echo ends when the client's side does
	}()
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, payload) {
		t.Fatalf("echoed %d bytes, not the %d sent", len(got), len(payload))
	}
}

// A PROXY header sent by a client is payload, never trusted: the endpoint reads
// the edge's header first.
func TestClientProxyHeaderIsNotTrusted(t *testing.T) {
	b := startBackend(t, true)
	l := serve(t, SocketOptions{Protocol: TCP})
	l.SetRoutes(routesTo(true, b))
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	forged := proxyHeader(TCP, netip.MustParseAddrPort("203.0.113.9:1"), netip.MustParseAddrPort("192.0.2.1:2"))
	forged.WriteTo(c)
	greeting, _ := bufio.NewReader(c).ReadString('\n')
	if !strings.Contains(greeting, c.LocalAddr().String()) || strings.Contains(greeting, "203.0.113.9") {
		t.Fatalf("greeting %q", greeting)
	}
}

func TestIdleFlowsAreClosed(t *testing.T) {
	b := startBackend(t, false)
	l := serve(t, SocketOptions{Protocol: TCP, IdleTimeout: 200 * time.Millisecond})
	l.SetRoutes(routesTo(false, b))
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	io.ReadAll(c) // the greeting, then EOF when the edge closes the idle flow
	if d := time.Since(start); d < 150*time.Millisecond || d > 5*time.Second {
		t.Fatalf("closed after %v, want about 200ms", d)
	}
	testutil.WaitFor(t, 5*time.Second, func() error {
		if n := l.Active(); n != 0 {
			return fmt.Errorf("%d flows open", n)
		}
		return nil
	})
}

func TestFlowLimitRefusesAndLogs(t *testing.T) {
	b := startBackend(t, false)
	log := testutil.NewLog(t)
	l, err := Listen(SocketOptions{Name: "limited", Protocol: TCP, Addr: "127.0.0.1:0", MaxFlows: 1, Logger: log.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Serve(ctx) }()
	defer func() { cancel(); <-done }()
	l.SetRoutes(routesTo(false, b))
	first, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	bufio.NewReader(first).ReadString('\n') // the flow is up
	second, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if n, _ := second.Read(make([]byte, 1)); n != 0 {
		t.Fatal("a flow beyond the limit was relayed")
	}
	log.WaitFor(t, 5*time.Second, "at its limit")
}

// New routes apply to new flows only; an open flow keeps its endpoint.
func TestRouteChangesDoNotCutOpenFlows(t *testing.T) {
	a, b := startBackend(t, false), startBackend(t, false)
	l := serve(t, SocketOptions{Protocol: TCP})
	l.SetRoutes(routesTo(false, a))
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	g1, _ := r.ReadString('\n')
	l.SetRoutes(routesTo(false, b))
	fmt.Fprintf(c, "still here\n")
	if echo, err := r.ReadString('\n'); err != nil || echo != "still here\n" {
		t.Fatalf("open flow after the change: %q, %v", echo, err)
	}
	c2, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	g2, _ := bufio.NewReader(c2).ReadString('\n')
	if !strings.HasSuffix(g1, a.ln.Addr().String()+"\n") || !strings.HasSuffix(g2, b.ln.Addr().String()+"\n") {
		t.Fatalf("first flow %q, second %q", g1, g2)
	}
}

// udpBackend answers each datagram with "<client seen> <payload>", reading the
// PROXY header that precedes every datagram.
func udpBackend(t *testing.T) *net.UDPConn {
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, MaxDatagram)
		for {
			n, from, err := pc.ReadFromUDP(buf)
			if err != nil {
				return
			}
			h, payload, err := proxyproto.ParseUDPDatagram(buf[:n])
			if err != nil {
				pc.WriteToUDP([]byte("no header"), from)
				continue
			}
			pc.WriteToUDP(fmt.Appendf(nil, "%s %s", h.SourceAddr, payload), from)
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
	return pc
}

func TestUDPFlowsCarryTheClientAddress(t *testing.T) {
	be := udpBackend(t)
	l := serve(t, SocketOptions{Protocol: UDP, IdleTimeout: 300 * time.Millisecond, Metrics: NewMetrics(nil)})
	ap := be.LocalAddr().(*net.UDPAddr).AddrPort()
	l.SetRoutes(&Routes{
		Router: NewRouter(AffinityNone, nil, []RouteGroup{{Region: "here", Dial: 100, Endpoints: []RouteEndpoint{{ID: "u", Weight: 1, Healthy: true}}}}),
		Groups: map[string]GroupTargets{"here": {Endpoints: map[string]EndpointTarget{"u": {Host: ap.Addr().String(), Port: ap.Port(), ClientIPPreservation: true}}}},
	})
	c, err := net.Dial("udp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 1500)
	for i := range 3 {
		msg := fmt.Sprint("ping ", i)
		c.Write([]byte(msg))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		if want := c.LocalAddr().String() + " " + msg; string(buf[:n]) != want {
			t.Fatalf("answer %q, want %q", buf[:n], want)
		}
	}
	if n := l.Active(); n != 1 {
		t.Fatalf("%d flows for one client", n)
	}
	// Idle, the flow ends.
	testutil.WaitFor(t, 5*time.Second, func() error {
		if n := l.Active(); n != 0 {
			return fmt.Errorf("%d flows open", n)
		}
		return nil
	})
}
