package replication

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
)

// Record is one change as a source serves it to its peers.
type Record struct {
	// Seq is the record's position in the source's log of the stream.
	Seq uint64
	// Version is the write's version; Version.Region is the region where it was made.
	Version Version
	// Context is the write's causal history, Version included: see [Context].
	Context Context
	// Key identifies what was written within the stream.
	Key []byte
	// Delete marks a removal of Key.
	Delete bool
	// Data is the service's payload: the new image, and whatever else it ships.
	Data []byte
	// Committed is when the write's commit returned at the source, in Unix nanoseconds:
	// from then on it was acknowledged there, and replication's latency is measured from
	// it. 0: not known (a write committed before the source last started, or a frame of
	// version 1 or 2); the latency is then measured from Version.TS, read before the commit.
	Committed int64
}

// Batch is what one pull answer carries: records in log order and the source's
// position.
type Batch struct {
	Records []Record
	// Next is how far the source read its log for this batch: every record up to Next
	// that the receiver needs is in Records (the others were not of the source's own
	// writes). The receiver stores Next as its cursor with the records applied.
	Next uint64
	// Head is the last sequence number in the source's log when it was read.
	Head uint64
	// Watermark, when not zero, is a timestamp below every record the source will ever
	// add to the stream after Next. Sources set it when Next caught up with every commit.
	Watermark Timestamp
	// PendingBytes is how many bytes of the source's own writes to the stream come after
	// Next, up to Head: the service's measure of what it ships (tables: each record's key
	// and payload), commits in flight included. Frames of version 1 carry none (0).
	PendingBytes uint64
}

// Size limits of the wire format.
const (
	// MaxFrameSize bounds one encoded batch.
	MaxFrameSize = 16 << 20
	// DefaultBatchBytes is how many bytes of records a source puts in one batch.
	DefaultBatchBytes = 1 << 20
)

// ErrMalformed is returned (wrapped) for bytes that are not a valid frame.
var ErrMalformed = errors.New("replication: malformed frame")

// Frame versions: version 1 had no PendingBytes, version 2 no Record.Committed; both are
// still decoded.
const (
	frameVersion   = 3
	frameVersionV2 = 2
	frameVersionV1 = 1
)

const flagDelete = 1

// AppendBatch appends the frame of b to dst: a 4-byte big-endian length and the
// encoded batch:
//
//	version(1) uvarint(next) uvarint(head) ts(watermark) uvarint(pending bytes) uvarint(count) record*
//	record = uvarint(seq) ts str(region) uvarint(n) (ts str(region))*n flags(1) str(key) str(data) varint(committed)
//
// where ts is a Timestamp's 12 bytes and str is uvarint(len) and the bytes. Version 2 has
// no committed time; version 1 no pending bytes either.
func AppendBatch(dst []byte, b *Batch) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, frameVersion)
	dst = binary.AppendUvarint(dst, b.Next)
	dst = binary.AppendUvarint(dst, b.Head)
	dst = b.Watermark.Append(dst)
	dst = binary.AppendUvarint(dst, b.PendingBytes)
	dst = binary.AppendUvarint(dst, uint64(len(b.Records)))
	for i := range b.Records {
		r := &b.Records[i]
		dst = binary.AppendUvarint(dst, r.Seq)
		dst = r.Version.TS.Append(dst)
		dst = appendString(dst, []byte(r.Version.Region))
		dst = binary.AppendUvarint(dst, uint64(len(r.Context)))
		for _, v := range r.Context {
			dst = v.TS.Append(dst)
			dst = appendString(dst, []byte(v.Region))
		}
		var flags byte
		if r.Delete {
			flags |= flagDelete
		}
		dst = append(dst, flags)
		dst = appendString(dst, r.Key)
		dst = appendString(dst, r.Data)
		dst = binary.AppendVarint(dst, r.Committed)
	}
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst
}

func appendString(dst, s []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// ReadBatch reads one frame from r into a new Batch. It returns io.EOF only
// when r ends before the frame's first byte.
func ReadBatch(r io.Reader) (*Batch, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: frame length cut short", ErrMalformed)
		}
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > MaxFrameSize {
		return nil, fmt.Errorf("%w: frame of %d bytes (at most %d)", ErrMalformed, n, MaxFrameSize)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: frame of %d bytes cut short", ErrMalformed, n)
		}
		return nil, err
	}
	return DecodeBatch(buf)
}

// DecodeBatch parses an encoded batch (a frame without its length). The
// records' Key and Data alias buf; their Contexts share backing arrays, each
// capped at its length, and their region names are shared strings.
func DecodeBatch(buf []byte) (*Batch, error) {
	d := decoder{buf: buf}
	v := d.byte()
	if d.err == nil && (v < frameVersionV1 || v > frameVersion) {
		return nil, fmt.Errorf("%w: version %d (want %d to %d)", ErrMalformed, v, frameVersionV1, frameVersion)
	}
	b := &Batch{Next: d.uvarint(), Head: d.uvarint(), Watermark: d.ts()}
	if v >= frameVersionV2 {
		b.PendingBytes = d.uvarint()
	}
	count := d.uvarint()
	// A record takes at least 18 bytes, so a count the rest cannot hold is a lie.
	if d.err == nil && count > uint64(len(d.buf))/18 {
		return nil, fmt.Errorf("%w: %d records in %d bytes", ErrMalformed, count, len(d.buf))
	}
	if d.err == nil {
		b.Records = make([]Record, count)
	}
	// The records' contexts share backing arrays, each context capped at its length (an
	// append to one copies it); a version takes at least TimestampSize+1 bytes, which
	// bounds what is allocated ahead.
	var versions []Version
	for i := 0; d.err == nil && i < int(count); i++ {
		r := &b.Records[i]
		r.Seq = d.uvarint()
		r.Version.TS = d.ts()
		r.Version.Region = d.region()
		n := d.uvarint()
		if d.err == nil && n > uint64(len(d.buf))/(TimestampSize+1) {
			d.fail("context of %d versions in %d bytes", n, len(d.buf))
		}
		if d.err == nil && n > 0 {
			if uint64(cap(versions)-len(versions)) < n {
				versions = make([]Version, 0, max(n, min(n*(count-uint64(i)), uint64(len(d.buf))/(TimestampSize+1))))
			}
			start := len(versions)
			for j := 0; d.err == nil && j < int(n); j++ {
				versions = append(versions, Version{TS: d.ts(), Region: d.region()})
			}
			r.Context = versions[start:len(versions):len(versions)]
		}
		flags := d.byte()
		if d.err == nil && flags&^flagDelete != 0 {
			d.fail("unknown flags %#x", flags)
		}
		r.Delete = flags&flagDelete != 0
		r.Key = d.str()
		r.Data = d.str()
		if v >= frameVersion {
			r.Committed = d.varint()
		}
	}
	if d.err == nil && len(d.buf) != 0 {
		d.fail("%d bytes after the last record", len(d.buf))
	}
	if d.err != nil {
		return nil, d.err
	}
	return b, nil
}

// decoder reads a frame's fields; the first error sticks and later reads return
// zero values.
type decoder struct {
	buf []byte
	err error
}

// region reads a region name (a str).
func (d *decoder) region() string { return internRegion(d.str()) }

// regionNames are the region names read so far, for internRegion: a fleet has a handful of
// regions, named in every version read. Copied on write; at most maxRegionNames, so that
// bytes that are not region names (corrupt or hostile) cannot grow it without bound.
var regionNames struct {
	mu    sync.Mutex
	names atomic.Pointer[[]string]
}

const maxRegionNames = 64

// internRegion returns b as a string, the same string for the same region name each time
// (but past maxRegionNames names), so that decoding a version does not allocate.
func internRegion(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if names := regionNames.names.Load(); names != nil {
		for _, n := range *names {
			if n == string(b) {
				return n
			}
		}
	}
	regionNames.mu.Lock()
	defer regionNames.mu.Unlock()
	var names []string
	if p := regionNames.names.Load(); p != nil {
		names = *p
	}
	for _, n := range names {
		if n == string(b) {
			return n
		}
	}
	s := string(b)
	if len(names) < maxRegionNames {
		names = append(slices.Clip(names), s)
		regionNames.names.Store(&names)
	}
	return s
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.buf) == 0 {
		d.fail("cut short")
		return 0
	}
	v := d.buf[0]
	d.buf = d.buf[1:]
	return v
}

func (d *decoder) uvarint() uint64 { return decodeVarint(d, binary.Uvarint) }

func (d *decoder) varint() int64 { return decodeVarint(d, binary.Varint) }

// decodeVarint reads a varint with read (binary.Uvarint or binary.Varint).
func decodeVarint[T uint64 | int64](d *decoder, read func([]byte) (T, int)) T {
	if d.err != nil {
		return 0
	}
	v, n := read(d.buf)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) ts() Timestamp {
	if d.err != nil {
		return Timestamp{}
	}
	t, err := DecodeTimestamp(d.buf)
	if err != nil {
		d.fail("cut short in a timestamp")
		return Timestamp{}
	}
	d.buf = d.buf[TimestampSize:]
	return t
}

func (d *decoder) str() []byte {
	l := d.uvarint()
	if d.err != nil {
		return nil
	}
	if l > uint64(len(d.buf)) {
		d.fail("string of %d bytes with %d left", l, len(d.buf))
		return nil
	}
	s := d.buf[:l:l]
	d.buf = d.buf[l:]
	return s
}
