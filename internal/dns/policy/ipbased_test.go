package policy

import (
	"net/netip"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/polyregion/polyregion/internal/dns/zone"
)

func mustIndex(t testing.TB, locations map[string][]string) *CidrIndex {
	t.Helper()
	x, err := NewCidrIndex(zone.CidrCollection{ID: "c1", Name: "offices", Locations: locations})
	if err != nil {
		t.Fatal(err)
	}
	return x
}

var offices = map[string][]string{
	"hq":      {"10.0.0.0/8", "2001:db8::/32"},
	"lab":     {"10.1.0.0/16", "2001:db8:1::/48"},
	"printer": {"10.1.2.0/24"},
	"branch":  {"192.0.2.0/24", "198.51.100.0/24"},
}

func TestCidrIndexMatch(t *testing.T) {
	x := mustIndex(t, offices)
	for _, tc := range []struct {
		client   string
		location string
		block    string
		scope    int
	}{
		{"10.9.9.9/32", "hq", "10.0.0.0/8", 13},          // 10.9 shares 12 bits with 10.1/16, nested in hq
		{"10.128.0.0/24", "hq", "10.0.0.0/8", 9},         // the upper half of 10/8 holds no longer block
		{"10.1.5.0/24", "lab", "10.1.0.0/16", 22},        // 10.1.4/22 holds no /24
		{"10.1.2.0/24", "printer", "10.1.2.0/24", 24},    // longest match
		{"10.1.2.77/32", "printer", "10.1.2.0/24", 24},   // a longer query prefix matches
		{"10.1.0.0/16", "lab", "10.1.0.0/16", 16},        // as long as the block: matches; /24 inside is out of reach
		{"10.1.0.0/20", "lab", "10.1.0.0/16", 16},        // the /24 inside never matches a /20 query
		{"10.0.0.0/12", "hq", "10.0.0.0/8", 8},           // likewise the /16 and the /24
		{"10.0.0.0/7", "", "", 0},                        // shorter than every block: no match, for any /7
		{"192.0.2.128/25", "branch", "192.0.2.0/24", 24}, //
		{"192.0.0.0/16", "", "", 1},                      // /16 query, /24 blocks: no match; only 10/8 and 10.1/16 could
		{"203.0.113.7/32", "", "", 5},                    // nothing near: parts from 192.0.2/24 and 198.51.100/24 after 4 bits
		{"2001:db8:1:2::/64", "lab", "2001:db8:1::/48", 48},
		{"2001:db8:2::/56", "hq", "2001:db8::/32", 47},
		{"2001:db8::/31", "", "", 0},
		{"::ffff:10.1.2.3/128", "printer", "10.1.2.0/24", 24}, // IPv4-mapped: matched as IPv4
		{"2001:db9::/48", "", "", 32},
	} {
		p := netip.MustParsePrefix(tc.client)
		loc, block, ok := x.Match(p)
		var wantBlock netip.Prefix
		if tc.block != "" {
			wantBlock = netip.MustParsePrefix(tc.block)
		}
		if loc != tc.location || block != wantBlock || ok != (tc.location != "") {
			t.Errorf("Match(%s) = %q, %s, %v; want %q, %s", p, loc, block, ok, tc.location, tc.block)
		}
		if _, _, scope, _ := x.lookup(p); scope != tc.scope {
			t.Errorf("scope of %s = %d, want %d", p, scope, tc.scope)
		}
	}
	var nilIndex *CidrIndex
	if _, _, ok := nilIndex.Match(netip.MustParsePrefix("10.0.0.0/8")); ok {
		t.Error("a nil index matched")
	}
	if _, _, ok := x.Match(netip.Prefix{}); ok {
		t.Error("an invalid prefix matched")
	}
}

func TestNewCidrIndexErrors(t *testing.T) {
	_, err := NewCidrIndex(zone.CidrCollection{ID: "c9", Locations: map[string][]string{
		"a":  {"10.0.0.0/8", "10.0.0.0/25", "not-a-cidr", "2001:db8::/49", "0.0.0.0/0", "::ffff:10.0.0.0/104"},
		"b":  {"10.0.0.0/8", "192.0.2.0/24", "192.0.2.0/24"}, // the same block twice in one location is fine
		"*":  {"198.51.100.0/24"},
		"":   nil,
		"ok": {"192.0.2.1/24"}, // host bits are dropped: this is 192.0.2.0/24, already in b
	}})
	if err == nil {
		t.Fatal("NewCidrIndex accepted a bad collection")
	}
	for _, want := range []string{
		"cidr collection c9",
		`location "a": block "10.0.0.0/25": prefix length must be 1 to 24`,
		`location "a": block "not-a-cidr"`,
		`location "a": block "2001:db8::/49": prefix length must be 1 to 48`,
		`location "a": block "0.0.0.0/0": prefix length must be 1 to 24`,
		`location "a": block "::ffff:10.0.0.0/104": write IPv4 blocks in IPv4 form`,
		`location "b": block "10.0.0.0/8": already in location "a"`,
		`location "ok": block "192.0.2.1/24": already in location "b"`,
		`location "*": the default location holds no CIDR blocks`,
		"a location has no name",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != 9 {
		t.Errorf("%d problems reported, want 9:\n%v", n, err)
	}
}

func ipRecord(id, location string) *zone.RecordSet {
	return checked(&zone.RecordSet{SetIdentifier: id, CidrRoutingConfig: &zone.CidrRoutingConfig{CollectionID: "c1", LocationName: location}})
}

func TestIPBased(t *testing.T) {
	x := mustIndex(t, offices)
	cidrs := func(id string) *CidrIndex {
		if id == "c1" {
			return x
		}
		return nil
	}
	full := []*zone.RecordSet{ipRecord("hq", "hq"), ipRecord("lab", "lab"), ipRecord("branch", "branch"), ipRecord("def", "*")}
	noDefault := []*zone.RecordSet{ipRecord("hq", "hq"), ipRecord("lab", "lab")}
	for _, tc := range []struct {
		name   string
		group  []*zone.RecordSet
		client string
		down   []string
		want   string
		scope  int
	}{
		{"longest block's location", full, "10.1.9.0/24", nil, "lab", 21},
		{"shorter block's location", full, "10.200.0.0/24", nil, "hq", 9},
		{"location without a record in the group: default", full, "10.1.2.0/24", nil, "def", 24},
		{"no block: default", full, "203.0.113.0/24", nil, "def", 5},
		{"query prefix shorter than every block: default", full, "192.0.0.0/16", nil, "def", 1},
		{"location down: default", full, "10.1.9.0/24", []string{"lab"}, "def", 21},
		{"location and default down: location as if healthy", full, "10.1.9.0/24", []string{"lab", "def"}, "lab", 21},
		{"no block, default down: default as if healthy", full, "203.0.113.0/24", []string{"def"}, "def", 5},
		{"no default, no block: NODATA", noDefault, "203.0.113.0/24", nil, "NODATA", 5},
		{"no default, location down: location as if healthy", noDefault, "10.1.9.0/24", []string{"lab"}, "lab", 21},
		{"IPv6", full, "2001:db8:1:ff00::/56", nil, "lab", 48},
		{"only a default: same for everyone", []*zone.RecordSet{ipRecord("def", "*")}, "10.1.9.0/24", nil, "def", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := IPBased(tc.group, Env{Client: client(tc.client, nil), Healthy: down(tc.down...), Cidrs: cidrs})
			if got := chosen(r); got != tc.want || r.Scope != tc.scope {
				t.Errorf("IPBased = %s scope %d, want %s scope %d", got, r.Scope, tc.want, tc.scope)
			}
		})
	}

	// A collection the server does not know: everyone gets the default.
	missing := []*zone.RecordSet{
		{SetIdentifier: "x", CidrRoutingConfig: &zone.CidrRoutingConfig{CollectionID: "gone", LocationName: "hq"}},
		{SetIdentifier: "def", CidrRoutingConfig: &zone.CidrRoutingConfig{CollectionID: "gone", LocationName: "*"}},
	}
	for _, env := range []Env{{Client: client("10.0.0.0/24", nil), Cidrs: cidrs}, {Client: client("10.0.0.0/24", nil)}} {
		if r := IPBased(missing, env); chosen(r) != "def" || r.Scope != 0 {
			t.Errorf("unknown collection: %s scope %d, want def scope 0", chosen(r), r.Scope)
		}
	}
}

// TestCidrScopeNeverSpansTwoOutcomes checks the promise an ECS scope makes: every query
// of the same prefix length inside the client's network at the scope length gets the same
// match.
func TestCidrScopeNeverSpansTwoOutcomes(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		// Blocks inside 10.0.0.0/16 so that they nest and neighbour often.
		n := rapid.IntRange(0, 12).Draw(t, "blocks")
		locations := map[string][]string{}
		used := map[netip.Prefix]bool{}
		for i := range n {
			bits := rapid.IntRange(16, 24).Draw(t, "bits")
			addr := netip.AddrFrom4([4]byte{10, 0, byte(rapid.IntRange(0, 255).Draw(t, "b2")), 0})
			p := netip.PrefixFrom(addr, bits).Masked()
			if used[p] {
				continue
			}
			used[p] = true
			name := string(rune('a' + i))
			locations[name] = append(locations[name], p.String())
		}
		x, err := NewCidrIndex(zone.CidrCollection{ID: "c", Locations: locations})
		if err != nil {
			t.Fatal(err)
		}
		qbits := rapid.IntRange(14, 32).Draw(t, "query bits")
		q := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(rapid.IntRange(0, 255).Draw(t, "q2")), byte(rapid.IntRange(0, 255).Draw(t, "q3"))}), qbits).Masked()
		loc, block, scope, ok := x.lookup(q)
		if scope > qbits || ok && scope < block.Bits() {
			t.Fatalf("scope %d for query %s matching %s", scope, q, block)
		}
		// Another query of the same length inside q's network at the scope.
		other := q.Addr().As4()
		for i := scope; i < 32; i++ {
			if rapid.Bool().Draw(t, "flip") {
				other[i/8] ^= 0x80 >> (i % 8)
			}
		}
		q2 := netip.PrefixFrom(netip.AddrFrom4(other), qbits).Masked()
		loc2, block2, _, ok2 := x.lookup(q2)
		if loc2 != loc || block2 != block || ok2 != ok {
			t.Fatalf("scope /%d of %s covers %s, which matches %q %s instead of %q %s", scope, q, q2, loc2, block2, loc, block)
		}
	})
}
