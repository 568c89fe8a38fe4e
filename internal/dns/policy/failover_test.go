package policy

import (
	"testing"

	"github.com/polyregion/polyregion/internal/dns/zone"
)

func TestFailover(t *testing.T) {
	primary := func() *zone.RecordSet {
		return checked(&zone.RecordSet{SetIdentifier: "p", Failover: "PRIMARY"})
	}
	secondary := func(withCheck bool) *zone.RecordSet {
		rs := &zone.RecordSet{SetIdentifier: "s", Failover: "SECONDARY"}
		if withCheck {
			checked(rs)
		}
		return rs
	}
	for _, tc := range []struct {
		name  string
		group []*zone.RecordSet
		down  []string
		want  string
	}{
		{"primary healthy", []*zone.RecordSet{primary(), secondary(true)}, nil, "p"},
		{"primary healthy, secondary down", []*zone.RecordSet{primary(), secondary(true)}, []string{"s"}, "p"},
		{"primary down, secondary healthy", []*zone.RecordSet{primary(), secondary(true)}, []string{"p"}, "s"},
		{"primary down, secondary without a check", []*zone.RecordSet{primary(), secondary(false)}, []string{"p", "s"}, "s"},
		{"both down: primary", []*zone.RecordSet{secondary(true), primary()}, []string{"p", "s"}, "p"},
		{"only a primary, down", []*zone.RecordSet{primary()}, []string{"p"}, "p"},
		{"only a secondary, down", []*zone.RecordSet{secondary(true)}, []string{"s"}, "s"},
		{"lower-case values", []*zone.RecordSet{
			checked(&zone.RecordSet{SetIdentifier: "p", Failover: "primary"}),
			checked(&zone.RecordSet{SetIdentifier: "s", Failover: "secondary"}),
		}, []string{"p"}, "s"},
		{"two primaries: smallest SetIdentifier", []*zone.RecordSet{
			checked(&zone.RecordSet{SetIdentifier: "p2", Failover: "PRIMARY"}),
			checked(&zone.RecordSet{SetIdentifier: "p1", Failover: "PRIMARY"}),
		}, nil, "p1"},
		{"neither", []*zone.RecordSet{{SetIdentifier: "x", Failover: "TERTIARY"}}, nil, "NODATA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Failover(tc.group, Env{Healthy: down(tc.down...), Client: client("198.51.100.0/24", nil)})
			if got := chosen(r); got != tc.want || r.Scope != 0 {
				t.Errorf("Failover = %s scope %d, want %s scope 0", got, r.Scope, tc.want)
			}
		})
	}
}
