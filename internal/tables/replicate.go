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
	// One record decoded into again and again, with the replicas' names, most records being
	// skipped (those pulled from elsewhere); what a shipped record keeps is copied into
	// blocks shared by the batch's records.
	var known [8]string
	regions := append(known[:0], s.opts.Region)
	for _, rep := range g.Record.Replicas {
		regions = append(regions, rep.Region)
	}
	var (
		rec      changeRecord
		bytesBuf = blocks[byte]{max: 256 << 10}
		versions = blocks[replication.Version]{min: 16, max: 4 << 10}
		pin      attr.Item // the residency attribute of an image
		keyBuf   []byte
	)
	size, full := 0, false
	var shipped uint64 // the log's shipped bytes through out.Next
	for it.Next() {
		if size >= maxBytes && len(out.Records) > 0 {
			full = true
			break
		}
		seq := binary.BigEndian.Uint64(it.Key()[len(it.Key())-8:])
		out.Next = seq
		if err := rec.decode(it.Value(), regions); err != nil {
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
				// Only the residency attribute is looked at: decode only it.
				if pin, err = attr.StoredAttributes(pin, img, r.attribute); err != nil {
					return nil, fmt.Errorf("change-log record %d of %s: %w", seq, t.meta.Name, err)
				}
				if zones, _ := r.pinOf(pin); !s.pinAllows(zones, to) {
					continue // never shipped out of the item's zones
				}
			}
		}
		var flags byte
		if rec.TTL {
			flags |= payloadTTL
		}
		if keyBuf, err = t.appendEncodedKey(keyBuf[:0], rec.Keys); err != nil {
			return nil, fmt.Errorf("change-log record %d of %s: %w", seq, t.meta.Name, err)
		}
		kd := bytesBuf.take(len(keyBuf) + 1 + len(rec.New)) // the key, then the payload
		copy(kd, keyBuf)
		key, data := kd[:len(keyBuf):len(keyBuf)], kd[len(keyBuf):]
		data[0] = flags
		copy(data[1:], rec.New)
		var context replication.Context
		if rec.Context != nil {
			context = versions.take(len(rec.Context))
			copy(context, rec.Context)
		}
		out.Records = append(out.Records, replication.Record{
			Seq: seq, Version: rec.version(), Context: context, Key: key, Delete: rec.New == nil, Data: data,
		})
		size += len(key) + len(data) + 64
	}
	if err := it.Close(); err != nil {
		return nil, err
	}
	t.log.fillCommitted(out.Records)
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

// appendEncodedKey appends to dst the key encoding (the store key without the table's
// prefix) of the key attributes encoded in keys (attr.EncodeItem).
func (t *table) appendEncodedKey(dst, keys []byte) ([]byte, error) {
	var buf [2]string
	names := append(buf[:0], t.hash.Name)
	if t.rng != nil {
		names = append(names, t.rng.Name)
	}
	if out, ok := attr.AppendStoredKey(dst, keys, names...); ok {
		return out, nil
	}
	item, err := attr.DecodeItem(keys)
	if err != nil {
		return nil, err
	}
	k, err := t.storeKey(item)
	if err != nil {
		return nil, err
	}
	return append(dst, k[len(t.items):]...), nil
}

// blocks hands out slices carved from larger blocks, for many small slices that live as
// long as one another (a batch's keys and payloads). The first block is what the first
// slice needs (at least min), each next one twice the last, up to max: a batch of one
// record takes one allocation of about its size, a batch of n records about log2(n).
type blocks[T any] struct {
	block    []T
	next     int // the size of the next block
	min, max int
}

// take returns a slice of n elements, its capacity n.
func (b *blocks[T]) take(n int) []T {
	if cap(b.block)-len(b.block) < n {
		size := max(n, b.next, b.min)
		b.next = min(2*size, b.max)
		b.block = make([]T, 0, size)
	}
	start := len(b.block)
	b.block = b.block[:start+n]
	return b.block[start : start+n : start+n]
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
	// The store keys share one array, and their strings (for finding a key written twice)
	// one string.
	size := 0
	for _, w := range in {
		size += len(t.items) + len(w.key)
	}
	keyBytes := make([]byte, 0, size)
	keys := make([][]byte, len(in))
	for i, w := range in {
		start := len(keyBytes)
		keyBytes = append(append(keyBytes, t.items...), w.key...)
		keys[i] = keyBytes[start:len(keyBytes):len(keyBytes)]
	}
	keyStrings := string(keyBytes)
	unlock, err := s.lockItems([]*table{t}, keys...)
	if err != nil {
		return 0, err
	}
	defer unlock()
	r := residencyOf(t.currentSettings().tags)
	// heldState is what a key holds as the frame's writes go: its stamp, its item (read
	// when first needed: not for writes found stale) and its mutation.
	type heldState struct {
		item     attr.Item
		itemRead bool
		stamp    stampEntry
		mut      *mutation
	}
	held := make([]heldState, 0, len(in)) // never grows past len(in): pointers into it stay
	pending := make(map[string]int, len(in))
	readHeldItem := func(h *heldState, key []byte) error {
		if h.itemRead {
			return nil
		}
		item, err := s.readItem(s.store, key)
		h.item, h.itemRead = item, err == nil
		return err
	}
	// One allocation each for the frame's mutations, origins and stamps.
	mutations := make([]mutation, 0, len(in))
	newMutation := func(key []byte, old attr.Item) *mutation {
		mutations = append(mutations, mutation{t: t, key: key, old: old})
		return &mutations[len(mutations)-1]
	}
	origins := make([]replicated, len(in))
	stamps := make([]stampEntry, len(in))
	muts := make([]*mutation, 0, len(in))
	var conflicts []*replication.Conflict
	offset := 0
	for i, w := range in {
		// Writes made here after seeing this one get larger timestamps.
		s.clock.Observe(w.version.TS)
		k := keyStrings[offset : offset+len(keys[i])]
		offset += len(keys[i])
		j, ok := pending[k]
		if !ok {
			j = len(held)
			held = append(held, heldState{})
			pending[k] = j
			if held[j].stamp, err = s.readStamp(s.store, t, keys[i]); err != nil {
				return 0, err
			}
		}
		h := &held[j]
		var outcome replication.Outcome
		if w.version.IsZero() {
			if err := readHeldItem(h, keys[i]); err != nil {
				return 0, err
			}
			outcome = replication.Stale
			if h.item == nil && h.stamp.stamp.Version.IsZero() && !h.stamp.deleted && !w.deleted {
				outcome = replication.Successor
			}
		} else {
			outcome = replication.Decide(h.stamp.stamp, w.version, w.context)
		}
		if outcome == replication.Stale {
			continue // neither the item held nor the incoming one is looked at
		}
		if err := readHeldItem(h, keys[i]); err != nil {
			return 0, err
		}
		var newItem attr.Item
		if !w.deleted {
			if newItem, err = attr.DecodeItem(w.item); err != nil {
				return 0, fmt.Errorf("item %x of %s: %w", w.key, t.meta.Name, err)
			}
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
			stamp = &stamps[i]
			*stamp = stampEntry{stamp: replication.Stamp{Version: w.version, Context: merged}, deleted: w.deleted, zones: zones}
		}
		switch outcome {
		case replication.ConflictWins:
			conflicts = append(conflicts, s.conflict(t, w.key, h.stamp.stamp.Version, h.stamp.deleted || h.item == nil, h.item, w.version))
		case replication.ConflictLoses:
			conflicts = append(conflicts, s.conflict(t, w.key, w.version, w.deleted, newItem, h.stamp.stamp.Version))
			stamps[i] = h.stamp
			stamps[i].stamp.Context = merged
			stamp, newItem = &stamps[i], h.item
		}
		m := h.mut
		if m == nil {
			m = newMutation(keys[i], h.item)
			h.mut = m
			muts = append(muts, m)
		} else if m.changed() {
			// A second write of the key in this frame: commit the first on its own record.
			first := *m
			muts[slices.Index(muts, m)] = &first
			m = newMutation(keys[i], h.item)
			h.mut = m
			muts = append(muts, m)
		}
		m.new = newItem
		m.origin = &origins[i]
		*m.origin = replicated{version: w.version, context: w.context, stamp: stamp}
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
