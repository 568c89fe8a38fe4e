package edge

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestMaglevSharesFollowWeights(t *testing.T) {
	m := NewMaglev([]Backend{{"a", 128}, {"b", 128}, {"c", 64}, {"z", 0}})
	count := map[string]int{}
	for _, s := range m.slots {
		count[m.names[s]]++
	}
	if count["z"] != 0 || len(m.Backends()) != 3 {
		t.Fatalf("weight 0 backend in the table: %v", count)
	}
	for name, want := range map[string]float64{"a": 0.4, "b": 0.4, "c": 0.2} {
		got := float64(count[name]) / MaglevSize
		if math.Abs(got-want) > 0.01 {
			t.Errorf("%s has %.3f of the slots, want %.2f", name, got, want)
		}
	}
}

func TestMaglevDoesNotDependOnOrder(t *testing.T) {
	a := NewMaglev([]Backend{{"x", 10}, {"y", 20}, {"w", 5}})
	b := NewMaglev([]Backend{{"w", 5}, {"y", 20}, {"x", 10}})
	for i := range a.slots {
		if a.names[a.slots[i]] != b.names[b.slots[i]] {
			t.Fatalf("slot %d differs", i)
		}
	}
	if NewMaglev(nil) != nil || NewMaglev([]Backend{{"a", 0}}) != nil {
		t.Fatal("a table without backends")
	}
}

// Removing one of N equal backends moves the keys it had and few others: at
// most 1/N + 2% of all keys in total.
func TestMaglevRemovalMovesAboutOneNth(t *testing.T) {
	for _, n := range []int{3, 5, 10} {
		var bs []Backend
		for i := range n {
			bs = append(bs, Backend{fmt.Sprintf("10.0.0.%d:80", i+1), 128})
		}
		before := NewMaglev(bs)
		after := NewMaglev(bs[1:])
		r := rand.New(rand.NewPCG(1, 2))
		const keys = 100000
		moved := 0
		for range keys {
			h := r.Uint64()
			if before.Lookup(h) != after.Lookup(h) {
				moved++
			}
		}
		frac := float64(moved) / keys
		if limit := 1/float64(n) + 0.02; frac > limit {
			t.Errorf("n=%d: %.3f of keys moved, limit %.3f", n, frac, limit)
		}
	}
}
