package mtest

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/polyregion/polyregion/internal/app"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// peerView returns what region from reports of region to.
func peerView(c *Cluster, from, to string) (app.PeerStatus, error) {
	r := c.Region(from)
	if r == nil {
		return app.PeerStatus{}, fmt.Errorf("%s is not running", from)
	}
	for _, p := range r.Status().Peers {
		if p.Region == to {
			return p, nil
		}
	}
	return app.PeerStatus{}, fmt.Errorf("%s does not list %s", from, to)
}

func reachable(c *Cluster, a, b string, want bool) func() error {
	return func() error {
		for _, p := range [][2]string{{a, b}, {b, a}} {
			v, err := peerView(c, p[0], p[1])
			if err != nil {
				return err
			}
			if v.Reachable != want {
				return fmt.Errorf("%s sees %s reachable=%v (%s), want %v", p[0], p[1], v.Reachable, v.Error, want)
			}
		}
		return nil
	}
}

func TestFleetPartitionKillRestart(t *testing.T) {
	c := Start(t, Options{OneWay: 5 * time.Millisecond})
	names := c.Names()
	for i, a := range names {
		for _, b := range names[i+1:] {
			WaitFor(t, 10*time.Second, reachable(c, a, b, true))
		}
	}
	v, _ := peerView(c, "us-east", "eu-west")
	if v.RTTMillis < 10 || v.RTTMillis > 60 {
		t.Errorf("RTT through a 5 ms one-way link = %.1f ms, want 10 ms plus a little", v.RTTMillis)
	}

	c.Partition("us-east", "eu-west")
	start := time.Now()
	WaitFor(t, 5*time.Second, reachable(c, "us-east", "eu-west", false))
	t.Logf("partition seen after %v", time.Since(start))
	if err := reachable(c, "us-east", "ap-southeast", true)(); err != nil {
		t.Errorf("partition of us-east/eu-west cut another pair: %v", err)
	}
	c.Heal("us-east", "eu-west")
	WaitFor(t, 10*time.Second, reachable(c, "us-east", "eu-west", true))

	c.Kill("eu-west")
	WaitFor(t, 5*time.Second, reachable(c, "us-east", "ap-southeast", true))
	WaitFor(t, 5*time.Second, func() error {
		v, err := peerView(c, "us-east", "eu-west")
		if err != nil {
			return err
		}
		if v.Reachable {
			return fmt.Errorf("us-east still sees the killed eu-west")
		}
		return nil
	})
	r := c.Start("eu-west")
	if r.Incarnation() != 2 {
		t.Errorf("restarted region incarnation = %d, want 2 (same data directory)", r.Incarnation())
	}
	WaitFor(t, 10*time.Second, reachable(c, "us-east", "eu-west", true))

	resp, err := http.Get(c.Endpoints("eu-west").Metrics)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `polyregion_peer_up{peer="us-east"} 1`) {
		t.Errorf("metrics lack polyregion_peer_up for us-east:\n%s", body)
	}
}
