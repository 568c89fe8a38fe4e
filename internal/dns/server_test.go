package dns

import (
	"context"
	"errors"
	"testing"

	"github.com/miekg/dns"
)

const soaText = "example.com. 900 IN SOA ns-us-east.example.com. hostmaster.example.com. 42 7200 900 1209600 86400"

func TestAuthoritativeAnswer(t *testing.T) {
	ts := startServer(t, Options{}, fixtureSnapshot(t, nil))
	m := question("www.example.com.", dns.TypeA)
	m.RecursionDesired = true
	r := ts.ask(t, m)
	wantRcode(t, r, dns.RcodeSuccess)
	if !r.Authoritative || r.RecursionAvailable || !r.RecursionDesired || !r.Response {
		t.Errorf("flags AA=%v RA=%v RD=%v QR=%v, want AA, RD copied, no RA", r.Authoritative, r.RecursionAvailable, r.RecursionDesired, r.Response)
	}
	wantRRs(t, "answer", r.Answer, "www.example.com. 300 IN A 192.0.2.10")
	if len(r.Ns) != 0 || len(r.Extra) != 0 {
		t.Errorf("authority %v, additional %v: want none", r.Ns, r.Extra)
	}
	// The question comes back as asked, case included.
	r = ts.ask(t, question("WwW.ExAmple.COM.", dns.TypeAAAA))
	if r.Question[0].Name != "WwW.ExAmple.COM." {
		t.Errorf("question %q, want the query's", r.Question[0].Name)
	}
	wantRRs(t, "answer", r.Answer, "www.example.com. 300 IN AAAA 2001:db8::10")
}

func TestRefusedOutsideZones(t *testing.T) {
	ts := startServer(t, Options{}, fixtureSnapshot(t, nil))
	for _, m := range []*dns.Msg{
		question("www.example.net.", dns.TypeA),
		question("com.", dns.TypeNS),
		question(".", dns.TypeSOA),
		question("xexample.com.", dns.TypeA),
		func() *dns.Msg {
			m := question("www.example.com.", dns.TypeA)
			m.Question[0].Qclass = dns.ClassCHAOS
			return m
		}(),
		question("example.com.", dns.TypeAXFR),
	} {
		r := ts.exchange(t, "udp", m)
		wantRcode(t, r, dns.RcodeRefused)
		if r.Authoritative || len(r.Answer)+len(r.Ns) != 0 {
			t.Errorf("%s: REFUSED with AA or records:\n%s", m.Question[0].String(), r)
		}
	}
}

func TestLongestSuffixZone(t *testing.T) {
	ts := startServer(t, Options{}, fixtureSnapshot(t, nil))
	r := ts.ask(t, question("x.sub2.example.com.", dns.TypeA))
	wantRRs(t, "answer", r.Answer, "x.sub2.example.com. 300 IN A 192.0.2.99")
	r = ts.ask(t, question("y.sub2.example.com.", dns.TypeA))
	wantRcode(t, r, dns.RcodeNameError)
	if len(r.Ns) != 1 || r.Ns[0].Header().Name != "sub2.example.com." {
		t.Errorf("authority %v: want the SOA of sub2.example.com.", r.Ns)
	}
}

func TestNegativeAnswers(t *testing.T) {
	ts := startServer(t, Options{}, fixtureSnapshot(t, nil))
	r := ts.ask(t, question("nothere.example.com.", dns.TypeA))
	wantRcode(t, r, dns.RcodeNameError)
	if !r.Authoritative || len(r.Answer) != 0 {
		t.Errorf("NXDOMAIN: AA=%v answer %v", r.Authoritative, r.Answer)
	}
	// RFC 2308: the SOA's TTL is min(SOA TTL, MINIMUM) = min(900, 86400).
	wantRRs(t, "NXDOMAIN authority", r.Ns, soaText)

	r = ts.ask(t, question("www.example.com.", dns.TypeTXT))
	wantRcode(t, r, dns.RcodeSuccess)
	if !r.Authoritative || len(r.Answer) != 0 {
		t.Errorf("NODATA: AA=%v answer %v", r.Authoritative, r.Answer)
	}
	wantRRs(t, "NODATA authority", r.Ns, soaText)
}

func TestEmptyNonTerminal(t *testing.T) {
	ts := startServer(t, Options{}, fixtureSnapshot(t, nil))
	for _, name := range []string{"b.c.example.com.", "c.example.com."} {
		r := ts.ask(t, question(name, dns.TypeA))
		wantRcode(t, r, dns.RcodeSuccess) // NODATA, not NXDOMAIN
		if len(r.Answer) != 0 {
			t.Errorf("%s: answer %v", name, r.Answer)
		}
		wantRRs(t, name+" authority", r.Ns, soaText)
	}
	r := ts.ask(t, question("x.b.c.example.com.", dns.TypeA))
	wantRcode(t, r, dns.RcodeNameError)
	r = ts.ask(t, question("a.b.c.example.com.", dns.TypeA))
	wantRRs(t, "answer", r.Answer, "a.b.c.example.com. 300 IN A 192.0.2.11")
}

func TestApexSOAAndNS(t *testing.T) {
	ts := startServer(t, Options{}, fixtureSnapshot(t, nil))
	r := ts.ask(t, question("example.com.", dns.TypeSOA))
	wantRRs(t, "SOA", r.Answer, soaText)

	r = ts.ask(t, question("example.com.", dns.TypeNS))
	wantRRs(t, "NS", r.Answer,
		"example.com. 172800 IN NS ns-us-east.example.com.",
		"example.com. 172800 IN NS ns-eu-west.example.com.")
	wantRRs(t, "glue", r.Extra,
		"ns-us-east.example.com. 172800 IN A 192.0.2.201",
		"ns-eu-west.example.com. 172800 IN A 198.51.100.53",
		"ns-eu-west.example.com. 172800 IN AAAA 2001:db8::53")

	// The name servers' names answer for their addresses, and exist for other types.
	r = ts.ask(t, question("ns-eu-west.example.com.", dns.TypeAAAA))
	if !r.Authoritative {
		t.Error("glue answer without AA")
	}
	wantRRs(t, "AAAA", r.Answer, "ns-eu-west.example.com. 172800 IN AAAA 2001:db8::53")
	r = ts.ask(t, question("ns-us-east.example.com.", dns.TypeAAAA))
	wantRcode(t, r, dns.RcodeSuccess)
	wantRRs(t, "NODATA authority", r.Ns, soaText)

	// Another zone has its own.
	r = ts.ask(t, question("example.org.", dns.TypeSOA))
	wantRRs(t, "SOA", r.Answer, "example.org. 900 IN SOA ns-us-east.example.org. hostmaster.example.org. 42 7200 900 1209600 86400")

	// Swapping a snapshot changes the serial.
	next, err := NewSnapshot(43, fixtureZones, fixtureSets(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ts.Swap(next)
	if ts.Snapshot().Index() != 43 {
		t.Errorf("Snapshot().Index() = %d", ts.Snapshot().Index())
	}
	r = ts.ask(t, question("example.com.", dns.TypeSOA))
	if soa, ok := r.Answer[0].(*dns.SOA); !ok || soa.Serial != 43 {
		t.Errorf("after Swap: %v", r.Answer)
	}
}

func TestWildcard(t *testing.T) {
	ts := startServer(t, Options{}, fixtureSnapshot(t, nil))
	for _, name := range []string{"foo.wild.example.com.", "x.y.wild.example.com.", "*.wild.example.com."} {
		r := ts.ask(t, question(name, dns.TypeA))
		wantRRs(t, name, r.Answer, name+" 60 IN A 192.0.2.50")
	}
	// Names that exist are never answered by the wildcard.
	r := ts.ask(t, question("exists.wild.example.com.", dns.TypeA))
	wantRcode(t, r, dns.RcodeSuccess)
	if len(r.Answer) != 0 {
		t.Errorf("existing name answered by the wildcard: %v", r.Answer)
	}
	r = ts.ask(t, question("exists.wild.example.com.", dns.TypeTXT))
	wantRRs(t, "TXT", r.Answer, `exists.wild.example.com. 60 IN TXT "here"`)
	r = ts.ask(t, question("wild.example.com.", dns.TypeA)) // an empty non-terminal
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
		t.Errorf("empty non-terminal above the wildcard:\n%s", r)
	}
	// A type the wildcard lacks: NODATA.
	r = ts.ask(t, question("foo.wild.example.com.", dns.TypeAAAA))
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 || len(r.Ns) != 1 {
		t.Errorf("wildcard NODATA:\n%s", r)
	}
	// No wildcard at the closest encloser: NXDOMAIN.
	r = ts.ask(t, question("foo.www.example.com.", dns.TypeA))
	wantRcode(t, r, dns.RcodeNameError)
	// A wildcard CNAME is followed.
	r = ts.ask(t, question("q.wc.example.com.", dns.TypeA))
	wantRRs(t, "wildcard CNAME", r.Answer,
		"q.wc.example.com. 300 IN CNAME www.example.com.",
		"www.example.com. 300 IN A 192.0.2.10")
}

func TestCNAMEChains(t *testing.T) {
	ts := startServer(t, Options{}, fixtureSnapshot(t, nil))
	r := ts.ask(t, question("c1.example.com.", dns.TypeA))
	wantRcode(t, r, dns.RcodeSuccess)
	wantRRs(t, "chain", r.Answer,
		"c1.example.com. 300 IN CNAME c2.example.com.",
		"c2.example.com. 300 IN CNAME WWW.example.com.",
		"www.example.com. 300 IN A 192.0.2.10")
	if !r.Authoritative {
		t.Error("chain without AA")
	}

	r = ts.ask(t, question("c1.example.com.", dns.TypeCNAME))
	wantRRs(t, "CNAME query", r.Answer, "c1.example.com. 300 IN CNAME c2.example.com.")

	r = ts.ask(t, question("loop1.example.com.", dns.TypeA))
	wantRcode(t, r, dns.RcodeSuccess)
	wantRRs(t, "loop", r.Answer,
		"loop1.example.com. 300 IN CNAME loop2.example.com.",
		"loop2.example.com. 300 IN CNAME loop1.example.com.")

	r = ts.ask(t, question("ext.example.com.", dns.TypeA))
	wantRcode(t, r, dns.RcodeSuccess)
	wantRRs(t, "out of zone", r.Answer, "ext.example.com. 300 IN CNAME www.example.net.")
	if len(r.Ns) != 0 {
		t.Errorf("out-of-zone target with authority %v", r.Ns)
	}

	r = ts.ask(t, question("xz.example.com.", dns.TypeA))
	wantRRs(t, "into another served zone", r.Answer,
		"xz.example.com. 300 IN CNAME www.example.org.",
		"www.example.org. 300 IN A 203.0.113.5")

	r = ts.ask(t, question("dangling.example.com.", dns.TypeA))
	wantRcode(t, r, dns.RcodeNameError) // RFC 6604: the rcode of the last name
	wantRRs(t, "dangling", r.Answer, "dangling.example.com. 300 IN CNAME nothere.example.com.")
	wantRRs(t, "dangling authority", r.Ns, soaText)

	r = ts.ask(t, question("h0.example.com.", dns.TypeA))
	if len(r.Answer) != maxCNAMEHops {
		t.Errorf("a chain of ten: %d records, want the %d CNAMEs followed:\n%s", len(r.Answer), maxCNAMEHops, r)
	}
	for _, rr := range r.Answer {
		if rr.Header().Rrtype != dns.TypeCNAME {
			t.Errorf("record past the hop bound: %v", rr)
		}
	}
}

func TestDelegation(t *testing.T) {
	ts := startServer(t, Options{}, fixtureSnapshot(t, nil))
	for _, name := range []string{"sub.example.com.", "www.sub.example.com.", "ns1.sub.example.com."} {
		r := ts.ask(t, question(name, dns.TypeA))
		wantRcode(t, r, dns.RcodeSuccess)
		if r.Authoritative || len(r.Answer) != 0 {
			t.Errorf("%s: referral with AA or answer:\n%s", name, r)
		}
		wantRRs(t, name+" authority", r.Ns,
			"sub.example.com. 3600 IN NS ns1.sub.example.com.",
			"sub.example.com. 3600 IN NS ns.example.net.")
		wantRRs(t, name+" glue", r.Extra, "ns1.sub.example.com. 3600 IN A 192.0.2.53")
	}
	// DS belongs to the parent side of the cut.
	r := ts.ask(t, question("sub.example.com.", dns.TypeDS))
	if !r.Authoritative || r.Rcode != dns.RcodeSuccess {
		t.Errorf("DS at the cut:\n%s", r)
	}
	wantRRs(t, "DS NODATA", r.Ns, soaText)
}

func TestAlias(t *testing.T) {
	ts := startServer(t, Options{}, fixtureSnapshot(t, nil))
	// The alias answers with the target's records, under its own name, with the target's TTL.
	r := ts.ask(t, question("al.example.com.", dns.TypeA))
	wantRRs(t, "alias", r.Answer, "al.example.com. 300 IN A 192.0.2.10")
	r = ts.ask(t, question("al.example.com.", dns.TypeAAAA))
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
		t.Errorf("alias of another type:\n%s", r)
	}
	r = ts.ask(t, question("alorg.example.com.", dns.TypeA))
	wantRRs(t, "alias into another zone", r.Answer, "alorg.example.com. 300 IN A 203.0.113.5")
	// A loop of aliases ends: nothing to answer with.
	r = ts.ask(t, question("aloop1.example.com.", dns.TypeA))
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
		t.Errorf("alias loop:\n%s", r)
	}
	// The target itself is untouched.
	r = ts.ask(t, question("www.example.com.", dns.TypeA))
	wantRRs(t, "target", r.Answer, "www.example.com. 300 IN A 192.0.2.10")
}

func TestAliasEvaluateTargetHealth(t *testing.T) {
	h := newFakeHealth()
	ts := startServer(t, Options{}, fixtureSnapshot(t, h))

	// Target healthy (unknown counts as healthy, then known healthy): the primary alias.
	for _, state := range []string{"unknown", "healthy"} {
		if state == "healthy" {
			h.set("hc-pool", true)
		}
		r := ts.ask(t, question("svc.example.com.", dns.TypeA))
		wantRRs(t, "svc, target "+state, r.Answer, "svc.example.com. 60 IN A 192.0.2.60")
		r = ts.ask(t, question("svc2.example.com.", dns.TypeA))
		wantRRs(t, "svc2, target "+state, r.Answer, "svc2.example.com. 60 IN A 192.0.2.60")
	}

	// Target unhealthy: with EvaluateTargetHealth the alias is unhealthy and failover
	// answers with the secondary; without it the alias stays healthy.
	h.set("hc-pool", false)
	r := ts.ask(t, question("svc.example.com.", dns.TypeA))
	wantRRs(t, "svc, target unhealthy", r.Answer, "svc.example.com. 30 IN A 192.0.2.62")
	r = ts.ask(t, question("svc2.example.com.", dns.TypeA))
	wantRRs(t, "svc2, target unhealthy", r.Answer, "svc2.example.com. 60 IN A 192.0.2.60")

	// Swap in only new health: the target recovers.
	h2 := newFakeHealth()
	h2.set("hc-pool", true)
	ts.Swap(ts.Snapshot().WithHealth(h2))
	r = ts.ask(t, question("svc.example.com.", dns.TypeA))
	wantRRs(t, "svc, after WithHealth", r.Answer, "svc.example.com. 60 IN A 192.0.2.60")
}

func TestANY(t *testing.T) {
	ts := startServer(t, Options{}, fixtureSnapshot(t, nil))
	for _, name := range []string{"www.example.com.", "example.com.", "foo.wild.example.com.", "ns-us-east.example.com."} {
		r := ts.ask(t, question(name, dns.TypeANY))
		wantRcode(t, r, dns.RcodeSuccess)
		wantRRs(t, name, r.Answer, name+` 3600 IN HINFO "RFC8482" ""`)
	}
	r := ts.ask(t, question("nothere.example.com.", dns.TypeANY))
	wantRcode(t, r, dns.RcodeNameError)
	r = ts.ask(t, question("c.example.com.", dns.TypeANY))
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
		t.Errorf("ANY at an empty non-terminal:\n%s", r)
	}
}

func TestTruncation(t *testing.T) {
	ts := startServer(t, Options{}, fixtureSnapshot(t, nil))
	// 40 A records do not fit in 512 bytes: TC, and no part of the RRset.
	u := ts.exchange(t, "udp", question("big.example.com.", dns.TypeA))
	if !u.Truncated {
		t.Fatalf("no TC:\n%s", u)
	}
	if len(u.Answer) != 0 {
		t.Errorf("truncated answer holds %d of the RRset's 40 records", len(u.Answer))
	}
	// The same query over TCP: the whole RRset.
	c := ts.exchange(t, "tcp", question("big.example.com.", dns.TypeA))
	if c.Truncated || len(c.Answer) != 40 {
		t.Errorf("TCP: TC=%v, %d records, want all 40", c.Truncated, len(c.Answer))
	}
	// EDNS with room: in full over UDP, as over TCP.
	big := ednsQuery("big.example.com.", dns.TypeA, 4096, nil)
	u = ts.exchange(t, "udp", big)
	c = ts.exchange(t, "tcp", big)
	if u.Truncated || u.String() != c.String() {
		t.Errorf("EDNS 4096 over UDP:\n%s\nTCP:\n%s", u, c)
	}
	// EDNS with a small buffer: truncated, the OPT record kept.
	u = ts.exchange(t, "udp", ednsQuery("big.example.com.", dns.TypeA, 600, nil))
	if !u.Truncated || len(u.Answer) != 0 || u.IsEdns0() == nil {
		t.Errorf("EDNS 600: TC=%v answer %d OPT %v", u.Truncated, len(u.Answer), u.IsEdns0())
	}
	if n := len(mustPack(t, u)); n > 600 {
		t.Errorf("reply of %d bytes to a 600-byte buffer", n)
	}
	// A buffer larger than 4096 is honoured only up to 4096.
	huge := ednsQuery("huge.example.com.", dns.TypeTXT, 65000, nil)
	u = ts.exchange(t, "udp", huge)
	if !u.Truncated || len(u.Answer) != 0 {
		t.Errorf("6 kB answer to a 65000-byte buffer: TC=%v, %d records", u.Truncated, len(u.Answer))
	}
	c = ts.exchange(t, "tcp", huge)
	if c.Truncated || len(c.Answer) != 30 {
		t.Errorf("TCP: TC=%v, %d records, want all 30", c.Truncated, len(c.Answer))
	}
}

func mustPack(t testing.TB, m *dns.Msg) []byte {
	t.Helper()
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestServeNeedsAListener(t *testing.T) {
	s := New(Options{Region: "us-east"})
	if err := s.Serve(context.Background(), nil, nil); !errors.Is(err, ErrNoListeners) {
		t.Errorf("Serve(nil, nil) = %v", err)
	}
}

func TestNoSnapshotRefuses(t *testing.T) {
	s := New(Options{Region: "us-east"})
	r := s.Answer(question("www.example.com.", dns.TypeA), netipLoopback, false)
	wantRcode(t, r, dns.RcodeRefused)
	s.Swap(nil)
	if s.Snapshot() == nil || s.Snapshot().Index() != 0 {
		t.Errorf("Snapshot after Swap(nil): %v", s.Snapshot())
	}
}
