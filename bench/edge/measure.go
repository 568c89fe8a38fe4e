package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/polyregion/polyregion/bench/internal/procstat"
)

// Tests, in the order each round runs them.
const (
	testTCP1 = "tcp1"
	testTCP4 = "tcp4"
	testHTTP = "http"
	testUDP  = "udp"
)

var testNames = []string{testTCP1, testTCP4, testHTTP, testUDP}

// sample is one measurement of one test on one path.
type sample struct {
	gbps    float64 // tcp: the receiver's rate; udp: the rate received by the server
	lossPct float64 // udp: datagrams lost, percent
	sentBps float64 // udp: the rate the client sent
	rps     float64 // http: requests per second
	p50     float64 // http: seconds
	p99     float64 // http: seconds
	errors  int64   // http: socket errors and non-2xx answers

	proxyCores   float64 // CPU the path's proxy used, in cores (0 for direct)
	loadCores    float64 // CPU the load generator used, in cores
	backendCores float64 // CPU the backend used, in cores
	foreignProxy float64 // share of the proxies' CPUs other processes used (0 to 1)
	foreignLoad  float64 // share of the load generators' CPUs other processes used
}

// noiseLimit is the share of a CPU that other processes may use during a measurement;
// above it the measurement is run again (while retries are left).
const noiseLimit = 0.10

// bench holds what every measurement needs.
type bench struct {
	cfg      config
	backends *backends
	proxies  []*proc // every proxy, whose CPU use is not "other processes"
	retries  int     // left in the whole run
	out      io.Writer
}

// measure runs a test on a path, and again when other processes took more than noiseLimit
// of a pinned CPU meanwhile, while retries are left.
func (b *bench) measure(ctx context.Context, test string, p path) (sample, error) {
	for {
		s, err := b.measureOnce(ctx, test, p)
		if err != nil || (s.foreignProxy <= noiseLimit && s.foreignLoad <= noiseLimit) || b.retries <= 0 {
			return s, err
		}
		b.retries--
		fmt.Fprintf(b.out, "    (%s %s measured again: other processes used %.0f%% of CPU %s and %.0f%% of CPU %s meanwhile)\n",
			test, p.name, 100*s.foreignProxy, b.cfg.proxyCPUs, 100*s.foreignLoad, b.cfg.loadCPUs)
	}
}

func (b *bench) measureOnce(ctx context.Context, test string, p path) (sample, error) {
	backend := b.backends.iperf
	if test == testHTTP {
		backend = b.backends.http
	}
	secs := strconv.Itoa(int(b.cfg.duration / time.Second))
	var name string
	var args []string
	switch test {
	case testTCP1, testTCP4:
		name = "iperf3"
		args = []string{"-c", "127.0.0.1", "-p", strconv.Itoa(p.iperfPort), "-t", secs, "-O", "1", "-J", "--connect-timeout", "3000"}
		if test == testTCP4 {
			args = append(args, "-P", "4")
		}
	case testUDP:
		name = "iperf3"
		args = []string{"-c", "127.0.0.1", "-p", strconv.Itoa(p.iperfPort), "-t", secs, "-J", "--connect-timeout", "3000",
			"-u", "-b", b.cfg.udpRate, "-l", strconv.Itoa(b.cfg.udpLen)}
	case testHTTP:
		name = "wrk"
		args = []string{"-t1", "-c", strconv.Itoa(b.cfg.wrkConns), "-d", secs + "s", "--latency", fmt.Sprintf("http://127.0.0.1:%d/", p.httpPort)}
	}
	for attempt := 0; ; attempt++ {
		s, out, err := b.runOnce(ctx, backend, p, name, args)
		// The iperf3 server runs one test at a time; the previous test's end may not have
		// reached it through a proxy yet.
		if err != nil && name == "iperf3" && attempt < 5 && strings.Contains(out, "busy") {
			select {
			case <-ctx.Done():
				return s, ctx.Err()
			case <-time.After(time.Second):
			}
			continue
		}
		if err != nil {
			return s, fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, tail(out))
		}
		switch test {
		case testHTTP:
			err = parseWrk(&s, out)
		default:
			err = parseIperf(&s, test, out)
		}
		if err != nil {
			return s, fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, tail(out))
		}
		return s, nil
	}
}

// runOnce runs the load generator once, with the CPU times of the processes around it.
func (b *bench) runOnce(ctx context.Context, backend *proc, p path, name string, args []string) (sample, string, error) {
	var s sample
	ctx, cancel := context.WithTimeout(ctx, b.cfg.duration+30*time.Second)
	defer cancel()
	cmd := command(b.cfg.loadCPUs, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	proxies0, err := b.proxyCPU()
	if err != nil {
		return s, "", err
	}
	backend0, err := procstat.CPUSeconds(backend.PID())
	if err != nil {
		return s, "", err
	}
	pbusy0, err1 := procstat.CPUTicks(b.cfg.proxyCPUs)
	lbusy0, err2 := procstat.CPUTicks(b.cfg.loadCPUs)
	if err := errors.Join(err1, err2); err != nil {
		return s, "", err
	}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return s, "", err
	}
	stopped := context.AfterFunc(ctx, func() { _ = cmd.Process.Kill() })
	waitErr := cmd.Wait()
	stopped()
	elapsed := time.Since(t0).Seconds()
	proxies1, err := b.proxyCPU()
	if err != nil {
		return s, "", err
	}
	backend1, err := procstat.CPUSeconds(backend.PID())
	if err != nil {
		return s, "", err
	}
	pbusy1, err1 := procstat.CPUTicks(b.cfg.proxyCPUs)
	lbusy1, err2 := procstat.CPUTicks(b.cfg.loadCPUs)
	if err := errors.Join(err1, err2); err != nil {
		return s, "", err
	}
	if waitErr != nil {
		return s, out.String(), waitErr
	}
	load := (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	backendCPU := backend1 - backend0
	var allProxies float64
	for i, q := range b.proxies {
		d := proxies1[i] - proxies0[i]
		allProxies += d
		if q == p.proxy {
			s.proxyCores = d / elapsed
		}
	}
	s.loadCores, s.backendCores = load/elapsed, backendCPU/elapsed
	if d := pbusy1.Total - pbusy0.Total; d > 0 && p.proxy != nil { // direct: the proxies' CPU is not used
		s.foreignProxy = max(0, ((pbusy1.Tasks-pbusy0.Tasks)/procstat.ClockTicks-allProxies)/(d/procstat.ClockTicks))
	}
	if d := lbusy1.Total - lbusy0.Total; d > 0 {
		s.foreignLoad = max(0, ((lbusy1.Tasks-lbusy0.Tasks)/procstat.ClockTicks-load-backendCPU)/(d/procstat.ClockTicks))
	}
	return s, out.String(), nil
}

func (b *bench) proxyCPU() ([]float64, error) {
	out := make([]float64, len(b.proxies))
	for i, q := range b.proxies {
		v, err := procstat.CPUSeconds(q.PID())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", q.Name, err)
		}
		out[i] = v
	}
	return out, nil
}

func tail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 2000 {
		s = s[len(s)-2000:]
	}
	return s
}

// iperfReport is the part of iperf3 -J's output the benchmark reads.
type iperfReport struct {
	Error string `json:"error"`
	End   struct {
		SumSent     iperfSum `json:"sum_sent"`
		SumReceived iperfSum `json:"sum_received"`
		Sum         iperfSum `json:"sum"`
	} `json:"end"`
}

type iperfSum struct {
	Seconds       float64 `json:"seconds"`
	BitsPerSecond float64 `json:"bits_per_second"`
	LostPercent   float64 `json:"lost_percent"`
	Packets       int64   `json:"packets"`
}

func parseIperf(s *sample, test, out string) error {
	var r iperfReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		return err
	}
	if r.Error != "" {
		return errors.New(r.Error)
	}
	if r.End.SumReceived.Seconds == 0 {
		return errors.New("no end.sum_received in iperf3's report")
	}
	s.gbps = r.End.SumReceived.BitsPerSecond / 1e9
	if test == testUDP {
		s.sentBps = r.End.SumSent.BitsPerSecond
		s.lossPct = r.End.SumReceived.LostPercent
	}
	return nil
}

// parseWrk reads wrk --latency's output:
//
//	  Latency Distribution
//	     50%   70.00us
//	     99%  529.00us
//	  ...
//	Requests/sec: 163903.12
func parseWrk(s *sample, out string) error {
	found := 0
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && (f[0] == "50%" || f[0] == "99%"):
			d, err := wrkDuration(f[1])
			if err != nil {
				return err
			}
			if f[0] == "50%" {
				s.p50 = d
			} else {
				s.p99 = d
			}
			found++
		case len(f) == 2 && f[0] == "Requests/sec:":
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return err
			}
			s.rps = v
			found++
		case len(f) >= 4 && f[0] == "Non-2xx":
			v, _ := strconv.ParseInt(f[len(f)-1], 10, 64)
			s.errors += v
		case len(f) >= 3 && f[0] == "Socket" && f[1] == "errors:":
			// Socket errors: connect 0, read 0, write 0, timeout 0
			for _, x := range f[2:] {
				if v, err := strconv.ParseInt(strings.TrimSuffix(x, ","), 10, 64); err == nil {
					s.errors += v
				}
			}
		}
	}
	if found < 3 {
		return errors.New("no latency distribution or Requests/sec in wrk's output")
	}
	return nil
}

// wrkDuration parses wrk's "70.00us", "1.23ms", "2.00s", "1.00m" into seconds.
func wrkDuration(v string) (float64, error) {
	for _, u := range []struct {
		suffix string
		scale  float64
	}{{"us", 1e-6}, {"ms", 1e-3}, {"m", 60}, {"s", 1}} {
		if num, ok := strings.CutSuffix(v, u.suffix); ok {
			x, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, fmt.Errorf("wrk latency %q: %w", v, err)
			}
			return x * u.scale, nil
		}
	}
	return 0, fmt.Errorf("wrk latency %q: unknown unit", v)
}

// lookTools checks that the load generators are installed.
func lookTools(pinned bool) error {
	need := []string{"iperf3", "wrk"}
	if pinned {
		need = append(need, "taskset")
	}
	for _, n := range need {
		if _, err := exec.LookPath(n); err != nil {
			return fmt.Errorf("%s not found: run bench/edge/run.sh, which installs what the benchmark needs", n)
		}
	}
	return nil
}
