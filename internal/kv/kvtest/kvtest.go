// Package kvtest is the conformance suite for kv.Store engines: every engine
// runs it from its own tests, so the guarantees in package kv's documentation
// hold for each of them in the same way.
//
//	func TestConformance(t *testing.T) {
//		kvtest.Run(t, kvtest.Engine{
//			Open: func(t *testing.T) kv.Store { ... a new, empty store ... },
//		})
//	}
package kvtest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/polyregion/polyregion/internal/kv"
)

// Engine tells the suite how to get stores of one engine.
type Engine struct {
	// Open returns a new, empty store. The suite closes it; Open may also
	// register a cleanup that closes it, since a second Close is harmless.
	Open func(t *testing.T) kv.Store
	// Reopenable returns an opener for a new, empty location (a directory, a
	// database): every call of the opener opens the same data, after the
	// suite closed the store that the previous call returned. Nil skips the
	// tests of what survives a reopen.
	Reopenable func(t *testing.T) (open func() (kv.Store, error))
}

// Run runs the whole suite against e, each group of checks as a subtest.
func Run(t *testing.T, e Engine) {
	t.Run("GetSetDelete", func(t *testing.T) { testGetSetDelete(t, e) })
	t.Run("BatchOrder", func(t *testing.T) { testBatchOrder(t, e) })
	t.Run("BatchLenSize", func(t *testing.T) { testBatchLenSize(t, e) })
	t.Run("ForeignBatch", func(t *testing.T) { testForeignBatch(t, e) })
	t.Run("BatchAtomicity", func(t *testing.T) { testBatchAtomicity(t, e) })
	t.Run("IterOrder", func(t *testing.T) { testIterOrder(t, e) })
	t.Run("IterBounds", func(t *testing.T) { testIterBounds(t, e) })
	t.Run("IterConsistent", func(t *testing.T) { testIterConsistent(t, e) })
	t.Run("DeleteRange", func(t *testing.T) { testDeleteRange(t, e) })
	t.Run("SnapshotIsolation", func(t *testing.T) { testSnapshotIsolation(t, e) })
	t.Run("ValuesAreCopies", func(t *testing.T) { testValuesAreCopies(t, e) })
	t.Run("Closed", func(t *testing.T) { testClosed(t, e) })
	t.Run("SnapshotClose", func(t *testing.T) { testSnapshotClose(t, e) })
	t.Run("CloseWhileBusy", func(t *testing.T) { testCloseWhileBusy(t, e) })
	t.Run("Durability", func(t *testing.T) { testDurability(t, e) })
	t.Run("Model", func(t *testing.T) { testModel(t, e) })
}

// tb is what the helpers need of a *testing.T or a *rapid.T.
type tb interface {
	Helper()
	Fatalf(format string, args ...any)
}

// open opens a store through e and closes it when the test ends.
func open(t *testing.T, e Engine) kv.Store {
	t.Helper()
	s := e.Open(t)
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, kv.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// Pair is one key and its value.
type Pair struct{ Key, Value string }

// Scan reads all of it and closes it.
func Scan(it kv.Iterator) ([]Pair, error) {
	var got []Pair
	for it.Next() {
		got = append(got, Pair{string(it.Key()), string(it.Value())})
	}
	err := it.Err()
	if cerr := it.Close(); cerr != err {
		return got, fmt.Errorf("iterator Close returned %v but Err returned %v", cerr, err)
	}
	return got, err
}

// commit applies a batch built by fill, failing the test on error.
func commit(t tb, s kv.Store, sync bool, fill func(b kv.Batch)) {
	t.Helper()
	b := s.NewBatch()
	fill(b)
	if err := s.Commit(b, kv.CommitOptions{Sync: sync}); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

func set(t tb, s kv.Store, kvs ...string) {
	t.Helper()
	commit(t, s, false, func(b kv.Batch) {
		for i := 0; i+1 < len(kvs); i += 2 {
			b.Set([]byte(kvs[i]), []byte(kvs[i+1]))
		}
	})
}

// wantGet checks that r holds want under key.
func wantGet(t tb, r kv.Reader, key, want string) {
	t.Helper()
	got, err := r.Get([]byte(key))
	if err != nil {
		t.Fatalf("Get(%q): %v, want %q", key, err, want)
	}
	if string(got) != want {
		t.Fatalf("Get(%q) = %q, want %q", key, got, want)
	}
}

// wantMissing checks that r has no value under key.
func wantMissing(t tb, r kv.Reader, key string) {
	t.Helper()
	got, err := r.Get([]byte(key))
	if !errors.Is(err, kv.ErrNotFound) {
		t.Fatalf("Get(%q) = %q, %v; want ErrNotFound", key, got, err)
	}
}

// scan returns every pair of r in [lower, upper), in the given direction.
func scan(t tb, r kv.Reader, lower, upper []byte, reverse bool) []Pair {
	t.Helper()
	iter := r.Iter
	if reverse {
		iter = r.ReverseIter
	}
	it, err := iter(lower, upper)
	if err != nil {
		t.Fatalf("iterate [%q, %q): %v", lower, upper, err)
	}
	got, err := Scan(it)
	if err != nil {
		t.Fatalf("iterate [%q, %q): %v", lower, upper, err)
	}
	return got
}

func wantPairs(t tb, what string, got, want []Pair) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s:\n got %q\nwant %q", what, got, want)
	}
}

func testGetSetDelete(t *testing.T, e Engine) {
	s := open(t, e)
	wantMissing(t, s, "a")

	set(t, s, "a", "1")
	wantGet(t, s, "a", "1")
	set(t, s, "a", "2")
	wantGet(t, s, "a", "2")

	// The empty key and the empty value are ordinary; nil is the empty key.
	set(t, s, "", "empty key", "e", "")
	wantGet(t, s, "", "empty key")
	wantGet(t, s, "e", "")
	if v, err := s.Get(nil); err != nil || string(v) != "empty key" {
		t.Fatalf("Get(nil) = %q, %v; want the empty key's value", v, err)
	}

	commit(t, s, false, func(b kv.Batch) { b.Delete([]byte("a")) })
	wantMissing(t, s, "a")
	// Deleting a missing key is not an error.
	commit(t, s, false, func(b kv.Batch) { b.Delete([]byte("never-set")) })
	commit(t, s, false, func(b kv.Batch) { b.Delete(nil) })
	wantMissing(t, s, "")
	wantGet(t, s, "e", "")

	// Committing an empty batch does nothing.
	if err := s.Commit(s.NewBatch(), kv.CommitOptions{Sync: true}); err != nil {
		t.Fatalf("Commit(empty): %v", err)
	}
}

func testBatchOrder(t *testing.T, e Engine) {
	s := open(t, e)
	set(t, s, "b", "old", "c", "old")
	commit(t, s, false, func(b kv.Batch) {
		b.Set([]byte("a"), []byte("1"))
		b.Set([]byte("a"), []byte("2")) // the last write wins
		b.Set([]byte("x"), []byte("1"))
		b.Delete([]byte("x")) // a delete after a set removes it
		b.DeleteRange([]byte("b"), []byte("d"))
		b.Set([]byte("c"), []byte("new")) // a set after the range delete survives it
	})
	wantGet(t, s, "a", "2")
	wantMissing(t, s, "x")
	wantMissing(t, s, "b")
	wantGet(t, s, "c", "new")
}

func testBatchLenSize(t *testing.T, e Engine) {
	s := open(t, e)
	b := s.NewBatch()
	if b.Len() != 0 || b.Size() != 0 {
		t.Fatalf("new batch: Len %d Size %d, want 0 0", b.Len(), b.Size())
	}
	b.Set([]byte("key"), []byte("value"))   // 3 + 5
	b.Delete([]byte("gone"))                // 4
	b.DeleteRange([]byte("a"), []byte("b")) // 1 + 1
	b.DeleteRange(nil, nil)                 // 0
	if b.Len() != 4 || b.Size() != 14 {
		t.Fatalf("Len %d Size %d, want 4 14", b.Len(), b.Size())
	}
	if err := s.Commit(b, kv.CommitOptions{}); err != nil {
		t.Fatal(err)
	}
	if b.Len() != 0 || b.Size() != 0 {
		t.Fatalf("after Commit: Len %d Size %d, want 0 0", b.Len(), b.Size())
	}
	// The batch is reusable, and holds only what was added after Commit.
	b.Set([]byte("again"), []byte("1"))
	if err := s.Commit(b, kv.CommitOptions{}); err != nil {
		t.Fatal(err)
	}
	wantGet(t, s, "again", "1")
	wantMissing(t, s, "key")
}

func testForeignBatch(t *testing.T, e Engine) {
	s1, s2 := open(t, e), open(t, e)
	b := s1.NewBatch()
	b.Set([]byte("k"), []byte("v"))
	if err := s2.Commit(b, kv.CommitOptions{}); !errors.Is(err, kv.ErrForeignBatch) {
		t.Fatalf("Commit of another store's batch: %v, want ErrForeignBatch", err)
	}
	if err := s2.Commit(nil, kv.CommitOptions{}); !errors.Is(err, kv.ErrForeignBatch) {
		t.Fatalf("Commit(nil): %v, want ErrForeignBatch", err)
	}
	wantMissing(t, s1, "k")
	wantMissing(t, s2, "k")
}

// testBatchAtomicity commits batches that each set keys in three distant
// ranges to one generation number, while readers check that they never see
// two generations at once, and never go back in time.
func testBatchAtomicity(t *testing.T, e Engine) {
	s := open(t, e)
	var keys [][]byte
	for _, prefix := range []string{"\x00item/", "log/", "\xffcursor/"} {
		for i := range 5 {
			keys = append(keys, fmt.Appendf(nil, "%s%d", prefix, i))
		}
	}
	const generations = 200

	done := make(chan struct{})
	errs := make(chan error, 3)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(done)
		for g := 1; g <= generations; g++ {
			b := s.NewBatch()
			for i, k := range keys {
				// Vary the value's length so a torn write would show.
				b.Set(k, fmt.Appendf(nil, "%d%s", g, bytes.Repeat([]byte{'.'}, (g+i)%7)))
			}
			if err := s.Commit(b, kv.CommitOptions{}); err != nil {
				errs <- err
				return
			}
		}
	})
	// One reader scans the store with an iterator, one through snapshots.
	reader := func(name string, read func() ([]Pair, error)) {
		last := 0
		for finished := false; !finished; {
			select {
			case <-done:
				finished = true // one more read after the writer stopped
			default:
			}
			pairs, err := read()
			if err != nil {
				errs <- fmt.Errorf("%s: %w", name, err)
				return
			}
			if len(pairs) != 0 && len(pairs) != len(keys) {
				errs <- fmt.Errorf("%s: saw %d of %d keys", name, len(pairs), len(keys))
				return
			}
			gen := -1
			for _, p := range pairs {
				var g int
				if _, err := fmt.Sscanf(p.Value, "%d", &g); err != nil {
					errs <- fmt.Errorf("%s: value %q: %w", name, p.Value, err)
					return
				}
				if gen != -1 && g != gen {
					errs <- fmt.Errorf("%s: saw generations %d and %d together", name, gen, g)
					return
				}
				gen = g
			}
			if gen != -1 && gen < last {
				errs <- fmt.Errorf("%s: generation went back from %d to %d", name, last, gen)
				return
			}
			last = max(last, gen)
			if finished && last != generations {
				errs <- fmt.Errorf("%s: last read saw generation %d, want %d", name, last, generations)
			}
		}
	}
	wg.Go(func() {
		reader("iterator", func() ([]Pair, error) {
			it, err := s.Iter(nil, nil)
			if err != nil {
				return nil, err
			}
			return Scan(it)
		})
	})
	wg.Go(func() {
		reader("snapshot", func() ([]Pair, error) {
			snap, err := s.Snapshot()
			if err != nil {
				return nil, err
			}
			defer snap.Close()
			// Point reads through a snapshot agree with each other too.
			var pairs []Pair
			for _, k := range keys {
				v, err := snap.Get(k)
				if errors.Is(err, kv.ErrNotFound) {
					continue
				}
				if err != nil {
					return nil, err
				}
				pairs = append(pairs, Pair{string(k), string(v)})
			}
			return pairs, nil
		})
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// orderKeys are sorted bytewise, and test the edges: the empty key, 0x00 and
// 0xff bytes, and keys that are prefixes of others.
var orderKeys = []string{
	"", "\x00", "\x00\x00", "\x00\xff", "\x01", "a", "a\x00", "ab", "a\xff", "b", "\xfe", "\xff", "\xff\x00", "\xff\xff", "\xff\xff\xff",
}

func fillOrderKeys(t *testing.T, s kv.Store) []Pair {
	t.Helper()
	if !slices.IsSorted(orderKeys) {
		t.Fatal("orderKeys is not sorted")
	}
	var all []Pair
	for i, k := range orderKeys {
		all = append(all, Pair{k, fmt.Sprint(i)})
	}
	// Write in an order unlike the sorted one, over several batches.
	commit(t, s, false, func(b kv.Batch) {
		for i := len(all) - 1; i >= 0; i -= 2 {
			b.Set([]byte(all[i].Key), []byte(all[i].Value))
		}
	})
	commit(t, s, false, func(b kv.Batch) {
		for i := len(all) - 2; i >= 0; i -= 2 {
			b.Set([]byte(all[i].Key), []byte(all[i].Value))
		}
	})
	return all
}

func reversed(p []Pair) []Pair {
	r := slices.Clone(p)
	slices.Reverse(r)
	return r
}

func testIterOrder(t *testing.T, e Engine) {
	s := open(t, e)
	wantPairs(t, "empty store", scan(t, s, nil, nil, false), nil)
	wantPairs(t, "empty store, reverse", scan(t, s, nil, nil, true), nil)
	all := fillOrderKeys(t, s)
	wantPairs(t, "Iter(nil, nil)", scan(t, s, nil, nil, false), all)
	wantPairs(t, "ReverseIter(nil, nil)", scan(t, s, nil, nil, true), reversed(all))
}

// inRange filters all to [lower, upper) with nil bounds unbounded.
func inRange(all []Pair, lower, upper []byte) []Pair {
	var out []Pair
	for _, p := range all {
		k := []byte(p.Key)
		if bytes.Compare(k, lower) >= 0 && (upper == nil || bytes.Compare(k, upper) < 0) {
			out = append(out, p)
		}
	}
	return out
}

func testIterBounds(t *testing.T, e Engine) {
	s := open(t, e)
	all := fillOrderKeys(t, s)
	bounds := [][]byte{nil, {}, {0}, {0, 0}, {0, 0, 0}, {0x01}, []byte("a"), []byte("a\x00"), []byte("aa"), []byte("c"), {0xff}, {0xff, 0xff}, {0xff, 0xff, 0xff, 0xff}}
	for _, lower := range bounds {
		for _, upper := range bounds {
			want := inRange(all, lower, upper)
			name := fmt.Sprintf("[%q, %q)", lower, upper)
			wantPairs(t, "Iter"+name, scan(t, s, lower, upper, false), want)
			wantPairs(t, "ReverseIter"+name, scan(t, s, lower, upper, true), reversed(want))
		}
	}
	// Bounds between keys, equal bounds and inverted bounds.
	wantPairs(t, "between keys", scan(t, s, []byte("a\xff\x00"), []byte("b"), false), nil)
	wantPairs(t, "lower == upper", scan(t, s, []byte("a"), []byte("a"), false), nil)
	wantPairs(t, "lower > upper", scan(t, s, []byte("b"), []byte("a"), false), nil)
	wantPairs(t, "lower > upper, reverse", scan(t, s, []byte("b"), []byte("a"), true), nil)
	// A prefix scan with kv.PrefixEnd.
	wantPairs(t, "prefix a", scan(t, s, []byte("a"), kv.PrefixEnd([]byte("a")), false),
		[]Pair{{"a", "5"}, {"a\x00", "6"}, {"ab", "7"}, {"a\xff", "8"}})
	wantPairs(t, "prefix \\xff\\xff", scan(t, s, []byte("\xff\xff"), kv.PrefixEnd([]byte("\xff\xff")), false),
		[]Pair{{"\xff\xff", "13"}, {"\xff\xff\xff", "14"}})
	// Mutating the bound slices after Iter returns does not move the range.
	lower, upper := []byte("a"), []byte("b")
	it, err := s.Iter(lower, upper)
	if err != nil {
		t.Fatal(err)
	}
	lower[0], upper[0] = 0, 0xff
	got, err := Scan(it)
	if err != nil {
		t.Fatal(err)
	}
	wantPairs(t, "bounds mutated after Iter", got, inRange(all, []byte("a"), []byte("b")))
}

func testIterConsistent(t *testing.T, e Engine) {
	s := open(t, e)
	set(t, s, "a", "1", "b", "1", "c", "1")
	for _, reverse := range []bool{false, true} {
		iter := s.Iter
		if reverse {
			iter = s.ReverseIter
		}
		it, err := iter(nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !it.Next() {
			t.Fatalf("reverse=%v: no first key: %v", reverse, it.Err())
		}
		first := Pair{string(it.Key()), string(it.Value())}
		// Writes committed after Iter returned are not visible through it.
		set(t, s, "a", "2", "b", "2", "c", "2", "bb", "2")
		commit(t, s, false, func(b kv.Batch) { b.Delete([]byte("b")) })
		rest, err := Scan(it)
		if err != nil {
			t.Fatal(err)
		}
		got := append([]Pair{first}, rest...)
		want := []Pair{{"a", "1"}, {"b", "1"}, {"c", "1"}}
		if reverse {
			want = reversed(want)
		}
		wantPairs(t, fmt.Sprintf("reverse=%v", reverse), got, want)
		set(t, s, "a", "1", "b", "1", "c", "1")
		commit(t, s, false, func(b kv.Batch) { b.Delete([]byte("bb")) })
	}
}

func testDeleteRange(t *testing.T, e Engine) {
	for _, tc := range []struct {
		name         string
		lower, upper []byte
	}{
		{"middle", []byte("a"), []byte("b")},
		{"from the start", nil, []byte("a\x00")},
		{"empty lower", []byte{}, []byte("a")},
		{"to the end", []byte("b"), nil},
		{"from 0xff", []byte{0xff}, nil},
		{"everything", nil, nil},
		{"empty range", []byte("a"), []byte("a")},
		{"inverted", []byte("b"), []byte("a")},
		{"between keys", []byte("a\xff\x00"), []byte("b")},
		{"prefix", []byte("\xff\xff"), kv.PrefixEnd([]byte("\xff\xff"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t, e)
			all := fillOrderKeys(t, s)
			commit(t, s, false, func(b kv.Batch) { b.DeleteRange(tc.lower, tc.upper) })
			var want []Pair
			for _, p := range all {
				if len(inRange([]Pair{p}, tc.lower, tc.upper)) == 0 {
					want = append(want, p)
				}
			}
			wantPairs(t, "after DeleteRange", scan(t, s, nil, nil, false), want)
			wantPairs(t, "after DeleteRange, reverse", scan(t, s, nil, nil, true), reversed(want))
			for _, p := range all {
				if len(inRange([]Pair{p}, tc.lower, tc.upper)) == 0 {
					wantGet(t, s, p.Key, p.Value)
				} else {
					wantMissing(t, s, p.Key)
				}
			}
			// Keys written again after the range delete are visible.
			set(t, s, "a", "again")
			wantGet(t, s, "a", "again")
		})
	}
}

func testSnapshotIsolation(t *testing.T, e Engine) {
	s := open(t, e)
	set(t, s, "a", "1", "b", "1", "c", "1", "\xff", "1")
	snap, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	before := []Pair{{"a", "1"}, {"b", "1"}, {"c", "1"}, {"\xff", "1"}}

	commit(t, s, true, func(b kv.Batch) {
		b.Set([]byte("a"), []byte("2"))
		b.Delete([]byte("b"))
		b.Set([]byte("bb"), []byte("2"))
		b.DeleteRange([]byte("c"), nil)
	})
	after := []Pair{{"a", "2"}, {"bb", "2"}}

	wantGet(t, snap, "a", "1")
	wantGet(t, snap, "b", "1")
	wantMissing(t, snap, "bb")
	wantGet(t, snap, "\xff", "1")
	wantPairs(t, "snapshot", scan(t, snap, nil, nil, false), before)
	wantPairs(t, "snapshot, reverse", scan(t, snap, nil, nil, true), reversed(before))
	wantPairs(t, "snapshot [b, c)", scan(t, snap, []byte("b"), []byte("c"), false), before[1:2])
	wantPairs(t, "store", scan(t, s, nil, nil, false), after)

	// A second snapshot sees the new state, the first still the old one.
	snap2, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap2.Close()
	set(t, s, "a", "3")
	wantPairs(t, "second snapshot", scan(t, snap2, nil, nil, false), after)
	wantPairs(t, "first snapshot", scan(t, snap, nil, nil, false), before)
	wantGet(t, s, "a", "3")
}

func testValuesAreCopies(t *testing.T, e Engine) {
	s := open(t, e)
	key, value := []byte("key"), []byte("value")
	b := s.NewBatch()
	b.Set(key, value)
	// The batch copied its arguments: changing them now changes nothing.
	key[0], value[0] = 'X', 'X'
	if err := s.Commit(b, kv.CommitOptions{}); err != nil {
		t.Fatal(err)
	}
	wantGet(t, s, "key", "value")
	wantMissing(t, s, "Xey")

	got, err := s.Get([]byte("key"))
	if err != nil {
		t.Fatal(err)
	}
	got[0] = 'Y'
	_ = append(got[:1], "ZZZZZZZZZZZZ"...)
	wantGet(t, s, "key", "value")

	snap, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	got, err = snap.Get([]byte("key"))
	if err != nil {
		t.Fatal(err)
	}
	got[0] = 'Y'
	wantGet(t, snap, "key", "value")
	wantGet(t, s, "key", "value")
}

func testClosed(t *testing.T, e Engine) {
	s := open(t, e)
	set(t, s, "a", "1", "b", "2", "c", "3")
	unfinished, err := s.Iter(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !unfinished.Next() {
		t.Fatal("no first key")
	}
	finished, err := s.ReverseIter(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for finished.Next() {
	}
	snap, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	snapIter, err := snap.Iter(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	pending := s.NewBatch()
	pending.Set([]byte("d"), []byte("4"))

	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	closed := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, kv.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", what, err)
		}
	}
	closed("Close", s.Close())
	_, err = s.Get([]byte("a"))
	closed("Get", err)
	_, err = s.Iter(nil, nil)
	closed("Iter", err)
	_, err = s.ReverseIter(nil, nil)
	closed("ReverseIter", err)
	_, err = s.Snapshot()
	closed("Snapshot", err)
	closed("Commit", s.Commit(pending, kv.CommitOptions{Sync: true}))
	b := s.NewBatch() // does not fail; its Commit does
	b.Set([]byte("e"), []byte("5"))
	b.Delete([]byte("a"))
	b.DeleteRange(nil, nil)
	closed("Commit of a new batch", s.Commit(b, kv.CommitOptions{}))

	// An iteration that the Close cut short reports it; one that had ended
	// does not.
	if unfinished.Next() {
		t.Error("Next after Close = true")
	}
	closed("unfinished iterator Err", unfinished.Err())
	closed("unfinished iterator Close", unfinished.Close())
	if finished.Next() {
		t.Error("Next on a finished iterator = true")
	}
	if err := finished.Close(); err != nil {
		t.Errorf("finished iterator Close after store Close: %v, want nil", err)
	}
	if snapIter.Next() {
		t.Error("snapshot iterator Next after Close = true")
	}
	closed("snapshot iterator Close", snapIter.Close())
	_, err = snap.Get([]byte("a"))
	closed("snapshot Get", err)
	_, err = snap.Iter(nil, nil)
	closed("snapshot Iter", err)
	_, err = snap.ReverseIter(nil, nil)
	closed("snapshot ReverseIter", err)
	closed("snapshot Close", snap.Close())
}

func testSnapshotClose(t *testing.T, e Engine) {
	s := open(t, e)
	set(t, s, "a", "1", "b", "2")
	snap, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	it, err := snap.Iter(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !it.Next() {
		t.Fatal("no first key")
	}
	if err := snap.Close(); err != nil {
		t.Fatalf("snapshot Close: %v", err)
	}
	if it.Next() {
		t.Error("Next after the snapshot closed = true")
	}
	if err := it.Close(); !errors.Is(err, kv.ErrClosed) {
		t.Errorf("iterator Close after the snapshot closed: %v, want ErrClosed", err)
	}
	if err := snap.Close(); !errors.Is(err, kv.ErrClosed) {
		t.Errorf("second snapshot Close: %v, want ErrClosed", err)
	}
	if _, err := snap.Get([]byte("a")); !errors.Is(err, kv.ErrClosed) {
		t.Errorf("Get on a closed snapshot: %v, want ErrClosed", err)
	}
	// The store is unaffected.
	wantGet(t, s, "a", "1")
	// An iterator closed twice returns the same result.
	it2, err := s.Iter(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := it2.Close(); err != nil {
		t.Fatal(err)
	}
	if err := it2.Close(); err != nil {
		t.Fatalf("second iterator Close: %v", err)
	}
	if it2.Next() {
		t.Error("Next after Close = true")
	}
}

// testCloseWhileBusy closes a store while other goroutines use it: every
// operation must either succeed or return ErrClosed, never panic.
func testCloseWhileBusy(t *testing.T, e Engine) {
	s := open(t, e)
	set(t, s, "a", "1", "b", "2", "c", "3")
	started := make(chan struct{})
	var once sync.Once
	errs := make(chan error, 4)
	check := func(err error) bool {
		if err != nil && !errors.Is(err, kv.ErrClosed) {
			errs <- err
		}
		return err == nil
	}
	var wg sync.WaitGroup
	worker := func(op func() error) {
		wg.Go(func() {
			// A worker that stops early must not leave the test waiting.
			defer once.Do(func() { close(started) })
			for i := 0; ; i++ {
				if i == 10 {
					once.Do(func() { close(started) })
				}
				if !check(op()) {
					return
				}
			}
		})
	}
	worker(func() error {
		b := s.NewBatch()
		b.Set([]byte("b"), []byte("x"))
		return s.Commit(b, kv.CommitOptions{})
	})
	worker(func() error {
		_, err := s.Get([]byte("a"))
		return err
	})
	worker(func() error {
		it, err := s.Iter(nil, nil)
		if err != nil {
			return err
		}
		_, err = Scan(it)
		return err
	})
	worker(func() error {
		snap, err := s.Snapshot()
		if err != nil {
			return err
		}
		it, err := snap.ReverseIter(nil, nil)
		if err != nil {
			_ = snap.Close()
			return err
		}
		if _, err := Scan(it); err != nil {
			_ = snap.Close()
			return err
		}
		return snap.Close()
	})
	<-started
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func testDurability(t *testing.T, e Engine) {
	if e.Reopenable == nil {
		t.Skip("the engine does not reopen stores")
	}
	reopen := e.Reopenable(t)
	s, err := reopen()
	if err != nil {
		t.Fatal(err)
	}
	commit(t, s, true, func(b kv.Batch) {
		b.Set([]byte("synced"), []byte("1"))
		b.Set([]byte("\x00"), []byte("low"))
		b.Set([]byte("\xff"), []byte("high"))
	})
	commit(t, s, false, func(b kv.Batch) { b.Set([]byte("unsynced"), []byte("2")) })
	commit(t, s, true, func(b kv.Batch) { b.DeleteRange([]byte("a"), []byte("b")) })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	want := []Pair{{"\x00", "low"}, {"synced", "1"}, {"unsynced", "2"}, {"\xff", "high"}}
	for round := range 2 {
		s, err = reopen()
		if err != nil {
			t.Fatalf("reopen %d: %v", round, err)
		}
		wantPairs(t, fmt.Sprintf("after reopen %d", round), scan(t, s, nil, nil, false), want)
		// A clean Close made even the unsynced commit durable.
		set(t, s, fmt.Sprint("round", round), "x")
		want = append(want, Pair{fmt.Sprint("round", round), "x"})
		slices.SortFunc(want, func(a, b Pair) int { return bytes.Compare([]byte(a.Key), []byte(b.Key)) })
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
