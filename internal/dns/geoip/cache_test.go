package geoip

import (
	"net/netip"
	"path/filepath"
	"testing"
)

// TestCachedLookupsMatch: a lookup answered from the decoded-record cache is the same as the
// first, decoded one, network included, for every demo range, and unmapped blocks stay
// unmapped.
func TestCachedLookupsMatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "demo.mmdb")
	if err := WriteDemo(path); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var addrs []netip.Addr
	for _, r := range DemoRanges {
		addrs = append(addrs, r.Network.Addr(), lastAddr(r.Network))
	}
	first := map[netip.Addr]Location{}
	for _, a := range addrs {
		loc, ok := db.Lookup(a)
		if !ok {
			t.Fatalf("%v not found", a)
		}
		first[a] = loc
	}
	for round := range 3 {
		for _, a := range addrs {
			loc, ok := db.Lookup(a)
			if !ok || loc != first[a] {
				t.Errorf("round %d: %v = %+v, %v; first lookup gave %+v", round, a, loc, ok, first[a])
			}
		}
		for _, p := range DemoUnmapped {
			if loc, ok := db.Lookup(p.Addr()); ok {
				t.Errorf("round %d: unmapped %v located at %+v", round, p.Addr(), loc)
			}
		}
	}
}
