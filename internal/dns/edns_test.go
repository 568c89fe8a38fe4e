package dns

import (
	"bytes"
	"encoding/hex"
	"net"
	"testing"

	"github.com/miekg/dns"
)

func TestEDNS(t *testing.T) {
	ts := startServer(t, Options{}, fixtureSnapshot(t, nil))

	r := ts.ask(t, question("www.example.com.", dns.TypeA))
	if r.IsEdns0() != nil {
		t.Error("OPT in the answer to a query without EDNS")
	}

	r = ts.ask(t, ednsQuery("www.example.com.", dns.TypeA, 4096, nil))
	opt := r.IsEdns0()
	if opt == nil || opt.UDPSize() != 1232 || opt.Version() != 0 || opt.Do() {
		t.Errorf("OPT %v: want version 0, UDP size 1232, no DO", opt)
	}
	if ecsOf(r) != nil {
		t.Error("Client Subnet option in the answer to a query without one")
	}

	m := question("www.example.com.", dns.TypeA)
	m.SetEdns0(1232, true)
	if r = ts.ask(t, m); r.IsEdns0() == nil || !r.IsEdns0().Do() {
		t.Errorf("DO not copied: %v", r.IsEdns0())
	}

	m = ednsQuery("www.example.com.", dns.TypeA, 1232, nil)
	m.IsEdns0().SetVersion(1)
	r = ts.ask(t, m)
	wantRcode(t, r, dns.RcodeBadVers)
	if r.IsEdns0() == nil || r.IsEdns0().Version() != 0 || len(r.Answer) != 0 {
		t.Errorf("BADVERS answer:\n%s", r)
	}

	// Two OPT records.
	m = ednsQuery("www.example.com.", dns.TypeA, 1232, nil)
	m.Extra = append(m.Extra, &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT, Class: 512}})
	wantRcode(t, ts.ask(t, m), dns.RcodeFormatError)
}

func TestClientSubnet(t *testing.T) {
	ts := startServer(t, Options{GeoIP: demoGeoIP(t)}, fixtureSnapshot(t, nil))
	for _, c := range []struct {
		ecs   string
		want  string // the answer's address
		scope uint8
	}{
		{"198.51.100.0/24", "192.0.2.41", 25},      // Dublin, in EU
		{"192.0.2.64/26", "192.0.2.43", 26},        // San Jose: US-CA
		{"192.0.2.0/24", "192.0.2.42", 26},         // Ashburn: US, no VA record
		{"203.0.113.0/24", "192.0.2.44", 25},       // Singapore
		{"203.0.113.192/32", "192.0.2.40", 26},     // Sydney: the default
		{"198.51.100.192/26", "192.0.2.40", 26},    // unmapped: the default, scope of the source
		{"2001:db8:4000::/48", "192.0.2.41", 34},   // London, in EU
		{"2001:db8:8000::/40", "192.0.2.40", 34},   // São Paulo: the default
		{"2001:db8:c000::/48", "192.0.2.40", 48},   // unmapped
		{"192.0.2.128/25", "192.0.2.40", 25},       // Toronto: the default
		{"198.51.100.128/25", "192.0.2.41", 26},    // Frankfurt: EU
		{"198.51.100.130/32", "192.0.2.41", 26},    // the address within the source prefix counts
		{"2001:db8:4000::1/128", "192.0.2.41", 34}, // a full-length source prefix
	} {
		o := subnet(c.ecs)
		r := ts.ask(t, ednsQuery("geo.example.com.", dns.TypeA, 1232, o))
		if got := firstA(r); got != c.want {
			t.Errorf("ECS %s: answer %s, want %s", c.ecs, got, c.want)
		}
		e := ecsOf(r)
		if e == nil {
			t.Errorf("ECS %s: no Client Subnet option in the answer", c.ecs)
			continue
		}
		if e.Family != o.Family || e.SourceNetmask != o.SourceNetmask || !e.Address.Equal(o.Address) {
			t.Errorf("ECS %s: echoed %v", c.ecs, e)
		}
		if e.SourceScope != c.scope {
			t.Errorf("ECS %s: scope %d, want %d", c.ecs, e.SourceScope, c.scope)
		}
	}

	// An answer that does not depend on the client: scope 0.
	r := ts.ask(t, ednsQuery("www.example.com.", dns.TypeA, 1232, subnet("198.51.100.0/24")))
	if e := ecsOf(r); e == nil || e.SourceScope != 0 || e.SourceNetmask != 24 {
		t.Errorf("simple answer: ECS %v, want scope 0", e)
	}
	// Source prefix 0: the resolver's address (loopback: unmapped) decides, scope 0.
	r = ts.ask(t, ednsQuery("geo.example.com.", dns.TypeA, 1232, subnet("0.0.0.0/0")))
	if e := ecsOf(r); firstA(r) != "192.0.2.40" || e == nil || e.Family != 1 || e.SourceNetmask != 0 || e.SourceScope != 0 {
		t.Errorf("/0: answer %s, ECS %v", firstA(r), e)
	}
	// FAMILY 0 with source 0, as dig sends to opt out.
	r = ts.ask(t, ednsQuery("geo.example.com.", dns.TypeA, 1232, &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET}))
	if e := ecsOf(r); r.Rcode != dns.RcodeSuccess || e == nil || e.Family != 0 || e.SourceScope != 0 {
		t.Errorf("family 0: %s", r)
	}
	// No option: the resolver's address, and no option back.
	r = ts.ask(t, ednsQuery("geo.example.com.", dns.TypeA, 1232, nil))
	if firstA(r) != "192.0.2.40" || ecsOf(r) != nil {
		t.Errorf("no ECS: %s", r)
	}
	// Answer takes the resolver address as the transports do; the option still wins.
	r = ts.Answer(ednsQuery("geo.example.com.", dns.TypeA, 1232, nil), mustAddr("198.51.100.10"), false)
	if firstA(r) != "192.0.2.41" {
		t.Errorf("resolver in Dublin: %s", r)
	}
	r = ts.Answer(ednsQuery("geo.example.com.", dns.TypeA, 1232, subnet("203.0.113.0/24")), mustAddr("198.51.100.10"), false)
	if firstA(r) != "192.0.2.44" {
		t.Errorf("resolver in Dublin, client in Singapore: %s", r)
	}
	// Without EDNS the resolver's address decides (an IPv4-mapped one too).
	r = ts.Answer(question("geo.example.com.", dns.TypeA), mustAddr("::ffff:192.0.2.70"), false)
	if firstA(r) != "192.0.2.43" {
		t.Errorf("mapped resolver address in San Jose: %s", r)
	}
}

// rawECS is a query for www.example.com/A with EDNS and Client Subnet options of the given
// hex-encoded data, written as is.
func rawECS(t *testing.T, options ...string) *dns.Msg {
	t.Helper()
	m := ednsQuery("www.example.com.", dns.TypeA, 1232, nil)
	for _, o := range options {
		data, err := hex.DecodeString(o)
		if err != nil {
			t.Fatal(err)
		}
		m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_LOCAL{Code: dns.EDNS0SUBNET, Data: data})
	}
	return m
}

func TestMalformedClientSubnet(t *testing.T) {
	ts := startServer(t, Options{}, fixtureSnapshot(t, nil))
	for _, c := range []struct {
		name    string
		options []string
	}{
		{"unknown family", []string{"0003" + "18" + "00" + "c00002"}},
		{"family 0 with a source prefix", []string{"0000" + "08" + "00" + "c0"}},
		{"IPv4 source prefix over 32", []string{"0001" + "21" + "00" + "c000020100"}},
		{"IPv6 source prefix over 128", []string{"0002" + "81" + "00" + "20010db8000000000000000000000000" + "00"}},
		{"address bits beyond the source prefix", []string{"0001" + "17" + "00" + "c00003"}},
		{"IPv6 address bits beyond the source prefix", []string{"0002" + "20" + "00" + "20010db8" + "01"}},
		{"address longer than the prefix needs", []string{"0001" + "18" + "00" + "c0000200"}},
		{"address shorter than the prefix needs", []string{"0001" + "18" + "00" + "c000"}},
		{"option shorter than its fixed part", []string{"0001" + "18"}},
		{"two options", []string{"0001" + "18" + "00" + "c00002", "0001" + "18" + "00" + "c00002"}},
	} {
		for _, network := range []string{"udp", "tcp"} {
			r := ts.exchange(t, network, rawECS(t, c.options...))
			if r.Rcode != dns.RcodeFormatError {
				t.Errorf("%s over %s: rcode %s, want FORMERR", c.name, network, dns.RcodeToString[r.Rcode])
			}
			if len(r.Answer) != 0 || ecsOf(r) != nil {
				t.Errorf("%s over %s: FORMERR with records:\n%s", c.name, network, r)
			}
		}
	}
	// Well-formed ones, written the same way, are answered.
	for _, o := range []string{"0001" + "18" + "00" + "c00002", "0000" + "00" + "00", "0001" + "00" + "00", "0002" + "30" + "00" + "20010db84000"} {
		r := ts.ask(t, rawECS(t, o))
		if r.Rcode != dns.RcodeSuccess || firstA(r) != "192.0.2.10" || ecsOf(r) == nil {
			t.Errorf("well-formed option %s:\n%s", o, r)
		}
	}

	// Answer checks the options it is handed, too.
	for name, o := range map[string]*dns.EDNS0_SUBNET{
		"unknown family":         {Code: 8, Family: 7, SourceNetmask: 8, Address: net.IPv4(192, 0, 0, 0)},
		"IPv6 address, family 1": {Code: 8, Family: 1, SourceNetmask: 24, Address: net.ParseIP("2001:db8::")},
		"IPv4 address, family 2": {Code: 8, Family: 2, SourceNetmask: 24, Address: net.IPv4(192, 0, 2, 0).To4()},
		"prefix over 32":         {Code: 8, Family: 1, SourceNetmask: 40, Address: net.IPv4(192, 0, 2, 0)},
		"bits beyond the prefix": {Code: 8, Family: 1, SourceNetmask: 24, Address: net.IPv4(192, 0, 2, 1)},
		"no address":             {Code: 8, Family: 1, SourceNetmask: 24},
	} {
		r := ts.Answer(ednsQuery("www.example.com.", dns.TypeA, 1232, o), netipLoopback, false)
		if r.Rcode != dns.RcodeFormatError {
			t.Errorf("Answer, %s: rcode %s", name, dns.RcodeToString[r.Rcode])
		}
		mustPack(t, r)
	}
}

func TestMalformedPackets(t *testing.T) {
	ts := startServer(t, Options{}, fixtureSnapshot(t, nil))
	conn, err := net.Dial("udp", ts.udp)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	valid := mustPack(t, question("www.example.com.", dns.TypeA))
	// Garbage gets no answer (shorter than a header, or a response); a header whose
	// question does not unpack gets FORMERR with the id. A valid query after them is
	// answered: the only other answer read.
	response := bytes.Clone(valid)
	response[2] |= 0x80
	cut := valid[:len(valid)-3]
	for _, p := range [][]byte{{1, 2, 3}, response, cut, valid} {
		if _, err := conn.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	got := map[int]int{}
	for range 2 {
		buf := make([]byte, 512)
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		var r dns.Msg
		if err := r.Unpack(buf[:n]); err != nil {
			t.Fatalf("answer does not unpack: %v", err)
		}
		got[r.Rcode]++
		if r.Id != binaryID(valid) {
			t.Errorf("answer id %d, want %d", r.Id, binaryID(valid))
		}
	}
	if got[dns.RcodeSuccess] != 1 || got[dns.RcodeFormatError] != 1 {
		t.Errorf("rcodes %v, want one NOERROR and one FORMERR", got)
	}

	// Not a query: NOTIMP. Several questions: FORMERR.
	m := question("www.example.com.", dns.TypeA)
	m.Opcode = dns.OpcodeUpdate
	wantRcode(t, ts.exchange(t, "udp", m), dns.RcodeNotImplemented)
	m = question("www.example.com.", dns.TypeA)
	m.Question = append(m.Question, m.Question[0])
	r := ts.Answer(m, netipLoopback, false)
	wantRcode(t, r, dns.RcodeFormatError)
	if r = ts.Answer(nil, netipLoopback, false); r.Rcode != dns.RcodeFormatError {
		t.Errorf("Answer(nil): %v", r)
	}
	mustPack(t, r)
}

func binaryID(b []byte) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }
