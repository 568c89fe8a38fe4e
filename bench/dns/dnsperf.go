package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/polyregion/polyregion/bench/internal/child"
	"github.com/polyregion/polyregion/bench/internal/procstat"
)

// load is one dnsperf run against one server.
type load struct {
	qps      int // -Q; 0: as fast as the server answers, within -q outstanding queries
	verbose  bool
	duration time.Duration
}

// result is what one dnsperf run measured.
type result struct {
	sent, completed, lost int64
	qps                   float64          // completed queries per second of the run
	avg                   float64          // dnsperf's average latency, seconds
	latencies             []float64        // per answered query, seconds (verbose runs only)
	rcodes                map[string]int64 // per answered query (verbose runs only)
	serverCPU             float64          // CPU seconds the server used during the run
	pinnedCPUs            int              // CPUs the server is pinned to; 0 when not pinned
	loadCPU               float64          // CPU seconds dnsperf used during the run
	pinnedBusy            float64          // how busy the server's CPUs were (0 to 1), interrupts included; 0 when not pinned
	foreign               float64          // share of the server's CPUs that other processes used (0 to 1); 0 when not pinned
	foreignLoad           float64          // share of dnsperf's CPUs that other processes used (0 to 1); 0 when not pinned
	serverDrops           int64            // datagrams dropped at the server's sockets: receive buffer full
	otherDrops            int64            // datagrams dropped at the machine's other UDP sockets (dnsperf's)
	runTime               float64          // seconds, as dnsperf reports it
}

func (r result) lossPct() float64 {
	if r.sent == 0 {
		return 0
	}
	return 100 * float64(r.lost) / float64(r.sent)
}

// cpuCores is the server's CPU use during the run, in cores.
func (r result) cpuCores() float64 {
	if r.runTime <= 0 {
		return 0
	}
	return r.serverCPU / r.runTime
}

// coresUsed is the server's use of CPU during the run, in cores: when it is pinned, how
// busy its CPUs were (interrupts and softirq included) less what other processes' tasks
// used there, and never less than its process's own CPU time. Over loopback much of the
// kernel's work for a datagram a server sends (delivering it into dnsperf's socket and
// waking dnsperf) runs as softirq on the sender's CPU, which the kernel does not always
// charge to the process; the process's own time and the CPU's softirq time overlap, so
// they are not added.
func (r result) coresUsed() float64 {
	if r.runTime <= 0 {
		return 0
	}
	return max(r.cpuCores(), (r.pinnedBusy-r.foreign)*float64(r.pinnedCPUs))
}

// perCore is the qps the server answered per core it used (coresUsed; 0 without a
// measurement).
func (r result) perCore() float64 {
	if c := r.coresUsed(); c > 0 {
		return r.qps / c
	}
	return 0
}

// loadCores is dnsperf's CPU use during the run, in cores.
func (r result) loadCores() float64 {
	if r.runTime <= 0 {
		return 0
	}
	return r.loadCPU / r.runTime
}

// percentile returns the p-th percentile (0 < p <= 1) of the sorted xs, nearest rank.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// runDNSPerf runs dnsperf with the datafile against s, pinned to cpus, and measures the
// server's CPU time over the run.
func runDNSPerf(ctx context.Context, cfg config, s *server, datafile string, l load) (result, error) {
	host, port, err := net.SplitHostPort(s.addr)
	if err != nil {
		return result{}, err
	}
	args := []string{
		"-B", "-d", datafile, // binary datafile: each query carries its own ECS option
		"-s", host, "-p", port,
		"-l", strconv.Itoa(int(l.duration / time.Second)),
		"-c", strconv.Itoa(cfg.clients),
		"-q", strconv.Itoa(cfg.outstanding),
		"-t", "1", // a query unanswered after 1 s is lost
	}
	if l.qps > 0 {
		args = append(args, "-Q", strconv.Itoa(l.qps))
	}
	if l.verbose {
		args = append(args, "-v")
	}
	// dnsperf writes to a file, not a pipe: a reader that falls behind would stall dnsperf
	// (it prints each answer with -v) and show up as latency. The file is in memory when
	// the machine has /dev/shm: with -v dnsperf writes about 100 MB in a run, whose
	// writeback to disk would take CPU time from the servers in bursts.
	outPath := datafile + ".out"
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		outPath = filepath.Join("/dev/shm", filepath.Base(filepath.Dir(datafile))+"-"+filepath.Base(datafile)+".out")
	}
	outFile, err := os.Create(outPath)
	if err != nil {
		return result{}, err
	}
	defer os.Remove(outPath)
	cmd := child.Command(cfg.loadCPUs, "dnsperf", args...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = outFile, &stderr
	cpu0, err := procstat.CPUSeconds(s.PID())
	if err != nil {
		outFile.Close()
		return result{}, fmt.Errorf("%s: %w", s.Name, err)
	}
	busy0, err := procstat.CPUTicks(cfg.serverCPUs)
	if err != nil {
		outFile.Close()
		return result{}, err
	}
	load0, err := procstat.CPUTicks(cfg.loadCPUs)
	if err != nil {
		outFile.Close()
		return result{}, err
	}
	drops0, err := udpDrops(s.port())
	if err != nil {
		outFile.Close()
		return result{}, err
	}
	if err := cmd.Start(); err != nil {
		outFile.Close()
		return result{}, fmt.Errorf("dnsperf: %w", err)
	}
	// dnsperf stops by itself after -l; this is a backstop.
	stopped := context.AfterFunc(ctx, func() { _ = cmd.Process.Kill() })
	waitErr := cmd.Wait()
	stopped()
	outFile.Close()
	cpu1, cpuErr := procstat.CPUSeconds(s.PID())
	drops1, dropsErr := udpDrops(s.port())
	busy1, busyErr := procstat.CPUTicks(cfg.serverCPUs)
	load1, loadErr := procstat.CPUTicks(cfg.loadCPUs)
	if waitErr != nil {
		return result{}, fmt.Errorf("dnsperf %s: %w\n%s", strings.Join(args, " "), waitErr, stderr.String())
	}
	if err := errors.Join(cpuErr, dropsErr, busyErr, loadErr); err != nil {
		return result{}, fmt.Errorf("%s: %w", s.Name, err)
	}
	r := result{rcodes: map[string]int64{}, serverCPU: cpu1 - cpu0, pinnedCPUs: len(procstat.CPUList(cfg.serverCPUs))}
	if d := busy1.Total - busy0.Total; d > 0 {
		r.pinnedBusy = (busy1.Busy() - busy0.Busy()) / d
		r.foreign = max(0, ((busy1.Tasks-busy0.Tasks)/procstat.ClockTicks-r.serverCPU)/(d/procstat.ClockTicks))
	}
	r.loadCPU = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	if d := load1.Total - load0.Total; d > 0 {
		r.foreignLoad = max(0, ((load1.Tasks-load0.Tasks)/procstat.ClockTicks-r.loadCPU)/(d/procstat.ClockTicks))
	}
	r.serverDrops = drops1.server - drops0.server
	r.otherDrops = drops1.total - drops0.total - r.serverDrops
	f, err := os.Open(outPath)
	if err != nil {
		return result{}, err
	}
	defer f.Close()
	if l.verbose {
		r.latencies = make([]float64, 0, max(l.qps, 1)*int(l.duration/time.Second))
	}
	var summary []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		// Verbose: "> NOERROR www.bench.example A 0.000123" per answer, "> T ..." per timeout.
		if strings.HasPrefix(line, "> ") {
			f := strings.Fields(line)
			if len(f) < 3 || f[1] == "T" || f[1] == "I" {
				continue
			}
			if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
				r.latencies = append(r.latencies, v)
				r.rcodes[f[1]]++
			}
			continue
		}
		summary = append(summary, line)
	}
	if err := sc.Err(); err != nil {
		return result{}, fmt.Errorf("dnsperf output: %w", err)
	}
	if err := parseSummary(&r, summary); err != nil {
		return result{}, fmt.Errorf("dnsperf output: %w\n%s", err, strings.Join(summary, "\n"))
	}
	slices.Sort(r.latencies)
	return r, nil
}

// parseSummary reads dnsperf's statistics:
//
//	Queries sent:         1605159
//	Queries completed:    1605157 (100.00%)
//	Queries lost:         2 (0.00%)
//	Run time (s):         5.002749
//	Queries per second:   320856.789735
//	Average Latency (s):  0.000266 (min 0.000006, max 0.005591)
func parseSummary(r *result, lines []string) error {
	found := 0
	for _, line := range lines {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		var err error
		switch k {
		case "Queries sent":
			r.sent, err = strconv.ParseInt(f[0], 10, 64)
		case "Queries completed":
			r.completed, err = strconv.ParseInt(f[0], 10, 64)
		case "Queries lost":
			r.lost, err = strconv.ParseInt(f[0], 10, 64)
		case "Run time (s)":
			r.runTime, err = strconv.ParseFloat(f[0], 64)
		case "Queries per second":
			r.qps, err = strconv.ParseFloat(f[0], 64)
		case "Average Latency (s)":
			r.avg, err = strconv.ParseFloat(f[0], 64)
		default:
			continue
		}
		if err != nil {
			return fmt.Errorf("%q: %w", line, err)
		}
		found++
	}
	if found < 6 {
		return errors.New("no statistics found")
	}
	return nil
}

// tool reports the Debian package version of a tool, or "?" when dpkg does not know it.
func tool(pkg string) string {
	out, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", pkg).Output()
	if err != nil || len(out) == 0 {
		return "?"
	}
	return string(out)
}

// drops counts UDP datagrams dropped because a socket's receive buffer was full.
type drops struct {
	server int64 // at the sockets bound to the server's port
	total  int64 // at every socket of the machine (RcvbufErrors of /proc/net/snmp)
}

// udpDrops reads the drop counters of the sockets bound to port (the "drops" column of
// /proc/net/udp and udp6) and the machine's UDP RcvbufErrors.
func udpDrops(port int) (drops, error) {
	var d drops
	for _, name := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		b, err := os.ReadFile(name)
		if err != nil {
			return d, err
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 13 {
				continue
			}
			_, hexPort, _ := strings.Cut(f[1], ":")
			if p, err := strconv.ParseUint(hexPort, 16, 16); err != nil || int(p) != port {
				continue
			}
			n, err := strconv.ParseInt(f[len(f)-1], 10, 64)
			if err != nil {
				return d, fmt.Errorf("%s: %q: %w", name, line, err)
			}
			d.server += n
		}
	}
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return d, err
	}
	var head []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Udp:" {
			continue
		}
		if head == nil {
			head = f
			continue
		}
		for i, h := range head {
			if h == "RcvbufErrors" && i < len(f) {
				d.total, err = strconv.ParseInt(f[i], 10, 64)
				return d, err
			}
		}
	}
	return d, errors.New("/proc/net/snmp: no Udp RcvbufErrors")
}
