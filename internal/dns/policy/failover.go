package policy

import (
	"strings"

	"github.com/polyregion/polyregion/internal/dns/zone"
)

// Failover values of a record set.
const (
	FailoverPrimary   = "PRIMARY"
	FailoverSecondary = "SECONDARY"
)

// Failover answers with the primary while it is healthy, else with the secondary while it
// is healthy (a secondary without a health check is healthy), else with the primary: when
// both are down Route 53 answers with the primary. A group with only one of them always
// answers with it. Sets with another Failover value are ignored; a group with neither a
// primary nor a secondary has no data. Scope is 0.
//
// Should a malformed group hold two primaries (or two secondaries), the one with the
// smallest SetIdentifier counts.
func Failover(group []*zone.RecordSet, env Env) Result {
	var primary, secondary *zone.RecordSet
	for _, rs := range group {
		switch {
		case strings.EqualFold(rs.Failover, FailoverPrimary):
			if primary == nil || bySetIdentifier(rs, primary) < 0 {
				primary = rs
			}
		case strings.EqualFold(rs.Failover, FailoverSecondary):
			if secondary == nil || bySetIdentifier(rs, secondary) < 0 {
				secondary = rs
			}
		}
	}
	switch {
	case primary != nil && env.healthy(primary):
		return one(primary)
	case secondary != nil && env.healthy(secondary):
		return one(secondary)
	case primary != nil:
		return one(primary)
	case secondary != nil:
		return one(secondary)
	}
	return Result{NoData: true}
}
