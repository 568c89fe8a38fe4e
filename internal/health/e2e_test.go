package health

import (
	"fmt"
	"testing"
	"time"
)

// TestTwoRegions wires two Monitors to each other through Publish and Observe, as
// internal/app does over the peer transport, and flips a local target between 200 and 500.
// Each region's overall status must follow within interval × threshold + one interval.
//
// The probe interval is shortened to 300 ms through the test hook Monitor.interval (the
// definitions say 1 s, the shortest a definition may have); everything else is as in
// production, with real sockets and the real clock.
func TestTwoRegions(t *testing.T) {
	const (
		interval  = 300 * time.Millisecond
		threshold = 2
		bound     = interval*threshold + interval
	)
	tg := newTarget(t, status(200))
	check := Check{ID: "web", Type: TypeHTTP, IPAddress: tg.ip, Port: tg.port, ResourcePath: "/health",
		RequestInterval: Duration(time.Second), FailureThreshold: threshold}

	var usEast, euWest *Monitor
	newRegion := func(region string, peer **Monitor) *Monitor {
		m, err := New(Options{
			Region: region,
			Logger: testLogger(t, region),
			Prober: testProber(),
			// Publish is only called while Run runs, after both monitors exist.
			Publish: func(o Observation) { (*peer).Observe(o) },
		})
		if err != nil {
			t.Fatal(err)
		}
		m.interval = interval
		if err := m.SetChecks([]Check{check}); err != nil {
			t.Fatal(err)
		}
		return m
	}
	usEast = newRegion("us-east", &euWest)
	euWest = newRegion("eu-west", &usEast)
	regions := []*Monitor{usEast, euWest}
	for _, m := range regions {
		runMonitor(t, m)
	}

	// expect waits until both regions see web in state, each with a fresh observation from
	// both vantage points, and returns how long that took.
	expect := func(state State) time.Duration {
		t.Helper()
		start := time.Now()
		waitFor(t, 10*time.Second, func() error {
			for _, m := range regions {
				s := mustStatus(t, m, "web")
				if s.State != state {
					return fmt.Errorf("%s sees web %s (%s)", m.region, s.State, s.Reason)
				}
				if len(s.Vantages) != 2 || !s.Vantages[0].Reporting || !s.Vantages[1].Reporting {
					return fmt.Errorf("%s has vantage points %+v", m.region, s.Vantages)
				}
			}
			return nil
		})
		return time.Since(start)
	}

	expect(StateHealthy)
	for _, ua := range []string{"polyregion-health-check/us-east", "polyregion-health-check/eu-west"} {
		if tg.agentHits(ua) == 0 {
			t.Errorf("no probe from %s", ua)
		}
	}
	// Every vantage point must say unhealthy (0 of 2 is not more than 18%).
	tg.set(status(500))
	took := expect(StateUnhealthy)
	t.Logf("unhealthy after %v (bound %v)", took, bound)
	if took > bound {
		t.Errorf("it took %v to see the target fail, more than %v", took, bound)
	}
	for _, m := range regions {
		if healthy, known := m.Snapshot().Healthy("web"); healthy || !known {
			t.Errorf("%s: snapshot says %v, %v", m.region, healthy, known)
		}
	}
	// One healthy vantage point of two is enough.
	tg.set(status(200))
	took = expect(StateHealthy)
	t.Logf("healthy after %v (bound %v)", took, bound)
	if took > bound {
		t.Errorf("it took %v to see the target recover, more than %v", took, bound)
	}
}
