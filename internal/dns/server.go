package dns

import (
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/polyregion/polyregion/internal/dns/geoip"
	"github.com/polyregion/polyregion/internal/dns/policy"
	"github.com/polyregion/polyregion/internal/topology"
)

// NameServer is one region's DNS server. Every zone lists every region's server in its apex
// NS record set, under the name "ns-<region>.<zone apex>", with A or AAAA glue at that name.
type NameServer struct {
	Region string
	Addr   netip.Addr
}

// Options configure a Server. Region and NameServers describe the fleet; the zero value of
// every other field is a working default.
type Options struct {
	// Region is the region this server runs in; latency and geoproximity policies see it.
	Region string
	// NameServers are every region's DNS server, for the apex NS record sets, their glue
	// and the SOA (whose MNAME is the first one's name).
	NameServers []NameServer
	// Topology gives region coordinates (geoproximity) and the modelled round trip from a
	// client's coordinates to a region (latency, when Latency has no measurement). May be
	// nil.
	Topology *topology.Topology
	// GeoIP locates clients; nil: no client has a location.
	GeoIP *geoip.DB
	// Latency holds measured latencies from client networks to regions; may be nil.
	Latency *policy.LatencyTable
	// Logger receives what the transports cannot return (recovered panics, write
	// failures). Nil discards.
	Logger *slog.Logger
	// Registerer receives the server's metrics; may be nil.
	Registerer prometheus.Registerer

	// MaxTCPConnections bounds the TCP connections served at once; a connection beyond it
	// is closed at once. Default 1024.
	MaxTCPConnections int
	// TCPIdleTimeout is how long a TCP connection may take to deliver each complete query
	// (and to take each answer) before it is closed. Default 10s.
	TCPIdleTimeout time.Duration
	// UDPWorkers is the number of goroutines reading the UDP socket (on Linux, each up to
	// 32 queued datagrams at a time). Default GOMAXPROCS.
	UDPWorkers int
}

// Defaults of Options.
const (
	DefaultMaxTCPConnections = 1024
	DefaultTCPIdleTimeout    = 10 * time.Second
)

// Fixed values of the synthesized apex records.
const (
	soaTTL     = 900
	soaRefresh = 7200
	soaRetry   = 900
	soaExpire  = 1209600
	soaMinimum = 86400
	nsTTL      = 172800
	// advertisedUDPSize is the EDNS buffer size the server advertises: the DNS Flag Day
	// 2020 value, which avoids IP fragmentation.
	advertisedUDPSize = 1232
	// maxUDPSize is the largest client buffer size the server honours.
	maxUDPSize = 4096
)

// Server is an authoritative DNS server. It is safe for concurrent use.
type Server struct {
	opts    Options
	log     *slog.Logger
	view    atomic.Pointer[view]
	metrics *metrics
	queries sync.Pool // of *query
}

// view is a snapshot with the records the server synthesizes for each of its zones.
type view struct {
	snap *Snapshot
	apex []apexData // by zoneData.idx
}

// apexData are a zone's synthesized records.
type apexData struct {
	soa    []dns.RR // the SOA, TTL 900
	negSOA []dns.RR // the SOA with the negative-caching TTL, for authority sections
	ns     []dns.RR
	glue   []dns.RR            // every A and AAAA of the name servers
	byName map[string][]dns.RR // name server name -> its A and AAAA
}

// New returns a server with no zones: it refuses every query until the first Swap.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.MaxTCPConnections <= 0 {
		opts.MaxTCPConnections = DefaultMaxTCPConnections
	}
	if opts.TCPIdleTimeout <= 0 {
		opts.TCPIdleTimeout = DefaultTCPIdleTimeout
	}
	opts.NameServers = append([]NameServer(nil), opts.NameServers...)
	s := &Server{opts: opts, log: opts.Logger}
	s.metrics = newMetrics(opts.Registerer, s.log)
	s.queries.New = func() any { return newQuery(s) }
	empty, _ := NewSnapshot(0, nil, nil, nil, nil)
	s.Swap(empty)
	return s
}

// Swap installs a snapshot; queries that arrive from now on are answered from it. A nil
// snapshot removes every zone.
func (s *Server) Swap(snap *Snapshot) {
	if snap == nil {
		snap, _ = NewSnapshot(0, nil, nil, nil, nil)
	}
	v := &view{snap: snap, apex: make([]apexData, len(snap.list))}
	for i, z := range snap.list {
		v.apex[i] = s.synthesize(z.apex, snap.index)
	}
	s.view.Store(v)
	s.metrics.snapshotIndex.Set(float64(snap.index))
}

// Snapshot returns the snapshot the server answers from.
func (s *Server) Snapshot() *Snapshot { return s.view.Load().snap }

// synthesize builds a zone's SOA, apex NS and glue.
func (s *Server) synthesize(apex string, index uint64) apexData {
	a := apexData{byName: map[string][]dns.RR{}}
	first := s.opts.Region
	if len(s.opts.NameServers) > 0 {
		first = s.opts.NameServers[0].Region
	}
	mname := apex
	if n := nsName(first, apex); n != "" {
		mname = n
	}
	soa := &dns.SOA{
		Hdr:     dns.RR_Header{Name: apex, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: soaTTL},
		Ns:      mname,
		Mbox:    "hostmaster." + apex,
		Serial:  uint32(index),
		Refresh: soaRefresh,
		Retry:   soaRetry,
		Expire:  soaExpire,
		Minttl:  soaMinimum,
	}
	if !validName(soa.Mbox) {
		soa.Mbox = apex
	}
	a.soa = []dns.RR{soa}
	neg := *soa
	neg.Hdr.Ttl = min(soa.Hdr.Ttl, soa.Minttl) // RFC 2308 §3
	a.negSOA = []dns.RR{&neg}

	for _, ns := range s.opts.NameServers {
		name := nsName(ns.Region, apex)
		if name == "" || !ns.Addr.IsValid() {
			continue
		}
		if _, listed := a.byName[name]; !listed {
			a.ns = append(a.ns, &dns.NS{
				Hdr: dns.RR_Header{Name: apex, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: nsTTL},
				Ns:  name,
			})
		}
		var rr dns.RR
		if addr := ns.Addr.Unmap(); addr.Is4() {
			rr = &dns.A{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: nsTTL}, A: addr.AsSlice()}
		} else {
			rr = &dns.AAAA{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeAAAA, Class: dns.ClassINET, Ttl: nsTTL}, AAAA: addr.AsSlice()}
		}
		a.byName[name] = append(a.byName[name], rr)
		a.glue = append(a.glue, rr)
	}
	return a
}

// nsName is the name of a region's name server in a zone, or "" when that is not a valid
// domain name.
func nsName(region, apex string) string {
	if region == "" {
		return ""
	}
	name := "ns-" + region + "." + apex
	if apex == "." {
		name = "ns-" + region + "."
	}
	name = strings.ToLower(name)
	if !validName(name) {
		return ""
	}
	return name
}
