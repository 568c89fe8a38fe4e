package netsim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// slack is how much later than the configured delay bytes may arrive in
// these tests: generous, for the race detector on a busy 2-core machine with
// other packages testing at once; the benchmark measures the real figure.
const slack = 150 * time.Millisecond

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// writeInPieces writes b in pieces of random sizes (1 B to 100 KiB).
func writeInPieces(c net.Conn, b []byte, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, 1))
	for len(b) > 0 {
		n := min(len(b), 1+r.IntN(100<<10))
		if r.IntN(4) == 0 {
			n = min(len(b), 1+r.IntN(600)) // small writes too
		}
		if _, err := c.Write(b[:n]); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

func TestRelayDeliversBytesExactlyInOrder(t *testing.T) {
	w := New(testLogger(t))
	w.SetBaseline("a", "b", 2*time.Millisecond)
	up := randomBytes(1, 6<<20)
	down := randomBytes(2, 5<<20)

	type result struct {
		got []byte
		err error
	}
	serverGot := make(chan result, 1)
	srv := startServer(t, func(c net.Conn) {
		var wg sync.WaitGroup
		var writeErr error
		wg.Go(func() {
			writeErr = writeInPieces(c, down, 3)
			if writeErr == nil {
				writeErr = c.(*net.TCPConn).CloseWrite()
			}
		})
		got, err := io.ReadAll(c)
		wg.Wait()
		serverGot <- result{got, errors.Join(err, writeErr)}
	})
	l := startLink(t, w, "a", "b", fixed(srv.addr()))

	c := dial(t, l)
	var wg sync.WaitGroup
	var writeErr error
	wg.Go(func() {
		writeErr = writeInPieces(c, up, 4)
		if writeErr == nil {
			writeErr = c.CloseWrite()
		}
	})
	if err := c.SetReadDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	wg.Wait()
	if err != nil || writeErr != nil {
		t.Fatalf("client: read: %v, write: %v", err, writeErr)
	}
	if !bytes.Equal(got, down) {
		t.Errorf("client got %d bytes, want the %d the server sent (first difference at %d)",
			len(got), len(down), firstDiff(got, down))
	}
	select {
	case r := <-serverGot:
		if r.err != nil {
			t.Fatalf("server: %v", r.err)
		}
		if !bytes.Equal(r.got, up) {
			t.Errorf("server got %d bytes, want the %d the client sent (first difference at %d)",
				len(r.got), len(up), firstDiff(r.got, up))
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server never finished")
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func TestDelayIsAddedToEachDirection(t *testing.T) {
	w := New(testLogger(t))
	w.SetBaseline("a", "b", 30*time.Millisecond)
	srv := startServer(t, echo)
	l := startLink(t, w, "a", "b", fixed(srv.addr()))
	c := dial(t, l)

	measure := func(oneWay time.Duration) {
		t.Helper()
		var rtts []time.Duration
		for i := range 7 {
			rtt := roundTrip(t, c, fmt.Appendf(nil, "ping %d", i))
			if rtt < 2*oneWay {
				t.Errorf("round trip %d took %v, want at least 2×%v", i, rtt, oneWay)
			}
			rtts = append(rtts, rtt)
		}
		if m := median(rtts); m >= 2*oneWay+slack {
			t.Errorf("median round trip %v, want under 2×%v + %v (all: %v)", m, oneWay, slack, rtts)
		}
		t.Logf("one-way %v: round trips %v", oneWay, rtts)
	}
	measure(30 * time.Millisecond)

	// A change applies at once to the existing connection.
	w.SetDelay("a", "b", 10*time.Millisecond)
	measure(10 * time.Millisecond)

	// And to new ones.
	w.SetDelay("a", "b", 20*time.Millisecond)
	c = dial(t, l)
	measure(20 * time.Millisecond)
}

func TestPartitionHoldsBytesOfExistingConnection(t *testing.T) {
	w := New(testLogger(t))
	w.SetBaseline("a", "b", 5*time.Millisecond)
	srv := startServer(t, echo)
	l := startLink(t, w, "a", "b", fixed(srv.addr()))
	c := dial(t, l)
	roundTrip(t, c, []byte("before"))

	w.Partition("a", "b")
	if !w.State("a", "b").Partitioned || !w.State("b", "a").Partitioned {
		t.Fatalf("states after Partition: %+v, %+v", w.State("a", "b"), w.State("b", "a"))
	}
	msg := []byte("during the partition")
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	expectSilence(t, c, 300*time.Millisecond)

	w.Heal("a", "b")
	got := make([]byte, len(msg))
	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("after heal: %v", err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("after heal got %q, want %q", got, msg)
	}

	// Bytes already queued, not yet due, are held too.
	w.SetDelay("a", "b", 100*time.Millisecond)
	msg = []byte("in flight")
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the bytes to be queued", func() bool { return l.queued() > 0 })
	w.Partition("a", "b")
	expectSilence(t, c, 400*time.Millisecond)
	w.Heal("a", "b") // back to the 5ms baseline
	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	got = make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("after second heal: %v", err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("after second heal got %q, want %q", got, msg)
	}
	roundTrip(t, c, []byte("after"))
}

func TestPartitionHoldsNewConnection(t *testing.T) {
	w := New(testLogger(t))
	w.SetBaseline("a", "b", 5*time.Millisecond)
	srv := startServer(t, echo)
	l := startLink(t, w, "a", "b", fixed(srv.addr()))

	w.Partition("b", "a")
	c := dial(t, l)
	msg := []byte("hello across the cut")
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	expectSilence(t, c, 300*time.Millisecond)
	if n := srv.accepted.Load(); n != 0 {
		t.Fatalf("target accepted %d connections during the partition, want 0", n)
	}

	w.HealAll()
	got := make([]byte, len(msg))
	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("after heal: %v", err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("after heal got %q, want %q", got, msg)
	}
	if n := srv.accepted.Load(); n != 1 {
		t.Fatalf("target accepted %d connections, want 1", n)
	}
}

func TestPartitionedConnectionEndsWhenClientLeaves(t *testing.T) {
	w := New(testLogger(t))
	w.SetBaseline("a", "b", time.Millisecond)
	srv := startServer(t, echo)
	l := startLink(t, w, "a", "b", fixed(srv.addr()))
	w.Partition("a", "b")

	c := dial(t, l)
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the link to hold the byte", func() bool { return l.queued() > 0 })
	if err := c.SetLinger(0); err != nil { // close with a reset: the client is gone
		t.Fatal(err)
	}
	_ = c.Close()
	waitFor(t, 5*time.Second, "the relay to end", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return len(l.relays) == 0
	})
	if n := srv.accepted.Load(); n != 0 {
		t.Fatalf("target accepted %d connections, want 0", n)
	}
}

func TestHalfClose(t *testing.T) {
	w := New(testLogger(t))
	w.SetBaseline("a", "b", 5*time.Millisecond)
	srv := startServer(t, func(c net.Conn) {
		n, err := io.Copy(io.Discard, c) // until the client's EOF
		if err != nil {
			return
		}
		fmt.Fprintf(c, "got %d bytes", n)
	})
	l := startLink(t, w, "a", "b", fixed(srv.addr()))
	c := dial(t, l)

	if _, err := c.Write(randomBytes(5, 100_000)); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	reply, err := io.ReadAll(c) // the reply, then EOF when the server closes
	if err != nil {
		t.Fatalf("reading the reply: %v", err)
	}
	if string(reply) != "got 100000 bytes" {
		t.Fatalf("reply = %q, want %q", reply, "got 100000 bytes")
	}
	waitFor(t, 5*time.Second, "the relay to end", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return len(l.relays) == 0
	})
}

func TestUnknownTargetClosesClient(t *testing.T) {
	w := New(testLogger(t))
	l := startLink(t, w, "a", "b", fixed(""))
	c := dial(t, l)
	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	n, err := c.Read(make([]byte, 1))
	var ne net.Error
	if n != 0 || err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		t.Fatalf("read = %d, %v; want the link to close the connection", n, err)
	}
}

func TestTargetAskedAgainAfterHeal(t *testing.T) {
	w := New(testLogger(t))
	w.SetBaseline("a", "b", time.Millisecond)
	srv := startServer(t, echo)
	var mu sync.Mutex
	addr := srv.addr()
	l := startLink(t, w, "a", "b", func() string {
		mu.Lock()
		defer mu.Unlock()
		return addr
	})
	w.Partition("a", "b")
	c := dial(t, l)
	waitFor(t, 5*time.Second, "the link to accept", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return len(l.relays) == 1
	})
	mu.Lock()
	addr = "" // the target went down during the partition
	mu.Unlock()
	w.Heal("a", "b")
	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatalf("read = %d, %v; want the link to close the connection", n, err)
	}
}

func TestLossDelaysEveryChunkWhenCertain(t *testing.T) {
	w := New(testLogger(t))
	const oneWay = 10 * time.Millisecond
	w.SetBaseline("a", "b", oneWay)
	if err := w.SetLoss("a", "b", 1); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, echo)
	l := startLink(t, w, "a", "b", fixed(srv.addr()))
	c := dial(t, l)

	want := 2 * (oneWay + retransmitPenalty(oneWay)) // 2×(10ms + 200ms)
	for i := range 3 {
		rtt := roundTrip(t, c, fmt.Appendf(nil, "lost %d", i))
		if rtt < want || rtt >= want+4*slack {
			t.Errorf("round trip %d = %v, want [%v, %v)", i, rtt, want, want+4*slack)
		}
	}
}

func TestLossMakesChunksLateButLosesNothing(t *testing.T) {
	w := New(testLogger(t))
	const oneWay = time.Millisecond
	w.SetBaseline("a", "b", oneWay)
	if err := w.SetLoss("a", "b", 0.3); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, echo)
	l := startLink(t, w, "a", "b", fixed(srv.addr()))
	c := dial(t, l)

	// One message at a time, so each is a chunk of its own: some round trips
	// take a retransmission, some none. The chance that all 20 are late or
	// none is about one in a million.
	late := 0
	for i := range 20 {
		if roundTrip(t, c, fmt.Appendf(nil, "message %d", i)) >= retransmitPenalty(oneWay) {
			late++
		}
	}
	if late == 0 || late == 20 {
		t.Errorf("%d of 20 round trips were late, want some but not all with loss 0.3", late)
	}

	// A stream arrives whole and in order.
	var sent bytes.Buffer
	var wg sync.WaitGroup
	var writeErr error
	wg.Go(func() {
		for i := range 300 {
			msg := fmt.Appendf(nil, "message %03d %s\n", i, strings.Repeat("x", i))
			sent.Write(msg)
			if _, err := c.Write(msg); err != nil {
				writeErr = err
				return
			}
		}
		writeErr = c.CloseWrite()
	})
	if err := c.SetReadDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	wg.Wait()
	if err != nil || writeErr != nil {
		t.Fatalf("read: %v, write: %v", err, writeErr)
	}
	if !bytes.Equal(got, sent.Bytes()) {
		t.Fatalf("got %d bytes, want the %d sent (first difference at %d)", len(got), sent.Len(), firstDiff(got, sent.Bytes()))
	}
}

func TestQueueIsBounded(t *testing.T) {
	w := New(testLogger(t))
	w.SetBaseline("a", "b", time.Millisecond)
	release := make(chan struct{})
	received := make(chan int64, 1)
	srv := startServer(t, func(c net.Conn) {
		<-release // a receiver that does not read, until released
		n, _ := io.Copy(io.Discard, c)
		received <- n
	})
	releaseOnce := sync.OnceFunc(func() { close(release) })
	t.Cleanup(releaseOnce) // before the server's cleanup, even if the test fails
	const limit = 256 << 10
	l, err := w.listen("a", "b", "127.0.0.1:0", fixed(srv.addr()), limit)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	c := dial(t, l)

	const total = 48 << 20 // well beyond the socket buffers on both sides
	var wg sync.WaitGroup
	var writeErr error
	wg.Go(func() {
		buf := make([]byte, 64<<10)
		for sent := 0; sent < total; sent += len(buf) {
			if _, err := c.Write(buf); err != nil {
				writeErr = err
				return
			}
		}
		writeErr = c.CloseWrite()
	})
	waitFor(t, 20*time.Second, "the queue to fill", func() bool { return l.queued() > limit-readBufSize })
	for range 50 {
		if q := l.queued(); q > limit {
			t.Fatalf("queued %d bytes, over the limit %d", q, limit)
		}
	}
	releaseOnce()
	wg.Wait()
	if writeErr != nil {
		t.Fatalf("write: %v", writeErr)
	}
	select {
	case n := <-received:
		if n != total {
			t.Fatalf("receiver got %d bytes, want %d", n, total)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("receiver never finished")
	}
}

func TestCloseEndsEveryConnection(t *testing.T) {
	w := New(testLogger(t))
	w.SetBaseline("a", "b", time.Millisecond)
	w.SetBaseline("a", "c", time.Millisecond)
	srv := startServer(t, echo)
	lb, err := w.Listen("a", "b", "127.0.0.1:0", fixed(srv.addr()))
	if err != nil {
		t.Fatal(err)
	}
	lc, err := w.Listen("a", "c", "127.0.0.1:0", fixed(srv.addr()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lc.Close() })

	active := dial(t, lb)
	roundTrip(t, active, []byte("warm"))
	w.SetDelay("a", "b", time.Second)
	if _, err := active.Write([]byte("queued")); err != nil { // still queued when Close comes
		t.Fatal(err)
	}
	w.Partition("a", "c")
	held := dial(t, lc) // waits for a heal that never comes
	waitFor(t, 5*time.Second, "both links to accept", func() bool {
		return lb.queued() > 0 && lenRelays(lc) == 1
	})

	if err := lb.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := lb.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := lc.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for name, c := range map[string]net.Conn{"active": active, "held": held} {
		if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(c); err != nil && !errors.Is(err, net.ErrClosed) && !isReset(err) {
			t.Errorf("%s connection after Close: %v, want EOF", name, err)
		}
	}
	if c, err := net.Dial("tcp", lb.Addr().String()); err == nil {
		_ = c.Close()
		t.Error("dialing a closed link succeeded")
	}
}

func lenRelays(l *Link) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.relays)
}

func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}
