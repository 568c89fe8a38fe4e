package app_test

import (
	"context"
	"fmt"

	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53 "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/miekg/dns"

	"github.com/polyregion/polyregion/internal/mtest"
)

// These tests drive the DNS of a three-region fleet the way users do: zones and records
// through the Route 53 API with the AWS SDK, answers over real UDP and TCP with miekg/dns
// and dig.

func route53Client(c *mtest.Cluster, region string) *route53.Client {
	cr := c.Config.Credentials
	return route53.New(route53.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(c.Endpoints(region).Route53),
		Credentials:  credentials.NewStaticCredentialsProvider(cr.AccessKeyID, cr.SecretAccessKey, ""),
	})
}

func createZone(t *testing.T, c *mtest.Cluster, name string) string {
	t.Helper()
	var id string
	mtest.WaitFor(t, 20*time.Second, func() error {
		out, err := route53Client(c, "us-east").CreateHostedZone(context.Background(), &route53.CreateHostedZoneInput{
			Name: aws.String(name), CallerReference: aws.String("test-" + name)})
		if err != nil {
			return err
		}
		id = strings.TrimPrefix(*out.HostedZone.Id, "/hostedzone/")
		return nil
	})
	return id
}

func change(t *testing.T, c *mtest.Cluster, region, zoneID string, sets ...r53.ResourceRecordSet) {
	t.Helper()
	var changes []r53.Change
	for i := range sets {
		changes = append(changes, r53.Change{Action: r53.ChangeActionUpsert, ResourceRecordSet: &sets[i]})
	}
	cl := route53Client(c, region)
	out, err := cl.ChangeResourceRecordSets(context.Background(), &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(zoneID), ChangeBatch: &r53.ChangeBatch{Changes: changes}})
	if err != nil {
		t.Fatalf("ChangeResourceRecordSets: %v", err)
	}
	// INSYNC means every reachable region's DNS serves the change.
	mtest.WaitFor(t, 20*time.Second, func() error {
		ch, err := cl.GetChange(context.Background(), &route53.GetChangeInput{Id: out.ChangeInfo.Id})
		if err != nil {
			return err
		}
		if ch.ChangeInfo.Status != r53.ChangeStatusInsync {
			return fmt.Errorf("change %s", ch.ChangeInfo.Status)
		}
		return nil
	})
}

func rrA(name, set string, ttl int64, values ...string) r53.ResourceRecordSet {
	rs := r53.ResourceRecordSet{Name: aws.String(name), Type: r53.RRTypeA, TTL: aws.Int64(ttl)}
	if set != "" {
		rs.SetIdentifier = aws.String(set)
	}
	for _, v := range values {
		rs.ResourceRecords = append(rs.ResourceRecords, r53.ResourceRecord{Value: aws.String(v)})
	}
	return rs
}

// query asks a region's DNS over UDP (or TCP), with an ECS option when subnet is valid.
func query(t *testing.T, c *mtest.Cluster, region, name string, qtype uint16, subnet netip.Prefix, tcp bool) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	if subnet.IsValid() {
		o := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}}
		o.SetUDPSize(1232)
		e := &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: uint8(subnet.Bits()), Address: subnet.Addr().AsSlice()}
		if subnet.Addr().Is6() {
			e.Family = 2
		}
		o.Option = append(o.Option, e)
		m.Extra = append(m.Extra, o)
	}
	cl := &dns.Client{Timeout: 5 * time.Second}
	if tcp {
		cl.Net = "tcp"
	}
	r, _, err := cl.Exchange(m, c.Endpoints(region).DNS)
	if err != nil {
		t.Fatalf("query %s %s at %s: %v", name, dns.TypeToString[qtype], region, err)
	}
	return r
}

func answers(r *dns.Msg) []string {
	var out []string
	for _, rr := range r.Answer {
		switch v := rr.(type) {
		case *dns.A:
			out = append(out, v.A.String())
		case *dns.TXT:
			out = append(out, strings.Join(v.Txt, ""))
		default:
			out = append(out, rr.String())
		}
	}
	slices.Sort(out)
	return out
}

func answerIs(t *testing.T, c *mtest.Cluster, region, name string, subnet netip.Prefix, want ...string) func() error {
	return func() error {
		got := answers(query(t, c, region, name, dns.TypeA, subnet, false))
		if strings.Join(got, ",") != strings.Join(want, ",") {
			return fmt.Errorf("%s from %s (subnet %v): %v, want %v", name, region, subnet, got, want)
		}
		return nil
	}
}

var noSubnet netip.Prefix

func TestDNSPolicies(t *testing.T) {
	c := startFleet(t, 0.18)
	zid := createZone(t, c, "example.test")
	ctx := context.Background()

	// Health checks: one always failing (nothing listens on port 1), one always passing.
	down, up := newTarget(t), newTarget(t)
	down.set(true)
	createCheck(t, c, "us-east", map[string]any{"id": "down", "type": "HTTP", "ip_address": "127.0.0.1", "port": down.port(), "request_interval": "1s", "failure_threshold": 1})
	createCheck(t, c, "us-east", map[string]any{"id": "up", "type": "HTTP", "ip_address": "127.0.0.1", "port": up.port(), "request_interval": "1s", "failure_threshold": 1})
	mtest.WaitFor(t, 10*time.Second, stateIs(t, c, "down", "unhealthy", c.Names()...))
	mtest.WaitFor(t, 10*time.Second, stateIs(t, c, "up", "healthy", c.Names()...))

	ie := netip.MustParsePrefix("198.51.100.0/24") // Dublin
	sg := netip.MustParsePrefix("203.0.113.0/25")  // Singapore
	va := netip.MustParsePrefix("192.0.2.0/26")    // Ashburn, US-VA
	ca := netip.MustParsePrefix("192.0.2.64/26")   // San Jose, US-CA
	jp := netip.MustParsePrefix("203.0.113.128/26")

	geo := func(set, v string, g r53.GeoLocation, hc string) r53.ResourceRecordSet {
		rs := rrA("geo.example.test", set, 60, v)
		rs.GeoLocation = &g
		if hc != "" {
			rs.HealthCheckId = aws.String(hc)
		}
		return rs
	}
	weighted := func(name, set string, w int64, v, hc string) r53.ResourceRecordSet {
		rs := rrA(name, set, 60, v)
		rs.Weight = aws.Int64(w)
		if hc != "" {
			rs.HealthCheckId = aws.String(hc)
		}
		return rs
	}
	failover := func(name, set, role, v, hc string) r53.ResourceRecordSet {
		rs := rrA(name, set, 60, v)
		rs.Failover = r53.ResourceRecordSetFailover(role)
		if hc != "" {
			rs.HealthCheckId = aws.String(hc)
		}
		return rs
	}
	prox := func(set, v string, lat, lon float64, bias int32) r53.ResourceRecordSet {
		rs := rrA("near.example.test", set, 60, v)
		rs.GeoProximityLocation = &r53.GeoProximityLocation{
			Coordinates: &r53.Coordinates{Latitude: aws.String(fmt.Sprint(lat)), Longitude: aws.String(fmt.Sprint(lon))}, Bias: aws.Int32(bias)}
		return rs
	}
	var multi []r53.ResourceRecordSet
	for i := range 12 {
		rs := rrA("pool.example.test", fmt.Sprintf("m%02d", i), 60, fmt.Sprintf("192.0.2.%d", 100+i))
		rs.MultiValueAnswer = aws.Bool(true)
		multi = append(multi, rs)
	}
	var big []r53.ResourceRecord
	for i := range 40 {
		big = append(big, r53.ResourceRecord{Value: aws.String(fmt.Sprintf(`"%s-%02d"`, strings.Repeat("x", 40), i))})
	}
	// Dublin is at 53.35,-6.26: A lies 150 km north with bias +50, B 100 km south.
	sets := []r53.ResourceRecordSet{
		geo("us-va", "10.0.0.1", r53.GeoLocation{CountryCode: aws.String("US"), SubdivisionCode: aws.String("VA")}, "down"),
		geo("us", "10.0.0.2", r53.GeoLocation{CountryCode: aws.String("US")}, ""),
		geo("eu", "10.0.0.3", r53.GeoLocation{ContinentCode: aws.String("EU")}, ""),
		geo("default", "10.0.0.9", r53.GeoLocation{CountryCode: aws.String("*")}, ""),
		rrA("only-eu.example.test", "eu", 60, "10.1.0.3"),
		weighted("w.example.test", "heavy", 70, "10.2.0.1", ""),
		weighted("w.example.test", "light", 30, "10.2.0.2", ""),
		weighted("alldown.example.test", "a", 10, "10.3.0.1", "down"),
		weighted("alldown.example.test", "b", 10, "10.3.0.2", "down"),
		failover("fo.example.test", "p", "PRIMARY", "10.4.0.1", "down"),
		failover("fo.example.test", "s", "SECONDARY", "10.4.0.2", ""),
		failover("bothdown.example.test", "p", "PRIMARY", "10.5.0.1", "down"),
		failover("bothdown.example.test", "s", "SECONDARY", "10.5.0.2", "down"),
		prox("a", "10.6.0.1", 53.35+150/111.2, -6.26, 50),
		prox("b", "10.6.0.2", 53.35-100/111.2, -6.26, 0),
		{Name: aws.String("big.example.test"), Type: r53.RRTypeTxt, TTL: aws.Int64(60), ResourceRecords: big},
	}
	sets[4].GeoLocation = &r53.GeoLocation{ContinentCode: aws.String("EU")}
	change(t, c, "eu-west", zid, append(sets, multi...)...)

	for _, region := range c.Names() {
		// Geolocation: state > country > continent > default, with the walk-up.
		for _, tc := range []struct {
			subnet netip.Prefix
			want   string
		}{
			{va, "10.0.0.2"}, // US-VA record unhealthy: walk up to US
			{ca, "10.0.0.2"}, // no CA record: US
			{ie, "10.0.0.3"}, // Europe
			{sg, "10.0.0.9"}, // nothing for Asia: default
		} {
			if err := answerIs(t, c, region, "geo.example.test", tc.subnet, tc.want)(); err != nil {
				t.Error(err)
			}
		}
		// No default and no match: NODATA, not NXDOMAIN, with the SOA.
		r := query(t, c, region, "only-eu.example.test", dns.TypeA, jp, false)
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 || len(r.Ns) != 1 {
			t.Errorf("%s: unmatched geolocation: rcode %s, %d answers, %d authority; want NODATA with SOA", region, dns.RcodeToString[r.Rcode], len(r.Answer), len(r.Ns))
		}
		if r := query(t, c, region, "nope.example.test", dns.TypeA, noSubnet, false); r.Rcode != dns.RcodeNameError || !r.Authoritative {
			t.Errorf("%s: missing name: rcode %s, aa %v; want authoritative NXDOMAIN", region, dns.RcodeToString[r.Rcode], r.Authoritative)
		}
		if r := query(t, c, region, "w.example.test", dns.TypeAAAA, noSubnet, false); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
			t.Errorf("%s: existing name, other type: rcode %s; want NODATA", region, dns.RcodeToString[r.Rcode])
		}
		// Fail-open: weighted all down answers as if healthy; failover both down → primary.
		if got := answers(query(t, c, region, "alldown.example.test", dns.TypeA, noSubnet, false)); len(got) != 1 {
			t.Errorf("%s: weighted, all unhealthy: %v, want one record", region, got)
		}
		if err := answerIs(t, c, region, "fo.example.test", noSubnet, "10.4.0.2")(); err != nil {
			t.Errorf("failover with the primary down: %v", err)
		}
		if err := answerIs(t, c, region, "bothdown.example.test", noSubnet, "10.5.0.1")(); err != nil {
			t.Errorf("failover with both down: %v", err)
		}
		// Geoproximity: A at 150 km with bias +50 (75 km) beats B at 100 km.
		if err := answerIs(t, c, region, "near.example.test", ie, "10.6.0.1")(); err != nil {
			t.Errorf("geoproximity bias: %v", err)
		}
		// Multivalue: 8 of 12.
		if got := answers(query(t, c, region, "pool.example.test", dns.TypeA, noSubnet, false)); len(got) != 8 {
			t.Errorf("%s: multivalue answered %d records, want 8", region, len(got))
		}
		// Truncation over UDP without EDNS, full answer over TCP.
		m := new(dns.Msg)
		m.SetQuestion("big.example.test.", dns.TypeTXT)
		ru, _, err := (&dns.Client{Timeout: 5 * time.Second}).Exchange(m, c.Endpoints(region).DNS)
		if err != nil {
			t.Fatal(err)
		}
		if !ru.Truncated || len(ru.Answer) == 40 {
			t.Errorf("%s: 40 TXT records over UDP: tc=%v with %d answers; want truncated", region, ru.Truncated, len(ru.Answer))
		}
		if rt := query(t, c, region, "big.example.test", dns.TypeTXT, noSubnet, true); rt.Truncated || len(rt.Answer) != 40 {
			t.Errorf("%s: over TCP: tc=%v with %d answers; want all 40", region, rt.Truncated, len(rt.Answer))
		}
	}

	// Weighted 70/30 over many client subnets: chi-square, 1 degree of freedom, p = 0.001.
	counts := map[string]int{}
	const n = 2000
	for i := range n {
		subnet := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24)
		for _, a := range answers(query(t, c, c.Names()[i%3], "w.example.test", dns.TypeA, subnet, false)) {
			counts[a]++
		}
	}
	chi := sq(float64(counts["10.2.0.1"])-0.7*n)/(0.7*n) + sq(float64(counts["10.2.0.2"])-0.3*n)/(0.3*n)
	if chi > 10.83 {
		t.Errorf("weighted 70/30 answered %v over %d queries: chi-square %.2f > 10.83", counts, n, chi)
	}

	// TestDNSAnswer agrees with a real query for the same resolver and subnet.
	for _, sn := range []netip.Prefix{va, ie, sg} {
		out, err := route53Client(c, "ap-southeast").TestDNSAnswer(ctx, &route53.TestDNSAnswerInput{
			HostedZoneId: aws.String(zid), RecordName: aws.String("geo.example.test"), RecordType: r53.RRTypeA,
			EDNS0ClientSubnetIP: aws.String(sn.Addr().String()), EDNS0ClientSubnetMask: aws.String(fmt.Sprint(sn.Bits()))})
		if err != nil {
			t.Fatal(err)
		}
		real := answers(query(t, c, "ap-southeast", "geo.example.test", dns.TypeA, sn, false))
		if strings.Join(out.RecordData, ",") != strings.Join(real, ",") {
			t.Errorf("subnet %v: TestDNSAnswer %v, real query %v", sn, out.RecordData, real)
		}
	}

	// dig and kdig, the tools users have.
	dnsAddr := c.Endpoints("us-east").DNS
	host, port := dnsAddr[:strings.LastIndex(dnsAddr, ":")], dnsAddr[strings.LastIndex(dnsAddr, ":")+1:]
	out, err := exec.Command("dig", "@"+host, "-p", port, "+short", "+subnet=198.51.100.7/24", "geo.example.test", "A").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "10.0.0.3" {
		t.Errorf("dig +subnet: %v %q", err, out)
	}
	out, err = exec.Command("dig", "@"+host, "-p", port, "+noedns", "+ignore", "big.example.test", "TXT").CombinedOutput()
	if err != nil || !strings.Contains(string(out), " tc") {
		t.Errorf("dig without EDNS did not see a truncated answer: %v\n%s", err, out)
	}
	out, err = exec.Command("kdig", "@"+host, "-p", port, "+tcp", "+short", "big.example.test", "TXT").CombinedOutput()
	if err != nil || strings.Count(string(out), "\n") != 40 {
		t.Errorf("kdig +tcp: %v, %d lines", err, strings.Count(string(out), "\n"))
	}
}

func sq(x float64) float64 { return x * x }
