package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/polyregion/polyregion/bench/internal/child"
	"github.com/polyregion/polyregion/bench/internal/procstat"
)

type config struct {
	polyregion string
	dynalite   string
	duration   time.Duration
	rounds     int
	clients    int
	records    int
	workloads  string
	loadCPUs   string
	serverCPUs string
	retries    int
	perfDir    string
	// wire captures each server's loopback traffic (tcpdump) during the half-rate runs,
	// for the server's own share of the GetItem latency.
	wire       bool
	cpuProfile string
	gomaxprocs int
	gogc       string
	keep       bool
	// rate, when positive, skips the full-speed workloads: each round runs only workload C
	// at this many GetItems per second on every server.
	rate float64
	// The load generator's own runtime (it is not what is measured; the same for every
	// server): GOMAXPROCS (0: the runtime's choice), GOGC ("": 100) and a soft memory
	// limit in MiB (0: none).
	loadProcs    int
	loadGOGC     string
	loadMemLimit int
	// loadGCEvery, when positive, turns the load generator's GC pacing off (GOGC=off, a
	// memory limit of loadMemLimit or 1 GiB as a guard) and collects every loadGCEvery
	// instead (collectEvery).
	loadGCEvery time.Duration
	// rawClient sends the GetItems of the -rate runs as pre-signed plain HTTP requests
	// (rawclient.go), to tell the SDK client's share of the latency apart.
	rawClient bool
	// sdkDefaults keeps the SDK client's default endpoint rules and response checksum
	// validation instead of the fixed endpoint (newClient).
	sdkDefaults bool
}

func defaultConfig() config {
	return config{
		duration:   10 * time.Second,
		rounds:     3,
		clients:    16,
		records:    10000,
		workloads:  "A,B,C,E",
		loadCPUs:   "0",
		serverCPUs: "1",
		retries:    4,
	}
}

// validate reports every bad flag at once.
func (c config) validate() error {
	var errs []error
	if c.duration < time.Second || c.duration > time.Minute {
		errs = append(errs, fmt.Errorf("-duration %v: want 1s to 1m", c.duration))
	}
	if c.rounds < 1 || c.rounds > 9 {
		errs = append(errs, fmt.Errorf("-rounds %d: want 1 to 9", c.rounds))
	}
	if c.clients < 1 || c.clients > 512 {
		errs = append(errs, fmt.Errorf("-c %d: want 1 to 512", c.clients))
	}
	if c.records < 2*groupSize || c.records > 10_000_000 {
		errs = append(errs, fmt.Errorf("-records %d: want %d to 10000000", c.records, 2*groupSize))
	}
	if c.gomaxprocs < 0 || c.gomaxprocs > 64 {
		errs = append(errs, fmt.Errorf("-gomaxprocs %d: want 0 to 64", c.gomaxprocs))
	}
	for _, f := range []struct{ name, v string }{{"-gogc", c.gogc}, {"-loadgogc", c.loadGOGC}} {
		if f.v != "" && f.v != "off" {
			if n, err := strconv.Atoi(f.v); err != nil || n < 1 {
				errs = append(errs, fmt.Errorf("%s %q: want a percentage of at least 1, or off", f.name, f.v))
			}
		}
	}
	if c.loadProcs < 0 || c.loadProcs > 64 {
		errs = append(errs, fmt.Errorf("-loadprocs %d: want 0 to 64", c.loadProcs))
	}
	if c.loadMemLimit < 0 {
		errs = append(errs, fmt.Errorf("-loadmemlimit %d: want 0 (none) or a size in MiB", c.loadMemLimit))
	}
	if c.loadGCEvery != 0 && (c.loadGCEvery < 10*time.Millisecond || c.loadGCEvery > 10*time.Second) {
		errs = append(errs, fmt.Errorf("-loadgcevery %v: want 0 (the runtime's pacing) or 10ms to 10s", c.loadGCEvery))
	}
	if c.loadGCEvery > 0 && c.loadGOGC != "" {
		errs = append(errs, errors.New("-loadgcevery and -loadgogc: set one or the other"))
	}
	if c.rawClient && c.rate == 0 {
		errs = append(errs, errors.New("-rawclient: only with -rate (it sends GetItems only)"))
	}
	if c.rate < 0 || c.rate > 1e6 {
		errs = append(errs, fmt.Errorf("-rate %v: want 0 (the full benchmark) to 1000000", c.rate))
	}
	if c.retries < 0 || c.retries > 20 {
		errs = append(errs, fmt.Errorf("-retries %d: want 0 to 20", c.retries))
	}
	for _, n := range strings.Split(c.workloads, ",") {
		if _, ok := workloadByName(n); !ok {
			errs = append(errs, fmt.Errorf("-workloads: unknown workload %q (workloads: A, B, C, E)", n))
		}
	}
	errs = append(errs, procstat.CheckPinning("-loadcpus", c.loadCPUs, "-servercpus", c.serverCPUs)...)
	return errors.Join(errs...)
}

// workloadList is the full-speed workloads to run: none with -rate.
func (c config) workloadList() []workload {
	if c.rate > 0 {
		return nil
	}
	var ws []workload
	for _, n := range strings.Split(c.workloads, ",") {
		w, _ := workloadByName(n)
		ws = append(ws, w)
	}
	return ws
}

// budget bounds the whole run: every measured run and its retries (with time for the last
// operations), the half-peak runs, loading, start-up and the build.
func (c config) budget(servers int) time.Duration {
	runs := c.rounds*servers*(len(c.workloadList())+1) + c.retries
	return time.Duration(runs)*(c.duration+6*time.Second+quietWait) + 3*time.Minute + time.Duration(c.records/100)*time.Second
}

// noiseLimit is the share of a CPU that other processes may use during a measurement;
// above it the measurement is run again (while retries are left).
const noiseLimit = 0.10

// warmup is how long each server runs workload A, unmeasured, after loading.
const warmup = 2 * time.Second

// measure runs spec against t, and again when other processes of the machine took more than
// noiseLimit of the server's or the load's CPU, while retries (shared by the whole run) are
// left. With perfOut it records a profile of the server during the run.
func measure(ctx context.Context, out io.Writer, cfg config, retries *int, t *target, spec runSpec, seed uint64, perfOut string) (runResult, error) {
	for {
		if err := waitQuiet(ctx, out, cfg, t.srv.PID()); err != nil {
			return runResult{}, err
		}
		m, err := startMeter(cfg, t.srv.PID())
		if err != nil {
			return runResult{}, fmt.Errorf("%s: %w", t.srv.Name, err)
		}
		var perf *exec.Cmd
		if perfOut != "" {
			secs := strconv.FormatFloat(spec.duration.Seconds(), 'f', 1, 64)
			perf = exec.CommandContext(ctx, "perf", "record", "-g", "-F", "999", "-o", perfOut, "-p", strconv.Itoa(t.srv.PID()), "--", "sleep", secs)
			if b, err := os.Create(perfOut + ".log"); err == nil {
				perf.Stdout, perf.Stderr = b, b
				defer b.Close()
			}
			if err := perf.Start(); err != nil {
				return runResult{}, fmt.Errorf("perf record: %w", err)
			}
		}
		before, err := scrapeHandlerHist(t.srv.metrics, "GetItem")
		if err != nil {
			return runResult{}, err
		}
		var wire *wireCapture
		if spec.rate > 0 && cfg.wire {
			if wire, err = startWire(ctx, cfg, t.srv.endpoint); err != nil {
				return runResult{}, err
			}
		}
		res := t.run(ctx, spec, seed)
		var wireCPU float64
		if wire != nil {
			wireCPU = wire.cpu()
			if res.wire, res.wireN, err = wire.stop(); err != nil {
				return runResult{}, err
			}
		}
		after, err := scrapeHandlerHist(t.srv.metrics, "GetItem")
		if err != nil {
			return runResult{}, err
		}
		res.handlerOps, res.handlerOver = after.over(before, handlerBounds...)
		if perf != nil {
			_ = perf.Wait()
		}
		u, err := m.stop()
		if err != nil {
			return res, fmt.Errorf("%s: %w", t.srv.Name, err)
		}
		if u.seconds > 0 {
			u.foreignLoad = max(0, u.foreignLoad-wireCPU/u.seconds) // tcpdump is ours
		}
		res.usage = u
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		if res.total() == 0 {
			return res, fmt.Errorf("%s, workload %s: no operation succeeded (%d errors; first: %v)", t.srv.Name, spec.w.name, res.errs, res.firstErr)
		}
		if (u.foreign <= noiseLimit && u.foreignLoad <= noiseLimit) || *retries <= 0 {
			return res, nil
		}
		*retries--
		perfOut = ""
		fmt.Fprintf(out, "  (%s measured again: other processes used %.0f%% of CPU %s and %.0f%% of CPU %s meanwhile)\n",
			t.srv.Name, 100*u.foreign, cfg.serverCPUs, 100*u.foreignLoad, cfg.loadCPUs)
	}
}

// handlerBounds are the bounds of polyregion's histogram the report gives shares over.
var handlerBounds = []float64{0.001, 0.0025}

// quietWait bounds how long waitQuiet waits for the machine to calm down.
const quietWait = 45 * time.Second

// waitQuiet waits, at most quietWait, until other processes use at most noiseLimit of each
// pinned CPU over a second, so that measurements are not spent on a busy machine; it
// reports how long it waited. Without pinning it does not wait.
func waitQuiet(ctx context.Context, out io.Writer, cfg config, pid int) error {
	if cfg.serverCPUs == "" {
		return nil
	}
	start := time.Now()
	for {
		m, err := startMeter(cfg, pid)
		if err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
		u, err := m.stop()
		if err != nil {
			return err
		}
		waited := time.Since(start)
		if u.foreign <= noiseLimit && u.foreignLoad <= noiseLimit || waited > quietWait {
			if waited > 5*time.Second {
				fmt.Fprintf(out, "  (waited %.0f s for other processes to leave the CPUs: now %.0f%% of CPU %s, %.0f%% of CPU %s)\n",
					waited.Seconds(), 100*u.foreign, cfg.serverCPUs, 100*u.foreignLoad, cfg.loadCPUs)
			}
			return nil
		}
	}
}

// measured is one round's figures: per workload, per server.
type measured struct {
	runs map[string]map[string]runResult // workload → server → result
	half map[string]runResult            // server → workload C at half of polyregion's C
	rate float64                         // that rate, operations per second
}

func run(ctx context.Context, cfg config, out io.Writer) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	if cfg.perfDir != "" {
		if _, err := exec.LookPath("perf"); err != nil {
			return errors.New("-perf: perf not found (Debian: linux-perf)")
		}
	}
	nServers := 1
	if cfg.dynalite != "" {
		nServers = 2
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.budget(nServers))
	defer cancel()
	if cfg.loadGCEvery > 0 {
		gcCtx, stopGC := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			collectEvery(gcCtx, cfg.loadGCEvery)
		}()
		defer func() {
			stopGC()
			<-done
		}()
	}

	dir, err := os.MkdirTemp("", "bench-tables-")
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

	// Start every server, stop them all at the end, whatever happens.
	var servers []*server
	defer func() {
		for _, s := range servers {
			s.Stop()
		}
	}()
	s, err := startPolyregion(ctx, bin, dir, cfg.serverCPUs, cfg.gomaxprocs, cfg.gogc)
	if err != nil {
		return err
	}
	servers = append(servers, s)
	if cfg.dynalite != "" {
		s, err := startDynalite(cfg.dynalite, dir, cfg.serverCPUs)
		if err != nil {
			return err
		}
		servers = append(servers, s)
	}
	var targets []*target
	for _, s := range servers {
		if err := s.waitReady(ctx, 30*time.Second); err != nil {
			return err
		}
		targets = append(targets, &target{srv: s, client: s.newClient(cfg.clients, cfg.sdkDefaults)})
	}

	version, _ := exec.Command(bin, "version").Output()
	pin := "not pinned"
	if cfg.loadCPUs != "" {
		pin = fmt.Sprintf("each server pinned to CPU %s, this program (the SDK clients) to CPU %s (taskset)", cfg.serverCPUs, cfg.loadCPUs)
	}
	if cfg.gomaxprocs > 0 {
		pin += fmt.Sprintf("; polyregion with GOMAXPROCS=%d", cfg.gomaxprocs)
	}
	if cfg.gogc != "" {
		pin += "; polyregion with GOGC=" + cfg.gogc
	}
	fmt.Fprintf(out, "bench/tables: %s/%s, %d CPUs, GOMAXPROCS=%d here, %s; load average %s\n",
		runtime.GOOS, runtime.GOARCH, procstat.MachineCPUs(), runtime.GOMAXPROCS(0), pin, loadAverage())
	loadGC := cfg.loadGOGC
	if loadGC == "" {
		loadGC = "100"
	}
	if cfg.loadGCEvery > 0 {
		loadGC = "off, collecting every " + cfg.loadGCEvery.String()
	}
	fmt.Fprintf(out, "load generator (the SDK clients): GOGC=%s, memory limit %s; %s\n", loadGC, memLimit(), clientNote(cfg))
	dyn := "not run"
	if cfg.dynalite != "" {
		dyn = fmt.Sprintf("dynalite %s (in memory) on node %s", dynaliteVersion(cfg.dynalite), nodeVersion())
	}
	fmt.Fprintf(out, "versions: %s (writes synced); %s; %s; AWS SDK for Go v2 service/dynamodb\n", strings.TrimSpace(string(version)), dyn, runtime.Version())
	fmt.Fprintf(out, "table %s: partition key p = group of %d records, sort key k = user<n>; records of %d fields of %d B\n",
		tableName, groupSize, fields, fieldLen)
	fmt.Fprintf(out, "per round, each workload on each server for %v, %d client goroutines with one request outstanding each; keys scrambled zipfian (θ=%.2f)\n",
		cfg.duration, cfg.clients, zipfTheta)
	for _, w := range cfg.workloadList() {
		fmt.Fprintf(out, "  %s: %s\n", w.name, w.about)
	}
	if cfg.rate > 0 {
		fmt.Fprintf(out, "  only workload C at %.0f GetItems/s (-rate), each round\n", cfg.rate)
	}
	if cfg.rawClient {
		fmt.Fprintln(out, "  GetItems sent as pre-signed plain HTTP requests, not through the SDK (-rawclient: a diagnostic)")
	}
	fmt.Fprintln(out)

	for _, t := range targets {
		if err := t.createTable(ctx); err != nil {
			return err
		}
		t0 := time.Now()
		if err := t.load(ctx, cfg.records, cfg.clients); err != nil {
			return err
		}
		if cfg.rawClient {
			if t.raw, err = newRawClient(t.srv, cfg.clients, cfg.records); err != nil {
				return err
			}
		}
		loadTime := time.Since(t0)
		t.run(ctx, runSpec{w: workloads[0], duration: warmup, clients: cfg.clients}, 99)
		fmt.Fprintf(out, "load %-10s %d records in %.2f s (%.0f records/s, BatchWriteItem of 25), then %v of workload A unmeasured\n",
			t.srv.Name, cfg.records, loadTime.Seconds(), float64(cfg.records)/loadTime.Seconds(), warmup)
	}

	retries := cfg.retries
	if cfg.loadCPUs == "" {
		retries = 0 // without pinning, other processes cannot be told apart
	}
	if cfg.perfDir != "" {
		if err := os.MkdirAll(cfg.perfDir, 0o755); err != nil {
			return err
		}
	}
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	rounds := make([]measured, cfg.rounds)
	for r := range cfg.rounds {
		fmt.Fprintf(out, "\nround %d of %d (%s)\n", r+1, cfg.rounds, time.Now().UTC().Format("15:04:05 UTC"))
		m := measured{runs: map[string]map[string]runResult{}, half: map[string]runResult{}}
		// Rotate the order so that a noisy moment of the machine falls on a different
		// server each round.
		order := make([]*target, len(targets))
		for i := range targets {
			order[i] = targets[(i+r)%len(targets)]
		}
		for _, w := range cfg.workloadList() {
			m.runs[w.name] = map[string]runResult{}
			for _, t := range order {
				perfOut := ""
				if cfg.perfDir != "" && r == 0 && t.srv.Name == "polyregion" {
					perfOut = filepath.Join(cfg.perfDir, "polyregion-"+w.name+".perf.data")
				}
				res, err := measure(ctx, out, cfg, &retries, t, runSpec{w: w, duration: cfg.duration, clients: cfg.clients}, uint64(r), perfOut)
				if err != nil {
					return err
				}
				m.runs[w.name][t.srv.Name] = res
				printRun(out, cfg, w.name, t.srv.Name, res)
			}
		}
		m.rate = cfg.rate
		if c, ok := m.runs["C"]["polyregion"]; ok && m.rate == 0 {
			m.rate = float64(int(c.opsPerSec() / 2))
		}
		if m.rate > 0 {
			w, _ := workloadByName("C")
			for _, t := range order {
				res, err := measure(ctx, out, cfg, &retries, t, runSpec{w: w, duration: cfg.duration, clients: cfg.clients, rate: m.rate}, uint64(100+r), "")
				if err != nil {
					return err
				}
				m.half[t.srv.Name] = res
				printHalf(out, cfg, m.rate, t.srv.Name, res)
			}
		}
		rounds[r] = m
	}
	fmt.Fprintln(out)
	report(out, cfg, servers, rounds)
	return nil
}

// loadAverage is the machine's 1, 5 and 15 minute load averages, as /proc/loadavg says.
func loadAverage() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

// gcPercent is the GC percentage of a -gogc style setting: 100 when empty, -1 for off.
func gcPercent(v string) int {
	switch v {
	case "":
		return 100
	case "off":
		return -1
	}
	n, _ := strconv.Atoi(v)
	return n
}

// setLoadRuntime applies the load generator's own runtime settings (-loadprocs,
// -loadgogc, -loadmemlimit). They change the SDK clients' process only, the same for every
// server.
func setLoadRuntime(cfg config) {
	if cfg.loadProcs > 0 {
		runtime.GOMAXPROCS(cfg.loadProcs)
	}
	debug.SetGCPercent(gcPercent(cfg.loadGOGC))
	if cfg.loadGCEvery > 0 {
		debug.SetGCPercent(-1)
		if cfg.loadMemLimit == 0 {
			debug.SetMemoryLimit(1 << 30)
		}
	}
	if cfg.loadMemLimit > 0 {
		debug.SetMemoryLimit(int64(cfg.loadMemLimit) << 20)
	}
}

// collectEvery runs the load generator's garbage collection every d until ctx ends (with
// -loadgcevery). A collection started this way, far from the memory limit, has a small
// live heap to mark and a long runway, so the clients' goroutines hardly assist it; the
// runtime's own pacing on a small heap collects about 90 times a second at half rate,
// and near a memory limit makes the allocating goroutines do the marking.
func collectEvery(ctx context.Context, d time.Duration) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			runtime.GC()
		}
	}
}

// memLimit describes the load generator's soft memory limit.
func memLimit() string {
	l := debug.SetMemoryLimit(-1)
	if l == math.MaxInt64 {
		return "none"
	}
	return fmt.Sprintf("%d MiB", l>>20)
}

// clientNote describes the SDK clients' settings (newClient).
func clientNote(cfg config) string {
	if cfg.sdkDefaults {
		return "SDK clients with the default endpoint rules and response CRC32 validation"
	}
	return "SDK clients with a fixed endpoint, no response CRC32 validation"
}
