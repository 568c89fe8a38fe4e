package dns

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/polyregion/polyregion/internal/dns/geoip"
	"github.com/polyregion/polyregion/internal/dns/zone"
	"github.com/polyregion/polyregion/internal/health"
	"github.com/polyregion/polyregion/internal/testutil"
	"github.com/polyregion/polyregion/internal/topology"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeHealth is a HealthView a test flips. A check it has not been told about is unknown.
type fakeHealth struct {
	mu    sync.Mutex
	state map[string]bool
	panic string // a check id whose lookup panics
}

func newFakeHealth() *fakeHealth { return &fakeHealth{state: map[string]bool{}} }

func (f *fakeHealth) Healthy(id string) (healthy, known bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id != "" && id == f.panic {
		panic("health view failed for " + id)
	}
	h, ok := f.state[id]
	return h, ok
}

func (f *fakeHealth) set(id string, healthy bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state[id] = healthy
}

// Fixture zones.
const (
	zoneCom  = "Z0000000000000000COM"
	zoneOrg  = "Z0000000000000000ORG"
	zoneSub2 = "Z000000000000000SUB2"
	index    = 42
)

var fixtureNameServers = []NameServer{
	{Region: "us-east", Addr: netip.MustParseAddr("192.0.2.201")},
	{Region: "eu-west", Addr: netip.MustParseAddr("198.51.100.53")},
	{Region: "eu-west", Addr: netip.MustParseAddr("2001:db8::53")},
}

func set(name, typ string, ttl int64, values ...string) zone.RecordSet {
	return zone.RecordSet{Name: name, Type: typ, TTL: ttl, Values: values}
}

func weighted(id string, w int64, hc, value string) zone.RecordSet {
	r := set("w.example.com.", "A", 60, value)
	r.SetIdentifier, r.Weight, r.HealthCheckID = id, &w, hc
	return r
}

func failover(name, id, role, hc string, r zone.RecordSet) zone.RecordSet {
	r.Name, r.Type, r.SetIdentifier, r.Failover, r.HealthCheckID = name, "A", id, role, hc
	return r
}

func geo(id, continent, country, state, value string) zone.RecordSet {
	r := set("geo.example.com.", "A", 60, value)
	r.SetIdentifier = id
	r.GeoLocation = &zone.GeoLocation{ContinentCode: continent, CountryCode: country, SubdivisionCode: state}
	return r
}

func alias(name, zoneID, target string, eth bool) zone.RecordSet {
	return zone.RecordSet{Name: name, Type: "A", AliasTarget: &zone.AliasTarget{HostedZoneID: zoneID, DNSName: target, EvaluateTargetHealth: eth}}
}

var netipLoopback = netip.MustParseAddr("127.0.0.1")

// hugeValues are 30 TXT values of 200 bytes: over 6 kB.
func hugeValues() []string {
	var v []string
	for i := range 30 {
		v = append(v, fmt.Sprintf(`"%03d%s"`, i, strings.Repeat("x", 197)))
	}
	return v
}

func bigValues() []string {
	var v []string
	for i := range 40 {
		v = append(v, fmt.Sprintf("198.51.100.%d", i+1))
	}
	return v
}

// fixtureSets are the record sets of the fixture zones.
func fixtureSets() map[string][]zone.RecordSet {
	com := []zone.RecordSet{
		set("example.com.", "A", 300, "192.0.2.1"),
		set("example.com.", "MX", 300, "10 mail.example.com."),
		// Stored apex SOA and NS: the server synthesizes its own.
		set("example.com.", "SOA", 900, "ns-x.example.net. x.example.net. 1 2 3 4 5"),
		set("example.com.", "NS", 900, "ns-other.example.net."),
		set("www.example.com.", "A", 300, "192.0.2.10"),
		set("www.example.com.", "AAAA", 300, "2001:db8::10"),
		set("a.b.c.example.com.", "A", 300, "192.0.2.11"),
		set("*.wild.example.com.", "A", 60, "192.0.2.50"),
		set("exists.wild.example.com.", "TXT", 60, `"here"`),
		set("big.example.com.", "A", 300, bigValues()...),
		set("huge.example.com.", "TXT", 300, hugeValues()...),
		set("c1.example.com.", "CNAME", 300, "c2.example.com."),
		set("c2.example.com.", "CNAME", 300, "WWW.example.com."),
		set("loop1.example.com.", "CNAME", 300, "loop2.example.com."),
		set("loop2.example.com.", "CNAME", 300, "loop1.example.com."),
		set("ext.example.com.", "CNAME", 300, "www.example.net."),
		set("xz.example.com.", "CNAME", 300, "www.example.org."),
		set("dangling.example.com.", "CNAME", 300, "nothere.example.com."),
		set("*.wc.example.com.", "CNAME", 300, "www.example.com."),
		set("sub.example.com.", "NS", 3600, "ns1.sub.example.com.", "ns.example.net."),
		set("ns1.sub.example.com.", "A", 3600, "192.0.2.53"),
		// Policies.
		weighted("w-a", 1, "hc-wa", "192.0.2.21"),
		weighted("w-b", 3, "hc-wb", "192.0.2.22"),
		failover("f.example.com.", "f-primary", "PRIMARY", "hc-primary", set("", "", 60, "192.0.2.31")),
		failover("f.example.com.", "f-secondary", "SECONDARY", "", set("", "", 60, "192.0.2.32")),
		geo("geo-default", "", "*", "", "192.0.2.40"),
		geo("geo-eu", "EU", "", "", "192.0.2.41"),
		geo("geo-us", "", "US", "", "192.0.2.42"),
		geo("geo-us-ca", "", "US", "CA", "192.0.2.43"),
		geo("geo-sg", "", "SG", "", "192.0.2.44"),
		// Aliases.
		{Name: "pool.example.com.", Type: "A", TTL: 60, Values: []string{"192.0.2.60"}, HealthCheckID: "hc-pool"},
		failover("svc.example.com.", "svc-primary", "PRIMARY", "", alias("", zoneCom, "pool.example.com.", true)),
		failover("svc.example.com.", "svc-secondary", "SECONDARY", "", set("", "", 30, "192.0.2.62")),
		failover("svc2.example.com.", "svc2-primary", "PRIMARY", "", alias("", zoneCom, "pool.example.com.", false)),
		failover("svc2.example.com.", "svc2-secondary", "SECONDARY", "", set("", "", 30, "192.0.2.63")),
		alias("al.example.com.", zoneCom, "www.example.com.", false),
		alias("aloop1.example.com.", zoneCom, "aloop2.example.com.", true),
		alias("aloop2.example.com.", zoneCom, "aloop1.example.com.", true),
		alias("alorg.example.com.", zoneOrg, "www.example.org.", false),
	}
	com = append(com, policySets()...)
	// A chain of ten CNAMEs, longer than the server follows.
	for i := range 10 {
		target := fmt.Sprintf("h%d.example.com.", i+1)
		if i == 9 {
			target = "www.example.com."
		}
		com = append(com, set(fmt.Sprintf("h%d.example.com.", i), "CNAME", 300, target))
	}
	return map[string][]zone.RecordSet{
		zoneCom:  com,
		zoneOrg:  {set("www.example.org.", "A", 300, "203.0.113.5")},
		zoneSub2: {set("x.sub2.example.com.", "A", 300, "192.0.2.99")},
	}
}

var fixtureZones = []zone.HostedZone{
	{ID: zoneCom, Name: "example.com."},
	{ID: zoneOrg, Name: "Example.ORG"}, // not yet canonical: NewSnapshot makes it so
	{ID: zoneSub2, Name: "sub2.example.com."},
}

// policySets are groups of the policies the main fixture does not show.
func policySets() []zone.RecordSet {
	var out []zone.RecordSet
	for i, region := range []string{"us-east", "eu-west", "ap-southeast"} {
		r := set("lat.example.com.", "A", 60, fmt.Sprintf("192.0.2.%d", 71+i))
		r.SetIdentifier, r.Region = region, region
		out = append(out, r)
	}
	for i, region := range []string{"us-east", "eu-west", ""} {
		r := set("gp.example.com.", "A", 60, fmt.Sprintf("192.0.2.%d", 91+i))
		r.SetIdentifier = fmt.Sprintf("gp-%d", i)
		r.GeoProximityLocation = &zone.GeoProximityLocation{AWSRegion: region}
		if region == "" {
			r.GeoProximityLocation.Coordinates = &zone.Coordinates{Latitude: 1.29, Longitude: 103.85}
		}
		out = append(out, r)
	}
	for i, loc := range []string{"office", "*"} {
		r := set("ip.example.com.", "A", 60, fmt.Sprintf("192.0.2.%d", 81-i))
		r.SetIdentifier = "ip-" + loc
		r.CidrRoutingConfig = &zone.CidrRoutingConfig{CollectionID: "c-office", LocationName: loc}
		out = append(out, r)
	}
	yes := true
	for i := range 10 {
		r := set("mv.example.com.", "A", 60, fmt.Sprintf("203.0.113.%d", i+1))
		r.SetIdentifier, r.MultiValueAnswer, r.HealthCheckID = fmt.Sprintf("mv-%d", i), &yes, fmt.Sprintf("hc-mv-%d", i)
		out = append(out, r)
	}
	return out
}

var fixtureCidrs = []zone.CidrCollection{{
	ID: "c-office", Name: "offices", Version: 1,
	Locations: map[string][]string{"office": {"192.0.2.0/24", "2001:db8:4000::/48"}},
}}

func fixtureSnapshot(t testing.TB, h HealthView) *Snapshot {
	t.Helper()
	snap, err := NewSnapshot(index, fixtureZones, fixtureSets(), fixtureCidrs, h)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// fixtureTopology has the three regions of `polyregion up`.
func fixtureTopology(t testing.TB) *topology.Topology {
	t.Helper()
	topo, err := topology.New([]topology.Region{
		{Name: "us-east", Lat: 38.9, Lon: -77.0, Zone: "us"},
		{Name: "eu-west", Lat: 53.3, Lon: -6.3, Zone: "eu"},
		{Name: "ap-southeast", Lat: 1.3, Lon: 103.8, Zone: "ap"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// demoGeoIP opens the demo GeoIP database, written for the test.
func demoGeoIP(t testing.TB) *geoip.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "demo.mmdb")
	if err := geoip.WriteDemo(path); err != nil {
		t.Fatal(err)
	}
	db, err := geoip.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// testServer is a Server serving on 127.0.0.1 over UDP and TCP until the test ends.
type testServer struct {
	*Server
	udp, tcp string
	reg      *prometheus.Registry
}

func startServer(t *testing.T, opts Options, snap *Snapshot) *testServer {
	t.Helper()
	log := testutil.NewLog(t)
	ts := &testServer{reg: prometheus.NewRegistry()}
	if opts.Region == "" {
		opts.Region = "us-east"
	}
	if opts.NameServers == nil {
		opts.NameServers = fixtureNameServers
	}
	opts.Logger = log.Logger().With("component", "dns")
	opts.Registerer = ts.reg
	ts.Server = New(opts)
	ts.Swap(snap)

	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		pc.Close()
		t.Fatal(err)
	}
	ts.udp, ts.tcp = pc.LocalAddr().String(), ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ts.Serve(ctx, pc, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ts
}

// exchange sends m over network ("udp" or "tcp") and returns the answer.
func (ts *testServer) exchange(t testing.TB, network string, m *dns.Msg) *dns.Msg {
	t.Helper()
	addr := ts.udp
	if network == "tcp" {
		addr = ts.tcp
	}
	c := &dns.Client{Net: network, Timeout: 5 * time.Second}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s %s: %v", network, m.Question[0].String(), err)
	}
	if r.Id != m.Id {
		t.Fatalf("answer id %d, query id %d", r.Id, m.Id)
	}
	return r
}

// ask sends m over UDP and over TCP, checks that the answers are the same unless the UDP
// one is truncated, and returns the UDP one. Only for names whose answer is deterministic.
func (ts *testServer) ask(t testing.TB, m *dns.Msg) *dns.Msg {
	t.Helper()
	u := ts.exchange(t, "udp", m)
	c := ts.exchange(t, "tcp", m)
	if !u.Truncated && u.String() != c.String() {
		t.Errorf("UDP and TCP answers differ:\nUDP:\n%s\nTCP:\n%s", u, c)
	}
	return u
}

// question is a query without EDNS.
func question(name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	return m
}

// ednsQuery is a question with EDNS and an optional Client Subnet option.
func ednsQuery(name string, qtype uint16, size uint16, ecs *dns.EDNS0_SUBNET) *dns.Msg {
	m := question(name, qtype)
	m.SetEdns0(size, false)
	if ecs != nil {
		opt := m.IsEdns0()
		opt.Option = append(opt.Option, ecs)
	}
	return m
}

// subnet is a Client Subnet option for prefix.
func subnet(prefix string) *dns.EDNS0_SUBNET {
	p := netip.MustParsePrefix(prefix)
	o := &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, SourceNetmask: uint8(p.Bits()), Address: p.Addr().AsSlice()}
	o.Family = 1
	if p.Addr().Is6() {
		o.Family = 2
	}
	return o
}

// rrStrings returns records in presentation format, sorted, with tabs as spaces.
func rrStrings(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		out = append(out, strings.Join(strings.Fields(rr.String()), " "))
	}
	slices.Sort(out)
	return out
}

func wantRRs(t testing.TB, what string, got []dns.RR, want ...string) {
	t.Helper()
	slices.Sort(want)
	if g := rrStrings(got); !slices.Equal(g, want) {
		t.Errorf("%s:\n got %q\nwant %q", what, g, want)
	}
}

func wantRcode(t testing.TB, r *dns.Msg, rcode int) {
	t.Helper()
	if r.Rcode != rcode {
		t.Errorf("rcode %s, want %s\n%s", dns.RcodeToString[r.Rcode], dns.RcodeToString[rcode], r)
	}
}

// ecsOf returns the Client Subnet option of an answer, or nil.
func ecsOf(r *dns.Msg) *dns.EDNS0_SUBNET {
	if opt := r.IsEdns0(); opt != nil {
		for _, o := range opt.Option {
			if e, ok := o.(*dns.EDNS0_SUBNET); ok {
				return e
			}
		}
	}
	return nil
}

// firstA returns the address of the first A record of an answer, or "".
func firstA(r *dns.Msg) string {
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			return a.A.String()
		}
	}
	return ""
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// health.Snapshot is the HealthView the application passes.
var _ HealthView = (*health.Snapshot)(nil)
