package kvtest

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/polyregion/polyregion/internal/kv"
)

// testModel checks a store against a map under random batches, point reads,
// range scans in both directions and snapshots.
func testModel(t *testing.T, e Engine) {
	rapid.Check(t, func(rt *rapid.T) {
		s := e.Open(t)
		m := &model{store: s, data: map[string]string{}}
		defer m.close(rt)
		rt.Repeat(map[string]func(*rapid.T){
			"commit":        m.commit,
			"get":           m.get,
			"scan":          m.scan,
			"snapshot":      m.snapshot,
			"readSnapshot":  m.readSnapshot,
			"closeSnapshot": m.closeSnapshot,
		})
	})
}

// modelKeys draws keys from few bytes, so that writes, deletes and ranges
// often meet, and the 0x00 and 0xff edges come up often.
var modelKeys = rapid.Custom(func(t *rapid.T) []byte {
	return rapid.SliceOfN(rapid.SampledFrom([]byte{0x00, 0x01, 'a', 'b', 0xfe, 0xff}), 0, 3).Draw(t, "key")
})

// modelBound is a range bound: a key, or nil for unbounded.
var modelBound = rapid.Custom(func(t *rapid.T) []byte {
	if rapid.IntRange(0, 3).Draw(t, "unbounded") == 0 {
		return nil
	}
	return modelKeys.Draw(t, "bound")
})

type model struct {
	store kv.Store
	data  map[string]string
	snaps []modelSnapshot
	seq   int
}

type modelSnapshot struct {
	snap kv.Snapshot
	data map[string]string
}

func (m *model) close(t *rapid.T) {
	for _, sn := range m.snaps {
		if err := sn.snap.Close(); err != nil {
			t.Errorf("snapshot Close: %v", err)
		}
	}
	if err := m.store.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func inModelRange(k string, lower, upper []byte) bool {
	return bytes.Compare([]byte(k), lower) >= 0 && (upper == nil || bytes.Compare([]byte(k), upper) < 0)
}

func (m *model) commit(t *rapid.T) {
	b := m.store.NewBatch()
	n := rapid.IntRange(0, 8).Draw(t, "writes")
	for range n {
		switch rapid.SampledFrom([]string{"set", "set", "delete", "deleteRange"}).Draw(t, "write") {
		case "set":
			k := modelKeys.Draw(t, "key")
			m.seq++
			v := fmt.Sprintf("%d%s", m.seq, bytes.Repeat([]byte{'v'}, rapid.IntRange(0, 40).Draw(t, "pad")))
			b.Set(k, []byte(v))
			m.data[string(k)] = v
		case "delete":
			k := modelKeys.Draw(t, "key")
			b.Delete(k)
			delete(m.data, string(k))
		case "deleteRange":
			lower, upper := modelBound.Draw(t, "lower"), modelBound.Draw(t, "upper")
			b.DeleteRange(lower, upper)
			maps.DeleteFunc(m.data, func(k, _ string) bool { return inModelRange(k, lower, upper) })
		}
	}
	if b.Len() != n {
		t.Fatalf("Len = %d after %d writes", b.Len(), n)
	}
	if err := m.store.Commit(b, kv.CommitOptions{Sync: rapid.Bool().Draw(t, "sync")}); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

func checkGet(t *rapid.T, r kv.Reader, data map[string]string, key []byte) {
	got, err := r.Get(key)
	want, ok := data[string(key)]
	switch {
	case !ok && !errors.Is(err, kv.ErrNotFound):
		t.Fatalf("Get(%q) = %q, %v; want ErrNotFound", key, got, err)
	case ok && err != nil:
		t.Fatalf("Get(%q): %v, want %q", key, err, want)
	case ok && string(got) != want:
		t.Fatalf("Get(%q) = %q, want %q", key, got, want)
	}
}

func checkScan(t *rapid.T, r kv.Reader, data map[string]string) {
	lower, upper := modelBound.Draw(t, "lower"), modelBound.Draw(t, "upper")
	reverse := rapid.Bool().Draw(t, "reverse")
	var want []Pair
	for _, k := range slices.Sorted(maps.Keys(data)) {
		if inModelRange(k, lower, upper) {
			want = append(want, Pair{k, data[k]})
		}
	}
	if reverse {
		slices.Reverse(want)
	}
	got := scan(t, r, lower, upper, reverse)
	if !slices.Equal(got, want) {
		t.Fatalf("[%q, %q) reverse=%v:\n got %q\nwant %q", lower, upper, reverse, got, want)
	}
}

func (m *model) get(t *rapid.T)  { checkGet(t, m.store, m.data, modelKeys.Draw(t, "key")) }
func (m *model) scan(t *rapid.T) { checkScan(t, m.store, m.data) }

func (m *model) snapshot(t *rapid.T) {
	if len(m.snaps) >= 3 {
		t.Skip("enough snapshots open")
	}
	snap, err := m.store.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	m.snaps = append(m.snaps, modelSnapshot{snap, maps.Clone(m.data)})
}

func (m *model) pickSnapshot(t *rapid.T) int {
	if len(m.snaps) == 0 {
		t.Skip("no snapshot open")
	}
	return rapid.IntRange(0, len(m.snaps)-1).Draw(t, "snapshot")
}

func (m *model) readSnapshot(t *rapid.T) {
	sn := m.snaps[m.pickSnapshot(t)]
	checkGet(t, sn.snap, sn.data, modelKeys.Draw(t, "key"))
	checkScan(t, sn.snap, sn.data)
}

func (m *model) closeSnapshot(t *rapid.T) {
	i := m.pickSnapshot(t)
	if err := m.snaps[i].snap.Close(); err != nil {
		t.Fatalf("snapshot Close: %v", err)
	}
	m.snaps = slices.Delete(m.snaps, i, i+1)
}
