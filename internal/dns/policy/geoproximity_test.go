package policy

import (
	"math"
	"net/netip"
	"testing"

	"github.com/polyregion/polyregion/internal/dns/geoip"
	"github.com/polyregion/polyregion/internal/dns/zone"
	"github.com/polyregion/polyregion/internal/topology"
)

func TestBiasedDistance(t *testing.T) {
	for _, tc := range []struct {
		km   float64
		bias int
		want float64
	}{
		{150, 50, 75}, // the Route 53 example: +50 halves
		{100, 0, 100},
		{100, -50, 200}, // −50 doubles
		{100, 25, 75},
		{100, -25, 100 / 0.75},
		{100, 99, 1},
		{100, -99, 10000},
		{100, 150, 1},      // clamped to +99
		{100, -150, 10000}, // clamped to −99
		{0, -99, 0},
	} {
		if got := BiasedDistance(tc.km, tc.bias); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("BiasedDistance(%v, %d) = %v, want %v", tc.km, tc.bias, got, tc.want)
		}
	}
}

// eastOf returns the longitude that lies km east of (0, 0) along the equator.
func eastOf(km float64) float64 {
	return km / (6371.0 * math.Pi / 180)
}

func proximity(id string, lat, lon float64, bias int32) *zone.RecordSet {
	return checked(&zone.RecordSet{SetIdentifier: id, GeoProximityLocation: &zone.GeoProximityLocation{
		Coordinates: &zone.Coordinates{Latitude: lat, Longitude: lon}, Bias: &bias,
	}})
}

func proximityRegion(id, region string, bias int32) *zone.RecordSet {
	return checked(&zone.RecordSet{SetIdentifier: id, GeoProximityLocation: &zone.GeoProximityLocation{
		AWSRegion: region, Bias: &bias,
	}})
}

func TestGeoproximityRouteFiftyThreeExample(t *testing.T) {
	// A at 150 km with bias +50 (75 km biased) beats B at 100 km unbiased.
	origin := &geoip.Location{Continent: "AF", Country: "GA", HasCoords: true, Network: netip.MustParsePrefix("192.0.2.0/26")}
	if d := topology.DistanceKm(0, 0, 0, eastOf(150)); math.Abs(d-150) > 1e-6 {
		t.Fatalf("test geometry: A is %v km away", d)
	}
	env := Env{Client: client("192.0.2.0/24", origin)}
	for _, tc := range []struct {
		name  string
		biasA int32
		want  string
	}{
		{"A +50 at 150 km beats B at 100 km", 50, "A"},
		{"A +33 at 150 km (100.5 km) loses to B", 33, "B"},
		{"A unbiased at 150 km loses", 0, "B"},
		{"A −50 doubles to 300 km", -50, "B"},
	} {
		group := []*zone.RecordSet{proximity("A", 0, eastOf(150), tc.biasA), proximity("B", 0, -eastOf(100), 0)}
		if got := chosen(Geoproximity(group, env)); got != tc.want {
			t.Errorf("%s: chose %s", tc.name, got)
		}
	}
	// −50 doubles: B at 100 km with −50 (200 km) loses to A at 150 km.
	group := []*zone.RecordSet{proximity("A", 0, eastOf(150), 0), proximity("B", 0, -eastOf(100), -50)}
	if got := chosen(Geoproximity(group, env)); got != "A" {
		t.Errorf("B at 100 km with −50: chose %s, want A", got)
	}
}

func TestGeoproximity(t *testing.T) {
	regions := map[string][2]float64{
		"us-east": {39.04, -77.49}, "eu-west": {53.35, -6.26}, "ap-southeast": {1.29, 103.85},
	}
	coords := func(r string) (float64, float64, bool) {
		c, ok := regions[r]
		return c[0], c[1], ok
	}
	fleet := func() []*zone.RecordSet {
		return []*zone.RecordSet{
			proximityRegion("use", "us-east", 0), proximityRegion("euw", "eu-west", 0),
			proximityRegion("aps", "ap-southeast", 0),
		}
	}
	for _, tc := range []struct {
		name   string
		group  []*zone.RecordSet
		loc    *geoip.Location
		region string
		coords bool
		down   []string
		want   string
		scope  int
	}{
		{"nearest region", fleet(), frankfurt, "us-east", true, nil, "euw", 26},
		{"nearest down: next nearest", fleet(), frankfurt, "us-east", true, []string{"euw"}, "use", 26},
		{"all down: nearest as if healthy", fleet(), tokyo, "us-east", true, []string{"euw", "use", "aps"}, "aps", 26},
		{"bias pulls Toronto to Dublin", []*zone.RecordSet{
			proximityRegion("use", "us-east", -90), proximityRegion("euw", "eu-west", 60),
		}, toronto, "us-east", true, nil, "euw", 25},
		{"coordinates beside regions", []*zone.RecordSet{
			proximityRegion("use", "us-east", 0), proximity("sj", 37.34, -121.89, 0),
		}, california, "us-east", true, nil, "sj", 26},
		{"unknown region ranks last", []*zone.RecordSet{
			proximityRegion("mars", "mars-north", 99), proximityRegion("aps", "ap-southeast", 0),
		}, virginia, "us-east", true, nil, "aps", 26},
		{"no region coordinates: records with coordinates first", []*zone.RecordSet{
			proximityRegion("a-use", "us-east", 0), proximity("z-far", -45, 170, 0),
		}, virginia, "us-east", false, nil, "z-far", 26},
		{"equal distances: SetIdentifier", []*zone.RecordSet{
			proximity("b", 50, 8, 0), proximity("a", 50, 8, 0), proximity("c", 50, 8, 0),
		}, frankfurt, "", true, nil, "a", 26},
		{"equal distances, first down: next SetIdentifier", []*zone.RecordSet{
			proximity("b", 50, 8, 0), proximity("a", 50, 8, 0), proximity("c", 50, 8, 0),
		}, frankfurt, "", true, []string{"a"}, "b", 26},
		{"unmapped client: as if at the answering region", fleet(), nil, "ap-southeast", true, nil, "aps", 24},
		{"client without coordinates: the answering region", fleet(),
			&geoip.Location{Continent: "EU", Country: "DE", Network: netip.MustParsePrefix("198.51.100.128/26")},
			"us-east", true, nil, "use", 26},
		{"unmapped, answering region's record down: nearest to it", fleet(), nil, "eu-west", true, []string{"euw"}, "use", 24},
		{"unmapped, no coordinates anywhere: SetIdentifier", fleet(), nil, "eu-west", false, nil, "aps", 24},
		{"one set: the same answer for everyone", fleet()[:1], tokyo, "eu-west", true, nil, "use", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := Env{Client: client("192.0.2.0/24", tc.loc), Region: tc.region, Healthy: down(tc.down...)}
			if tc.coords {
				env.RegionCoordinates = coords
			}
			r := Geoproximity(tc.group, env)
			if got := chosen(r); got != tc.want || r.Scope != tc.scope {
				t.Errorf("Geoproximity = %s scope %d, want %s scope %d", got, r.Scope, tc.want, tc.scope)
			}
		})
	}
}
