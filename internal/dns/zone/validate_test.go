package zone

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func ptr[T any](v T) *T { return &v }

var (
	testZone  = HostedZone{ID: "ZTESTZONE00000000001", Name: "example.com."}
	otherZone = HostedZone{ID: "ZOTHERZONE0000000002", Name: "example.net."}
	testCidrs = map[string]CidrCollection{
		"coll-1": {ID: "coll-1", Name: "offices", Locations: map[string][]string{"paris": {"192.0.2.0/24"}, "tokyo": {"2001:db8::/48"}}},
		"coll-2": {ID: "coll-2", Name: "other", Locations: map[string][]string{"paris": {"198.51.100.0/24"}}},
	}
)

func a(name string, values ...string) RecordSet {
	return RecordSet{Name: name, Type: "A", TTL: 60, Values: values}
}

func weighted(id string, w int64) RecordSet {
	r := a("www.example.com.", "192.0.2.1")
	r.SetIdentifier, r.Weight = id, ptr(w)
	return r
}

func geo(id, continent, country, sub string) RecordSet {
	r := a("geo.example.com.", "192.0.2.1")
	r.SetIdentifier = id
	r.GeoLocation = &GeoLocation{ContinentCode: continent, CountryCode: country, SubdivisionCode: sub}
	return r
}

func with(r RecordSet, f func(*RecordSet)) RecordSet {
	f(&r)
	return r
}

func TestValidateChange(t *testing.T) {
	ctx := ChangeContext{
		Zone:              testZone,
		CidrCollections:   testCidrs,
		HealthCheckExists: func(id string) bool { return id == "hc-1" },
		HostedZone: func(id string) (HostedZone, bool) {
			if id == otherZone.ID {
				return otherZone, true
			}
			return HostedZone{}, false
		},
	}
	for _, tc := range []struct {
		name string
		sets []RecordSet
		want []string // substrings, one per expected problem, in order
	}{
		{"empty zone", nil, nil},
		{"every type", []RecordSet{
			a("example.com.", "192.0.2.1", "192.0.2.2"),
			{Name: "example.com.", Type: "AAAA", TTL: 60, Values: []string{"2001:db8::1"}},
			{Name: "example.com.", Type: "MX", TTL: 60, Values: []string{"10 mail.example.com."}},
			{Name: "example.com.", Type: "TXT", TTL: 60, Values: []string{`"v=spf1 -all"`, `"a;b"`}},
			{Name: "example.com.", Type: "SPF", TTL: 60, Values: []string{`"v=spf1 -all"`}},
			{Name: "example.com.", Type: "CAA", TTL: 60, Values: []string{`0 issue "letsencrypt.org"`}},
			{Name: "_sip._tcp.example.com.", Type: "SRV", TTL: 60, Values: []string{"1 10 5060 sip.example.com."}},
			{Name: "1.2.0.192.example.com.", Type: "PTR", TTL: 60, Values: []string{"host.example.com."}},
			{Name: "sub.example.com.", Type: "NS", TTL: 60, Values: []string{"ns1.elsewhere.org."}},
			{Name: "sub.example.com.", Type: "DS", TTL: 60, Values: []string{"12345 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE49FD46E6C4B45C55D4AC69CB"}},
			{Name: "sip.example.com.", Type: "NAPTR", TTL: 60, Values: []string{`100 10 "U" "E2U+sip" "!^.*$!sip:info@example.com!" .`}},
			{Name: "www.example.com.", Type: "CNAME", TTL: 0, Values: []string{"example.com."}},
			{Name: "*.example.com.", Type: "A", TTL: MaxTTL, Values: []string{"192.0.2.9"}},
		}, nil},
		{"name outside the zone", []RecordSet{a("www.example.org.", "192.0.2.1"), a("badexample.com.", "192.0.2.1")},
			[]string{"RRSet with DNS name www.example.org. is not permitted in zone example.com.", "badexample.com. is not permitted"}},
		{"bad names", []RecordSet{a("", "192.0.2.1"), a(strings.Repeat("x", 64)+".example.com.", "192.0.2.1"), a("a..example.com.", "192.0.2.1")},
			[]string{"a name is required", "not a valid domain name", "not a valid domain name"}},
		{"unsupported type", []RecordSet{{Name: "x.example.com.", Type: "TLSA", TTL: 60, Values: []string{"3 1 1 abcd"}}},
			[]string{`type "TLSA" is not supported`}},
		{"bad values", []RecordSet{
			a("a.example.com.", "192.0.2"),
			a("b.example.com.", ""),
			a("c.example.com.", "192.0.2.1 192.0.2.2"),
			a("d.example.com.", "192.0.2.1", "192.0.2.1"),
			a("e.example.com.", "192.0.2.1 ; comment"),
			a("f.example.com.", "192.0.2.1\nx. 60 IN A 192.0.2.2"),
			a("g.example.com."),
			{Name: "h.example.com.", Type: "MX", TTL: 60, Values: []string{"mail.example.com."}},
			{Name: "i.example.com.", Type: "AAAA", TTL: 60, Values: []string{"192.0.2.1"}},
		}, []string{
			`[name='a.example.com.', type='A']: value "192.0.2": not valid A data`,
			`value "": empty`,
			`garbage after rdata`,
			`duplicate value "192.0.2.1"`,
			`outside double quotes`,
			`control character`,
			`at least one value is required`,
			`not valid MX data`,
			`not valid AAAA data`,
		}},
		{"TTL", []RecordSet{with(a("a.example.com.", "192.0.2.1"), func(r *RecordSet) { r.TTL = -1 }),
			with(a("b.example.com.", "192.0.2.1"), func(r *RecordSet) { r.TTL = MaxTTL + 1 })},
			[]string{"TTL -1 is outside 0..2147483647", "TTL 2147483648 is outside"}},
		{"apex records polyregion serves", []RecordSet{
			{Name: "example.com.", Type: "SOA", TTL: 60, Values: []string{"ns1.example.com. hostmaster.example.com. 1 7200 900 1209600 86400"}},
			{Name: "example.com.", Type: "NS", TTL: 60, Values: []string{"ns1.example.com."}},
			{Name: "example.com.", Type: "DS", TTL: 60, Values: []string{"12345 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE49FD46E6C4B45C55D4AC69CB"}},
		}, []string{"SOA record itself", "apex NS records itself", "DS records belong in the parent zone"}},
		{"CNAME at the apex and beside other types", []RecordSet{
			{Name: "example.com.", Type: "CNAME", TTL: 60, Values: []string{"elsewhere.org."}},
			{Name: "www.example.com.", Type: "CNAME", TTL: 60, Values: []string{"elsewhere.org."}},
			{Name: "www.example.com.", Type: "TXT", TTL: 60, Values: []string{`"x"`}},
			{Name: "two.example.com.", Type: "CNAME", TTL: 60, Values: []string{"a.org.", "b.org."}},
		}, []string{"not permitted at the zone apex", "exactly one value, not 2",
			"RRSet of type CNAME with DNS name www.example.com. is not permitted as it conflicts with other records with the same DNS name (TXT)"}},
		{"weighted CNAMEs may share a name", []RecordSet{
			with(weighted("a", 1), func(r *RecordSet) { r.Type, r.Values = "CNAME", []string{"a.org."} }),
			with(weighted("b", 2), func(r *RecordSet) { r.Type, r.Values = "CNAME", []string{"b.org."} }),
		}, nil},
		{"set identifier", []RecordSet{
			with(weighted("", 1), func(r *RecordSet) { r.Name = "a.example.com." }),
			with(a("b.example.com.", "192.0.2.1"), func(r *RecordSet) { r.SetIdentifier = "x" }),
			weighted(strings.Repeat("s", 129), 1),
			weighted("dup", 1), weighted("dup", 2),
		}, []string{"a weighted record set needs a SetIdentifier", "SetIdentifier is set but no routing policy",
			"SetIdentifier is 129 characters, at most 128", "set-identifier='dup']: the record set appears more than once"}},
		{"two simple record sets", []RecordSet{a("a.example.com.", "192.0.2.1"), a("a.example.com.", "192.0.2.2")},
			[]string{"appears more than once"}},
		{"mixed policies", []RecordSet{weighted("w", 1), a("www.example.com.", "192.0.2.2"),
			with(a("www.example.com.", "192.0.2.3"), func(r *RecordSet) { r.SetIdentifier, r.Region = "l", "eu-west" })},
			[]string{"must use one routing policy, found weighted, simple, latency"}},
		{"two policies on one record set", []RecordSet{with(weighted("w", 1), func(r *RecordSet) { r.Failover = "PRIMARY" })},
			[]string{"only one routing policy may be set, found Weight and Failover"}},
		{"weights", []RecordSet{weighted("a", -1), weighted("b", 256), weighted("c", 0), weighted("d", 255)},
			[]string{"weight -1 is outside 0..255", "weight 256 is outside"}},
		{"too many weighted", func() []RecordSet {
			var rs []RecordSet
			for i := range 101 {
				rs = append(rs, weighted(fmt.Sprint(i), 1))
			}
			return rs
		}(), []string{"101 weighted record sets, at most 100"}},
		{"latency: one per region", []RecordSet{
			with(a("l.example.com.", "192.0.2.1"), func(r *RecordSet) { r.SetIdentifier, r.Region = "1", "eu-west" }),
			with(a("l.example.com.", "192.0.2.2"), func(r *RecordSet) { r.SetIdentifier, r.Region = "2", "eu-west" }),
			with(a("l.example.com.", "192.0.2.3"), func(r *RecordSet) { r.SetIdentifier, r.Region = "3", "us-east" }),
		}, []string{"set-identifier='2']: another latency record set of this name and type already uses region eu-west"}},
		{"failover", []RecordSet{
			with(a("f.example.com.", "192.0.2.1"), func(r *RecordSet) { r.SetIdentifier, r.Failover = "1", "PRIMARY" }),
			with(a("f.example.com.", "192.0.2.2"), func(r *RecordSet) { r.SetIdentifier, r.Failover = "2", "PRIMARY" }),
			with(a("f.example.com.", "192.0.2.3"), func(r *RecordSet) { r.SetIdentifier, r.Failover = "3", "SECONDARY" }),
			with(a("g.example.com.", "192.0.2.3"), func(r *RecordSet) { r.SetIdentifier, r.Failover = "3", "TERTIARY" }),
		}, []string{`failover "TERTIARY" is neither PRIMARY nor SECONDARY`, "already PRIMARY"}},
		{"geolocation", []RecordSet{
			geo("ok-continent", "EU", "", ""), geo("ok-country", "", "FR", ""), geo("ok-state", "", "US", "CA"),
			geo("ok-default", "", "*", ""), geo("ok-territory", "", "PR", ""),
			geo("bad-continent", "XX", "", ""), geo("bad-country", "", "ZZ", ""), geo("both", "EU", "FR", ""),
			geo("non-us-sub", "", "CA", "QC"), geo("bad-state", "", "US", "ZZ"), geo("sub-alone", "", "", "CA"),
			geo("empty", "", "", ""), geo("default-sub", "", "*", "CA"), geo("dup", "", "FR", ""),
		}, []string{`continent code "XX" is not one of AF AN AS EU OC NA SA`, `country code "ZZ" is not an ISO 3166-1 alpha-2 code`,
			"names a continent or a country, not both", `subdivision "QC": only US states are supported`,
			`subdivision "ZZ" is not a US state code`, "a subdivision needs CountryCode US", "needs a ContinentCode",
			"the default location", "set-identifier='dup']: another geolocation record set of this name and type already names location country FR"}},
		{"geoproximity", []RecordSet{
			with(a("p.example.com.", "192.0.2.1"), func(r *RecordSet) {
				r.SetIdentifier, r.GeoProximityLocation = "ok", &GeoProximityLocation{AWSRegion: "eu-west", Bias: ptr(int32(-99))}
			}),
			with(a("p.example.com.", "192.0.2.2"), func(r *RecordSet) {
				r.SetIdentifier, r.GeoProximityLocation = "ok2", &GeoProximityLocation{Coordinates: &Coordinates{Latitude: 48.85, Longitude: 2.35}, Bias: ptr(int32(99))}
			}),
			with(a("p.example.com.", "192.0.2.3"), func(r *RecordSet) {
				r.SetIdentifier, r.GeoProximityLocation = "bias", &GeoProximityLocation{AWSRegion: "us-east", Bias: ptr(int32(100))}
			}),
			with(a("p.example.com.", "192.0.2.4"), func(r *RecordSet) {
				r.SetIdentifier, r.GeoProximityLocation = "both", &GeoProximityLocation{AWSRegion: "x", Coordinates: &Coordinates{}}
			}),
			with(a("p.example.com.", "192.0.2.5"), func(r *RecordSet) {
				r.SetIdentifier, r.GeoProximityLocation = "none", &GeoProximityLocation{}
			}),
			with(a("p.example.com.", "192.0.2.6"), func(r *RecordSet) {
				r.SetIdentifier, r.GeoProximityLocation = "far", &GeoProximityLocation{Coordinates: &Coordinates{Latitude: 91, Longitude: -181}}
			}),
		}, []string{"bias 100 is outside -99..99", "either a region or coordinates, not both", "needs a region or coordinates",
			"latitude 91 is outside -90..90", "longitude -181 is outside -180..180"}},
		{"multivalue alias", []RecordSet{{Name: "m.example.com.", Type: "A", SetIdentifier: "m", MultiValueAnswer: ptr(true),
			AliasTarget: &AliasTarget{HostedZoneID: testZone.ID, DNSName: "www.example.com."}}},
			[]string{"a multivalue answer record set cannot be an alias"}},
		{"ip-based", []RecordSet{
			with(a("ip.example.com.", "192.0.2.1"), func(r *RecordSet) { r.SetIdentifier, r.CidrRoutingConfig = "1", &CidrRoutingConfig{"coll-1", "paris"} }),
			with(a("ip.example.com.", "192.0.2.2"), func(r *RecordSet) { r.SetIdentifier, r.CidrRoutingConfig = "2", &CidrRoutingConfig{"coll-1", "*"} }),
			with(a("ip.example.com.", "192.0.2.3"), func(r *RecordSet) { r.SetIdentifier, r.CidrRoutingConfig = "3", &CidrRoutingConfig{"coll-1", "berlin"} }),
			with(a("ip.example.com.", "192.0.2.4"), func(r *RecordSet) { r.SetIdentifier, r.CidrRoutingConfig = "4", &CidrRoutingConfig{"coll-9", "paris"} }),
			with(a("ip.example.com.", "192.0.2.5"), func(r *RecordSet) { r.SetIdentifier, r.CidrRoutingConfig = "5", &CidrRoutingConfig{"coll-1", "paris"} }),
			with(a("ip.example.com.", "192.0.2.6"), func(r *RecordSet) { r.SetIdentifier, r.CidrRoutingConfig = "6", &CidrRoutingConfig{"coll-2", "*"} }),
		}, []string{`CIDR collection coll-1 has no location "berlin"`, "CIDR collection coll-9 does not exist",
			"must use one CIDR collection, not coll-1 and coll-9", `set-identifier='5']: another IP-based record set of this name and type already uses location "paris"`,
			"must use one CIDR collection, not coll-1 and coll-2"}},
		{"health checks", []RecordSet{with(a("h.example.com.", "192.0.2.1"), func(r *RecordSet) { r.HealthCheckID = "hc-1" }),
			with(a("i.example.com.", "192.0.2.1"), func(r *RecordSet) { r.HealthCheckID = "hc-404" })},
			[]string{"health check hc-404 does not exist"}},
		{"aliases", []RecordSet{
			{Name: "a.example.com.", Type: "A", AliasTarget: &AliasTarget{HostedZoneID: testZone.ID, DNSName: "www.example.com."}},
			{Name: "b.example.com.", Type: "A", AliasTarget: &AliasTarget{HostedZoneID: otherZone.ID, DNSName: "WWW.example.net"}},
			{Name: "c.example.com.", Type: "A", AliasTarget: &AliasTarget{HostedZoneID: "ZNOTOURS", DNSName: "x.example.org."}},
			{Name: "d.example.com.", Type: "A", AliasTarget: &AliasTarget{HostedZoneID: otherZone.ID, DNSName: "x.example.org."}},
			{Name: "e.example.com.", Type: "A", Values: []string{"192.0.2.1"}, AliasTarget: &AliasTarget{HostedZoneID: testZone.ID, DNSName: "www.example.com."}},
			{Name: "f.example.com.", Type: "A", AliasTarget: &AliasTarget{HostedZoneID: testZone.ID, DNSName: "f.example.com."}},
			{Name: "sub.example.com.", Type: "NS", AliasTarget: &AliasTarget{HostedZoneID: testZone.ID, DNSName: "www.example.com."}},
		}, []string{"alias target hosted zone ZNOTOURS is not a zone polyregion serves",
			"alias target x.example.org. is not in zone example.net.", "cannot have values too", "cannot point at its own name",
			"cannot have type NS"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ctx.Validate(tc.sets)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var ce *ChangeError
			if !errors.As(err, &ce) || !errors.Is(err, ErrInvalidChange) {
				t.Fatalf("Validate = %v, want a *ChangeError", err)
			}
			if len(ce.Problems) != len(tc.want) {
				t.Fatalf("%d problems, want %d:\n%s", len(ce.Problems), len(tc.want), strings.Join(ce.Problems, "\n"))
			}
			for i, w := range tc.want {
				if !strings.Contains(ce.Problems[i], w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, ce.Problems[i], w)
				}
			}
		})
	}
}

func TestValidateChangeWithoutLookups(t *testing.T) {
	sets := []RecordSet{
		with(a("h.example.com.", "192.0.2.1"), func(r *RecordSet) { r.HealthCheckID = "anything" }),
		{Name: "b.example.com.", Type: "A", AliasTarget: &AliasTarget{HostedZoneID: otherZone.ID, DNSName: "www.example.net."}},
		{Name: "c.example.com.", Type: "A", AliasTarget: &AliasTarget{HostedZoneID: testZone.ID, DNSName: "www.example.com."}},
	}
	err := ValidateChange(testZone, sets, nil, nil)
	var ce *ChangeError
	if !errors.As(err, &ce) || len(ce.Problems) != 1 || !strings.Contains(ce.Problems[0], "ZOTHERZONE0000000002 is not a zone polyregion serves") {
		t.Fatalf("ValidateChange = %v; want only the alias into an unknown zone rejected", err)
	}
	if !strings.HasPrefix(err.Error(), "zone: invalid change in zone example.com.: [name='b.example.com.', type='A']") {
		t.Errorf("Error() = %q", err)
	}
}

func TestValidateChangeIsDeterministic(t *testing.T) {
	sets := []RecordSet{weighted("a", 300), geo("g", "XX", "", ""), a("x.example.org.", "1"), weighted("a", 1)}
	first := ValidateChange(testZone, sets, nil, nil).Error()
	for range 20 {
		if got := ValidateChange(testZone, sets, nil, nil).Error(); got != first {
			t.Fatalf("results differ:\n%s\n%s", first, got)
		}
	}
}

func TestDescribe(t *testing.T) {
	r := weighted("eu", 1)
	r.Name = "WWW.Example.com"
	if got := Describe(&r); got != "[name='www.example.com.', type='A', set-identifier='eu']" {
		t.Errorf("Describe = %s", got)
	}
}
