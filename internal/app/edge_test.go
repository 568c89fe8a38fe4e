package app_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"

	"github.com/polyregion/polyregion/internal/config"
	"github.com/polyregion/polyregion/internal/mtest"
	"github.com/polyregion/polyregion/internal/testutil"
)

// edgeHosts are the edge addresses the test fleet's regions listen on: one loopback
// address each, so that all three can serve the same port, as separate machines would.
var edgeHosts = map[string]string{"us-east": "127.0.20.1", "eu-west": "127.0.20.2", "ap-southeast": "127.0.20.3"}

// freeEdgePort returns a TCP port free on every edge host.
func freeEdgePort(t *testing.T) int {
	t.Helper()
	for range 50 {
		ln, err := net.Listen("tcp", edgeHosts["us-east"]+":0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ok := true
		var held []net.Listener
		for _, h := range []string{edgeHosts["eu-west"], edgeHosts["ap-southeast"]} {
			l, err := net.Listen("tcp", net.JoinHostPort(h, strconv.Itoa(port)))
			if err != nil {
				ok = false
				break
			}
			held = append(held, l)
		}
		ln.Close()
		for _, l := range held {
			l.Close()
		}
		if ok {
			return port
		}
	}
	t.Fatal("no port free on every edge host")
	return 0
}

// greeter is a TCP endpoint that reads the PROXY header, then writes
// "<name> <client address>\n" and closes. Stop makes it refuse connections.
type greeter struct {
	name string
	ln   net.Listener
	wg   sync.WaitGroup
}

func startGreeter(t *testing.T, name string) *greeter {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &greeter{name: name, ln: ln}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			g.wg.Add(1)
			go func() {
				defer g.wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				h, err := proxyproto.Read(bufio.NewReader(c))
				client := "no-header"
				if err == nil {
					client = h.SourceAddr.String()
				}
				fmt.Fprintf(c, "%s %s\n", name, client)
			}()
		}
	}()
	t.Cleanup(g.stop)
	return g
}

func (g *greeter) stop() { g.ln.Close(); g.wg.Wait() }

func (g *greeter) addr() string { return g.ln.Addr().String() }

// dialEdge opens a flow at an edge location and returns the greeting and the client's
// own address.
func dialEdge(host string, port int) (greeting, local string, err error) {
	c, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(port)), 2*time.Second)
	if err != nil {
		return "", "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	b, err := io.ReadAll(c)
	return strings.TrimSpace(string(b)), c.LocalAddr().String(), err
}

// udpEchoer answers each datagram, which must start with a PROXY v2 header, with
// "<name> <client address> <payload>".
func udpEchoer(t *testing.T, name string) string {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			h, payload, err := proxyproto.ParseUDPDatagram(buf[:n])
			if err != nil {
				continue
			}
			pc.WriteTo(fmt.Appendf(nil, "%s %s %s", name, h.SourceAddr, payload), from)
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
	return pc.LocalAddr().String()
}

func TestEdgeRoutesToTheNearestHealthyRegion(t *testing.T) {
	port := freeEdgePort(t)
	udpEchoes := map[string]string{}
	for _, r := range []string{"us-east", "eu-west", "ap-southeast"} {
		udpEchoes[r] = udpEchoer(t, r)
	}
	greeters := map[string]*greeter{}
	for _, r := range []string{"us-east", "eu-west", "ap-southeast"} {
		greeters[r] = startGreeter(t, r)
	}
	c := mtest.Start(t, mtest.Options{OneWay: 2 * time.Millisecond, ControlTiming: fastControl, Configure: func(cfg *config.Config) {
		for i := range cfg.Regions {
			cfg.Regions[i].Listen.Edge = edgeHosts[cfg.Regions[i].Name]
		}
		var groups []config.EdgeEndpointGroup
		for _, r := range []string{"us-east", "eu-west", "ap-southeast"} {
			groups = append(groups, config.EdgeEndpointGroup{Region: r,
				HealthCheck: config.EdgeHealthCheck{Interval: 1, Threshold: 1},
				Endpoints:   []config.EdgeEndpoint{{Address: greeters[r].addr(), ClientIPPreservation: true}}})
		}
		// UDP endpoints are checked over TCP: each region's TCP greeter stands for its
		// UDP echo's health.
		var udpGroups []config.EdgeEndpointGroup
		for _, r := range []string{"us-east", "eu-west", "ap-southeast"} {
			_, gport, _ := net.SplitHostPort(greeters[r].addr())
			var hp int
			fmt.Sscan(gport, &hp)
			udpGroups = append(udpGroups, config.EdgeEndpointGroup{Region: r,
				HealthCheck: config.EdgeHealthCheck{Interval: 1, Threshold: 1, Port: hp},
				Endpoints:   []config.EdgeEndpoint{{Address: udpEchoes[r], ClientIPPreservation: true}}})
		}
		cfg.Edge.Accelerators = []config.EdgeAccelerator{{Name: "web", Listeners: []config.EdgeListener{
			{Protocol: "TCP", Ports: []string{fmt.Sprint(port)}, EndpointGroups: groups},
			{Protocol: "UDP", Ports: []string{fmt.Sprint(port)}, EndpointGroups: udpGroups},
		}}}
	}})
	_ = c
	// Each edge location sends its flows to its own region's endpoint once the checks passed,
	// and the endpoint sees the client's own address.
	for region, host := range edgeHosts {
		testutil.WaitFor(t, 15*time.Second, func() error {
			g, local, err := dialEdge(host, port)
			if err != nil {
				return err
			}
			if want := region + " " + local; g != want {
				return fmt.Errorf("edge %s answered %q, want %q", region, g, want)
			}
			return nil
		})
	}
	// UDP: the same, with the client's address in the PROXY header of every datagram.
	for region, host := range edgeHosts {
		testutil.WaitFor(t, 15*time.Second, func() error {
			c, err := net.Dial("udp", net.JoinHostPort(host, strconv.Itoa(port)))
			if err != nil {
				return err
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(time.Second))
			c.Write([]byte("ping"))
			buf := make([]byte, 512)
			n, err := c.Read(buf)
			if err != nil {
				return err
			}
			if want := region + " " + c.LocalAddr().String() + " ping"; string(buf[:n]) != want {
				return fmt.Errorf("edge %s answered %q, want %q", region, buf[:n], want)
			}
			return nil
		})
	}
	// eu-west's endpoint fails: new flows at the eu-west edge go to the next-nearest group
	// within interval × threshold + 1 s.
	greeters["eu-west"].stop()
	start := time.Now()
	took := testutil.WaitFor(t, 10*time.Second, func() error {
		g, _, err := dialEdge(edgeHosts["eu-west"], port)
		if err != nil {
			return err
		}
		if !strings.HasPrefix(g, "us-east ") {
			return fmt.Errorf("eu-west edge answered %q", g)
		}
		return nil
	})
	t.Logf("failover at the eu-west edge after %v", took)
	if limit := 1*time.Second + 1*time.Second; time.Since(start) > limit+500*time.Millisecond {
		t.Errorf("failover took %v, want within %v (interval × threshold + 1 s) plus 0.5 s of polling", took, limit)
	}
}

// An edge-only location routes by its own coordinates, follows the accelerators through a
// region, and keeps serving the last ones it saw while no region answers.
func TestEdgeOnlyLocation(t *testing.T) {
	const locHost = "127.0.20.9"
	port := freeEdgePort(t)
	greeters := map[string]*greeter{}
	for _, r := range []string{"us-east", "eu-west", "ap-southeast"} {
		greeters[r] = startGreeter(t, r)
	}
	c := mtest.Start(t, mtest.Options{OneWay: 2 * time.Millisecond, ControlTiming: fastControl, Configure: func(cfg *config.Config) {
		// Tokyo: nearest to ap-southeast (Singapore) by the latency model.
		cfg.Edge.Locations = []config.EdgeLocation{{Name: "edge-tokyo", Lat: 35.7, Lon: 139.7, Listen: locHost}}
		var groups []config.EdgeEndpointGroup
		for _, r := range []string{"us-east", "eu-west", "ap-southeast"} {
			groups = append(groups, config.EdgeEndpointGroup{Region: r,
				HealthCheck: config.EdgeHealthCheck{Interval: 1, Threshold: 1},
				Endpoints:   []config.EdgeEndpoint{{Address: greeters[r].addr(), ClientIPPreservation: true}}})
		}
		cfg.Edge.Accelerators = []config.EdgeAccelerator{{Name: "web", Listeners: []config.EdgeListener{
			{Protocol: "TCP", Ports: []string{fmt.Sprint(port)}, EndpointGroups: groups}}}}
	}})
	loc := c.StartEdgeLocation("edge-tokyo")
	testutil.WaitFor(t, 15*time.Second, func() error {
		// Until every check is known the route may still move (a group whose checks are
		// known and healthy wins over one whose are not yet).
		st := loc.Status()
		for _, h := range st.Health {
			if !h.Known() {
				return fmt.Errorf("the location's check %s is still initializing", h.ID)
			}
		}
		if len(st.Health) != 3 {
			return fmt.Errorf("the location has %d checks, want 3", len(st.Health))
		}
		g, local, err := dialEdge(locHost, port)
		if err != nil {
			return err
		}
		if want := "ap-southeast " + local; g != want {
			return fmt.Errorf("edge-tokyo answered %q, want %q", g, want)
		}
		return nil
	})
	if st := loc.Status(); st.Via == "" || st.Nearest[0] != "ap-southeast" || len(st.Edge) != 1 {
		t.Fatalf("status %+v", st)
	}
	// The fleet goes away; the location keeps serving what it last saw.
	for _, r := range c.Names() {
		c.Stop(r)
	}
	if g, _, err := dialEdge(locHost, port); err != nil || !strings.HasPrefix(g, "ap-southeast ") {
		t.Fatalf("with no region up: %q, %v", g, err)
	}
}
