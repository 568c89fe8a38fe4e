package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/polyregion/polyregion/bench/internal/child"
	"github.com/polyregion/polyregion/bench/internal/procstat"
	"github.com/polyregion/polyregion/internal/dns/geoip"
)

type config struct {
	polyregion  string
	duration    time.Duration
	rounds      int
	clients     int
	outstanding int
	queries     int
	loadCPUs    string
	serverCPUs  string
	servers     string
	keep        bool
	retries     int // measurements run again, in the whole run, because other processes were busy
	latencyQPS  int // the rate of the latency measurement; 0: half of polyregion's peak of the round
}

func defaultConfig() config {
	return config{
		duration:    10 * time.Second,
		rounds:      3,
		clients:     4,
		outstanding: 256,
		queries:     10000,
		loadCPUs:    "0",
		serverCPUs:  "1",
		servers:     "polyregion,gdnsd,pdns,pdns-geoip",
		retries:     4,
	}
}

// serverNames are the -servers values, in the order the servers are started.
var serverNames = []string{"polyregion", "gdnsd", "pdns", "pdns-geoip"}

// validate reports every bad flag at once.
func (c config) validate() error {
	var errs []error
	if c.duration < 2*time.Second || c.duration > 30*time.Second || c.duration%time.Second != 0 {
		errs = append(errs, fmt.Errorf("-duration %v: want whole seconds from 2s to 30s", c.duration))
	}
	if c.rounds < 1 || c.rounds > 5 {
		errs = append(errs, fmt.Errorf("-rounds %d: want 1 to 5", c.rounds))
	}
	if c.clients < 1 || c.clients > 256 {
		errs = append(errs, fmt.Errorf("-c %d: want 1 to 256", c.clients))
	}
	if c.outstanding < 1 || c.outstanding > 65535 {
		errs = append(errs, fmt.Errorf("-q %d: want 1 to 65535", c.outstanding))
	}
	if c.retries < 0 || c.retries > 10 {
		errs = append(errs, fmt.Errorf("-retries %d: want 0 to 10", c.retries))
	}
	if c.latencyQPS < 0 {
		errs = append(errs, fmt.Errorf("-latencyqps %d: want 0 (half of polyregion's peak) or a rate", c.latencyQPS))
	}
	if c.queries < 100 || c.queries > 1_000_000 {
		errs = append(errs, fmt.Errorf("-queries %d: want 100 to 1000000", c.queries))
	}
	errs = append(errs, procstat.CheckPinning("-loadcpus", c.loadCPUs, "-servercpus", c.serverCPUs)...)
	for _, n := range strings.Split(c.servers, ",") {
		if !contains(serverNames, n) {
			errs = append(errs, fmt.Errorf("-servers: unknown server %q (servers: %s)", n, strings.Join(serverNames, ", ")))
		}
	}
	return errors.Join(errs...)
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

// budget bounds the whole run: two dnsperf runs per server and round and the retries, each
// waiting up to its 1 s timeout at the end, plus start-up, checks and the build.
func (c config) budget(servers int) time.Duration {
	return time.Duration(c.rounds*servers*2+c.retries)*(c.duration+3*time.Second) + 2*time.Minute
}

// noiseLimit is the share of a CPU that other processes may use during a measurement;
// above it the measurement is run again (while retries are left).
const noiseLimit = 0.10

// measure runs dnsperf against s, and again when other processes of the machine took more
// than noiseLimit of the server's or dnsperf's CPU, while retries (shared by the whole run)
// are left. It reports each retry.
func measure(ctx context.Context, out io.Writer, cfg config, retries *int, s *server, datafile string, l load) (result, error) {
	for {
		res, err := runDNSPerf(ctx, cfg, s, datafile, l)
		if err != nil || (res.foreign <= noiseLimit && res.foreignLoad <= noiseLimit) || *retries <= 0 {
			return res, err
		}
		*retries--
		fmt.Fprintf(out, "  (%s measured again: other processes used %.0f%% of CPU %s and %.0f%% of CPU %s meanwhile)\n",
			s.Name, 100*res.foreign, cfg.serverCPUs, 100*res.foreignLoad, cfg.loadCPUs)
	}
}

// serverCores is how many CPUs a server may use.
func (c config) serverCores() int {
	if c.serverCPUs == "" {
		return runtime.NumCPU()
	}
	return len(procstat.CPUList(c.serverCPUs))
}

// loadCores is how many CPUs dnsperf may use.
func (c config) loadCores() int {
	if c.loadCPUs == "" {
		return runtime.NumCPU()
	}
	return len(procstat.CPUList(c.loadCPUs))
}

// measured is one round's figures for one server.
type measured struct {
	peak, half result
}

func run(ctx context.Context, cfg config, out io.Writer) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	wanted := map[string]bool{"polyregion": true}
	for _, n := range strings.Split(cfg.servers, ",") {
		wanted[n] = true
	}
	need := []string{"dnsperf"}
	if cfg.loadCPUs != "" {
		need = append(need, "taskset")
	}
	for _, n := range need {
		if _, err := exec.LookPath(n); err != nil {
			return fmt.Errorf("%s not found: run bench/dns/run.sh, which installs what the benchmark needs", n)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.budget(len(wanted)))
	defer cancel()

	dir, err := os.MkdirTemp("", "bench-dns-")
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
	mmdb := filepath.Join(dir, "geoip-demo.mmdb")
	if err := geoip.WriteDemo(mmdb); err != nil {
		return err
	}
	ps := places()
	datafile := filepath.Join(dir, "queries.bin")
	if err := writeDatafile(datafile, ps, cfg.queries); err != nil {
		return err
	}

	// Start every server, stop them all at the end, whatever happens.
	var servers []*server
	defer func() {
		for _, s := range servers {
			s.Stop()
		}
	}()
	for _, n := range serverNames {
		if !wanted[n] {
			continue
		}
		var s *server
		switch n {
		case "polyregion":
			s, err = startPolyregion(ctx, bin, dir, mmdb, cfg.serverCPUs)
		case "gdnsd":
			s, err = startGdnsd(dir, mmdb, cfg.serverCPUs)
		case "pdns":
			s, err = startPowerDNS(dir, mmdb, cfg.serverCPUs)
		case "pdns-geoip":
			s, err = startPowerDNSGeoIP(dir, mmdb, cfg.serverCPUs)
		}
		if err != nil {
			return err
		}
		servers = append(servers, s)
	}
	for _, s := range servers {
		if err := s.waitReady(ctx, 30*time.Second); err != nil {
			return err
		}
	}

	version, _ := exec.Command(bin, "version").Output()
	pin := "not pinned"
	if cfg.loadCPUs != "" {
		pin = fmt.Sprintf("each server pinned to CPU %s, dnsperf to CPU %s (taskset)", cfg.serverCPUs, cfg.loadCPUs)
	}
	fmt.Fprintf(out, "bench/dns: %s/%s, %d CPUs, %s; load average %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), pin, loadAverage())
	fmt.Fprintf(out, "versions: %s; dnsperf %s, gdnsd %s, pdns-server %s (geoip backend %s, bind backend %s)\n",
		strings.TrimSpace(string(version)), tool("dnsperf"), tool("gdnsd"), tool("pdns-server"), tool("pdns-backend-geoip"), tool("pdns-backend-bind"))
	nSubnets := 0
	for _, p := range ps {
		nSubnets += len(p.subnets)
	}
	fmt.Fprintf(out, "mix: %d queries for %s A (EDNS, 1232 B), %d client groups equally likely: %d ECS subnets (/%d, /%d) and no ECS; dnsperf -B (binary datafile)\n",
		cfg.queries, geoName, len(ps), nSubnets, ecsBits4, ecsBits6)
	fmt.Fprintf(out, "per round: peak = dnsperf -c %d -q %d -t 1 for %v; latency = the same at -Q (half of polyregion's peak of the round) with -v\n\n",
		cfg.clients, cfg.outstanding, cfg.duration)

	if err := check(out, servers, ps); err != nil {
		return err
	}

	retries := cfg.retries
	if cfg.loadCPUs == "" {
		retries = 0 // without pinning, other processes cannot be told apart
	}
	rounds := make([]map[string]measured, cfg.rounds)
	for r := range cfg.rounds {
		fmt.Fprintf(out, "\nround %d of %d (%s)\n", r+1, cfg.rounds, time.Now().UTC().Format("15:04:05 UTC"))
		rounds[r] = map[string]measured{}
		// Rotate the order so that a noisy moment of the machine falls on a different
		// server each round.
		order := make([]*server, len(servers))
		for i := range servers {
			order[i] = servers[(i+r)%len(servers)]
		}
		for _, s := range order {
			res, err := measure(ctx, out, cfg, &retries, s, datafile, load{duration: cfg.duration})
			if err != nil {
				return err
			}
			m := rounds[r][s.Name]
			m.peak = res
			rounds[r][s.Name] = m
			fmt.Fprintf(out, "  peak      %-10s %7.0f qps  lost %d of %d (%.3f%%; dropped at server %d, at client %d)  %s\n",
				s.Name, res.qps, res.lost, res.sent, res.lossPct(), res.serverDrops, res.otherDrops, cpuUse(cfg, res))
		}
		half := int(rounds[r]["polyregion"].peak.qps / 2)
		if cfg.latencyQPS > 0 {
			half = cfg.latencyQPS
		}
		// The same rate for every server: one whose peak is lower cannot keep up, and its
		// latency is that of a queue that grows for the whole run.
		for _, s := range order {
			res, err := measure(ctx, out, cfg, &retries, s, datafile, load{qps: half, verbose: true, duration: cfg.duration})
			if err != nil {
				return err
			}
			m := rounds[r][s.Name]
			m.half = res
			rounds[r][s.Name] = m
			fmt.Fprintf(out, "  -Q %-6d %-10s %7.0f qps  lost %d of %d (%.3f%%; dropped at server %d, at client %d)  %s  latency p50 %s  p99 %s  p99.9 %s  max %s\n",
				half, s.Name, res.qps, res.lost, res.sent, res.lossPct(), res.serverDrops, res.otherDrops, cpuUse(cfg, res),
				msf(percentile(res.latencies, 0.5)), msf(percentile(res.latencies, 0.99)),
				msf(percentile(res.latencies, 0.999)), msf(percentile(res.latencies, 1)))
			switch {
			case res.qps >= 0.98*float64(half):
			case res.coresUsed() < 0.9*float64(cfg.serverCores()) && res.loadCores() >= 0.9*float64(cfg.loadCores()):
				fmt.Fprintf(out, "            %s answered %.0f of the %d qps asked with CPU to spare: dnsperf (%.2f cores) could not send faster, its own queueing is in the latency\n",
					s.Name, res.qps, half, res.loadCores())
			default:
				fmt.Fprintf(out, "            %s answered %.0f of the %d qps asked: overloaded, its latency is queueing\n", s.Name, res.qps, half)
			}
		}
	}
	fmt.Fprintln(out)
	report(out, cfg, servers, rounds)
	return nil
}

// check asks every server the mix's query for every subnet, and fails unless each answers
// as the rules say (NOERROR, authoritative, the expected address, TTL 60).
func check(out io.Writer, servers []*server, ps []place) error {
	fmt.Fprintf(out, "answer check: %s A for every subnet of the mix, from each server\n", geoName)
	tw := newTable(out)
	head := "client group\tsubnets\texpected"
	for _, s := range servers {
		head += "\t" + s.Name
	}
	tw.row(head)
	bad := 0
	for _, p := range ps {
		subnets := p.subnets
		if len(subnets) == 0 {
			subnets = []netip.Prefix{{}} // no ECS option
		}
		row := fmt.Sprintf("%s\t%d\t%s", p.label, len(p.subnets), p.want)
		for _, s := range servers {
			cell := "ok"
			for _, sn := range subnets {
				got, err := ask(s.addr, sn)
				want := reply{rcode: "NOERROR", answer: p.want.String(), ttl: ttl, aa: true}
				if err != nil {
					cell, bad = fmt.Sprintf("%s: %v", sn, err), bad+1
					break
				}
				if got != want {
					cell, bad = fmt.Sprintf("%s: %s", sn, got), bad+1
					break
				}
			}
			row += "\t" + cell
		}
		tw.row(row)
	}
	tw.flush()
	if bad > 0 {
		return fmt.Errorf("%d answers differ from the expected ones: the servers are not configured alike", bad)
	}
	fmt.Fprintln(out, "all servers give the expected answer for every subnet")
	return nil
}

// cpuUse describes the server's CPU use during a run: its own CPU time, and how busy its
// pinned CPUs were, interrupts included.
func cpuUse(cfg config, r result) string {
	if cfg.serverCPUs == "" {
		return fmt.Sprintf("server CPU %.2f cores, dnsperf CPU %.2f cores", r.cpuCores(), r.loadCores())
	}
	return fmt.Sprintf("server CPU %.2f cores (%.2f of CPU %s's time, softirq included), CPU %s %.0f%% busy; dnsperf CPU %.2f cores (other processes: %.0f%% of CPU %s, %.0f%% of CPU %s)",
		r.cpuCores(), r.coresUsed(), cfg.serverCPUs, cfg.serverCPUs, 100*r.pinnedBusy, r.loadCores(), 100*r.foreign, cfg.serverCPUs, 100*r.foreignLoad, cfg.loadCPUs)
}

func msf(seconds float64) string { return fmt.Sprintf("%.3f ms", seconds*1e3) }

// loadAverage is the machine's 1, 5 and 15 minute load averages, as /proc/loadavg says.
func loadAverage() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}
