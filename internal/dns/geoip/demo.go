package geoip

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/polyregion/polyregion/internal/dns/zone"
)

// DemoRange is one network of the demo database and the location it maps to.
type DemoRange struct {
	Network     netip.Prefix
	Continent   string // AF AN AS EU OC NA SA
	Country     string // ISO 3166-1 alpha-2
	Subdivision string // US state, "" when the block has none
	City        string
	Lat, Lon    float64
}

// DemoRanges is the content of the demo database: the documentation ranges 192.0.2.0/24,
// 198.51.100.0/24, 203.0.113.0/24 (RFC 5737) and 2001:db8::/32 (RFC 3849), split into
// blocks with real-world coordinates. Two blocks are left out on purpose so that tests and
// demos have unmapped clients in both families: see [DemoUnmapped].
//
// Address ranges outside these, loopback included, map nowhere.
var DemoRanges = []DemoRange{
	{netip.MustParsePrefix("192.0.2.0/26"), "NA", "US", "VA", "Ashburn", 39.04, -77.49},
	{netip.MustParsePrefix("192.0.2.64/26"), "NA", "US", "CA", "San Jose", 37.34, -121.89},
	{netip.MustParsePrefix("192.0.2.128/25"), "NA", "CA", "", "Toronto", 43.65, -79.38},
	{netip.MustParsePrefix("198.51.100.0/25"), "EU", "IE", "", "Dublin", 53.35, -6.26},
	{netip.MustParsePrefix("198.51.100.128/26"), "EU", "DE", "", "Frankfurt", 50.11, 8.68},
	{netip.MustParsePrefix("203.0.113.0/25"), "AS", "SG", "", "Singapore", 1.29, 103.85},
	{netip.MustParsePrefix("203.0.113.128/26"), "AS", "JP", "", "Tokyo", 35.69, 139.69},
	{netip.MustParsePrefix("203.0.113.192/26"), "OC", "AU", "", "Sydney", -33.87, 151.21},
	// A US block without a state, located at the centre of the contiguous United States
	// as country-level GeoIP records are.
	{netip.MustParsePrefix("2001:db8::/34"), "NA", "US", "", "", 39.83, -98.58},
	{netip.MustParsePrefix("2001:db8:4000::/34"), "EU", "GB", "", "London", 51.51, -0.13},
	{netip.MustParsePrefix("2001:db8:8000::/34"), "SA", "BR", "", "São Paulo", -23.55, -46.63},
}

// DemoUnmapped are the parts of the documentation ranges the demo database leaves out:
// clients there have no location, as clients whose address no database knows.
var DemoUnmapped = []netip.Prefix{
	netip.MustParsePrefix("198.51.100.192/26"),
	netip.MustParsePrefix("2001:db8:c000::/34"),
}

// demoBuildEpoch fixes the demo database's build time so that WriteDemo always writes the
// same bytes: 2024-01-01T00:00:00Z.
const demoBuildEpoch = 1704067200

// WriteDemo writes the demo database (DemoRanges) to path in the GeoIP2-City shape. It
// writes a temporary file beside path and renames it into place, so a reader never sees a
// partial database.
func WriteDemo(path string) error {
	return writeDatabase(path, DemoRanges)
}

var (
	continentNames = map[string]string{
		"AF": "Africa", "AN": "Antarctica", "AS": "Asia", "EU": "Europe",
		"NA": "North America", "OC": "Oceania", "SA": "South America",
	}
	countryNames = map[string]string{
		"AU": "Australia", "BR": "Brazil", "CA": "Canada", "DE": "Germany", "GB": "United Kingdom",
		"IE": "Ireland", "JP": "Japan", "SG": "Singapore", "US": "United States",
	}
	usStateNames = map[string]string{"CA": "California", "VA": "Virginia"}
)

// names is a GeoIP2 "names" map with an English name, or nil when there is none.
func names(en string) mmdbtype.DataType {
	if en == "" {
		return nil
	}
	return mmdbtype.Map{"en": mmdbtype.String(en)}
}

// cityData is the GeoIP2-City record of a range.
func cityData(r DemoRange) mmdbtype.Map {
	put := func(m mmdbtype.Map, k string, v mmdbtype.DataType) {
		if v != nil {
			m[mmdbtype.String(k)] = v
		}
	}
	continent := mmdbtype.Map{"code": mmdbtype.String(r.Continent)}
	put(continent, "names", names(continentNames[r.Continent]))
	country := mmdbtype.Map{"iso_code": mmdbtype.String(r.Country)}
	put(country, "names", names(countryNames[r.Country]))
	rec := mmdbtype.Map{
		"continent":          continent,
		"country":            country,
		"registered_country": country,
		"location": mmdbtype.Map{
			"latitude":        mmdbtype.Float64(r.Lat),
			"longitude":       mmdbtype.Float64(r.Lon),
			"accuracy_radius": mmdbtype.Uint16(100),
		},
	}
	if r.City != "" {
		rec["city"] = mmdbtype.Map{"names": names(r.City)}
	}
	if r.Subdivision != "" {
		sub := mmdbtype.Map{"iso_code": mmdbtype.String(r.Subdivision)}
		if r.Country == "US" {
			put(sub, "names", names(usStateNames[r.Subdivision]))
		}
		rec["subdivisions"] = mmdbtype.Slice{sub}
	}
	return rec
}

// checkRanges reports every range that is malformed or overlaps another.
func checkRanges(ranges []DemoRange) error {
	var errs []error
	for i, r := range ranges {
		switch {
		case !r.Network.IsValid() || r.Network.Addr().Is4In6() || r.Network != r.Network.Masked():
			errs = append(errs, fmt.Errorf("range %d: network %s is not a canonical prefix", i, r.Network))
		case !zone.IsContinent(r.Continent):
			errs = append(errs, fmt.Errorf("range %d (%s): unknown continent %q", i, r.Network, r.Continent))
		case len(r.Country) != 2:
			errs = append(errs, fmt.Errorf("range %d (%s): country %q is not an ISO 3166-1 alpha-2 code", i, r.Network, r.Country))
		case r.Lat < -90 || r.Lat > 90 || r.Lon < -180 || r.Lon > 180:
			errs = append(errs, fmt.Errorf("range %d (%s): coordinates %v,%v out of range", i, r.Network, r.Lat, r.Lon))
		}
		for j := range i {
			if ranges[j].Network.Overlaps(r.Network) {
				errs = append(errs, fmt.Errorf("range %d (%s) overlaps range %d (%s)", i, r.Network, j, ranges[j].Network))
			}
		}
	}
	return errors.Join(errs...)
}

// writeDatabase writes ranges as a GeoIP2-City-shaped database to path, atomically.
func writeDatabase(path string, ranges []DemoRange) error {
	if err := checkRanges(ranges); err != nil {
		return fmt.Errorf("geoip: demo ranges: %w", err)
	}
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType: "GeoIP2-City",
		Description: map[string]string{
			"en": "polyregion demo database: RFC 5737 and RFC 3849 documentation ranges only",
		},
		Languages: []string{"en"},
		// The documentation ranges are reserved networks, which the writer leaves out
		// unless told otherwise.
		IncludeReservedNetworks: true,
		RecordSize:              24,
		BuildEpoch:              demoBuildEpoch,
	})
	if err != nil {
		return fmt.Errorf("geoip: new database: %w", err)
	}
	for _, r := range ranges {
		bits := 128
		if r.Network.Addr().Is4() {
			bits = 32
		}
		ipnet := &net.IPNet{IP: r.Network.Addr().AsSlice(), Mask: net.CIDRMask(r.Network.Bits(), bits)}
		if err := tree.Insert(ipnet, cityData(r)); err != nil {
			return fmt.Errorf("geoip: insert %s: %w", r.Network, err)
		}
	}

	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("geoip: write %s: %w", path, err)
	}
	tmp := f.Name()
	done := false
	defer func() {
		if !done {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if _, err := tree.WriteTo(f); err != nil {
		return fmt.Errorf("geoip: write %s: %w", path, err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("geoip: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("geoip: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("geoip: write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("geoip: write %s: %w", path, err)
	}
	done = true
	return nil
}
