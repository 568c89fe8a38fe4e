package geoip

import (
	"bytes"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// openDemo writes the demo database into a temporary directory and opens it.
func openDemo(t *testing.T) *DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "demo.mmdb")
	if err := WriteDemo(path); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

// lastAddr returns the last address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func TestDemoEveryRange(t *testing.T) {
	db := openDemo(t)
	for _, r := range DemoRanges {
		for _, addr := range []netip.Addr{r.Network.Addr(), r.Network.Addr().Next(), lastAddr(r.Network)} {
			loc, ok := db.Lookup(addr)
			if !ok {
				t.Errorf("Lookup(%s): not found, want %s", addr, r.Country)
				continue
			}
			want := Location{
				Continent: r.Continent, Country: r.Country, Subdivision: r.Subdivision,
				Lat: r.Lat, Lon: r.Lon, HasCoords: true, Network: r.Network,
			}
			if loc != want {
				t.Errorf("Lookup(%s) = %+v, want %+v", addr, loc, want)
			}
		}
	}
}

func TestDemoExamples(t *testing.T) {
	db := openDemo(t)
	for _, tc := range []struct {
		addr                            string
		continent, country, subdivision string
		network                         string
	}{
		{"192.0.2.1", "NA", "US", "VA", "192.0.2.0/26"},
		{"192.0.2.100", "NA", "US", "CA", "192.0.2.64/26"},
		{"192.0.2.200", "NA", "CA", "", "192.0.2.128/25"},
		{"198.51.100.7", "EU", "IE", "", "198.51.100.0/25"},
		{"198.51.100.130", "EU", "DE", "", "198.51.100.128/26"},
		{"203.0.113.5", "AS", "SG", "", "203.0.113.0/25"},
		{"203.0.113.130", "AS", "JP", "", "203.0.113.128/26"},
		{"203.0.113.250", "OC", "AU", "", "203.0.113.192/26"},
		{"2001:db8::1", "NA", "US", "", "2001:db8::/34"},
		{"2001:db8:4000::53", "EU", "GB", "", "2001:db8:4000::/34"},
		{"2001:db8:ffff::1", "", "", "", ""}, // unmapped
		{"2001:db8:bfff:ffff::1", "SA", "BR", "", "2001:db8:8000::/34"},
		// IPv4-mapped IPv6 is looked up as IPv4 and gets an IPv4 network.
		{"::ffff:192.0.2.1", "NA", "US", "VA", "192.0.2.0/26"},
		{"::ffff:203.0.113.200", "OC", "AU", "", "203.0.113.192/26"},
		// A zone is ignored.
		{"2001:db8:4000::1%eth0", "EU", "GB", "", "2001:db8:4000::/34"},
	} {
		loc, ok := db.Lookup(netip.MustParseAddr(tc.addr))
		if tc.country == "" {
			if ok {
				t.Errorf("Lookup(%s) = %+v, want not found", tc.addr, loc)
			}
			continue
		}
		if !ok || loc.Continent != tc.continent || loc.Country != tc.country || loc.Subdivision != tc.subdivision ||
			loc.Network != netip.MustParsePrefix(tc.network) || !loc.HasCoords {
			t.Errorf("Lookup(%s) = %+v, %v; want %s/%s/%q in %s", tc.addr, loc, ok, tc.continent, tc.country, tc.subdivision, tc.network)
		}
	}
}

func TestDemoUnmapped(t *testing.T) {
	db := openDemo(t)
	var addrs []netip.Addr
	for _, p := range DemoUnmapped {
		addrs = append(addrs, p.Addr(), lastAddr(p))
	}
	for _, s := range []string{
		"127.0.0.1", "8.8.8.8", "10.1.2.3", "192.0.1.255", "192.0.3.0", "198.51.99.255", "203.0.114.0",
		"::1", "2001:db9::1", "2001:db7:ffff::1", "fe80::1", "::ffff:8.8.8.8",
	} {
		addrs = append(addrs, netip.MustParseAddr(s))
	}
	addrs = append(addrs, netip.Addr{})
	for _, a := range addrs {
		if loc, ok := db.Lookup(a); ok {
			t.Errorf("Lookup(%v) = %+v, want not found", a, loc)
		}
	}
}

func TestDemoCoversDocumentationRanges(t *testing.T) {
	// Every block is inside a documentation range, blocks do not overlap, and blocks
	// plus DemoUnmapped tile the four ranges exactly.
	docs := []netip.Prefix{
		netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("198.51.100.0/24"),
		netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8::/32"),
	}
	if err := checkRanges(DemoRanges); err != nil {
		t.Fatal(err)
	}
	size := func(p netip.Prefix) float64 {
		return math.Ldexp(1, p.Addr().BitLen()-p.Bits())
	}
	for _, d := range docs {
		var covered float64
		var parts []netip.Prefix
		for _, r := range DemoRanges {
			parts = append(parts, r.Network)
		}
		parts = append(parts, DemoUnmapped...)
		for i, p := range parts {
			if !p.Overlaps(d) {
				continue
			}
			if p.Bits() < d.Bits() {
				t.Errorf("%s is wider than the documentation range %s", p, d)
			}
			for _, q := range parts[:i] {
				if q.Overlaps(p) {
					t.Errorf("%s overlaps %s", p, q)
				}
			}
			covered += size(p)
		}
		if covered != size(d) {
			t.Errorf("%s: blocks cover %v addresses of %v", d, covered, size(d))
		}
	}
	for _, r := range DemoRanges {
		inDocs := false
		for _, d := range docs {
			inDocs = inDocs || d.Contains(r.Network.Addr()) && r.Network.Bits() >= d.Bits()
		}
		if !inDocs {
			t.Errorf("%s is outside the documentation ranges", r.Network)
		}
	}
}

func TestWriteDemoIsDeterministicAndAtomic(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.mmdb"), filepath.Join(dir, "b.mmdb")
	if err := os.WriteFile(b, []byte("an older file"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{a, b} {
		if err := WriteDemo(p); err != nil {
			t.Fatal(err)
		}
	}
	da, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	db, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(da, db) {
		t.Error("two WriteDemo calls wrote different bytes")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only a.mmdb and b.mmdb (no temporary files)", names)
	}

	// A directory that does not exist: an error naming the path, nothing left behind.
	missing := filepath.Join(dir, "nope", "demo.mmdb")
	if err := WriteDemo(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("WriteDemo(%s) = %v, want an error naming the path", missing, err)
	}
}

func TestWriteDatabaseRejectsBadRanges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.mmdb")
	err := writeDatabase(path, []DemoRange{
		{Network: netip.MustParsePrefix("192.0.2.0/24"), Continent: "NA", Country: "US"},
		{Network: netip.MustParsePrefix("192.0.2.128/25"), Continent: "NA", Country: "US"},
		{Network: netip.MustParsePrefix("192.0.2.1/24"), Continent: "NA", Country: "US"},
		{Network: netip.MustParsePrefix("2001:db8::/32"), Continent: "XX", Country: "US"},
	})
	if err == nil {
		t.Fatal("writeDatabase accepted overlapping and malformed ranges")
	}
	for _, want := range []string{"overlaps", "not a canonical prefix", `unknown continent "XX"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("a database was written despite the error: %v", err)
	}
}

func TestRouteFiftyThreeContinentWins(t *testing.T) {
	// Databases differ from Route 53 on some countries' continent; Route 53's list wins.
	// A record with only a continent keeps the database's continent.
	path := filepath.Join(t.TempDir(), "custom.mmdb")
	err := writeDatabase(path, []DemoRange{
		{Network: netip.MustParsePrefix("192.0.2.0/25"), Continent: "EU", Country: "TR", City: "Istanbul", Lat: 41.01, Lon: 28.98},
		{Network: netip.MustParsePrefix("192.0.2.128/25"), Continent: "AS", Country: "CY", City: "Nicosia", Lat: 35.17, Lon: 33.36},
		{Network: netip.MustParsePrefix("2001:db8::/32"), Continent: "EU", Country: "ZZ"},
	})
	if err != nil {
		t.Fatal(err)
	}
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	for addr, want := range map[string]string{"192.0.2.1": "AS", "192.0.2.129": "EU", "2001:db8::1": "EU"} {
		if loc, ok := db.Lookup(netip.MustParseAddr(addr)); !ok || loc.Continent != want {
			t.Errorf("Lookup(%s) = %+v, %v; want continent %s", addr, loc, ok, want)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.mmdb")
	if _, err := Open(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("Open(missing) = %v, want an error naming the path", err)
	}
	garbage := filepath.Join(dir, "garbage.mmdb")
	if err := os.WriteFile(garbage, bytes.Repeat([]byte("not a database "), 100), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(garbage); err == nil {
		t.Error("Open accepted a file that is not a database")
	}
}

func TestLookupAfterClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "demo.mmdb")
	if err := WriteDemo(path); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if loc, ok := db.Lookup(netip.MustParseAddr("192.0.2.1")); ok {
		t.Errorf("Lookup after Close = %+v, want not found", loc)
	}
}
