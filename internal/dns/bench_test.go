package dns

import (
	"path/filepath"
	"testing"

	"github.com/miekg/dns"

	"github.com/polyregion/polyregion/internal/dns/geoip"
)

// BenchmarkAnswer measures the answer logic over the fixture zones, one query shape per
// sub-benchmark: Answer on an unpacked query, and "wire" the whole path of a UDP packet
// (unpack, answer, pack) without the socket.
func BenchmarkAnswer(b *testing.B) {
	path := filepath.Join(b.TempDir(), "demo.mmdb")
	if err := geoip.WriteDemo(path); err != nil {
		b.Fatal(err)
	}
	db, err := geoip.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	s := New(Options{Region: "us-east", NameServers: fixtureNameServers, Topology: fixtureTopology(b), GeoIP: db})
	s.Swap(fixtureSnapshot(b, newFakeHealth()))
	client := mustAddr("192.0.2.70")

	for _, c := range []struct {
		name string
		m    *dns.Msg
	}{
		{"simple", question("www.example.com.", dns.TypeA)},
		{"simple-edns-ecs", ednsQuery("www.example.com.", dns.TypeA, 1232, subnet("198.51.100.0/24"))},
		{"nxdomain", question("nothere.example.com.", dns.TypeA)},
		{"cname-chain", question("c1.example.com.", dns.TypeA)},
		{"wildcard", question("foo.wild.example.com.", dns.TypeA)},
		{"alias", question("svc.example.com.", dns.TypeA)},
		{"weighted", question("w.example.com.", dns.TypeA)},
		{"failover", question("f.example.com.", dns.TypeA)},
		{"geolocation-ecs", ednsQuery("geo.example.com.", dns.TypeA, 1232, subnet("198.51.100.0/24"))},
		{"latency-ecs", ednsQuery("lat.example.com.", dns.TypeA, 1232, subnet("203.0.113.0/24"))},
		{"multivalue", ednsQuery("mv.example.com.", dns.TypeA, 1232, nil)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s.Answer(c.m, client, false)
			}
		})
	}
	for _, c := range []struct {
		name string
		m    *dns.Msg
	}{
		{"wire-simple", question("www.example.com.", dns.TypeA)},
		{"wire-geolocation-ecs", ednsQuery("geo.example.com.", dns.TypeA, 1232, subnet("198.51.100.0/24"))},
	} {
		raw := mustPack(b, c.m)
		b.Run(c.name, func(b *testing.B) {
			q := newQuery(s)
			q.out = make([]byte, maxUDPSize+1)
			b.ReportAllocs()
			for b.Loop() {
				if s.handle(raw, client, transportUDP, q) == nil {
					b.Fatal("no answer")
				}
			}
		})
	}
}
