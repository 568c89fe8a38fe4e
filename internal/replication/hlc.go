package replication

import (
	"encoding/binary"
	"fmt"
	"sync"
	"time"
)

// Timestamp is a hybrid logical clock reading: a wall-clock time in Unix
// nanoseconds and a logical counter that orders events within one nanosecond,
// or while the wall clock lags behind a timestamp already seen. Timestamps of
// one Clock only ever grow, and a Clock that observes a remote timestamp reads
// past it afterwards, so a change made after seeing another always carries a
// larger timestamp.
type Timestamp struct {
	Wall    int64  // Unix nanoseconds
	Logical uint32 // orders readings that share Wall
}

// TimestampSize is the length of a Timestamp's binary encoding.
const TimestampSize = 12

// Compare returns -1, 0 or +1 as t is before, equal to or after u.
func (t Timestamp) Compare(u Timestamp) int {
	switch {
	case t.Wall < u.Wall:
		return -1
	case t.Wall > u.Wall:
		return 1
	case t.Logical < u.Logical:
		return -1
	case t.Logical > u.Logical:
		return 1
	}
	return 0
}

// IsZero reports whether t is the zero Timestamp, which precedes every reading
// of a Clock.
func (t Timestamp) IsZero() bool { return t == Timestamp{} }

// Time returns t's wall-clock part.
func (t Timestamp) Time() time.Time { return time.Unix(0, t.Wall).UTC() }

// String formats t as its wall time in RFC 3339 with nanoseconds, a dot and the
// logical counter: 2026-11-26T07:30:00.000000001Z.3.
func (t Timestamp) String() string {
	return fmt.Sprintf("%s.%d", t.Time().Format(time.RFC3339Nano), t.Logical)
}

// Append appends t's 12-byte big-endian encoding to b. Encodings sort as their
// timestamps do, for wall times after 1970.
func (t Timestamp) Append(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(t.Wall))
	return binary.BigEndian.AppendUint32(b, t.Logical)
}

// DecodeTimestamp reads a Timestamp from the first TimestampSize bytes of b.
func DecodeTimestamp(b []byte) (Timestamp, error) {
	if len(b) < TimestampSize {
		return Timestamp{}, fmt.Errorf("%w: timestamp of %d bytes", ErrMalformed, len(b))
	}
	return Timestamp{
		Wall:    int64(binary.BigEndian.Uint64(b)),
		Logical: binary.BigEndian.Uint32(b[8:]),
	}, nil
}

// Clock is a hybrid logical clock. It is safe for concurrent use.
type Clock struct {
	now func() time.Time

	mu   sync.Mutex
	last Timestamp
}

// NewClock returns a Clock reading the wall clock now (nil: time.Now).
func NewClock(now func() time.Time) *Clock {
	if now == nil {
		now = time.Now
	}
	return &Clock{now: now}
}

// Now returns a timestamp larger than every one the clock returned or observed
// before.
func (c *Clock) Now() Timestamp {
	wall := c.now().UnixNano()
	c.mu.Lock()
	defer c.mu.Unlock()
	if wall > c.last.Wall {
		c.last = Timestamp{Wall: wall}
	} else {
		c.last.Logical++
		if c.last.Logical == 0 { // the counter wrapped: move to the next nanosecond
			c.last.Wall++
		}
	}
	return c.last
}

// Peek returns the clock's latest reading without advancing it.
func (c *Clock) Peek() Timestamp {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// Observe makes every later reading larger than remote, a timestamp seen in a
// change from another region. It returns how far remote is ahead of the local
// wall clock (zero or negative when it is not), for the caller to report clock
// skew.
func (c *Clock) Observe(remote Timestamp) time.Duration {
	wall := c.now().UnixNano()
	c.mu.Lock()
	defer c.mu.Unlock()
	if remote.Compare(c.last) > 0 {
		c.last = remote
	}
	return time.Duration(remote.Wall - wall)
}
