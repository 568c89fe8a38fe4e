package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/polyregion/polyregion/internal/app"
	"github.com/polyregion/polyregion/internal/health"
)

func healthState(t *testing.T, dir, region, id string) (health.State, error) {
	out, err := run(t, "health", "status", id, "--json", "--dir", dir, "--region", region)
	if err != nil {
		return "", fmt.Errorf("%s: %v: %s", region, err, out)
	}
	var st health.CheckStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return "", err
	}
	return st.State, nil
}

func allRegionsSee(t *testing.T, dir, id string, want health.State) func() error {
	return func() error {
		for _, r := range []string{"us-east", "eu-west", "ap-southeast"} {
			got, err := healthState(t, dir, r, id)
			if err != nil {
				return err
			}
			if got != want {
				return fmt.Errorf("%s sees %s %s, want %s", r, id, got, want)
			}
		}
		return nil
	}
}

func checkIDs(t *testing.T, dir, region string) (string, error) {
	out, err := run(t, "health", "ls", "--json", "--dir", dir, "--region", region)
	if err != nil {
		return "", fmt.Errorf("%v: %s", err, out)
	}
	return out, nil
}

func listsCheck(t *testing.T, dir, region, id string) func() error {
	return func() error {
		out, err := checkIDs(t, dir, region)
		if err != nil {
			return err
		}
		if !strings.Contains(out, `"id": "`+id+`"`) {
			return fmt.Errorf("%s does not list %s yet", region, id)
		}
		return nil
	}
}

// TestHealthChecksAndControlPlaneWithUp is the acceptance of the control plane and health
// checks, through `polyregion up`'s three regions and the CLI.
func TestHealthChecksAndControlPlaneWithUp(t *testing.T) {
	var failing atomic.Bool
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	}))
	defer target.Close()
	port := target.URL[strings.LastIndex(target.URL, ":")+1:]

	dir := t.TempDir()
	startUp(t, dir)
	waitFor(t, 20*time.Second, func() error {
		_, err := os.Stat(filepath.Join(dir, "endpoints.json"))
		return err
	})
	const interval, threshold = time.Second, 2
	waitFor(t, 30*time.Second, func() error {
		out, err := run(t, "health", "create", "--dir", dir, "--region", "eu-west", "--id", "web", "--type", "HTTP",
			"--ip", "127.0.0.1", "--port", port, "--interval", interval.String(), "--threshold", fmt.Sprint(threshold))
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	})
	waitFor(t, 15*time.Second, allRegionsSee(t, dir, "web", health.StateHealthy))

	bound := interval*threshold + interval
	failing.Store(true)
	took := waitFor(t, bound+3*time.Second, allRegionsSee(t, dir, "web", health.StateUnhealthy))
	if took > bound {
		t.Errorf("answering 500: unhealthy everywhere after %v, bound %v", took, bound)
	}
	t.Logf("answering 500: unhealthy everywhere after %v (bound %v)", took, bound)
	failing.Store(false)
	took = waitFor(t, bound+3*time.Second, allRegionsSee(t, dir, "web", health.StateHealthy))
	if took > bound {
		t.Errorf("answering 200 again: healthy everywhere after %v, bound %v", took, bound)
	}
	t.Logf("answering 200 again: healthy everywhere after %v (bound %v)", took, bound)

	// kill -9 one region: control writes through either survivor succeed.
	ef, err := app.ReadEndpointsFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	eu, _ := ef.Region("eu-west")
	if err := syscall.Kill(eu.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for _, via := range []string{"us-east", "ap-southeast"} {
		id := "via-" + via
		waitFor(t, 20*time.Second, func() error {
			out, err := run(t, "health", "create", "--dir", dir, "--region", via, "--id", id, "--type", "TCP", "--ip", "127.0.0.1", "--port", port)
			if err != nil && !strings.Contains(out, "AlreadyExists") {
				return fmt.Errorf("%v: %s", err, out)
			}
			return nil
		})
	}
	mustRun(t, "restart", "eu-west", "--dir", dir)
	waitFor(t, 20*time.Second, listsCheck(t, dir, "eu-west", "via-us-east"))
	waitFor(t, 20*time.Second, listsCheck(t, dir, "eu-west", "via-ap-southeast"))

	// Partition ap-southeast from the others: it keeps serving its last state; its writes
	// fail with a clear error in bounded time; after the heal it catches up.
	mustRun(t, "chaos", "partition", "ap-southeast", "us-east", "--dir", dir)
	mustRun(t, "chaos", "partition", "ap-southeast", "eu-west", "--dir", dir)
	if err := listsCheck(t, dir, "ap-southeast", "web")(); err != nil {
		t.Errorf("partitioned region stopped serving its state: %v", err)
	}
	start := time.Now()
	out, err := run(t, "health", "create", "--dir", dir, "--region", "ap-southeast", "--id", "cut-off", "--type", "TCP", "--ip", "127.0.0.1", "--port", port)
	took = time.Since(start)
	if err == nil || !strings.Contains(out, "NoQuorum") {
		t.Errorf("write in the partitioned region: err %v, output %q; want a NoQuorum error", err, out)
	}
	if took > 10*time.Second {
		t.Errorf("the partitioned write took %v to fail", took)
	}
	t.Logf("partitioned write failed after %v: %s", took, strings.TrimSpace(out))
	waitFor(t, 20*time.Second, func() error {
		out, err := run(t, "health", "create", "--dir", dir, "--region", "us-east", "--id", "during-partition", "--type", "TCP", "--ip", "127.0.0.1", "--port", port)
		if err != nil && !strings.Contains(out, "AlreadyExists") {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	})
	mustRun(t, "chaos", "heal", "--all", "--dir", dir)
	waitFor(t, 30*time.Second, listsCheck(t, dir, "ap-southeast", "during-partition"))
	out = mustRun(t, "status", "--dir", dir)
	if !strings.Contains(out, "leader @") {
		t.Errorf("status does not show the control-plane leader:\n%s", out)
	}
}
