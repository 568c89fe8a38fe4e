package replication

import (
	"bytes"
	"sync"
	"testing"
	"time"
)

func TestClockNeverGoesBack(t *testing.T) {
	wall := time.Unix(1000, 0)
	var mu sync.Mutex
	c := NewClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return wall })
	a := c.Now()
	b := c.Now() // same wall time: the logical counter moves
	if b.Compare(a) <= 0 || b.Wall != a.Wall || b.Logical != 1 {
		t.Fatalf("second reading %v after %v", b, a)
	}
	mu.Lock()
	wall = wall.Add(-time.Second) // the wall clock steps back
	mu.Unlock()
	if d := c.Now(); d.Compare(b) <= 0 {
		t.Fatalf("reading %v after the wall clock stepped back is not after %v", d, b)
	}
	remote := Timestamp{Wall: wall.Add(time.Hour).UnixNano(), Logical: 7}
	if skew := c.Observe(remote); skew != time.Hour {
		t.Fatalf("skew %v, want 1h", skew)
	}
	if e := c.Now(); e.Compare(remote) <= 0 {
		t.Fatalf("reading %v after observing %v is not after it", e, remote)
	}
	if p := c.Peek(); p != c.Peek() {
		t.Fatal("Peek advanced the clock")
	}
}

func TestClockConcurrentReadingsAreDistinct(t *testing.T) {
	c := NewClock(func() time.Time { return time.Unix(5, 0) })
	var mu sync.Mutex
	seen := map[Timestamp]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 500 {
				ts := c.Now()
				mu.Lock()
				if seen[ts] {
					t.Errorf("timestamp %v twice", ts)
				}
				seen[ts] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

func TestTimestampEncodingSortsAsTimestamps(t *testing.T) {
	ts := []Timestamp{{}, {Wall: 1}, {Wall: 1, Logical: 1}, {Wall: 1, Logical: 300}, {Wall: 2}, {Wall: 1 << 40}}
	for i := 1; i < len(ts); i++ {
		a, b := ts[i-1].Append(nil), ts[i].Append(nil)
		if bytes.Compare(a, b) >= 0 || ts[i-1].Compare(ts[i]) >= 0 {
			t.Errorf("%v does not sort before %v", ts[i-1], ts[i])
		}
		if got, err := DecodeTimestamp(b); err != nil || got != ts[i] {
			t.Errorf("decode(%x) = %v, %v", b, got, err)
		}
	}
	if _, err := DecodeTimestamp(make([]byte, 11)); err == nil {
		t.Error("11 bytes decoded")
	}
}
