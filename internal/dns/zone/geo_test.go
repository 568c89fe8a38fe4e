package zone

import "testing"

func TestContinentTable(t *testing.T) {
	seen := map[string]string{}
	for continent, countries := range continentMembers {
		if !IsContinent(continent) {
			t.Errorf("continentMembers has unknown continent %q", continent)
		}
		for _, c := range countries {
			if prev, dup := seen[c]; dup {
				t.Errorf("%s listed under both %s and %s", c, prev, continent)
			}
			seen[c] = continent
		}
	}
	// ISO 3166-1 assigns 249 alpha-2 codes.
	if len(seen) != 249 {
		t.Errorf("%d countries in the table, want 249", len(seen))
	}
	if len(Continents) != 7 || len(continentMembers) != 7 {
		t.Errorf("want 7 continents, have %d listed and %d in the table", len(Continents), len(continentMembers))
	}
}

func TestContinentOf(t *testing.T) {
	for _, tc := range []struct {
		country, want string
		ok            bool
	}{
		{"TR", "AS", true}, // Route 53's list, not some GeoIP databases'
		{"CY", "EU", true},
		{"RU", "EU", true},
		{"US", "NA", true},
		{"PR", "NA", true}, // a US territory is a country of its own
		{"BR", "SA", true},
		{"AU", "OC", true},
		{"AQ", "AN", true},
		{"EG", "AF", true},
		{"XX", "", false},
		{"", "", false},
		{"us", "", false},
	} {
		got, ok := ContinentOf(tc.country)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ContinentOf(%q) = %q, %v; want %q, %v", tc.country, got, ok, tc.want, tc.ok)
		}
	}
}
