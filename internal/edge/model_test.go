package edge

import (
	"errors"
	"strings"
	"testing"
)

func sampleAccelerator() Accelerator {
	a := Accelerator{Name: "web", Enabled: true, Listeners: []Listener{{
		ListenerArn: "arn:aws:globalaccelerator::000000000000:accelerator/a1/listener/l1",
		Protocol:    TCP, PortRanges: []PortRange{{8080, 8081}},
		EndpointGroups: []EndpointGroup{
			{EndpointGroupArn: "g-east", EndpointGroupRegion: "us-east", TrafficDialPercentage: 100,
				Endpoints: []Endpoint{{EndpointId: "127.0.0.1:9001", Weight: 128}, {EndpointId: "127.0.0.2", Weight: 0}}},
			{EndpointGroupArn: "g-west", EndpointGroupRegion: "eu-west", TrafficDialPercentage: 100,
				PortOverrides: []PortOverride{{8080, 9080}},
				Endpoints:     []Endpoint{{EndpointId: "127.0.0.3", Weight: 10, ClientIPPreservationEnabled: true}}},
		},
	}}}
	a.SetDefaults()
	return a
}

var fleetRegions = []string{"us-east", "eu-west", "ap-southeast"}

func TestValidAccelerator(t *testing.T) {
	a := sampleAccelerator()
	if err := a.Validate(fleetRegions); err != nil {
		t.Fatal(err)
	}
	if g := a.Listeners[0].EndpointGroups[0]; g.HealthCheckProtocol != "TCP" || g.ThresholdCount != 3 || g.HealthCheckIntervalSeconds != 30 {
		t.Fatalf("defaults: %+v", g)
	}
}

func TestInvalidAcceleratorNamesEveryProblem(t *testing.T) {
	a := sampleAccelerator()
	a.Name = "-bad"
	l := &a.Listeners[0]
	l.Protocol = "SCTP"
	l.PortRanges = append(l.PortRanges, PortRange{8081, 8090})
	g := &l.EndpointGroups[1]
	g.EndpointGroupRegion = "mars"
	g.TrafficDialPercentage = 101
	g.PortOverrides = append(g.PortOverrides, PortOverride{7000, 1})
	g.Endpoints = append(g.Endpoints, Endpoint{EndpointId: "example.com", Weight: 300})
	err := a.Validate(fleetRegions)
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{
		"Name: \"-bad\"",
		"Listeners[0].Protocol: \"SCTP\"",
		"Listeners[0].PortRanges: edge: overlapping listener ports: SCTP ports 8080-8081 and 8081-8090 overlap",
		"Listeners[0].EndpointGroups[1].EndpointGroupRegion: \"mars\" is not a region",
		"TrafficDialPercentage: 101 is outside 0-100",
		"PortOverrides[1].ListenerPort: 7000 is not a port of the listener",
		"EndpointDescriptions[1].EndpointId: \"example.com\" is not an IP address",
		"EndpointDescriptions[1].Weight: 300 is outside 0-255",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestUDPListenersAreCheckedOverTCP(t *testing.T) {
	a := sampleAccelerator()
	a.Listeners[0].Protocol = UDP
	a.Listeners[0].EndpointGroups[0].HealthCheckProtocol = "HTTP"
	a.Listeners[0].EndpointGroups[0].HealthCheckPath = "/"
	if err := a.Validate(fleetRegions); err == nil || !strings.Contains(err.Error(), "checked over TCP") {
		t.Fatalf("err = %v", err)
	}
}

func TestAcceleratorsMayNotSharePorts(t *testing.T) {
	a, b := sampleAccelerator(), sampleAccelerator()
	if err := ValidateSet([]Accelerator{a, b}); !errors.Is(err, ErrPortConflict) {
		t.Fatalf("same TCP ports: %v", err)
	}
	b.Listeners[0].Protocol = UDP
	if err := ValidateSet([]Accelerator{a, b}); err != nil {
		t.Fatalf("TCP and UDP on one port: %v", err)
	}
}

func TestBuildRoutesRoutesOnlyToPassedEndpoints(t *testing.T) {
	a := sampleAccelerator()
	l := &a.Listeners[0]
	east := l.EndpointGroups[0]
	passed := map[string]bool{HealthCheckID("g-west", "127.0.0.3"): true}
	healthy := func(id string) (bool, bool) { return true, passed[id] } // the rest still initializing
	rt := BuildRoutes(l, []string{"us-east", "eu-west"}, healthy)
	d, _ := rt.Router.Route(testFlow(1))
	if d.Region != "eu-west" || d.Reason != ReasonFailover {
		t.Fatalf("with us-east's endpoints not yet passed: %+v", d)
	}
	addr, e, ok := rt.target(d, 8080)
	if !ok || addr != "127.0.0.3:9080" || !e.ClientIPPreservation {
		t.Fatalf("target %s %+v %v, want the port override", addr, e, ok)
	}
	if addr, _, _ := rt.target(d, 8081); addr != "127.0.0.3:8081" {
		t.Fatalf("port without override: %s", addr)
	}
	passed[HealthCheckID("g-east", "127.0.0.1:9001")] = true
	rt = BuildRoutes(l, []string{"us-east", "eu-west"}, healthy)
	d, _ = rt.Router.Route(testFlow(1))
	if d.Region != "us-east" || d.Endpoint != "127.0.0.1:9001" {
		t.Fatalf("after passing: %+v", d)
	}
	if p := HealthPort(l, &east, &east.Endpoints[0]); p != 9001 {
		t.Fatalf("health port of an ip:port endpoint: %d", p)
	}
	if p := HealthPort(l, &east, &east.Endpoints[1]); p != 8080 {
		t.Fatalf("health port of an ip endpoint: %d, want the listener's first port", p)
	}
}
