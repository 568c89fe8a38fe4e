package tables

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/polyregion/polyregion/internal/kv"
	"github.com/polyregion/polyregion/internal/replication"
)

// changeEvent is the kind of an item change, as Streams names it.
type changeEvent byte

// Events.
const (
	eventInsert changeEvent = 1
	eventModify changeEvent = 2
	eventRemove changeEvent = 3
)

func (e changeEvent) String() string {
	switch e {
	case eventInsert:
		return "INSERT"
	case eventModify:
		return "MODIFY"
	case eventRemove:
		return "REMOVE"
	}
	return fmt.Sprintf("changeEvent(%d)", byte(e))
}

// changeRecord is one record of a table's change log, stored under
// tables/log/<tableID>/<seq as 8 big-endian bytes>. Keys, Old and New are attr.EncodeItem
// encodings; Old is nil for an INSERT, New for a REMOVE.
type changeRecord struct {
	Seq    uint64
	Event  changeEvent
	TTL    bool // a REMOVE made by TTL expiry, not by a request
	Time   time.Time
	Region string // the region where the change was made
	Keys   []byte
	Old    []byte
	New    []byte
	// TS and Context are the write's version (TS at Region) and causal context, for a
	// write to a global table; TS is zero otherwise, and in records of format 1.
	TS      replication.Timestamp
	Context replication.Context
}

// version returns the record's write version (zero for a table that was not global).
func (r *changeRecord) version() replication.Version {
	if r.TS.IsZero() {
		return replication.Version{}
	}
	return replication.Version{TS: r.TS, Region: r.Region}
}

// changeRecordVersion is the first byte of every encoded record. Format 1 had no version
// and context; it is still decoded.
const (
	changeRecordVersion   = 2
	changeRecordVersionV1 = 1
)

// flagTTL marks a removal by TTL expiry.
const flagTTL = 1

// encode returns the record's bytes:
//
//	version(1) uvarint(seq) event(1) flags(1) varint(unix nanos) str(region) str(keys) opt(old) opt(new)
//	ts(12) uvarint(n) (ts(12) str(region))*n
//
// where flags has bit 0 set for a TTL removal, str is uvarint(len) and bytes, opt is
// uvarint(0) for absent or uvarint(len+1) and bytes, ts a replication.Timestamp's 12 bytes
// (the write's version; zeros for a table that is not global) and the n pairs the write's
// causal context. Format 1 ends after opt(new).
func (r *changeRecord) encode() []byte {
	b := make([]byte, 0, 32+len(r.Region)+len(r.Keys)+len(r.Old)+len(r.New))
	b = append(b, changeRecordVersion)
	b = binary.AppendUvarint(b, r.Seq)
	var flags byte
	if r.TTL {
		flags |= flagTTL
	}
	b = append(b, byte(r.Event), flags)
	b = binary.AppendVarint(b, r.Time.UnixNano())
	b = binary.AppendUvarint(b, uint64(len(r.Region)))
	b = append(b, r.Region...)
	b = binary.AppendUvarint(b, uint64(len(r.Keys)))
	b = append(b, r.Keys...)
	for _, img := range [][]byte{r.Old, r.New} {
		if img == nil {
			b = binary.AppendUvarint(b, 0)
			continue
		}
		b = binary.AppendUvarint(b, uint64(len(img))+1)
		b = append(b, img...)
	}
	b = r.TS.Append(b)
	b = binary.AppendUvarint(b, uint64(len(r.Context)))
	for _, v := range r.Context {
		b = v.TS.Append(b)
		b = binary.AppendUvarint(b, uint64(len(v.Region)))
		b = append(b, v.Region...)
	}
	return b
}

var errBadRecord = errors.New("tables: malformed change-log record")

// decodeChangeRecord parses what encode wrote.
func decodeChangeRecord(b []byte) (*changeRecord, error) {
	if len(b) == 0 || b[0] != changeRecordVersion && b[0] != changeRecordVersionV1 {
		return nil, errBadRecord
	}
	format := b[0]
	b = b[1:]
	r := &changeRecord{}
	var n int
	if r.Seq, n = binary.Uvarint(b); n <= 0 {
		return nil, errBadRecord
	}
	b = b[n:]
	if len(b) < 2 || b[1]&^flagTTL != 0 {
		return nil, errBadRecord
	}
	r.Event, r.TTL, b = changeEvent(b[0]), b[1]&flagTTL != 0, b[2:]
	nanos, n := binary.Varint(b)
	if n <= 0 {
		return nil, errBadRecord
	}
	r.Time, b = time.Unix(0, nanos).UTC(), b[n:]
	str := func() ([]byte, bool) {
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l {
			return nil, false
		}
		s := b[n : n+int(l)]
		b = b[n+int(l):]
		return s, true
	}
	region, ok := str()
	if !ok {
		return nil, errBadRecord
	}
	r.Region = string(region)
	if r.Keys, ok = str(); !ok {
		return nil, errBadRecord
	}
	for _, img := range []*[]byte{&r.Old, &r.New} {
		l, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, errBadRecord
		}
		if l == 0 {
			b = b[n:]
			continue
		}
		if uint64(len(b)-n) < l-1 {
			return nil, errBadRecord
		}
		*img = b[n : n+int(l-1)]
		b = b[n+int(l-1):]
	}
	if format == changeRecordVersion {
		var err error
		if r.TS, err = replication.DecodeTimestamp(b); err != nil {
			return nil, errBadRecord
		}
		b = b[replication.TimestampSize:]
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)) {
			return nil, errBadRecord
		}
		b = b[k:]
		for range n {
			ts, err := replication.DecodeTimestamp(b)
			if err != nil {
				return nil, errBadRecord
			}
			b = b[replication.TimestampSize:]
			region, ok := str()
			if !ok {
				return nil, errBadRecord
			}
			r.Context = append(r.Context, replication.Version{TS: ts, Region: string(region)})
		}
	}
	if len(b) != 0 {
		return nil, errBadRecord
	}
	return r, nil
}

// logKey is the store key of a table's record seq.
func logKey(tableID string, seq uint64) []byte {
	k := make([]byte, 0, len(logPrefix)+len(tableID)+1+8)
	k = append(k, logPrefix...)
	k = append(k, tableID...)
	k = append(k, '/')
	return binary.BigEndian.AppendUint64(k, seq)
}

// lastLogSeq returns the highest sequence number in a table's log, 0 if it is empty.
func lastLogSeq(r kv.Reader, tableID string) (uint64, error) {
	prefix := []byte(logPrefix + tableID + "/")
	it, err := r.ReverseIter(prefix, kv.PrefixEnd(prefix))
	if err != nil {
		return 0, err
	}
	defer it.Close()
	var last uint64
	if it.Next() {
		k := it.Key()[len(prefix):]
		if len(k) != 8 {
			return 0, fmt.Errorf("%w: key of %d bytes", errBadRecord, len(k)+len(prefix))
		}
		last = binary.BigEndian.Uint64(k)
	}
	return last, it.Close()
}

// changeLog hands out a table's sequence numbers. Writers commit concurrently, so a record
// may become visible before one with a lower number; Frontier says up to where the log has
// no holes that a commit in flight may still fill, for readers that tail it.
//
// For a global table, reserve also reads the region's clock for the writes made here, in
// the same critical section, so that their timestamps grow with their sequence numbers;
// every number in flight keeps a bound below which no record after it is stamped, from
// which position derives the watermark (docs/design/0003, decision 6).
type changeLog struct {
	tableID string

	mu       sync.Mutex
	last     uint64                           // the highest number handed out
	inflight map[uint64]replication.Timestamp // handed out, not yet committed or abandoned: its bound
}

func newChangeLog(tableID string, last uint64) *changeLog {
	return &changeLog{tableID: tableID, last: last, inflight: map[uint64]replication.Timestamp{}}
}

// reserve hands out n consecutive numbers, the first returned; release each when its
// commit has returned, whatever its result.
func (l *changeLog) reserve(n int) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	first := l.last + 1
	for i := 0; i < n; i++ {
		l.last++
		l.inflight[l.last] = replication.Timestamp{}
	}
	return first
}

// reserveStamped hands out n consecutive numbers, the first returned, and reads clock (nil:
// none) once for each of the first stamped of them, in order: the timestamps of the writes
// made here. The others (replicated writes, which carry their origin's version) are bounded
// by the clock's latest reading.
func (l *changeLog) reserveStamped(n, stamped int, clock *replication.Clock) (uint64, []replication.Timestamp) {
	l.mu.Lock()
	defer l.mu.Unlock()
	first := l.last + 1
	var tss []replication.Timestamp
	var bound replication.Timestamp
	if clock != nil && stamped < n {
		bound = clock.Peek()
	}
	for i := 0; i < n; i++ {
		l.last++
		if clock != nil && i < stamped {
			ts := clock.Now()
			tss = append(tss, ts)
			l.inflight[l.last] = ts
		} else {
			l.inflight[l.last] = bound
		}
	}
	return first, tss
}

// position returns, at one instant, the frontier, the last number handed out and a
// timestamp below every write stamped after the frontier (a new reading of clock when
// nothing is in flight; zero when clock is nil).
func (l *changeLog) position(clock *replication.Clock) (frontier, last uint64, watermark replication.Timestamp) {
	l.mu.Lock()
	defer l.mu.Unlock()
	frontier, last = l.last, l.last
	var low replication.Timestamp
	lowSeq := uint64(0)
	for s, ts := range l.inflight {
		if s-1 < frontier {
			frontier = s - 1
		}
		if lowSeq == 0 || s < lowSeq {
			lowSeq, low = s, ts
		}
	}
	if clock == nil {
		return frontier, last, replication.Timestamp{}
	}
	if lowSeq == 0 {
		// A reading, not a peek: an idle region's watermark moves on with its clock, so
		// that it does not hold tombstone collection back at its last write.
		return frontier, last, clock.Now()
	}
	return frontier, last, before(low)
}

// before returns the timestamp just below ts (zero for zero).
func before(ts replication.Timestamp) replication.Timestamp {
	switch {
	case ts.IsZero():
		return ts
	case ts.Logical > 0:
		ts.Logical--
	default:
		ts.Wall--
		ts.Logical = ^uint32(0)
	}
	return ts
}

// next returns the number the next reservation will start at.
func (l *changeLog) next() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last + 1
}

// release ends the flight of n numbers from first.
func (l *changeLog) release(first uint64, n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := 0; i < n; i++ {
		delete(l.inflight, first+uint64(i))
	}
}

// frontier returns the highest sequence number below which no commit is in flight: every
// record up to it that will ever exist is in the store.
func (l *changeLog) frontier() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.last
	for s := range l.inflight {
		if s-1 < f {
			f = s - 1
		}
	}
	return f
}
