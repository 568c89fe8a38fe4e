package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pires/go-proxyproto"
	"github.com/prometheus/client_golang/prometheus"
)

// Protocols of a listener.
const (
	TCP = "TCP"
	UDP = "UDP"
)

// Defaults of SocketOptions.
const (
	DefaultTCPIdleTimeout = 340 * time.Second
	DefaultUDPIdleTimeout = 30 * time.Second
	DefaultMaxFlows       = 10000
	DefaultDialTimeout    = 5 * time.Second
)

// SocketOptions configure a [Socket].
type SocketOptions struct {
	// Name identifies the listener in logs and metrics.
	Name string
	// Protocol is TCP or UDP.
	Protocol string
	// Addr is the address to listen on, "ip:port".
	Addr string
	// IdleTimeout closes a flow that carried no byte for that long; 0: 340 s for
	// TCP, 30 s for UDP.
	IdleTimeout time.Duration
	// MaxFlows bounds the flows open at once; a new flow beyond it is refused and
	// logged. 0: DefaultMaxFlows.
	MaxFlows int
	// DialTimeout bounds connecting to an endpoint; 0: DefaultDialTimeout.
	DialTimeout time.Duration
	// Metrics receive the listener's figures; nil: not recorded.
	Metrics *Metrics
	// Logger receives the listener's records; nil: discarded.
	Logger *slog.Logger
}

// Socket is one port of a listener at one edge location: a TCP or UDP socket
// whose new flows are routed by the current [Routes] and relayed to the chosen
// endpoint.
type Socket struct {
	opts   SocketOptions
	port   uint16
	routes atomic.Pointer[Routes]
	active atomic.Int64

	tcp *net.TCPListener
	udp *net.UDPConn

	limitLogged atomic.Int64 // unix seconds of the last "at its limit" record

	// bytesIn and bytesOut are the listener's byte counters (nil without
	// metrics), looked up once rather than for every datagram.
	bytesIn, bytesOut prometheus.Counter

	mu    sync.Mutex
	flows map[*flow]struct{} // open flows, closed when Serve returns
	udpBy map[netip.AddrPort]*flow
	wg    sync.WaitGroup
}

// Listen binds a socket. Its flows are refused until SetRoutes is called.
func Listen(opts SocketOptions) (*Socket, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxFlows <= 0 {
		opts.MaxFlows = DefaultMaxFlows
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = DefaultDialTimeout
	}
	l := &Socket{opts: opts, flows: map[*flow]struct{}{}, udpBy: map[netip.AddrPort]*flow{}}
	if m := opts.Metrics; m != nil {
		l.bytesIn = m.bytes.WithLabelValues(opts.Name, "in")
		l.bytesOut = m.bytes.WithLabelValues(opts.Name, "out")
	}
	switch opts.Protocol {
	case TCP:
		if l.opts.IdleTimeout <= 0 {
			l.opts.IdleTimeout = DefaultTCPIdleTimeout
		}
		ln, err := net.Listen("tcp", opts.Addr)
		if err != nil {
			return nil, fmt.Errorf("edge: listener %s: %w", opts.Name, err)
		}
		l.tcp = ln.(*net.TCPListener)
		l.port = uint16(l.tcp.Addr().(*net.TCPAddr).Port)
	case UDP:
		if l.opts.IdleTimeout <= 0 {
			l.opts.IdleTimeout = DefaultUDPIdleTimeout
		}
		pc, err := net.ListenPacket("udp", opts.Addr)
		if err != nil {
			return nil, fmt.Errorf("edge: listener %s: %w", opts.Name, err)
		}
		l.udp = pc.(*net.UDPConn)
		l.port = uint16(l.udp.LocalAddr().(*net.UDPAddr).Port)
	default:
		return nil, fmt.Errorf("edge: listener %s: protocol %q is not TCP or UDP", opts.Name, opts.Protocol)
	}
	return l, nil
}

// Addr returns the bound address.
func (l *Socket) Addr() net.Addr {
	if l.tcp != nil {
		return l.tcp.Addr()
	}
	return l.udp.LocalAddr()
}

// SetRoutes makes rt the routes of new flows. Flows already open keep their
// endpoint.
func (l *Socket) SetRoutes(rt *Routes) { l.routes.Store(rt) }

// Active returns the number of open flows.
func (l *Socket) Active() int { return int(l.active.Load()) }

// Serve accepts and relays flows until ctx ends, then closes the socket and
// every open flow, and returns once they are gone.
func (l *Socket) Serve(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		if l.tcp != nil {
			l.tcp.Close()
		} else {
			l.udp.Close()
		}
	})
	defer stop()
	var err error
	if l.tcp != nil {
		err = l.serveTCP()
	} else {
		err = l.serveUDP(ctx)
	}
	l.mu.Lock()
	for f := range l.flows {
		f.close()
	}
	l.flows = nil // no flow starts from now on
	l.mu.Unlock()
	l.wg.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// flow is one open flow.
type flow struct {
	l        *Socket
	client   net.Conn       // TCP
	clientAP netip.AddrPort // UDP
	upstream net.Conn
	lastSeen atomic.Int64 // unix nanos of the last byte either way
	bursts   atomic.Int32 // TCP: directions in a zero-copy burst, whose bytes are recorded when it ends
	once     sync.Once
	idle     atomic.Pointer[time.Timer]
	header   []byte // UDP: the PROXY header sent before each datagram, nil for none
}

func (f *flow) touch() { f.lastSeen.Store(time.Now().UnixNano()) }

func (f *flow) close() {
	f.once.Do(func() {
		if f.client != nil {
			f.client.Close()
		}
		if f.upstream != nil {
			f.upstream.Close()
		}
		if t := f.idle.Load(); t != nil {
			t.Stop()
		}
	})
}

// burstProbe is how often the idle watchdog looks again while it waits for the
// bursts it ended to record their bytes.
const burstProbe = 10 * time.Millisecond

// watchIdle closes the flow once it has been idle for the listener's timeout.
//
// A TCP direction in a zero-copy burst (see pipe) records its bytes only when the
// burst ends: a flow that looks idle while one is under way has the burst ended
// at once (a read deadline in the past) and is closed only if it still looks
// idle when no burst is left.
func (f *flow) watchIdle() {
	timeout := f.l.opts.IdleTimeout
	check := func() {
		idle := time.Since(time.Unix(0, f.lastSeen.Load()))
		switch {
		case idle < timeout:
			f.idle.Load().Reset(timeout - idle)
		case f.bursts.Load() > 0:
			now := time.Now()
			f.client.SetReadDeadline(now)
			f.upstream.SetReadDeadline(now)
			f.idle.Load().Reset(burstProbe)
		default:
			f.close()
		}
	}
	// Armed only once f.idle is set, which check reads.
	t := time.AfterFunc(time.Hour, check)
	f.idle.Store(t)
	t.Reset(timeout)
}

// admit counts a new flow against the limit; false (and a log record at most
// once a second) when the listener is full.
func (l *Socket) admit() bool {
	if n := l.active.Add(1); n > int64(l.opts.MaxFlows) {
		l.active.Add(-1)
		l.countRefused("limit")
		now := time.Now().Unix()
		if last := l.limitLogged.Load(); now > last && l.limitLogged.CompareAndSwap(last, now) {
			l.opts.Logger.Warn("edge: listener at its limit of concurrent flows; refusing new flows",
				"listener", l.opts.Name, "max_flows", l.opts.MaxFlows)
		}
		return false
	}
	if m := l.opts.Metrics; m != nil {
		m.active.WithLabelValues(l.opts.Name).Inc()
	}
	return true
}

func (l *Socket) release() {
	l.active.Add(-1)
	if m := l.opts.Metrics; m != nil {
		m.active.WithLabelValues(l.opts.Name).Dec()
	}
}

func (l *Socket) countRefused(why string) {
	if m := l.opts.Metrics; m != nil {
		m.refused.WithLabelValues(l.opts.Name, why).Inc()
	}
}

// route picks the target of a new flow.
func (l *Socket) route(src, dst netip.AddrPort) (Decision, string, EndpointTarget, error) {
	rt := l.routes.Load()
	if rt == nil || rt.Router == nil {
		return Decision{}, "", EndpointTarget{}, errors.New("no routes yet")
	}
	d, ok := rt.Router.Route(Flow{Protocol: l.opts.Protocol, Src: src, Dst: dst})
	if !ok {
		return Decision{}, "", EndpointTarget{}, errors.New("no endpoint")
	}
	addr, e, ok := rt.target(d, l.port)
	if !ok {
		return Decision{}, "", EndpointTarget{}, fmt.Errorf("endpoint %s of group %s has no target", d.Endpoint, d.Region)
	}
	if m := l.opts.Metrics; m != nil {
		m.flows.WithLabelValues(l.opts.Name, d.Region, d.Reason).Inc()
	}
	return d, addr, e, nil
}

func (l *Socket) track(f *flow) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.flows == nil {
		return false
	}
	l.flows[f] = struct{}{}
	return true
}

func (l *Socket) untrack(f *flow) {
	l.mu.Lock()
	delete(l.flows, f)
	if f.client == nil && l.udpBy[f.clientAP] == f {
		delete(l.udpBy, f.clientAP)
	}
	l.mu.Unlock()
}

func addrPort(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.AddrPort()
	case *net.UDPAddr:
		return a.AddrPort()
	}
	return netip.AddrPort{}
}

// proxyHeader returns the PROXY protocol v2 header for a flow from src to dst.
func proxyHeader(proto string, src, dst netip.AddrPort) *proxyproto.Header {
	var from, to net.Addr
	if proto == UDP {
		from, to = net.UDPAddrFromAddrPort(src), net.UDPAddrFromAddrPort(dst)
	} else {
		from, to = net.TCPAddrFromAddrPort(src), net.TCPAddrFromAddrPort(dst)
	}
	return proxyproto.HeaderProxyFromAddrs(2, from, to)
}
