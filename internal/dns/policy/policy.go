package policy

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	"github.com/polyregion/polyregion/internal/dns/geoip"
	"github.com/polyregion/polyregion/internal/dns/zone"
)

// Client is what the server knows about who asked.
type Client struct {
	// Addr is the EDNS Client Subnet address when the ECS source prefix is > 0, else the
	// resolver's address.
	Addr netip.Addr
	// Prefix is the network the server knows: the ECS source prefix, else Addr as a /32
	// or /128.
	Prefix netip.Prefix
	// Location is where the GeoIP database puts Addr; nil when it maps nowhere or there
	// is no database.
	Location *geoip.Location
}

// Env is everything a choice may depend on. Nil functions mean "nothing known": every
// record healthy, no latency data, no region coordinates, no CIDR collection, and a random
// source that always draws 0.
type Env struct {
	Client Client
	// Region is the region answering the query: latency's choice when there is no
	// latency data, and geoproximity's stand-in for a client without coordinates.
	Region string
	// Healthy reports a record set's health, alias evaluate-target-health included. A
	// record set without a HealthCheckID is healthy.
	Healthy func(rs *zone.RecordSet) bool
	// Latency is the client's round trip to a region, false when unknown. The server
	// builds it from a LatencyTable, else from the latency model and the client's
	// coordinates.
	Latency func(region string) (time.Duration, bool)
	// LatencyNetwork is the network LatencyTable.Lookup returned for the client, hit or
	// miss; leave it zero when there is no table. The scope of a latency answer covers it.
	LatencyNetwork netip.Prefix
	// RegionCoordinates gives the position of a polyregion region, for geoproximity
	// records that name an AWSRegion and for the answering region.
	RegionCoordinates func(region string) (lat, lon float64, ok bool)
	// Cidrs returns the index of a CIDR collection, nil when there is none.
	Cidrs func(collectionID string) *CidrIndex
	// Rand returns a uniform integer in [0, n). The server passes a per-query source;
	// tests a seeded one.
	Rand func(n int) int
}

// Result is a choice.
type Result struct {
	// Sets are the chosen record sets: one, or up to 8 for multivalue answer; empty with
	// NoData. The slice may share memory with the group: do not modify it.
	Sets []*zone.RecordSet
	// NoData is set when the name exists but nothing answers this client: geolocation
	// or IP-based routing without a matching location and without a default. The answer
	// is NOERROR with an empty answer section, never NXDOMAIN.
	NoData bool
	// Scope is the ECS scope prefix length the choice depended on: 0 when the choice
	// does not depend on the client. It may exceed the client's source prefix length,
	// which RFC 7871 §7.2.1 allows.
	Scope int
}

// MaxMultivalueAnswers is how many record sets a multivalue answer holds at most.
const MaxMultivalueAnswers = 8

// Select chooses the answer for one group: all record sets of one name and type, which
// use one routing policy. It dispatches on the policy of the group's first set.
func Select(group []*zone.RecordSet, env Env) Result {
	if len(group) == 0 {
		return Result{NoData: true}
	}
	switch group[0].Policy() {
	case zone.PolicyWeighted:
		return Weighted(group, env)
	case zone.PolicyLatency:
		return Latency(group, env)
	case zone.PolicyFailover:
		return Failover(group, env)
	case zone.PolicyGeolocation:
		return Geolocation(group, env)
	case zone.PolicyGeoproximity:
		return Geoproximity(group, env)
	case zone.PolicyMultivalue:
		return Multivalue(group, env)
	case zone.PolicyIPBased:
		return IPBased(group, env)
	default:
		return Simple(group, env)
	}
}

// Simple answers with the group's record set. A simple group holds one set, with all its
// values; health is not consulted (Route 53 attaches no health check to simple records).
// If a malformed group holds several, the first answers.
func Simple(group []*zone.RecordSet, _ Env) Result {
	if len(group) == 0 {
		return Result{NoData: true}
	}
	return one(group[0])
}

// one is a result of a single record set that does not depend on the client.
func one(rs *zone.RecordSet) Result {
	return Result{Sets: []*zone.RecordSet{rs}}
}

func (e *Env) healthy(rs *zone.RecordSet) bool {
	return e.Healthy == nil || e.Healthy(rs)
}

// intn draws from e.Rand, 0 when there is none; a value out of range is folded back in.
func (e *Env) intn(n int) int {
	if n <= 1 || e.Rand == nil {
		return 0
	}
	r := e.Rand(n) % n
	if r < 0 {
		r += n
	}
	return r
}

// clientScope is the scope of an answer that depended on everything the server knows of
// the client: its source prefix.
func (e *Env) clientScope() int {
	if e.Client.Prefix.IsValid() {
		return e.Client.Prefix.Bits()
	}
	return 0
}

// locationScope is the scope of an answer that depended on the client's location: the
// GeoIP network it fell in. A client without a location (unmapped, or no database) gets
// its source prefix: the answer depended on its being unmapped, and a network of the same
// answer is not known.
func (e *Env) locationScope() int {
	if l := e.Client.Location; l != nil && l.Network.IsValid() {
		return l.Network.Bits()
	}
	return e.clientScope()
}

// firstHealthyOrNil returns the first healthy set of sets, which are in order of
// preference; nil when none is.
func firstHealthyOrNil(sets []*zone.RecordSet, env *Env) *zone.RecordSet {
	for _, rs := range sets {
		if env.healthy(rs) {
			return rs
		}
	}
	return nil
}

// bySetIdentifier orders record sets by SetIdentifier, the tie-breaker every policy uses.
func bySetIdentifier(a, b *zone.RecordSet) int {
	return cmp.Compare(a.SetIdentifier, b.SetIdentifier)
}

// sortedCopy returns sets ordered by SetIdentifier without touching the caller's slice
// (a slice of fewer than two is returned as it is).
func sortedCopy(sets []*zone.RecordSet) []*zone.RecordSet {
	if len(sets) < 2 {
		return sets
	}
	out := slices.Clone(sets)
	slices.SortStableFunc(out, bySetIdentifier)
	return out
}
