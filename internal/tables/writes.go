package tables

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/polyregion/polyregion/internal/kv"
	"github.com/polyregion/polyregion/internal/tables/attr"
)

// mutation is one item write: old is the item as read under its lock (nil: absent), new
// the item to store (nil: delete it).
type mutation struct {
	t   *table
	key []byte
	old attr.Item
	new attr.Item
	ttl bool // a removal by TTL expiry
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
	b, err := r.Get(key)
	if errors.Is(err, kv.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading item: %w", err)
	}
	item, err := attr.DecodeItem(b)
	if err != nil {
		return nil, fmt.Errorf("decoding item %q: %w", key, err)
	}
	return item, nil
}

// commit writes the mutations that change something, each with its change-log record and
// its index entries, in one batch, synced. The caller holds the items' locks and their
// tables (lockItems), so the tables' index sets do not change meanwhile. A new item that
// one of its table's indexes cannot hold (an index key of the wrong type) fails the whole
// commit with a ValidationException before anything is written.
func (s *Service) commit(rc *requestContext, muts []*mutation) error {
	type reservation struct {
		log   *changeLog
		first uint64
		n     int
	}
	var changing []*mutation
	perLog := map[*changeLog]int{}
	for _, m := range muts {
		if m.changed() {
			changing = append(changing, m)
			perLog[m.t.log]++
		}
	}
	if len(changing) == 0 {
		return nil
	}
	encoded := make([][]byte, len(changing))
	indexed := make([][]indexWrite, len(changing))
	for i, m := range changing {
		if m.new != nil {
			encoded[i] = attr.EncodeItem(m.new)
		}
		w, err := indexWrites(m, encoded[i])
		if err != nil {
			return err
		}
		indexed[i] = w
	}
	var reservations []reservation
	next := map[*changeLog]uint64{}
	for l, n := range perLog {
		first := l.reserve(n)
		reservations = append(reservations, reservation{l, first, n})
		next[l] = first
	}
	defer func() {
		for _, r := range reservations {
			r.log.release(r.first, r.n)
		}
	}()
	b := s.store.NewBatch()
	events := make([]changeEvent, 0, len(changing))
	for i, m := range changing {
		rec := changeRecord{Seq: next[m.t.log], Time: rc.now, Region: s.opts.Region, TTL: m.ttl}
		next[m.t.log]++
		switch {
		case m.old == nil:
			rec.Event = eventInsert
		case m.new == nil:
			rec.Event = eventRemove
		default:
			rec.Event = eventModify
		}
		if m.old != nil {
			rec.Old = attr.EncodeItem(m.old)
			rec.Keys = attr.EncodeItem(m.t.keysOf(m.old))
		}
		if m.new != nil {
			enc := encoded[i]
			rec.New = enc
			rec.Keys = attr.EncodeItem(m.t.keysOf(m.new))
			b.Set(m.key, enc)
		} else {
			b.Delete(m.key)
		}
		for _, w := range indexed[i] {
			if w.value == nil {
				b.Delete(w.key)
			} else {
				b.Set(w.key, w.value)
			}
		}
		b.Set(logKey(m.t.meta.ID, rec.Seq), rec.encode())
		events = append(events, rec.Event)
	}
	if err := s.store.Commit(b, kv.CommitOptions{Sync: true}); err != nil {
		return fmt.Errorf("committing %d item writes: %w", len(changing), err)
	}
	for _, e := range events {
		s.metrics.changes.WithLabelValues(e.String()).Inc()
	}
	return nil
}
