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
func (c Context) Merge(d Context) Context {
	out := slices.Clone(c)
	for _, v := range d {
		out = out.With(v)
	}
	return out
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
	dst = binary.AppendUvarint(dst, uint64(len(s.Context)+1))
	for _, v := range append(Context{s.Version}, s.Context...) {
		dst = v.TS.Append(dst)
		dst = appendString(dst, []byte(v.Region))
	}
	return dst
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
		v := Version{TS: d.ts(), Region: string(d.str())}
		if i == 0 {
			s.Version = v
		} else {
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
