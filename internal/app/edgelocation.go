package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/polyregion/polyregion/internal/config"
	"github.com/polyregion/polyregion/internal/edge"
	"github.com/polyregion/polyregion/internal/health"
	"github.com/polyregion/polyregion/internal/peer"
)

// edgeStatePath is where a region serves the accelerators to edge-only locations:
// GET ?after=INDEX waits (up to edgeStateWait) until the control plane moves past INDEX.
const edgeStatePath = "/peer/v1/edge/state"

const edgeStateWait = 10 * time.Second

// edgeState is what edgeStatePath answers.
type edgeState struct {
	Index        uint64             `json:"index"`
	Accelerators []edge.Accelerator `json:"accelerators"`
}

func (r *Region) serveEdgeState(w http.ResponseWriter, req *http.Request) {
	after, _ := strconv.ParseUint(req.URL.Query().Get("after"), 10, 64)
	ctx, cancel := context.WithTimeout(req.Context(), edgeStateWait)
	defer cancel()
	// A long poll must not hold up the region's graceful stop.
	defer context.AfterFunc(r.runCtx, cancel)()
	st := r.control.State()
	if st.Index() <= after {
		for s := range r.control.Watch(ctx) {
			st = s
			if s.Index() > after {
				cancel()
			}
		}
	}
	accs, err := edge.AcceleratorsOf(st)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal", "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, edgeState{Index: st.Index(), Accelerators: accs})
}

// EdgeLocation is a running edge-only location: edge listeners at its own coordinates,
// following the accelerators of the fleet's control plane through the nearest reachable
// region, probing the endpoints from where it stands.
type EdgeLocation struct {
	name   string
	cfg    *config.Config
	loc    config.EdgeLocation
	logger *slog.Logger
	client *peer.Client
	health *health.Monitor
	edge   *regionEdge
	order  []string // regions nearest first, to follow the control plane through
	state  string   // file keeping the last accelerators seen (static stability)

	registry *prometheus.Registry
	ctlLn    net.Listener
	ctlSrv   *http.Server

	mu      sync.Mutex
	accs    []edge.Accelerator
	index   uint64
	via     string
	lastErr string

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// StartEdgeLocation starts an edge-only location of cfg. peerAddrs overrides where regions
// are reached (as for serve).
func StartEdgeLocation(ctx context.Context, cfg *config.Config, name string, peerAddrs map[string]string, logger *slog.Logger) (*EdgeLocation, error) {
	loc, ok := cfg.EdgeLocation(name)
	if !ok {
		return nil, usageError{fmt.Errorf("no edge location %q in the configuration", name)}
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	topo, err := cfg.Topology()
	if err != nil {
		return nil, err
	}
	id, err := peer.LoadIdentity(PKIDir(cfg), name)
	if err != nil {
		return nil, fmt.Errorf("edge location %s: %w (run `polyregion init` to create certificates)", name, err)
	}
	l := &EdgeLocation{name: name, cfg: cfg, loc: loc, logger: logger, registry: prometheus.NewRegistry(),
		state: filepath.Join(Dir(cfg, name), "accelerators.json")}
	if err := os.MkdirAll(Dir(cfg, name), 0o700); err != nil {
		return nil, err
	}
	l.client = peer.NewClient(id, func(region string) (string, error) {
		if a, ok := peerAddrs[region]; ok {
			return a, nil
		}
		if pr, ok := cfg.Region(region); ok {
			return pr.PeerAddress, nil
		}
		return "", fmt.Errorf("unknown region %q", region)
	})
	var prox []string
	for _, r := range topo.Nearest(loc.Lat, loc.Lon) {
		prox = append(prox, r.Name)
	}
	l.order = prox
	l.health, err = health.New(health.Options{Region: name, Quorum: cfg.Health.Quorum, Logger: logger.With("component", "health"), Registerer: l.registry})
	if err != nil {
		return nil, err
	}
	l.edge = &regionEdge{host: loc.Listen, proximity: prox, metrics: edge.NewMetrics(l.registry), sockets: map[socketKey]*edgeSocket{}}
	if loc.Control != "" {
		if l.ctlLn, err = net.Listen("tcp", loc.Control); err != nil {
			return nil, fmt.Errorf("edge location %s: control listener: %w", name, err)
		}
		l.ctlSrv = &http.Server{Handler: l.controlHandler(), ReadHeaderTimeout: 10 * time.Second}
	}
	ctx, l.cancel = context.WithCancel(context.WithoutCancel(ctx))
	// Serve the last accelerators seen at once: the fleet may be unreachable.
	var accs []edge.Accelerator
	if b, err := os.ReadFile(l.state); err == nil && json.Unmarshal(b, &accs) == nil {
		l.apply(ctx, accs)
	}
	l.wg.Add(3)
	go func() { defer l.wg.Done(); _ = l.health.Run(ctx) }()
	go func() { defer l.wg.Done(); l.follow(ctx) }()
	go func() { defer l.wg.Done(); l.followHealth(ctx) }()
	if l.ctlSrv != nil {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			if err := l.ctlSrv.Serve(l.ctlLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Error("control server", "err", err)
			}
		}()
	}
	logger.Info("edge location ready", "listen", loc.Listen, "nearest", prox)
	return l, nil
}

// apply serves accs: checks for their endpoints, sockets and routes.
func (l *EdgeLocation) apply(ctx context.Context, accs []edge.Accelerator) {
	if err := l.health.SetChecks(edgeHealthChecks(accs)); err != nil {
		l.logger.Error("edge: health checks", "err", err)
	}
	l.mu.Lock()
	l.accs = accs
	l.mu.Unlock()
	l.edge.reconcile(ctx, accs, l.health.Snapshot().Healthy, l.logger.With("component", "edge"))
}

// follow keeps the accelerators in step with the control plane, asking the nearest
// region that answers.
func (l *EdgeLocation) follow(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		var err error
		for _, region := range l.order {
			if err = l.pull(ctx, region); err == nil {
				backoff = 100 * time.Millisecond
				break
			}
		}
		if err == nil {
			continue
		}
		l.mu.Lock()
		l.lastErr, l.via = err.Error(), ""
		l.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// pull asks one region for the accelerators past the index already seen.
func (l *EdgeLocation) pull(ctx context.Context, region string) error {
	l.mu.Lock()
	after := l.index
	l.mu.Unlock()
	rctx, cancel := context.WithTimeout(ctx, edgeStateWait+5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, edgeStatePath+"?after="+strconv.FormatUint(after, 10), nil)
	if err != nil {
		return err
	}
	resp, err := l.client.Do(req, region)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s answered %s: %s", region, resp.Status, b)
	}
	var st edgeState
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return fmt.Errorf("%s: %w", region, err)
	}
	l.mu.Lock()
	changed := st.Index != l.index
	l.index, l.via, l.lastErr = st.Index, region, ""
	l.mu.Unlock()
	if changed {
		l.apply(ctx, st.Accelerators)
		if b, err := json.Marshal(st.Accelerators); err == nil {
			_ = writeFileAtomic(l.state, b, 0o600)
		}
	}
	return nil
}

// followHealth rebuilds the routes whenever an endpoint's health changes.
func (l *EdgeLocation) followHealth(ctx context.Context) {
	for hs := range l.health.Watch(ctx) {
		l.mu.Lock()
		accs := l.accs
		l.mu.Unlock()
		l.edge.reconcile(ctx, accs, hs.Healthy, l.logger.With("component", "edge"))
	}
}

// EdgeLocationStatus is what an edge location's /v1/status answers.
type EdgeLocationStatus struct {
	Location string             `json:"location"`
	Lat      float64            `json:"lat"`
	Lon      float64            `json:"lon"`
	Nearest  []string           `json:"nearest"` // regions, nearest first
	Index    uint64             `json:"index"`   // control-plane index of the accelerators served
	Via      string             `json:"via"`     // the region followed; empty while none answers
	Error    string             `json:"error,omitempty"`
	Edge     []EdgeSocketStatus `json:"edge"`
	// Health is the location's own checks of the endpoints it routes to, by check id:
	// a group gets flows once its endpoints' checks are known and healthy.
	Health []health.CheckStatus `json:"health"`
}

// Status reports the location.
func (l *EdgeLocation) Status() EdgeLocationStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	return EdgeLocationStatus{Location: l.name, Lat: l.loc.Lat, Lon: l.loc.Lon, Nearest: l.order,
		Index: l.index, Via: l.via, Error: l.lastErr, Edge: l.edge.status(), Health: l.health.Statuses()}
}

// ControlAddr returns the control listener's address, "" without one.
func (l *EdgeLocation) ControlAddr() string {
	if l.ctlLn == nil {
		return ""
	}
	return l.ctlLn.Addr().String()
}

func (l *EdgeLocation) controlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ready") })
	mux.Handle("GET /metrics", promhttp.HandlerFor(l.registry, promhttp.HandlerOpts{Registry: l.registry}))
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, l.Status()) })
	return mux
}

// Stop closes the listeners and waits for every goroutine.
func (l *EdgeLocation) Stop() {
	l.cancel()
	if l.ctlSrv != nil {
		l.ctlSrv.Close()
	}
	l.wg.Wait()
	l.edge.closeAll()
	l.client.CloseIdleConnections()
}
