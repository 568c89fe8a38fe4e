package replication

import (
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/polyregion/polyregion/internal/testutil"
)

// ack is an acknowledged write of the property test.
type ack struct {
	key     string
	version Version
	context Context
}

// TestRandomHistoriesConverge runs random interleavings of writes, deletes,
// partitions, heals and restarts across three regions, then heals everything
// and checks that every region holds the same registers, that each register
// holds the largest acknowledged version written to it, and that every
// acknowledged write that was neither that version, nor in its causal history,
// nor overwritten by a write made after seeing it, is recorded as a conflict's
// loser.
func TestRandomHistoriesConverge(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		f := newFleet(t, "a", "b", "c")
		defer f.shutdown()
		keys := []string{"k1", "k2", "k3"}
		var acks []ack
		steps := rapid.IntRange(1, 40).Draw(rt, "steps")
		for range steps {
			region := rapid.SampledFrom(f.regions).Draw(rt, "region")
			switch op := rapid.IntRange(0, 9).Draw(rt, "op"); {
			case op <= 5 && f.node(region) != nil:
				key := rapid.SampledFrom(keys).Draw(rt, "key")
				del := op == 5
				v, ctx, err := f.node(region).regs.write(key, fmt.Sprint(region, op), del)
				if err != nil {
					rt.Fatalf("write: %v", err)
				}
				acks = append(acks, ack{key, v, ctx})
			case op == 6:
				other := rapid.SampledFrom(f.regions).Draw(rt, "other")
				if other != region {
					f.partition(region, other, true)
				}
			case op == 7:
				f.healAll()
			case op == 8:
				if f.node(region) != nil {
					f.stop(region)
				}
			case op == 9:
				if f.node(region) == nil {
					f.start(region)
				}
			}
		}
		for _, r := range f.regions {
			if f.node(r) == nil {
				f.start(r)
			}
		}
		f.healAll()
		testutil.WaitFor(rt, 20*time.Second, f.quiesced)
		st, err := f.node("a").regs.state()
		if err != nil {
			rt.Fatal(err)
		}
		final := map[string]ack{}
		for _, a := range acks {
			if cur, ok := final[a.key]; !ok || a.version.Compare(cur.version) > 0 {
				final[a.key] = a
			}
		}
		for k, a := range final {
			got := st[k]
			if want := "@" + a.version.String(); len(got) < len(want) || got[len(got)-len(want):] != want {
				rt.Fatalf("register %s = %q, want version %v", k, got, a.version)
			}
		}
		cs, err := f.conflicts()
		if err != nil {
			rt.Fatal(err)
		}
		losers := map[Version]bool{}
		for _, c := range cs {
			losers[c.Loser] = true
		}
		superseded := func(a ack) bool { // a later write of the key was made after seeing a
			for _, b := range acks {
				if b.key == a.key && b.version != a.version && b.context.Covers(a.version) {
					return true
				}
			}
			return false
		}
		for _, a := range acks {
			win := final[a.key]
			if a.version == win.version || win.context.Covers(a.version) || superseded(a) {
				continue
			}
			if !losers[a.version] {
				rt.Fatalf("write %v of %s lost to %v without a conflict record", a.version, a.key, win.version)
			}
		}
	})
}

// shutdown stops the fleet's regions before the next rapid case starts a new
// one; t.Cleanup does the rest at the end.
func (f *fleet) shutdown() {
	for _, r := range f.regions {
		f.stop(r)
	}
}
