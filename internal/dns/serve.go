package dns

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// ErrNoListeners is returned by Serve when it is given neither a UDP nor a TCP listener.
var ErrNoListeners = errors.New("dns: no listeners to serve")

// udpReadBuffer is the receive buffer Serve asks for on a UDP socket (SO_RCVBUF): room for
// a few thousand queries, so that a burst, or a few milliseconds in which the process does
// not get a CPU, queues queries instead of dropping them. The kernel caps it at
// net.core.rmem_max (212992 bytes on a stock Linux, which then keeps its default).
const udpReadBuffer = 4 << 20

// Serve answers queries on udp and tcp (either may be nil, not both) until ctx ends, then
// closes them and returns once every goroutine it started has stopped. It returns nil after
// ctx ends, or the error that stopped a transport early (the other is stopped too).
//
// UDP is read by Options.UDPWorkers goroutines, each answering what it reads, so a packet
// costs no goroutine; on Linux each reads what is queued, up to udpBatch datagrams, with one
// system call and sends the answers with one more. The socket's receive buffer is enlarged
// to udpReadBuffer. Each TCP connection gets a goroutine; at most
// Options.MaxTCPConnections are served at once, and one that is slower than
// Options.TCPIdleTimeout to deliver a query or take an answer is closed. Queries on a TCP
// connection are answered in order.
func (s *Server) Serve(ctx context.Context, udp net.PacketConn, tcp net.Listener) error {
	if udp == nil && tcp == nil {
		return ErrNoListeners
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var (
		wg       sync.WaitGroup
		errMu    sync.Mutex
		firstErr error
	)
	fail := func(err error) {
		if err == nil || ctx.Err() != nil {
			return
		}
		errMu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		errMu.Unlock()
		cancel()
	}
	if uc, ok := udp.(*net.UDPConn); ok {
		// Best effort: the socket works with the kernel's default buffer too.
		if err := uc.SetReadBuffer(udpReadBuffer); err != nil {
			s.log.Debug("udp receive buffer not enlarged", "err", err)
		}
	}
	if udp != nil {
		workers := s.opts.UDPWorkers
		if workers <= 0 {
			workers = runtime.GOMAXPROCS(0)
		}
		for range workers {
			wg.Go(func() { fail(s.serveUDP(ctx, udp)) })
		}
	}
	if tcp != nil {
		wg.Go(func() { fail(s.serveTCP(ctx, tcp)) })
	}
	// Closing the sockets is what unblocks the readers.
	wg.Go(func() {
		<-ctx.Done()
		if udp != nil {
			udp.Close()
		}
		if tcp != nil {
			tcp.Close()
		}
	})
	wg.Wait()
	errMu.Lock()
	defer errMu.Unlock()
	return firstErr
}

// serveUDP is one UDP worker: it reads a query, answers it, and reads the next. On Linux a
// *net.UDPConn is read and answered in batches (serveUDPBatch).
func (s *Server) serveUDP(ctx context.Context, conn net.PacketConn) error {
	if uc, ok := conn.(*net.UDPConn); ok {
		if batched, err := s.serveUDPBatch(ctx, uc); batched {
			return err
		}
	}
	q := newQuery(s)
	buf := make([]byte, dns.MaxMsgSize)
	q.out = make([]byte, maxUDPSize+1)
	uc, isUDP := conn.(*net.UDPConn)
	for {
		var (
			n    int
			from netip.AddrPort
			addr net.Addr
			err  error
		)
		if isUDP {
			n, from, err = uc.ReadFromUDPAddrPort(buf)
		} else {
			n, addr, err = conn.ReadFrom(buf)
			from = addrPort(addr)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("dns: udp: %w", err)
			}
			s.log.Debug("udp read failed", "err", err)
			continue
		}
		resp := s.handle(buf[:n], from.Addr(), transportUDP, q)
		if resp == nil {
			continue
		}
		if isUDP {
			_, err = uc.WriteToUDPAddrPort(resp, from)
		} else {
			_, err = conn.WriteTo(resp, addr)
		}
		if err != nil && ctx.Err() == nil {
			s.log.Debug("udp write failed", "client", from, "err", err)
		}
	}
}

// serveTCP accepts connections and serves each in its own goroutine, at most
// MaxTCPConnections at once.
func (s *Server) serveTCP(ctx context.Context, ln net.Listener) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]struct{}{}
		slots = make(chan struct{}, s.opts.MaxTCPConnections)
	)
	defer func() {
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("dns: tcp: %w", err)
			}
			s.log.Debug("tcp accept failed", "err", err)
			// Accept fails like this when file descriptors run out; wait for some to
			// be released rather than spin. The wait ends early with ctx.
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		select {
		case slots <- struct{}{}:
		default:
			s.metrics.tcpRejected.Inc()
			c.Close()
			continue
		}
		mu.Lock()
		if ctx.Err() != nil { // shutting down: the deferred close would miss c
			mu.Unlock()
			c.Close()
			<-slots
			return nil
		}
		conns[c] = struct{}{}
		mu.Unlock()
		wg.Go(func() {
			defer func() {
				c.Close()
				mu.Lock()
				delete(conns, c)
				mu.Unlock()
				<-slots
			}()
			s.serveConn(c)
		})
	}
}

// serveConn answers the queries of one TCP connection in order until it is closed, idles
// too long or sends something that is not a query.
func (s *Server) serveConn(c net.Conn) {
	q := newQuery(s)
	client := addrPort(c.RemoteAddr()).Addr()
	timeout := s.opts.TCPIdleTimeout
	var (
		prefix [2]byte
		buf    = make([]byte, 512)
		wire   []byte
	)
	for {
		if err := c.SetReadDeadline(time.Now().Add(timeout)); err != nil {
			return
		}
		if _, err := io.ReadFull(c, prefix[:]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(prefix[:]))
		if n > cap(buf) {
			buf = make([]byte, n)
		}
		if _, err := io.ReadFull(c, buf[:n]); err != nil {
			return
		}
		resp := s.handle(buf[:n], client, transportTCP, q)
		if resp == nil {
			if n < 12 {
				return // not even a header: not a DNS client
			}
			continue
		}
		wire = append(wire[:0], byte(len(resp)>>8), byte(len(resp)))
		wire = append(wire, resp...)
		if err := c.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
			return
		}
		if _, err := c.Write(wire); err != nil {
			return
		}
	}
}

// handle answers one query in wire format and returns the answer in wire format (in q.out
// or a buffer grown from it), or nil for a packet that gets none. It never panics: a panic
// is answered SERVFAIL.
func (s *Server) handle(raw []byte, client netip.Addr, transport int, q *query) (resp []byte) {
	defer func() {
		if r := recover(); r != nil {
			s.metrics.panics.Inc()
			s.log.Error("panic while handling a query; answered SERVFAIL", "panic", r, "stack", string(debug.Stack()))
			resp = rawReply(raw, dns.RcodeServerFailure, q.out)
		}
	}()
	if len(raw) < 12 || raw[2]&0x80 != 0 { // no header, or a response: no answer
		s.metrics.byDropped[transport].Inc()
		return nil
	}
	req := &q.req
	if !unpackQuery(raw, req, &q.store) {
		*req = dns.Msg{} // drop what the fast path left
		if err := req.Unpack(raw); err != nil || (hasECS(req) && !ecsLengthsOK(raw)) {
			s.metrics.count(transport, dns.RcodeFormatError, false, nil)
			return rawReply(raw, dns.RcodeFormatError, q.out)
		}
	}
	// The reply is packed here and dropped: its room is the query's, cleared again once
	// packed so that it keeps nothing of the snapshot alive.
	q.reply = replyBuf{}
	defer func() { q.reply = replyBuf{} }()
	reply, limit := s.answerUntruncated(req, client, transport == transportTCP, q, &q.reply)
	wire, packed := packAddressReply(reply, q.out[:0])
	var err error
	if !packed || limit > 0 && len(wire) > limit {
		wire, err = reply.PackBuffer(q.out[:cap(q.out)])
	}
	if err == nil && limit > 0 && len(wire) > limit {
		truncate(reply, limit)
		wire, err = reply.PackBuffer(q.out[:cap(q.out)])
	}
	if err != nil {
		s.log.Error("answer does not pack; answered SERVFAIL", "question", req.Question, "err", err)
		s.metrics.count(transport, dns.RcodeServerFailure, false, nil)
		return rawReply(raw, dns.RcodeServerFailure, q.out)
	}
	if cap(wire) > cap(q.out) {
		q.out = wire[:0]
	}
	s.metrics.count(transport, reply.Rcode, reply.Truncated, q)
	return wire
}

// hasECS reports whether a query carries a Client Subnet option.
func hasECS(m *dns.Msg) bool {
	for _, rr := range m.Extra {
		if opt, ok := rr.(*dns.OPT); ok {
			for _, o := range opt.Option {
				if o.Option() == dns.EDNS0SUBNET {
					return true
				}
			}
		}
	}
	return false
}

// addrPort is the address and port of a UDP or TCP address, or the zero value.
func addrPort(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *net.UDPAddr:
		return a.AddrPort()
	case *net.TCPAddr:
		return a.AddrPort()
	}
	if a == nil {
		return netip.AddrPort{}
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}
