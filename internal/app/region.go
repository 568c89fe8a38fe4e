// Package app wires one region's services together and runs them in order, and holds the
// command-line interface: `serve` runs one region, `up` supervises a whole fleet on one
// machine behind the emulated WAN. Only cmd/polyregion imports it.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/polyregion/polyregion/internal/config"
	"github.com/polyregion/polyregion/internal/control"
	"github.com/polyregion/polyregion/internal/dns/zone"
	"github.com/polyregion/polyregion/internal/edge"
	"github.com/polyregion/polyregion/internal/health"
	"github.com/polyregion/polyregion/internal/kv"
	"github.com/polyregion/polyregion/internal/peer"
	"github.com/polyregion/polyregion/internal/replication"
	"github.com/polyregion/polyregion/internal/tables"
	"github.com/polyregion/polyregion/internal/topology"
)

// Version is the polyregion version, set at build time with -ldflags.
var Version = "dev"

// Options start one region.
type Options struct {
	Config *config.Config
	Region string
	// PeerAddrs overrides where to reach other regions' peer listeners (the emulated WAN
	// gives each region its own link to every other region).
	PeerAddrs map[string]string
	Logger    *slog.Logger
	// ProcessMetrics adds the Go runtime and process collectors to /metrics; leave it off
	// when several regions share a process (tests).
	ProcessMetrics bool
	// Join makes a brand-new region join the running fleet's control plane instead of ever
	// bootstrapping one.
	Join bool
	// ControlTiming overrides the control plane's Raft timeouts (tests).
	ControlTiming control.Timing
}

// Endpoints are the addresses a running region serves on.
type Endpoints struct {
	Peer            string `json:"peer"`
	Control         string `json:"control"`
	Metrics         string `json:"metrics"`
	DNS             string `json:"dns,omitempty"`
	Route53         string `json:"route53,omitempty"`
	DynamoDB        string `json:"dynamodb,omitempty"`
	DynamoDBStreams string `json:"dynamodbstreams,omitempty"`
	// GlobalAccelerator is the Global Accelerator API (on the control listener).
	GlobalAccelerator string `json:"globalaccelerator,omitempty"`
	// Edge is the address the region's edge location listens on (with each listener's ports).
	Edge string `json:"edge,omitempty"`
}

// Region is one running region.
type Region struct {
	name      string
	cfg       *config.Config
	self      config.Region
	topo      *topology.Topology
	logger    *slog.Logger
	state     regionState
	startedAt time.Time
	endpoints Endpoints
	registry  *prometheus.Registry

	peerLn, controlLn net.Listener
	peerSrv           *peer.Server
	controlSrv        *http.Server
	client            *peer.Client
	mesh              *mesh
	db                kv.Store
	control           *control.Node
	health            *health.Monitor
	shipper           *shipper
	dns               *regionDNS
	tables            *regionTables
	edge              *regionEdge

	// Replication of global tables (and later objects) between regions.
	clock              *replication.Clock
	replication        *replication.Server
	replicationMetrics *replication.Metrics

	cancel context.CancelFunc
	runCtx context.Context // ends when the region starts stopping
	wg     sync.WaitGroup
	mu     sync.Mutex
	ready  bool
	err    error
	done   chan struct{}
}

// Dir returns the data directory of a region.
func Dir(cfg *config.Config, region string) string { return filepath.Join(cfg.DataDir, region) }

// PKIDir returns the directory holding the fleet's certificates.
func PKIDir(cfg *config.Config) string { return filepath.Join(cfg.DataDir, "pki") }

// StartRegion opens a region's state, binds its listeners and starts its services. It
// returns once the region is ready; Stop or Kill ends it.
func StartRegion(ctx context.Context, opts Options) (*Region, error) {
	cfg := opts.Config
	self, ok := cfg.Region(opts.Region)
	if !ok {
		return nil, fmt.Errorf("region %q is not in the configuration (regions: %v)", opts.Region, cfg.RegionNames())
	}
	topo, err := cfg.Topology()
	if err != nil {
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := &Region{
		name:      self.Name,
		cfg:       cfg,
		self:      self,
		topo:      topo,
		logger:    logger,
		startedAt: time.Now(),
		registry:  prometheus.NewRegistry(),
		done:      make(chan struct{}),
	}
	if err := r.openState(); err != nil {
		return nil, err
	}
	id, err := peer.LoadIdentity(PKIDir(cfg), self.Name)
	if err != nil {
		return nil, fmt.Errorf("region %s: %w (run `polyregion init` to create certificates)", self.Name, err)
	}
	r.db, err = kv.Open(filepath.Join(Dir(cfg, self.Name), "kv"), kv.Options{Logger: logger.With("component", "kv")})
	if err != nil {
		return nil, fmt.Errorf("region %s: %w", self.Name, err)
	}
	started := false
	defer func() {
		if !started {
			r.db.Close()
		}
	}()
	if r.peerLn, err = net.Listen("tcp", self.Listen.Peer); err != nil {
		return nil, fmt.Errorf("region %s: peer listener: %w", self.Name, err)
	}
	defer func() {
		if !started {
			r.peerLn.Close()
		}
	}()
	if r.controlLn, err = net.Listen("tcp", self.Listen.Control); err != nil {
		return nil, fmt.Errorf("region %s: control listener: %w", self.Name, err)
	}
	defer func() {
		if !started {
			r.controlLn.Close()
		}
	}()
	r.endpoints = Endpoints{
		Peer:    r.peerLn.Addr().String(),
		Control: "http://" + r.controlLn.Addr().String(),
		Metrics: "http://" + r.controlLn.Addr().String() + "/metrics",
		Route53: "http://" + r.controlLn.Addr().String(),

		GlobalAccelerator: "http://" + r.controlLn.Addr().String(),
		Edge:              self.Listen.Edge,
	}

	known := map[string]bool{} // regions, and edge-only locations (which only read)
	for _, n := range cfg.Identities() {
		known[n] = true
	}
	r.client = peer.NewClient(id, func(region string) (string, error) {
		if a, ok := opts.PeerAddrs[region]; ok {
			return a, nil
		}
		if pr, ok := cfg.Region(region); ok {
			return pr.PeerAddress, nil
		}
		return "", fmt.Errorf("unknown region %q", region)
	})
	r.control, err = control.Open(control.Options{
		Region:      self.Name,
		Bootstrap:   cfg.RegionNames(),
		Join:        opts.Join,
		Store:       r.db,
		SnapshotDir: filepath.Join(Dir(cfg, self.Name), "raft-snapshots"),
		Client:      r.client,
		Validate:    globalValidator(cfg.RegionNames()),
		Logger:      logger.With("component", "control"),
		Registerer:  r.registry,
		Timing:      opts.ControlTiming,
	})
	if err != nil {
		return nil, fmt.Errorf("region %s: %w", self.Name, err)
	}
	var others []string
	for _, n := range cfg.RegionNames() {
		if n != self.Name {
			others = append(others, n)
		}
	}
	r.shipper = newShipper(r.client, others, logger.With("component", "health"))
	r.health, err = health.New(health.Options{
		Region:     self.Name,
		Quorum:     cfg.Health.Quorum,
		Logger:     logger.With("component", "health"),
		Registerer: r.registry,
		Publish:    r.shipper.publish,
	})
	if err != nil {
		return nil, fmt.Errorf("region %s: %w", self.Name, err)
	}
	if err := r.openDNS(); err != nil {
		return nil, err
	}
	defer func() {
		if !started && r.dns != nil {
			r.dns.close()
		}
	}()
	r.clock = replication.NewClock(nil)
	r.replication = replication.NewServer(replication.ServerOptions{Logger: logger.With("component", "replication")})
	r.replicationMetrics = replication.NewMetrics(r.registry)
	if err := r.openTables(); err != nil {
		return nil, err
	}
	defer func() {
		if !started && r.tables != nil {
			r.tables.ln.Close()
		}
	}()
	r.openEdge()
	r.peerSrv = peer.NewServer(id, r.peerHandler(), func(region string) bool { return known[region] }, logger.With("component", "peer"))
	r.peerSrv.HandleStream(control.StreamProto, r.control.HandleStream)
	r.mesh = newMesh(self.Name, topo, r.client, logger.With("component", "mesh"), r.registry)
	r.registerMetrics(opts.ProcessMetrics)
	r.controlSrv = &http.Server{
		Handler:           r.controlHandler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.With("component", "control").Handler(), slog.LevelWarn),
	}

	ctx, r.cancel = context.WithCancel(context.WithoutCancel(ctx))
	r.runCtx = ctx
	r.goServe("peer", func() error { return r.peerSrv.Serve(r.peerLn) })
	r.goServe("control", func() error { return r.controlSrv.Serve(r.controlLn) })
	r.wg.Add(10)
	go func() {
		defer r.wg.Done()
		r.seedConfigAccelerators(ctx)
	}()
	go func() {
		defer r.wg.Done()
		r.runTables(ctx)
	}()
	go func() {
		defer r.wg.Done()
		r.runEdge(ctx)
	}()
	go func() {
		defer r.wg.Done()
		r.runDNS(ctx)
	}()
	go func() {
		defer r.wg.Done()
		r.seedConfigZones(ctx)
	}()
	go func() {
		defer r.wg.Done()
		r.mesh.run(ctx)
	}()
	go func() {
		defer r.wg.Done()
		r.shipper.run(ctx)
	}()
	go func() {
		defer r.wg.Done()
		_ = r.health.Run(ctx)
	}()
	go func() {
		defer r.wg.Done()
		r.followControl(ctx)
	}()
	go func() {
		defer r.wg.Done()
		if err := r.control.Run(ctx); err != nil {
			r.fail(fmt.Errorf("control plane: %w", err))
		}
	}()
	started = true
	r.mu.Lock()
	r.ready = true
	r.mu.Unlock()
	logger.Info("region ready", "zone", self.Zone, "peer", r.endpoints.Peer, "control", r.endpoints.Control, "incarnation", r.state.Incarnation)
	return r, nil
}

func (r *Region) goServe(name string, serve func() error) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		if err := serve(); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			r.fail(fmt.Errorf("%s server: %w", name, err))
		}
	}()
}

// fail records the first fatal error and stops the region.
func (r *Region) fail(err error) {
	r.mu.Lock()
	if r.err == nil {
		r.err = err
	}
	r.mu.Unlock()
	r.logger.Error("region failing", "err", err)
	go r.Kill()
}

// Name returns the region's name.
func (r *Region) Name() string { return r.name }

// Endpoints returns the bound addresses.
func (r *Region) Endpoints() Endpoints { return r.endpoints }

// Incarnation counts the starts of this region's data directory, this one included.
func (r *Region) Incarnation() int { return r.state.Incarnation }

// Done is closed when the region has stopped.
func (r *Region) Done() <-chan struct{} { return r.done }

// Err returns the error that stopped the region, if any.
func (r *Region) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// Stop shuts the region down gracefully: it stops being ready, finishes requests in flight
// (until ctx ends) and stops every goroutine.
func (r *Region) Stop(ctx context.Context) error {
	r.mu.Lock()
	wasReady := r.ready
	r.ready = false
	r.mu.Unlock()
	if !wasReady {
		<-r.done
		return r.Err()
	}
	r.logger.Info("region stopping")
	r.cancel()
	// The pulls this region serves never end by themselves: end them, or the graceful
	// shutdown would wait for them until ctx's deadline.
	r.replication.Close()
	var errs []error
	errs = append(errs, r.peerSrv.Shutdown(ctx), r.controlSrv.Shutdown(ctx))
	r.finish()
	errs = append(errs, r.Err())
	return errors.Join(errs...)
}

// Kill stops the region abruptly, as a crash would: listeners and connections are closed at
// once and nothing is flushed beyond what was already durable.
func (r *Region) Kill() {
	r.mu.Lock()
	wasReady := r.ready
	r.ready = false
	r.mu.Unlock()
	if !wasReady {
		<-r.done
		return
	}
	r.cancel()
	r.peerSrv.Close()
	r.controlSrv.Close()
	r.finish()
}

func (r *Region) finish() {
	r.wg.Wait()
	r.client.CloseIdleConnections()
	if err := r.db.Close(); err != nil {
		r.logger.Error("closing the kv store", "err", err)
	}
	close(r.done)
}

// Ready reports whether the region is serving.
func (r *Region) Ready() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ready
}

func (r *Region) peerHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/peer/v1/control/", r.control.Handler())
	mux.Handle("POST "+observationPath, receiveObservations(r.health, r.logger.With("component", "health")))
	mux.HandleFunc("GET "+dnsIndexPath, r.serveDNSIndex)
	mux.HandleFunc("GET "+edgeStatePath, r.serveEdgeState)
	mux.Handle(replication.PathPrefix, r.replication)
	if r.tables != nil {
		mux.Handle(tables.PeerPrefix, r.tables.svc.PeerHandler())
	}
	mux.HandleFunc("GET /peer/v1/region", func(w http.ResponseWriter, req *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"region": r.name, "zone": r.self.Zone, "incarnation": r.state.Incarnation})
	})
	return mux
}

func (r *Region) controlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !r.Ready() {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready")
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(r.registry, promhttp.HandlerOpts{Registry: r.registry}))
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, r.Status())
	})
	r.registerAPI(mux)
	return mux
}

// RegionStatus is what GET /v1/status returns: the region as it sees itself and its peers.
type RegionStatus struct {
	Region      string         `json:"region"`
	DisplayName string         `json:"display_name"`
	Zone        string         `json:"zone"`
	Version     string         `json:"version"`
	PID         int            `json:"pid"`
	StartedAt   time.Time      `json:"started_at"`
	CreatedAt   time.Time      `json:"created_at"`
	Incarnation int            `json:"incarnation"`
	Ready       bool           `json:"ready"`
	Peers       []PeerStatus   `json:"peers"`
	Control     control.Status `json:"control"`
	// HostedZones counts the DNS zones in this region's copy of the control plane.
	HostedZones int `json:"hosted_zones"`
	// Edge lists the edge location's sockets; empty when the region runs none.
	Edge []EdgeSocketStatus `json:"edge,omitempty"`
	// Replication lists what this region pulls from the others: global tables' streams.
	Replication []replication.Status `json:"replication,omitempty"`
}

// Status reports the region and what it measures of its peers.
func (r *Region) Status() RegionStatus {
	return RegionStatus{
		Region:      r.name,
		DisplayName: r.self.DisplayName,
		Zone:        r.self.Zone,
		Version:     Version,
		PID:         os.Getpid(),
		StartedAt:   r.startedAt.UTC(),
		CreatedAt:   r.state.CreatedAt,
		Incarnation: r.state.Incarnation,
		Ready:       r.Ready(),
		Peers:       r.mesh.status(),
		Control:     r.control.Status(),
		HostedZones: len(r.control.State().List(zone.KindHostedZone)),
		Edge:        r.edge.status(),
		Replication: r.replicationStatus(),
	}
}

func (r *Region) registerMetrics(process bool) {
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "polyregion_region_info",
		Help: "Always 1; labels name the region, its zone and the polyregion version.",
	}, []string{"region", "zone", "version"})
	info.WithLabelValues(r.name, r.self.Zone, Version).Set(1)
	incarnation := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "polyregion_region_incarnation",
		Help: "How many times this region's data directory has been started.",
	})
	incarnation.Set(float64(r.state.Incarnation))
	r.registry.MustRegister(info, incarnation)
	if process {
		r.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// followControl hands every new control-plane state to the services that read it.
func (r *Region) followControl(ctx context.Context) {
	for st := range r.control.Watch(ctx) {
		checks, err := healthChecksOf(st)
		if err == nil {
			var accs []edge.Accelerator
			if accs, err = edge.AcceleratorsOf(st); err == nil {
				checks = append(checks, edgeHealthChecks(accs)...)
				err = r.health.SetChecks(checks)
			}
		}
		if err != nil {
			r.logger.Error("applying health checks from the control plane", "index", st.Index(), "err", err)
		}
	}
}

// replicationStatus lists the region's pulls; nil without tables.
func (r *Region) replicationStatus() []replication.Status {
	if r.tables == nil {
		return nil
	}
	return r.tables.svc.ReplicationStatus()
}
