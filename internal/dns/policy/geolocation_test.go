package policy

import (
	"net/netip"
	"testing"

	"github.com/polyregion/polyregion/internal/dns/geoip"
	"github.com/polyregion/polyregion/internal/dns/zone"
)

func geo(id, continent, country, subdivision string) *zone.RecordSet {
	return checked(&zone.RecordSet{SetIdentifier: id, GeoLocation: &zone.GeoLocation{
		ContinentCode: continent, CountryCode: country, SubdivisionCode: subdivision,
	}})
}

// Clients as the demo database locates them.
var (
	virginia   = located("192.0.2.0/26", "NA", "US", "VA", 39.04, -77.49)
	california = located("192.0.2.64/26", "NA", "US", "CA", 37.34, -121.89)
	usNoState  = located("2001:db8::/34", "NA", "US", "", 39.83, -98.58)
	toronto    = located("192.0.2.128/25", "NA", "CA", "", 43.65, -79.38)
	frankfurt  = located("198.51.100.128/26", "EU", "DE", "", 50.11, 8.68)
	tokyo      = located("203.0.113.128/26", "AS", "JP", "", 35.69, 139.69)
	saoPaulo   = located("2001:db8:8000::/34", "SA", "BR", "", -23.55, -46.63)
	// A record that names only a continent, as some GeoIP records do.
	europeOnly = &geoip.Location{Continent: "EU", Network: netip.MustParsePrefix("198.51.100.0/25")}
)

func TestGeolocation(t *testing.T) {
	full := []*zone.RecordSet{
		geo("va", "", "US", "VA"), geo("us", "", "US", ""), geo("na", "NA", "", ""),
		geo("eu", "EU", "", ""), geo("jp", "", "JP", ""), geo("def", "", "*", ""),
	}
	noDefault := []*zone.RecordSet{geo("va", "", "US", "VA"), geo("us", "", "US", ""), geo("eu", "EU", "", "")}
	statesOnly := []*zone.RecordSet{geo("va", "", "US", "VA"), geo("def", "", "*", "")}
	for _, tc := range []struct {
		name   string
		group  []*zone.RecordSet
		loc    *geoip.Location
		down   []string
		want   string
		prefix string // client ECS prefix; default 192.0.2.0/24
		scope  int
	}{
		{"state beats country", full, virginia, nil, "va", "", 26},
		{"state without a record: country", full, california, nil, "us", "", 26},
		{"US without state data: the US record", full, usNoState, nil, "us", "2001:db8::/56", 34},
		{"country without a record: continent", full, toronto, nil, "na", "", 25},
		{"country beats continent", full, tokyo, nil, "jp", "", 26},
		{"continent only in the database", full, europeOnly, nil, "eu", "", 25},
		{"no match: default", full, saoPaulo, nil, "def", "2001:db8:8000::/56", 34},
		{"unmapped: default", full, nil, nil, "def", "198.51.100.192/26", 26},
		{"state down: country", full, virginia, []string{"va"}, "us", "", 26},
		{"state and country down: continent", full, virginia, []string{"va", "us"}, "na", "", 26},
		{"state, country, continent down: default", full, virginia, []string{"va", "us", "na"}, "def", "", 26},
		{"all down: the smallest region as if healthy", full, virginia, []string{"va", "us", "na", "def"}, "va", "", 26},
		{"country down, no continent record: default", full, tokyo, []string{"jp"}, "def", "", 26},
		{"US without state, US down: continent", full, usNoState, []string{"us"}, "na", "2001:db8::/56", 34},
		{"US without state, no US record: default", statesOnly, usNoState, nil, "def", "2001:db8::/56", 34},
		{"default down and nothing else matches: default as if healthy", full, saoPaulo, []string{"def"}, "def", "", 34},
		{"no default, no match: NODATA", noDefault, tokyo, nil, "NODATA", "", 26},
		{"no default, unmapped: NODATA", noDefault, nil, nil, "NODATA", "198.51.100.192/26", 26},
		{"no default, match down: itself as if healthy", noDefault, frankfurt, []string{"eu"}, "eu", "", 26},
		{"no default, state down: country", noDefault, virginia, []string{"va"}, "us", "", 26},
		{"only a default: same for everyone", []*zone.RecordSet{geo("def", "", "*", "")}, tokyo, nil, "def", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := tc.prefix
			if prefix == "" {
				prefix = "192.0.2.0/24"
			}
			r := Geolocation(tc.group, Env{Client: client(prefix, tc.loc), Healthy: down(tc.down...)})
			if got := chosen(r); got != tc.want || r.Scope != tc.scope {
				t.Errorf("Geolocation = %s scope %d, want %s scope %d", got, r.Scope, tc.want, tc.scope)
			}
			if r.NoData && len(r.Sets) != 0 {
				t.Errorf("NoData with sets %s", ids(r.Sets))
			}
		})
	}
}

func TestGeolocationDuplicatesAndCase(t *testing.T) {
	group := []*zone.RecordSet{geo("b", "", "de", ""), geo("a", "", "DE", ""), geo("def", "", "*", "")}
	if got := chosen(Geolocation(group, Env{Client: client("198.51.100.128/26", frankfurt)})); got != "a" {
		t.Errorf("duplicate country records: chose %s, want a (smallest SetIdentifier)", got)
	}
	if got := chosen(Geolocation(group, Env{Client: client("198.51.100.128/26", frankfurt), Healthy: down("a")})); got != "b" {
		t.Errorf("duplicate country records, a down: chose %s, want b", got)
	}
}
