package netsim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"
)

// dialTimeout bounds how long a link tries to reach its target.
const dialTimeout = 10 * time.Second

// Link is a listener that relays every accepted connection from one region
// to another through the WAN. It is created by [WAN.Listen] and owns every
// goroutine it starts; [Link.Close] stops them all.
type Link struct {
	wan      *WAN
	from, to string
	ln       net.Listener
	target   func() string
	log      *slog.Logger
	limit    int // bytes queued per direction of a connection

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the accept loop and every relay

	mu     sync.Mutex
	relays map[*relay]struct{} // guarded by mu
	closed bool                // guarded by mu

	closeOnce sync.Once
	closeErr  error
}

// Listen starts a link on addr (e.g. "127.0.0.1:0") that carries traffic
// from region from to region to. Each accepted connection is relayed to the
// address target returns at that moment; "" means the target is unknown or
// down, and the client connection is closed at once. If the pair is
// partitioned, the link waits for the heal before dialing and asks target
// again then. Bytes from the accepting side to the target follow
// State(from, to); bytes coming back follow State(to, from).
func (w *WAN) Listen(from, to, addr string, target func() string) (*Link, error) {
	return w.listen(from, to, addr, target, defaultQueueLimit)
}

// listen is Listen with the bound on the bytes queued per direction.
func (w *WAN) listen(from, to, addr string, target func() string, limit int) (*Link, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("netsim: link %s->%s: %w", from, to, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &Link{
		wan:    w,
		from:   from,
		to:     to,
		ln:     ln,
		target: target,
		log:    w.log.With("from", from, "to", to, "link", ln.Addr().String()),
		limit:  limit,
		ctx:    ctx,
		cancel: cancel,
		relays: make(map[*relay]struct{}),
	}
	l.wg.Go(l.acceptLoop)
	return l, nil
}

// Addr returns the address the link listens on.
func (l *Link) Addr() net.Addr { return l.ln.Addr() }

// Close closes the listener and every relayed connection, and returns when
// all goroutines of the link have stopped. It returns the error of closing
// the listener; later calls return the same.
func (l *Link) Close() error {
	l.closeOnce.Do(func() {
		l.cancel()
		l.closeErr = l.ln.Close()
		l.mu.Lock()
		l.closed = true
		relays := make([]*relay, 0, len(l.relays))
		for r := range l.relays {
			relays = append(relays, r)
		}
		l.mu.Unlock()
		for _, r := range relays {
			r.stop()
		}
	})
	l.wg.Wait()
	return l.closeErr
}

func (l *Link) acceptLoop() {
	var backoff time.Duration
	for {
		c, err := l.ln.Accept()
		if err != nil {
			if l.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait and retry.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			l.log.Warn("link accept failed", "err", err, "retry_in", backoff)
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-l.ctx.Done():
				t.Stop()
				return
			}
			continue
		}
		backoff = 0
		r := l.track(c)
		if r == nil {
			return // closed meanwhile; track closed c
		}
		l.wg.Go(func() { l.serve(r, c) })
	}
}

// track registers a relay for client, or closes client if the link is closed.
func (l *Link) track(client net.Conn) *relay {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		_ = client.Close()
		return nil
	}
	ctx, cancel := context.WithCancel(l.ctx)
	r := &relay{ctx: ctx, cancel: cancel, conns: []net.Conn{client}}
	l.relays[r] = struct{}{}
	return r
}

func (l *Link) untrack(r *relay) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.relays, r)
}

// serve relays one accepted connection until both directions have ended, one
// side fails, or the link closes.
func (l *Link) serve(r *relay, client net.Conn) {
	var wg sync.WaitGroup // the goroutines of both directions
	defer func() {
		r.stop()
		wg.Wait()
		l.untrack(r)
	}()
	log := l.log.With("client", client.RemoteAddr().String())

	addr := l.target()
	if addr == "" {
		log.Debug("link target unknown; closing client")
		return
	}
	up := newDirection(l.wan, l.from, l.to, l.limit)
	down := newDirection(l.wan, l.to, l.from, l.limit)
	r.setDirections(up, down)

	run := func(name string, f func() error) {
		wg.Go(func() {
			if err := f(); err != nil {
				if r.ctx.Err() == nil {
					log.Debug("link relay ended", "side", name, "err", err)
				}
				r.stop()
			}
		})
	}
	// Read the client at once, so bytes sent during a partition are held
	// (up to the bound) and a client that goes away is noticed.
	run("read client", func() error { return up.read(r.ctx, client) })

	waited, ok := l.wan.awaitOpen(r.ctx.Done(), dirKey{l.from, l.to}, dirKey{l.to, l.from})
	if !ok {
		return
	}
	if waited {
		if addr = l.target(); addr == "" {
			log.Debug("link target unknown after heal; closing client")
			return
		}
	}
	d := net.Dialer{Timeout: dialTimeout}
	server, err := d.DialContext(r.ctx, "tcp", addr)
	if err != nil {
		log.Debug("link dial failed", "target", addr, "err", err)
		return
	}
	if !r.add(server) {
		return
	}
	run("write server", func() error { return up.write(r.ctx, server) })
	run("read server", func() error { return down.read(r.ctx, server) })
	run("write client", func() error { return down.write(r.ctx, client) })
	wg.Wait()
}

// relay is one relayed connection: the client, the target once dialed, and
// a context that ends it.
type relay struct {
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	conns   []net.Conn    // guarded by mu
	stopped bool          // guarded by mu
	dirs    [2]*direction // guarded by mu; for tests
}

// add registers conn, or closes it and returns false if the relay stopped.
func (r *relay) add(conn net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		_ = conn.Close()
		return false
	}
	r.conns = append(r.conns, conn)
	return true
}

func (r *relay) setDirections(up, down *direction) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dirs = [2]*direction{up, down}
}

// stop ends the relay: cancels its context and closes both connections,
// which unblocks every read and write. It is idempotent.
func (r *relay) stop() {
	r.cancel()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	r.stopped = true
	for _, c := range r.conns {
		_ = c.Close()
	}
}

// queued reports the bytes queued in every direction of every relay; for tests.
func (l *Link) queued() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	total := 0
	for r := range l.relays {
		r.mu.Lock()
		for _, d := range r.dirs {
			if d != nil {
				total += d.queued()
			}
		}
		r.mu.Unlock()
	}
	return total
}
