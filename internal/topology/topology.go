// Package topology describes the regions of a fleet: their names, coordinates and residency
// zones, and the latency model that orders regions by proximity.
//
// The model estimates a round trip from the great-circle distance between two points:
// RTT_ms = 0.014 × distance_km, light in fibre (about 200,000 km/s) over a path about 1.4
// times longer than the great circle. Any pair can be overridden with a measured or chosen
// one-way latency. A Topology is immutable: build a new one to change it.
package topology

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// Region is one region of the fleet.
type Region struct {
	Name        string
	DisplayName string
	Lat, Lon    float64
	Zone        string
}

// Pair names two regions; the order does not matter for lookups.
type Pair struct{ A, B string }

func (p Pair) key() Pair {
	if p.A > p.B {
		return Pair{p.B, p.A}
	}
	return p
}

// earthRadiusKm is the mean radius of the Earth.
const earthRadiusKm = 6371.0

// msPerKm is the round-trip milliseconds the model charges per kilometre of great-circle distance.
const msPerKm = 0.014

// DistanceKm returns the great-circle distance between two points given in degrees (haversine).
func DistanceKm(lat1, lon1, lat2, lon2 float64) float64 {
	rad := math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLon := (lon2 - lon1) * rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) +
		math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusKm * math.Asin(math.Min(1, math.Sqrt(a)))
}

// EstimateRTT is the model's round-trip time for a great-circle distance.
func EstimateRTT(km float64) time.Duration {
	return time.Duration(km * msPerKm * float64(time.Millisecond))
}

// Topology is an immutable set of regions with the latency between them.
type Topology struct {
	regions   []Region
	byName    map[string]int
	overrides map[Pair]time.Duration // one-way
}

// New builds a topology. overrides gives one-way latencies for pairs that should not follow
// the distance model; both regions of each pair must exist.
func New(regions []Region, overrides map[Pair]time.Duration) (*Topology, error) {
	t := &Topology{
		regions:   append([]Region(nil), regions...),
		byName:    make(map[string]int, len(regions)),
		overrides: make(map[Pair]time.Duration, len(overrides)),
	}
	for i, r := range regions {
		if r.Name == "" {
			return nil, fmt.Errorf("topology: region %d has no name", i)
		}
		if _, dup := t.byName[r.Name]; dup {
			return nil, fmt.Errorf("topology: region %q listed twice", r.Name)
		}
		t.byName[r.Name] = i
	}
	for p, d := range overrides {
		for _, n := range []string{p.A, p.B} {
			if _, ok := t.byName[n]; !ok {
				return nil, fmt.Errorf("topology: latency override names unknown region %q", n)
			}
		}
		if d < 0 {
			return nil, fmt.Errorf("topology: negative latency %v for %s-%s", d, p.A, p.B)
		}
		t.overrides[p.key()] = d
	}
	return t, nil
}

// Regions returns the regions in configuration order.
func (t *Topology) Regions() []Region { return append([]Region(nil), t.regions...) }

// Region returns the region with the given name.
func (t *Topology) Region(name string) (Region, bool) {
	i, ok := t.byName[name]
	if !ok {
		return Region{}, false
	}
	return t.regions[i], true
}

// OneWay returns the one-way latency between two regions: the override when there is one,
// else half the modelled round trip. It is zero for a region and itself or an unknown name.
func (t *Topology) OneWay(a, b string) time.Duration {
	if a == b {
		return 0
	}
	if d, ok := t.overrides[Pair{a, b}.key()]; ok {
		return d
	}
	ra, okA := t.Region(a)
	rb, okB := t.Region(b)
	if !okA || !okB {
		return 0
	}
	return EstimateRTT(DistanceKm(ra.Lat, ra.Lon, rb.Lat, rb.Lon)) / 2
}

// RTT returns the round-trip latency between two regions.
func (t *Topology) RTT(a, b string) time.Duration { return 2 * t.OneWay(a, b) }

// RTTFrom returns the modelled round trip from a point on Earth to a region.
func (t *Topology) RTTFrom(lat, lon float64, region string) time.Duration {
	r, ok := t.Region(region)
	if !ok {
		return 0
	}
	return EstimateRTT(DistanceKm(lat, lon, r.Lat, r.Lon))
}

// Nearest returns every region ordered nearest first from a point on Earth; ties keep
// configuration order.
func (t *Topology) Nearest(lat, lon float64) []Region {
	out := t.Regions()
	sort.SliceStable(out, func(i, j int) bool {
		return t.RTTFrom(lat, lon, out[i].Name) < t.RTTFrom(lat, lon, out[j].Name)
	})
	return out
}

// NearestFromRegion returns the other regions ordered by latency from a region, overrides
// included, nearest first.
func (t *Topology) NearestFromRegion(name string) []Region {
	var out []Region
	for _, r := range t.regions {
		if r.Name != name {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return t.OneWay(name, out[i].Name) < t.OneWay(name, out[j].Name) })
	return out
}
