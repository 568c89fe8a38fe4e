package edge

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
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
		l.pipe(f, upc, c, l.bytesIn)
	}()
	l.pipe(f, c, upc, l.bytesOut)
	wg.Done()
	wg.Wait()
}

// bufPool holds relay buffers.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// burstWindow bounds one zero-copy burst of pipe: the flow's last activity is
// recorded when a burst ends, so it is never older than this while bytes flow
// (and the idle watchdog ends a burst early when it needs to know).
var burstWindow = time.Second

// pipe copies from src to dst until src ends, then half-closes dst, so a
// client's or endpoint's shutdown of its sending side reaches the other end.
//
// Bytes go through a buffer of this process until a read fills it: then more
// are waiting, and the next ones are moved by the kernel from socket to socket
// (dst.ReadFrom: splice(2) on Linux, no copy to or from this process) in a
// burst of at most burstWindow, after which the flow is marked active and pipe
// reads into its buffer again. Small exchanges (requests and answers) stay in
// the buffer, where every byte marks the flow active at once.
func (l *Socket) pipe(f *flow, dst, src *net.TCPConn, counter prometheus.Counter) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	var bytes int64
	defer func() {
		if counter != nil && bytes > 0 {
			counter.Add(float64(bytes))
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
			bytes += int64(n)
		}
		switch {
		case err == nil:
		case errors.Is(err, os.ErrDeadlineExceeded):
			// The idle watchdog ended a burst that had just ended by itself.
			if src.SetReadDeadline(time.Time{}) != nil {
				f.close()
				return
			}
			continue
		case errors.Is(err, io.EOF):
			dst.CloseWrite()
			return
		default:
			f.close()
			return
		}
		if n < len(buf) {
			continue
		}
		// A full buffer: a bulk transfer. The deadline ends the burst; it can only
		// expire while no byte is in flight between the sockets, so none is lost.
		f.bursts.Add(1)
		err = src.SetReadDeadline(time.Now().Add(burstWindow))
		var m int64
		if err == nil {
			m, err = dst.ReadFrom(src)
		}
		if m > 0 {
			f.touch()
			bytes += m
		}
		f.bursts.Add(-1)
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			if src.SetReadDeadline(time.Time{}) != nil {
				f.close()
				return
			}
		case err != nil:
			f.close()
			return
		default: // ReadFrom stops at the end of src without an error
			dst.CloseWrite()
			return
		}
	}
}
