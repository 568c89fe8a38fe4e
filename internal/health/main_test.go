package health

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/polyregion/polyregion/internal/testutil"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// waitFor is testutil.WaitFor under the name the package's other tests call it by.
var waitFor = testutil.WaitFor

// testLogger routes a region's monitor logs to t.Log until the test ends.
func testLogger(t *testing.T, region string) *slog.Logger {
	return testutil.NewLog(t).Logger().With("component", "health", "region", region)
}

// fakeClock is a clock that moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testMonitor is a Monitor on a fake clock with its own registry; it records what it
// publishes.
type testMonitor struct {
	*Monitor
	clock *fakeClock
	reg   *prometheus.Registry

	mu        sync.Mutex
	published []Observation
}

func newTestMonitor(t *testing.T, region string, quorum float64) *testMonitor {
	t.Helper()
	tm := &testMonitor{clock: newFakeClock(), reg: prometheus.NewRegistry()}
	m, err := New(Options{
		Region:     region,
		Quorum:     quorum,
		Logger:     testLogger(t, region),
		Registerer: tm.reg,
		Now:        tm.clock.Now,
		Publish: func(o Observation) {
			tm.mu.Lock()
			defer tm.mu.Unlock()
			tm.published = append(tm.published, o)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	tm.Monitor = m
	return tm
}

func (tm *testMonitor) lastPublished() (Observation, int) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	if len(tm.published) == 0 {
		return Observation{}, 0
	}
	return tm.published[len(tm.published)-1], len(tm.published)
}

// recordResult enters a local probe result for the check, as its probe loop would.
func (tm *testMonitor) recordResult(t *testing.T, id string, healthy bool, reason string) {
	t.Helper()
	tm.Monitor.mu.Lock()
	cs := tm.checks[id]
	tm.Monitor.mu.Unlock()
	if cs == nil {
		t.Fatalf("no check %q", id)
	}
	tm.record(cs, Result{Healthy: healthy, Reason: reason})
}

// observe delivers another region's observation stamped at the monitor's current time.
func (tm *testMonitor) observe(id, region string, healthy bool) {
	tm.Observe(Observation{CheckID: id, Region: region, Healthy: healthy, LastResult: healthy,
		Reason: map[bool]string{true: "HTTP 200", false: "HTTP 500"}[healthy], CheckedAt: tm.clock.Now()})
}

func mustStatus(t *testing.T, m *Monitor, id string) CheckStatus {
	t.Helper()
	s, ok := m.Status(id)
	if !ok {
		t.Fatalf("Status(%q): no such check", id)
	}
	return s
}

// gauge returns the value of the gauge name with labels in reg, and whether it exists.
func gauge(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue metrics
				}
			}
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}

// target is an HTTP server on 127.0.0.1:0 whose answers a test can change.
type target struct {
	*httptest.Server
	ip   string
	port int

	mu      sync.Mutex
	handler http.HandlerFunc
	hits    map[string]int // by path
	agents  map[string]int // by User-Agent
	hosts   []string
}

func newTarget(t *testing.T, h http.HandlerFunc) *target {
	t.Helper()
	tg := &target{handler: h, hits: map[string]int{}, agents: map[string]int{}}
	tg.Server = httptest.NewServer(http.HandlerFunc(tg.serve))
	t.Cleanup(tg.Close)
	tg.ip, tg.port = hostPort(t, tg.Listener.Addr())
	return tg
}

func (tg *target) serve(w http.ResponseWriter, r *http.Request) {
	tg.mu.Lock()
	tg.hits[r.URL.Path]++
	tg.agents[r.UserAgent()]++
	tg.hosts = append(tg.hosts, r.Host)
	h := tg.handler
	tg.mu.Unlock()
	h(w, r)
}

func (tg *target) set(h http.HandlerFunc) {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	tg.handler = h
}

func (tg *target) hitsOn(path string) int {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return tg.hits[path]
}

func (tg *target) agentHits(ua string) int {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return tg.agents[ua]
}

func (tg *target) lastHost() string {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	if len(tg.hosts) == 0 {
		return ""
	}
	return tg.hosts[len(tg.hosts)-1]
}

func hostPort(t *testing.T, a net.Addr) (string, int) {
	t.Helper()
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		t.Fatalf("%v is not a TCP address", a)
	}
	return ta.IP.String(), ta.Port
}

func status(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

// runMonitor runs m until the test ends, and checks that Run returns nil.
func runMonitor(t *testing.T, m *Monitor) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}
