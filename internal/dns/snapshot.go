package dns

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/miekg/dns"

	"github.com/polyregion/polyregion/internal/dns/policy"
	"github.com/polyregion/polyregion/internal/dns/zone"
)

// ErrInvalidSnapshot is wrapped by every error of NewSnapshot.
var ErrInvalidSnapshot = errors.New("dns: invalid snapshot")

// HealthView tells whether the health check with an id is healthy. known is false for a
// check the view does not know, or knows no state of yet; the server treats such a check as
// healthy (a new check is healthy until proven otherwise, as Route 53 documents for new
// checks). *health.Snapshot satisfies it.
type HealthView interface {
	Healthy(id string) (healthy, known bool)
}

// Snapshot is an immutable view the server answers from, swapped atomically with
// Server.Swap. Building one parses every record value once; answering never parses.
type Snapshot struct {
	index  uint64
	zones  map[string]*zoneData // by apex, canonical
	byID   map[string]*zoneData
	list   []*zoneData // in the order given; zoneData.idx indexes it
	sets   map[*zone.RecordSet]*setData
	cidrs  map[string]*policy.CidrIndex
	health HealthView
}

// zoneData is one hosted zone's names.
type zoneData struct {
	idx   int
	id    string
	apex  string
	names map[string]*node // every owner name and every empty non-terminal, apex included
	cuts  bool             // some name below the apex has NS record sets: a delegation
}

// node is one name of a zone. A node without groups is an empty non-terminal.
type node struct {
	name   string
	groups []*group // one per type, few: searched linearly
	wild   *node    // the "*" child, if the zone has one
	cut    bool     // NS record sets below the apex: a delegation point
}

// group is every record set of one name and type: what a routing policy chooses among.
type group struct {
	rtype    uint16
	sets     []*zone.RecordSet
	policy   zone.Policy
	policyIx int      // index of policy in policies, for metrics
	only     *setData // the one set of a simple group: answered without policy.Select
	locate   bool     // the policy routes on the client's location
}

// setData is one record set with its values parsed.
type setData struct {
	rs    *zone.RecordSet
	rtype uint16
	rrs   []dns.RR // nil for an alias
	// alias target, resolved when the snapshot is built; targetZone is nil when the alias
	// points outside the zones served.
	targetZone *zoneData
	targetName string
}

func (n *node) group(rtype uint16) *group {
	for _, g := range n.groups {
		if g.rtype == rtype {
			return g
		}
	}
	return nil
}

// NewSnapshot builds a snapshot at control-plane index from the hosted zones, their record
// sets (by zone id), the CIDR collections and a health view (nil: every check healthy). It
// copies what it is given. It reports every problem it finds at once, each naming the zone,
// record set or collection; the error wraps ErrInvalidSnapshot.
//
// The SOA and NS record sets at a zone's apex are synthesized by the server from the name
// servers it knows, so stored ones there are ignored.
func NewSnapshot(index uint64, zones []zone.HostedZone, sets map[string][]zone.RecordSet, cidrs []zone.CidrCollection, health HealthView) (*Snapshot, error) {
	s := &Snapshot{
		index:  index,
		zones:  make(map[string]*zoneData, len(zones)),
		byID:   make(map[string]*zoneData, len(zones)),
		sets:   make(map[*zone.RecordSet]*setData),
		cidrs:  make(map[string]*policy.CidrIndex, len(cidrs)),
		health: orNil(health),
	}
	var problems []string
	problem := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	for i, hz := range zones {
		apex := zone.CanonicalName(hz.Name)
		switch {
		case hz.ID == "":
			problem("hosted zone %d (%s): no id", i, hz.Name)
			continue
		case !validName(apex):
			problem("hosted zone %s: invalid name %q", hz.ID, hz.Name)
			continue
		case s.byID[hz.ID] != nil:
			problem("hosted zone %s: id listed twice", hz.ID)
			continue
		case s.zones[apex] != nil:
			problem("hosted zone %s: %s is also hosted zone %s", hz.ID, apex, s.zones[apex].id)
			continue
		}
		z := &zoneData{idx: len(s.list), id: hz.ID, apex: apex, names: map[string]*node{}}
		z.names[apex] = &node{name: apex}
		s.zones[apex], s.byID[hz.ID] = z, z
		s.list = append(s.list, z)
	}

	// Zone ids in a stable order, so that problems are reported in a stable order.
	ids := make([]string, 0, len(sets))
	for id := range sets {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		z := s.byID[id]
		if z == nil {
			problem("record sets for unknown hosted zone %s", id)
			continue
		}
		own := make([]zone.RecordSet, len(sets[id]))
		for i := range sets[id] {
			own[i] = cloneRecordSet(sets[id][i])
		}
		seen := make(map[string]bool, len(own))
		for i := range own {
			rs := &own[i]
			rs.Name, rs.Type = zone.CanonicalName(rs.Name), strings.ToUpper(rs.Type)
			what := fmt.Sprintf("zone %s (%s): record set %q", z.apex, z.id, strings.TrimSpace(rs.Key()))
			if seen[rs.Key()] {
				problem("%s: listed twice", what)
				continue
			}
			seen[rs.Key()] = true
			sd, errs := parseRecordSet(z, rs)
			for _, err := range errs {
				problem("%s: %v", what, err)
			}
			if sd == nil {
				continue
			}
			s.add(z, sd)
		}
	}

	for _, c := range cidrs {
		if _, dup := s.cidrs[c.ID]; dup {
			problem("cidr collection %q: listed twice", c.ID)
			continue
		}
		idx, err := policy.NewCidrIndex(c)
		if err != nil {
			problem("%v", err) // it names the collection
			continue
		}
		s.cidrs[c.ID] = idx
	}

	s.finish()

	// Resolve alias targets now that every zone is known.
	for _, sd := range s.sets {
		at := sd.rs.AliasTarget
		if at == nil {
			continue
		}
		name := zone.CanonicalName(at.DNSName)
		tz := s.byID[at.HostedZoneID]
		if tz == nil || !dns.IsSubDomain(tz.apex, name) {
			tz = s.zoneFor(name)
		}
		sd.targetZone, sd.targetName = tz, name
	}

	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrInvalidSnapshot, strings.Join(problems, "; "))
	}
	return s, nil
}

// WithHealth returns a snapshot with the same zones, record sets and collections, and
// another health view. It is cheap: nothing is parsed again.
func (s *Snapshot) WithHealth(h HealthView) *Snapshot {
	c := *s
	c.health = orNil(h)
	return &c
}

// orNil turns a HealthView holding a nil pointer (a nil *health.Snapshot, say) into nil,
// which the server treats as "every check healthy" rather than calling it.
func orNil(h HealthView) HealthView {
	if v := reflect.ValueOf(h); h == nil || v.Kind() == reflect.Pointer && v.IsNil() {
		return nil
	}
	return h
}

// Index returns the control-plane index the snapshot reflects; it is also the serial of
// every zone's SOA.
func (s *Snapshot) Index() uint64 { return s.index }

// add files a parsed record set under its name and type, creating the empty non-terminals
// between it and the apex.
func (s *Snapshot) add(z *zoneData, sd *setData) {
	s.sets[sd.rs] = sd
	name := sd.rs.Name
	n := z.names[name]
	if n == nil {
		n = &node{name: name}
		z.names[name] = n
		// Create the ancestors up to the apex, and link a wildcard to its parent.
		child, cur := n, name
		for cur != z.apex {
			up := parentName(cur)
			p := z.names[up]
			created := p == nil
			if created {
				p = &node{name: up}
				z.names[up] = p
			}
			if strings.HasPrefix(child.name, "*.") {
				p.wild = child
			}
			if !created {
				break
			}
			child, cur = p, up
		}
	}
	if sd.rtype == dns.TypeNS && name != z.apex {
		n.cut, z.cuts = true, true
	}
	g := n.group(sd.rtype)
	if g == nil {
		g = &group{rtype: sd.rtype}
		n.groups = append(n.groups, g)
	}
	g.sets = append(g.sets, sd.rs)
}

// finish puts every group's record sets in SetIdentifier order, so that the policies see
// them in the same order whatever order they were given in, and notes what each group's
// policy needs. Select dispatches on the policy of a group's first set; so does the server.
func (s *Snapshot) finish() {
	for _, z := range s.list {
		for _, n := range z.names {
			for _, g := range n.groups {
				sort.SliceStable(g.sets, func(i, j int) bool { return g.sets[i].SetIdentifier < g.sets[j].SetIdentifier })
				p := g.sets[0].Policy()
				g.policy, g.policyIx = p, policyIndex(p)
				g.locate = p == zone.PolicyGeolocation || p == zone.PolicyGeoproximity || p == zone.PolicyLatency
				if len(g.sets) == 1 && p == zone.PolicySimple {
					g.only = s.sets[g.sets[0]]
				}
			}
		}
	}
}

// zoneFor returns the zone with the longest apex that name is in, or nil.
func (s *Snapshot) zoneFor(name string) *zoneData {
	if len(s.zones) == 0 {
		return nil
	}
	for off, end := 0, false; !end; off, end = dns.NextLabel(name, off) {
		if z := s.zones[name[off:]]; z != nil {
			return z
		}
	}
	return s.zones["."]
}

// parseRecordSet checks a record set and parses its values. It returns nil for a record set
// the server ignores (SOA and NS at the apex) or cannot use.
func parseRecordSet(z *zoneData, rs *zone.RecordSet) (*setData, []error) {
	var errs []error
	rtype, ok := dns.StringToType[rs.Type]
	if !ok || rtype == dns.TypeNone || rtype == dns.TypeANY || rtype == dns.TypeOPT || rtype == dns.TypeAXFR || rtype == dns.TypeIXFR {
		errs = append(errs, fmt.Errorf("unknown or unsupported type %q", rs.Type))
	}
	if !validName(rs.Name) {
		errs = append(errs, fmt.Errorf("invalid name %q", rs.Name))
	} else if !dns.IsSubDomain(z.apex, rs.Name) {
		errs = append(errs, fmt.Errorf("name %s is not in the zone", rs.Name))
	}
	if rs.TTL < 0 || rs.TTL > math.MaxInt32 {
		errs = append(errs, fmt.Errorf("ttl %d out of range 0..%d", rs.TTL, math.MaxInt32))
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if rs.Name == z.apex && (rtype == dns.TypeSOA || rtype == dns.TypeNS) {
		return nil, nil
	}
	if rtype == dns.TypeSOA {
		return nil, []error{errors.New("SOA records exist only at the apex")}
	}
	sd := &setData{rs: rs, rtype: rtype}
	if at := rs.AliasTarget; at != nil {
		if len(rs.Values) > 0 {
			errs = append(errs, errors.New("an alias has no values"))
		}
		if !validName(zone.CanonicalName(at.DNSName)) {
			errs = append(errs, fmt.Errorf("alias target: invalid name %q", at.DNSName))
		}
		if len(errs) > 0 {
			return nil, errs
		}
		return sd, nil
	}
	if len(rs.Values) == 0 {
		return nil, []error{errors.New("no values")}
	}
	prefix := rs.Name + " " + strconv.FormatInt(rs.TTL, 10) + " IN " + rs.Type + " "
	for _, v := range rs.Values {
		rr, err := parseValue(prefix, v, rs.Name, rtype)
		if err != nil {
			errs = append(errs, fmt.Errorf("value %q: %w", v, err))
			continue
		}
		sd.rrs = append(sd.rrs, rr)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return sd, nil
}

// parseValue parses one value in presentation format as a record of the given owner and type.
func parseValue(prefix, value, owner string, rtype uint16) (dns.RR, error) {
	if strings.ContainsAny(value, "\n\r") {
		return nil, errors.New("contains a line break")
	}
	if strings.TrimSpace(value) == "" {
		return nil, errors.New("empty")
	}
	rr, err := dns.NewRR(prefix + value)
	if err != nil {
		return nil, err
	}
	if rr == nil || rr.Header().Rrtype != rtype || rr.Header().Name != owner {
		return nil, errors.New("does not parse as one record of the type")
	}
	return rr, nil
}

// validName reports whether name is a fully qualified domain name in presentation format.
func validName(name string) bool {
	if !dns.IsFqdn(name) {
		return false
	}
	_, ok := dns.IsDomainName(name)
	return ok
}

// parentName returns name without its first label; the root's parent is the root.
func parentName(name string) string {
	off, end := dns.NextLabel(name, 0)
	if end {
		return "."
	}
	return name[off:]
}

// cloneRecordSet copies a record set deeply, so that the snapshot shares nothing with its
// caller.
func cloneRecordSet(r zone.RecordSet) zone.RecordSet {
	r.Values = append([]string(nil), r.Values...)
	if r.AliasTarget != nil {
		at := *r.AliasTarget
		r.AliasTarget = &at
	}
	if r.Weight != nil {
		w := *r.Weight
		r.Weight = &w
	}
	if r.GeoLocation != nil {
		g := *r.GeoLocation
		r.GeoLocation = &g
	}
	if r.GeoProximityLocation != nil {
		g := *r.GeoProximityLocation
		if g.Coordinates != nil {
			c := *g.Coordinates
			g.Coordinates = &c
		}
		if g.Bias != nil {
			b := *g.Bias
			g.Bias = &b
		}
		r.GeoProximityLocation = &g
	}
	if r.MultiValueAnswer != nil {
		m := *r.MultiValueAnswer
		r.MultiValueAnswer = &m
	}
	if r.CidrRoutingConfig != nil {
		c := *r.CidrRoutingConfig
		r.CidrRoutingConfig = &c
	}
	return r
}
