package policy

import (
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
	loc := env.Client.Location
	var levels [4][]*zone.RecordSet // state, country, continent, default
	allDefault := true
	for _, rs := range group {
		g := rs.GeoLocation
		if g == nil {
			allDefault = false
			continue
		}
		if g.CountryCode == DefaultLocation {
			levels[3] = append(levels[3], rs)
			continue
		}
		allDefault = false
		if l := geoLevel(g, loc); l >= 0 {
			levels[l] = append(levels[l], rs)
		}
	}
	var res Result
	var fallback *zone.RecordSet
	for _, sets := range levels {
		if len(sets) == 0 {
			continue
		}
		sets = sortedCopy(sets)
		if fallback == nil {
			fallback = sets[0]
		}
		if rs := firstHealthyOrNil(sets, &env); rs != nil {
			res = one(rs)
			break
		}
	}
	switch {
	case res.Sets != nil:
	case fallback != nil:
		res = one(fallback)
	default:
		res = Result{NoData: true}
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
