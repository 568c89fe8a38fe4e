package tables

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/polyregion/polyregion/internal/kv"
	"github.com/polyregion/polyregion/internal/replication"
)

// Stamps: what a global table's replica keeps with each key to decide what to apply
// (replication.Decide) — the version of the write it holds and the causal context merged
// into it. A removal leaves its stamp as a tombstone, so that an older write arriving later
// loses. Items written before the table became global have no stamp: the zero Stamp.
//
// Stored under tables/stamp/<tableID>/<encoded key> (the item's store key without
// tables/item/<tableID>/):
//
//	replication.AppendStamp(stamp) flags(1: bit 0 deleted) str(pin zones, comma-separated)
//
// The pin zones are the residency zones of the item (README "Residency"), kept with
// tombstones so that a backfill never ships a removed pinned item's tombstone out of them.

const (
	stampPrefix  = "tables/stamp/"
	cursorPrefix = "tables/cursor/"
)

// stampEntry is a key's stored stamp.
type stampEntry struct {
	stamp   replication.Stamp
	deleted bool
	zones   []string // the item's pin; nil: not pinned
}

// stampKey is the store key of the stamp of the item stored under itemKey.
func (t *table) stampKey(itemKey []byte) []byte {
	enc := itemKey[len(t.items):]
	k := make([]byte, 0, len(stampPrefix)+len(t.meta.ID)+1+len(enc))
	k = append(k, stampPrefix...)
	k = append(k, t.meta.ID...)
	k = append(k, '/')
	return append(k, enc...)
}

// stampsPrefix is the prefix of every stamp of the table.
func (t *table) stampsPrefix() []byte { return []byte(stampPrefix + t.meta.ID + "/") }

func (e *stampEntry) encode() []byte {
	zones := max(len(e.zones)-1, 0) // the commas
	for _, z := range e.zones {
		zones += len(z)
	}
	b := make([]byte, 0, replication.StampSize(e.stamp)+1+binary.MaxVarintLen64+zones)
	b = replication.AppendStamp(b, e.stamp)
	var flags byte
	if e.deleted {
		flags = 1
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(zones))
	for i, z := range e.zones {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, z...)
	}
	return b
}

func decodeStampEntry(b []byte) (stampEntry, error) {
	st, rest, err := replication.DecodeStamp(b)
	if err != nil {
		return stampEntry{}, err
	}
	if len(rest) < 1 {
		return stampEntry{}, errors.New("stamp without flags")
	}
	e := stampEntry{stamp: st, deleted: rest[0]&1 != 0}
	rest = rest[1:]
	n, k := binary.Uvarint(rest)
	if k <= 0 || uint64(len(rest)-k) != n {
		return stampEntry{}, errors.New("stamp with a malformed pin")
	}
	if n > 0 {
		e.zones = strings.Split(string(rest[k:]), ",")
	}
	return e, nil
}

// readStamp returns the stamp stored for the item under itemKey: the zero entry if none.
func (s *Service) readStamp(r kv.Reader, t *table, itemKey []byte) (stampEntry, error) {
	b, err := r.Get(t.stampKey(itemKey))
	if errors.Is(err, kv.ErrNotFound) {
		return stampEntry{}, nil
	}
	if err != nil {
		return stampEntry{}, fmt.Errorf("reading a stamp: %w", err)
	}
	e, err := decodeStampEntry(b)
	if err != nil {
		return stampEntry{}, fmt.Errorf("stamp of %q: %w", itemKey, err)
	}
	return e, nil
}

// cursorKey is the store key of the position pulled from source for a table.
func cursorKey(tableID, source string) []byte {
	return []byte(cursorPrefix + tableID + "/" + source)
}
