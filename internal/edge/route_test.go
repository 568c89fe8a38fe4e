package edge

import (
	"fmt"
	"math"
	"net/netip"
	"testing"
)

func testFlow(i int) Flow {
	return Flow{Protocol: "TCP",
		Src: netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)}), uint16(1024+i%50000)),
		Dst: netip.MustParseAddrPort("192.0.2.10:443")}
}

func ep(id string, w int, healthy bool) RouteEndpoint {
	return RouteEndpoint{ID: id, Weight: w, Healthy: healthy}
}

// The traffic-dial example of the Global Accelerator guide: two groups at 50%,
// half of the clients nearer each. Each group serves 25% local and 25% spilled.
func TestTrafficDialExample(t *testing.T) {
	groups := []RouteGroup{
		{Region: "us-west", Dial: 50, Endpoints: []RouteEndpoint{ep("w1", 128, true)}},
		{Region: "us-east", Dial: 50, Endpoints: []RouteEndpoint{ep("e1", 128, true)}},
	}
	west := NewRouter(AffinityNone, []string{"us-west", "us-east"}, groups)
	east := NewRouter(AffinityNone, []string{"us-east", "us-west"}, groups)
	served := map[string]int{}
	const n = 20000
	for i := range n {
		r := west
		if i%2 == 1 {
			r = east
		}
		d, _ := r.Route(testFlow(i))
		served[fmt.Sprintf("%s from %s", d.Region, map[bool]string{true: "west", false: "east"}[i%2 == 0])]++
	}
	for k, c := range served {
		if frac := float64(c) / n; math.Abs(frac-0.25) > 0.02 {
			t.Errorf("%s: %.3f of flows, want 0.25", k, frac)
		}
	}
	if len(served) != 4 {
		t.Fatalf("served %v", served)
	}
}

// Weights hold within a group: chi-square against the weights' shares.
func TestWeightsChiSquare(t *testing.T) {
	r := NewRouter(AffinityNone, []string{"eu"}, []RouteGroup{{Region: "eu", Dial: 100,
		Endpoints: []RouteEndpoint{ep("a", 200, true), ep("b", 100, true), ep("c", 50, true), ep("zero", 0, true)}}})
	const n = 35000
	got := map[string]float64{}
	for i := range n {
		d, _ := r.Route(testFlow(i))
		got[d.Endpoint]++
	}
	if got["zero"] != 0 {
		t.Fatal("a weight-0 endpoint got flows")
	}
	chi := 0.0
	for id, share := range map[string]float64{"a": 200.0 / 350, "b": 100.0 / 350, "c": 50.0 / 350} {
		exp := share * n
		chi += (got[id] - exp) * (got[id] - exp) / exp
	}
	if chi > 13.8 { // p = 0.001 with 2 degrees of freedom
		t.Fatalf("chi-square %.1f: %v", chi, got)
	}
}

func TestSourceIPAffinityKeepsAClientOnOneEndpoint(t *testing.T) {
	r := NewRouter(AffinitySourceIP, []string{"eu", "us"}, []RouteGroup{
		{Region: "eu", Dial: 50, Endpoints: []RouteEndpoint{ep("a", 128, true), ep("b", 128, true)}},
		{Region: "us", Dial: 100, Endpoints: []RouteEndpoint{ep("c", 128, true)}}})
	for c := range 200 {
		src := netip.AddrFrom4([4]byte{203, 0, 113, byte(c)})
		first, _ := r.Route(Flow{"TCP", netip.AddrPortFrom(src, 1000), netip.MustParseAddrPort("192.0.2.1:80")})
		for p := range 20 {
			d, _ := r.Route(Flow{"TCP", netip.AddrPortFrom(src, uint16(2000+p)), netip.MustParseAddrPort("192.0.2.1:80")})
			if d != first {
				t.Fatalf("client %v: %v then %v", src, first, d)
			}
		}
	}
}

func TestFailoverSkipsDialsAndFailsOpen(t *testing.T) {
	proximity := []string{"a", "b", "c", "d", "e"}
	groups := []RouteGroup{
		{Region: "a", Dial: 100, Endpoints: []RouteEndpoint{ep("a1", 128, false)}},
		{Region: "b", Dial: 100, Endpoints: []RouteEndpoint{ep("b1", 128, false)}},
		{Region: "c", Dial: 0, Endpoints: []RouteEndpoint{ep("c1", 128, true)}}, // dial 0 still takes failover
		{Region: "e", Dial: 100, Endpoints: []RouteEndpoint{ep("e1", 128, true)}},
	}
	d, _ := NewRouter(AffinityNone, proximity, groups).Route(testFlow(1))
	if d.Region != "c" || d.Reason != ReasonFailover {
		t.Fatalf("failover went to %+v, want c", d)
	}
	// Only the three closest other groups are tried.
	groups[2].Endpoints[0].Healthy = false
	groups = append(groups, RouteGroup{Region: "d", Dial: 100, Endpoints: []RouteEndpoint{ep("d1", 128, false)}})
	d, _ = NewRouter(AffinityNone, proximity, groups).Route(testFlow(1))
	if d.Region != "a" || d.Reason != ReasonFailOpen {
		t.Fatalf("with the three closest others unhealthy: %+v, want fail-open to a", d)
	}
	// A weight-0 endpoint takes no failover either, but fail-open uses it when it is all there is.
	d, _ = NewRouter(AffinityNone, []string{"x"}, []RouteGroup{{Region: "x", Dial: 100, Endpoints: []RouteEndpoint{ep("x0", 0, true)}}}).Route(testFlow(2))
	if d.Endpoint != "x0" || d.Reason != ReasonFailOpen {
		t.Fatalf("all weights 0: %+v", d)
	}
	if _, ok := NewRouter(AffinityNone, nil, nil).Route(testFlow(3)); ok {
		t.Fatal("a route without groups")
	}
}

func TestRemovingAnEndpointMovesFewFlows(t *testing.T) {
	var eps []RouteEndpoint
	for i := range 5 {
		eps = append(eps, ep(fmt.Sprintf("10.0.0.%d:80", i), 128, true))
	}
	before := NewRouter(AffinityNone, []string{"r"}, []RouteGroup{{Region: "r", Dial: 100, Endpoints: eps}})
	after := NewRouter(AffinityNone, []string{"r"}, []RouteGroup{{Region: "r", Dial: 100, Endpoints: eps[:4]}})
	moved := 0
	const n = 50000
	for i := range n {
		a, _ := before.Route(testFlow(i))
		b, _ := after.Route(testFlow(i))
		if a != b {
			moved++
		}
	}
	if frac := float64(moved) / n; frac > 1.0/5+0.02 {
		t.Fatalf("%.3f of flows moved", frac)
	}
}
