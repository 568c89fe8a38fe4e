package policy

import (
	"net/netip"
	"testing"
	"time"

	"github.com/polyregion/polyregion/internal/dns/zone"
)

func latencyGroup() []*zone.RecordSet {
	return []*zone.RecordSet{
		checked(&zone.RecordSet{SetIdentifier: "use", Region: "us-east"}),
		checked(&zone.RecordSet{SetIdentifier: "euw", Region: "eu-west"}),
		checked(&zone.RecordSet{SetIdentifier: "aps", Region: "ap-southeast"}),
	}
}

func rtts(ms map[string]int) func(string) (time.Duration, bool) {
	return func(region string) (time.Duration, bool) {
		v, ok := ms[region]
		return time.Duration(v) * time.Millisecond, ok
	}
}

func TestLatency(t *testing.T) {
	europe := map[string]int{"us-east": 80, "eu-west": 10, "ap-southeast": 160}
	for _, tc := range []struct {
		name    string
		group   []*zone.RecordSet
		latency map[string]int // nil: no Latency function
		region  string
		down    []string
		want    string
	}{
		{"lowest round trip", latencyGroup(), europe, "us-east", nil, "euw"},
		{"best down: next best", latencyGroup(), europe, "us-east", []string{"euw"}, "use"},
		{"two best down: the third", latencyGroup(), europe, "us-east", []string{"euw", "use"}, "aps"},
		{"all down: best as if healthy", latencyGroup(), europe, "us-east", []string{"euw", "use", "aps"}, "euw"},
		{"only regions with records count", latencyGroup()[:1], europe, "eu-west", nil, "use"},
		{"no data: the answering region's record", latencyGroup(), map[string]int{}, "ap-southeast", nil, "aps"},
		{"no Latency function: the answering region's record", latencyGroup(), nil, "eu-west", nil, "euw"},
		{"no data, answering region down: first by SetIdentifier", latencyGroup(), nil, "eu-west", []string{"euw"}, "aps"},
		{"no data, no record for the answering region: first by SetIdentifier", latencyGroup(), nil, "sa-east", nil, "aps"},
		{"regions without data rank after those with", latencyGroup(), map[string]int{"us-east": 300}, "eu-west", nil, "use"},
		{"...and are next when those are down", latencyGroup(), map[string]int{"us-east": 300}, "eu-west", []string{"use"}, "euw"},
		{"equal round trips: SetIdentifier", latencyGroup(), map[string]int{"us-east": 50, "eu-west": 50, "ap-southeast": 50}, "", nil, "aps"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := Env{Region: tc.region, Healthy: down(tc.down...)}
			if tc.latency != nil {
				env.Latency = rtts(tc.latency)
			}
			if got := chosen(Latency(tc.group, env)); got != tc.want {
				t.Errorf("Latency chose %s, want %s", got, tc.want)
			}
		})
	}
}

func TestLatencyScope(t *testing.T) {
	data := rtts(map[string]int{"us-east": 10, "eu-west": 90})
	for _, tc := range []struct {
		name  string
		env   Env
		group []*zone.RecordSet
		want  int
	}{
		{"from the client's location", Env{Latency: data,
			Client: client("192.0.2.0/24", located("192.0.2.0/26", "NA", "US", "VA", 39, -77.5))}, latencyGroup(), 26},
		{"table network longer than the location's", Env{Latency: data, LatencyNetwork: netip.MustParsePrefix("192.0.2.0/28"),
			Client: client("192.0.2.0/24", located("192.0.2.0/26", "NA", "US", "VA", 39, -77.5))}, latencyGroup(), 28},
		{"table network shorter than the location's", Env{Latency: data, LatencyNetwork: netip.MustParsePrefix("192.0.0.0/16"),
			Client: client("192.0.2.0/24", located("192.0.2.0/26", "NA", "US", "VA", 39, -77.5))}, latencyGroup(), 26},
		{"unmapped client: its source prefix", Env{Latency: data, Client: client("198.51.100.192/27", nil)}, latencyGroup(), 27},
		{"unmapped client, table network", Env{Latency: data, LatencyNetwork: netip.MustParsePrefix("198.51.100.0/30"),
			Client: client("198.51.100.0/24", nil)}, latencyGroup(), 30},
		{"one set: the same answer for everyone", Env{Latency: data,
			Client: client("192.0.2.0/24", located("192.0.2.0/26", "NA", "US", "VA", 39, -77.5))}, latencyGroup()[:1], 0},
		{"no client at all", Env{Latency: data}, latencyGroup(), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Latency(tc.group, tc.env).Scope; got != tc.want {
				t.Errorf("scope %d, want %d", got, tc.want)
			}
		})
	}
}
