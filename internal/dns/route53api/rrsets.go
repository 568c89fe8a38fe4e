package route53api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/polyregion/polyregion/internal/control"
	"github.com/polyregion/polyregion/internal/dns/zone"
	"github.com/polyregion/polyregion/internal/health"
)

// Limits of a change batch, as Route 53's.
const (
	maxChanges       = 1000
	maxCommentLength = 256
	// applyAttempts is how often a change batch is planned again when a concurrent change
	// to the same record sets wins the race.
	applyAttempts = 3
)

// TTLs and fixed values of the apex records polyregion synthesizes.
const (
	apexNSTTL  = 172800
	apexSOATTL = 900
)

// change is one parsed Change of a batch.
type change struct {
	action string
	set    zone.RecordSet
}

func (a *api) changeResourceRecordSets(w http.ResponseWriter, r *http.Request, rc *requestContext) error {
	zoneID := bareID(r.PathValue("id"))
	var req changeResourceRecordSetsRequest
	if err := readXML(r, &req); err != nil {
		return err
	}
	changes, err := parseChanges(&req)
	if err != nil {
		return err
	}
	for range applyAttempts {
		st := a.opts.Store.State()
		z, _, err := hostedZone(st, zoneID)
		if err != nil {
			return err
		}
		ops, err := planChanges(st, z, changes)
		if err != nil {
			return err
		}
		index := st.Index()
		if len(ops) > 0 {
			res, err := a.opts.Store.Apply(r.Context(), control.Batch{Ops: ops})
			switch {
			case errors.Is(err, control.ErrConflict), errors.Is(err, control.ErrExists), errors.Is(err, control.ErrNotFound):
				continue // the record sets moved under us: plan again on the new state
			case errors.Is(err, control.ErrInvalid):
				msg := strings.TrimPrefix(err.Error(), control.ErrInvalid.Error()+": ")
				return invalidChangeBatch(msg)
			case err != nil:
				return err
			}
			index = res.Index
		}
		return writeXML(w, rc, http.StatusOK, changeInfoResponse{XMLName: xmlName("ChangeResourceRecordSetsResponse"), Xmlns: Namespace,
			ChangeInfo: a.changeInfo(rc, index, req.ChangeBatch.Comment)})
	}
	return errorf(http.StatusBadRequest, "PriorRequestNotComplete",
		"The request was rejected because Route 53 was still processing a prior request: other changes to the same record sets kept winning; submit it again.")
}

// parseChanges checks a batch's shape and converts its record sets.
func parseChanges(req *changeResourceRecordSetsRequest) ([]change, error) {
	b := &req.ChangeBatch
	switch {
	case len(b.Changes) == 0:
		return nil, invalidInput("the ChangeBatch has no changes")
	case len(b.Changes) > maxChanges:
		return nil, invalidChangeBatch(fmt.Sprintf("Number of records limit of %d exceeded.", maxChanges))
	case len(b.Comment) > maxCommentLength:
		return nil, invalidInput("the comment is longer than %d characters", maxCommentLength)
	}
	var problems []string
	changes := make([]change, len(b.Changes))
	for i, c := range b.Changes {
		switch c.Action {
		case "CREATE", "DELETE", "UPSERT":
		default:
			return nil, invalidInput("Changes[%d]: action %q is not CREATE, DELETE or UPSERT", i, c.Action)
		}
		set, p := recordSetFromXML(&c.ResourceRecordSet)
		problems = append(problems, p...)
		changes[i] = change{action: c.Action, set: set}
	}
	if len(problems) > 0 {
		return nil, invalidChangeBatch(problems...)
	}
	return changes, nil
}

// recordSetFromXML converts a ResourceRecordSet, reporting what cannot be converted.
func recordSetFromXML(x *xmlResourceRecordSet) (zone.RecordSet, []string) {
	s := zone.RecordSet{
		Name:          zone.CanonicalName(unescapeName(strings.TrimSpace(x.Name))),
		Type:          strings.ToUpper(strings.TrimSpace(x.Type)),
		SetIdentifier: x.SetIdentifier,
		HealthCheckID: x.HealthCheckID,
		Weight:        x.Weight,
		Region:        x.Region,
		Failover:      x.Failover,
	}
	var p []string
	add := func(format string, args ...any) { p = append(p, zone.Describe(&s)+": "+fmt.Sprintf(format, args...)) }
	if strings.TrimSpace(x.Name) == "" {
		add("a name is required")
	}
	if s.Type == "" {
		add("a type is required")
	}
	for _, rr := range x.ResourceRecords {
		s.Values = append(s.Values, rr.Value)
	}
	if x.AliasTarget != nil {
		s.AliasTarget = &zone.AliasTarget{
			HostedZoneID:         bareID(x.AliasTarget.HostedZoneID),
			DNSName:              zone.CanonicalName(unescapeName(x.AliasTarget.DNSName)),
			EvaluateTargetHealth: x.AliasTarget.EvaluateTargetHealth,
		}
		if x.TTL != nil {
			add("an alias record set has no TTL: it uses its target's")
		}
	} else {
		if x.TTL == nil {
			add("a TTL is required")
		} else {
			s.TTL = *x.TTL
		}
	}
	if x.MultiValueAnswer != nil {
		s.MultiValueAnswer = x.MultiValueAnswer
	}
	if g := x.GeoLocation; g != nil {
		s.GeoLocation = &zone.GeoLocation{ContinentCode: g.ContinentCode, CountryCode: g.CountryCode, SubdivisionCode: g.SubdivisionCode}
	}
	if g := x.GeoProximityLocation; g != nil {
		s.GeoProximityLocation = &zone.GeoProximityLocation{AWSRegion: g.AWSRegion, Bias: g.Bias}
		if g.LocalZoneGroup != "" {
			add("LocalZoneGroup is not supported: name a polyregion region in AWSRegion, or give coordinates")
		}
		if c := g.Coordinates; c != nil {
			lat, err1 := strconv.ParseFloat(strings.TrimSpace(c.Latitude), 64)
			lon, err2 := strconv.ParseFloat(strings.TrimSpace(c.Longitude), 64)
			if err1 != nil || err2 != nil {
				add("coordinates %q, %q are not decimal degrees", c.Latitude, c.Longitude)
			}
			s.GeoProximityLocation.Coordinates = &zone.Coordinates{Latitude: lat, Longitude: lon}
		}
	}
	if c := x.CidrRoutingConfig; c != nil {
		s.CidrRoutingConfig = &zone.CidrRoutingConfig{CollectionID: c.CollectionID, LocationName: c.LocationName}
	}
	if x.TrafficPolicyInstanceID != "" {
		add("traffic policies are not supported")
	}
	return s, p
}

// apexManaged reports whether polyregion serves this record set itself at the apex.
func apexManaged(z zone.HostedZone, s *zone.RecordSet) bool {
	return s.Type == "SOA" || s.Type == "NS" && s.Name == zone.CanonicalName(z.Name)
}

// entry is one record set while a batch is planned: as stored (orig) and as it will be.
type entry struct {
	orig    *control.Resource
	origSet *zone.RecordSet
	set     *zone.RecordSet
}

// planChanges applies a batch to a zone's record sets in memory, checks the preconditions
// and the resulting zone, and returns the control-plane ops that make the change.
func planChanges(st *control.State, z zone.HostedZone, changes []change) ([]control.Op, error) {
	sets, res, err := recordSets(st, z.ID)
	if err != nil {
		return nil, err
	}
	current := map[string]*entry{}
	var order []string
	for i := range sets {
		key := sets[i].Key()
		current[key] = &entry{orig: &res[i], origSet: &sets[i], set: &sets[i]}
		order = append(order, key)
	}
	var problems []string
	actions := map[string][]string{}
	ttl := map[string]int64{} // weighted groups written in the batch -> the last TTL written
	for i := range changes {
		c := &changes[i]
		key := c.set.Key()
		desc := zone.Describe(&c.set)
		if prev := actions[key]; len(prev) > 0 && !(len(prev) == 1 && prev[0] == "DELETE" && c.action == "CREATE") {
			problems = append(problems, fmt.Sprintf("The request contains an invalid set of changes for a resource record set %s: it is changed more than once", desc))
			continue
		}
		actions[key] = append(actions[key], c.action)
		if apexManaged(z, &c.set) {
			problems = append(problems, fmt.Sprintf("%s: polyregion serves the zone's SOA and apex NS records itself; they cannot be changed", desc))
			continue
		}
		e := current[key]
		exists := e != nil && e.set != nil
		switch c.action {
		case "CREATE":
			if exists {
				problems = append(problems, fmt.Sprintf("Tried to create resource record set %s but it already exists", desc))
				continue
			}
		case "DELETE":
			switch {
			case !exists:
				problems = append(problems, fmt.Sprintf("Tried to delete resource record set %s but it was not found", desc))
			case !sameRecordSet(e.set, &c.set):
				problems = append(problems, fmt.Sprintf("Tried to delete resource record set %s but the values provided do not match the current values", desc))
			default:
				e.set = nil
			}
			continue
		}
		if e == nil {
			e = &entry{}
			current[key] = e
			order = append(order, key)
		}
		e.set = &c.set
		if c.set.Policy() == zone.PolicyWeighted && c.set.AliasTarget == nil {
			ttl[groupOf(&c.set)] = c.set.TTL
		}
	}
	// A weighted group has one TTL: the last one written (Route 53 does the same).
	for _, key := range order {
		e := current[key]
		if e.set == nil || e.set.Policy() != zone.PolicyWeighted || e.set.AliasTarget != nil {
			continue
		}
		if t, ok := ttl[groupOf(e.set)]; ok && e.set.TTL != t {
			cp := *e.set
			cp.TTL = t
			e.set = &cp
		}
	}
	var final []zone.RecordSet
	for _, key := range order {
		if e := current[key]; e.set != nil {
			final = append(final, *e.set)
		}
	}
	if err := validationContext(st, z).Validate(final); err != nil {
		var ce *zone.ChangeError
		if !errors.As(err, &ce) {
			return nil, err
		}
		problems = append(problems, ce.Problems...)
	}
	if len(problems) > 0 {
		return nil, invalidChangeBatch(problems...)
	}
	var ops []control.Op
	for _, key := range order {
		e := current[key]
		switch {
		case e.orig != nil && e.set == nil:
			ops = append(ops, control.Op{Kind: zone.KindRecordSet, ID: e.orig.ID, Delete: true, Expect: control.ExpectVersion, Version: e.orig.Version})
		case e.set != nil && (e.orig == nil || !sameRecordSet(e.set, e.origSet) || e.set.TTL != e.origSet.TTL):
			v, err := json.Marshal(e.set)
			if err != nil {
				return nil, err
			}
			op := control.Op{Kind: zone.KindRecordSet, ID: zone.RecordSetID(z.ID, e.set), Value: v, Expect: control.ExpectAbsent}
			if e.orig != nil {
				op.Expect, op.Version = control.ExpectVersion, e.orig.Version
			}
			ops = append(ops, op)
		}
	}
	return ops, nil
}

func groupOf(s *zone.RecordSet) string { return zone.CanonicalName(s.Name) + " " + s.Type }

// sameRecordSet reports whether two record sets are equal in every field, values compared
// as a set.
func sameRecordSet(a, b *zone.RecordSet) bool {
	return normalJSON(a) == normalJSON(b)
}

func normalJSON(s *zone.RecordSet) string {
	cp := *s
	cp.Name, cp.Type = zone.CanonicalName(cp.Name), strings.ToUpper(cp.Type)
	cp.Values = slices.Clone(cp.Values)
	slices.Sort(cp.Values)
	if cp.MultiValueAnswer != nil && !*cp.MultiValueAnswer {
		cp.MultiValueAnswer = nil
	}
	b, _ := json.Marshal(cp)
	return string(b)
}

// validationContext gives zone validation the state's CIDR collections, health checks and
// zones.
func validationContext(st *control.State, z zone.HostedZone) zone.ChangeContext {
	cidrs := map[string]zone.CidrCollection{}
	for _, r := range st.List(zone.KindCidrCollection) {
		var c zone.CidrCollection
		if json.Unmarshal(r.Value, &c) == nil {
			cidrs[r.ID] = c
		}
	}
	return zone.ChangeContext{
		Zone:            z,
		CidrCollections: cidrs,
		HealthCheckExists: func(id string) bool {
			_, ok := st.Get(health.Kind, id)
			return ok
		},
		HostedZone: func(id string) (zone.HostedZone, bool) {
			var hz zone.HostedZone
			ok, err := st.Decode(zone.KindHostedZone, id, &hz)
			return hz, ok && err == nil
		},
	}
}

// apexRecordSets are the SOA and NS record sets polyregion serves at a zone's apex.
func (a *api) apexRecordSets(z zone.HostedZone) []zone.RecordSet {
	name := zone.CanonicalName(z.Name)
	ns := a.opts.NameServers(z.Name)
	primary := "ns." + name
	if len(ns) > 0 {
		primary = zone.CanonicalName(ns[0])
	}
	out := []zone.RecordSet{{Name: name, Type: "SOA", TTL: apexSOATTL,
		Values: []string{primary + " hostmaster." + name + " 1 7200 900 1209600 86400"}}}
	if len(ns) > 0 {
		vals := make([]string, len(ns))
		for i, n := range ns {
			vals[i] = zone.CanonicalName(n)
		}
		out = append(out, zone.RecordSet{Name: name, Type: "NS", TTL: apexNSTTL, Values: vals})
	}
	return out
}

// compareNames orders domain names as Route 53 lists them: by labels from the root.
func compareNames(a, b string) int {
	la := strings.Split(strings.TrimSuffix(a, "."), ".")
	lb := strings.Split(strings.TrimSuffix(b, "."), ".")
	slices.Reverse(la)
	slices.Reverse(lb)
	return slices.Compare(la, lb)
}

func compareSets(a, b *zone.RecordSet) int {
	if c := compareNames(zone.CanonicalName(a.Name), zone.CanonicalName(b.Name)); c != 0 {
		return c
	}
	if c := strings.Compare(a.Type, b.Type); c != 0 {
		return c
	}
	return strings.Compare(a.SetIdentifier, b.SetIdentifier)
}

func (a *api) listResourceRecordSets(w http.ResponseWriter, r *http.Request, rc *requestContext) error {
	q := r.URL.Query()
	limit, err := maxItems(r, "maxitems", 300, 300)
	if err != nil {
		return err
	}
	start := zone.RecordSet{Name: q.Get("name"), Type: strings.ToUpper(q.Get("type")), SetIdentifier: q.Get("identifier")}
	if start.Type != "" && start.Name == "" {
		return invalidInput("a StartRecordType requires a StartRecordName")
	}
	if start.Type != "" && !slices.Contains(zone.SupportedTypes, start.Type) {
		return invalidInput("StartRecordType %q is not a supported type", start.Type)
	}
	if start.SetIdentifier != "" && start.Type == "" {
		return invalidInput("a StartRecordIdentifier requires a StartRecordName and a StartRecordType")
	}
	if start.Name != "" {
		start.Name = zone.CanonicalName(unescapeName(start.Name))
	}
	st := a.opts.Store.State()
	z, _, err := hostedZone(st, bareID(r.PathValue("id")))
	if err != nil {
		return err
	}
	sets, _, err := recordSets(st, z.ID)
	if err != nil {
		return err
	}
	sets = append(sets, a.apexRecordSets(z)...)
	slices.SortFunc(sets, func(x, y zone.RecordSet) int { return compareSets(&x, &y) })
	resp := listResourceRecordSetsResponse{Xmlns: Namespace, MaxItems: limit}
	for i := range sets {
		s := &sets[i]
		if start.Name != "" && compareSets(s, &start) < 0 {
			continue
		}
		if len(resp.ResourceRecordSets) == limit {
			resp.IsTruncated = true
			resp.NextRecordName, resp.NextRecordType, resp.NextRecordIdentifier = escapeName(s.Name), s.Type, s.SetIdentifier
			break
		}
		resp.ResourceRecordSets = append(resp.ResourceRecordSets, recordSetToXML(s))
	}
	return writeXML(w, rc, http.StatusOK, resp)
}

// recordSetToXML converts a record set for a response.
func recordSetToXML(s *zone.RecordSet) xmlResourceRecordSet {
	x := xmlResourceRecordSet{
		Name: escapeName(s.Name), Type: s.Type, SetIdentifier: s.SetIdentifier, Weight: s.Weight, Region: s.Region,
		Failover: s.Failover, MultiValueAnswer: s.MultiValueAnswer, HealthCheckID: s.HealthCheckID,
	}
	if s.AliasTarget != nil {
		x.AliasTarget = &xmlAliasTarget{HostedZoneID: s.AliasTarget.HostedZoneID, DNSName: escapeName(s.AliasTarget.DNSName),
			EvaluateTargetHealth: s.AliasTarget.EvaluateTargetHealth}
	} else {
		ttl := s.TTL
		x.TTL = &ttl
		for _, v := range s.Values {
			x.ResourceRecords = append(x.ResourceRecords, xmlResourceRecord{Value: v})
		}
	}
	if g := s.GeoLocation; g != nil {
		x.GeoLocation = &xmlGeoLocation{ContinentCode: g.ContinentCode, CountryCode: g.CountryCode, SubdivisionCode: g.SubdivisionCode}
	}
	if g := s.GeoProximityLocation; g != nil {
		x.GeoProximityLocation = &xmlGeoProximityLocation{AWSRegion: g.AWSRegion, Bias: g.Bias}
		if c := g.Coordinates; c != nil {
			x.GeoProximityLocation.Coordinates = &xmlCoordinates{
				Latitude: strconv.FormatFloat(c.Latitude, 'f', -1, 64), Longitude: strconv.FormatFloat(c.Longitude, 'f', -1, 64)}
		}
	}
	if c := s.CidrRoutingConfig; c != nil {
		x.CidrRoutingConfig = &xmlCidrRoutingConfig{CollectionID: c.CollectionID, LocationName: c.LocationName}
	}
	return x
}

// escapeName writes a name as Route 53 returns it: characters other than letters, digits,
// '-', '_' and '.' as a backslash and three octal digits ("*" is "\052").
func escapeName(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "\\%03o", c)
	}
	return b.String()
}

// unescapeName reverses escapeName: "\052" becomes "*".
func unescapeName(name string) string {
	if !strings.Contains(name, `\`) {
		return name
	}
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		if name[i] == '\\' && i+3 < len(name) && name[i+1] >= '0' && name[i+1] <= '3' && isOctal(name[i+2]) && isOctal(name[i+3]) {
			n := (name[i+1]-'0')*64 + (name[i+2]-'0')*8 + (name[i+3] - '0')
			b.WriteByte(n)
			i += 3
			continue
		}
		b.WriteByte(name[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }
