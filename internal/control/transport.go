package control

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// StreamProto is the ALPN protocol Raft's connections use on the peer listener.
const StreamProto = "polyregion-raft/1"

// Dialer opens a mutual-TLS stream to a region (peer.Client.DialStream).
type Dialer interface {
	DialStream(ctx context.Context, region, proto string) (net.Conn, error)
}

// streamLayer carries Raft over the peer transport: Raft's server addresses are region
// names, dialled through the peer client (so through the emulated WAN in `up`), and
// accepted connections arrive from the peer server's stream handler.
type streamLayer struct {
	self   string
	dialer Dialer
	conns  chan net.Conn
	once   sync.Once
	closed chan struct{}
}

var _ raft.StreamLayer = (*streamLayer)(nil)

func newStreamLayer(self string, d Dialer) *streamLayer {
	return &streamLayer{self: self, dialer: d, conns: make(chan net.Conn), closed: make(chan struct{})}
}

// handle takes a connection from the peer server; it gives up when the layer closes.
func (s *streamLayer) handle(c net.Conn) {
	select {
	case s.conns <- c:
	case <-s.closed:
		_ = c.Close()
	}
}

func (s *streamLayer) Accept() (net.Conn, error) {
	select {
	case c := <-s.conns:
		return c, nil
	case <-s.closed:
		return nil, net.ErrClosed
	}
}

func (s *streamLayer) Close() error {
	s.once.Do(func() { close(s.closed) })
	return nil
}

func (s *streamLayer) Addr() net.Addr { return regionAddr(s.self) }

func (s *streamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	select {
	case <-s.closed:
		return nil, errors.New("control: transport closed")
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return s.dialer.DialStream(ctx, string(address), StreamProto)
}

// regionAddr is a region name as a net.Addr.
type regionAddr string

func (a regionAddr) Network() string { return "polyregion" }
func (a regionAddr) String() string  { return string(a) }
