package policy

import (
	"cmp"
	"math"
	"slices"

	"github.com/polyregion/polyregion/internal/dns/zone"
	"github.com/polyregion/polyregion/internal/topology"
)

// BiasedDistance applies a geoproximity bias to a great-circle distance as Route 53 does:
// a positive bias shrinks it, actual × (1 − bias/100), so +50 halves it; a negative bias
// grows it, actual ÷ (1 + bias/100), so −50 doubles it. The bias is clamped to −99..99.
func BiasedDistance(actualKm float64, bias int) float64 {
	bias = min(99, max(-99, bias))
	switch {
	case bias > 0:
		return actualKm * (1 - float64(bias)/100)
	case bias < 0:
		return actualKm / (1 + float64(bias)/100)
	}
	return actualKm
}

// Geoproximity answers with the record set at the smallest biased great-circle distance
// from the client (haversine, topology.DistanceKm); when it is unhealthy, the next
// nearest, and so on; when none is healthy, the nearest as if all were healthy. A record's
// point is its Coordinates, else the coordinates of its AWSRegion (a polyregion region);
// records whose point is unknown rank last. Equal distances are broken by SetIdentifier.
//
// A client without coordinates is placed at the answering region (Env.Region), so it gets
// the record that would serve that region's neighbourhood, bias included; when that region
// has no coordinates either, the order is by SetIdentifier.
//
// Scope: 0 for a group of one set; otherwise the client's GeoIP network, or its source
// prefix when it is unmapped.
func Geoproximity(group []*zone.RecordSet, env Env) Result {
	if len(group) == 0 {
		return Result{NoData: true}
	}
	lat, lon, located := 0.0, 0.0, false
	if l := env.Client.Location; l != nil && l.HasCoords {
		lat, lon, located = l.Lat, l.Lon, true
	} else if env.RegionCoordinates != nil && env.Region != "" {
		lat, lon, located = env.RegionCoordinates(env.Region)
	}
	type ranked struct {
		rs    *zone.RecordSet
		dist  float64
		known bool
	}
	order := make([]ranked, len(group))
	for i, rs := range group {
		r := ranked{rs: rs, dist: math.Inf(1)}
		if located {
			if plat, plon, ok := proximityPoint(rs, &env); ok {
				bias := 0
				if b := rs.GeoProximityLocation.Bias; b != nil {
					bias = int(*b)
				}
				r.dist = BiasedDistance(topology.DistanceKm(lat, lon, plat, plon), bias)
				r.known = true
			}
		}
		order[i] = r
	}
	slices.SortStableFunc(order, func(a, b ranked) int {
		switch {
		case a.known != b.known:
			if a.known {
				return -1
			}
			return 1
		case a.known && a.dist != b.dist:
			return cmp.Compare(a.dist, b.dist)
		}
		return bySetIdentifier(a.rs, b.rs)
	})
	chosen := order[0].rs
	for _, r := range order {
		if env.healthy(r.rs) {
			chosen = r.rs
			break
		}
	}
	res := one(chosen)
	if len(group) > 1 {
		res.Scope = env.locationScope()
	}
	return res
}

// proximityPoint returns where a geoproximity record serves from.
func proximityPoint(rs *zone.RecordSet, env *Env) (lat, lon float64, ok bool) {
	g := rs.GeoProximityLocation
	switch {
	case g == nil:
		return 0, 0, false
	case g.Coordinates != nil:
		return g.Coordinates.Latitude, g.Coordinates.Longitude, true
	case g.AWSRegion != "" && env.RegionCoordinates != nil:
		return env.RegionCoordinates(g.AWSRegion)
	}
	return 0, 0, false
}
