package replication

import (
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/polyregion/polyregion/internal/testutil"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func mustWrite(t testing.TB, f *fleet, region, key, value string, del bool) Version {
	t.Helper()
	v, _, err := f.node(region).regs.write(key, value, del)
	if err != nil {
		t.Fatalf("write %s=%s in %s: %v", key, value, region, err)
	}
	return v
}

func TestWritesInEveryRegionConverge(t *testing.T) {
	f := newFleet(t, "a", "b", "c")
	for i := range 50 {
		for _, r := range f.regions {
			mustWrite(t, f, r, fmt.Sprintf("%s-%d", r, i), fmt.Sprint(i), false)
		}
	}
	testutil.WaitFor(t, 10*time.Second, f.quiesced)
	st, err := f.node("c").regs.state()
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 150 {
		t.Fatalf("%d registers, want 150", len(st))
	}
	testutil.WaitFor(t, 5*time.Second, func() error {
		for _, s := range f.node("a").repl.Status() {
			if !s.Connected || s.Pending != 0 || s.Watermark.IsZero() {
				return fmt.Errorf("status %+v", s)
			}
		}
		return nil
	})
	cs, err := f.conflicts()
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 0 {
		t.Fatalf("conflicts without concurrent writes: %+v", cs)
	}
}

// isolate cuts every link of region.
func (f *fleet) isolate(region string, cut bool) {
	for _, r := range f.regions {
		if r != region {
			f.partition(region, r, cut)
		}
	}
}

func TestConcurrentWritesResolveByVersionAndRecordTheLoser(t *testing.T) {
	f := newFleet(t, "a", "b", "c")
	mustWrite(t, f, "a", "k", "base", false)
	testutil.WaitFor(t, 10*time.Second, f.quiesced)

	f.isolate("a", true)
	va := mustWrite(t, f, "a", "k", "from-a", false)
	vb := mustWrite(t, f, "b", "k", "from-b", false)
	f.healAll()
	testutil.WaitFor(t, 10*time.Second, f.quiesced)

	winner, loser, winValue := vb, va, "from-b"
	if va.Compare(vb) > 0 {
		winner, loser, winValue = va, vb, "from-a"
	}
	st, _ := f.node("c").regs.state()
	if want := winValue + "@" + winner.String(); st["k"] != want {
		t.Fatalf("k = %s, want %s", st["k"], want)
	}
	cs, err := f.conflicts()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, c := range cs {
		if c.Loser != loser || c.Winner != winner || string(c.Key) != "k" {
			t.Fatalf("unexpected conflict %+v (loser %v, winner %v)", c, loser, winner)
		}
		found[c.DetectedIn] = true
	}
	// Every region holding the winner saw the loser too, or received it after.
	if len(found) == 0 {
		t.Fatal("no conflict recorded")
	}

	// A write made after seeing the winner is its successor: no new conflict.
	before := len(cs)
	mustWrite(t, f, "c", "k", "after", false)
	testutil.WaitFor(t, 10*time.Second, f.quiesced)
	cs, _ = f.conflicts()
	if len(cs) != before {
		t.Fatalf("a successor was recorded as a conflict: %+v", cs[before:])
	}
}

func TestDeleteVersusUpdateConverges(t *testing.T) {
	f := newFleet(t, "a", "b", "c")
	mustWrite(t, f, "a", "k", "base", false)
	testutil.WaitFor(t, 10*time.Second, f.quiesced)
	f.isolate("b", true)
	vd := mustWrite(t, f, "a", "k", "", true)
	vu := mustWrite(t, f, "b", "k", "updated", false)
	f.healAll()
	testutil.WaitFor(t, 10*time.Second, f.quiesced)
	st, _ := f.node("a").regs.state()
	want := "deleted@" + vd.String()
	if vu.Compare(vd) > 0 {
		want = "updated@" + vu.String()
	}
	if st["k"] != want {
		t.Fatalf("k = %s, want %s", st["k"], want)
	}
}

func TestRestartedRegionCatchesUpFromItsCursor(t *testing.T) {
	f := newFleet(t, "a", "b", "c")
	for i := range 20 {
		mustWrite(t, f, "a", fmt.Sprint("before-", i), "x", false)
	}
	testutil.WaitFor(t, 10*time.Second, f.quiesced)
	f.stop("c")
	for i := range 20 {
		mustWrite(t, f, "a", fmt.Sprint("during-", i), "x", false)
		mustWrite(t, f, "b", fmt.Sprint("during-b-", i), "x", false)
	}
	f.start("c")
	testutil.WaitFor(t, 10*time.Second, f.quiesced)
	// Nothing was pulled twice into c's log: 20 + 40 applied records, one each.
	if n := f.node("c").regs.seq; n != 60 {
		t.Fatalf("c's log has %d records, want 60", n)
	}
}
