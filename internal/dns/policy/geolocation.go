package policy

import (
	"slices"
	"strings"

	"github.com/polyregion/polyregion/internal/dns/geoip"
	"github.com/polyregion/polyregion/internal/dns/zone"
)

// DefaultLocation is the CountryCode of a geolocation default record and the LocationName
// of an IP-based default record.
const DefaultLocation = "*"

// Geolocation answers with the record set of the smallest region that contains the
// client: US state, then country, then continent, then the default (CountryCode "*").
// When the matching set is unhealthy it walks up — state → country → continent → default —
// to the first healthy one; when none of them is healthy it answers with the smallest as
// if all were healthy. The default also catches clients the database does not locate. A
// client located in a country without a state (a US address without state data) skips the
// state level. With no matching set and no default the answer is NoData, never NXDOMAIN.
//
// Should a malformed group name one location twice, the set with the smallest
// SetIdentifier comes first.
//
// Scope: 0 when every set is a default (the answer is the same for everyone); otherwise
// the client's GeoIP network, or its source prefix when it is unmapped.
func Geolocation(group []*zone.RecordSet, env Env) Result {
	if len(group) == 0 {
		return Result{NoData: true}
	}
	// Candidates are tried in SetIdentifier order (stable). The server's groups come
	// sorted, so that this allocates nothing; another group is sorted first.
	if !slices.IsSortedFunc(group, bySetIdentifier) {
		group = sortedCopy(group)
	}
	loc := env.Client.Location
	// The level of each set: 0 state, 1 country, 2 continent, 3 default, -1 none.
	var buf [64]int8
	levels := buf[:0]
	if len(group) > len(buf) {
		levels = make([]int8, 0, len(group))
	}
	allDefault := true
	for _, rs := range group {
		g := rs.GeoLocation
		switch {
		case g == nil:
			allDefault = false
			levels = append(levels, -1)
		case g.CountryCode == DefaultLocation:
			levels = append(levels, 3)
		default:
			allDefault = false
			levels = append(levels, int8(geoLevel(g, loc)))
		}
	}
	res := Result{NoData: true}
	fallback := -1
levels:
	for l := range int8(4) {
		for i, rs := range group {
			if levels[i] != l {
				continue
			}
			if fallback < 0 {
				fallback = i
			}
			if env.healthy(rs) {
				res = Result{Sets: group[i : i+1 : i+1]}
				break levels
			}
		}
	}
	if res.NoData && fallback >= 0 {
		res = Result{Sets: group[fallback : fallback+1 : fallback+1]}
	}
	if !allDefault {
		res.Scope = env.locationScope()
	}
	return res
}

// geoLevel returns the level at which a non-default geolocation matches the client — 0
// state, 1 country, 2 continent — or -1 when it does not contain the client.
func geoLevel(g *zone.GeoLocation, loc *geoip.Location) int {
	if loc == nil {
		return -1
	}
	switch {
	case g.CountryCode != "" && g.SubdivisionCode != "":
		if loc.Country != "" && loc.Subdivision != "" &&
			strings.EqualFold(g.CountryCode, loc.Country) && strings.EqualFold(g.SubdivisionCode, loc.Subdivision) {
			return 0
		}
	case g.CountryCode != "":
		if loc.Country != "" && strings.EqualFold(g.CountryCode, loc.Country) {
			return 1
		}
	case g.ContinentCode != "":
		if loc.Continent != "" && strings.EqualFold(g.ContinentCode, loc.Continent) {
			return 2
		}
	}
	return -1
}
