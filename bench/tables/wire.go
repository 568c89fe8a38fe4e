package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/polyregion/polyregion/bench/internal/child"
	"github.com/polyregion/polyregion/bench/internal/pcapwire"
	"github.com/polyregion/polyregion/bench/internal/procstat"
	"github.com/polyregion/polyregion/internal/testutil"
)

// wireCapture records a server's loopback traffic during a run with tcpdump, for the
// server's own share of each request's latency: from the request's first packet to the
// response's first packet on the connection (pcapwire), with nothing of the load
// generator's. tcpdump runs on the load generator's CPUs; its CPU time is not counted as
// other processes'.
type wireCapture struct {
	cmd    *exec.Cmd
	path   string
	stderr *testutil.SyncBuffer
}

// haveTcpdump reports whether tcpdump can be run (bench/tables/run.sh installs it).
func haveTcpdump() bool {
	_, err := exec.LookPath("tcpdump")
	return err == nil
}

// startWire starts capturing the TCP traffic of endpoint's port on lo and returns once
// tcpdump listens.
func startWire(ctx context.Context, cfg config, endpoint string) (*wireCapture, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, err
	}
	dir := os.TempDir()
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		dir = "/dev/shm" // in memory: no writeback competing with the servers
	}
	c := &wireCapture{path: filepath.Join(dir, fmt.Sprintf("bench-tables-%d-%s.pcap", os.Getpid(), u.Port())), stderr: &testutil.SyncBuffer{}}
	c.cmd = child.Command(cfg.loadCPUs, "tcpdump", "-i", "lo", "-n", "-s", "96", "--time-stamp-precision", "nano", "-U", "-w", c.path, "tcp port "+u.Port())
	c.cmd.Stderr = c.stderr
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("tcpdump: %w", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(c.stderr.String(), "listening on") {
		if time.Now().After(deadline) || ctx.Err() != nil {
			c.kill()
			return nil, fmt.Errorf("tcpdump did not start listening within 10 s: %s", c.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return c, nil
}

// cpu is the CPU time tcpdump has used so far.
func (c *wireCapture) cpu() float64 {
	s, _ := procstat.CPUSeconds(c.cmd.Process.Pid)
	return s
}

// stop ends the capture and returns the server's times, their quantiles and how many there
// were.
func (c *wireCapture) stop() (dist, int, error) {
	defer os.Remove(c.path)
	_ = c.cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
	times, err := pcapwire.ServerTimes(c.path)
	if err != nil {
		return dist{}, 0, fmt.Errorf("reading tcpdump's capture: %w (%s)", err, strings.TrimSpace(c.stderr.String()))
	}
	ns := make([]int64, len(times))
	for i, d := range times {
		ns[i] = int64(d)
	}
	return distOf(ns), len(ns), nil
}

func (c *wireCapture) kill() {
	_ = c.cmd.Process.Kill()
	_ = c.cmd.Wait()
	os.Remove(c.path)
}
