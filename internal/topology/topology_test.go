package topology

import (
	"math"
	"testing"
	"time"
)

var defaults = []Region{
	{Name: "us-east", Lat: 38.9, Lon: -77.4, Zone: "us"},
	{Name: "eu-west", Lat: 53.3, Lon: -6.3, Zone: "eu"},
	{Name: "ap-southeast", Lat: 1.35, Lon: 103.8, Zone: "apac"},
}

func TestDistanceKm(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		lat1, lon1, lat2, lon2 float64
		want                   float64
	}{
		{"same point", 10, 20, 10, 20, 0},
		{"quarter meridian", 0, 0, 90, 0, math.Pi * earthRadiusKm / 2},
		{"antipodes", 0, 0, 0, 180, math.Pi * earthRadiusKm},
		// Washington Dulles to Dublin, about 5,450 km.
		{"us-east to eu-west", 38.9, -77.4, 53.3, -6.3, 5450},
	} {
		got := DistanceKm(tc.lat1, tc.lon1, tc.lat2, tc.lon2)
		if math.Abs(got-tc.want) > 0.01*tc.want+0.001 {
			t.Errorf("%s: DistanceKm = %.1f, want %.1f (±1%%)", tc.name, got, tc.want)
		}
	}
}

func TestRTTModel(t *testing.T) {
	topo, err := New(defaults, nil)
	if err != nil {
		t.Fatal(err)
	}
	rtt := topo.RTT("us-east", "eu-west")
	if rtt < 74*time.Millisecond || rtt > 80*time.Millisecond {
		t.Errorf("us-east<->eu-west RTT = %v, want about 77ms", rtt)
	}
	if topo.RTT("eu-west", "us-east") != rtt {
		t.Error("RTT is not symmetric")
	}
	if topo.OneWay("us-east", "us-east") != 0 {
		t.Error("a region has latency to itself")
	}
	if got := topo.OneWay("us-east", "nowhere"); got != 0 {
		t.Errorf("unknown region latency = %v", got)
	}
}

func TestOverrides(t *testing.T) {
	topo, err := New(defaults, map[Pair]time.Duration{{"eu-west", "us-east"}: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if got := topo.OneWay("us-east", "eu-west"); got != 10*time.Millisecond {
		t.Errorf("override one-way = %v, want 10ms", got)
	}
	if got := topo.RTT("eu-west", "us-east"); got != 20*time.Millisecond {
		t.Errorf("override RTT = %v, want 20ms", got)
	}
	if _, err := New(defaults, map[Pair]time.Duration{{"us-east", "mars"}: time.Millisecond}); err == nil {
		t.Error("override naming an unknown region accepted")
	}
	if _, err := New(append(defaults, defaults[0]), nil); err == nil {
		t.Error("duplicate region accepted")
	}
}

func TestNearest(t *testing.T) {
	topo, err := New(defaults, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		place    string
		lat, lon float64
		want     []string
	}{
		{"Paris", 48.9, 2.35, []string{"eu-west", "us-east", "ap-southeast"}},
		{"Sydney", -33.9, 151.2, []string{"ap-southeast", "us-east", "eu-west"}},
		{"Chicago", 41.9, -87.6, []string{"us-east", "eu-west", "ap-southeast"}},
		{"Mumbai", 19.1, 72.9, []string{"ap-southeast", "eu-west", "us-east"}},
	} {
		got := topo.Nearest(tc.lat, tc.lon)
		for i, r := range got {
			if r.Name != tc.want[i] {
				t.Errorf("%s: nearest order %v, want %v", tc.place, names(got), tc.want)
				break
			}
		}
	}
	if got := names(topo.NearestFromRegion("eu-west")); got[0] != "us-east" || len(got) != 2 {
		t.Errorf("NearestFromRegion(eu-west) = %v", got)
	}
}

func names(rs []Region) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}
