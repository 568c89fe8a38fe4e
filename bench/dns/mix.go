package main

import (
	"encoding/binary"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net/netip"
	"os"

	"github.com/miekg/dns"

	"github.com/polyregion/polyregion/internal/dns/geoip"
)

// The zone every server serves, and the name whose answer depends on where the client is.
const (
	zoneName = "bench.example."
	geoName  = "www." + zoneName
	ttl      = 60
)

// geoRule is one answer of the geolocation name: the most specific rule that matches a
// client's location wins (US state, then country, then continent, then the default), as
// Route 53's geolocation routing does. Continent is set on every rule but the default,
// because gdnsd's map is a continent → country → subdivision hierarchy.
type geoRule struct {
	id          string // set identifier (polyregion), datacenter (gdnsd), record name (PowerDNS)
	continent   string
	country     string
	subdivision string
	answer      netip.Addr // from 198.18.0.0/15, the benchmarking range (RFC 2544)
}

func (r geoRule) isDefault() bool { return r.continent == "" }

// rules is the geolocation name's routing, the same for the three servers.
var rules = []geoRule{
	{"us-ca", "NA", "US", "CA", netip.MustParseAddr("198.18.0.2")},
	{"de", "EU", "DE", "", netip.MustParseAddr("198.18.0.3")},
	{"jp", "AS", "JP", "", netip.MustParseAddr("198.18.0.6")},
	{"na", "NA", "", "", netip.MustParseAddr("198.18.0.1")},
	{"eu", "EU", "", "", netip.MustParseAddr("198.18.0.4")},
	{"as", "AS", "", "", netip.MustParseAddr("198.18.0.5")},
	{"default", "", "", "", netip.MustParseAddr("198.18.0.9")},
}

// expected is the answer for a client at loc (ok false: nowhere).
func expected(loc geoip.DemoRange, ok bool) netip.Addr {
	best, rank := netip.Addr{}, -1
	for _, r := range rules {
		k := -1
		switch {
		case r.isDefault():
			k = 0
		case !ok:
		case r.subdivision != "":
			if r.country == loc.Country && r.subdivision == loc.Subdivision {
				k = 3
			}
		case r.country != "":
			if r.country == loc.Country {
				k = 2
			}
		case r.continent == loc.Continent:
			k = 1
		}
		if k > rank {
			best, rank = r.answer, k
		}
	}
	return best
}

// place is a group of clients the mix sends queries for: the subnets of one demo range (or
// an unmapped part of the documentation ranges), or no Client Subnet option at all.
type place struct {
	label   string
	subnets []netip.Prefix // ECS source prefixes; none: the query carries no ECS option
	want    netip.Addr
}

// Source prefix lengths of the ECS options: a /24 would straddle the demo ranges' blocks
// (192.0.2.0/24 holds Virginia, California and Toronto), so IPv4 clients send /28; IPv6
// clients send /56, as RFC 7871 recommends.
const (
	ecsBits4   = 28
	ecsBits6   = 56
	maxSubnets = 8 // per IPv6 block; IPv4 blocks use every /28 they hold (4 or 8)
)

// places lists every demo range, both unmapped blocks, and queries without ECS (the
// resolver's own address, 127.0.0.1, maps nowhere).
func places() []place {
	var ps []place
	for _, r := range geoip.DemoRanges {
		where := r.Country
		if r.Subdivision != "" {
			where += "-" + r.Subdivision
		}
		if r.City != "" {
			where += " " + r.City
		}
		ps = append(ps, place{
			label:   fmt.Sprintf("%s (%s %s)", r.Network, r.Continent, where),
			subnets: subnetsOf(r.Network),
			want:    expected(r, true),
		})
	}
	for _, p := range geoip.DemoUnmapped {
		ps = append(ps, place{label: fmt.Sprintf("%s (unmapped)", p), subnets: subnetsOf(p), want: expected(geoip.DemoRange{}, false)})
	}
	ps = append(ps, place{label: "no ECS (resolver 127.0.0.1)", want: expected(geoip.DemoRange{}, false)})
	return ps
}

// subnetsOf returns the ECS source prefixes inside p: every /28 of an IPv4 block, and
// maxSubnets /56s spread evenly over an IPv6 block.
func subnetsOf(p netip.Prefix) []netip.Prefix {
	bits, total := ecsBits4, 32
	if p.Addr().Is6() {
		bits, total = ecsBits6, 128
	}
	room := bits - p.Bits()
	n := 1 << room
	step := 1
	if n > maxSubnets {
		step, n = n/maxSubnets, maxSubnets
	}
	base := new(big.Int).SetBytes(p.Addr().AsSlice())
	out := make([]netip.Prefix, 0, n)
	for i := range n {
		off := new(big.Int).Lsh(big.NewInt(int64(i*step)), uint(total-bits))
		b := new(big.Int).Add(base, off).FillBytes(make([]byte, total/8))
		a, _ := netip.AddrFromSlice(b)
		out = append(out, netip.PrefixFrom(a, bits))
	}
	return out
}

// newQuery is the query the mix sends: www A, no RD (as a resolver asks an authoritative
// server), EDNS with a 1232-byte buffer and, for a valid subnet, a Client Subnet option.
func newQuery(subnet netip.Prefix) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(geoName, dns.TypeA)
	m.RecursionDesired = false
	m.SetEdns0(1232, false)
	if subnet.IsValid() {
		o := &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: uint8(subnet.Bits()), Address: subnet.Addr().AsSlice()}
		if subnet.Addr().Is6() {
			o.Family = 2
		}
		m.IsEdns0().Option = append(m.IsEdns0().Option, o)
	}
	return m
}

// writeDatafile writes n queries in dnsperf's binary format (-B: each message preceded by
// its length, two bytes big-endian): places equally likely, and within a place each of its
// subnets; shuffled with a fixed seed so that every run sends the same file.
func writeDatafile(path string, ps []place, n int) error {
	rng := rand.New(rand.NewPCG(1, 2))
	var buf []byte
	for i := range n {
		p := ps[rng.IntN(len(ps))]
		var subnet netip.Prefix
		if len(p.subnets) > 0 {
			subnet = p.subnets[rng.IntN(len(p.subnets))]
		}
		m := newQuery(subnet)
		m.Id = uint16(i)
		wire, err := m.Pack()
		if err != nil {
			return fmt.Errorf("pack query for %s: %w", subnet, err)
		}
		buf = binary.BigEndian.AppendUint16(buf, uint16(len(wire)))
		buf = append(buf, wire...)
	}
	return os.WriteFile(path, buf, 0o644)
}
