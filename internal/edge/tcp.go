package edge

import (
	"errors"
	"io"
	"net"
	"sync"
)

func (l *Socket) serveTCP() error {
	for {
		c, err := l.tcp.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		if !l.admit() {
			c.Close()
			continue
		}
		f := &flow{l: l, client: c}
		if !l.track(f) {
			c.Close()
			l.release()
			continue
		}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			defer l.release()
			defer l.untrack(f)
			defer f.close()
			l.handleTCP(f, c)
		}()
	}
}

func (l *Socket) handleTCP(f *flow, c *net.TCPConn) {
	src, dst := addrPort(c.RemoteAddr()), addrPort(c.LocalAddr())
	d, addr, e, err := l.route(src, dst)
	if err != nil {
		l.countRefused("no-endpoint")
		l.opts.Logger.Debug("edge: no route for a new flow", "listener", l.opts.Name, "client", src, "err", err)
		return
	}
	dialer := net.Dialer{Timeout: l.opts.DialTimeout}
	up, err := dialer.Dial("tcp", addr)
	if err != nil {
		l.countRefused("dial")
		if m := l.opts.Metrics; m != nil {
			m.dialFails.WithLabelValues(l.opts.Name, d.Region).Inc()
		}
		l.opts.Logger.Warn("edge: endpoint unreachable", "listener", l.opts.Name, "region", d.Region, "endpoint", addr, "err", err)
		return
	}
	upc := up.(*net.TCPConn)
	l.mu.Lock()
	f.upstream = upc
	closed := l.flows == nil
	l.mu.Unlock()
	if closed {
		return
	}
	// The header goes first, before any client byte, so that protocols where the
	// server speaks first work too.
	if e.ClientIPPreservation {
		if _, err := proxyHeader(TCP, src, dst).WriteTo(upc); err != nil {
			return
		}
	}
	f.touch()
	f.watchIdle()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		l.pipe(f, upc, c, "in")
	}()
	l.pipe(f, c, upc, "out")
	wg.Done()
	wg.Wait()
}

// bufPool holds relay buffers.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// pipe copies from src to dst until src ends, then half-closes dst, so a
// client's or endpoint's shutdown of its sending side reaches the other end.
func (l *Socket) pipe(f *flow, dst, src *net.TCPConn, direction string) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	var bytes float64
	defer func() {
		if m := l.opts.Metrics; m != nil && bytes > 0 {
			m.bytes.WithLabelValues(l.opts.Name, direction).Add(bytes)
		}
	}()
	for {
		n, err := src.Read(buf)
		if n > 0 {
			f.touch()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				f.close()
				return
			}
			bytes += float64(n)
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				dst.CloseWrite()
				return
			}
			f.close()
			return
		}
	}
}
