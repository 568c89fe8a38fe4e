package health

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestNewValidatesOptions(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{}, "region: required"},
		{Options{Region: "a", Quorum: 1}, "quorum: 1 is outside [0, 1)"},
		{Options{Region: "a", Quorum: -0.1}, "quorum: -0.1 is outside [0, 1)"},
		{Options{Region: "a", Quorum: math.NaN()}, "quorum: NaN is outside [0, 1)"},
	} {
		if _, err := New(tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want an error with %q", tc.opts, err, tc.want)
		}
	}
	reg := prometheus.NewRegistry()
	if _, err := New(Options{Region: "a", Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{Region: "b", Registerer: reg}); err == nil {
		t.Error("a second Monitor registered the same gauges")
	}
	if _, err := New(Options{Region: "a"}); err != nil {
		t.Errorf("New without a registerer: %v", err)
	}
}

func TestMonitorBeforeFirstRound(t *testing.T) {
	m := newTestMonitor(t, "eu-west", 0)
	if err := m.SetChecks([]Check{{ID: "web", Type: TypeHTTP, IPAddress: "127.0.0.1"}}); err != nil {
		t.Fatal(err)
	}
	s := mustStatus(t, m.Monitor, "web")
	if s.State != StateInitializing || !s.Healthy || !s.Initializing || s.Known() || s.Reason != "no vantage point has reported yet" || len(s.Vantages) != 0 {
		t.Errorf("status before the first round: %+v", s)
	}
	snap := m.Snapshot()
	if healthy, known := snap.Healthy("web"); !healthy || known {
		t.Errorf("Snapshot.Healthy before the first round = %v, %v; want true (fail open), false", healthy, known)
	}
	if healthy, known := snap.Healthy("nope"); !healthy || known {
		t.Errorf("Snapshot.Healthy(unknown id) = %v, %v; want true, false", healthy, known)
	}
	if _, ok := snap.State("nope"); ok {
		t.Error("Snapshot.State(unknown id) found it")
	}
	if ids := snap.IDs(); len(ids) != 1 || ids[0] != "web" {
		t.Errorf("Snapshot.IDs() = %q", ids)
	}
	if v, ok := gauge(t, m.reg, "polyregion_health_check_healthy", map[string]string{"check": "web"}); !ok || v != -1 {
		t.Errorf("healthy gauge %v (present %v), want -1", v, ok)
	}
	if _, ok := m.Status("nope"); ok {
		t.Error("Status(unknown id) found it")
	}
}

// TestMonitorThreshold drives the local state machine through the Monitor: the first
// result sets the state, then FailureThreshold results flip it, both ways; every result is
// published.
func TestMonitorThreshold(t *testing.T) {
	m := newTestMonitor(t, "eu-west", 0)
	if err := m.SetChecks([]Check{{ID: "web", Type: TypeHTTP, IPAddress: "127.0.0.1", FailureThreshold: 3}}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		result  bool
		vantage bool
		overall State
	}{
		{true, true, StateHealthy}, // the first result sets the state
		{false, true, StateHealthy},
		{false, true, StateHealthy},
		{false, false, StateUnhealthy}, // the third failure flips it
		{true, false, StateUnhealthy},
		{true, false, StateUnhealthy},
		{true, true, StateHealthy}, // the third success flips it back
	}
	for i, st := range steps {
		reason := map[bool]string{true: "HTTP 200", false: "HTTP 500"}[st.result]
		m.recordResult(t, "web", st.result, reason)
		o, n := m.lastPublished()
		want := Observation{CheckID: "web", Region: "eu-west", Healthy: st.vantage, LastResult: st.result, Reason: reason, CheckedAt: m.clock.Now()}
		if n != i+1 || o != want {
			t.Fatalf("step %d: published %d, last %+v; want %+v", i, n, o, want)
		}
		if s := mustStatus(t, m.Monitor, "web"); s.State != st.overall {
			t.Fatalf("step %d: overall %s, want %s", i, s.State, st.overall)
		}
		m.clock.Advance(time.Second)
	}
	// The first result may as well be a failure.
	m2 := newTestMonitor(t, "eu-west", 0)
	if err := m2.SetChecks([]Check{{ID: "web", Type: TypeHTTP, IPAddress: "127.0.0.1"}}); err != nil {
		t.Fatal(err)
	}
	m2.recordResult(t, "web", false, "connection refused")
	if s := mustStatus(t, m2.Monitor, "web"); s.State != StateUnhealthy || s.Vantages[0].Reason != "connection refused" {
		t.Errorf("after one failure: %+v", s)
	}
}

func TestMonitorInverted(t *testing.T) {
	m := newTestMonitor(t, "eu-west", 0)
	if err := m.SetChecks([]Check{{ID: "web", Type: TypeHTTP, IPAddress: "127.0.0.1", Inverted: true, FailureThreshold: 2}}); err != nil {
		t.Fatal(err)
	}
	m.recordResult(t, "web", true, "HTTP 200")
	o, _ := m.lastPublished()
	if o.Healthy || o.LastResult || o.Reason != "inverted: HTTP 200" {
		t.Errorf("inverted healthy result published as %+v", o)
	}
	if s := mustStatus(t, m.Monitor, "web"); s.State != StateUnhealthy {
		t.Errorf("overall %s, want unhealthy", s.State)
	}
	// Inversion happens before the state machine: two failures make it healthy.
	m.recordResult(t, "web", false, "HTTP 500")
	m.recordResult(t, "web", false, "HTTP 500")
	if s := mustStatus(t, m.Monitor, "web"); s.State != StateHealthy || s.Vantages[0].Reason != "inverted: HTTP 500" {
		t.Errorf("after two inverted failures: %+v", s)
	}
}

func TestMonitorDisabled(t *testing.T) {
	m := newTestMonitor(t, "eu-west", 0)
	checks := []Check{
		{ID: "off", Type: TypeTCP, IPAddress: "127.0.0.1", Port: 1, Disabled: true},
		{ID: "off-inverted", Type: TypeHTTP, IPAddress: "127.0.0.1", Disabled: true, Inverted: true},
		{ID: "off-calc", Type: TypeCalculated, ChildHealthChecks: []string{"off"}, HealthThreshold: 5, Disabled: true},
	}
	if err := m.SetChecks(checks); err != nil {
		t.Fatal(err)
	}
	m.observe("off", "us-east", false)
	for _, c := range checks {
		s := mustStatus(t, m.Monitor, c.ID)
		if s.State != StateHealthy || !s.Known() || s.Reason != "disabled" {
			t.Errorf("%s: %+v, want healthy and known", c.ID, s)
		}
		if healthy, known := m.Snapshot().Healthy(c.ID); !healthy || !known {
			t.Errorf("%s: Snapshot.Healthy = %v, %v", c.ID, healthy, known)
		}
	}
}

func TestMonitorQuorum(t *testing.T) {
	for _, tc := range []struct {
		quorum float64
		local  bool
		others [2]bool
		want   State
	}{
		{0, false, [2]bool{false, true}, StateHealthy}, // 1 of 3 > 18%
		{0, false, [2]bool{false, false}, StateUnhealthy},
		{0, true, [2]bool{false, false}, StateHealthy},
		{0.5, false, [2]bool{false, true}, StateUnhealthy}, // 1 of 3 < 50%
		{0.5, true, [2]bool{false, true}, StateHealthy},
	} {
		m := newTestMonitor(t, "a", tc.quorum)
		if err := m.SetChecks([]Check{{ID: "web", Type: TypeHTTP, IPAddress: "127.0.0.1", FailureThreshold: 1}}); err != nil {
			t.Fatal(err)
		}
		m.recordResult(t, "web", tc.local, "")
		m.observe("web", "b", tc.others[0])
		m.observe("web", "c", tc.others[1])
		s := mustStatus(t, m.Monitor, "web")
		if s.State != tc.want || len(s.Vantages) != 3 {
			t.Errorf("quorum %v, a %v, b %v, c %v: %s (%s), %d vantage points; want %s",
				tc.quorum, tc.local, tc.others[0], tc.others[1], s.State, s.Reason, len(s.Vantages), tc.want)
		}
	}
}

func TestObserve(t *testing.T) {
	m := newTestMonitor(t, "a", 0)
	if err := m.SetChecks([]Check{{ID: "web", Type: TypeHTTP, IPAddress: "127.0.0.1"}}); err != nil {
		t.Fatal(err)
	}
	t0 := m.clock.Now()
	m.Observe(Observation{CheckID: "web", Region: "b", Healthy: true, Reason: "new", CheckedAt: t0})
	m.Observe(Observation{CheckID: "web", Region: "b", Healthy: false, Reason: "older", CheckedAt: t0.Add(-time.Second)})
	m.Observe(Observation{CheckID: "web", Region: "b", Healthy: false, Reason: "same time", CheckedAt: t0})
	m.Observe(Observation{CheckID: "web", Region: "a", Healthy: false, Reason: "claims to be local", CheckedAt: t0.Add(time.Second)})
	m.Observe(Observation{CheckID: "web", Region: "", Healthy: false, Reason: "no region", CheckedAt: t0.Add(time.Second)})
	m.Observe(Observation{CheckID: "other", Region: "b", Healthy: false, Reason: "unknown id", CheckedAt: t0.Add(time.Second)})
	s := mustStatus(t, m.Monitor, "web")
	if len(s.Vantages) != 1 || s.Vantages[0].Reason != "new" || s.State != StateHealthy {
		t.Fatalf("status %+v; want only b's newest observation", s)
	}
	m.Observe(Observation{CheckID: "web", Region: "b", Healthy: false, Reason: "newer", CheckedAt: t0.Add(time.Millisecond)})
	if s := mustStatus(t, m.Monitor, "web"); s.Vantages[0].Reason != "newer" || s.State != StateUnhealthy {
		t.Errorf("a newer observation was not taken: %+v", s)
	}
	// The observation of an unknown id was dropped, not kept for later.
	if err := m.SetChecks([]Check{{ID: "web", Type: TypeHTTP, IPAddress: "127.0.0.1"}, {ID: "other", Type: TypeTCP, IPAddress: "127.0.0.1", Port: 1}}); err != nil {
		t.Fatal(err)
	}
	if s := mustStatus(t, m.Monitor, "other"); len(s.Vantages) != 0 {
		t.Errorf("an observation made before the check existed was kept: %+v", s)
	}
}

func TestStaleObservationsDropOut(t *testing.T) {
	m := newTestMonitor(t, "a", 0)
	// 10 s interval: fresh for 3 × 10 s + 2 s.
	if err := m.SetChecks([]Check{{ID: "web", Type: TypeHTTP, IPAddress: "127.0.0.1", RequestInterval: Duration(10 * time.Second)}}); err != nil {
		t.Fatal(err)
	}
	m.observe("web", "b", true)
	m.clock.Advance(20 * time.Second)
	m.observe("web", "c", false)
	m.clock.Advance(11*time.Second + 999*time.Millisecond) // b is 31.999 s old
	if s := mustStatus(t, m.Monitor, "web"); s.State != StateHealthy || !s.Vantages[0].Reporting {
		t.Fatalf("b dropped out early: %+v", s)
	}
	m.clock.Advance(time.Millisecond) // b is 32 s old
	s := mustStatus(t, m.Monitor, "web")
	if s.State != StateUnhealthy || s.Vantages[0].Region != "b" || s.Vantages[0].Reporting || !s.Vantages[1].Reporting {
		t.Fatalf("after b went stale: %+v", s)
	}
	if v, _ := gauge(t, m.reg, "polyregion_health_check_vantage_healthy", map[string]string{"check": "web", "vantage": "b"}); v != -1 {
		t.Errorf("stale vantage gauge %v, want -1", v)
	}
	if v, _ := gauge(t, m.reg, "polyregion_health_check_vantage_healthy", map[string]string{"check": "web", "vantage": "c"}); v != 0 {
		t.Errorf("unhealthy vantage gauge %v, want 0", v)
	}
	m.clock.Advance(20 * time.Second) // c too
	if s := mustStatus(t, m.Monitor, "web"); s.State != StateInitializing || !s.Healthy || s.Reason != "no vantage point has reported in the last 32s" {
		t.Fatalf("with every vantage point stale: %+v", s)
	}
	m.observe("web", "b", true)
	if s := mustStatus(t, m.Monitor, "web"); s.State != StateHealthy {
		t.Fatalf("b reporting again: %+v", s)
	}
}

func TestWindow(t *testing.T) {
	m := newTestMonitor(t, "a", 0)
	for _, tc := range []struct {
		c    Check
		want time.Duration
	}{
		{Check{Type: TypeHTTP, RequestInterval: Duration(30 * time.Second)}, 92 * time.Second},
		{Check{Type: TypeTCP, RequestInterval: Duration(10 * time.Second)}, 32 * time.Second},
		{Check{Type: TypeHTTP, RequestInterval: Duration(4 * time.Second)}, 14 * time.Second},
		{Check{Type: TypeHTTPStrMatch, RequestInterval: Duration(5 * time.Second)}, 17 * time.Second},
		// Short intervals stretch to interval + the longest probe + 2 s.
		{Check{Type: TypeHTTP, RequestInterval: Duration(time.Second)}, 9 * time.Second},
		{Check{Type: TypeHTTPSStrMatch, RequestInterval: Duration(time.Second)}, 11 * time.Second},
		{Check{Type: TypeTCP, RequestInterval: Duration(time.Second)}, 13 * time.Second},
	} {
		if got := m.window(&tc.c); got != tc.want {
			t.Errorf("window(%s every %v) = %v, want %v", tc.c.Type, tc.c.RequestInterval, got, tc.want)
		}
	}
}

func TestMonitorCalculated(t *testing.T) {
	m := newTestMonitor(t, "a", 0)
	err := m.SetChecks([]Check{
		{ID: "x", Type: TypeHTTP, IPAddress: "127.0.0.1"},
		{ID: "y", Type: TypeHTTP, IPAddress: "127.0.0.1"},
		{ID: "off", Type: TypeHTTP, IPAddress: "127.0.0.1", Disabled: true},
		{ID: "any", Type: TypeCalculated, ChildHealthChecks: []string{"x", "y"}, HealthThreshold: 1},
		{ID: "both-inverted", Type: TypeCalculated, ChildHealthChecks: []string{"x", "y"}, HealthThreshold: 2, Inverted: true},
		{ID: "none", Type: TypeCalculated, ChildHealthChecks: []string{"x"}},
		{ID: "too-many", Type: TypeCalculated, ChildHealthChecks: []string{"x", "y"}, HealthThreshold: 3},
		{ID: "with-disabled", Type: TypeCalculated, ChildHealthChecks: []string{"off", "y"}, HealthThreshold: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	expect := func(step string, want map[string]State) {
		t.Helper()
		m.clock.Advance(time.Second) // so that the next observations are newer
		snap := m.Snapshot()
		for id, st := range want {
			if got, _ := snap.State(id); got != st {
				s, _ := m.Status(id)
				t.Errorf("%s: %s is %s (%s), want %s", step, id, got, s.Reason, st)
			}
		}
	}
	expect("before any observation", map[string]State{
		"any": StateInitializing, "both-inverted": StateInitializing,
		"none": StateHealthy, "too-many": StateUnhealthy, "with-disabled": StateHealthy,
	})
	m.observe("x", "b", true)
	expect("x healthy", map[string]State{"any": StateHealthy, "both-inverted": StateInitializing})
	m.observe("y", "b", false)
	expect("y unhealthy", map[string]State{"any": StateHealthy, "both-inverted": StateHealthy, "with-disabled": StateHealthy})
	m.observe("y", "b", true)
	expect("both healthy", map[string]State{"any": StateHealthy, "both-inverted": StateUnhealthy})
	m.observe("x", "b", false)
	m.observe("y", "b", false)
	expect("both unhealthy", map[string]State{"any": StateUnhealthy, "both-inverted": StateHealthy, "none": StateHealthy, "too-many": StateUnhealthy})
	if s := mustStatus(t, m.Monitor, "any"); s.Reason != "0 of 2 children healthy, at least 1 needed" || len(s.Vantages) != 0 {
		t.Errorf("calculated status %+v", s)
	}
	// Children going stale make the parent undecided again.
	m.clock.Advance(time.Hour)
	m.Statuses()
	expect("children stale", map[string]State{"any": StateInitializing})
}

func TestMetrics(t *testing.T) {
	m := newTestMonitor(t, "a", 0)
	checks := []Check{
		{ID: "up", Type: TypeHTTP, IPAddress: "127.0.0.1"},
		{ID: "down", Type: TypeHTTP, IPAddress: "127.0.0.1"},
		{ID: "new", Type: TypeHTTP, IPAddress: "127.0.0.1"},
	}
	if err := m.SetChecks(checks); err != nil {
		t.Fatal(err)
	}
	m.recordResult(t, "up", true, "")
	m.observe("up", "b", false)
	m.recordResult(t, "down", false, "")
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"polyregion_health_check_healthy", map[string]string{"check": "up"}, 1},
		{"polyregion_health_check_healthy", map[string]string{"check": "down"}, 0},
		{"polyregion_health_check_healthy", map[string]string{"check": "new"}, -1},
		{"polyregion_health_check_vantage_healthy", map[string]string{"check": "up", "vantage": "a"}, 1},
		{"polyregion_health_check_vantage_healthy", map[string]string{"check": "up", "vantage": "b"}, 0},
		{"polyregion_health_check_vantage_healthy", map[string]string{"check": "down", "vantage": "a"}, 0},
	} {
		if got, ok := gauge(t, m.reg, tc.name, tc.labels); !ok || got != tc.want {
			t.Errorf("%s%v = %v (present %v), want %v", tc.name, tc.labels, got, ok, tc.want)
		}
	}
	// Removing a check removes its series.
	if err := m.SetChecks(checks[1:]); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		labels map[string]string
	}{
		{"polyregion_health_check_healthy", map[string]string{"check": "up"}},
		{"polyregion_health_check_vantage_healthy", map[string]string{"check": "up", "vantage": "a"}},
		{"polyregion_health_check_vantage_healthy", map[string]string{"check": "up", "vantage": "b"}},
	} {
		if _, ok := gauge(t, m.reg, tc.name, tc.labels); ok {
			t.Errorf("%s%v still exported after the check was removed", tc.name, tc.labels)
		}
	}
	if _, ok := gauge(t, m.reg, "polyregion_health_check_healthy", map[string]string{"check": "down"}); !ok {
		t.Error("the series of a kept check went away")
	}
}

func TestSetChecks(t *testing.T) {
	m := newTestMonitor(t, "a", 0)
	web := Check{ID: "web", Type: TypeHTTP, IPAddress: "127.0.0.1"}
	if err := m.SetChecks([]Check{web}); err != nil {
		t.Fatal(err)
	}
	m.recordResult(t, "web", true, "HTTP 200")
	m.observe("web", "b", true)

	// An invalid set changes nothing.
	bad := web
	bad.FailureThreshold = 11
	err := m.SetChecks([]Check{bad, {ID: "all", Type: TypeCalculated, ChildHealthChecks: []string{"nope"}}})
	if !errors.Is(err, ErrInvalidCheck) || !strings.Contains(err.Error(), `check "web": failure_threshold: 11 is outside 1..10`) ||
		!strings.Contains(err.Error(), `check "all": child_health_checks[0]: no check "nope"`) {
		t.Errorf("SetChecks(invalid) = %v", err)
	}
	if s := mustStatus(t, m.Monitor, "web"); len(s.Vantages) != 2 {
		t.Errorf("an invalid set changed the state: %+v", s)
	}
	if _, ok := m.Status("all"); ok {
		t.Error("a check of an invalid set was added")
	}

	// The same definition keeps its state; the input is not modified by the defaults.
	if err := m.SetChecks([]Check{web}); err != nil {
		t.Fatal(err)
	}
	if web.Port != 0 {
		t.Error("SetChecks modified its argument")
	}
	if s := mustStatus(t, m.Monitor, "web"); len(s.Vantages) != 2 {
		t.Errorf("an unchanged definition lost its observations: %+v", s)
	}

	// A changed definition starts its local state again and keeps the other regions'.
	changed := web
	changed.ResourcePath = "/v2"
	if err := m.SetChecks([]Check{changed}); err != nil {
		t.Fatal(err)
	}
	s := mustStatus(t, m.Monitor, "web")
	if len(s.Vantages) != 1 || s.Vantages[0].Region != "b" || s.State != StateHealthy {
		t.Errorf("after a change: %+v; want b's observation only", s)
	}
	if _, ok := gauge(t, m.reg, "polyregion_health_check_vantage_healthy", map[string]string{"check": "web", "vantage": "a"}); ok {
		t.Error("the local vantage series survived the restart")
	}
	m.recordResult(t, "web", false, "HTTP 500")
	if s := mustStatus(t, m.Monitor, "web"); s.Vantages[0].Healthy { // a sorts first
		t.Errorf("the first result after a change did not set the state: %+v", s)
	}

	// Removing drops everything.
	if err := m.SetChecks(nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Status("web"); ok {
		t.Error("a removed check still has a status")
	}
	if ids := m.Snapshot().IDs(); len(ids) != 0 {
		t.Errorf("snapshot of no checks has %q", ids)
	}
}

// TestRun runs real probe loops against a local server: they probe at once and then every
// interval (shortened through the test hook), skip disabled checks, and follow SetChecks.
func TestRun(t *testing.T) {
	tg := newTarget(t, status(200))
	m := newTestMonitor(t, "eu-west", 0)
	m.interval = 20 * time.Millisecond
	m.Monitor.prober = testProber()
	m.probe = m.Monitor.prober.Probe
	check := func(id, path string, disabled bool) Check {
		return Check{ID: id, Type: TypeHTTP, IPAddress: tg.ip, Port: tg.port, ResourcePath: path, Disabled: disabled, RequestInterval: Duration(time.Second)}
	}
	if err := m.SetChecks([]Check{check("live", "/live", false), check("off", "/off", true), check("gone", "/gone", false)}); err != nil {
		t.Fatal(err)
	}
	runMonitor(t, m.Monitor)
	waitFor(t, 5*time.Second, func() error {
		if n := tg.hitsOn("/live"); n < 3 {
			return fmt.Errorf("/live probed %d times", n)
		}
		if s := mustStatus(t, m.Monitor, "live"); s.State != StateHealthy {
			return fmt.Errorf("live is %s", s.State)
		}
		return nil
	})
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.Run(canceled); err == nil {
		t.Error("a second Run while running succeeded")
	}
	if n := tg.hitsOn("/off"); n != 0 {
		t.Errorf("the disabled check was probed %d times", n)
	}
	if n := tg.agentHits("polyregion-health-check/eu-west"); n == 0 {
		t.Error("no probe carried the region in its User-Agent")
	}
	if o, n := m.lastPublished(); n == 0 || o.Region != "eu-west" {
		t.Errorf("published %d observations, last %+v", n, o)
	}

	// Change "live", remove "gone": the new loop probes the new path, the old loops stop.
	if err := m.SetChecks([]Check{check("live", "/live2", false), check("off", "/off", true)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, func() error {
		if n := tg.hitsOn("/live2"); n < 1 {
			return fmt.Errorf("/live2 probed %d times", n)
		}
		return nil
	})
	live, gone := tg.hitsOn("/live"), tg.hitsOn("/gone")
	base := tg.hitsOn("/live2")
	waitFor(t, 5*time.Second, func() error {
		if n := tg.hitsOn("/live2"); n < base+5 {
			return fmt.Errorf("/live2 probed %d times", n)
		}
		return nil
	})
	// A probe already under way when SetChecks ran may still land, but no more.
	if n := tg.hitsOn("/live"); n > live+1 {
		t.Errorf("the old loop of live went on probing: %d hits, %d at the change", n, live)
	}
	if n := tg.hitsOn("/gone"); n > gone+1 {
		t.Errorf("the loop of a removed check went on probing: %d hits, %d at removal", n, gone)
	}
}

// TestRunDropsSilentVantagePoints: Run re-evaluates freshness on its own, so a vantage
// point that stops reporting drops out and watchers hear of it.
func TestRunDropsSilentVantagePoints(t *testing.T) {
	m := newTestMonitor(t, "a", 0)
	m.refreshEvery = 5 * time.Millisecond
	// The local probe never finishes, so only b reports.
	m.probe = func(ctx context.Context, _ Check, _ string) Result {
		<-ctx.Done()
		return Result{}
	}
	if err := m.SetChecks([]Check{{ID: "web", Type: TypeHTTP, IPAddress: "127.0.0.1", RequestInterval: Duration(10 * time.Second)}}); err != nil {
		t.Fatal(err)
	}
	runMonitor(t, m.Monitor)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := m.Watch(ctx)
	m.observe("web", "b", false)
	next := func(want State) {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for {
			select {
			case s := <-w:
				if st, _ := s.State("web"); st == want {
					return
				}
			case <-deadline:
				t.Fatalf("no snapshot with web %s", want)
			}
		}
	}
	next(StateUnhealthy)
	m.clock.Advance(32 * time.Second)
	next(StateInitializing)
}
