package tables

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/polyregion/polyregion/internal/kv"
)

// Writes pulled from another region are committed without waiting for the disk
// (docs/design/0003-replication.md, decision 4). Losing them in a crash loses nothing:
// their source keeps them in its log, and the cursor stored in the same batch goes back
// with them, so they are pulled again. A store's commits survive a crash as a prefix, so
// every synced commit — each write made here — makes the applies before it durable too:
// nothing this region did after seeing an applied write can outlive it. Two things need
// care:
//
//   - The applied writes take numbers in this region's change log, and a reader of the
//     log (a peer pulling this region's writes, a stream consumer) may move past them.
//     After a crash that lost them, those numbers must not be handed out again, or the
//     reader would skip the writes that took them. Each table's log therefore keeps a
//     ceiling in the store, synced before any number above it goes to a commit that does
//     not wait (coverLog), and numbering starts above it after a restart.
//   - A region whose source is lost for good keeps only what it synced. Run syncs
//     applied writes within applySyncDelay of their commit, in the background, several
//     frames at once.

// logCeilingStep is how far above the numbers in use coverLog raises a log's ceiling: one
// synced commit per this many applied writes, and at most this many numbers skipped
// after a restart.
const logCeilingStep = 1 << 13

// applySyncDelay bounds the time an applied write stays only in memory and the OS's cache.
const applySyncDelay = 100 * time.Millisecond

// logCeilingPrefix keys each table's log ceiling: tables/logceil/<table ID>.
const logCeilingPrefix = "tables/logceil/"

func logCeilingKey(tableID string) []byte { return []byte(logCeilingPrefix + tableID) }

// readLogCeiling returns the ceiling stored for a table's log, 0 if none.
func readLogCeiling(r kv.Reader, tableID string) (uint64, error) {
	v, err := r.Get(logCeilingKey(tableID))
	switch {
	case errors.Is(err, kv.ErrNotFound):
		return 0, nil
	case err != nil:
		return 0, err
	case len(v) != 8:
		return 0, fmt.Errorf("%w: log ceiling of %d bytes", errBadRecord, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// coverLog makes sure the store holds a ceiling of l at or above last, the highest number
// of a commit that will not wait for the disk, raising it (synced) if needed.
func (s *Service) coverLog(l *changeLog, last uint64) error {
	l.ceilMu.Lock()
	defer l.ceilMu.Unlock()
	if last <= l.ceiling {
		return nil
	}
	c := last + logCeilingStep
	b := s.store.NewBatch()
	b.Set(logCeilingKey(l.tableID), binary.BigEndian.AppendUint64(nil, c))
	if err := s.store.Commit(b, kv.CommitOptions{Sync: true}); err != nil {
		return fmt.Errorf("raising the change log's ceiling to %d: %w", c, err)
	}
	l.ceiling = c
	return nil
}

// applied notes a commit that did not wait for the disk, for runApplySync.
func (s *Service) applied() {
	select {
	case s.applySync <- struct{}{}:
	default:
	}
}

// runApplySync syncs the store within the delay (applySyncDelay unless a test set
// another) of each commit that did not wait for it, until ctx ends; then once more.
func (s *Service) runApplySync(ctx context.Context) {
	delay := s.opts.applySyncDelay
	if delay <= 0 {
		delay = applySyncDelay
	}
	sync := func() {
		if err := s.store.Sync(); err != nil && !errors.Is(err, kv.ErrClosed) {
			s.logger.Warn("syncing applied writes failed; will retry", "err", err)
			s.applied()
		}
	}
	defer sync()
	t := time.NewTimer(delay)
	t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.applySync:
		}
		t.Reset(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		sync()
	}
}
