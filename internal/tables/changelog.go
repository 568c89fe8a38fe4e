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
	// Shipped is the log's count of shipped bytes through this record (see
	// changeLog.shipped); 0 in records of formats 1 and 2.
	Shipped uint64
}

// version returns the record's write version (zero for a table that was not global).
func (r *changeRecord) version() replication.Version {
	if r.TS.IsZero() {
		return replication.Version{}
	}
	return replication.Version{TS: r.TS, Region: r.Region}
}

// changeRecordVersion is the first byte of every encoded record. Format 1 had no version
// and context, format 2 no shipped bytes; both are still decoded.
const (
	changeRecordVersion   = 3
	changeRecordVersionV2 = 2
	changeRecordVersionV1 = 1
)

// flagTTL marks a removal by TTL expiry.
const flagTTL = 1

// encode returns the record's bytes:
//
//	version(1) uvarint(seq) event(1) flags(1) varint(unix nanos) str(region) str(keys) opt(old) opt(new)
//	ts(12) uvarint(n) (ts(12) str(region))*n uvarint(shipped)
//
// where flags has bit 0 set for a TTL removal, str is uvarint(len) and bytes, opt is
// uvarint(0) for absent or uvarint(len+1) and bytes, ts a replication.Timestamp's 12 bytes
// (the write's version; zeros for a table that is not global), the n pairs the write's
// causal context and shipped the record's Shipped. Format 1 ends after opt(new), format 2
// after the context.
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
	return binary.AppendUvarint(b, r.Shipped)
}

var errBadRecord = errors.New("tables: malformed change-log record")

// decodeChangeRecord parses what encode wrote.
func decodeChangeRecord(b []byte) (*changeRecord, error) {
	r := &changeRecord{}
	if err := r.decode(b, nil); err != nil {
		return nil, err
	}
	return r, nil
}

// decode parses what encode wrote into r, for reading many records with one: it reuses
// the backing array of r.Context, and takes the region names equal to one of regions from
// it rather than allocating them. Keys, Old and New alias b.
func (r *changeRecord) decode(b []byte, regions []string) error {
	*r = changeRecord{Context: r.Context[:0]}
	if err := r.decodeFields(b, regions); err != nil {
		return err
	}
	if len(r.Context) == 0 {
		r.Context = nil
	}
	return nil
}

// internRegion returns the one of regions equal to b, or b as a new string.
func internRegion(b []byte, regions []string) string {
	for _, r := range regions {
		if r == string(b) {
			return r
		}
	}
	return string(b)
}

func (r *changeRecord) decodeFields(b []byte, regions []string) error {
	if len(b) == 0 || b[0] < changeRecordVersionV1 || b[0] > changeRecordVersion {
		return errBadRecord
	}
	format := b[0]
	b = b[1:]
	var n int
	if r.Seq, n = binary.Uvarint(b); n <= 0 {
		return errBadRecord
	}
	b = b[n:]
	if len(b) < 2 || b[1]&^flagTTL != 0 {
		return errBadRecord
	}
	r.Event, r.TTL, b = changeEvent(b[0]), b[1]&flagTTL != 0, b[2:]
	nanos, n := binary.Varint(b)
	if n <= 0 {
		return errBadRecord
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
		return errBadRecord
	}
	r.Region = internRegion(region, regions)
	if r.Keys, ok = str(); !ok {
		return errBadRecord
	}
	for _, img := range []*[]byte{&r.Old, &r.New} {
		l, n := binary.Uvarint(b)
		if n <= 0 {
			return errBadRecord
		}
		if l == 0 {
			b = b[n:]
			continue
		}
		if uint64(len(b)-n) < l-1 {
			return errBadRecord
		}
		*img = b[n : n+int(l-1)]
		b = b[n+int(l-1):]
	}
	if format >= changeRecordVersionV2 {
		var err error
		if r.TS, err = replication.DecodeTimestamp(b); err != nil {
			return errBadRecord
		}
		b = b[replication.TimestampSize:]
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)) {
			return errBadRecord
		}
		b = b[k:]
		for range n {
			ts, err := replication.DecodeTimestamp(b)
			if err != nil {
				return errBadRecord
			}
			b = b[replication.TimestampSize:]
			region, ok := str()
			if !ok {
				return errBadRecord
			}
			r.Context = append(r.Context, replication.Version{TS: ts, Region: internRegion(region, regions)})
		}
	}
	if format >= changeRecordVersion {
		if r.Shipped, n = binary.Uvarint(b); n <= 0 {
			return errBadRecord
		}
		b = b[n:]
	}
	if len(b) != 0 {
		return errBadRecord
	}
	return nil
}

// logKey is the store key of a table's record seq.
func logKey(tableID string, seq uint64) []byte {
	k := make([]byte, 0, len(logPrefix)+len(tableID)+1+8)
	k = append(k, logPrefix...)
	k = append(k, tableID...)
	k = append(k, '/')
	return binary.BigEndian.AppendUint64(k, seq)
}

// lastLogSeq returns the highest sequence number in a table's log and the shipped bytes
// through it (changeLog.shipped, from its record), both 0 if the log is empty.
func lastLogSeq(r kv.Reader, tableID string) (last, shipped uint64, err error) {
	prefix := []byte(logPrefix + tableID + "/")
	it, err := r.ReverseIter(prefix, kv.PrefixEnd(prefix))
	if err != nil {
		return 0, 0, err
	}
	defer it.Close()
	if it.Next() {
		k := it.Key()[len(prefix):]
		if len(k) != 8 {
			return 0, 0, fmt.Errorf("%w: key of %d bytes", errBadRecord, len(k)+len(prefix))
		}
		last = binary.BigEndian.Uint64(k)
		rec, err := decodeChangeRecord(it.Value())
		if err != nil {
			return 0, 0, fmt.Errorf("change-log record %d: %w", last, err)
		}
		shipped = rec.Shipped
	}
	return last, shipped, it.Close()
}

// changeLog hands out a table's sequence numbers. Writers commit concurrently, so a record
// may become visible before one with a lower number; Frontier says up to where the log has
// no holes that a commit in flight may still fill, for readers that tail it.
//
// For a global table, reserve also reads the region's clock for the writes made here, in
// the same critical section, so that their timestamps grow with their sequence numbers;
// every number in flight keeps a bound below which no record after it is stamped, from
// which position derives the watermark (docs/design/0003, decision 6).
//
// The log also counts the bytes that replication ships of the writes made here (shipSize:
// a record's key encoding and payload, as Read puts them on the wire): each record stores
// the count through itself (changeRecord.Shipped), handed out with its number, so that the
// bytes a replica has still to pull after a position are the count at the head less the
// count at that position (logPosition.pendingBytes). Writes pulled from elsewhere and
// writes to a table that is not global ship nothing.
type changeLog struct {
	tableID string

	mu       sync.Mutex
	last     uint64            // the highest number handed out
	shipped  uint64            // shipped bytes through last, numbers in flight included
	inflight map[uint64]flight // handed out, not yet committed or abandoned
	// abandoned holds the shipped bytes of numbers released without a record (a failed
	// commit) after a later number had been handed out, whose count includes them; a
	// failed commit of the last numbers handed out takes its bytes back from shipped
	// instead. Kept until the process ends: after a restart, a replica behind such a
	// number is counted its bytes as pending until it passes it.
	abandoned map[uint64]uint64

	// committed holds, for the latest committedKept numbers of writes made here, when
	// their commit returned (at seq % committedKept); nil until the first.
	committed []commitTime

	// ceilMu serializes raising the ceiling (Service.coverLog, lazysync.go).
	ceilMu  sync.Mutex
	ceiling uint64 // stored: no number above it was handed out to a commit that did not wait for the disk
}

// committedKept is how many of its latest numbers a log keeps the commit times of: the
// records a replica behind by more (after a partition, say) measure their latency from their
// timestamps instead.
const committedKept = 1 << 12

// commitTime is when the commit of number seq returned, in Unix nanoseconds.
type commitTime struct {
	seq uint64
	at  int64
}

// fillCommitted sets each record's Committed from the commit times kept (0 if not kept).
func (l *changeLog) fillCommitted(recs []replication.Record) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.committed == nil {
		return
	}
	for i := range recs {
		if c := l.committed[recs[i].Seq%committedKept]; c.seq == recs[i].Seq {
			recs[i].Committed = c.at
		}
	}
}

// flight is a number in flight.
type flight struct {
	bound   replication.Timestamp // no record after it is stamped below this
	size    uint64                // the number's shipped bytes
	shipped uint64                // the log's shipped bytes through the number
}

func newChangeLog(tableID string, last uint64) *changeLog {
	return &changeLog{tableID: tableID, last: last, inflight: map[uint64]flight{}}
}

// reserve hands out n consecutive numbers, the first returned, which ship nothing, with the
// log's shipped bytes through each of them; release each when its commit has returned,
// whatever its result.
func (l *changeLog) reserve(n int) (first, shipped uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	first = l.last + 1
	for i := 0; i < n; i++ {
		l.last++
		l.inflight[l.last] = flight{shipped: l.shipped}
	}
	return first, l.shipped
}

// reserveStamped hands out n consecutive numbers, the first returned, and reads clock (nil:
// none) once for each of the first stamped of them, in order: the timestamps of the writes
// made here. The others (replicated writes, which carry their origin's version) are bounded
// by the clock's latest reading. sizes (nil: all 0) are the numbers' shipped bytes; shipped
// are the log's shipped bytes through each number.
func (l *changeLog) reserveStamped(n, stamped int, clock *replication.Clock, sizes []uint64) (first uint64, tss []replication.Timestamp, shipped []uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	first = l.last + 1
	shipped = make([]uint64, n)
	var bound replication.Timestamp
	if clock != nil && stamped < n {
		bound = clock.Peek()
	}
	for i := 0; i < n; i++ {
		l.last++
		f := flight{bound: bound}
		if clock != nil && i < stamped {
			f.bound = clock.Now()
			tss = append(tss, f.bound)
		}
		if i < len(sizes) {
			f.size = sizes[i]
		}
		l.shipped += f.size
		f.shipped = l.shipped
		l.inflight[l.last] = f
		shipped[i] = l.shipped
	}
	return first, tss, shipped
}

// logPosition is a change log's state at one instant, as Read serves it.
type logPosition struct {
	frontier, last uint64
	watermark      replication.Timestamp
	shipped        uint64 // shipped bytes through last
	atFrontier     uint64 // shipped bytes through frontier
	// atAfter is the shipped bytes through the position asked for, when it is between
	// the frontier and last and a number in flight tells them (afterKnown).
	atAfter    uint64
	afterKnown bool
	abandoned  map[uint64]uint64 // those after the position asked for; nil: none
}

// pendingBytes returns the shipped bytes after position pos (through which the log
// shipped shippedAtPos): of the records after it, and of the numbers in flight.
func (p *logPosition) pendingBytes(pos, shippedAtPos uint64) uint64 {
	if pos >= p.last || shippedAtPos >= p.shipped {
		return 0
	}
	n := p.shipped - shippedAtPos
	for s, size := range p.abandoned {
		if s > pos {
			n -= min(n, size)
		}
	}
	return n
}

// position returns, at one instant, the frontier, the last number handed out and a
// timestamp below every write stamped after the frontier (a new reading of clock when
// nothing is in flight; zero when clock is nil).
func (l *changeLog) position(clock *replication.Clock) (frontier, last uint64, watermark replication.Timestamp) {
	p := l.readPosition(clock, ^uint64(0))
	return p.frontier, p.last, p.watermark
}

// readPosition is position with the log's shipped bytes, for a reader at position after.
func (l *changeLog) readPosition(clock *replication.Clock, after uint64) logPosition {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := logPosition{frontier: l.last, last: l.last, shipped: l.shipped, atFrontier: l.shipped}
	var low flight
	lowSeq := uint64(0)
	for s, f := range l.inflight {
		if s-1 < p.frontier {
			p.frontier = s - 1
		}
		if lowSeq == 0 || s < lowSeq {
			lowSeq, low = s, f
		}
	}
	if lowSeq != 0 {
		p.atFrontier = low.shipped - low.size
	}
	if after > p.frontier && after < p.last {
		if f, ok := l.inflight[after+1]; ok {
			p.atAfter, p.afterKnown = f.shipped-f.size, true
		} else if f, ok := l.inflight[after]; ok {
			p.atAfter, p.afterKnown = f.shipped, true
		}
	}
	for s, size := range l.abandoned {
		if s > after {
			if p.abandoned == nil {
				p.abandoned = map[uint64]uint64{}
			}
			p.abandoned[s] = size
		}
	}
	switch {
	case clock == nil:
	case lowSeq == 0:
		// A reading, not a peek: an idle region's watermark moves on with its clock, so
		// that it does not hold tombstone collection back at its last write.
		p.watermark = clock.Now()
	default:
		p.watermark = before(low.bound)
	}
	return p
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

// release ends the flight of n numbers from first; committed says whether their records
// were committed (or none will ever be). at, when not 0, is when the commit of writes made
// here returned (Unix nanoseconds), kept for replication (committedAt).
func (l *changeLog) release(first uint64, n int, committed bool, at int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if committed && at != 0 {
		if l.committed == nil {
			l.committed = make([]commitTime, committedKept)
		}
		for i := range uint64(n) {
			l.committed[(first+i)%committedKept] = commitTime{seq: first + i, at: at}
		}
	}
	tail := first+uint64(n)-1 == l.last // no number handed out after them counts their bytes
	for i := 0; i < n; i++ {
		s := first + uint64(i)
		f := l.inflight[s]
		delete(l.inflight, s)
		switch {
		case committed || f.size == 0:
		case tail:
			l.shipped -= f.size
		default:
			if l.abandoned == nil {
				l.abandoned = map[uint64]uint64{}
			}
			l.abandoned[s] = f.size
		}
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
