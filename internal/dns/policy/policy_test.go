package policy

import (
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/polyregion/polyregion/internal/dns/geoip"
	"github.com/polyregion/polyregion/internal/dns/zone"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// checked gives a record set a health check named after its set identifier.
func checked(rs *zone.RecordSet) *zone.RecordSet {
	rs.HealthCheckID = "hc-" + rs.SetIdentifier
	return rs
}

// down returns a Healthy function as the server's: a set without a health check is
// healthy; a set whose check is listed is not.
func down(ids ...string) func(*zone.RecordSet) bool {
	return func(rs *zone.RecordSet) bool {
		if rs.HealthCheckID == "" {
			return true
		}
		for _, id := range ids {
			if rs.SetIdentifier == id {
				return false
			}
		}
		return true
	}
}

// seeded returns a deterministic Rand.
func seeded(seed uint64) func(int) int {
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)).IntN
}

// ids lists the set identifiers of sets.
func ids(sets []*zone.RecordSet) string {
	var out []string
	for _, rs := range sets {
		out = append(out, rs.SetIdentifier)
	}
	return strings.Join(out, ",")
}

// chosen returns the identifier of a one-set result, "NODATA", or the list.
func chosen(r Result) string {
	if r.NoData {
		return "NODATA"
	}
	return ids(r.Sets)
}

// client builds a Client from an ECS prefix and an optional location.
func client(prefix string, loc *geoip.Location) Client {
	p := netip.MustParsePrefix(prefix)
	return Client{Addr: p.Addr(), Prefix: p, Location: loc}
}

// located is a location in network with the given codes and coordinates.
func located(network, continent, country, subdivision string, lat, lon float64) *geoip.Location {
	return &geoip.Location{
		Continent: continent, Country: country, Subdivision: subdivision,
		Lat: lat, Lon: lon, HasCoords: true, Network: netip.MustParsePrefix(network),
	}
}

func ptr[T any](v T) *T { return &v }

func TestSelectDispatches(t *testing.T) {
	cidrs, err := NewCidrIndex(zone.CidrCollection{ID: "c1", Locations: map[string][]string{"office": {"192.0.2.0/24"}}})
	if err != nil {
		t.Fatal(err)
	}
	newEnv := func() Env {
		return Env{
			Client:            client("192.0.2.0/24", located("192.0.2.0/26", "NA", "US", "VA", 39, -77.5)),
			Region:            "eu-west",
			Healthy:           down(),
			Latency:           func(string) (time.Duration, bool) { return 0, false },
			RegionCoordinates: func(string) (float64, float64, bool) { return 0, 0, false },
			Cidrs:             func(string) *CidrIndex { return cidrs },
			Rand:              seeded(7),
		}
	}
	groups := map[zone.Policy][]*zone.RecordSet{
		zone.PolicySimple: {{SetIdentifier: ""}},
		zone.PolicyWeighted: {
			{SetIdentifier: "a", Weight: ptr[int64](1)}, {SetIdentifier: "b", Weight: ptr[int64](3)},
		},
		zone.PolicyLatency:  {{SetIdentifier: "a", Region: "us-east"}, {SetIdentifier: "b", Region: "eu-west"}},
		zone.PolicyFailover: {{SetIdentifier: "a", Failover: "PRIMARY"}, {SetIdentifier: "b", Failover: "SECONDARY"}},
		zone.PolicyGeolocation: {
			{SetIdentifier: "us", GeoLocation: &zone.GeoLocation{CountryCode: "US"}},
			{SetIdentifier: "def", GeoLocation: &zone.GeoLocation{CountryCode: "*"}},
		},
		zone.PolicyGeoproximity: {
			{SetIdentifier: "a", GeoProximityLocation: &zone.GeoProximityLocation{Coordinates: &zone.Coordinates{Latitude: 50, Longitude: 8}}},
			{SetIdentifier: "b", GeoProximityLocation: &zone.GeoProximityLocation{Coordinates: &zone.Coordinates{Latitude: 39, Longitude: -77}}},
		},
		zone.PolicyMultivalue: {
			{SetIdentifier: "a", MultiValueAnswer: ptr(true)}, {SetIdentifier: "b", MultiValueAnswer: ptr(true)},
		},
		zone.PolicyIPBased: {
			{SetIdentifier: "a", CidrRoutingConfig: &zone.CidrRoutingConfig{CollectionID: "c1", LocationName: "office"}},
			{SetIdentifier: "b", CidrRoutingConfig: &zone.CidrRoutingConfig{CollectionID: "c1", LocationName: "*"}},
		},
	}
	funcs := map[zone.Policy]func([]*zone.RecordSet, Env) Result{
		zone.PolicySimple: Simple, zone.PolicyWeighted: Weighted, zone.PolicyLatency: Latency,
		zone.PolicyFailover: Failover, zone.PolicyGeolocation: Geolocation, zone.PolicyGeoproximity: Geoproximity,
		zone.PolicyMultivalue: Multivalue, zone.PolicyIPBased: IPBased,
	}
	want := map[zone.Policy]string{
		zone.PolicySimple: "", zone.PolicyLatency: "b", zone.PolicyFailover: "a", zone.PolicyGeolocation: "us",
		zone.PolicyGeoproximity: "b", zone.PolicyMultivalue: "a,b", zone.PolicyIPBased: "a",
	}
	for p, group := range groups {
		if got := group[0].Policy(); got != p {
			t.Fatalf("test group for %s has policy %s", p, got)
		}
		got, direct := Select(group, newEnv()), funcs[p](group, newEnv())
		if chosen(got) != chosen(direct) || got.Scope != direct.Scope {
			t.Errorf("%s: Select = %s scope %d, %s = %s scope %d", p, chosen(got), got.Scope, p, chosen(direct), direct.Scope)
		}
		if w, ok := want[p]; ok && chosen(got) != w {
			t.Errorf("%s: Select chose %q, want %q", p, chosen(got), w)
		}
	}
}

func TestSelectEmptyGroup(t *testing.T) {
	if r := Select(nil, Env{}); !r.NoData || len(r.Sets) != 0 || r.Scope != 0 {
		t.Errorf("Select(nil) = %+v, want NoData", r)
	}
}

func TestSimple(t *testing.T) {
	a := &zone.RecordSet{Name: "www.example.com.", Type: "A", Values: []string{"192.0.2.1", "192.0.2.2"}}
	r := Select([]*zone.RecordSet{a}, Env{Client: client("192.0.2.0/24", nil), Healthy: func(*zone.RecordSet) bool { return false }})
	if len(r.Sets) != 1 || r.Sets[0] != a || r.NoData || r.Scope != 0 {
		t.Errorf("Simple = %+v, want the one set, scope 0", r)
	}
}
