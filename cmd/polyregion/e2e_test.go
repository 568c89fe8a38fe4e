package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/polyregion/polyregion/internal/app"
	"github.com/polyregion/polyregion/internal/testutil"
)

// These tests drive the real binary the way a user does: `polyregion up` in one process, the
// other subcommands against it.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "polyregion-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "polyregion")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

type upProcess struct {
	cmd            *exec.Cmd
	stdout, stderr *testutil.SyncBuffer
	done           chan error
}

func startUp(t *testing.T, dir string, args ...string) *upProcess {
	t.Helper()
	p := &upProcess{stdout: &testutil.SyncBuffer{}, stderr: &testutil.SyncBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(binary(t), append([]string{"up", "--dir", dir, "--ephemeral-ports"}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(20 * time.Second):
			_ = p.cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("up stdout:\n%s\nup stderr:\n%s", p.stdout, p.stderr)
		}
	})
	return p
}

// stop sends SIGTERM and returns up's exit error.
func (p *upProcess) stop(t *testing.T) error {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("up did not stop within 20s of SIGTERM")
		return nil
	}
}

// waitFor is testutil.WaitFor under the name health_e2e_test.go calls it by.
var waitFor = testutil.WaitFor

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(binary(t), args...).CombinedOutput()
	return string(out), err
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, err := run(t, args...)
	if err != nil {
		t.Fatalf("polyregion %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func status(t *testing.T, dir string) app.FleetStatus {
	t.Helper()
	var st app.FleetStatus
	if err := json.Unmarshal([]byte(mustRun(t, "status", "--dir", dir, "--json")), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func pair(st app.FleetStatus, a, b string) app.PairReport {
	for _, p := range st.Pairs {
		if (p.A == a && p.B == b) || (p.A == b && p.B == a) {
			return p
		}
	}
	return app.PairReport{}
}

func pairIs(t *testing.T, dir, a, b string, reachable bool) func() error {
	return func() error {
		p := pair(status(t, dir), a, b)
		if p.Reachable != reachable {
			return fmt.Errorf("%s<->%s state %q, want reachable=%v", a, b, p.State, reachable)
		}
		return nil
	}
}

func incarnations(t *testing.T, dir string) map[string]int {
	out := map[string]int{}
	for _, r := range status(t, dir).Regions {
		if r.Status != nil {
			out[r.Name] = r.Status.Incarnation
		}
	}
	return out
}

// TestUp walks through the acceptance of the foundation: up within 20 s, RTT matching the
// model, a partition seen within 2 s and healed, kill -9 of one region survived, the region
// brought back with its data, a clean stop, and a second up on the same data.
func TestUp(t *testing.T) {
	dir := t.TempDir()
	start := time.Now()
	up := startUp(t, dir)
	endpoints := filepath.Join(dir, "endpoints.json")
	took := testutil.WaitFor(t, 20*time.Second, func() error {
		select {
		case err := <-up.done:
			up.done <- err
			return errors.New("up exited: " + up.stderr.String())
		default:
		}
		_, err := os.Stat(endpoints)
		return err
	})
	t.Logf("three regions up and endpoints.json written in %v", took)
	ef, err := app.ReadEndpointsFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ef.Regions) != 3 || ef.Credentials.AccessKeyID == "" {
		t.Fatalf("endpoints.json = %+v", ef)
	}
	for _, r := range ef.Regions {
		if r.PID == 0 || r.State != app.StateRunning || r.Endpoints["peer"] == "" || r.Endpoints["control"] == "" || r.Endpoints["metrics"] == "" {
			t.Errorf("endpoints.json region %+v incomplete", r)
		}
	}
	testutil.WaitFor(t, 5*time.Second, func() error {
		if !strings.Contains(up.stdout.String(), ef.Credentials.SecretAccessKey) {
			return fmt.Errorf("up did not print the demo credentials:\n%s", up.stdout)
		}
		return nil
	})

	// RTT within ±20% of the model.
	testutil.WaitFor(t, 10*time.Second, pairIs(t, dir, "us-east", "eu-west", true))
	p := pair(status(t, dir), "us-east", "eu-west")
	if p.RTTMillis < 0.8*p.ModelRTTMs || p.RTTMillis > 1.2*p.ModelRTTMs {
		t.Errorf("us-east<->eu-west RTT %.1f ms, model %.1f ms: off by more than 20%%", p.RTTMillis, p.ModelRTTMs)
	}
	t.Logf("us-east<->eu-west: measured %.1f ms, model %.1f ms", p.RTTMillis, p.ModelRTTMs)

	// Partition: seen within 2 s; ap-southeast still reaches both.
	mustRun(t, "chaos", "partition", "us-east", "eu-west", "--dir", dir)
	seen := testutil.WaitFor(t, 2*time.Second, pairIs(t, dir, "us-east", "eu-west", false))
	t.Logf("partition visible in status after %v", seen)
	st := status(t, dir)
	for _, other := range []string{"us-east", "eu-west"} {
		if q := pair(st, "ap-southeast", other); !q.Reachable {
			t.Errorf("ap-southeast<->%s is %q during the us-east/eu-west partition", other, q.State)
		}
	}
	mustRun(t, "chaos", "heal", "us-east", "eu-west", "--dir", dir)
	testutil.WaitFor(t, 10*time.Second, pairIs(t, dir, "us-east", "eu-west", true))

	// kill -9 one region: up says so, the others keep serving.
	eu, _ := ef.Region("eu-west")
	before := incarnations(t, dir)
	if err := syscall.Kill(eu.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 5*time.Second, func() error {
		if !strings.Contains(up.stderr.String(), "region eu-west (pid") {
			return errors.New("up has not reported the death of eu-west")
		}
		return nil
	})
	testutil.WaitFor(t, 5*time.Second, func() error {
		f, err := app.ReadEndpointsFile(dir)
		if err != nil {
			return err
		}
		if r, _ := f.Region("eu-west"); r.State != app.StateDown {
			return fmt.Errorf("endpoints.json says eu-west is %q", r.State)
		}
		return nil
	})
	st = status(t, dir)
	for _, r := range st.Regions {
		if (r.Name == "eu-west") == r.Reachable {
			t.Errorf("after kill -9 of eu-west, %s reachable=%v", r.Name, r.Reachable)
		}
	}
	testutil.WaitFor(t, 5*time.Second, pairIs(t, dir, "us-east", "ap-southeast", true))

	// Bring it back: same data directory, one more incarnation.
	out := mustRun(t, "restart", "eu-west", "--dir", dir)
	if !strings.Contains(out, "region eu-west is running again") {
		t.Errorf("restart said %q", out)
	}
	testutil.WaitFor(t, 10*time.Second, pairIs(t, dir, "us-east", "eu-west", true))
	if got := incarnations(t, dir)["eu-west"]; got != before["eu-west"]+1 {
		t.Errorf("eu-west incarnation %d after restart, want %d (its data directory kept)", got, before["eu-west"]+1)
	}

	// Clean stop, then up again on the same directory restarts with the same data.
	if err := up.stop(t); err != nil {
		t.Fatalf("up exited with %v after SIGTERM, want 0", err)
	}
	if _, err := os.Stat(endpoints); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("endpoints.json left behind after a clean stop (err %v)", err)
	}
	after := incarnations(t, dirAfterRestart(t, dir))
	for name, n := range before {
		want := n + 1
		if name == "eu-west" {
			want = n + 2
		}
		if after[name] != want {
			t.Errorf("%s incarnation %d after the second up, want %d", name, after[name], want)
		}
	}
	t.Logf("whole walk-through took %v", time.Since(start))
}

// dirAfterRestart runs up again on dir and waits for it.
func dirAfterRestart(t *testing.T, dir string) string {
	startUp(t, dir)
	testutil.WaitFor(t, 20*time.Second, func() error {
		_, err := os.Stat(filepath.Join(dir, "endpoints.json"))
		return err
	})
	return dir
}

// TestConfigMistakesExit2 is the acceptance for configuration errors: three mistakes, three
// messages with their paths, exit status 2, nothing started.
func TestConfigMistakesExit2(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(`
zones: [us, eu]
regions:
  - {name: us-east, lat: 38.9, lon: -77.4, zone: us, listen: {peer: "127.0.0.1:0", control: "127.0.0.1:0"}}
  - {name: eu-west, lat: 153.3, lon: -6.3, zone: eu, listen: {peer: "127.0.0.1:0", control: "127.0.0.1:0"}}
  - {name: eu-central, lat: 50.1, lon: 8.7, zone: eu2, listen: {peer: "nowhere", control: "127.0.0.1:0"}}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, "up", "--config", bad, "--dir", filepath.Join(dir, "fleet"))
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("exit = %v, want status 2; output:\n%s", err, out)
	}
	for _, want := range []string{"regions[1].lat:", "regions[2].zone: unknown zone \"eu2\"", "regions[2].listen.peer:"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "fleet", "endpoints.json")); err == nil {
		t.Error("a fleet started despite the bad configuration")
	}
	out, err = run(t, "status", "--bogus")
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Errorf("unknown flag: exit %v, want 2:\n%s", err, out)
	}
}

// TestHelp checks that every command explains itself.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"up", "--help"}, {"serve", "--help"}, {"init", "--help"}, {"status", "--help"}, {"chaos", "--help"}, {"restart", "--help"}, {"version"}} {
		out := mustRun(t, args...)
		if len(out) < 20 {
			t.Errorf("polyregion %s printed only %q", strings.Join(args, " "), out)
		}
	}
}
