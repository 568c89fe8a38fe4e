package edge

import (
	"slices"
	"strings"
)

// MaglevSize is the number of slots of a Maglev table: a prime well above the
// number of endpoints a group may have, as the Maglev paper requires.
const MaglevSize = 65537

// Backend is one entry of a Maglev table: a stable name and a weight.
type Backend struct {
	Name   string
	Weight int // > 0; the share of slots is Weight / Σ Weight
}

// Maglev is a consistent-hashing lookup table (Eisenbud et al., NSDI 2016):
// each backend walks its own permutation of the slots and the backends take
// turns claiming free slots, each as often as its weight allows. Tables built
// from the same backends are identical whatever their order, and removing one
// of N backends moves about 1/N of the keys. A Maglev is immutable.
type Maglev struct {
	names []string
	slots []uint16 // index into names, one per slot
}

// NewMaglev builds the table of backends; those of weight ≤ 0 are left out.
// It returns nil when no backend remains.
func NewMaglev(backends []Backend) *Maglev {
	bs := slices.DeleteFunc(slices.Clone(backends), func(b Backend) bool { return b.Weight <= 0 })
	if len(bs) == 0 {
		return nil
	}
	// Sort so that the table never depends on the order it was given.
	slices.SortFunc(bs, func(a, b Backend) int { return strings.Compare(a.Name, b.Name) })
	bs = slices.CompactFunc(bs, func(a, b Backend) bool { return a.Name == b.Name })
	m := &Maglev{names: make([]string, len(bs)), slots: make([]uint16, MaglevSize)}
	offset := make([]uint64, len(bs))
	skip := make([]uint64, len(bs))
	next := make([]uint64, len(bs))
	credit := make([]int, len(bs))
	maxW := 0
	for i, b := range bs {
		m.names[i] = b.Name
		offset[i] = hashString(b.Name, 0x9e3779b97f4a7c15) % MaglevSize
		skip[i] = hashString(b.Name, 0xc2b2ae3d27d4eb4f)%(MaglevSize-1) + 1
		maxW = max(maxW, b.Weight)
	}
	const free = ^uint16(0)
	for i := range m.slots {
		m.slots[i] = free
	}
	filled := 0
	for filled < MaglevSize {
		for i, b := range bs {
			credit[i] += b.Weight
			for credit[i] >= maxW && filled < MaglevSize {
				credit[i] -= maxW
				// The next free slot in backend i's permutation.
				for {
					slot := (offset[i] + next[i]*skip[i]) % MaglevSize
					next[i]++
					if m.slots[slot] == free {
						m.slots[slot] = uint16(i)
						filled++
						break
					}
				}
			}
		}
	}
	return m
}

// Lookup returns the backend for a key's hash.
func (m *Maglev) Lookup(hash uint64) string {
	return m.names[m.slots[hash%MaglevSize]]
}

// Backends returns the names in the table, sorted.
func (m *Maglev) Backends() []string { return slices.Clone(m.names) }

// hashString is FNV-1a over s, seeded and finished with a 64-bit mix so that
// similar names land far apart.
func hashString(s string, seed uint64) uint64 {
	h := uint64(14695981039346656037) ^ seed
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return mix64(h)
}

// hashBytes is hashString for bytes.
func hashBytes(b []byte, seed uint64) uint64 {
	h := uint64(14695981039346656037) ^ seed
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return mix64(h)
}

// mix64 is the finaliser of SplitMix64.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
