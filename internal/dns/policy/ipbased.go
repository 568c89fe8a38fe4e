package policy

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/polyregion/polyregion/internal/dns/zone"
)

// CidrIndex is a CIDR collection compiled for matching. It is immutable and safe for
// concurrent use.
type CidrIndex struct {
	id   string
	trie prefixTrie[string]
}

// Block length limits Route 53 puts on CIDR collections.
const (
	maxCidrBitsIPv4 = 24
	maxCidrBitsIPv6 = 48
)

// NewCidrIndex compiles a collection. A block may be written with host bits set (they are
// dropped); it must be IPv4 /1–/24 or IPv6 /1–/48, and may belong to one location only.
// The default location "*" holds no blocks. Every problem is reported, each naming its
// location and block.
func NewCidrIndex(c zone.CidrCollection) (*CidrIndex, error) {
	x := &CidrIndex{id: c.ID}
	var errs []error
	names := make([]string, 0, len(c.Locations))
	for name := range c.Locations {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		blocks := c.Locations[name]
		switch {
		case name == "":
			errs = append(errs, errors.New("a location has no name"))
			continue
		case name == DefaultLocation && len(blocks) > 0:
			errs = append(errs, fmt.Errorf("location %q: the default location holds no CIDR blocks", name))
			continue
		}
		for _, s := range blocks {
			p, err := netip.ParsePrefix(strings.TrimSpace(s))
			if err != nil {
				errs = append(errs, fmt.Errorf("location %q: block %q: %w", name, s, err))
				continue
			}
			if p.Addr().Is4In6() {
				errs = append(errs, fmt.Errorf("location %q: block %q: write IPv4 blocks in IPv4 form", name, s))
				continue
			}
			limit := maxCidrBitsIPv6
			if p.Addr().Is4() {
				limit = maxCidrBitsIPv4
			}
			if p.Bits() < 1 || p.Bits() > limit {
				errs = append(errs, fmt.Errorf("location %q: block %q: prefix length must be 1 to %d", name, s, limit))
				continue
			}
			if prev, dup := x.trie.insert(p, name); dup && prev != name {
				errs = append(errs, fmt.Errorf("location %q: block %q: already in location %q", name, s, prev))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("cidr collection %s: %w", c.ID, err)
	}
	return x, nil
}

// Match returns the location of the longest block that contains the client prefix. A
// client prefix shorter than a block does not match it: a /16 query never matches a /24
// block. An IPv4-mapped IPv6 prefix is matched as IPv4.
func (x *CidrIndex) Match(client netip.Prefix) (location string, block netip.Prefix, ok bool) {
	location, block, _, ok = x.lookup(client)
	return location, block, ok
}

// lookup is Match plus the ECS scope of the outcome (see prefixTrie.lookup).
func (x *CidrIndex) lookup(client netip.Prefix) (location string, block netip.Prefix, scope int, ok bool) {
	if x == nil {
		return "", netip.Prefix{}, 0, false
	}
	return x.trie.lookup(client)
}

// IPBased answers with the record set of the location whose block is the longest match
// for the client prefix (Env.Client.Prefix) in the group's CIDR collection. A client that
// matches no block, or matches a location that has no record set in this group, gets the
// default location "*"; without a default the answer is NoData. When the location's set
// is unhealthy the default answers; when that is unhealthy too (or missing), the
// location's set answers as if healthy.
//
// Scope: 0 when every set is a default; otherwise the matched block's length, lengthened
// where longer blocks nest inside it so that the scope never covers a client who would
// match another block (for a client that matches nothing: the shortest length whose
// network holds no block).
func IPBased(group []*zone.RecordSet, env Env) Result {
	if len(group) == 0 {
		return Result{NoData: true}
	}
	var index *CidrIndex
	allDefault := true
	for _, rs := range group {
		if c := rs.CidrRoutingConfig; c != nil {
			if index == nil && env.Cidrs != nil {
				index = env.Cidrs(c.CollectionID)
			}
			if c.LocationName != DefaultLocation {
				allDefault = false
			}
		}
	}
	location, _, scope, matched := index.lookup(env.Client.Prefix)
	var at, def []*zone.RecordSet
	for _, rs := range group {
		c := rs.CidrRoutingConfig
		switch {
		case c == nil:
		case c.LocationName == DefaultLocation:
			def = append(def, rs)
		case matched && c.LocationName == location:
			at = append(at, rs)
		}
	}
	at, def = sortedCopy(at), sortedCopy(def)
	rs := firstHealthyOrNil(at, &env)
	if rs == nil {
		rs = firstHealthyOrNil(def, &env)
	}
	if rs == nil && len(at) > 0 {
		rs = at[0]
	}
	if rs == nil && len(def) > 0 {
		rs = def[0]
	}
	res := Result{NoData: true}
	if rs != nil {
		res = one(rs)
	}
	if !allDefault {
		res.Scope = scope
	}
	return res
}
