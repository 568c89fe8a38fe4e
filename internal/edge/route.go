package edge

import (
	"encoding/binary"
	"net/netip"
	"slices"
)

// Client affinities of a listener.
const (
	AffinityNone     = "NONE"      // flows spread by their 5-tuple
	AffinitySourceIP = "SOURCE_IP" // every flow of a client goes to the same group and endpoint
)

// Flow is a new flow as routing sees it.
type Flow struct {
	Protocol string // TCP or UDP
	Src, Dst netip.AddrPort
}

// RouteEndpoint is an endpoint as routing sees it.
type RouteEndpoint struct {
	ID      string // stable: the endpoint's address
	Weight  int    // 0–255; 0 takes no new flow
	Healthy bool   // passed its health check (a new endpoint is not healthy until it has)
}

// RouteGroup is an endpoint group as routing sees it.
type RouteGroup struct {
	Region    string
	Dial      int // traffic dial, 0–100
	Endpoints []RouteEndpoint
}

// Reasons a [Decision] was made.
const (
	ReasonNearest  = "nearest"   // the nearest group took the flow
	ReasonDial     = "dial"      // the nearest group's dial sent the flow to the next group
	ReasonFailover = "failover"  // the dialled group had no healthy endpoint
	ReasonFailOpen = "fail-open" // nothing was healthy: an endpoint of the nearest group
)

// Decision is where a flow goes.
type Decision struct {
	Region   string
	Endpoint string
	Reason   string
}

// Router picks a group and an endpoint for each new flow of one listener, at
// one edge location. It is immutable; a configuration or health change builds
// a new one, which only new flows see.
type Router struct {
	affinity string
	groups   []routerGroup // nearest first
}

type routerGroup struct {
	region  string
	dial    int
	healthy *Maglev // healthy endpoints of weight > 0; nil: none
	open    *Maglev // for fail-open: endpoints of weight > 0, or all when every weight is 0
}

// FailoverGroups is how many other groups, closest first, a flow may fail over
// to when its group has no healthy endpoint, as Global Accelerator does.
const FailoverGroups = 3

// NewRouter returns the router of a listener with affinity (AffinityNone or
// AffinitySourceIP) at an edge location from which the regions in proximity
// are ordered nearest first. Groups of regions missing from proximity come
// last, by name.
func NewRouter(affinity string, proximity []string, groups []RouteGroup) *Router {
	rank := map[string]int{}
	for i, r := range proximity {
		rank[r] = i
	}
	gs := slices.Clone(groups)
	slices.SortStableFunc(gs, func(a, b RouteGroup) int {
		ra, oka := rank[a.Region]
		rb, okb := rank[b.Region]
		switch {
		case oka && okb:
			return ra - rb
		case oka:
			return -1
		case okb:
			return 1
		case a.Region < b.Region:
			return -1
		case a.Region > b.Region:
			return 1
		}
		return 0
	})
	r := &Router{affinity: affinity}
	for _, g := range gs {
		var healthy, weighted, all []Backend
		for _, e := range g.Endpoints {
			all = append(all, Backend{e.ID, 1})
			if e.Weight > 0 {
				weighted = append(weighted, Backend{e.ID, e.Weight})
				if e.Healthy {
					healthy = append(healthy, Backend{e.ID, e.Weight})
				}
			}
		}
		open := weighted
		if len(open) == 0 {
			open = all
		}
		r.groups = append(r.groups, routerGroup{region: g.Region, dial: g.Dial,
			healthy: NewMaglev(healthy), open: NewMaglev(open)})
	}
	return r
}

// Route returns where f goes; false when the listener has no endpoint at all.
func (r *Router) Route(f Flow) (Decision, bool) {
	if len(r.groups) == 0 {
		return Decision{}, false
	}
	key := r.flowKey(f)
	endpointHash := hashBytes(key, 0x51_7c_c1_b7_27_22_0a_95)
	dialHash := hashBytes(key, 0x2545f4914f6cdd1d)

	// Traffic dial: the nearest group keeps its dial's share of the flows; the rest
	// spill, undialled, to the next group whose dial is not 0.
	target, reason := 0, ReasonNearest
	if g := r.groups[0]; g.dial <= 0 || int(dialHash%100) >= g.dial {
		for i := 1; i < len(r.groups); i++ {
			if r.groups[i].dial > 0 {
				target, reason = i, ReasonDial
				break
			}
		}
	}
	if g := r.groups[target]; g.healthy != nil {
		return Decision{Region: g.region, Endpoint: g.healthy.Lookup(endpointHash), Reason: reason}, true
	}
	// Failover: the closest other groups, dials ignored.
	tried := 0
	for i, g := range r.groups {
		if i == target {
			continue
		}
		if tried == FailoverGroups {
			break
		}
		tried++
		if g.healthy != nil {
			return Decision{Region: g.region, Endpoint: g.healthy.Lookup(endpointHash), Reason: ReasonFailover}, true
		}
	}
	// Fail open: an endpoint of the nearest group that has any.
	for _, g := range r.groups {
		if g.open != nil {
			return Decision{Region: g.region, Endpoint: g.open.Lookup(endpointHash), Reason: ReasonFailOpen}, true
		}
	}
	return Decision{}, false
}

// flowKey is what a flow hashes on: the 5-tuple, or with SOURCE_IP affinity the
// client and listener addresses only.
func (r *Router) flowKey(f Flow) []byte {
	b := make([]byte, 0, 48)
	src, dst := f.Src.Addr().As16(), f.Dst.Addr().As16()
	b = append(b, src[:]...)
	b = append(b, dst[:]...)
	if r.affinity == AffinitySourceIP {
		return b
	}
	b = binary.BigEndian.AppendUint16(b, f.Src.Port())
	b = binary.BigEndian.AppendUint16(b, f.Dst.Port())
	return append(b, f.Protocol...)
}
