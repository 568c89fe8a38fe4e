package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/polyregion/polyregion/internal/control"
	"github.com/polyregion/polyregion/internal/edge"
	"github.com/polyregion/polyregion/internal/health"
)

// kindAccelerator is the control-plane kind of the edge's accelerators.
const kindAccelerator = edge.Kind

// reservedCheckPrefix starts the ids of the health checks the edge derives for its
// endpoints; users may not create checks with it.
const reservedCheckPrefix = "edge-"

// edgeHealthChecks derives one health check per endpoint of every enabled accelerator,
// probed like any other check from every region.
func edgeHealthChecks(accs []edge.Accelerator) []health.Check {
	var out []health.Check
	for _, a := range accs {
		if !a.Enabled {
			continue
		}
		for li := range a.Listeners {
			l := &a.Listeners[li]
			for gi := range l.EndpointGroups {
				g := &l.EndpointGroups[gi]
				for ei := range g.Endpoints {
					e := &g.Endpoints[ei]
					host := e.EndpointId
					if h, _, err := net.SplitHostPort(host); err == nil {
						host = h
					}
					c := health.Check{
						ID:               edge.HealthCheckID(g.EndpointGroupArn, e.EndpointId),
						Name:             fmt.Sprintf("edge %s %s endpoint %s", a.Name, g.EndpointGroupRegion, e.EndpointId),
						Type:             health.Type(g.HealthCheckProtocol),
						IPAddress:        strings.Trim(host, "[]"),
						Port:             edge.HealthPort(l, g, e),
						RequestInterval:  health.Duration(time.Duration(g.HealthCheckIntervalSeconds) * time.Second),
						FailureThreshold: g.ThresholdCount,
					}
					if c.Type != health.TypeTCP {
						c.ResourcePath = g.HealthCheckPath
					}
					out = append(out, c)
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b health.Check) int { return strings.Compare(a.ID, b.ID) })
	return slices.CompactFunc(out, func(a, b health.Check) bool { return a.ID == b.ID })
}

// regionEdge runs this region's edge location: a socket per port of every listener of
// every enabled accelerator, on the region's edge address.
type regionEdge struct {
	host      string
	proximity []string // regions, nearest first
	metrics   *edge.Metrics

	mu      sync.Mutex
	sockets map[socketKey]*edgeSocket
	wg      sync.WaitGroup
}

type socketKey struct {
	protocol string
	port     int
}

type edgeSocket struct {
	sock     *edge.Socket
	listener string // listener ARN
	cancel   context.CancelFunc
}

// openEdge prepares the edge location when the region has an edge address.
func (r *Region) openEdge() {
	if r.self.Listen.Edge == "" {
		return
	}
	prox := []string{r.self.Name} // the location is in its own region
	for _, reg := range r.topo.NearestFromRegion(r.self.Name) {
		prox = append(prox, reg.Name)
	}
	r.edge = &regionEdge{host: r.self.Listen.Edge, proximity: prox, metrics: edge.NewMetrics(r.registry), sockets: map[socketKey]*edgeSocket{}}
}

// runEdge keeps the sockets and their routes in step with the control plane and health.
func (r *Region) runEdge(ctx context.Context) {
	if r.edge == nil {
		return
	}
	states := r.control.Watch(ctx)
	healths := r.health.Watch(ctx)
	var st *control.State
	var hs *health.Snapshot
	for {
		select {
		case <-ctx.Done():
			r.edge.closeAll()
			return
		case s, ok := <-states:
			if !ok {
				continue
			}
			st = s
		case h, ok := <-healths:
			if !ok {
				continue
			}
			hs = h
		}
		if st != nil && hs != nil {
			r.reconcileEdge(ctx, st, hs)
		}
	}
}

// reconcileEdge gives this region's edge location the accelerators of st under health hs.
func (r *Region) reconcileEdge(ctx context.Context, st *control.State, hs *health.Snapshot) {
	accs, err := edge.AcceleratorsOf(st)
	if err != nil {
		r.logger.Error("edge: reading accelerators", "err", err)
		return
	}
	r.edge.reconcile(ctx, accs, hs.Healthy, r.logger.With("component", "edge"))
}

// reconcile opens the sockets the enabled accelerators need, closes the others, and gives
// every socket the routes of its listener under the current health.
func (e *regionEdge) reconcile(ctx context.Context, accs []edge.Accelerator, healthy func(string) (bool, bool), logger *slog.Logger) {
	type want struct {
		listener *edge.Listener
		routes   *edge.Routes
	}
	wanted := map[socketKey]want{}
	for ai := range accs {
		a := &accs[ai]
		if !a.Enabled {
			continue
		}
		for li := range a.Listeners {
			l := &a.Listeners[li]
			rt := edge.BuildRoutes(l, e.proximity, healthy)
			for _, p := range l.Ports() {
				wanted[socketKey{l.Protocol, p}] = want{l, rt}
			}
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, s := range e.sockets {
		if w, ok := wanted[k]; !ok || w.listener.ListenerArn != s.listener {
			s.cancel()
			delete(e.sockets, k)
		}
	}
	for k, w := range wanted {
		s, ok := e.sockets[k]
		if !ok {
			sock, err := edge.Listen(edge.SocketOptions{
				Name:     edge.ListenerID(w.listener.ListenerArn),
				Protocol: k.protocol,
				Addr:     edge.ListenAddr(e.host, k.port),
				Metrics:  e.metrics,
				Logger:   logger,
			})
			if err != nil {
				logger.Error("edge: cannot listen", "protocol", k.protocol, "port", k.port, "err", err)
				continue
			}
			sctx, cancel := context.WithCancel(ctx)
			s = &edgeSocket{sock: sock, listener: w.listener.ListenerArn, cancel: cancel}
			e.sockets[k] = s
			e.wg.Add(1)
			go func() {
				defer e.wg.Done()
				if err := sock.Serve(sctx); err != nil {
					logger.Error("edge: socket failed", "protocol", k.protocol, "port", k.port, "err", err)
				}
			}()
			logger.Info("edge: listening", "protocol", k.protocol, "addr", sock.Addr().String(), "listener", s.listener)
		}
		s.sock.SetRoutes(w.routes)
	}
}

func (e *regionEdge) closeAll() {
	e.mu.Lock()
	for k, s := range e.sockets {
		s.cancel()
		delete(e.sockets, k)
	}
	e.mu.Unlock()
	e.wg.Wait()
}

// EdgeSocketStatus is one socket of an edge location, as status shows it.
type EdgeSocketStatus struct {
	Protocol    string `json:"protocol"`
	Address     string `json:"address"`
	Listener    string `json:"listener"` // the listener's ARN
	ActiveFlows int    `json:"active_flows"`
}

// status lists the sockets, by protocol and port; nil when the region runs no edge.
func (e *regionEdge) status() []EdgeSocketStatus {
	if e == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]EdgeSocketStatus, 0, len(e.sockets))
	for k, s := range e.sockets {
		out = append(out, EdgeSocketStatus{Protocol: k.protocol, Address: s.sock.Addr().String(), Listener: s.listener, ActiveFlows: s.sock.Active()})
	}
	slices.SortFunc(out, func(a, b EdgeSocketStatus) int {
		return strings.Compare(a.Protocol+" "+a.Address, b.Protocol+" "+b.Address)
	})
	return out
}
