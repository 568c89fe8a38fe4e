package peer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
)

// Streams share the peer listener with HTTP/2: a client that asks for another ALPN protocol
// than "h2" (say "polyregion-raft/1") gets the raw mutual-TLS connection, handed to the
// handler registered for that protocol with [Server.HandleStream]. Raft uses one, since it
// needs a byte stream with deadlines rather than requests. The identity checks are the same
// as for HTTP/2: one listener, one CA, one set of rules.

// HandleStream registers fn to take every connection that negotiates the ALPN protocol proto,
// with the verified calling region. fn owns the connection and must close it. Register
// before [Server.Serve].
// fn should hand the connection off and return promptly.
func (s *Server) HandleStream(proto string, fn func(conn net.Conn, region string)) {
	if proto == "" || proto == "h2" || proto == "http/1.1" {
		panic(fmt.Sprintf("peer: HandleStream: %q is not a stream protocol", proto))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.streams == nil {
		s.streams = map[string]func(net.Conn, string){}
	}
	s.streams[proto] = fn
}

// serveMux accepts raw connections, does the TLS handshake itself and sends each connection
// to its stream handler or to the HTTP/2 server.
func (s *Server) serveMux(ln net.Listener) error {
	cfg := s.srv.TLSConfig.Clone()
	s.mu.Lock()
	for proto := range s.streams {
		cfg.NextProtos = append(cfg.NextProtos, proto)
	}
	streams := s.streams
	s.raw = ln
	s.mu.Unlock()

	httpLn := newConnListener(ln.Addr())
	httpDone := make(chan error, 1)
	go func() { httpDone <- s.srv.Serve(httpLn) }()

	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			httpLn.Close()
			herr := <-httpDone
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed || errors.Is(herr, http.ErrServerClosed) {
				return http.ErrServerClosed
			}
			return fmt.Errorf("peer: serve on %s: %w", ln.Addr(), err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			tc := tls.Server(c, cfg)
			ctx, cancel := context.WithTimeout(context.Background(), readHeaderTimeout)
			err := tc.HandshakeContext(ctx)
			cancel()
			if err != nil {
				s.logHandshake(c, err)
				_ = c.Close()
				return
			}
			cs := tc.ConnectionState()
			if fn, ok := streams[cs.NegotiatedProtocol]; ok {
				region, err := verifiedRegion(cs)
				if err != nil {
					_ = tc.Close()
					return
				}
				tracked := &trackedConn{Conn: tc, s: s}
				if !s.track(tracked) {
					_ = tc.Close()
					return
				}
				fn(tracked, region)
				return
			}
			if !httpLn.deliver(tc) {
				_ = tc.Close()
			}
		}()
	}
}

// trackedConn is a stream connection the server can close on Close.
type trackedConn struct {
	*tls.Conn
	s    *Server
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
	})
	return c.Conn.Close()
}

// track remembers a stream connection so Close can end it; false once closed.
func (s *Server) track(c *trackedConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if s.conns == nil {
		s.conns = map[*trackedConn]struct{}{}
	}
	s.conns[c] = struct{}{}
	return true
}

// closeStreams closes the raw listener and every stream connection handed out.
func (s *Server) closeStreams() {
	s.mu.Lock()
	s.closed = true
	raw := s.raw
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	if raw != nil {
		_ = raw.Close()
	}
	for c := range conns {
		_ = c.Conn.Close()
	}
}

func (s *Server) logHandshake(c net.Conn, err error) {
	if s.logger != nil {
		s.logger.Warn("peer handshake refused", "remote", c.RemoteAddr().String(), "err", err)
	}
}

// DialStream opens a raw mutual-TLS connection to region for the ALPN protocol proto (see
// [Server.HandleStream]). The server must be region, and must speak proto.
func (c *Client) DialStream(ctx context.Context, region, proto string) (net.Conn, error) {
	if err := checkRegion(region); err != nil {
		return nil, err
	}
	target, err := c.resolve(region)
	if err != nil {
		return nil, fmt.Errorf("peer: resolve region %q: %w", region, err)
	}
	cfg := c.id.ClientTLSConfig(region)
	cfg.NextProtos = []string{proto}
	dialer := &tls.Dialer{NetDialer: &net.Dialer{Timeout: dialTimeout}, Config: cfg}
	conn, err := dialer.DialContext(ctx, "tcp", target)
	if err != nil {
		return nil, fmt.Errorf("peer: dial region %q at %s for %s: %w", region, target, proto, err)
	}
	if got := conn.(*tls.Conn).ConnectionState().NegotiatedProtocol; got != proto {
		_ = conn.Close()
		return nil, fmt.Errorf("peer: region %q at %s does not serve %s (negotiated %q)", region, target, proto, got)
	}
	return conn, nil
}

// connListener is a net.Listener fed with connections that are already accepted.
type connListener struct {
	addr   net.Addr
	ch     chan net.Conn
	once   sync.Once
	closed chan struct{}
}

func newConnListener(addr net.Addr) *connListener {
	return &connListener{addr: addr, ch: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *connListener) deliver(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.closed:
		return false
	}
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *connListener) Addr() net.Addr { return l.addr }
