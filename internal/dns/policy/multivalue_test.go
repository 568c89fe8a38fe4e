package policy

import (
	"fmt"
	"slices"
	"testing"

	"github.com/polyregion/polyregion/internal/dns/zone"
)

func multivalueGroup(n int) []*zone.RecordSet {
	group := make([]*zone.RecordSet, n)
	for i := range group {
		group[i] = checked(&zone.RecordSet{
			SetIdentifier: fmt.Sprintf("m%02d", i), MultiValueAnswer: ptr(true),
			Values: []string{fmt.Sprintf("192.0.2.%d", i+1)},
		})
	}
	return group
}

func TestMultivalue(t *testing.T) {
	for _, tc := range []struct {
		name      string
		n         int
		down      []string
		wantCount int
		healthy   bool // every answer healthy
	}{
		{"three healthy: all three", 3, nil, 3, true},
		{"eight healthy: all eight", 8, nil, 8, true},
		{"twelve healthy: eight of them", 12, nil, 8, true},
		{"twelve, five down: the seven healthy", 12, []string{"m00", "m02", "m04", "m06", "m08"}, 7, true},
		{"twelve, four down: eight healthy", 12, []string{"m00", "m01", "m02", "m03"}, 8, true},
		{"three, all down: all three", 3, []string{"m00", "m01", "m02"}, 3, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			group := multivalueGroup(tc.n)
			env := Env{Healthy: down(tc.down...), Rand: seeded(3), Client: client("192.0.2.0/24", nil)}
			for range 50 {
				r := Multivalue(group, env)
				if len(r.Sets) != tc.wantCount || r.NoData || r.Scope != 0 {
					t.Fatalf("Multivalue = %s (scope %d), want %d sets, scope 0", ids(r.Sets), r.Scope, tc.wantCount)
				}
				checkSubset(t, group, r.Sets)
				if tc.healthy {
					for _, rs := range r.Sets {
						if slices.Contains(tc.down, rs.SetIdentifier) {
							t.Fatalf("answered with unhealthy %s", rs.SetIdentifier)
						}
					}
				}
			}
		})
	}
}

// checkSubset checks that sets are distinct members of group in the group's order.
func checkSubset(t *testing.T, group, sets []*zone.RecordSet) {
	t.Helper()
	last := -1
	for _, rs := range sets {
		i := slices.Index(group, rs)
		if i <= last {
			t.Fatalf("answer %s is not distinct members of the group in group order", ids(sets))
		}
		last = i
	}
}

func TestMultivalueAllDownCapsAtEight(t *testing.T) {
	group := multivalueGroup(12)
	var all []string
	for _, rs := range group {
		all = append(all, rs.SetIdentifier)
	}
	r := Multivalue(group, Env{Healthy: down(all...), Rand: seeded(5)})
	if len(r.Sets) != MaxMultivalueAnswers {
		t.Fatalf("all twelve down: %d sets, want %d", len(r.Sets), MaxMultivalueAnswers)
	}
	checkSubset(t, group, r.Sets)
}

func TestMultivalueSubsetsAreUniform(t *testing.T) {
	// With 12 healthy sets each is in an answer with probability 8/12. Different draws
	// give resolvers different subsets.
	const n = 30_000
	group := multivalueGroup(12)
	env := Env{Rand: seeded(11)}
	counts := map[string]int{}
	subsets := map[string]bool{}
	for range n {
		r := Multivalue(group, env)
		subsets[ids(r.Sets)] = true
		for _, rs := range r.Sets {
			counts[rs.SetIdentifier]++
		}
	}
	if len(subsets) < 100 {
		t.Errorf("only %d distinct subsets in %d answers", len(subsets), n)
	}
	// Each count is Binomial(n, 2/3): σ ≈ 82; allow 5σ.
	for _, rs := range group {
		if c := counts[rs.SetIdentifier]; c < 20_000-410 || c > 20_000+410 {
			t.Errorf("%s in %d of %d answers, want about 20000", rs.SetIdentifier, c, n)
		}
	}
}
