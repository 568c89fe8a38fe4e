package replication

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
)

// Context is the causal history of a write: for each region, the largest
// Version of that region's writes to the same key that the write descends from
// — the write itself included. It is sorted by region, one entry per region, so
// it stays as small as the fleet.
//
// Contexts tell a successor from a concurrent write exactly: a write made after
// another was seen (in any region, through any path) carries that write in its
// context; two writes neither of which covers the other were concurrent, and
// last-writer-wins chose between them — a conflict.
type Context []Version

// Covers reports whether v is in the history c describes.
func (c Context) Covers(v Version) bool {
	if v.IsZero() {
		return true
	}
	i, ok := c.find(v.Region)
	return ok && c[i].TS.Compare(v.TS) >= 0
}

// With returns c with v added: v's region's entry becomes v if v is larger.
// c itself is not modified.
func (c Context) With(v Version) Context {
	i, ok := c.find(v.Region)
	out := slices.Clone(c)
	switch {
	case !ok:
		out = slices.Insert(out, i, v)
	case v.TS.Compare(out[i].TS) > 0:
		out[i] = v
	}
	return out
}

// Merge returns the history of both c and d: per region, the larger entry.
// c and d are not modified.
func (c Context) Merge(d Context) Context {
	if len(d) == 0 || !c.sorted() || !d.sorted() {
		out := slices.Clone(c)
		for _, v := range d {
			out = out.With(v)
		}
		return out
	}
	// Both sorted by region, one entry each: merge them in one pass, as With would.
	out := make(Context, 0, len(c)+len(d))
	i, j := 0, 0
	for i < len(c) && j < len(d) {
		switch cmp := strings.Compare(c[i].Region, d[j].Region); {
		case cmp < 0:
			out = append(out, c[i])
			i++
		case cmp > 0:
			out = append(out, d[j])
			j++
		default:
			v := c[i]
			if d[j].TS.Compare(v.TS) > 0 {
				v = d[j]
			}
			out = append(out, v)
			i, j = i+1, j+1
		}
	}
	out = append(out, c[i:]...)
	return append(out, d[j:]...)
}

// sorted reports whether c is sorted by region with one entry per region, as a Context
// is kept.
func (c Context) sorted() bool {
	for i := 1; i < len(c); i++ {
		if c[i-1].Region >= c[i].Region {
			return false
		}
	}
	return true
}

func (c Context) find(region string) (int, bool) {
	return slices.BinarySearchFunc(c, region, func(v Version, r string) int {
		return strings.Compare(v.Region, r)
	})
}

// Stamp is what a receiver keeps with each key to decide what to apply: the
// Version of the write it holds (a tombstone's, for a removed key) and the
// Context of everything merged into it.
type Stamp struct {
	Version Version
	Context Context
}

// AppendStamp appends s's encoding to dst: uvarint(n) then n × (ts str(region)),
// the held Version first, then the Context.
func AppendStamp(dst []byte, s Stamp) []byte {
	dst = slices.Grow(dst, StampSize(s))
	dst = binary.AppendUvarint(dst, uint64(len(s.Context)+1))
	dst = appendVersion(dst, s.Version)
	for _, v := range s.Context {
		dst = appendVersion(dst, v)
	}
	return dst
}

// StampSize is the length of s's encoding (AppendStamp).
func StampSize(s Stamp) int {
	n := uvarintSize(uint64(len(s.Context)+1)) + TimestampSize + uvarintSize(uint64(len(s.Version.Region))) + len(s.Version.Region)
	for _, v := range s.Context {
		n += TimestampSize + uvarintSize(uint64(len(v.Region))) + len(v.Region)
	}
	return n
}

func appendVersion(dst []byte, v Version) []byte {
	dst = v.TS.Append(dst)
	dst = binary.AppendUvarint(dst, uint64(len(v.Region)))
	return append(dst, v.Region...)
}

// uvarintSize is the length of x's encoding by binary.AppendUvarint.
func uvarintSize(x uint64) int {
	n := 1
	for ; x >= 0x80; x >>= 7 {
		n++
	}
	return n
}

// DecodeStamp parses what AppendStamp wrote at the start of b and returns the
// bytes after it.
func DecodeStamp(b []byte) (Stamp, []byte, error) {
	d := decoder{buf: b}
	n := d.uvarint()
	if d.err == nil && (n == 0 || n > uint64(len(d.buf))/(TimestampSize+1)) {
		d.fail("stamp of %d versions in %d bytes", n, len(d.buf))
	}
	var s Stamp
	for i := 0; d.err == nil && i < int(n); i++ {
		v := Version{TS: d.ts(), Region: d.region()}
		if i == 0 {
			s.Version = v
		} else {
			if s.Context == nil {
				s.Context = make(Context, 0, n-1)
			}
			s.Context = append(s.Context, v)
		}
	}
	if d.err != nil {
		return Stamp{}, nil, fmt.Errorf("replication: stamp: %w", d.err)
	}
	return s, d.buf, nil
}

// Outcome is what a receiver does with an incoming write, per [Decide].
type Outcome int

// Outcomes.
const (
	// Stale: the receiver already holds this write or one that descends from it.
	// Nothing changes.
	Stale Outcome = iota
	// Successor: the incoming write descends from what the receiver holds. Apply it.
	Successor
	// ConflictWins: the two writes were concurrent and the incoming one wins
	// last-writer-wins. Apply it; the held write is the loser.
	ConflictWins
	// ConflictLoses: the two writes were concurrent and the held one wins. Keep it
	// (with the merged context); the incoming write is the loser.
	ConflictLoses
)

func (o Outcome) String() string {
	switch o {
	case Stale:
		return "stale"
	case Successor:
		return "successor"
	case ConflictWins:
		return "conflict-wins"
	case ConflictLoses:
		return "conflict-loses"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Decide returns what to do with an incoming write (its Version and Context)
// where the receiver holds held (zero Stamp: nothing, not even a tombstone).
// After any outcome but Stale the receiver keeps held.Context.Merge(in) as the
// key's context, with the winner's Version.
func Decide(held Stamp, in Version, inCtx Context) Outcome {
	switch {
	case held.Context.Covers(in) || held.Version == in:
		return Stale
	case held.Version.IsZero() || inCtx.Covers(held.Version):
		return Successor
	case in.Compare(held.Version) > 0:
		return ConflictWins
	default:
		return ConflictLoses
	}
}
