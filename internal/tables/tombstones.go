package tables

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/polyregion/polyregion/internal/kv"
	"github.com/polyregion/polyregion/internal/replication"
)

// Tombstone collection (docs/design/0003, decision 6). A removal leaves its stamp as a
// tombstone so that an older write arriving later loses to it. Every frame a source sends
// when caught up carries a watermark, a timestamp below every write the source will ship
// later; Apply stores the latest with the cursor, in the frame's commit. Once, for every
// other replica of the table, the watermark stored is past a tombstone's timestamp, every
// write older than the tombstone that could still reach this region has been applied here
// (the source ships its own writes in log order, and a frame is applied before the next is
// read): the tombstone has done its work and is dropped. Writes made here are no concern:
// the region's clock observed the tombstone, so they are younger.
//
// Run collects in the background, every tombstoneInterval — scanning a table's stamps only
// when a tombstone was written since the last full pass or the horizon passed the oldest one
// it left — in chunks of tombstoneChunk stamps, each chunk under the items' locks (a write of the key waits, and the stamp is read
// again under the lock). A replica that is cut off sends no watermark and holds collection
// back until it is heard again; a replica in the membership from which no watermark was ever
// stored (a new one, or one whose pull never connected) holds it back too; a removed replica
// (gone from the membership, or CREATION_FAILED: it never wrote) no longer counts.
//
// Not collected: tables with a residency attribute (a new replica in another zone pulls the
// others from their beginning, so it could receive a write older than a tombstone its
// backfill source had dropped), replicas still CREATING here, and tables with no other
// replica.
//
// Conflict records are bounded at the same time: the newest conflictsKept per table are
// kept in each region, older ones are dropped.

const (
	tombstoneInterval = time.Second
	tombstoneChunk    = 256
	conflictsKept     = 10000
)

// tombstoneWork is the state of the collection.
type tombstoneWork struct {
	collected prometheus.Counter

	mu        sync.Mutex
	conflicts map[string]bool            // tables (by name) with conflicts recorded since their last trim
	tables    map[string]*tombstoneState // by table ID
}

// tombstoneState is what the collection knows of one table's tombstones, so that a pass
// scans the stamps only when it may drop something: after a tombstone was written, or once
// the horizon passed the oldest one left by the last pass.
type tombstoneState struct {
	written uint64                // tombstones written (counted by commitWith)
	scanned uint64                // written as of the start of the last full pass
	oldest  replication.Timestamp // the oldest tombstone that pass left (zero: none)
	passed  bool                  // a full pass was made
}

// noteTombstones records that n tombstones of t were written.
func (s *Service) noteTombstones(t *table, n int) {
	s.tombstones.mu.Lock()
	defer s.tombstones.mu.Unlock()
	st := s.tombstoneState(t)
	st.written += uint64(n)
}

// tombstoneState returns t's state; the caller holds s.tombstones.mu.
func (s *Service) tombstoneState(t *table) *tombstoneState {
	if s.tombstones.tables == nil {
		s.tombstones.tables = map[string]*tombstoneState{}
	}
	st := s.tombstones.tables[t.meta.ID]
	if st == nil {
		st = &tombstoneState{}
		s.tombstones.tables[t.meta.ID] = st
	}
	return st
}

// initTombstones makes the collection's metric.
func (s *Service) initTombstones() error {
	c := prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "polyregion", Subsystem: "tables", Name: "tombstones_collected_total",
		Help: "Tombstones of global tables dropped once every other replica's watermark passed them.",
	})
	if s.opts.Registerer != nil {
		var err error
		if c, err = register(s.opts.Registerer, c); err != nil {
			return fmt.Errorf("tables: registering metrics: %w", err)
		}
	}
	s.tombstones.collected = c
	return nil
}

// noteConflicts records that n conflicts were recorded for t (trimmed by the next pass).
func (s *Service) noteConflicts(t *table, n int) {
	if n == 0 {
		return
	}
	s.tombstones.mu.Lock()
	defer s.tombstones.mu.Unlock()
	if s.tombstones.conflicts == nil {
		s.tombstones.conflicts = map[string]bool{}
	}
	s.tombstones.conflicts[t.meta.Name] = true
}

// runTombstones collects tombstones and trims conflict records until ctx ends.
func (s *Service) runTombstones(ctx context.Context) {
	every := s.opts.tombstoneInterval
	if every <= 0 {
		every = tombstoneInterval
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		s.mu.RLock()
		var ts []*table
		for _, t := range s.tables {
			if t.currentSettings().global != nil {
				ts = append(ts, t)
			}
		}
		s.mu.RUnlock()
		for _, t := range ts {
			if ctx.Err() != nil {
				return
			}
			if n, err := s.collectTombstones(ctx, t); err != nil && ctx.Err() == nil {
				s.logger.Warn("global table: collecting tombstones failed; will retry", "table", t.meta.Name, "collected", n, "err", err)
			} else if n > 0 {
				s.logger.Debug("global table: tombstones collected", "table", t.meta.Name, "collected", n)
			}
			if err := s.trimConflicts(t); err != nil && ctx.Err() == nil {
				s.logger.Warn("global table: trimming conflict records failed; will retry", "table", t.meta.Name, "err", err)
			}
		}
	}
}

// tombstoneHorizon returns the timestamp below which t's tombstones may be dropped: the
// smallest watermark stored for the other replicas; zero when collection is held back.
func (s *Service) tombstoneHorizon(t *table) (replication.Timestamp, error) {
	set := t.currentSettings()
	g := set.global
	if g == nil || g.replicaOf(s.opts.Region).Status != replicaActive || residencyOf(set.tags).attribute != "" {
		return replication.Timestamp{}, nil
	}
	var h replication.Timestamp
	for _, r := range g.Record.Replicas {
		if r.Region == s.opts.Region || r.Status == replicaCreationFailed {
			continue
		}
		_, wm, err := readCursorState(s.store, t, r.Region, r.ID)
		if err != nil || wm.IsZero() {
			return replication.Timestamp{}, err
		}
		if h.IsZero() || wm.Compare(h) < 0 {
			h = wm
		}
	}
	return h, nil
}

// collectTombstones drops t's tombstones no younger than its horizon (a watermark is below
// every write its source makes later, so one equal to a tombstone's timestamp is past it),
// chunk by chunk, and returns how many it dropped.
func (s *Service) collectTombstones(ctx context.Context, t *table) (int, error) {
	h, err := s.tombstoneHorizon(t)
	if err != nil || h.IsZero() {
		return 0, err
	}
	s.tombstones.mu.Lock()
	st := s.tombstoneState(t)
	written := st.written
	idle := st.passed && written == st.scanned && (st.oldest.IsZero() || h.Compare(st.oldest) < 0)
	s.tombstones.mu.Unlock()
	if idle {
		return 0, nil // nothing written since the last pass, and nothing it left is due
	}
	var oldest replication.Timestamp // of the tombstones left
	prefix := t.stampsPrefix()
	from, end := prefix, kv.PrefixEnd(prefix)
	collected, complete := 0, false
	defer func() {
		if !complete {
			return
		}
		s.tombstones.mu.Lock()
		st.passed, st.scanned, st.oldest = true, written, oldest
		s.tombstones.mu.Unlock()
	}()
	for ctx.Err() == nil {
		it, err := s.store.Iter(from, end)
		if err != nil {
			return collected, err
		}
		var keys [][]byte
		seen := 0
		var last []byte
		for seen < tombstoneChunk && it.Next() {
			seen++
			last = append(last[:0], it.Key()...)
			e, err := decodeStampEntry(it.Value())
			if err != nil {
				_ = it.Close()
				return collected, fmt.Errorf("stamp %q: %w", it.Key(), err)
			}
			switch {
			case !e.deleted:
			case e.stamp.Version.TS.Compare(h) <= 0:
				keys = append(keys, append(bytes.Clone(t.items), it.Key()[len(prefix):]...))
			case oldest.IsZero() || e.stamp.Version.TS.Compare(oldest) < 0:
				oldest = e.stamp.Version.TS
			}
		}
		if err := it.Close(); err != nil {
			return collected, err
		}
		if len(keys) > 0 {
			n, err := s.dropTombstones(t, keys, h)
			collected += n
			if err != nil {
				return collected, err
			}
		}
		if seen < tombstoneChunk {
			complete = true
			break
		}
		from = append(bytes.Clone(last), 0) // not last's array: the next iterator's bound
	}
	return collected, nil
}

// dropTombstones removes, under the items' locks, the stamps of the items under keys that
// are still tombstones no younger than h.
func (s *Service) dropTombstones(t *table, keys [][]byte, h replication.Timestamp) (int, error) {
	unlock, err := s.lockItems([]*table{t}, keys...)
	if err != nil {
		return 0, err
	}
	defer unlock()
	b := s.store.NewBatch()
	n := 0
	for _, k := range keys {
		e, err := s.readStamp(s.store, t, k)
		if err != nil {
			return 0, err
		}
		if !e.deleted || e.stamp.Version.TS.Compare(h) > 0 {
			continue // written again meanwhile
		}
		if item, err := s.readItem(s.store, k); err != nil || item != nil {
			if err != nil {
				return 0, err
			}
			continue
		}
		b.Delete(t.stampKey(k))
		n++
	}
	if n == 0 {
		return 0, nil
	}
	// Not synced: a collection lost in a crash is done again.
	if err := s.store.Commit(b, kv.CommitOptions{}); err != nil {
		return 0, fmt.Errorf("dropping %d tombstones: %w", n, err)
	}
	s.tombstones.collected.Add(float64(n))
	return n, nil
}

// trimConflicts keeps the newest conflictsKept conflict records of t, if conflicts were
// recorded since the last trim.
func (s *Service) trimConflicts(t *table) error {
	s.tombstones.mu.Lock()
	dirty := s.tombstones.conflicts[t.meta.Name]
	delete(s.tombstones.conflicts, t.meta.Name)
	s.tombstones.mu.Unlock()
	if !dirty {
		return nil
	}
	keep := s.opts.conflictsKept
	if keep <= 0 {
		keep = conflictsKept
	}
	b := s.store.NewBatch()
	n, err := replication.TrimConflicts(s.store, b, replicationService, t.meta.Name, keep)
	if err != nil || n == 0 {
		return err
	}
	return s.store.Commit(b, kv.CommitOptions{})
}
