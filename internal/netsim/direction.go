package netsim

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

const (
	// defaultQueueLimit bounds the buffer capacity queued in one direction
	// of one connection.
	defaultQueueLimit = 8 << 20
	// maxBatch bounds the bytes handed to one writev.
	maxBatch = 1 << 20
)

// chunk is what one read returned, stamped with the time it is due at the
// other side. A chunk with a nil buf marks the end of the stream.
type chunk struct {
	buf *[]byte
	n   int
	due time.Time
}

// direction carries one direction of a relayed connection: read stamps
// chunks and queues them, write waits until each is due and writes it.
// Each runs in its own goroutine.
type direction struct {
	wan      *WAN
	from, to string
	limit    int

	mu   sync.Mutex
	q    []chunk // guarded by mu; q[head:] are queued, in order
	head int     // guarded by mu
	held int     // guarded by mu; capacity of queued buffers and of the batch being written

	ready chan struct{} // 1-buffered: a chunk was queued
	space chan struct{} // 1-buffered: held went down
}

func newDirection(w *WAN, from, to string, limit int) *direction {
	return &direction{
		wan:   w,
		from:  from,
		to:    to,
		limit: limit,
		ready: make(chan struct{}, 1),
		space: make(chan struct{}, 1),
	}
}

func notify(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// read queues what src sends until EOF, which it queues as an end marker and
// returns nil, or until an error or ctx is done. It stops reading while the
// queue is full.
func (d *direction) read(ctx context.Context, src net.Conn) error {
	for {
		if !d.waitSpace(ctx) {
			return ctx.Err()
		}
		b := getBuf(readBufSize)
		n, err := src.Read(*b)
		if n > 0 {
			now := time.Now()
			st := d.wan.State(d.from, d.to)
			due := now.Add(st.Delay)
			if st.Loss > 0 && rand.Float64() < st.Loss {
				due = due.Add(retransmitPenalty(st.Delay))
			}
			d.push(chunk{buf: fit(b, n), n: n, due: due})
		} else {
			putBuf(b)
		}
		if errors.Is(err, io.EOF) {
			d.push(chunk{})
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// waitSpace blocks until a full read buffer fits under the limit.
func (d *direction) waitSpace(ctx context.Context) bool {
	for {
		d.mu.Lock()
		fits := d.held+readBufSize <= d.limit
		d.mu.Unlock()
		if fits {
			return true
		}
		select {
		case <-d.space:
		case <-ctx.Done():
			return false
		}
	}
}

func (d *direction) push(c chunk) {
	d.mu.Lock()
	d.q = append(d.q, c)
	if c.buf != nil {
		d.held += cap(*c.buf)
	}
	d.mu.Unlock()
	notify(d.ready)
}

// write writes the queued chunks to dst, each when it is due and the
// direction is not partitioned. At the end marker it half-closes dst and
// returns nil.
func (d *direction) write(ctx context.Context, dst net.Conn) error {
	p := newPacer()
	defer p.close()
	// floor holds bytes back after a partition: nothing crosses before the
	// heal plus the delay then in effect.
	var floor time.Time
	var batch []chunk
	var bufs [][]byte
	for {
		first, ok := d.peek(ctx)
		if !ok {
			return ctx.Err()
		}
		if first.buf == nil {
			return closeWrite(dst)
		}
		if !p.until(later(first.due, floor), ctx.Done()) {
			return ctx.Err()
		}
		if waited, ok := d.wan.awaitOpen(ctx.Done(), dirKey{d.from, d.to}); !ok {
			return ctx.Err()
		} else if waited {
			floor = time.Now().Add(d.wan.State(d.from, d.to).Delay)
			continue
		}
		batch = d.takeDue(batch[:0], time.Now(), floor)
		bufs = bufs[:0]
		for _, c := range batch {
			bufs = append(bufs, (*c.buf)[:c.n])
		}
		nb := net.Buffers(bufs)
		_, err := nb.WriteTo(dst)
		d.release(batch)
		if err != nil {
			return err
		}
	}
}

// peek waits for the first queued chunk without taking it.
func (d *direction) peek(ctx context.Context) (chunk, bool) {
	for {
		d.mu.Lock()
		if d.head < len(d.q) {
			c := d.q[d.head]
			d.mu.Unlock()
			return c, true
		}
		d.mu.Unlock()
		select {
		case <-d.ready:
		case <-ctx.Done():
			return chunk{}, false
		}
	}
}

// takeDue moves the leading chunks that are due at now (and not held by
// floor) to dst, at most maxBatch bytes unless the first alone is larger.
// It stops at the end marker, which stays queued.
func (d *direction) takeDue(dst []chunk, now, floor time.Time) []chunk {
	d.mu.Lock()
	defer d.mu.Unlock()
	size := 0
	for d.head < len(d.q) {
		c := d.q[d.head]
		if c.buf == nil || later(c.due, floor).After(now) || (len(dst) > 0 && size+c.n > maxBatch) {
			break
		}
		dst = append(dst, c)
		size += c.n
		d.q[d.head] = chunk{}
		d.head++
	}
	switch {
	case d.head == len(d.q):
		d.q, d.head = d.q[:0], 0
	case d.head > 64 && d.head > len(d.q)/2:
		n := copy(d.q, d.q[d.head:])
		clear(d.q[n:])
		d.q, d.head = d.q[:n], 0
	}
	return dst
}

// release returns the buffers of a written batch and makes room for reads.
func (d *direction) release(batch []chunk) {
	freed := 0
	for i := range batch {
		freed += cap(*batch[i].buf)
		putBuf(batch[i].buf)
		batch[i] = chunk{}
	}
	d.mu.Lock()
	d.held -= freed
	d.mu.Unlock()
	notify(d.space)
}

// queued reports the buffer capacity held by the direction.
func (d *direction) queued() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.held
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func closeWrite(c net.Conn) error {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Close()
}

// awaitOpen blocks while any of dirs is partitioned. It reports whether it
// had to wait, and ok false if done was closed first.
func (w *WAN) awaitOpen(done <-chan struct{}, dirs ...dirKey) (waited, ok bool) {
	for {
		s := w.snap.Load()
		open := true
		for _, k := range dirs {
			if s.states[k].Partitioned {
				open = false
				break
			}
		}
		if open {
			return waited, true
		}
		waited = true
		select {
		case <-s.changed:
		case <-done:
			return waited, false
		}
	}
}
