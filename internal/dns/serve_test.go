package dns

import (
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
