package app

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/polyregion/polyregion/internal/peer"
	"github.com/polyregion/polyregion/internal/topology"
)

const (
	// pingInterval is how often a region measures each peer.
	pingInterval = 500 * time.Millisecond
	// minPingTimeout bounds one measurement (longer for peers the model puts far away); a
	// peer whose last ping failed is unreachable, so a partition shows within
	// pingInterval+timeout, 1.5 s for most pairs.
	minPingTimeout = time.Second
	// rttSamples is how many recent round trips the reported RTT is the median of.
	rttSamples = 5
)

// PeerStatus is one region's view of another.
type PeerStatus struct {
	Region     string    `json:"region"`
	Reachable  bool      `json:"reachable"`
	RTTMillis  float64   `json:"rtt_ms,omitempty"`
	ModelRTTMs float64   `json:"model_rtt_ms"`
	LastOK     time.Time `json:"last_ok,omitzero"`
	Error      string    `json:"error,omitempty"`
}

// mesh measures the round trip to every other region over the peer transport.
type mesh struct {
	self   string
	topo   *topology.Topology
	client *peer.Client
	logger *slog.Logger

	up  *prometheus.GaugeVec
	rtt *prometheus.HistogramVec

	mu    sync.Mutex
	peers map[string]*peerState
}

type peerState struct {
	reachable bool
	samples   []time.Duration
	lastOK    time.Time
	err       string
	probed    bool
}

func newMesh(self string, topo *topology.Topology, client *peer.Client, logger *slog.Logger, reg prometheus.Registerer) *mesh {
	m := &mesh{
		self:   self,
		topo:   topo,
		client: client,
		logger: logger,
		peers:  map[string]*peerState{},
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "polyregion_peer_up",
			Help: "1 when the last ping to the peer region succeeded.",
		}, []string{"peer"}),
		rtt: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "polyregion_peer_rtt_seconds",
			Help:    "Round-trip time of pings to the peer region over the peer transport.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"peer"}),
	}
	reg.MustRegister(m.up, m.rtt)
	for _, r := range topo.Regions() {
		if r.Name != self {
			m.peers[r.Name] = &peerState{}
			m.up.WithLabelValues(r.Name).Set(0)
		}
	}
	return m
}

// run pings every peer each pingInterval until ctx ends; one goroutine per peer so that a
// partitioned peer does not delay the others.
func (m *mesh) run(ctx context.Context) {
	var wg sync.WaitGroup
	for name := range m.peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(pingInterval)
			defer t.Stop()
			for {
				m.probe(ctx, name)
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		}()
	}
	wg.Wait()
}

func (m *mesh) probe(ctx context.Context, name string) {
	pctx, cancel := context.WithTimeout(ctx, max(minPingTimeout, 3*m.topo.RTT(m.self, name)))
	rtt, err := m.client.Ping(pctx, name)
	cancel()
	if ctx.Err() != nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.peers[name]
	was, first := p.reachable, !p.probed
	p.probed = true
	if err != nil {
		p.reachable = false
		p.err = err.Error()
		m.up.WithLabelValues(name).Set(0)
		if was || first {
			m.logger.Warn("peer unreachable", "peer", name, "err", err)
		}
		return
	}
	p.reachable = true
	p.err = ""
	p.lastOK = time.Now().UTC()
	p.samples = append(p.samples, rtt)
	if len(p.samples) > rttSamples {
		p.samples = p.samples[len(p.samples)-rttSamples:]
	}
	m.up.WithLabelValues(name).Set(1)
	m.rtt.WithLabelValues(name).Observe(rtt.Seconds())
	if !was {
		m.logger.Info("peer reachable", "peer", name, "rtt", rtt)
	}
}

func (m *mesh) status() []PeerStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []PeerStatus
	for name, p := range m.peers {
		s := PeerStatus{
			Region:     name,
			Reachable:  p.reachable,
			ModelRTTMs: ms(m.topo.RTT(m.self, name)),
			LastOK:     p.lastOK,
			Error:      p.err,
		}
		if p.reachable && len(p.samples) > 0 {
			s.RTTMillis = ms(median(p.samples))
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b PeerStatus) int { return strings.Compare(a.Region, b.Region) })
	return out
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
