// Package mtest is the multi-region test harness: it starts a fleet of regions inside the
// test process, every listener on 127.0.0.1:0, with the emulated WAN between them, and can
// kill, restart and partition regions. Integration tests of every service build on it.
package mtest

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/polyregion/polyregion/internal/app"
	"github.com/polyregion/polyregion/internal/config"
	"github.com/polyregion/polyregion/internal/control"
	"github.com/polyregion/polyregion/internal/dns/geoip"
	"github.com/polyregion/polyregion/internal/netsim"
	"github.com/polyregion/polyregion/internal/peer"
	"github.com/polyregion/polyregion/internal/testutil"
)

// Options shape a test fleet.
type Options struct {
	// Regions to run; default: the three regions of the built-in fleet.
	Regions []config.Region
	// OneWay, when positive, replaces the latency model: every pair gets this one-way delay,
	// which keeps tests fast. Zero keeps the model (us-east<->eu-west is about 77 ms round trip).
	OneWay time.Duration
	// Configure, if set, may change the configuration before the regions start.
	Configure func(*config.Config)
	// ControlTiming overrides the control plane's Raft timeouts.
	ControlTiming control.Timing
}

// Cluster is a running test fleet.
type Cluster struct {
	t      testing.TB
	Config *config.Config
	WAN    *netsim.WAN
	log    *testutil.Log
	timing control.Timing

	mu      sync.Mutex
	regions map[string]*app.Region
	links   map[[2]string]*netsim.Link
}

// Start starts a fleet and stops it when the test ends.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	regions := opts.Regions
	if len(regions) == 0 {
		regions = config.Default().Regions
	}
	cfg := &config.Config{DataDir: t.TempDir()}
	for _, r := range regions {
		r.Listen = config.Listen{Peer: "127.0.0.1:0", Control: "127.0.0.1:0", DNS: "127.0.0.1:0", DynamoDB: "127.0.0.1:0"}
		r.PeerAddress = ""
		cfg.Regions = append(cfg.Regions, r)
	}
	cfg.Credentials = config.Credentials{AccessKeyID: "AKPRTESTTESTTEST0001", SecretAccessKey: "test-secret-key-0123456789"}
	cfg.DNS.GeoIP = filepath.Join(cfg.DataDir, "geoip-demo.mmdb")
	if err := geoip.WriteDemo(cfg.DNS.GeoIP); err != nil {
		t.Fatalf("mtest: %v", err)
	}
	if opts.Configure != nil {
		opts.Configure(cfg)
	}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("mtest: %v", err)
	}
	if err := peer.EnsurePKI(app.PKIDir(cfg), cfg.Identities()); err != nil {
		t.Fatalf("mtest: %v", err)
	}
	topo, err := cfg.Topology()
	if err != nil {
		t.Fatalf("mtest: %v", err)
	}
	c := &Cluster{
		t:       t,
		timing:  opts.ControlTiming,
		Config:  cfg,
		log:     testutil.NewLog(t),
		regions: map[string]*app.Region{},
		links:   map[[2]string]*netsim.Link{},
	}
	c.WAN = netsim.New(c.log.LoggerAt(slog.LevelInfo).With("component", "netsim"))
	t.Cleanup(c.stopAll)
	names := cfg.RegionNames()
	for i, a := range names {
		for _, b := range names[i+1:] {
			d := topo.OneWay(a, b)
			if opts.OneWay > 0 {
				d = opts.OneWay
			}
			c.WAN.SetBaseline(a, b, d)
		}
	}
	for _, a := range names {
		for _, b := range names {
			if a == b {
				continue
			}
			l, err := c.WAN.Listen(a, b, "127.0.0.1:0", func() string { return c.peerAddr(b) })
			if err != nil {
				t.Fatalf("mtest: link %s->%s: %v", a, b, err)
			}
			c.links[[2]string{a, b}] = l
		}
	}
	for _, n := range names {
		c.Start(n)
	}
	return c
}

// Names returns the region names in configuration order.
func (c *Cluster) Names() []string { return c.Config.RegionNames() }

// Start starts a stopped region on its data directory.
func (c *Cluster) Start(name string) *app.Region {
	c.t.Helper()
	peers := map[string]string{}
	for _, other := range c.Names() {
		if other != name {
			peers[other] = c.links[[2]string{name, other}].Addr().String()
		}
	}
	r, err := app.StartRegion(context.Background(), app.Options{
		Config:        c.Config,
		Region:        name,
		PeerAddrs:     peers,
		Logger:        c.log.LoggerAt(slog.LevelInfo).With("region", name),
		ControlTiming: c.timing,
	})
	if err != nil {
		c.t.Fatalf("mtest: start %s: %v", name, err)
	}
	c.mu.Lock()
	c.regions[name] = r
	c.mu.Unlock()
	return r
}

// Region returns the running region, or nil.
func (c *Cluster) Region(name string) *app.Region {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.regions[name]
}

// Endpoints returns a running region's addresses.
func (c *Cluster) Endpoints(name string) app.Endpoints {
	c.t.Helper()
	r := c.Region(name)
	if r == nil {
		c.t.Fatalf("mtest: region %s is not running", name)
	}
	return r.Endpoints()
}

// StartEdgeLocation starts an edge-only location of the configuration, reaching the
// running regions directly (not through the emulated WAN), and stops it when the test ends.
func (c *Cluster) StartEdgeLocation(name string) *app.EdgeLocation {
	c.t.Helper()
	peers := map[string]string{}
	for _, r := range c.Names() {
		if reg := c.Region(r); reg != nil {
			peers[r] = reg.Endpoints().Peer
		}
	}
	l, err := app.StartEdgeLocation(context.Background(), c.Config, name, peers, c.log.LoggerAt(slog.LevelInfo).With("edge_location", name))
	if err != nil {
		c.t.Fatalf("mtest: edge location %s: %v", name, err)
	}
	c.t.Cleanup(l.Stop)
	return l
}

// Kill stops a region abruptly, as a crash would.
func (c *Cluster) Kill(name string) {
	c.t.Helper()
	r := c.take(name)
	r.Kill()
}

// Stop stops a region gracefully.
func (c *Cluster) Stop(name string) {
	c.t.Helper()
	r := c.take(name)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Stop(ctx); err != nil {
		c.t.Errorf("mtest: stop %s: %v", name, err)
	}
}

// Restart stops a running region abruptly (if it runs) and starts it again on its data.
func (c *Cluster) Restart(name string) *app.Region {
	c.t.Helper()
	if c.Region(name) != nil {
		c.Kill(name)
	}
	return c.Start(name)
}

func (c *Cluster) take(name string) *app.Region {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.regions[name]
	if r == nil {
		c.t.Fatalf("mtest: region %s is not running", name)
	}
	delete(c.regions, name)
	return r
}

// Partition cuts the link between two regions; Heal restores it.
func (c *Cluster) Partition(a, b string) { c.WAN.Partition(a, b) }

// Heal restores the link between two regions to its baseline.
func (c *Cluster) Heal(a, b string) { c.WAN.Heal(a, b) }

// Isolate partitions a region from every other.
func (c *Cluster) Isolate(name string) {
	for _, o := range c.Names() {
		if o != name {
			c.WAN.Partition(name, o)
		}
	}
}

func (c *Cluster) peerAddr(name string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.regions[name]; ok {
		return r.Endpoints().Peer
	}
	return ""
}

func (c *Cluster) stopAll() {
	c.mu.Lock()
	rs := c.regions
	c.regions = map[string]*app.Region{}
	c.mu.Unlock()
	var wg sync.WaitGroup
	for _, r := range rs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = r.Stop(ctx)
		}()
	}
	wg.Wait()
	for _, l := range c.links {
		l.Close()
	}
}

// WaitFor is testutil.WaitFor, here so that fleet tests need only this package: it polls cond
// until it returns nil and returns how long that took, or fails the test with cond's last
// error once timeout passes.
func WaitFor(t testing.TB, timeout time.Duration, cond func() error) time.Duration {
	t.Helper()
	return testutil.WaitFor(t, timeout, cond)
}
