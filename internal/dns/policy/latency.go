package policy

import (
	"cmp"
	"slices"
	"time"

	"github.com/polyregion/polyregion/internal/dns/zone"
)

// Latency answers with the record set of the region with the lowest round trip from the
// client, among the regions that have records; when that set is unhealthy, the next best,
// and so on; when none is healthy, the best as if all were healthy.
//
// Regions without latency data rank after every region with data. Among them — and so for
// the whole group when the client has no latency data at all — the answering region's
// record comes first, then the others by SetIdentifier. Equal round trips are broken by
// SetIdentifier.
//
// Scope: 0 for a group of one set; otherwise the longest of the client's GeoIP network
// (its source prefix when unmapped) and Env.LatencyNetwork, since the data come from one
// or the other.
func Latency(group []*zone.RecordSet, env Env) Result {
	if len(group) == 0 {
		return Result{NoData: true}
	}
	type ranked struct {
		rs    *zone.RecordSet
		rtt   time.Duration
		known bool
		local bool
	}
	order := make([]ranked, len(group))
	for i, rs := range group {
		r := ranked{rs: rs, local: env.Region != "" && rs.Region == env.Region}
		if env.Latency != nil && rs.Region != "" {
			r.rtt, r.known = env.Latency(rs.Region)
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
		case a.known && a.rtt != b.rtt:
			return cmp.Compare(a.rtt, b.rtt)
		case !a.known && a.local != b.local:
			if a.local {
				return -1
			}
			return 1
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
		if env.LatencyNetwork.IsValid() {
			res.Scope = max(res.Scope, env.LatencyNetwork.Bits())
		}
	}
	return res
}
