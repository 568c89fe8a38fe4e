package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDefault(t *testing.T) {
	c := Default()
	if got := strings.Join(c.RegionNames(), ","); got != "us-east,eu-west,ap-southeast" {
		t.Fatalf("default regions = %s", got)
	}
	want := map[string]struct {
		lat, lon float64
		zone     string
	}{
		"us-east":      {38.9, -77.4, "us"},
		"eu-west":      {53.3, -6.3, "eu"},
		"ap-southeast": {1.35, 103.8, "apac"},
	}
	for _, r := range c.Regions {
		w := want[r.Name]
		if r.Lat != w.lat || r.Lon != w.lon || r.Zone != w.zone {
			t.Errorf("%s = (%v, %v, %s), want %v", r.Name, r.Lat, r.Lon, r.Zone, w)
		}
		if r.PeerAddress != r.Listen.Peer {
			t.Errorf("%s: peer address not defaulted to the listen address", r.Name)
		}
	}
	topo, err := c.Topology()
	if err != nil {
		t.Fatal(err)
	}
	if rtt := topo.RTT("us-east", "eu-west"); rtt < 74*time.Millisecond || rtt > 80*time.Millisecond {
		t.Errorf("us-east<->eu-west = %v, want about 77ms", rtt)
	}
}

// TestValidateReportsEveryProblem is the acceptance test: three mistakes, three problems,
// each with its path.
func TestValidateReportsEveryProblem(t *testing.T) {
	_, err := Parse([]byte(`
zones: [us, eu]
regions:
  - name: us-east
    lat: 38.9
    lon: -77.4
    zone: us
    listen: {peer: "127.0.0.1:0", control: "127.0.0.1:0"}
  - name: eu-west
    lat: 153.3
    lon: -6.3
    zone: eu
    listen: {peer: "127.0.0.1:0", control: "127.0.0.1:0"}
  - name: eu-central
    lat: 50.1
    lon: 8.7
    zone: eu2
    listen: {peer: "127.0.0.1", control: "127.0.0.1:0"}
`))
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("err = %v, want a ValidationError", err)
	}
	want := []string{
		`regions[1].lat: 153.3 is outside -90..90`,
		`regions[2].zone: unknown zone "eu2" (zones: us, eu)`,
		`regions[2].listen.peer: "127.0.0.1" is not host:port`,
	}
	if strings.Join(verr.Problems, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(verr.Problems, "\n"), strings.Join(want, "\n"))
	}
}

func TestValidateCases(t *testing.T) {
	base := "regions:\n  - {name: a1, lat: 0, lon: 0, zone: z, listen: {peer: \"127.0.0.1:0\", control: \"127.0.0.1:0\"}}\n"
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"no regions", "data_dir: x\n", "regions: at least one region is required"},
		{"unknown field", base + "colour: blue\n", "field colour not found"},
		{"bad name", "regions:\n  - {name: A_1, zone: z, listen: {peer: \"127.0.0.1:0\", control: \"127.0.0.1:0\"}}\n", `regions[0].name: "A_1" is not a region name`},
		{"duplicate", base + "  - {name: a1, zone: z, listen: {peer: \"127.0.0.1:0\", control: \"127.0.0.1:0\"}}\n", `regions[1].name: "a1" is already the name of regions[0]`},
		{"latency unknown region", base + "latency:\n  - {between: [a1, b2], one_way: 10ms}\n", `latency[0].between[1]: unknown region "b2"`},
		{"latency bad duration", base + "latency:\n  - {between: [a1, a1], one_way: soon}\n", `"soon" is not a duration`},
		{"short key", base + "credentials: {access_key_id: AK, secret_access_key: 0123456789abcdef}\n", "credentials.access_key_id: must be 16 to 128 characters"},
		{"wildcard peer address", "regions:\n  - {name: a1, zone: z, listen: {peer: \":7100\", control: \"127.0.0.1:0\"}}\n", `regions[0].peer_address: ":7100" must name a host`},
		{"log level", base + "log: {level: loud}\n", `log.level: "loud" is not one of`},
	} {
		_, err := Parse([]byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	c := Default()
	c.Latency = []LatencyPair{{Between: []string{"us-east", "eu-west"}, OneWay: Duration(40 * time.Millisecond)}}
	b, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	c2, err := Parse(b)
	if err != nil {
		t.Fatalf("re-parse: %v\n%s", err, b)
	}
	topo, _ := c2.Topology()
	if got := topo.OneWay("eu-west", "us-east"); got != 40*time.Millisecond {
		t.Errorf("override after round trip = %v", got)
	}
}

func TestSubset(t *testing.T) {
	c, err := Default().Subset([]string{"eu-west", "us-east"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.RegionNames(), ","); got != "eu-west,us-east" {
		t.Errorf("subset = %s", got)
	}
	if _, err := Default().Subset([]string{"mars"}); err == nil || !strings.Contains(err.Error(), `no region "mars"`) {
		t.Errorf("unknown region: err = %v", err)
	}
}

// TestExample keeps examples/polyregion.yaml valid.
func TestExample(t *testing.T) {
	c, err := Load("../../examples/polyregion.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Regions) != 3 || c.Regions[1].PeerAddress != "10.0.2.10:7100" {
		t.Errorf("example parsed as %+v", c.Regions)
	}
}
