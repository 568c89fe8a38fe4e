package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/polyregion/polyregion/internal/config"
	"github.com/polyregion/polyregion/internal/control"
	"github.com/polyregion/polyregion/internal/health"
	"github.com/polyregion/polyregion/internal/mtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var fastControl = control.Timing{HeartbeatTimeout: 500 * time.Millisecond, ElectionTimeout: 500 * time.Millisecond, LeaderLeaseTimeout: 250 * time.Millisecond, WriteTimeout: 3 * time.Second}

// target is an HTTP endpoint whose answer a test flips, per vantage region.
type target struct {
	*httptest.Server
	mu      sync.Mutex
	failFor map[string]bool // region -> answer 500
	all     bool
}

func newTarget(t *testing.T) *target {
	tg := &target{failFor: map[string]bool{}}
	tg.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		region := strings.TrimPrefix(r.UserAgent(), health.UserAgentPrefix)
		tg.mu.Lock()
		fail := tg.all || tg.failFor[region]
		tg.mu.Unlock()
		if fail {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	}))
	t.Cleanup(tg.Close)
	return tg
}

func (tg *target) set(all bool, regions ...string) {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	tg.all = all
	tg.failFor = map[string]bool{}
	for _, r := range regions {
		tg.failFor[r] = true
	}
}

func (tg *target) port() int {
	var p int
	fmt.Sscanf(tg.URL[strings.LastIndex(tg.URL, ":")+1:], "%d", &p)
	return p
}

func call(t *testing.T, method, url string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func status(t *testing.T, c *mtest.Cluster, region, id string) (health.CheckStatus, error) {
	t.Helper()
	code, b := call(t, "GET", c.Endpoints(region).Control+"/v1/health-checks/"+id+"/status", nil)
	if code != 200 {
		return health.CheckStatus{}, fmt.Errorf("status of %s in %s: %d %s", id, region, code, b)
	}
	var st health.CheckStatus
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return st, nil
}

func stateIs(t *testing.T, c *mtest.Cluster, id string, want health.State, regions ...string) func() error {
	return func() error {
		for _, r := range regions {
			st, err := status(t, c, r, id)
			if err != nil {
				return err
			}
			if st.State != want {
				return fmt.Errorf("%s sees %s as %s (%s), want %s", r, id, st.State, st.Reason, want)
			}
		}
		return nil
	}
}

func startFleet(t *testing.T, quorum float64) *mtest.Cluster {
	return mtest.Start(t, mtest.Options{
		OneWay:        2 * time.Millisecond,
		ControlTiming: fastControl,
		Configure:     func(c *config.Config) { c.Health.Quorum = quorum },
	})
}

func createCheck(t *testing.T, c *mtest.Cluster, region string, check map[string]any) {
	t.Helper()
	mtest.WaitFor(t, 20*time.Second, func() error {
		code, b := call(t, "POST", c.Endpoints(region).Control+"/v1/health-checks", check)
		if code != http.StatusCreated {
			return fmt.Errorf("create: %d %s", code, b)
		}
		return nil
	})
}

// TestHealthCheckFollowsTarget is the acceptance timing: a check through the API becomes
// healthy; a target answering 500 is unhealthy within interval × threshold + one interval;
// back to 200, healthy within the same bound — in every region.
func TestHealthCheckFollowsTarget(t *testing.T) {
	c := startFleet(t, 0.18)
	tg := newTarget(t)
	const interval, threshold = time.Second, 2
	createCheck(t, c, "eu-west", map[string]any{"id": "web", "type": "HTTP", "ip_address": "127.0.0.1", "port": tg.port(),
		"request_interval": "1s", "failure_threshold": threshold})
	all := c.Names()
	mtest.WaitFor(t, 10*time.Second, stateIs(t, c, "web", health.StateHealthy, all...))

	// The bound the checks promise, plus what this in-process test adds under the race
	// detector on a loaded 2-core machine (polling, three regions in one process).
	// cmd/polyregion's test measures the real processes against the bound itself.
	bound := interval*threshold + interval
	const machinery = 750 * time.Millisecond
	tg.set(true)
	start := time.Now()
	mtest.WaitFor(t, bound+2*time.Second, stateIs(t, c, "web", health.StateUnhealthy, all...))
	if took := time.Since(start); took > bound+machinery {
		t.Errorf("unhealthy everywhere after %v, bound %v", took, bound)
	} else {
		t.Logf("unhealthy everywhere after %v (bound %v)", took, bound)
	}
	tg.set(false)
	start = time.Now()
	mtest.WaitFor(t, bound+2*time.Second, stateIs(t, c, "web", health.StateHealthy, all...))
	if took := time.Since(start); took > bound+machinery {
		t.Errorf("healthy everywhere again after %v, bound %v", took, bound)
	} else {
		t.Logf("healthy everywhere again after %v (bound %v)", took, bound)
	}
	st, err := status(t, c, "ap-southeast", "web")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Vantages) != 3 {
		t.Errorf("status lists %d vantage points, want 3: %+v", len(st.Vantages), st.Vantages)
	}
}

// TestVantagePointQuorum: with quorum 0.5, a target failing for one vantage point stays
// healthy; failing for all but one flips it.
func TestVantagePointQuorum(t *testing.T) {
	c := startFleet(t, 0.5)
	tg := newTarget(t)
	createCheck(t, c, "us-east", map[string]any{"id": "ua", "type": "HTTP", "ip_address": "127.0.0.1", "port": tg.port(),
		"request_interval": "1s", "failure_threshold": 1})
	all := c.Names()
	mtest.WaitFor(t, 10*time.Second, stateIs(t, c, "ua", health.StateHealthy, all...))
	// Every region must hear all three vantage points before the quorum means what the
	// test says it means.
	mtest.WaitFor(t, 10*time.Second, func() error {
		for _, r := range all {
			st, err := status(t, c, r, "ua")
			if err != nil {
				return err
			}
			n := 0
			for _, v := range st.Vantages {
				if v.Reporting && v.Healthy {
					n++
				}
			}
			if n != 3 {
				return fmt.Errorf("%s hears %d healthy vantage points, want 3", r, n)
			}
		}
		return nil
	})

	tg.set(false, "us-east")
	mtest.WaitFor(t, 10*time.Second, func() error {
		st, err := status(t, c, "eu-west", "ua")
		if err != nil {
			return err
		}
		for _, v := range st.Vantages {
			if v.Region == "us-east" && !v.Healthy {
				return nil
			}
		}
		return fmt.Errorf("us-east's failure not seen yet")
	})
	// Two more rounds: still healthy overall.
	deadline := time.Now().Add(2500 * time.Millisecond)
	for time.Now().Before(deadline) {
		if err := stateIs(t, c, "ua", health.StateHealthy, all...)(); err != nil {
			t.Fatalf("one failing vantage point flipped the check: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	tg.set(false, "us-east", "eu-west")
	mtest.WaitFor(t, 10*time.Second, stateIs(t, c, "ua", health.StateUnhealthy, all...))
}

func TestHealthCheckBadInput(t *testing.T) {
	c := startFleet(t, 0.18)
	url := c.Endpoints("us-east").Control + "/v1/health-checks"
	createCheck(t, c, "us-east", map[string]any{"id": "tcp", "type": "TCP", "ip_address": "127.0.0.1", "port": 9})
	createCheck(t, c, "us-east", map[string]any{"id": "calc", "type": "CALCULATED", "child_health_checks": []string{"tcp"}, "health_threshold": 1})
	for _, tc := range []struct {
		check map[string]any
		field string
	}{
		{map[string]any{"id": "a", "type": "HTTP", "ip_address": "127.0.0.1", "request_interval": 0}, "request_interval"},
		{map[string]any{"id": "b", "type": "HTTP", "ip_address": "127.0.0.1", "failure_threshold": 11}, "failure_threshold"},
		{map[string]any{"id": "c", "type": "HTTP_STR_MATCH", "ip_address": "127.0.0.1", "search_string": strings.Repeat("x", 256)}, "search_string"},
		{map[string]any{"id": "d", "type": "CALCULATED", "child_health_checks": []string{"calc"}, "health_threshold": 1}, "child_health_checks[0]"},
		{map[string]any{"id": "e", "type": "BOGUS"}, "type"},
	} {
		code, b := call(t, "POST", url, tc.check)
		if code != http.StatusBadRequest || !strings.Contains(string(b), tc.field) || !strings.Contains(string(b), "InvalidInput") {
			t.Errorf("create %v: %d %s; want 400 InvalidInput naming %s", tc.check, code, b, tc.field)
		}
	}
	code, b := call(t, "POST", url, map[string]any{"id": "calc", "type": "TCP", "ip_address": "127.0.0.1", "port": 1})
	if code != http.StatusConflict {
		t.Errorf("duplicate id: %d %s, want 409", code, b)
	}
	if code, b := call(t, "GET", url+"/nope", nil); code != http.StatusNotFound || !strings.Contains(string(b), "NoSuchHealthCheck") {
		t.Errorf("get missing: %d %s", code, b)
	}
}

// TestControlSurvivesKillAndPartition: with one region killed, writes through either
// survivor succeed and the region catches up on restart; a partitioned region keeps serving
// its last state, fails writes quickly with NoQuorum, and catches up after the heal.
func TestControlSurvivesKillAndPartition(t *testing.T) {
	c := startFleet(t, 0.18)
	check := func(id string) map[string]any {
		return map[string]any{"id": id, "type": "TCP", "ip_address": "127.0.0.1", "port": 9, "request_interval": "30s"}
	}
	createCheck(t, c, "us-east", check("before"))
	hasCheck := func(region, id string) func() error {
		return func() error {
			code, b := call(t, "GET", c.Endpoints(region).Control+"/v1/health-checks/"+id, nil)
			if code != 200 {
				return fmt.Errorf("%s: %s: %d %s", region, id, code, b)
			}
			return nil
		}
	}
	mtest.WaitFor(t, 10*time.Second, hasCheck("ap-southeast", "before"))

	c.Kill("ap-southeast")
	createCheck(t, c, "us-east", check("via-us-east"))
	createCheck(t, c, "eu-west", check("via-eu-west"))
	c.Start("ap-southeast")
	if err := hasCheck("ap-southeast", "before")(); err != nil {
		t.Errorf("restarted region does not serve its old state at once: %v", err)
	}
	mtest.WaitFor(t, 20*time.Second, hasCheck("ap-southeast", "via-eu-west"))
	mtest.WaitFor(t, 20*time.Second, hasCheck("ap-southeast", "via-us-east"))

	c.Isolate("ap-southeast")
	start := time.Now()
	code, b := call(t, "POST", c.Endpoints("ap-southeast").Control+"/v1/health-checks", check("cut-off"))
	took := time.Since(start)
	if code != http.StatusServiceUnavailable || !strings.Contains(string(b), "NoQuorum") || !strings.Contains(string(b), "majority") {
		t.Errorf("write in a partitioned region: %d %s; want 503 NoQuorum explaining the majority", code, b)
	}
	if took > fastControl.WriteTimeout+2*time.Second {
		t.Errorf("partitioned write took %v to fail", took)
	}
	if err := hasCheck("ap-southeast", "via-us-east")(); err != nil {
		t.Errorf("partitioned region stopped serving its state: %v", err)
	}
	createCheck(t, c, "eu-west", check("during-partition"))
	for _, o := range c.Names() {
		c.Heal("ap-southeast", o)
	}
	mtest.WaitFor(t, 20*time.Second, hasCheck("ap-southeast", "during-partition"))
}
