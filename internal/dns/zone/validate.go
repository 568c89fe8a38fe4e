package zone

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// ErrInvalidChange is wrapped by every error [ValidateChange] returns; the problems are in
// the [*ChangeError].
var ErrInvalidChange = errors.New("zone: invalid change")

// ChangeError lists every problem found in a zone's record sets, each a sentence that names
// the record set it is about ("[name='www.example.com.', type='A', set-identifier='eu'] ...").
// The Route 53 API answers InvalidChangeBatch with one message per problem.
type ChangeError struct {
	Zone     string // the zone's name
	Problems []string
}

func (e *ChangeError) Error() string {
	return ErrInvalidChange.Error() + " in zone " + e.Zone + ": " + strings.Join(e.Problems, "; ")
}

// Unwrap returns [ErrInvalidChange].
func (e *ChangeError) Unwrap() error { return ErrInvalidChange }

// SupportedTypes are the record types a record set may have, as Route 53 spells them.
var SupportedTypes = []string{"A", "AAAA", "CAA", "CNAME", "DS", "MX", "NAPTR", "NS", "PTR", "SOA", "SPF", "SRV", "TXT"}

// Limits Route 53 puts on record sets.
const (
	MaxTTL              = 2147483647
	MaxSetIdentifier    = 128
	MaxWeight           = 255
	MaxWeightedSets     = 100
	MinBias, MaxBias    = -99, 99
	MaxValueLength      = 4000
	DefaultCIDRLocation = "*"
)

// ChangeContext is what validating a zone's record sets needs besides the record sets.
type ChangeContext struct {
	Zone HostedZone
	// CidrCollections by id, for IP-based records.
	CidrCollections map[string]CidrCollection
	// HealthCheckExists reports whether a health check id exists; nil accepts every id.
	HealthCheckExists func(id string) bool
	// HostedZone looks up a served zone by id, for alias targets; nil knows only Zone.
	HostedZone func(id string) (HostedZone, bool)
}

// ValidateChange checks a zone's complete list of record sets, as it would be after a
// change, against Route 53's rules, and reports every problem at once in a [*ChangeError]:
// names inside the zone; supported types; values that parse for their type; TTL
// 0..2147483647; SetIdentifier (1..128 characters) required for every routing policy but
// simple and unique per name and type; one routing policy per name and type and at most one
// simple record set; CNAME alone at its name and never at the apex; weights 0..255 and at
// most 100 weighted sets; one latency record set per region; one PRIMARY and one SECONDARY;
// valid geolocation codes, no location named twice; geoproximity bias −99..99 with exactly
// one of region and coordinates; no multivalue alias; CIDR collections and locations that
// exist; health checks that exist; alias targets inside a served zone, and alias and values
// exclusive. polyregion serves the apex SOA and NS records itself, so record sets may not
// define them.
//
// The result depends only on its arguments and the order of sets, so it may run inside the
// replicated control plane.
func ValidateChange(z HostedZone, sets []RecordSet, cidrs map[string]CidrCollection, healthChecks func(id string) bool) error {
	return ChangeContext{Zone: z, CidrCollections: cidrs, HealthCheckExists: healthChecks}.Validate(sets)
}

// Validate is [ValidateChange] with the context's lookups.
func (c ChangeContext) Validate(sets []RecordSet) error {
	v := validation{ctx: c, apex: CanonicalName(c.Zone.Name)}
	for i := range sets {
		v.record(&sets[i])
	}
	v.groups(sets)
	if len(v.problems) == 0 {
		return nil
	}
	return &ChangeError{Zone: v.apex, Problems: v.problems}
}

type validation struct {
	ctx      ChangeContext
	apex     string
	problems []string
}

// Describe names a record set the way Route 53's messages do.
func Describe(r *RecordSet) string {
	s := fmt.Sprintf("[name='%s', type='%s'", CanonicalName(r.Name), strings.ToUpper(r.Type))
	if r.SetIdentifier != "" {
		s += fmt.Sprintf(", set-identifier='%s'", r.SetIdentifier)
	}
	return s + "]"
}

func (v *validation) add(r *RecordSet, format string, args ...any) {
	v.problems = append(v.problems, Describe(r)+": "+fmt.Sprintf(format, args...))
}

// inZone reports whether name (canonical) is the apex or below it.
func inZone(name, apex string) bool {
	return name == apex || apex == "." || strings.HasSuffix(name, "."+apex)
}

func (v *validation) record(r *RecordSet) {
	name := CanonicalName(r.Name)
	typ := strings.ToUpper(r.Type)
	switch {
	case r.Name == "" || name == ".":
		v.add(r, "a name is required")
	case len(name) > 255:
		v.add(r, "the name is longer than 255 characters")
	case !validName(name):
		v.add(r, "the name is not a valid domain name")
	case !inZone(name, v.apex):
		v.add(r, "RRSet with DNS name %s is not permitted in zone %s", name, v.apex)
	}
	if !slices.Contains(SupportedTypes, typ) {
		v.add(r, "type %q is not supported (supported: %s)", r.Type, strings.Join(SupportedTypes, ", "))
		typ = "" // skip the checks that depend on the type
	}
	switch {
	case typ == "SOA":
		v.add(r, "polyregion serves the zone's SOA record itself; record sets cannot define one")
	case typ == "NS" && name == v.apex:
		v.add(r, "polyregion serves the zone's apex NS records itself; record sets cannot define them")
	case typ == "DS" && name == v.apex:
		v.add(r, "DS records belong in the parent zone, not at the apex")
	case typ == "CNAME" && name == v.apex:
		v.add(r, "a CNAME record is not permitted at the zone apex")
	}
	if r.TTL < 0 || r.TTL > MaxTTL {
		v.add(r, "TTL %d is outside 0..%d", r.TTL, MaxTTL)
	}
	v.data(r, typ)
	v.policy(r)
	if r.HealthCheckID != "" && v.ctx.HealthCheckExists != nil && !v.ctx.HealthCheckExists(r.HealthCheckID) {
		v.add(r, "health check %s does not exist", r.HealthCheckID)
	}
}

// validName reports whether a canonical name is a domain name whose labels are 1..63 octets.
func validName(name string) bool {
	if _, ok := dns.IsDomainName(name); !ok {
		return false
	}
	for label := range strings.SplitSeq(strings.TrimSuffix(name, "."), ".") {
		if label == "" || len(label) > 63 {
			return false
		}
	}
	return true
}

// data checks the values, or the alias target.
func (v *validation) data(r *RecordSet, typ string) {
	if r.AliasTarget != nil {
		if len(r.Values) > 0 {
			v.add(r, "an alias record set cannot have values too")
		}
		if typ == "NS" || typ == "SOA" || typ == "DS" {
			v.add(r, "an alias record set cannot have type %s", typ)
		}
		v.alias(r)
		return
	}
	if len(r.Values) == 0 {
		v.add(r, "at least one value is required (or an alias target)")
		return
	}
	if typ == "CNAME" && len(r.Values) > 1 {
		v.add(r, "a CNAME record set has exactly one value, not %d", len(r.Values))
	}
	if typ == "" || typ == "SOA" {
		return
	}
	var parsed []dns.RR
	for _, value := range r.Values {
		if problem := valueProblem(value, typ); problem != "" {
			v.add(r, "value %q: %s", clipValue(value), problem)
			continue
		}
		rr, _ := dns.NewRR("value.check. 0 IN " + typ + " " + value)
		for _, prev := range parsed {
			if dns.IsDuplicate(prev, rr) {
				v.add(r, "duplicate value %q", clipValue(value))
				break
			}
		}
		parsed = append(parsed, rr)
	}
}

// valueProblem says why value is not valid data for typ, or returns "".
func valueProblem(value, typ string) string {
	switch {
	case strings.TrimSpace(value) == "":
		return "empty"
	case len(value) > MaxValueLength:
		return fmt.Sprintf("longer than %d characters", MaxValueLength)
	case strings.ContainsFunc(value, func(c rune) bool { return c < ' ' && c != '\t' || c == 0x7f }):
		return "contains a control character"
	case unquoted(value, ";()"):
		return "contains ; ( or ) outside double quotes"
	}
	rr, err := dns.NewRR("value.check. 0 IN " + typ + " " + value)
	if err != nil {
		msg, _, _ := strings.Cut(strings.TrimPrefix(err.Error(), "dns: "), " at line:")
		return "not valid " + typ + " data (" + msg + ")"
	}
	if rr == nil || dns.TypeToString[rr.Header().Rrtype] != typ {
		return "not valid " + typ + " data"
	}
	// Zone-file syntax accepts an empty rdata for some types; a record set may not.
	if hdr := rr.Header().String(); strings.TrimSpace(strings.TrimPrefix(rr.String(), hdr)) == "" {
		return "not valid " + typ + " data (empty)"
	}
	return ""
}

// unquoted reports whether s has one of chars outside double-quoted strings.
func unquoted(s, chars string) bool {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && strings.IndexByte(chars, c) >= 0:
			return true
		}
	}
	return false
}

func clipValue(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

func (v *validation) alias(r *RecordSet) {
	a := r.AliasTarget
	if a.DNSName == "" {
		v.add(r, "the alias target needs a DNSName")
		return
	}
	target := CanonicalName(a.DNSName)
	var tz HostedZone
	found := false
	switch {
	case a.HostedZoneID == "" || a.HostedZoneID == v.ctx.Zone.ID:
		tz, found = v.ctx.Zone, true
	case v.ctx.HostedZone != nil:
		tz, found = v.ctx.HostedZone(a.HostedZoneID)
	}
	if !found {
		v.add(r, "alias target hosted zone %s is not a zone polyregion serves", a.HostedZoneID)
		return
	}
	if !inZone(target, CanonicalName(tz.Name)) {
		v.add(r, "alias target %s is not in zone %s (%s); alias records can point only at record sets of zones polyregion serves",
			target, CanonicalName(tz.Name), tz.ID)
	}
	if target == CanonicalName(r.Name) && (tz.ID == v.ctx.Zone.ID) {
		v.add(r, "an alias record set cannot point at its own name")
	}
}

// policyFields returns the routing-policy fields a record set sets.
func policyFields(r *RecordSet) []string {
	var set []string
	if r.Weight != nil {
		set = append(set, "Weight")
	}
	if r.Region != "" {
		set = append(set, "Region")
	}
	if r.Failover != "" {
		set = append(set, "Failover")
	}
	if r.GeoLocation != nil {
		set = append(set, "GeoLocation")
	}
	if r.GeoProximityLocation != nil {
		set = append(set, "GeoProximityLocation")
	}
	if r.MultiValueAnswer != nil && *r.MultiValueAnswer {
		set = append(set, "MultiValueAnswer")
	}
	if r.CidrRoutingConfig != nil {
		set = append(set, "CidrRoutingConfig")
	}
	return set
}

func (v *validation) policy(r *RecordSet) {
	fields := policyFields(r)
	switch {
	case len(fields) > 1:
		v.add(r, "only one routing policy may be set, found %s", strings.Join(fields, " and "))
	case len(fields) == 0 && r.SetIdentifier != "":
		v.add(r, "SetIdentifier is set but no routing policy (Weight, Region, Failover, GeoLocation, GeoProximityLocation, MultiValueAnswer or CidrRoutingConfig)")
	case len(fields) == 1 && r.SetIdentifier == "":
		v.add(r, "a %s record set needs a SetIdentifier", r.Policy())
	}
	if n := len(r.SetIdentifier); n > MaxSetIdentifier {
		v.add(r, "SetIdentifier is %d characters, at most %d", n, MaxSetIdentifier)
	}
	if r.Weight != nil && (*r.Weight < 0 || *r.Weight > MaxWeight) {
		v.add(r, "weight %d is outside 0..%d", *r.Weight, MaxWeight)
	}
	if r.Failover != "" && r.Failover != "PRIMARY" && r.Failover != "SECONDARY" {
		v.add(r, "failover %q is neither PRIMARY nor SECONDARY", r.Failover)
	}
	if g := r.GeoLocation; g != nil {
		for _, p := range geoProblems(g) {
			v.add(r, "%s", p)
		}
	}
	if g := r.GeoProximityLocation; g != nil {
		switch {
		case g.AWSRegion == "" && g.Coordinates == nil:
			v.add(r, "a geoproximity location needs a region or coordinates")
		case g.AWSRegion != "" && g.Coordinates != nil:
			v.add(r, "a geoproximity location has either a region or coordinates, not both")
		}
		if c := g.Coordinates; c != nil {
			if math.IsNaN(c.Latitude) || c.Latitude < -90 || c.Latitude > 90 {
				v.add(r, "latitude %v is outside -90..90", c.Latitude)
			}
			if math.IsNaN(c.Longitude) || c.Longitude < -180 || c.Longitude > 180 {
				v.add(r, "longitude %v is outside -180..180", c.Longitude)
			}
		}
		if g.Bias != nil && (*g.Bias < MinBias || *g.Bias > MaxBias) {
			v.add(r, "bias %d is outside %d..%d", *g.Bias, MinBias, MaxBias)
		}
	}
	if r.MultiValueAnswer != nil && *r.MultiValueAnswer && r.AliasTarget != nil {
		v.add(r, "a multivalue answer record set cannot be an alias")
	}
	if c := r.CidrRoutingConfig; c != nil {
		coll, ok := v.ctx.CidrCollections[c.CollectionID]
		switch {
		case c.CollectionID == "":
			v.add(r, "CidrRoutingConfig needs a CollectionId")
		case !ok:
			v.add(r, "CIDR collection %s does not exist", c.CollectionID)
		case c.LocationName == "":
			v.add(r, "CidrRoutingConfig needs a LocationName")
		case c.LocationName != DefaultCIDRLocation && coll.Locations[c.LocationName] == nil:
			v.add(r, "CIDR collection %s has no location %q", c.CollectionID, c.LocationName)
		}
	}
}

// geoProblems checks a geolocation's codes.
func geoProblems(g *GeoLocation) []string {
	var p []string
	switch {
	case g.ContinentCode == "" && g.CountryCode == "" && g.SubdivisionCode == "":
		p = append(p, "a geolocation needs a ContinentCode, a CountryCode, or CountryCode \"*\" for the default")
	case g.ContinentCode != "" && (g.CountryCode != "" || g.SubdivisionCode != ""):
		p = append(p, "a geolocation names a continent or a country, not both")
	case g.ContinentCode != "":
		if !IsContinent(g.ContinentCode) {
			p = append(p, fmt.Sprintf("continent code %q is not one of %s", g.ContinentCode, strings.Join(Continents, " ")))
		}
	case g.CountryCode == "*":
		if g.SubdivisionCode != "" {
			p = append(p, "the default location (CountryCode \"*\") has no subdivision")
		}
	default:
		if _, ok := ContinentOf(g.CountryCode); !ok {
			if g.CountryCode == "" {
				return append(p, "a subdivision needs CountryCode US")
			} else {
				p = append(p, fmt.Sprintf("country code %q is not an ISO 3166-1 alpha-2 code", g.CountryCode))
			}
		}
		if g.SubdivisionCode != "" {
			switch {
			case g.CountryCode != "US":
				p = append(p, fmt.Sprintf("subdivision %q: only US states are supported, with CountryCode US", g.SubdivisionCode))
			case !slices.Contains(usStates, g.SubdivisionCode):
				p = append(p, fmt.Sprintf("subdivision %q is not a US state code", g.SubdivisionCode))
			}
		}
	}
	return p
}

// usStates are the subdivision codes Route 53 accepts: the 50 states and the District of
// Columbia (territories such as PR are countries).
var usStates = []string{
	"AK", "AL", "AR", "AZ", "CA", "CO", "CT", "DC", "DE", "FL", "GA", "HI", "IA", "ID", "IL",
	"IN", "KS", "KY", "LA", "MA", "MD", "ME", "MI", "MN", "MO", "MS", "MT", "NC", "ND", "NE",
	"NH", "NJ", "NM", "NV", "NY", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT",
	"VA", "VT", "WA", "WI", "WV", "WY",
}

// groupKey is a record set's name and type.
func groupKey(r *RecordSet) string { return CanonicalName(r.Name) + " " + strings.ToUpper(r.Type) }

// groups checks the rules across the record sets of one name and type, and of one name.
func (v *validation) groups(sets []RecordSet) {
	var order []string
	groups := map[string][]*RecordSet{}
	types := map[string][]string{} // name -> types, in order of appearance
	keys := map[string]bool{}
	for i := range sets {
		r := &sets[i]
		if keys[r.Key()] {
			v.add(r, "the record set appears more than once")
		}
		keys[r.Key()] = true
		g := groupKey(r)
		if _, ok := groups[g]; !ok {
			order = append(order, g)
			name := CanonicalName(r.Name)
			types[name] = append(types[name], strings.ToUpper(r.Type))
		}
		groups[g] = append(groups[g], r)
	}
	for _, g := range order {
		v.group(groups[g])
	}
	for _, g := range order {
		first := groups[g][0]
		name := CanonicalName(first.Name)
		ts := types[name]
		if strings.ToUpper(first.Type) == "CNAME" && len(ts) > 1 {
			others := slices.DeleteFunc(slices.Clone(ts), func(t string) bool { return t == "CNAME" })
			v.add(first, "RRSet of type CNAME with DNS name %s is not permitted as it conflicts with other records with the same DNS name (%s)",
				name, strings.Join(others, ", "))
		}
	}
}

func (v *validation) group(rs []*RecordSet) {
	first := rs[0]
	var policies []Policy
	for _, r := range rs {
		if p := r.Policy(); !slices.Contains(policies, p) {
			policies = append(policies, p)
		}
	}
	if len(policies) > 1 {
		names := make([]string, len(policies))
		for i, p := range policies {
			names[i] = string(p)
		}
		v.problems = append(v.problems, fmt.Sprintf("[name='%s', type='%s']: record sets of one name and type must use one routing policy, found %s",
			CanonicalName(first.Name), strings.ToUpper(first.Type), strings.Join(names, ", ")))
		return
	}
	switch policies[0] {
	case PolicySimple:
		if len(rs) > 1 {
			// Reported per record set as a duplicate when the keys repeat; different set
			// identifiers without a policy are reported by policy().
			return
		}
	case PolicyWeighted:
		if len(rs) > MaxWeightedSets {
			v.problems = append(v.problems, fmt.Sprintf("[name='%s', type='%s']: %d weighted record sets, at most %d",
				CanonicalName(first.Name), strings.ToUpper(first.Type), len(rs), MaxWeightedSets))
		}
	case PolicyLatency:
		seen := map[string]bool{}
		for _, r := range rs {
			if seen[r.Region] {
				v.add(r, "another latency record set of this name and type already uses region %s", r.Region)
			}
			seen[r.Region] = true
		}
	case PolicyFailover:
		seen := map[string]bool{}
		for _, r := range rs {
			if seen[r.Failover] {
				v.add(r, "another failover record set of this name and type is already %s", r.Failover)
			}
			seen[r.Failover] = true
		}
	case PolicyGeolocation:
		seen := map[GeoLocation]bool{}
		for _, r := range rs {
			if seen[*r.GeoLocation] {
				v.add(r, "another geolocation record set of this name and type already names location %s", geoString(r.GeoLocation))
			}
			seen[*r.GeoLocation] = true
		}
	case PolicyIPBased:
		seen := map[string]bool{}
		for _, r := range rs {
			c := r.CidrRoutingConfig
			if c.CollectionID != first.CidrRoutingConfig.CollectionID {
				v.add(r, "IP-based record sets of one name and type must use one CIDR collection, not %s and %s",
					first.CidrRoutingConfig.CollectionID, c.CollectionID)
			}
			if loc := c.CollectionID + " " + c.LocationName; seen[loc] {
				v.add(r, "another IP-based record set of this name and type already uses location %q", c.LocationName)
			} else {
				seen[loc] = true
			}
		}
	case PolicyGeoproximity:
		seen := map[string]bool{}
		for _, r := range rs {
			loc := r.GeoProximityLocation.AWSRegion
			if c := r.GeoProximityLocation.Coordinates; c != nil {
				loc = strconv.FormatFloat(c.Latitude, 'f', -1, 64) + "," + strconv.FormatFloat(c.Longitude, 'f', -1, 64)
			}
			if seen[loc] {
				v.add(r, "another geoproximity record set of this name and type already serves from %s", loc)
			}
			seen[loc] = true
		}
	}
}

func geoString(g *GeoLocation) string {
	switch {
	case g.ContinentCode != "":
		return "continent " + g.ContinentCode
	case g.SubdivisionCode != "":
		return "country " + g.CountryCode + " subdivision " + g.SubdivisionCode
	case g.CountryCode == "*":
		return "the default (*)"
	}
	return "country " + g.CountryCode
}
