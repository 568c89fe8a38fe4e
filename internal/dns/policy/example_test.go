package policy_test

import (
	"fmt"
	"net/netip"

	"github.com/polyregion/polyregion/internal/dns/geoip"
	"github.com/polyregion/polyregion/internal/dns/policy"
	"github.com/polyregion/polyregion/internal/dns/zone"
)

// A geolocation group with a record for Virginia, one for Europe and a default. A client
// in Virginia gets its state's record while it is healthy, and the default when it is not;
// the ECS scope is the GeoIP network the client fell in.
func ExampleSelect() {
	group := []*zone.RecordSet{
		{SetIdentifier: "virginia", HealthCheckID: "hc-va", GeoLocation: &zone.GeoLocation{CountryCode: "US", SubdivisionCode: "VA"}},
		{SetIdentifier: "europe", GeoLocation: &zone.GeoLocation{ContinentCode: "EU"}},
		{SetIdentifier: "default", GeoLocation: &zone.GeoLocation{CountryCode: "*"}},
	}
	ecs := netip.MustParsePrefix("192.0.2.0/24")
	env := policy.Env{
		Client: policy.Client{Addr: ecs.Addr(), Prefix: ecs, Location: &geoip.Location{
			Continent: "NA", Country: "US", Subdivision: "VA", Network: netip.MustParsePrefix("192.0.2.0/26"),
		}},
	}
	res := policy.Select(group, env)
	fmt.Println(res.Sets[0].SetIdentifier, res.Scope)

	env.Healthy = func(rs *zone.RecordSet) bool { return rs.HealthCheckID != "hc-va" }
	res = policy.Select(group, env)
	fmt.Println(res.Sets[0].SetIdentifier, res.Scope)
	// Output:
	// virginia 26
	// default 26
}

// Route 53's documented example: A is 150 km away with bias +50, B 100 km away unbiased.
func ExampleBiasedDistance() {
	fmt.Println(policy.BiasedDistance(150, 50), policy.BiasedDistance(100, 0), policy.BiasedDistance(100, -50))
	// Output: 75 100 200
}
