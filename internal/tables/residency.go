package tables

import (
	"slices"
	"strings"

	"github.com/polyregion/polyregion/internal/tables/attr"
)

// Residency (ARCHITECTURE.md, principle 5), configured with table tags so that the AWS API
// is the door:
//
//   - TagResidencyZones: the zones a table may have replicas in (comma-separated);
//   - TagResidencyAttribute: the attribute that pins an item to zones (S: one zone; SS or
//     an L of S: several). A pinned item is written only in regions of its zones, shipped
//     only to replicas in them (filtered at the source), and its pin is fixed when the item
//     is created.
const (
	TagResidencyZones     = "polyregion:residency-zones"
	TagResidencyAttribute = "polyregion:residency-attribute"
)

// residency is a table's residency policy, from its tags.
type residency struct {
	zones     []string // allowed replica zones; nil: any
	attribute string   // the pin attribute; "": items are not pinned
}

func residencyOf(tags map[string]string) residency {
	var r residency
	if z := tags[TagResidencyZones]; z != "" {
		r.zones = splitZones(z)
	}
	r.attribute = strings.TrimSpace(tags[TagResidencyAttribute])
	return r
}

// splitZones parses a comma-separated zone list, sorted, without blanks or repeats.
func splitZones(s string) []string {
	var out []string
	for _, z := range strings.Split(s, ",") {
		if z = strings.TrimSpace(z); z != "" {
			out = append(out, z)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// allows reports whether a replica may live in zone.
func (r residency) allows(zone string) bool {
	return r.zones == nil || slices.Contains(r.zones, zone)
}

// pinOf returns the zones item is pinned to (nil: not pinned), or a ValidationException for
// a pin attribute of the wrong shape.
func (r residency) pinOf(item attr.Item) ([]string, error) {
	if r.attribute == "" || item == nil {
		return nil, nil
	}
	v, ok := item[r.attribute]
	if !ok {
		return nil, nil
	}
	var zones []string
	switch v.Kind {
	case attr.KindS:
		zones = []string{v.S}
	case attr.KindSS:
		zones = slices.Clone(v.SS)
	case attr.KindL:
		for _, e := range v.L {
			if e.Kind != attr.KindS {
				return nil, validationf("One or more parameter values were invalid: the residency attribute %s must be a string, a string set or a list of strings", r.attribute)
			}
			zones = append(zones, e.S)
		}
	default:
		return nil, validationf("One or more parameter values were invalid: the residency attribute %s must be a string, a string set or a list of strings", r.attribute)
	}
	slices.Sort(zones)
	zones = slices.Compact(zones)
	if len(zones) == 0 || slices.Contains(zones, "") {
		return nil, validationf("One or more parameter values were invalid: the residency attribute %s names no zone", r.attribute)
	}
	return zones, nil
}

// zoneOf returns the residency zone of region ("" if unknown).
func (s *Service) zoneOf(region string) string { return s.opts.Zones[region] }

// checkResidency refuses a write made here that residency forbids: a pinned item written in
// a region outside its zones, or a pin that changes (or appears on an existing item). It
// returns the pin of the item written (of the removed item, for a delete).
func (s *Service) checkResidency(m *mutation, tags map[string]string) ([]string, error) {
	r := residencyOf(tags)
	if r.attribute == "" {
		return nil, nil
	}
	oldPin, err := r.pinOf(m.old)
	if err != nil && m.new == nil {
		oldPin, err = nil, nil // a malformed old pin does not prevent the removal
	}
	if err != nil {
		return nil, err
	}
	if m.new == nil {
		return oldPin, nil
	}
	newPin, err := r.pinOf(m.new)
	if err != nil {
		return nil, err
	}
	if m.old != nil && !slices.Equal(oldPin, newPin) {
		return nil, validationf("One or more parameter values were invalid: the residency attribute %s of an item cannot change: it is %s, the write makes it %s",
			r.attribute, zoneList(oldPin), zoneList(newPin))
	}
	if newPin != nil && len(s.opts.Zones) > 0 {
		here := s.zoneOf(s.opts.Region)
		if !slices.Contains(newPin, here) {
			return nil, validationf("One or more parameter values were invalid: the item's residency attribute %s pins it to zones %s, but region %s is in zone %q",
				r.attribute, zoneList(newPin), s.opts.Region, here)
		}
	}
	return newPin, nil
}

// zoneList formats zones for a message: [eu, us], or [] for none.
func zoneList(zones []string) string { return "[" + strings.Join(zones, ", ") + "]" }

// pinAllows reports whether an item pinned to zones (nil: not pinned) may be stored in
// region.
func (s *Service) pinAllows(zones []string, region string) bool {
	return zones == nil || slices.Contains(zones, s.zoneOf(region))
}

// checkResidencyTags refuses residency tags that a table's replicas or items already break:
// allowed zones that leave out a replica's zone, and a residency attribute that changes
// while the table is global (its items were shipped by the old one).
func (s *Service) checkResidencyTags(t *table, tags map[string]string) error {
	cur := t.currentSettings()
	next := residencyOf(tags)
	regions := []string{s.opts.Region}
	if g := cur.global; g != nil {
		regions = regions[:0]
		for _, r := range g.Record.Replicas {
			regions = append(regions, r.Region)
		}
		if old := residencyOf(cur.tags); old.attribute != next.attribute {
			return validationf("One or more parameter values were invalid: the tag %s of global table %s cannot change (it is %q)", TagResidencyAttribute, t.meta.Name, old.attribute)
		}
	}
	for _, r := range regions {
		if len(s.opts.Zones) > 0 && !next.allows(s.zoneOf(r)) {
			return validationf("One or more parameter values were invalid: table %s has a replica in region %s, in zone %q, which the zones %s of tag %s leave out",
				t.meta.Name, r, s.zoneOf(r), zoneList(next.zones), TagResidencyZones)
		}
	}
	return nil
}
