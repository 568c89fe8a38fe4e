package edge

import (
	"context"
	"errors"
	"net"
	"net/netip"
)

// MaxDatagram is the largest UDP payload relayed.
const MaxDatagram = 65535

func (l *Socket) serveUDP(ctx context.Context) error {
	dst := addrPort(l.udp.LocalAddr())
	buf := make([]byte, MaxDatagram)
	for {
		n, src, err := l.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
		l.mu.Lock()
		f := l.udpBy[src]
		l.mu.Unlock()
		if f == nil {
			if f = l.openUDP(src, dst); f == nil {
				continue
			}
		}
		f.touch()
		payload := buf[:n]
		if f.header != nil {
			payload = append(f.header[:len(f.header):len(f.header)], buf[:n]...)
		}
		if _, err := f.upstream.Write(payload); err != nil {
			f.close()
			continue
		}
		if l.bytesIn != nil {
			l.bytesIn.Add(float64(n))
		}
	}
}

// openUDP starts the flow of a new client: routes it, connects a socket to the
// endpoint and relays the endpoint's answers back from the listener's address.
func (l *Socket) openUDP(src, dst netip.AddrPort) *flow {
	if !l.admit() {
		return nil
	}
	d, addr, e, err := l.route(src, dst)
	if err != nil {
		l.release()
		l.countRefused("no-endpoint")
		return nil
	}
	up, err := net.DialTimeout("udp", addr, l.opts.DialTimeout)
	if err != nil {
		l.release()
		l.countRefused("dial")
		if m := l.opts.Metrics; m != nil {
			m.dialFails.WithLabelValues(l.opts.Name, d.Region).Inc()
		}
		return nil
	}
	f := &flow{l: l, clientAP: src, upstream: up}
	if e.ClientIPPreservation {
		h, err := proxyHeader(UDP, src, dst).Format()
		if err != nil {
			up.Close()
			l.release()
			return nil
		}
		f.header = h
	}
	l.mu.Lock()
	if l.flows == nil {
		l.mu.Unlock()
		up.Close()
		l.release()
		return nil
	}
	l.flows[f] = struct{}{}
	l.udpBy[src] = f
	l.mu.Unlock()
	f.touch()
	f.watchIdle()
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		defer l.release()
		defer l.untrack(f)
		defer f.close()
		buf := make([]byte, MaxDatagram)
		for {
			n, err := up.Read(buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					continue
				}
				return // closed (idle, shutdown) or the endpoint refused: the next datagram opens a new flow
			}
			f.touch()
			if _, err := l.udp.WriteToUDPAddrPort(buf[:n], src); err != nil {
				return
			}
			if l.bytesOut != nil {
				l.bytesOut.Add(float64(n))
			}
		}
	}()
	return f
}
