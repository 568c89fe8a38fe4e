package policy

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/polyregion/polyregion/internal/dns/zone"
)

func weighted(id string, w int64) *zone.RecordSet {
	return checked(&zone.RecordSet{Name: "w.example.com.", Type: "A", SetIdentifier: id, Weight: ptr(w)})
}

// draws runs Weighted n times with a seeded source and counts the answers.
func draws(group []*zone.RecordSet, healthy func(*zone.RecordSet) bool, n int, seed uint64) map[string]int {
	env := Env{Healthy: healthy, Rand: seeded(seed), Client: client("192.0.2.0/24", nil)}
	counts := map[string]int{}
	for range n {
		r := Weighted(group, env)
		if len(r.Sets) != 1 || r.NoData || r.Scope != 0 {
			panic(fmt.Sprintf("Weighted returned %+v", r))
		}
		counts[r.Sets[0].SetIdentifier]++
	}
	return counts
}

func TestWeightedWhoCanAnswer(t *testing.T) {
	for _, tc := range []struct {
		name    string
		weights map[string]int64
		down    []string
		want    []string // every set that may answer, and each must at some point
	}{
		{"weights share the traffic", map[string]int64{"a": 1, "b": 2, "c": 3}, nil, []string{"a", "b", "c"}},
		{"weight 0 gets nothing while a weighted set is healthy", map[string]int64{"a": 1, "z": 0}, nil, []string{"a"}},
		{"unhealthy sets are skipped", map[string]int64{"a": 1, "b": 2, "c": 3}, []string{"b"}, []string{"a", "c"}},
		{"weight 0 still waits while one weighted set is up", map[string]int64{"a": 1, "b": 2, "z": 0}, []string{"a"}, []string{"b"}},
		{"weight 0 answers once every weighted set is down", map[string]int64{"a": 1, "b": 2, "z": 0}, []string{"a", "b"}, []string{"z"}},
		{"several weight-0 sets share equally", map[string]int64{"a": 5, "y": 0, "z": 0}, []string{"a"}, []string{"y", "z"}},
		{"unhealthy weight-0 sets are skipped too", map[string]int64{"a": 5, "y": 0, "z": 0}, []string{"a", "y"}, []string{"z"}},
		{"everything down: as if healthy, weights apply", map[string]int64{"a": 1, "b": 2, "z": 0}, []string{"a", "b", "z"}, []string{"a", "b"}},
		{"all weights 0: uniform", map[string]int64{"x": 0, "y": 0, "z": 0}, nil, []string{"x", "y", "z"}},
		{"all weights 0, some down: uniform among healthy", map[string]int64{"x": 0, "y": 0, "z": 0}, []string{"x"}, []string{"y", "z"}},
		{"all weights 0, all down: uniform among all", map[string]int64{"x": 0, "y": 0, "z": 0}, []string{"x", "y", "z"}, []string{"x", "y", "z"}},
		{"one set", map[string]int64{"a": 1}, []string{"a"}, []string{"a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var group []*zone.RecordSet
			for _, id := range slices.Sorted(maps.Keys(tc.weights)) {
				group = append(group, weighted(id, tc.weights[id]))
			}
			counts := draws(group, down(tc.down...), 2000, 1)
			got := slices.Sorted(maps.Keys(counts))
			if !slices.Equal(got, tc.want) {
				t.Errorf("answered with %v (%v), want exactly %v", got, counts, tc.want)
			}
		})
	}
}

func TestWeightedNilWeightCountsAsZero(t *testing.T) {
	group := []*zone.RecordSet{weighted("a", 3), {SetIdentifier: "b"}}
	if counts := draws(group, nil, 500, 2); counts["b"] != 0 {
		t.Errorf("a set without a weight answered %d times", counts["b"])
	}
}

func TestWeightedMapsTheDrawInGroupOrder(t *testing.T) {
	group := []*zone.RecordSet{weighted("a", 1), weighted("b", 3)}
	for r, want := range map[int]string{0: "a", 1: "b", 2: "b", 3: "b", 4: "a", -1: "b"} {
		env := Env{Rand: func(n int) int {
			if n != 4 {
				t.Fatalf("Rand(%d), want Rand(4)", n)
			}
			return r
		}}
		if got := chosen(Weighted(group, env)); got != want {
			t.Errorf("draw %d chose %s, want %s", r, got, want)
		}
	}
	if got := chosen(Weighted(group, Env{})); got != "a" {
		t.Errorf("without Rand chose %s, want the first (draw 0)", got)
	}
}

// chiSquare returns Pearson's statistic for observed counts against expected shares.
func chiSquare(counts map[string]int, shares map[string]float64, n int) float64 {
	var x2 float64
	for id, p := range shares {
		e := p * float64(n)
		d := float64(counts[id]) - e
		x2 += d * d / e
	}
	return x2
}

func TestWeightedDistribution(t *testing.T) {
	// Weights 10:20:30:40, a weight-0 set and an unhealthy heavy set that must get
	// nothing. Critical values at p = 0.001: 16.27 for 3 degrees of freedom, 13.82 for 2.
	const n = 200_000
	group := []*zone.RecordSet{
		weighted("a", 10), weighted("b", 20), weighted("c", 30), weighted("d", 40),
		weighted("zero", 0), weighted("sick", 255),
	}
	for seed := uint64(1); seed <= 3; seed++ {
		counts := draws(group, down("sick"), n, seed)
		if counts["zero"] != 0 || counts["sick"] != 0 {
			t.Fatalf("seed %d: weight 0 answered %d, unhealthy answered %d", seed, counts["zero"], counts["sick"])
		}
		if x2 := chiSquare(counts, map[string]float64{"a": .1, "b": .2, "c": .3, "d": .4}, n); x2 > 16.27 {
			t.Errorf("seed %d: χ² = %.2f > 16.27 (df 3): %v", seed, x2, counts)
		}
	}

	all0 := []*zone.RecordSet{weighted("x", 0), weighted("y", 0), weighted("z", 0)}
	counts := draws(all0, nil, n, 9)
	if x2 := chiSquare(counts, map[string]float64{"x": 1. / 3, "y": 1. / 3, "z": 1. / 3}, n); x2 > 13.82 {
		t.Errorf("all weights 0: χ² = %.2f > 13.82 (df 2): %v", x2, counts)
	}

	// Nothing healthy: as if healthy, the weights still decide.
	counts = draws(group, down("a", "b", "c", "d", "zero", "sick"), n, 4)
	if counts["zero"] != 0 {
		t.Errorf("all down: weight 0 answered %d times", counts["zero"])
	}
	if x2 := chiSquare(counts, map[string]float64{"a": 10. / 355, "b": 20. / 355, "c": 30. / 355, "d": 40. / 355, "sick": 255. / 355}, n); x2 > 18.47 {
		t.Errorf("all down: χ² = %.2f > 18.47 (df 4): %v", x2, counts)
	}
}

func TestWeightedProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 20).Draw(t, "n")
		group := make([]*zone.RecordSet, n)
		health := map[*zone.RecordSet]bool{}
		for i := range group {
			rs := &zone.RecordSet{SetIdentifier: fmt.Sprint(i)}
			if rapid.Bool().Draw(t, "hasWeight") {
				rs.Weight = ptr(int64(rapid.IntRange(0, 255).Draw(t, "weight")))
			}
			group[i] = rs
			health[rs] = rapid.Bool().Draw(t, "healthy")
		}
		env := Env{
			Healthy: func(rs *zone.RecordSet) bool { return health[rs] },
			Rand: func(n int) int {
				return rapid.IntRange(0, n-1).Draw(t, "draw")
			},
		}
		r := Weighted(group, env)
		if len(r.Sets) != 1 || r.NoData || r.Scope != 0 {
			t.Fatalf("Weighted = %+v, want one set, scope 0", r)
		}
		got := r.Sets[0]
		if !slices.Contains(group, got) {
			t.Fatalf("chose %p, which is not in the group", got)
		}
		var healthyWeighted, healthyZero, anyWeighted bool
		for _, rs := range group {
			healthyWeighted = healthyWeighted || health[rs] && weightOf(rs) > 0
			healthyZero = healthyZero || health[rs] && weightOf(rs) == 0
			anyWeighted = anyWeighted || weightOf(rs) > 0
		}
		switch {
		case healthyWeighted:
			if !health[got] || weightOf(got) == 0 {
				t.Fatalf("chose %s (weight %d, healthy %v) while a healthy weighted set exists", got.SetIdentifier, weightOf(got), health[got])
			}
		case healthyZero:
			if !health[got] || weightOf(got) != 0 {
				t.Fatalf("chose %s (weight %d, healthy %v); a healthy weight-0 set should answer", got.SetIdentifier, weightOf(got), health[got])
			}
		case anyWeighted:
			if weightOf(got) == 0 {
				t.Fatalf("nothing healthy: chose weight-0 set %s though weighted sets exist", got.SetIdentifier)
			}
		}
	})
}
