package tables

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/polyregion/polyregion/internal/kv"
	"github.com/polyregion/polyregion/internal/replication"
	"github.com/polyregion/polyregion/internal/tables/attr"
)

// mutation is one item write: old is the item as read under its lock (nil: absent), new
// the item to store (nil: delete it).
type mutation struct {
	t   *table
	key []byte
	old attr.Item
	new attr.Item
	// oldImage is old's stored encoding, when the caller read it with readItemImage; nil:
	// old is encoded for the change-log record.
	oldImage []byte
	ttl      bool // a removal by TTL expiry
	// origin is set for a write pulled from another region (or a backfill); nil for a
	// write made here.
	origin *replicated
}

// replicated is what a write pulled from another region carries into commit.
type replicated struct {
	version replication.Version // the write's (zero: an item written before the table was global)
	context replication.Context // the write's causal context, for the change-log record
	stamp   *stampEntry         // the stamp to store; nil: none
	// image is the encoding (attr.EncodeItem) of new as it came, when it is the incoming
	// write's; nil: encode new.
	image []byte
}

// changed reports whether the mutation changes anything.
func (m *mutation) changed() bool {
	switch {
	case m.old == nil && m.new == nil:
		return false
	case m.old == nil || m.new == nil:
		return true
	}
	return !m.old.Equal(m.new)
}

// lockItems takes the item locks of keys and holds the tables of ts against deletion; the
// returned func releases both. Item locks come first: DeleteTable waits for the writes
// holding a table, and those must never wait for an item lock meanwhile.
func (s *Service) lockItems(ts []*table, keys ...[]byte) (func(), error) {
	unlockItems := s.locks.lock(keys...)
	ts = slices.Clone(ts)
	slices.SortFunc(ts, func(a, b *table) int { return strings.Compare(a.meta.ID, b.meta.ID) })
	ts = slices.Compact(ts)
	var ends []func()
	for _, t := range ts {
		end, err := t.beginWrite()
		if err != nil {
			for _, e := range ends {
				e()
			}
			unlockItems()
			return nil, err
		}
		ends = append(ends, end)
	}
	return func() {
		for _, e := range ends {
			e()
		}
		unlockItems()
	}, nil
}

// readItem returns the item stored under key, nil if there is none.
func (s *Service) readItem(r kv.Reader, key []byte) (attr.Item, error) {
	item, _, err := s.readItemImage(r, key)
	return item, err
}

// readItemImage is readItem with the item's stored encoding (attr.EncodeItem), which a
// write's change-log record can take as the old image instead of encoding it again
// (mutation.oldImage).
func (s *Service) readItemImage(r kv.Reader, key []byte) (attr.Item, []byte, error) {
	b, err := r.Get(key)
	if errors.Is(err, kv.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading item: %w", err)
	}
	item, err := attr.DecodeItem(b)
	if err != nil {
		return nil, nil, fmt.Errorf("decoding item %q: %w", key, err)
	}
	return item, b, nil
}

// commit writes the mutations that change something, each with its change-log record and
// its index entries, in one batch, synced. The caller holds the items' locks and their
// tables (lockItems), so the tables' index sets and global state do not change meanwhile. A
// new item that one of its table's indexes cannot hold (an index key of the wrong type)
// fails the whole commit with a ValidationException before anything is written, as does a
// write that residency forbids.
//
// For a global table, a write made here gets a version (the region's clock, read with its
// sequence number) and a causal context (the stored stamp's, with the version), and the
// key's stamp is stored in the same batch; a write pulled from elsewhere (origin) keeps
// its origin's version and stores the stamp it brings, even when the item itself does not
// change.
func (s *Service) commit(rc *requestContext, muts []*mutation) error {
	return s.commitWith(rc, muts, nil)
}

// commitWith is commit with extra writes (extra, when not nil, adds them to the batch):
// conflict records and cursors of an apply.
func (s *Service) commitWith(rc *requestContext, muts []*mutation, extra func(kv.Batch)) error {
	type reservation struct {
		log     *changeLog
		first   uint64
		n       int
		tss     []replication.Timestamp
		shipped []uint64 // the log's shipped bytes through each number; nil: base for all
		base    uint64
		own     bool // writes made here to a global table: their commit time is kept
	}
	var changing, stampOnly []*mutation
	perLog := map[*changeLog]int{}
	var stampedLog, globalLog map[*changeLog]bool // nil while only regional tables are written
	for _, m := range muts {
		switch {
		case m.changed():
			changing = append(changing, m)
			perLog[m.t.log]++
			if m.t.currentSettings().global != nil {
				if globalLog == nil {
					stampedLog, globalLog = map[*changeLog]bool{}, map[*changeLog]bool{}
				}
				globalLog[m.t.log] = true
				stampedLog[m.t.log] = m.origin == nil
			}
		case m.origin != nil && m.origin.stamp != nil:
			stampOnly = append(stampOnly, m)
		}
	}
	if len(changing) == 0 && len(stampOnly) == 0 && extra == nil {
		return nil
	}
	// What a write made here needs: the residency check (tables with tags only) and, for a
	// global table, the pin it carries and the stamp it descends from.
	var held []stampEntry
	var pins [][]string
	for i, m := range changing {
		if m.origin != nil {
			continue
		}
		set := m.t.currentSettings()
		if len(set.tags) == 0 && set.global == nil {
			continue
		}
		if held == nil {
			held, pins = make([]stampEntry, len(changing)), make([][]string, len(changing))
		}
		pin, err := s.checkResidency(m, set.tags)
		if err != nil {
			return err
		}
		pins[i] = pin
		if set.global != nil {
			if held[i], err = s.readStamp(s.store, m.t, m.key); err != nil {
				return err
			}
		}
	}
	encoded := make([][]byte, len(changing))
	indexed := make([][]indexWrite, len(changing))
	for i, m := range changing {
		switch {
		case m.new != nil && m.origin != nil && m.origin.image != nil:
			encoded[i] = m.origin.image
		case m.new != nil:
			encoded[i] = attr.EncodeItem(m.new)
		}
		w, err := indexWrites(m, encoded[i])
		if err != nil {
			return err
		}
		indexed[i] = w
	}
	// What the writes made here to a global table ship, in their log's order.
	var sizes map[*changeLog][]uint64
	for i, m := range changing {
		if stampedLog[m.t.log] {
			if sizes == nil {
				sizes = map[*changeLog][]uint64{}
			}
			var size uint64
			if m.origin == nil {
				size = shipSize(m, encoded[i])
			}
			sizes[m.t.log] = append(sizes[m.t.log], size)
		}
	}
	reservations := make([]reservation, 0, len(perLog))
	reserved := map[*changeLog]*reservation{}
	next := map[*changeLog]uint64{}
	stamps := map[*changeLog][]replication.Timestamp{}
	for l, n := range perLog {
		r := reservation{log: l, n: n}
		switch {
		case stampedLog[l]:
			r.first, r.tss, r.shipped = l.reserveStamped(n, n, s.clock, sizes[l])
			r.own = true
		case globalLog[l]:
			r.first, r.tss, r.shipped = l.reserveStamped(n, 0, s.clock, nil) // bounded by the clock, for watermarks
		default:
			r.first, r.base = l.reserve(n) // a regional table: no clock
		}
		reservations = append(reservations, r)
		reserved[l] = &reservations[len(reservations)-1]
		next[l] = r.first
		stamps[l] = r.tss
	}
	committed := false
	defer func() {
		// When the commit returned, for replication's latency: the wall clock, as the
		// region's hybrid logical clock and the receivers read it.
		var at int64
		if committed {
			at = time.Now().UnixNano()
		}
		for _, r := range reservations {
			kept := int64(0) // only for writes made here
			if r.own {
				kept = at
			}
			r.log.release(r.first, r.n, committed, kept)
		}
	}()
	b := s.store.NewBatch()
	events := make([]changeEvent, 0, len(changing))
	var notify []string
	var tombstones map[*table]int // written, for the collection (tombstones.go)
	tombstone := func(t *table, st *stampEntry) {
		if st.deleted {
			if tombstones == nil {
				tombstones = map[*table]int{}
			}
			tombstones[t]++
		}
	}
	for i, m := range changing {
		rec := changeRecord{Seq: next[m.t.log], Time: rc.now, Region: s.opts.Region, TTL: m.ttl}
		next[m.t.log]++
		if r := reserved[m.t.log]; r.shipped != nil {
			rec.Shipped = r.shipped[rec.Seq-r.first]
		} else {
			rec.Shipped = r.base
		}
		switch {
		case m.old == nil:
			rec.Event = eventInsert
		case m.new == nil:
			rec.Event = eventRemove
		default:
			rec.Event = eventModify
		}
		if rec.Old = m.oldImage; m.old != nil && rec.Old == nil {
			rec.Old = attr.EncodeItem(m.old)
		}
		if m.new != nil {
			enc := encoded[i]
			rec.New = enc
			rec.Keys = attr.EncodeItem(m.t.keysOf(m.new))
			b.Set(m.key, enc)
		} else {
			rec.Keys = attr.EncodeItem(m.t.keysOf(m.old)) // a change has an old item or a new one
			b.Delete(m.key)
		}
		for _, w := range indexed[i] {
			if w.value == nil {
				b.Delete(w.key)
			} else {
				b.Set(w.key, w.value)
			}
		}
		switch {
		case m.origin != nil:
			rec.Region, rec.TS, rec.Context, rec.TTL = m.origin.version.Region, m.origin.version.TS, m.origin.context, false
			if rec.Region == "" {
				rec.Region = s.opts.Region
			}
			if m.origin.stamp != nil {
				b.Set(m.t.stampKey(m.key), m.origin.stamp.encode())
				tombstone(m.t, m.origin.stamp)
			}
		case stampedLog[m.t.log]:
			tss := stamps[m.t.log]
			v := replication.Version{TS: tss[0], Region: s.opts.Region}
			stamps[m.t.log] = tss[1:]
			rec.TS = v.TS
			rec.Context = held[i].stamp.Context.With(v)
			st := stampEntry{stamp: replication.Stamp{Version: v, Context: rec.Context}, deleted: m.new == nil, zones: pins[i]}
			b.Set(m.t.stampKey(m.key), st.encode())
			tombstone(m.t, &st)
			if !slices.Contains(notify, m.t.meta.Name) {
				notify = append(notify, m.t.meta.Name)
			}
		}
		b.Set(logKey(m.t.meta.ID, rec.Seq), rec.encode())
		events = append(events, rec.Event)
	}
	for _, m := range stampOnly {
		b.Set(m.t.stampKey(m.key), m.origin.stamp.encode())
		tombstone(m.t, m.origin.stamp)
	}
	if extra != nil {
		extra(b)
	}
	if rc.applied {
		for _, r := range reservations {
			if err := s.coverLog(r.log, r.first+uint64(r.n)-1); err != nil {
				return err
			}
		}
	}
	if err := s.store.Commit(b, kv.CommitOptions{Sync: !rc.applied}); err != nil {
		return fmt.Errorf("committing %d item writes: %w", len(changing), err)
	}
	committed = true
	if rc.applied {
		s.applied()
	}
	for _, e := range events {
		s.metrics.changes.WithLabelValues(e.String()).Inc()
	}
	for t, n := range tombstones {
		s.noteTombstones(t, n)
	}
	if srv := s.opts.Replication; srv != nil {
		for _, name := range notify {
			srv.Notify(replicationService, name)
		}
	}
	return nil
}
