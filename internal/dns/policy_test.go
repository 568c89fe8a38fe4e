package dns

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/polyregion/polyregion/internal/dns/policy"
)

// tally asks for name n times over UDP and counts the answers' first addresses.
func tally(t *testing.T, ts *testServer, m *dns.Msg, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		r := ts.exchange(t, "udp", m)
		got[firstA(r)]++
		if len(r.Answer) != 1 {
			t.Fatalf("answer of %d records:\n%s", len(r.Answer), r)
		}
	}
	return got
}

func TestWeightedThroughServer(t *testing.T) {
	h := newFakeHealth()
	ts := startServer(t, Options{}, fixtureSnapshot(t, h))
	m := question("w.example.com.", dns.TypeA)

	// Weights 1 and 3: over 400 draws w-b's share is 300 ± 8.7 (one standard deviation).
	got := tally(t, ts, m, 400)
	if got["192.0.2.21"]+got["192.0.2.22"] != 400 || got["192.0.2.22"] < 240 || got["192.0.2.22"] > 360 {
		t.Errorf("weights 1:3 gave %v", got)
	}
	// w-b down: only w-a.
	h.set("hc-wb", false)
	if got := tally(t, ts, m, 50); got["192.0.2.21"] != 50 {
		t.Errorf("w-b unhealthy: %v", got)
	}
	// Both down: fail open, as if both were healthy.
	h.set("hc-wa", false)
	if got := tally(t, ts, m, 200); got["192.0.2.21"] == 0 || got["192.0.2.22"] == 0 {
		t.Errorf("all unhealthy: %v, want both", got)
	}
	// w-b back.
	h.set("hc-wb", true)
	if got := tally(t, ts, m, 50); got["192.0.2.22"] != 50 {
		t.Errorf("w-a unhealthy: %v", got)
	}
}

func TestFailoverThroughServer(t *testing.T) {
	h := newFakeHealth()
	ts := startServer(t, Options{}, fixtureSnapshot(t, h))
	m := question("f.example.com.", dns.TypeA)
	for _, step := range []struct {
		primaryHealthy bool
		want           string
	}{{true, "192.0.2.31"}, {false, "192.0.2.32"}, {true, "192.0.2.31"}, {false, "192.0.2.32"}} {
		h.set("hc-primary", step.primaryHealthy)
		r := ts.ask(t, m)
		if firstA(r) != step.want {
			t.Errorf("primary healthy=%v: answer %s, want %s", step.primaryHealthy, firstA(r), step.want)
		}
		if r.Answer[0].Header().Ttl != 60 {
			t.Errorf("TTL %d, want the record set's 60", r.Answer[0].Header().Ttl)
		}
	}
}

func TestGeolocationThroughServer(t *testing.T) {
	h := newFakeHealth()
	ts := startServer(t, Options{GeoIP: demoGeoIP(t)}, fixtureSnapshot(t, h))
	ask := func(ecs string) string {
		return firstA(ts.ask(t, ednsQuery("geo.example.com.", dns.TypeA, 1232, subnet(ecs))))
	}
	// Different demo ranges, different answers.
	for ecs, want := range map[string]string{
		"192.0.2.64/26":      "192.0.2.43", // US-CA
		"192.0.2.0/26":       "192.0.2.42", // US
		"198.51.100.0/25":    "192.0.2.41", // EU
		"203.0.113.0/25":     "192.0.2.44", // SG
		"203.0.113.128/26":   "192.0.2.40", // JP: the default
		"2001:db8:4000::/34": "192.0.2.41", // GB: EU
	} {
		if got := ask(ecs); got != want {
			t.Errorf("ECS %s: %s, want %s", ecs, got, want)
		}
	}
}

func TestLatencyThroughServer(t *testing.T) {
	// The latency model from the client's coordinates.
	ts := startServer(t, Options{Region: "eu-west", GeoIP: demoGeoIP(t), Topology: fixtureTopology(t)}, fixtureSnapshot(t, nil))
	for ecs, want := range map[string]string{
		"192.0.2.0/24":      "192.0.2.71", // Ashburn: us-east
		"198.51.100.128/26": "192.0.2.72", // Frankfurt: eu-west
		"203.0.113.192/26":  "192.0.2.73", // Sydney: ap-southeast
		"198.51.100.192/26": "192.0.2.72", // unmapped: the answering region
	} {
		r := ts.ask(t, ednsQuery("lat.example.com.", dns.TypeA, 1232, subnet(ecs)))
		if got := firstA(r); got != want {
			t.Errorf("ECS %s: %s, want %s", ecs, got, want)
		}
	}

	// A latency table overrides the model for the networks it knows.
	table, err := policy.ParseLatencyTable(strings.NewReader("203.0.113.0/24,us-east,5\n203.0.113.0/24,ap-southeast,90\n"))
	if err != nil {
		t.Fatal(err)
	}
	ts = startServer(t, Options{Region: "eu-west", GeoIP: demoGeoIP(t), Topology: fixtureTopology(t), Latency: table}, fixtureSnapshot(t, nil))
	r := ts.ask(t, ednsQuery("lat.example.com.", dns.TypeA, 1232, subnet("203.0.113.0/25")))
	if got := firstA(r); got != "192.0.2.71" {
		t.Errorf("Singapore measured closest to us-east: %s", got)
	}
	if e := ecsOf(r); e == nil || e.SourceScope < 24 {
		t.Errorf("scope %v: want at least the table's /24", e)
	}
	r = ts.ask(t, ednsQuery("lat.example.com.", dns.TypeA, 1232, subnet("192.0.2.0/24")))
	if got := firstA(r); got != "192.0.2.71" {
		t.Errorf("Ashburn, not in the table, modelled: %s", got)
	}
}

func TestGeoproximityThroughServer(t *testing.T) {
	ts := startServer(t, Options{Region: "us-east", GeoIP: demoGeoIP(t), Topology: fixtureTopology(t)}, fixtureSnapshot(t, nil))
	for ecs, want := range map[string]string{
		"192.0.2.64/26":     "192.0.2.91", // San Jose: the us-east region
		"198.51.100.0/25":   "192.0.2.92", // Dublin: the eu-west region
		"203.0.113.128/26":  "192.0.2.93", // Tokyo: the Singapore coordinates
		"198.51.100.192/26": "192.0.2.91", // unmapped: placed at the answering region
	} {
		if got := firstA(ts.ask(t, ednsQuery("gp.example.com.", dns.TypeA, 1232, subnet(ecs)))); got != want {
			t.Errorf("ECS %s: %s, want %s", ecs, got, want)
		}
	}
}

func TestIPBasedThroughServer(t *testing.T) {
	ts := startServer(t, Options{}, fixtureSnapshot(t, nil))
	for ecs, want := range map[string]string{
		"192.0.2.0/24":       "192.0.2.81",
		"192.0.2.77/32":      "192.0.2.81",
		"2001:db8:4000::/56": "192.0.2.81",
		"203.0.113.0/24":     "192.0.2.80",
		"192.0.0.0/16":       "192.0.2.80", // wider than the block: no match
	} {
		r := ts.ask(t, ednsQuery("ip.example.com.", dns.TypeA, 1232, subnet(ecs)))
		if got := firstA(r); got != want {
			t.Errorf("ECS %s: %s, want %s", ecs, got, want)
		}
	}
	// Loopback, the resolver: the default.
	if got := firstA(ts.ask(t, question("ip.example.com.", dns.TypeA))); got != "192.0.2.80" {
		t.Errorf("no ECS: %s", got)
	}
}

func TestMultivalueThroughServer(t *testing.T) {
	h := newFakeHealth()
	ts := startServer(t, Options{}, fixtureSnapshot(t, h))
	m := ednsQuery("mv.example.com.", dns.TypeA, 1232, subnet("192.0.2.0/24"))
	r := ts.exchange(t, "udp", m)
	if len(r.Answer) != policy.MaxMultivalueAnswers || r.Truncated {
		t.Errorf("10 healthy: %d records, TC=%v", len(r.Answer), r.Truncated)
	}
	for i := 2; i < 10; i++ {
		h.set(fmt.Sprintf("hc-mv-%d", i), false)
	}
	r = ts.ask(t, m)
	wantRRs(t, "two healthy", r.Answer, "mv.example.com. 60 IN A 203.0.113.1", "mv.example.com. 60 IN A 203.0.113.2")
	if e := ecsOf(r); e == nil || e.SourceScope != 0 {
		t.Errorf("multivalue scope: %v", e)
	}
}

func TestPanicAnsweredServfail(t *testing.T) {
	h := newFakeHealth()
	h.panic = "hc-wa"
	ts := startServer(t, Options{}, fixtureSnapshot(t, h))
	for _, network := range []string{"udp", "tcp"} {
		r := ts.exchange(t, network, question("w.example.com.", dns.TypeA))
		wantRcode(t, r, dns.RcodeServerFailure)
		// The server goes on answering.
		r = ts.exchange(t, network, question("www.example.com.", dns.TypeA))
		wantRcode(t, r, dns.RcodeSuccess)
	}
	r := ts.Answer(question("w.example.com.", dns.TypeA), netipLoopback, false)
	wantRcode(t, r, dns.RcodeServerFailure)
	if len(r.Question) != 1 {
		t.Errorf("SERVFAIL without the question: %v", r)
	}
	if got := counter(t, ts.reg, "polyregion_dns_panics_total", nil); got != 3 {
		t.Errorf("panics counted: %v, want 3", got)
	}
}

func TestMetrics(t *testing.T) {
	ts := startServer(t, Options{}, fixtureSnapshot(t, nil))
	ts.exchange(t, "udp", question("www.example.com.", dns.TypeA))
	ts.exchange(t, "udp", question("nothere.example.com.", dns.TypeA))
	ts.exchange(t, "tcp", question("www.example.net.", dns.TypeA))
	ts.exchange(t, "udp", question("w.example.com.", dns.TypeA))
	ts.exchange(t, "udp", question("big.example.com.", dns.TypeA))
	// Answer (the Route 53 API's door) is not counted as traffic.
	ts.Answer(question("www.example.com.", dns.TypeA), netipLoopback, false)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"polyregion_dns_queries_total", map[string]string{"rcode": "NOERROR", "transport": "udp"}, 3},
		{"polyregion_dns_queries_total", map[string]string{"rcode": "NXDOMAIN", "transport": "udp"}, 1},
		{"polyregion_dns_queries_total", map[string]string{"rcode": "REFUSED", "transport": "tcp"}, 1},
		{"polyregion_dns_policy_choices_total", map[string]string{"policy": "weighted"}, 1},
		{"polyregion_dns_policy_choices_total", map[string]string{"policy": "simple"}, 2},
		{"polyregion_dns_truncated_total", nil, 1},
		{"polyregion_dns_snapshot_index", nil, index},
	} {
		if got := counter(t, ts.reg, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

// counter returns the value of the counter or gauge name with labels in reg (0 if absent).
func counter(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if matches(m, labels) {
				if m.GetCounter() != nil {
					return m.GetCounter().GetValue()
				}
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

func matches(m *dto.Metric, labels map[string]string) bool {
	if len(m.GetLabel()) != len(labels) {
		return false
	}
	for _, l := range m.GetLabel() {
		if labels[l.GetName()] != l.GetValue() {
			return false
		}
	}
	return true
}

func TestTestAnswerEqualsRealQuery(t *testing.T) {
	ts := startServer(t, Options{GeoIP: demoGeoIP(t)}, fixtureSnapshot(t, nil))
	for _, c := range []struct {
		name string
		ecs  string
	}{{"geo.example.com.", "198.51.100.0/24"}, {"geo.example.com.", "192.0.2.64/26"}, {"c1.example.com.", ""}, {"nothere.example.com.", ""}, {"ip.example.com.", "192.0.2.0/24"}} {
		var prefix netip.Prefix
		var o *dns.EDNS0_SUBNET
		if c.ecs != "" {
			prefix, o = netip.MustParsePrefix(c.ecs), subnet(c.ecs)
		}
		got, err := ts.TestAnswer(context.Background(), c.name, dns.TypeA, netipLoopback, prefix)
		if err != nil {
			t.Fatal(err)
		}
		real := ts.exchange(t, "udp", ednsQuery(c.name, dns.TypeA, 1232, o))
		if got.Rcode != real.Rcode || !slices.Equal(rrStrings(got.Answer), rrStrings(real.Answer)) {
			t.Errorf("%s ECS %q: TestAnswer\n%s\nquery\n%s", c.name, c.ecs, got, real)
		}
	}
	if _, err := ts.TestAnswer(context.Background(), "bad..name", dns.TypeA, netipLoopback, netip.Prefix{}); err == nil {
		t.Error("TestAnswer of an invalid name: no error")
	}
}
