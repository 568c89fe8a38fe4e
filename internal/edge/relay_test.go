package edge

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/polyregion/polyregion/internal/testutil"
)

// shortBursts makes the relay's zero-copy bursts short for one test.
func shortBursts(t *testing.T, d time.Duration) {
	old := burstWindow
	burstWindow = d
	t.Cleanup(func() { burstWindow = old })
}

// Bulk transfers both ways at once, in pieces separated by pauses longer than a
// burst, arrive byte exact, pass the half-close on, and are counted.
func TestTCPBulkRelayIsByteExactAcrossBursts(t *testing.T) {
	shortBursts(t, 20*time.Millisecond)
	b := startBackend(t, false)
	m := NewMetrics(nil)
	l := serve(t, SocketOptions{Protocol: TCP, Metrics: m})
	l.SetRoutes(routesTo(false, b))
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	greeting, err := r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 8<<20)
	rand.Read(payload)
	go func() {
		for i, piece := 0, len(payload)/4; i < 4; i++ {
			c.Write(payload[i*piece : (i+1)*piece])
			time.Sleep(50 * time.Millisecond) // longer than a burst: the relay goes back to its buffer
		}
		c.(*net.TCPConn).CloseWrite()
	}()
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, payload) {
		t.Fatalf("echoed %d bytes, not the %d sent (or different ones)", len(got), len(payload))
	}
	testutil.WaitFor(t, 5*time.Second, func() error {
		if n := l.Active(); n != 0 {
			return fmt.Errorf("%d flows open", n)
		}
		return nil
	})
	in, out := counted(t, m, "in"), counted(t, m, "out")
	if in != float64(len(payload)) || out != float64(len(payload)+len(greeting)) {
		t.Fatalf("bytes counted in %v, out %v; want %d and %d", in, out, len(payload), len(payload)+len(greeting))
	}
}

// A flow that carries a bulk transfer and then a trickle of bytes, each sooner
// than the idle timeout, stays open; once it goes quiet it is closed.
func TestTrickleAfterBulkIsNotIdle(t *testing.T) {
	shortBursts(t, time.Second) // longer than the idle timeout: the bursts must not hide activity
	b := startBackend(t, false)
	l := serve(t, SocketOptions{Protocol: TCP, IdleTimeout: 400 * time.Millisecond})
	l.SetRoutes(routesTo(false, b))
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	if _, err := r.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	bulk := make([]byte, 4<<20)
	go c.Write(bulk)
	if _, err := io.ReadFull(r, make([]byte, len(bulk))); err != nil {
		t.Fatal(err)
	}
	for range 12 { // 1.2 s of one byte each way every 100 ms
		time.Sleep(100 * time.Millisecond)
		if _, err := c.Write([]byte{'x'}); err != nil {
			t.Fatal(err)
		}
		if _, err := r.ReadByte(); err != nil {
			t.Fatalf("flow closed while bytes flowed: %v", err)
		}
	}
	start := time.Now()
	if _, err := r.ReadByte(); err != io.EOF {
		t.Fatalf("read after going quiet: %v, want EOF", err)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 5*time.Second {
		t.Fatalf("closed %v after going quiet, want about 400ms", d)
	}
}

// counted is the bytes metric of the test listener in one direction.
func counted(t *testing.T, m *Metrics, direction string) float64 {
	t.Helper()
	var pm dto.Metric
	if err := m.bytes.WithLabelValues("test", direction).Write(&pm); err != nil {
		t.Fatal(err)
	}
	return pm.GetCounter().GetValue()
}
