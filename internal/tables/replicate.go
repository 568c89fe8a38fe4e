package tables

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/polyregion/polyregion/internal/kv"
	"github.com/polyregion/polyregion/internal/replication"
	"github.com/polyregion/polyregion/internal/tables/attr"
)

// The service's side of internal/replication: Read serves the records of this region's
// own writes to a global table (the stream is the table's name), Cursor and Apply take in
// those of the other replicas.

var (
	_ replication.Log  = (*Service)(nil)
	_ replication.Sink = (*Service)(nil)
)

// Record payloads: flags(1: bit 0 TTL expiry) then the new image (attr.EncodeItem; absent
// for a removal).
const payloadTTL = 1

// shipSize is what Read ships of a write made here whose new image is image (nil for a
// removal): the key's encoding and the payload. The change log counts it
// (changeLog.shipped), for the bytes a replica has still to pull (Batch.PendingBytes).
func shipSize(m *mutation, image []byte) uint64 {
	return uint64(len(m.key) - len(m.t.items) + 1 + len(image))
}

// globalTableNamed returns the local table of a global table in which region takes part,
// or an error wrapping replication.ErrUnknownStream.
func (s *Service) globalTableNamed(name, region string) (*table, *globalLocal, error) {
	s.mu.RLock()
	t := s.tables[name]
	s.mu.RUnlock()
	if t == nil {
		return nil, nil, fmt.Errorf("%w: no table %s in %s", replication.ErrUnknownStream, name, s.opts.Region)
	}
	g := t.currentSettings().global
	if g == nil {
		return nil, nil, fmt.Errorf("%w: table %s is not global in %s", replication.ErrUnknownStream, name, s.opts.Region)
	}
	if !g.Record.has(region) {
		return nil, nil, fmt.Errorf("%w: %s is not a replica of %s as %s knows it", replication.ErrUnknownStream, region, name, s.opts.Region)
	}
	return t, g, nil
}

// Read returns the records of this region's own writes to the global table stream after
// position after, up to the log's frontier, leaving out those that residency keeps from
// region to. It implements replication.Log.
func (s *Service) Read(stream, to string, after uint64, maxBytes int) (*replication.Batch, error) {
	t, g, err := s.globalTableNamed(stream, to)
	if err != nil {
		return nil, err
	}
	if err := s.checkCaller(t, to); err != nil {
		return nil, err
	}
	pos := t.log.readPosition(s.clock, after)
	frontier, head, watermark := pos.frontier, pos.last, pos.watermark
	out := &replication.Batch{Next: after, Head: head}
	if after < g.Since {
		after = min(g.Since, frontier) // the table's regional life is not shipped
		out.Next = after
	}
	if after >= frontier {
		out.Next = max(after, frontier)
		if after == frontier {
			out.Watermark = watermark
		}
		at, err := s.shippedAt(t, &pos, out.Next)
		if err != nil {
			return nil, err
		}
		out.PendingBytes = pos.pendingBytes(out.Next, at)
		return out, nil
	}
	r := residencyOf(t.currentSettings().tags)
	it, err := s.store.Iter(logKey(t.meta.ID, after+1), logKey(t.meta.ID, frontier+1))
	if err != nil {
		return nil, err
	}
	defer it.Close()
	size, full := 0, false
	var shipped uint64 // the log's shipped bytes through out.Next
	for it.Next() {
		if size >= maxBytes && len(out.Records) > 0 {
			full = true
			break
		}
		seq := binary.BigEndian.Uint64(it.Key()[len(it.Key())-8:])
		out.Next = seq
		rec, err := decodeChangeRecord(it.Value())
		if err != nil {
			return nil, fmt.Errorf("change-log record %d of %s: %w", seq, t.meta.Name, err)
		}
		shipped = rec.Shipped
		if rec.Region != s.opts.Region || rec.TS.IsZero() {
			continue // a write pulled from elsewhere, or made before the table was global
		}
		if r.attribute != "" {
			img := rec.New
			if img == nil {
				img = rec.Old
			}
			if img != nil {
				item, err := attr.DecodeItem(img)
				if err != nil {
					return nil, fmt.Errorf("change-log record %d of %s: %w", seq, t.meta.Name, err)
				}
				if pin, _ := r.pinOf(item); !s.pinAllows(pin, to) {
					continue // never shipped out of the item's zones
				}
			}
		}
		var flags byte
		if rec.TTL {
			flags |= payloadTTL
		}
		data := make([]byte, 0, 1+len(rec.New))
		data = append(append(data, flags), rec.New...)
		key, err := t.encodedKey(rec.Keys)
		if err != nil {
			return nil, fmt.Errorf("change-log record %d of %s: %w", seq, t.meta.Name, err)
		}
		out.Records = append(out.Records, replication.Record{
			Seq: seq, Version: rec.version(), Context: rec.Context, Key: key, Delete: rec.New == nil, Data: data,
		})
		size += len(key) + len(data) + 64
	}
	if err := it.Close(); err != nil {
		return nil, err
	}
	if !full {
		out.Next = frontier // the numbers after the last record were gaps
		out.Watermark = watermark
		shipped = pos.atFrontier
	}
	out.PendingBytes = pos.pendingBytes(out.Next, shipped)
	return out, nil
}

// shippedAt returns the shipped bytes of t's log through position at, which is at or after
// the frontier of pos. Past the frontier (a replica whose cursor is ahead of it, as after a
// restart that lost commits in flight) they are those of the record at that position, or
// of a number in flight; failing both, the frontier's: the bytes in between are counted as
// pending.
func (s *Service) shippedAt(t *table, pos *logPosition, at uint64) (uint64, error) {
	switch {
	case at == pos.frontier:
		return pos.atFrontier, nil
	case at >= pos.last:
		return pos.shipped, nil
	case pos.afterKnown:
		return pos.atAfter, nil
	}
	v, err := s.store.Get(logKey(t.meta.ID, at))
	if errors.Is(err, kv.ErrNotFound) {
		return pos.atFrontier, nil
	}
	if err != nil {
		return 0, err
	}
	rec, err := decodeChangeRecord(v)
	if err != nil {
		return 0, fmt.Errorf("change-log record %d of %s: %w", at, t.meta.Name, err)
	}
	return rec.Shipped, nil
}

// checkCaller refuses a region that is not a replica of t (it may not read its changes).
func (s *Service) checkCaller(t *table, region string) error {
	if g := t.currentSettings().global; g == nil || !g.Record.has(region) || region == s.opts.Region {
		return fmt.Errorf("%w: %s does not replicate %s", replication.ErrUnknownStream, region, t.meta.Name)
	}
	return nil
}

// encodedKey returns the key encoding (the store key without the table's prefix) of the
// key attributes encoded in keys (attr.EncodeItem).
func (t *table) encodedKey(keys []byte) ([]byte, error) {
	item, err := attr.DecodeItem(keys)
	if err != nil {
		return nil, err
	}
	k, err := t.storeKey(item)
	if err != nil {
		return nil, err
	}
	return k[len(t.items):], nil
}

// Cursor returns the position pulled from source for the global table stream: 0 if none
// is stored, or if it was stored for an earlier incarnation of source's replica. It
// implements replication.Sink.
func (s *Service) Cursor(source, stream string) (uint64, error) {
	t, g, err := s.globalTableNamed(stream, source)
	if err != nil {
		return 0, err
	}
	return s.readCursor(s.store, t, source, g.Record.replica(source).ID)
}

// readCursor returns the stored position of source for t, 0 unless stored for replica id.
func (s *Service) readCursor(r kv.Reader, t *table, source, id string) (uint64, error) {
	pos, _, err := readCursorState(r, t, source, id)
	return pos, err
}

// readCursorState returns the stored position of source for t and the latest watermark
// received from it with the records up to there (zero: none yet); both zero unless stored
// for replica id.
func readCursorState(r kv.Reader, t *table, source, id string) (uint64, replication.Timestamp, error) {
	v, err := r.Get(cursorKey(t.meta.ID, source))
	if errors.Is(err, kv.ErrNotFound) {
		return 0, replication.Timestamp{}, nil
	}
	if err != nil {
		return 0, replication.Timestamp{}, err
	}
	pos, storedID, wm, err := decodeCursor(v)
	if err != nil {
		return 0, replication.Timestamp{}, fmt.Errorf("cursor of %s for %s: %w", source, t.meta.Name, err)
	}
	if storedID != id {
		return 0, replication.Timestamp{}, nil
	}
	return pos, wm, nil
}

// A cursor's value: the position (8 bytes big-endian), the source replica's id, and, once a
// watermark came with the records, a zero byte and the watermark (12 bytes). Replica ids
// never contain a zero byte; cursors stored without a watermark stay readable.
func encodeCursor(pos uint64, id string, wm replication.Timestamp) []byte {
	b := make([]byte, 0, 8+len(id)+1+replication.TimestampSize)
	b = append(binary.BigEndian.AppendUint64(b, pos), id...)
	if !wm.IsZero() {
		b = wm.Append(append(b, 0))
	}
	return b
}

func decodeCursor(v []byte) (pos uint64, id string, wm replication.Timestamp, err error) {
	if len(v) < 8 {
		return 0, "", wm, fmt.Errorf("%d bytes", len(v))
	}
	pos, rest := binary.BigEndian.Uint64(v), v[8:]
	if i := bytes.IndexByte(rest, 0); i >= 0 {
		if len(rest)-i-1 != replication.TimestampSize {
			return 0, "", wm, fmt.Errorf("watermark of %d bytes", len(rest)-i-1)
		}
		if wm, err = replication.DecodeTimestamp(rest[i+1:]); err != nil {
			return 0, "", wm, err
		}
		rest = rest[:i]
	}
	return pos, string(rest), wm, nil
}

// setCursor adds the cursor of source (replica id) for t to b, with no watermark.
func setCursor(b kv.Batch, t *table, source, id string, pos uint64) {
	b.Set(cursorKey(t.meta.ID, source), encodeCursor(pos, id, replication.Timestamp{}))
}

// Apply applies the records of one frame pulled from source, with the cursor, in one
// commit that does not wait for the disk (lazysync.go). It implements replication.Sink.
func (s *Service) Apply(source, stream string, in *replication.Batch) error {
	t, g, err := s.globalTableNamed(stream, source)
	if err != nil {
		return err
	}
	incoming := make([]incomingWrite, 0, len(in.Records))
	for _, rec := range in.Records {
		w := incomingWrite{key: rec.Key, version: rec.Version, context: rec.Context, deleted: rec.Delete}
		if len(rec.Data) < 1 {
			return fmt.Errorf("record %d of %s from %s: no payload", rec.Seq, stream, source)
		}
		if !rec.Delete {
			w.item = rec.Data[1:]
		}
		incoming = append(incoming, w)
	}
	id := g.Record.replica(source).ID
	// The watermark goes with the cursor: a frame without one keeps the last received (it
	// still bounds every later write of the source from below).
	wm := in.Watermark
	if _, held, err := readCursorState(s.store, t, source, id); err != nil {
		return err
	} else if wm.Compare(held) < 0 {
		wm = held
	}
	n, err := s.applyIncoming(t, incoming, true, func(b kv.Batch) {
		b.Set(cursorKey(t.meta.ID, source), encodeCursor(in.Next, id, wm))
	})
	if err != nil {
		return err
	}
	s.noteConflicts(t, n)
	s.opts.ReplicationMetrics.CountConflicts(replicationService, stream, n)
	return nil
}

// incomingWrite is a write from elsewhere: a pulled record, or a backfill entry.
type incomingWrite struct {
	key     []byte // the key's encoding, without the table's prefix
	version replication.Version
	context replication.Context
	deleted bool
	item    []byte   // the new image (attr.EncodeItem); nil when deleted
	zones   []string // a backfilled tombstone's pin
}

// applyIncoming applies writes from elsewhere to t, each by replication.Decide against the
// stamp held, through the commit path (item, index entries, change-log record under the
// origin's region, stamp), with the conflicts found and extra's writes, in one commit:
// synced, unless pulled (writes pulled by replication, made durable later: lazysync.go).
// It returns the number of conflicts recorded.
//
// A write of zero version (an item written before the table became global, from a
// backfill) is applied only where the key has neither an item nor a stamp: any stamped
// write descends from it.
func (s *Service) applyIncoming(t *table, in []incomingWrite, pulled bool, extra func(kv.Batch)) (int, error) {
	keys := make([][]byte, len(in))
	for i, w := range in {
		keys[i] = append(append([]byte(nil), t.items...), w.key...)
	}
	unlock, err := s.lockItems([]*table{t}, keys...)
	if err != nil {
		return 0, err
	}
	defer unlock()
	r := residencyOf(t.currentSettings().tags)
	type heldState struct {
		item  attr.Item
		stamp stampEntry
	}
	pending := map[string]*heldState{}
	var muts []*mutation
	byKey := map[string]*mutation{}
	var conflicts []*replication.Conflict
	for i, w := range in {
		// Writes made here after seeing this one get larger timestamps.
		s.clock.Observe(w.version.TS)
		k := string(keys[i])
		h := pending[k]
		if h == nil {
			h = &heldState{}
			if h.item, err = s.readItem(s.store, keys[i]); err != nil {
				return 0, err
			}
			if h.stamp, err = s.readStamp(s.store, t, keys[i]); err != nil {
				return 0, err
			}
			pending[k] = h
		}
		var newItem attr.Item
		if !w.deleted {
			if newItem, err = attr.DecodeItem(w.item); err != nil {
				return 0, fmt.Errorf("item %x of %s: %w", w.key, t.meta.Name, err)
			}
		}
		var outcome replication.Outcome
		if w.version.IsZero() {
			outcome = replication.Stale
			if h.item == nil && h.stamp.stamp.Version.IsZero() && !h.stamp.deleted && !w.deleted {
				outcome = replication.Successor
			}
		} else {
			outcome = replication.Decide(h.stamp.stamp, w.version, w.context)
		}
		if outcome == replication.Stale {
			continue
		}
		merged := h.stamp.stamp.Context.Merge(w.context)
		var stamp *stampEntry
		if !w.version.IsZero() {
			zones := w.zones
			if img := newItem; img != nil {
				zones, _ = r.pinOf(img)
			} else if h.item != nil && zones == nil {
				zones, _ = r.pinOf(h.item)
			}
			stamp = &stampEntry{stamp: replication.Stamp{Version: w.version, Context: merged}, deleted: w.deleted, zones: zones}
		}
		switch outcome {
		case replication.ConflictWins:
			conflicts = append(conflicts, s.conflict(t, w.key, h.stamp.stamp.Version, h.stamp.deleted || h.item == nil, h.item, w.version))
		case replication.ConflictLoses:
			conflicts = append(conflicts, s.conflict(t, w.key, w.version, w.deleted, newItem, h.stamp.stamp.Version))
			kept := h.stamp
			kept.stamp.Context = merged
			stamp, newItem = &kept, h.item
		}
		m := byKey[k]
		if m == nil {
			m = &mutation{t: t, key: keys[i], old: h.item}
			byKey[k] = m
			muts = append(muts, m)
		} else if m.changed() {
			// A second write of the key in this frame: commit the first on its own record.
			first := *m
			muts[slices.Index(muts, m)] = &first
			m = &mutation{t: t, key: keys[i], old: h.item}
			byKey[k] = m
			muts = append(muts, m)
		}
		m.new = newItem
		m.origin = &replicated{version: w.version, context: w.context, stamp: stamp}
		if outcome == replication.ConflictLoses {
			m.origin.version, m.origin.context = h.stamp.stamp.Version, h.stamp.stamp.Context
		} else if !w.deleted {
			m.origin.image = w.item // stored as it came: the source encoded it (attr.EncodeItem)
		}
		h.item = newItem
		if stamp != nil {
			h.stamp = *stamp
		}
	}
	add := func(b kv.Batch) {
		for _, c := range conflicts {
			replication.AddConflict(b, c)
		}
		if extra != nil {
			extra(b)
		}
	}
	if err := s.commitWith(&requestContext{id: "replication", now: s.now(), applied: pulled}, muts, add); err != nil {
		return 0, err
	}
	return len(conflicts), nil
}

// conflict is the record of a write that lost.
func (s *Service) conflict(t *table, key []byte, loser replication.Version, loserDeleted bool, loserItem attr.Item, winner replication.Version) *replication.Conflict {
	c := &replication.Conflict{
		Service: replicationService, Stream: t.meta.Name, Key: bytes.Clone(key),
		Loser: loser, LoserDelete: loserDeleted, Winner: winner,
		Detected: s.clock.Now(), DetectedIn: s.opts.Region,
	}
	if !loserDeleted && loserItem != nil {
		c.LoserData, _ = json.Marshal(loserItem)
	}
	return c
}
