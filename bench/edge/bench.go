package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/polyregion/polyregion/bench/internal/child"
	"github.com/polyregion/polyregion/bench/internal/procstat"
)

type config struct {
	polyregion string
	duration   time.Duration
	rounds     int
	tests      string
	proxies    string
	wrkConns   int
	udpRate    string
	udpLen     int
	loadCPUs   string
	proxyCPUs  string
	retries    int
	nice       int
	rt         int
	keep       bool
}

func defaultConfig() config {
	return config{
		duration:  5 * time.Second,
		rounds:    3,
		tests:     strings.Join(testNames, ","),
		proxies:   "polyregion,haproxy,nginx",
		wrkConns:  16,
		udpRate:   "0",
		udpLen:    1400,
		loadCPUs:  "0",
		proxyCPUs: "1",
		retries:   6,
		nice:      -10,
	}
}

var proxyNames = []string{"polyregion", "haproxy", "nginx"}

// validate reports every bad flag at once.
func (c config) validate() error {
	var errs []error
	if c.duration < time.Second || c.duration > 60*time.Second || c.duration%time.Second != 0 {
		errs = append(errs, fmt.Errorf("-duration %v: want whole seconds from 1s to 60s", c.duration))
	}
	if c.rounds < 1 || c.rounds > 9 {
		errs = append(errs, fmt.Errorf("-rounds %d: want 1 to 9", c.rounds))
	}
	if c.wrkConns < 1 || c.wrkConns > 1000 {
		errs = append(errs, fmt.Errorf("-c %d: want 1 to 1000", c.wrkConns))
	}
	if c.udpLen < 16 || c.udpLen > 65507 {
		errs = append(errs, fmt.Errorf("-udplen %d: want 16 to 65507", c.udpLen))
	}
	if c.udpRate == "" || strings.ContainsAny(c.udpRate, " \t") {
		errs = append(errs, fmt.Errorf("-udprate %q: want an iperf3 -b rate such as 0, 500M or 2G", c.udpRate))
	}
	if c.nice < -20 || c.nice > 19 {
		errs = append(errs, fmt.Errorf("-nice %d: want -20 to 19", c.nice))
	}
	if c.rt < 0 || c.rt > 98 {
		errs = append(errs, fmt.Errorf("-rt %d: want 0 (off) or a SCHED_FIFO priority from 1 to 98", c.rt))
	}
	if c.retries < 0 || c.retries > 20 {
		errs = append(errs, fmt.Errorf("-retries %d: want 0 to 20", c.retries))
	}
	errs = append(errs, procstat.CheckPinning("-loadcpus", c.loadCPUs, "-proxycpus", c.proxyCPUs)...)
	for _, t := range strings.Split(c.tests, ",") {
		if !contains(testNames, t) {
			errs = append(errs, fmt.Errorf("-tests: unknown test %q (tests: %s)", t, strings.Join(testNames, ", ")))
		}
	}
	for _, n := range strings.Split(c.proxies, ",") {
		if !contains(proxyNames, n) {
			errs = append(errs, fmt.Errorf("-proxies: unknown proxy %q (proxies: %s)", n, strings.Join(proxyNames, ", ")))
		}
	}
	return errors.Join(errs...)
}

// budget bounds the whole run: every measurement and retry with its start and end, plus
// start-up and the build.
func (c config) budget(paths int) time.Duration {
	n := c.rounds*len(strings.Split(c.tests, ","))*paths + c.retries
	return time.Duration(n)*(c.duration+5*time.Second) + 2*time.Minute
}

func run(ctx context.Context, cfg config, out io.Writer) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	if err := lookTools(cfg.loadCPUs != ""); err != nil {
		return err
	}
	niceness, rtPriority = cfg.nice, cfg.rt
	wanted := map[string]bool{}
	for _, n := range strings.Split(cfg.proxies, ",") {
		wanted[n] = true
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.budget(len(wanted)+1))
	defer cancel()

	dir, err := os.MkdirTemp("", "bench-edge-")
	if err != nil {
		return err
	}
	if cfg.keep {
		fmt.Fprintf(out, "work directory (kept): %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	bin, err := child.Polyregion(ctx, cfg.polyregion, dir)
	if err != nil {
		return err
	}

	bk, err := startBackends(dir, cfg.loadCPUs)
	if err != nil {
		return err
	}
	defer bk.stop()
	paths := []path{{name: "direct", iperfPort: bk.iperfPort, httpPort: bk.httpPort, udp: true}}
	defer func() {
		for _, p := range paths {
			p.proxy.Stop()
		}
	}()
	for _, n := range proxyNames {
		if !wanted[n] {
			continue
		}
		var p path
		switch n {
		case "polyregion":
			p, err = startPolyregion(ctx, bin, dir, cfg.proxyCPUs, bk)
		case "haproxy":
			p, err = startHAProxy(dir, cfg.proxyCPUs, bk)
		case "nginx":
			p, err = startNginxStream(dir, cfg.proxyCPUs, bk)
		}
		if err != nil {
			return err
		}
		paths = append(paths, p)
	}
	if err := waitPaths(ctx, paths, bk); err != nil {
		return err
	}
	b := &bench{cfg: cfg, backends: bk, out: out, retries: cfg.retries}
	for _, p := range paths {
		if p.proxy != nil {
			b.proxies = append(b.proxies, p.proxy)
		}
	}
	if cfg.loadCPUs == "" {
		b.retries = 0 // without pinning, other processes cannot be told apart
	}

	pin := "not pinned"
	if cfg.loadCPUs != "" {
		pin = fmt.Sprintf("each proxy pinned to CPU %s, backends and load generators to CPU %s (taskset)", cfg.proxyCPUs, cfg.loadCPUs)
	}
	switch {
	case cfg.rt > 0:
		pin += fmt.Sprintf(", all SCHED_FIFO (priority %d, backends %d)", cfg.rt, cfg.rt+1)
	case cfg.nice != 0:
		pin += fmt.Sprintf(", all at nice %d", cfg.nice)
	}
	fmt.Fprintf(out, "bench/edge: %s/%s, %d CPUs, %s; load average %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), pin, loadAverage())
	fmt.Fprintf(out, "versions: %s; haproxy %s, nginx %s (libnginx-mod-stream %s), iperf3 %s, wrk %s\n",
		polyregionVersion(bin), tool("haproxy"), tool("nginx-light"), tool("libnginx-mod-stream"), tool("iperf3"), tool("wrk"))
	fmt.Fprintf(out, "tests, %v each: tcp1/tcp4 = iperf3 -O 1, 1 and 4 streams (receiver's rate); http = wrk -t1 -c%d --latency, %d-byte answers from nginx; udp = iperf3 -u -b %s -l %d (rate received, loss)\n",
		cfg.duration, cfg.wrkConns, len(httpBody), cfg.udpRate, cfg.udpLen)
	var names []string
	for _, p := range paths {
		names = append(names, p.name)
	}
	fmt.Fprintf(out, "paths: %s (HAProxy: TCP only; polyregion: client IP preservation off)\n", strings.Join(names, ", "))

	tests := strings.Split(cfg.tests, ",")
	rounds := make([]map[string]map[string]sample, cfg.rounds) // round → test → path
	for r := range cfg.rounds {
		fmt.Fprintf(out, "\nround %d of %d (%s)\n", r+1, cfg.rounds, time.Now().UTC().Format("15:04:05 UTC"))
		rounds[r] = map[string]map[string]sample{}
		for _, t := range testNames {
			if !contains(tests, t) {
				continue
			}
			rounds[r][t] = map[string]sample{}
			// Rotate the order so that a noisy moment falls on a different path each round.
			for i := range paths {
				p := paths[(i+r)%len(paths)]
				if t == testUDP && !p.udp {
					continue
				}
				s, err := b.measure(ctx, t, p)
				if err != nil {
					return fmt.Errorf("%s through %s: %w", t, p.name, err)
				}
				rounds[r][t][p.name] = s
				fmt.Fprintf(out, "  %-5s %-10s %s  %s\n", t, p.name, s.figures(t), b.cpuUse(s, p))
			}
		}
	}
	fmt.Fprintln(out)
	report(out, cfg, paths, tests, rounds)
	return nil
}

// figures formats a sample's result.
func (s sample) figures(test string) string {
	switch test {
	case testHTTP:
		e := ""
		if s.errors > 0 {
			e = fmt.Sprintf("  %d ERRORS", s.errors)
		}
		return fmt.Sprintf("%8.0f req/s  p50 %s  p99 %s%s", s.rps, msf(s.p50), msf(s.p99), e)
	case testUDP:
		return fmt.Sprintf("%6.2f Gbit/s received (sent %.2f), loss %.1f%%", s.gbps, s.sentBps/1e9, s.lossPct)
	default:
		return fmt.Sprintf("%6.2f Gbit/s", s.gbps)
	}
}

// cpuUse describes who used the CPUs during a measurement.
func (b *bench) cpuUse(s sample, p path) string {
	var parts []string
	if p.proxy != nil {
		parts = append(parts, fmt.Sprintf("proxy %.2f cores", s.proxyCores))
	}
	parts = append(parts, fmt.Sprintf("client %.2f, backend %.2f", s.loadCores, s.backendCores))
	if b.cfg.loadCPUs != "" {
		parts = append(parts, fmt.Sprintf("others %.0f%%/%.0f%% of CPU %s/%s", 100*s.foreignProxy, 100*s.foreignLoad, b.cfg.proxyCPUs, b.cfg.loadCPUs))
	}
	return "[" + strings.Join(parts, "; ") + "]"
}

func msf(seconds float64) string { return fmt.Sprintf("%.3f ms", seconds*1e3) }
