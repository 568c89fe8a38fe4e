package kv_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/polyregion/polyregion/internal/kv"
	"github.com/polyregion/polyregion/internal/kv/kvtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// small keeps the stores of a test run small, and their flushes frequent.
var small = kv.Options{CacheSize: 1 << 20, MemTableSize: 256 << 10}

// testOptions are small, with Pebble's warnings routed to the test's log.
func testOptions(t *testing.T) kv.Options {
	o := small
	o.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	return o
}

func mustOpen(t *testing.T, open func() (kv.Store, error)) kv.Store {
	t.Helper()
	s, err := open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	t.Run("disk", func(t *testing.T) {
		kvtest.Run(t, kvtest.Engine{
			Open: func(t *testing.T) kv.Store {
				return mustOpen(t, func() (kv.Store, error) { return kv.Open(t.TempDir(), testOptions(t)) })
			},
			Reopenable: func(t *testing.T) func() (kv.Store, error) {
				dir := t.TempDir()
				return func() (kv.Store, error) { return kv.Open(dir, testOptions(t)) }
			},
		})
	})
	t.Run("memory", func(t *testing.T) {
		kvtest.Run(t, kvtest.Engine{
			Open: func(t *testing.T) kv.Store { return mustOpen(t, kv.OpenMemory) },
		})
	})
	t.Run("memory-with-defaults", func(t *testing.T) {
		kvtest.Run(t, kvtest.Engine{
			Open: func(t *testing.T) kv.Store {
				return mustOpen(t, func() (kv.Store, error) { return kv.OpenMemoryWith(kv.Options{}) })
			},
		})
	})
	t.Run("memfs", func(t *testing.T) {
		kvtest.Run(t, kvtest.Engine{
			Open: func(t *testing.T) kv.Store {
				return mustOpen(t, func() (kv.Store, error) { return kv.OpenMemFS(kv.NewMemFS(), "db", small) })
			},
			Reopenable: func(t *testing.T) func() (kv.Store, error) {
				fs := kv.NewMemFS()
				return func() (kv.Store, error) { return kv.OpenMemFS(fs, "db", small) }
			},
		})
	})
}

func TestPrefixEnd(t *testing.T) {
	for _, tc := range []struct{ prefix, want []byte }{
		{nil, nil},
		{[]byte{}, nil},
		{[]byte("a"), []byte("b")},
		{[]byte("ab"), []byte("ac")},
		{[]byte("a\xff"), []byte("b")},
		{[]byte("a\xff\xff"), []byte("b")},
		{[]byte("\x00"), []byte("\x01")},
		{[]byte("\xfe\xff"), []byte("\xff")},
		{[]byte("\xff"), nil},
		{[]byte("\xff\xff"), nil},
	} {
		prefix := bytes.Clone(tc.prefix)
		got := kv.PrefixEnd(prefix)
		if !bytes.Equal(got, tc.want) || (got == nil) != (tc.want == nil) {
			t.Errorf("PrefixEnd(%q) = %q, want %q", tc.prefix, got, tc.want)
		}
		if !bytes.Equal(prefix, tc.prefix) {
			t.Errorf("PrefixEnd(%q) changed its argument to %q", tc.prefix, prefix)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts kv.Options
		want []string // each must appear in the error; none means valid
	}{
		{"zero", kv.Options{}, nil},
		{"sizes", kv.Options{CacheSize: 8 << 20, MemTableSize: 4 << 20}, nil},
		{"smallest", kv.Options{CacheSize: 1, MemTableSize: 64 << 10}, nil},
		{"largest memtable", kv.Options{MemTableSize: 1 << 30}, nil},
		{"negative cache", kv.Options{CacheSize: -1}, []string{"CacheSize: -1 is negative"}},
		{"negative memtable", kv.Options{MemTableSize: -5}, []string{"MemTableSize: -5 is negative"}},
		{"small memtable", kv.Options{MemTableSize: 1000}, []string{"MemTableSize: 1000 is below the minimum of 65536"}},
		{"large memtable", kv.Options{MemTableSize: 2 << 30}, []string{"MemTableSize: 2147483648 is above the maximum of 1073741824"}},
		{"every problem at once", kv.Options{CacheSize: -1, MemTableSize: -1}, []string{"CacheSize", "MemTableSize"}},
	} {
		err := tc.opts.Validate()
		if len(tc.want) == 0 {
			if err != nil {
				t.Errorf("%s: Validate: %v, want nil", tc.name, err)
			}
			// Pebble accepts them too.
			s, err := kv.OpenMemFS(kv.NewMemFS(), "db", tc.opts)
			if err != nil {
				t.Errorf("%s: OpenMemFS: %v", tc.name, err)
				continue
			}
			if err := s.Close(); err != nil {
				t.Errorf("%s: Close: %v", tc.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: Validate = nil, want an error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: Validate = %q, want it to contain %q", tc.name, err, w)
			}
		}
		// Open refuses the same options with the same error, before touching
		// the directory.
		dir := filepath.Join(t.TempDir(), "never-created")
		if _, oerr := kv.Open(dir, tc.opts); oerr == nil || oerr.Error() != err.Error() {
			t.Errorf("%s: Open = %v, want %v", tc.name, oerr, err)
		}
		if _, serr := os.Stat(dir); !errors.Is(serr, os.ErrNotExist) {
			t.Errorf("%s: Open with invalid options touched %s: %v", tc.name, dir, serr)
		}
		if _, serr := kv.OpenMemFS(kv.NewMemFS(), "db", tc.opts); serr == nil {
			t.Errorf("%s: OpenMemFS accepted invalid options", tc.name)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := kv.Open("", kv.Options{}); err == nil {
		t.Error("Open(\"\") succeeded")
	}
	if _, err := kv.OpenMemFS(nil, "db", kv.Options{}); err == nil {
		t.Error("OpenMemFS(nil) succeeded")
	}

	// A directory is open in one store at a time; the error names it.
	dir := t.TempDir()
	mustOpen(t, func() (kv.Store, error) { return kv.Open(dir, small) })
	s, err := kv.Open(dir, small)
	if err == nil {
		_ = s.Close()
		t.Fatal("second Open of the same directory succeeded")
	}
	if !strings.HasPrefix(err.Error(), "kv: open "+dir+": ") {
		t.Errorf("second Open: %q, want it to start with kv: open and the directory", err)
	}

	// The same holds on a MemFS.
	fs := kv.NewMemFS()
	mustOpen(t, func() (kv.Store, error) { return kv.OpenMemFS(fs, "a", small) })
	if s, err := kv.OpenMemFS(fs, "a", small); err == nil {
		_ = s.Close()
		t.Error("second OpenMemFS of the same directory succeeded")
	}
}

// TestLargeBatch commits a batch larger than the write buffer, which Pebble
// handles on a path of its own.
func TestLargeBatch(t *testing.T) {
	s := mustOpen(t, kv.OpenMemory)
	b := s.NewBatch()
	big := bytes.Repeat([]byte("x"), 300<<10)
	for i := range 4 {
		b.Set(fmt.Appendf(nil, "big%d", i), big)
	}
	if err := s.Commit(b, kv.CommitOptions{Sync: true}); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		v, err := s.Get(fmt.Appendf(nil, "big%d", i))
		if err != nil || !bytes.Equal(v, big) {
			t.Fatalf("big%d: %d bytes, %v", i, len(v), err)
		}
	}
	// The batch was handed back; reusing it commits only the new write.
	b.Set([]byte("small"), []byte("1"))
	if err := s.Commit(b, kv.CommitOptions{}); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get([]byte("small")); err != nil || string(v) != "1" {
		t.Fatalf("small = %q, %v", v, err)
	}
}

// TestLogger checks that Pebble's messages reach the given logger, marked as
// Pebble's, at Debug.
func TestLogger(t *testing.T) {
	var mu sync.Mutex
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&lockedWriter{mu: &mu, w: &buf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	fs := kv.NewMemFS()
	opts := small
	opts.Logger = logger
	s, err := kv.OpenMemFS(fs, "db", opts)
	if err != nil {
		t.Fatal(err)
	}
	// Write enough to fill the write buffer a few times, so Pebble flushes.
	for i := range 40 {
		b := s.NewBatch()
		b.Set(fmt.Appendf(nil, "k%d", i), bytes.Repeat([]byte{'v'}, 20<<10))
		if err := s.Commit(b, kv.CommitOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	if !strings.Contains(out, "level=DEBUG") || !strings.Contains(out, "engine=pebble") || !strings.Contains(out, "flush") {
		t.Errorf("log has no Pebble flush event at Debug:\n%s", out)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// scanAll reads every pair of s into a map.
func scanAll(t *testing.T, s kv.Reader) map[string]string {
	t.Helper()
	it, err := s.Iter(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	pairs, err := kvtest.Scan(it)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pairs {
		got[p.Key] = p.Value
	}
	return got
}

// TestCrash commits random batches, some with Sync, then takes the state of
// the filesystem after a simulated power loss and opens it. Whatever
// survives must be the state after some commit at or after the last synced
// one: nothing synced is lost, no batch is torn, no commit survives without
// those before it.
func TestCrash(t *testing.T) {
	for seed := range uint64(12) {
		keepPercent := []int{0, 25, 50, 75, 100}[seed%5]
		t.Run(fmt.Sprintf("seed=%d,keep=%d%%", seed, keepPercent), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			fs := kv.NewMemFS()
			s, err := kv.OpenMemFS(fs, "db", small)
			if err != nil {
				t.Fatal(err)
			}
			states := []map[string]string{{}} // states[i]: the data after commit i
			lastSynced := 0
			for i := 1; i <= 60; i++ {
				cur := maps.Clone(states[i-1])
				b := s.NewBatch()
				for range 1 + rng.IntN(5) {
					k := fmt.Sprintf("k%02d", rng.IntN(20))
					switch rng.IntN(6) {
					case 0:
						b.Delete([]byte(k))
						delete(cur, k)
					case 1:
						lo, hi := fmt.Sprintf("k%02d", rng.IntN(20)), fmt.Sprintf("k%02d", rng.IntN(20))
						b.DeleteRange([]byte(lo), []byte(hi))
						maps.DeleteFunc(cur, func(k, _ string) bool { return k >= lo && k < hi })
					default:
						v := fmt.Sprintf("%d-%s", i, strings.Repeat("v", rng.IntN(3000)))
						b.Set([]byte(k), []byte(v))
						cur[k] = v
					}
				}
				sync := rng.IntN(5) == 0
				if err := s.Commit(b, kv.CommitOptions{Sync: sync}); err != nil {
					t.Fatal(err)
				}
				states = append(states, cur)
				if sync {
					lastSynced = i
				}
			}
			crashed := fs.CrashClone(keepPercent, seed)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}

			s2 := mustOpen(t, func() (kv.Store, error) { return kv.OpenMemFS(crashed, "db", small) })
			got := scanAll(t, s2)
			survivor := -1
			for i := len(states) - 1; i >= lastSynced; i-- {
				if maps.Equal(got, states[i]) {
					survivor = i
					break
				}
			}
			if survivor < 0 {
				t.Fatalf("after the crash the store holds the state after no commit from %d (last synced) to %d:\n%v",
					lastSynced, len(states)-1, slices.Sorted(maps.Keys(got)))
			}
			t.Logf("last synced commit %d, survived up to commit %d of %d", lastSynced, survivor, len(states)-1)
			// With nothing unsynced kept, exactly the synced commits survive:
			// the twin does lose writes. (With everything kept, the last
			// commits may still be lost: Pebble may not have written them to
			// the file yet.)
			if keepPercent == 0 && survivor != lastSynced {
				t.Errorf("kept nothing unsynced, yet commits up to %d survived, want up to %d", survivor, lastSynced)
			}
		})
	}
}

// TestCrashAfterClose checks that a clean Close makes unsynced commits
// durable.
func TestCrashAfterClose(t *testing.T) {
	fs := kv.NewMemFS()
	s, err := kv.OpenMemFS(fs, "db", small)
	if err != nil {
		t.Fatal(err)
	}
	b := s.NewBatch()
	b.Set([]byte("unsynced"), []byte("1"))
	if err := s.Commit(b, kv.CommitOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := mustOpen(t, func() (kv.Store, error) { return kv.OpenMemFS(fs.CrashClone(0, 0), "db", small) })
	if v, err := s2.Get([]byte("unsynced")); err != nil || string(v) != "1" {
		t.Fatalf("after Close and a crash: %q, %v; want \"1\"", v, err)
	}
}

// TestSyncMakesEarlierCommitsDurable checks that Sync makes the commits before it, which did
// not wait for the disk, survive a crash, and that those after it do not.
func TestSyncMakesEarlierCommitsDurable(t *testing.T) {
	fs := kv.NewMemFS()
	s := mustOpen(t, func() (kv.Store, error) { return kv.OpenMemFS(fs, "db", small) })
	defer s.Close()
	commitOne := func(key string) {
		b := s.NewBatch()
		b.Set([]byte(key), []byte("1"))
		if err := s.Commit(b, kv.CommitOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	commitOne("a")
	commitOne("b")
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	commitOne("c")
	s2 := mustOpen(t, func() (kv.Store, error) { return kv.OpenMemFS(fs.CrashClone(0, 0), "db", small) })
	defer s2.Close()
	if got := slices.Sorted(maps.Keys(scanAll(t, s2))); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("after Sync and a crash the store holds %q, want [a b]", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(); !errors.Is(err, kv.ErrClosed) {
		t.Fatalf("Sync after Close: %v, want ErrClosed", err)
	}
}

func TestErrorsAreSentinels(t *testing.T) {
	for _, err := range []error{kv.ErrNotFound, kv.ErrClosed, kv.ErrBatchTooLarge, kv.ErrForeignBatch} {
		if !strings.HasPrefix(err.Error(), "kv: ") {
			t.Errorf("%q lacks the kv: prefix", err)
		}
		if errors.Unwrap(err) != nil {
			t.Errorf("%q wraps another error", err)
		}
	}
}
