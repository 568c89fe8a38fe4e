package dns

import (
	"bytes"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/miekg/dns"

	"github.com/polyregion/polyregion/internal/dns/geoip"
)

var (
	fuzzOnce   sync.Once
	fuzzServer *Server
)

// fuzzTarget is a server over the fixture zones, with GeoIP, topology and health, built
// once per process.
func fuzzTarget(t *testing.T) *Server {
	fuzzOnce.Do(func() {
		h := newFakeHealth()
		h.set("hc-wa", false)
		h.set("hc-pool", false)
		fuzzServer = New(Options{
			Region:      "eu-west",
			NameServers: fixtureNameServers,
			Topology:    fixtureTopology(t),
			GeoIP:       openDemoGeoIP(t),
		})
		fuzzServer.Swap(fixtureSnapshot(t, h))
	})
	return fuzzServer
}

// openDemoGeoIP writes and opens the demo database for the fuzz server, which lives for the
// whole process: it is never closed, and its file is removed at once (the open database
// keeps its contents).
func openDemoGeoIP(t *testing.T) *geoip.DB {
	t.Helper()
	dir, err := os.MkdirTemp("", "dns-fuzz-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "demo.mmdb")
	if err := geoip.WriteDemo(path); err != nil {
		t.Fatal(err)
	}
	db, err := geoip.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// FuzzAnswer feeds the server packets: raw (as a transport reads them), and built from a
// question with an OPT record whose Client Subnet option is either raw bytes or fields.
// Whatever comes in, nothing panics, nothing hangs, and every answer packs, fits the
// transport and unpacks.
func FuzzAnswer(f *testing.F) {
	f.Add(mustPackF(f, question("www.example.com.", dns.TypeA)), "geo.example.com.", uint16(dns.TypeA), uint16(1232), []byte{0, 1, 24, 0, 198, 51, 100}, uint16(1), uint8(24), []byte{198, 51, 100, 0})
	f.Fuzz(func(t *testing.T, raw []byte, name string, qtype, size uint16, ecsRaw []byte, family uint16, source uint8, addr []byte) {
		s := fuzzTarget(t)
		client := netip.MustParseAddr("192.0.2.70")

		checkFastPaths(t, s, raw, client)
		// As the transports see it.
		for _, transport := range []int{transportUDP, transportTCP} {
			q := newQuery(s)
			q.out = make([]byte, 0, 512)
			if resp := s.handle(raw, client, transport, q); resp != nil {
				checkWire(t, raw, resp, transport == transportTCP)
			}
		}
		// Unpacked first, as the Route 53 API hands it over.
		var m dns.Msg
		if m.Unpack(raw) == nil {
			checkAnswer(t, s, &m, client)
		}
		// Built: a question with random EDNS and Client Subnet options.
		if !validName(dns.Fqdn(name)) {
			return
		}
		for _, opt := range []dns.EDNS0{
			&dns.EDNS0_LOCAL{Code: dns.EDNS0SUBNET, Data: ecsRaw},
			&dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: family, SourceNetmask: source, Address: net.IP(addr)},
		} {
			m := new(dns.Msg)
			m.SetQuestion(dns.Fqdn(name), qtype)
			m.SetEdns0(size, qtype%2 == 0)
			m.IsEdns0().Option = append(m.IsEdns0().Option, opt)
			if _, isSubnet := opt.(*dns.EDNS0_SUBNET); isSubnet {
				checkAnswer(t, s, m, client) // the form miekg/dns may refuse to pack
				continue
			}
			b, err := m.Pack()
			if err != nil {
				continue
			}
			checkFastPaths(t, s, b, client)
			for _, transport := range []int{transportUDP, transportTCP} {
				if resp := s.handle(b, client, transport, newQuery(s)); resp != nil {
					checkWire(t, b, resp, transport == transportTCP)
				}
			}
		}
	})
}

// checkFastPaths checks that the transport path's own reading of a query (unpackQuery) and
// packing of an answer (packAddressReply), when they take it, give what miekg/dns gives.
func checkFastPaths(t *testing.T, s *Server, raw []byte, client netip.Addr) {
	t.Helper()
	var want dns.Msg
	wantErr := want.Unpack(raw)
	var st queryStore
	for range 2 { // the second time with the name already in the store
		var got dns.Msg
		if !unpackQuery(raw, &got, &st) {
			break
		}
		if wantErr != nil {
			t.Fatalf("unpackQuery read what miekg/dns does not: %v", wantErr)
		}
		if !reflect.DeepEqual(&got, &want) {
			t.Fatalf("unpackQuery read\n%s\nmiekg/dns\n%s", &got, &want)
		}
		if hasECS(&want) && !ecsLengthsOK(raw) {
			t.Fatal("unpackQuery read a Client Subnet option of the wrong length")
		}
	}
	if wantErr != nil {
		return
	}
	for _, tcp := range []bool{false, true} {
		r := s.Answer(&want, client, tcp)
		got, ok := packAddressReply(r, nil)
		if !ok {
			continue
		}
		b, err := r.Pack()
		if err != nil {
			t.Fatalf("packAddressReply packed what miekg/dns does not: %v\n%s", err, r)
		}
		if !bytes.Equal(got, b) {
			t.Fatalf("packAddressReply\n%x\nmiekg/dns\n%x\n%s", got, b, r)
		}
	}
}

// checkAnswer answers m over both transports and checks that the answers pack and fit.
func checkAnswer(t *testing.T, s *Server, m *dns.Msg, client netip.Addr) {
	t.Helper()
	for _, tcp := range []bool{false, true} {
		r := s.Answer(m, client, tcp)
		b, err := r.Pack()
		if err != nil {
			t.Fatalf("answer does not pack: %v\n%s", err, r)
		}
		if limit := answerLimit(m, tcp); len(b) > limit {
			t.Fatalf("answer of %d bytes over the limit %d", len(b), limit)
		}
		if r.Id != m.Id || !r.Response {
			t.Fatalf("answer id %d QR %v to query %d", r.Id, r.Response, m.Id)
		}
	}
}

// checkWire checks an answer in wire format to the query raw.
func checkWire(t *testing.T, raw, resp []byte, tcp bool) {
	t.Helper()
	var r dns.Msg
	if err := r.Unpack(resp); err != nil {
		t.Fatalf("answer does not unpack: %v", err)
	}
	if r.Id != uint16(raw[0])<<8|uint16(raw[1]) || !r.Response {
		t.Fatalf("answer id %d QR %v", r.Id, r.Response)
	}
	limit := dns.MaxMsgSize
	if !tcp {
		limit = dns.MinMsgSize
		var m dns.Msg
		if m.Unpack(raw) == nil {
			limit = answerLimit(&m, false)
		}
	}
	if len(resp) > limit {
		t.Fatalf("answer of %d bytes over the limit %d", len(resp), limit)
	}
}

// answerLimit is the size an answer to m must fit in.
func answerLimit(m *dns.Msg, tcp bool) int {
	if tcp {
		return dns.MaxMsgSize
	}
	if opt := m.IsEdns0(); opt != nil {
		return min(max(int(opt.UDPSize()), dns.MinMsgSize), maxUDPSize)
	}
	return dns.MinMsgSize
}

func mustPackF(f *testing.F, m *dns.Msg) []byte {
	b, err := m.Pack()
	if err != nil {
		f.Fatal(err)
	}
	return b
}
