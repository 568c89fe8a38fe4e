package health

import (
	"context"
	"testing"
	"time"
)

// pending returns the snapshot waiting in w, or nil if there is none. Snapshots are
// handed over synchronously by the call that changes a state, so nothing is in flight.
func pending(w <-chan *Snapshot) *Snapshot {
	select {
	case s := <-w:
		return s
	default:
		return nil
	}
}

func newWatchedMonitor(t *testing.T) *testMonitor {
	t.Helper()
	m := newTestMonitor(t, "a", 0)
	if err := m.SetChecks([]Check{
		{ID: "web", Type: TypeHTTP, IPAddress: "127.0.0.1", FailureThreshold: 1},
		{ID: "db", Type: TypeTCP, IPAddress: "127.0.0.1", Port: 5432},
	}); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestWatchDeliversTheCurrentSnapshotAtOnce(t *testing.T) {
	m := newWatchedMonitor(t)
	m.observe("db", "b", true)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := pending(m.Watch(ctx))
	if s == nil {
		t.Fatal("no snapshot at once")
	}
	if s != m.Snapshot() {
		t.Errorf("first snapshot version %d, current %d", s.Version, m.Snapshot().Version)
	}
	if healthy, known := s.Healthy("db"); !healthy || !known {
		t.Errorf("db: %v, %v", healthy, known)
	}
	if healthy, known := s.Healthy("web"); !healthy || known {
		t.Errorf("web: %v, %v; want initializing", healthy, known)
	}
}

func TestWatchDeliversChanges(t *testing.T) {
	m := newWatchedMonitor(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := m.Watch(ctx)
	first := pending(w)

	m.recordResult(t, "web", false, "HTTP 500")
	s := pending(w)
	if s == nil || s.Version != first.Version+1 {
		t.Fatalf("after web went unhealthy: %+v (first was version %d)", s, first.Version)
	}
	if healthy, known := s.Healthy("web"); healthy || !known {
		t.Errorf("web: %v, %v; want unhealthy", healthy, known)
	}
	if first.states["web"] != StateInitializing {
		t.Error("an earlier snapshot changed: snapshots must be immutable")
	}

	// An observation that changes no overall state sends nothing.
	m.clock.Advance(time.Second)
	m.recordResult(t, "web", false, "HTTP 503")
	m.observe("web", "b", false)
	if s := pending(w); s != nil {
		t.Errorf("snapshot version %d without a change", s.Version)
	}

	// A new set of checks is a change, even when no state changes.
	if err := m.SetChecks([]Check{{ID: "web", Type: TypeHTTP, IPAddress: "127.0.0.1", FailureThreshold: 1}}); err != nil {
		t.Fatal(err)
	}
	s = pending(w)
	if s == nil {
		t.Fatal("no snapshot after SetChecks")
	}
	if _, ok := s.State("db"); ok {
		t.Error("the removed check is still in the snapshot")
	}
}

func TestWatchCoalesces(t *testing.T) {
	m := newWatchedMonitor(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	slow := m.Watch(ctx)
	fast := m.Watch(ctx)
	pending(slow)
	pending(fast)
	// The slow reader reads nothing while the state flips five times; the monitor does
	// not wait for it.
	var versions []uint64
	for i := range 5 {
		m.clock.Advance(time.Second)
		m.recordResult(t, "web", i%2 == 0, "")
		s := pending(fast)
		if s == nil {
			t.Fatalf("flip %d: nothing for the fast reader", i)
		}
		versions = append(versions, s.Version)
	}
	for i := 1; i < len(versions); i++ {
		if versions[i] != versions[i-1]+1 {
			t.Errorf("versions %v do not increase by one", versions)
		}
	}
	s := pending(slow)
	if s == nil || s != m.Snapshot() {
		t.Fatalf("the slow reader got %+v, want the latest snapshot (version %d)", s, m.Snapshot().Version)
	}
	if s := pending(slow); s != nil {
		t.Errorf("the slow reader has a backlog: version %d", s.Version)
	}
}

func TestWatchClosesOnCancel(t *testing.T) {
	m := newWatchedMonitor(t)
	ctx, cancel := context.WithCancel(context.Background())
	w := m.Watch(ctx)
	other, cancelOther := context.WithCancel(context.Background())
	defer cancelOther()
	kept := m.Watch(other)
	pending(kept)
	cancel()
	waitClosed(t, w)
	// The monitor goes on, and so does the other watcher.
	m.recordResult(t, "web", false, "")
	if pending(kept) == nil {
		t.Error("the other watcher stopped getting snapshots")
	}
	// A context that has already ended gives a channel that closes.
	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	waitClosed(t, m.Watch(done))
}

func waitClosed(t *testing.T, w <-chan *Snapshot) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-w:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("the channel was not closed after its context ended")
		}
	}
}
