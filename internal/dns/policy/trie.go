package policy

import (
	"math"
	"net/netip"
)

// prefixTrie maps prefixes to values, with longest-prefix matching and the ECS scope of a
// match: a binary trie per address family, one node per bit.
type prefixTrie[V any] struct {
	v4, v6 *trieNode[V]
}

type trieNode[V any] struct {
	child [2]*trieNode[V]
	val   V
	block bool // a prefix ends here
	// minBits is the shortest prefix length of a block at or below this node.
	minBits int
}

func (n *trieNode[V]) min() int {
	if n == nil {
		return math.MaxInt
	}
	return n.minBits
}

// canonical turns an IPv4-mapped IPv6 prefix into the IPv4 prefix it stands for and
// drops host bits and zones.
func canonical(p netip.Prefix) netip.Prefix {
	if !p.IsValid() {
		return p
	}
	a := p.Addr().WithZone("")
	if a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96).Masked()
	}
	return netip.PrefixFrom(a, p.Bits()).Masked()
}

// bitAt returns bit i (0 = most significant) of a.
func bitAt(a netip.Addr, i int) int {
	if a.Is4() {
		b := a.As4()
		return int(b[i/8]>>(7-i%8)) & 1
	}
	b := a.As16()
	return int(b[i/8]>>(7-i%8)) & 1
}

func (t *prefixTrie[V]) root(a netip.Addr) **trieNode[V] {
	if a.Is4() {
		return &t.v4
	}
	return &t.v6
}

// insert adds p → v. When p is already present it keeps the old value and returns it
// with true.
func (t *prefixTrie[V]) insert(p netip.Prefix, v V) (V, bool) {
	p = canonical(p)
	a, bits := p.Addr(), p.Bits()
	np := t.root(a)
	for d := 0; ; d++ {
		if *np == nil {
			*np = &trieNode[V]{minBits: bits}
		}
		n := *np
		n.minBits = min(n.minBits, bits)
		if d == bits {
			if n.block {
				return n.val, true
			}
			n.val, n.block = v, true
			var zero V
			return zero, false
		}
		np = &n.child[bitAt(a, d)]
	}
}

// lookup finds the longest prefix that contains q and is no longer than q: a query prefix
// shorter than a block does not match it. It also returns the ECS scope of the outcome:
// the shortest length L such that every query of q's length inside q.Addr()/L has the
// same outcome — no prefix that could match such a query starts strictly inside
// q.Addr()/L. The scope is at least the match's length and at most q's.
func (t *prefixTrie[V]) lookup(q netip.Prefix) (val V, match netip.Prefix, scope int, ok bool) {
	q = canonical(q)
	if !q.IsValid() {
		return val, match, 0, false
	}
	a, limit := q.Addr(), q.Bits()
	n := *t.root(a)
	for d := 0; ; d++ {
		if n.min() > limit {
			// Nothing that could match starts inside a/d.
			return val, match, d, ok
		}
		if n.block && d <= limit {
			val, match, ok = n.val, netip.PrefixFrom(a, d).Masked(), true
		}
		if min(n.child[0].min(), n.child[1].min()) > limit {
			// n is a match and nothing longer that could match lies below it.
			return val, match, d, ok
		}
		n = n.child[bitAt(a, d)]
	}
}
