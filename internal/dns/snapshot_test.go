package dns

import (
	"errors"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/polyregion/polyregion/internal/dns/zone"
	"github.com/polyregion/polyregion/internal/health"
)

func TestNewSnapshotReportsEveryProblem(t *testing.T) {
	zones := []zone.HostedZone{
		{ID: "Z1", Name: "example.com."},
		{ID: "Z1", Name: "example.net."},
		{ID: "Z2", Name: "EXAMPLE.com"},
		{ID: "", Name: "example.org."},
		{ID: "Z3", Name: "bad..name."},
	}
	bad := set("w.example.com.", "A", 60, "192.0.2.1")
	bad.SetIdentifier = "second"
	sets := map[string][]zone.RecordSet{
		"Z1": {
			set("a.example.com.", "A", 60, "192.0.2.300"),
			set("b.example.com.", "BOGUS", 60, "x"),
			set("c.example.org.", "A", 60, "192.0.2.1"),
			set("d.example.com.", "A", -1, "192.0.2.1"),
			set("e.example.com.", "A", 60),
			set("f.example.com.", "A", 60, "192.0.2.1\nevil.example.com. 60 IN A 192.0.2.2"),
			set("g.example.com.", "MX", 60, "mail.example.com."),
			set("h.example.com.", "SOA", 60, "a. b. 1 2 3 4 5"),
			set("i.example.com.", "A", 60, "2001:db8::1"),
			set("j.example.com.", "TXT", 60, ""),
			set("j.example.com.", "TXT", 60, `"dup"`),
			{Name: "k.example.com.", Type: "A", Values: []string{"192.0.2.1"}, AliasTarget: &zone.AliasTarget{DNSName: "www.example.com."}},
			set("ok.example.com.", "A", 60, "192.0.2.1"),
		},
		"Z9": {set("x.example.com.", "A", 60, "192.0.2.1")},
	}
	cidrs := []zone.CidrCollection{{ID: "c1", Locations: map[string][]string{"a": {"not-a-prefix"}}}}
	_, err := NewSnapshot(1, zones, sets, cidrs, nil)
	if !errors.Is(err, ErrInvalidSnapshot) {
		t.Fatalf("err = %v, want ErrInvalidSnapshot", err)
	}
	for _, want := range []string{
		"hosted zone Z1: id listed twice",
		"hosted zone Z2: example.com. is also hosted zone Z1",
		"hosted zone 3 (example.org.): no id",
		`hosted zone Z3: invalid name "bad..name."`,
		`zone example.com. (Z1): record set "a.example.com. A": value "192.0.2.300"`,
		`record set "b.example.com. BOGUS": unknown or unsupported type "BOGUS"`,
		`record set "c.example.org. A": name c.example.org. is not in the zone`,
		`record set "d.example.com. A": ttl -1 out of range`,
		`record set "e.example.com. A": no values`,
		`record set "f.example.com. A": value "192.0.2.1\nevil.example.com. 60 IN A 192.0.2.2": contains a line break`,
		`record set "g.example.com. MX": value "mail.example.com."`,
		`record set "h.example.com. SOA": SOA records exist only at the apex`,
		`record set "i.example.com. A": value "2001:db8::1"`,
		`record set "j.example.com. TXT": value "": empty`,
		`record set "j.example.com. TXT": listed twice`,
		`record set "k.example.com. A": an alias has no values`,
		"record sets for unknown hosted zone Z9",
		`cidr collection c1: location "a": block "not-a-prefix"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "ok.example.com.") {
		t.Errorf("error names a good record set: %v", err)
	}
}

func TestNewSnapshotCopiesItsInput(t *testing.T) {
	sets := fixtureSets()
	snap, err := NewSnapshot(7, fixtureZones, sets, fixtureCidrs, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The caller changes what it passed: the snapshot does not see it.
	for i := range sets[zoneCom] {
		rs := &sets[zoneCom][i]
		if rs.Name == "w.example.com." {
			*rs.Weight = 0
		}
		rs.Name = "changed.example.com."
		rs.Values = nil
	}
	s := New(Options{Region: "us-east", NameServers: fixtureNameServers})
	s.Swap(snap)
	r := s.Answer(question("www.example.com.", dns.TypeA), netipLoopback, false)
	wantRRs(t, "www", r.Answer, "www.example.com. 300 IN A 192.0.2.10")
	for _, rs := range snap.sets {
		if rs.rs.Weight != nil && *rs.rs.Weight == 0 {
			t.Errorf("weight of %s changed through the caller's copy", rs.rs.SetIdentifier)
		}
	}
	if snap.Index() != 7 || snap.WithHealth(newFakeHealth()).Index() != 7 {
		t.Error("Index")
	}
}

func TestGroupsInSetIdentifierOrder(t *testing.T) {
	sets := fixtureSets()
	com := sets[zoneCom]
	for i, j := 0, len(com)-1; i < j; i, j = i+1, j-1 {
		com[i], com[j] = com[j], com[i]
	}
	snap, err := NewSnapshot(1, fixtureZones, sets, fixtureCidrs, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := snap.byID[zoneCom].names["w.example.com."].group(dns.TypeA)
	if len(g.sets) != 2 || g.sets[0].SetIdentifier != "w-a" || g.policy != zone.PolicyWeighted {
		t.Errorf("group %v, policy %s", g.sets, g.policy)
	}
}

func TestNilHealthSnapshotIsEveryCheckHealthy(t *testing.T) {
	var h *health.Snapshot
	snap, err := NewSnapshot(1, fixtureZones, fixtureSets(), fixtureCidrs, h)
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{Region: "us-east", NameServers: fixtureNameServers})
	for _, snap := range []*Snapshot{snap, snap.WithHealth(h)} {
		s.Swap(snap)
		r := s.Answer(question("f.example.com.", dns.TypeA), netipLoopback, false)
		wantRRs(t, "failover", r.Answer, "f.example.com. 60 IN A 192.0.2.31")
	}
}
