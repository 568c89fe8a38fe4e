package dns

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/polyregion/polyregion/internal/testutil"
)

// writeTCP writes queries to c, each with its length prefix, in one write.
func writeTCP(t *testing.T, c net.Conn, msgs ...*dns.Msg) {
	t.Helper()
	var b []byte
	for _, m := range msgs {
		p := mustPack(t, m)
		b = binary.BigEndian.AppendUint16(b, uint16(len(p)))
		b = append(b, p...)
	}
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
}

// readTCP reads one length-prefixed answer from c.
func readTCP(t *testing.T, c net.Conn) *dns.Msg {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	var n [2]byte
	if _, err := io.ReadFull(c, n[:]); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, binary.BigEndian.Uint16(n[:]))
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatal(err)
	}
	var m dns.Msg
	if err := m.Unpack(b); err != nil {
		t.Fatal(err)
	}
	return &m
}

// waitClosed waits until the server closes c: a read returns EOF (or a reset).
func waitClosed(t *testing.T, c net.Conn) {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	if err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open: read returned %v", err)
	}
}

func TestTCPPipelinedQueriesInOrder(t *testing.T) {
	ts := startServer(t, Options{}, fixtureSnapshot(t, nil))
	c, err := net.Dial("tcp", ts.tcp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	a, b, z := question("www.example.com.", dns.TypeA), question("nothere.example.com.", dns.TypeA), question("big.example.com.", dns.TypeA)
	writeTCP(t, c, a, b, z)
	for _, want := range []*dns.Msg{a, b, z} {
		r := readTCP(t, c)
		if r.Id != want.Id || r.Question[0].Name != want.Question[0].Name {
			t.Errorf("answer %d %s, want %d %s", r.Id, r.Question[0].Name, want.Id, want.Question[0].Name)
		}
	}
}

func TestTCPIdleTimeout(t *testing.T) {
	ts := startServer(t, Options{TCPIdleTimeout: 50 * time.Millisecond}, fixtureSnapshot(t, nil))
	c, err := net.Dial("tcp", ts.tcp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Half a query, then nothing: the server gives up on the connection.
	p := mustPack(t, question("www.example.com.", dns.TypeA))
	if _, err := c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(p))), p[:5]...)); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, c)
}

func TestTCPConnectionLimit(t *testing.T) {
	ts := startServer(t, Options{MaxTCPConnections: 1}, fixtureSnapshot(t, nil))
	first, err := net.Dial("tcp", ts.tcp)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	writeTCP(t, first, question("www.example.com.", dns.TypeA))
	readTCP(t, first) // served: it holds the only slot

	second, err := net.Dial("tcp", ts.tcp)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	waitClosed(t, second)
	if got := counter(t, ts.reg, "polyregion_dns_tcp_connections_rejected_total", nil); got != 1 {
		t.Errorf("rejected connections counted: %v", got)
	}

	// Once the first goes, a new connection is served.
	first.Close()
	testutil.WaitFor(t, 5*time.Second, func() error {
		c := &dns.Client{Net: "tcp", Timeout: time.Second}
		_, _, err := c.Exchange(question("www.example.com.", dns.TypeA), ts.tcp)
		return err
	})
}

func TestTCPNotDNS(t *testing.T) {
	ts := startServer(t, Options{}, fixtureSnapshot(t, nil))
	c, err := net.Dial("tcp", ts.tcp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A length prefix of 3 and 3 bytes: not even a header. The server hangs up.
	if _, err := c.Write([]byte{0, 3, 1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, c)
}

// TestUDPBurst sends more datagrams at once than a worker reads in one batch, mixing
// queries, a response (no answer), a short packet (no answer) and a datagram longer than any
// query (FORMERR), and expects one answer per query, each with its query's id, from the
// server's address.
func TestUDPBurst(t *testing.T) {
	ts := startServer(t, Options{UDPWorkers: 1}, fixtureSnapshot(t, nil))
	c, err := net.Dial("udp", ts.udp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	want := map[uint16]int{} // id -> rcode
	for i := range 3 * 32 {
		var p []byte
		switch i % 8 {
		case 3: // a response: dropped
			m := question("www.example.com.", dns.TypeA)
			m.Response = true
			p = mustPack(t, m)
		case 5: // shorter than a header: dropped
			p = []byte{1, 2, 3}
		case 6: // longer than any query: FORMERR
			m := question("www.example.com.", dns.TypeA)
			m.Id = uint16(1000 + i)
			p = append(mustPack(t, m), make([]byte, 5000)...)
			want[m.Id] = dns.RcodeFormatError
		default:
			m := question("www.example.com.", dns.TypeA)
			if i%2 == 1 {
				m = question("nothere.example.com.", dns.TypeA)
			}
			m.Id = uint16(1000 + i)
			p = mustPack(t, m)
			want[m.Id] = map[bool]int{false: dns.RcodeSuccess, true: dns.RcodeNameError}[i%2 == 1]
		}
		if _, err := c.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 65535)
	for len(want) > 0 {
		if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
			t.Fatal(err)
		}
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("%d answers missing: %v", len(want), err)
		}
		var r dns.Msg
		if err := r.Unpack(buf[:n]); err != nil {
			t.Fatal(err)
		}
		rcode, ok := want[r.Id]
		if !ok {
			t.Fatalf("unexpected or repeated answer id %d", r.Id)
		}
		if r.Rcode != rcode {
			t.Errorf("id %d: rcode %s, want %s", r.Id, dns.RcodeToString[r.Rcode], dns.RcodeToString[rcode])
		}
		delete(want, r.Id)
	}
	if got := counter(t, ts.reg, "polyregion_dns_dropped_total", map[string]string{"transport": "udp"}); got != 24 {
		t.Errorf("dropped: %v, want 24", got)
	}
}

// TestUDPIPv6 serves an IPv6 socket: the batched reader reads IPv6 source addresses and
// answers to them.
func TestUDPIPv6(t *testing.T) {
	pc, err := net.ListenPacket("udp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	s := New(Options{Region: "us-east", NameServers: fixtureNameServers, Logger: testutil.NewLog(t).Logger()})
	s.Swap(fixtureSnapshot(t, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, pc, nil) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	c := &dns.Client{Net: "udp", Timeout: 5 * time.Second}
	m := question("www.example.com.", dns.TypeA)
	r, _, err := c.Exchange(m, pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	if r.Id != m.Id || r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
		t.Fatalf("answer:\n%s", r)
	}
}
