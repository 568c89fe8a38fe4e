package replication

import (
	"fmt"

	"github.com/polyregion/polyregion/internal/kv"
)

// Conflict is the record of a write that lost under last-writer-wins to a
// concurrent write of the same key.
type Conflict struct {
	Service string
	Stream  string
	Key     []byte
	// Loser is the losing write's version, LoserDelete whether it was a removal and
	// LoserData its payload (the item image it would have left).
	Loser       Version
	LoserDelete bool
	LoserData   []byte
	// Winner is the version that prevailed.
	Winner Version
	// Detected is when, and DetectedIn where, the conflict was found. Each region
	// that holds both writes finds it, so the same conflict may be recorded in
	// several regions; (Stream, Key, Loser) identifies it.
	Detected   Timestamp
	DetectedIn string
}

// conflictPrefix starts every conflict record's key:
// replication/conflicts/<service>\x00<stream>\x00<detected ts><seq>.
const conflictPrefix = "replication/conflicts/"

func conflictStreamPrefix(service, stream string) []byte {
	k := make([]byte, 0, len(conflictPrefix)+len(service)+len(stream)+2)
	k = append(k, conflictPrefix...)
	k = append(k, service...)
	k = append(k, 0)
	k = append(k, stream...)
	return append(k, 0)
}

// AddConflict adds c's record to b, to commit with the apply that found it.
// Conflicts found in one batch need distinct Detected timestamps (take each from
// the Clock).
func AddConflict(b kv.Batch, c *Conflict) {
	k := c.Detected.Append(conflictStreamPrefix(c.Service, c.Stream))
	v := make([]byte, 0, 64+len(c.Key)+len(c.LoserData))
	v = appendString(v, c.Key)
	v = AppendStamp(v, Stamp{Version: c.Loser})
	v = AppendStamp(v, Stamp{Version: c.Winner})
	var flags byte
	if c.LoserDelete {
		flags = flagDelete
	}
	v = append(v, flags)
	v = appendString(v, []byte(c.DetectedIn))
	v = appendString(v, c.LoserData)
	b.Set(k, v)
}

// DeleteConflicts adds to b the removal of every conflict record of stream.
func DeleteConflicts(b kv.Batch, service, stream string) {
	p := conflictStreamPrefix(service, stream)
	b.DeleteRange(p, kv.PrefixEnd(p))
}

// ListConflicts returns the conflict records of stream found in this region,
// oldest first, at most limit of them (0: all) after the one detected at after
// (zero: from the first).
func ListConflicts(r kv.Reader, service, stream string, after Timestamp, limit int) ([]Conflict, error) {
	p := conflictStreamPrefix(service, stream)
	lower := p
	if !after.IsZero() {
		lower = append(after.Append(p), 0)
	}
	it, err := r.Iter(lower, kv.PrefixEnd(p))
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []Conflict
	for it.Next() && (limit <= 0 || len(out) < limit) {
		c, err := decodeConflict(it.Key()[len(p):], it.Value())
		if err != nil {
			return nil, fmt.Errorf("replication: conflict record %q: %w", it.Key(), err)
		}
		c.Service, c.Stream = service, stream
		out = append(out, c)
	}
	return out, it.Close()
}

func decodeConflict(k, v []byte) (Conflict, error) {
	var c Conflict
	var err error
	if c.Detected, err = DecodeTimestamp(k); err != nil {
		return c, err
	}
	d := decoder{buf: v}
	c.Key = append([]byte(nil), d.str()...)
	if d.err != nil {
		return c, d.err
	}
	loser, rest, err := DecodeStamp(d.buf)
	if err != nil {
		return c, err
	}
	winner, rest, err := DecodeStamp(rest)
	if err != nil {
		return c, err
	}
	c.Loser, c.Winner = loser.Version, winner.Version
	d.buf = rest
	c.LoserDelete = d.byte()&flagDelete != 0
	c.DetectedIn = string(d.str())
	c.LoserData = append([]byte(nil), d.str()...)
	if d.err == nil && len(d.buf) != 0 {
		d.fail("%d bytes after the record", len(d.buf))
	}
	return c, d.err
}

// TrimConflicts adds to b the deletion of every conflict record of (service, stream) but the
// newest keep, read from r, and returns how many it deletes (one range deletion).
func TrimConflicts(r kv.Reader, b kv.Batch, service, stream string, keep int) (int, error) {
	p := conflictStreamPrefix(service, stream)
	it, err := r.ReverseIter(p, kv.PrefixEnd(p))
	if err != nil {
		return 0, err
	}
	defer it.Close()
	seen := 0
	var newestDropped []byte
	n := 0
	for it.Next() {
		seen++
		if seen <= keep {
			continue
		}
		if newestDropped == nil {
			newestDropped = append([]byte(nil), it.Key()...)
		}
		n++
	}
	if err := it.Close(); err != nil {
		return 0, err
	}
	if n > 0 {
		b.DeleteRange(p, append(newestDropped, 0))
	}
	return n, nil
}
