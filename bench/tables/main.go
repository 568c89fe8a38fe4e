// Command tables measures polyregion's DynamoDB-compatible table service against dynalite
// (the npm DynamoDB emulator) with YCSB-style workloads driven through the AWS SDK for Go v2.
//
// It starts a one-region polyregion fleet (`polyregion init`, then `polyregion serve
// --region us-east`, its writes synced as in production) and dynalite, each as a child
// process on a free port of 127.0.0.1, creates the same table on both, loads -records YCSB
// records (key user<n>, ten fields of 100 bytes) into each, and then, in rounds that rotate
// the order of the servers, runs each workload for -duration with -c client goroutines:
//
//   - A: 50% GetItem, 50% UpdateItem of one field;
//   - B: 95% GetItem, 5% UpdateItem of one field;
//   - C: 100% GetItem;
//   - E: 95% short scans (a Query of 1 to 100 items from a zipfian key on), 5% PutItem of a
//     new record.
//
// Keys follow YCSB's scrambled zipfian distribution (zipfian.go). After the rounds it runs
// workload C on each server at half of polyregion's median C throughput and reports the
// GetItem latency there. It prints ops/s, p50 and p99 per server and workload, the medians
// over the rounds, the polyregion/dynalite ratios and the targets. The servers are
// pinned to one CPU and this program to another (taskset) unless told otherwise; a
// measurement during which other processes took more than 10% of either CPU is run again
// (at most -retries times in a run). Loopback only; bounded; it stops the servers and
// removes its files at the end.
//
// The SDK clients use a fixed endpoint and skip the response CRC32 check (newClient;
// -sdkdefaults for the SDK's defaults). For finding where latency comes from: -rate N runs
// only workload C at N GetItems/s; -rawclient sends those GetItems as pre-signed plain HTTP
// requests instead of through the SDK; -loadgogc, -loadmemlimit, -loadgcevery and
// -loadprocs set this program's runtime, -gogc and -gomaxprocs polyregion's. Each
// rate-limited run also prints this program's allocation, collections and goroutine
// scheduling delays (runtime/metrics).
//
// bench/tables/run.sh installs dynalite with npm, builds bin/polyregion and runs this:
//
//	go run ./bench/tables -polyregion bin/polyregion -dynalite bench/tables/.cache/node_modules/.bin/dynalite [-duration 10s] [-rounds 3] [-c 16] [-records 10000]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	cfg := defaultConfig()
	flag.StringVar(&cfg.polyregion, "polyregion", "", "polyregion binary to test (default: build ./cmd/polyregion into the work directory)")
	flag.StringVar(&cfg.dynalite, "dynalite", "", "dynalite's command (bench/tables/run.sh installs it in bench/tables/.cache); empty: polyregion only")
	flag.DurationVar(&cfg.duration, "duration", cfg.duration, "length of each measured workload run")
	flag.IntVar(&cfg.rounds, "rounds", cfg.rounds, "rounds; each runs every workload against every server")
	flag.IntVar(&cfg.clients, "c", cfg.clients, "client goroutines, each with one request outstanding")
	flag.IntVar(&cfg.records, "records", cfg.records, "records loaded before the workloads")
	flag.StringVar(&cfg.workloads, "workloads", cfg.workloads, "workloads to run, comma-separated (A, B, C, E)")
	flag.StringVar(&cfg.loadCPUs, "loadcpus", cfg.loadCPUs, "CPUs this program (the load) runs on (taskset -c); empty with -servercpus empty: no pinning")
	flag.StringVar(&cfg.serverCPUs, "servercpus", cfg.serverCPUs, "CPUs each server runs on (taskset -c)")
	flag.IntVar(&cfg.retries, "retries", cfg.retries, "measurements to run again (in the whole run) when other processes used more than 10% of a pinned CPU")
	flag.BoolVar(&cfg.wire, "wire", haveTcpdump(), "capture each server's loopback traffic with tcpdump during the half-rate runs, for its own share of the GetItem latency (default: when tcpdump is installed)")
	flag.StringVar(&cfg.perfDir, "perf", "", "directory for `perf record -g` profiles of polyregion during round 1 (one per workload); empty: none")
	flag.IntVar(&cfg.gomaxprocs, "gomaxprocs", 0, "GOMAXPROCS for polyregion; 0: the Go runtime's choice (the number of CPUs it is pinned to)")
	flag.StringVar(&cfg.gogc, "gogc", "", "GOGC for polyregion (a percentage, or off); empty: the Go runtime's default (100)")
	flag.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write a CPU profile of this program (the SDK clients) during the rounds to this file")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the work directory (configurations, logs, data)")
	flag.Float64Var(&cfg.rate, "rate", 0, "only run workload C at this many GetItems/s on every server, once a round (no full-speed workloads); 0: the full benchmark")
	flag.IntVar(&cfg.loadProcs, "loadprocs", 0, "GOMAXPROCS of this program (the SDK clients); 0: the Go runtime's choice")
	flag.StringVar(&cfg.loadGOGC, "loadgogc", cfg.loadGOGC, "GOGC of this program (the SDK clients): a percentage, or off")
	flag.IntVar(&cfg.loadMemLimit, "loadmemlimit", cfg.loadMemLimit, "soft memory limit of this program (the SDK clients) in MiB; 0: none")
	flag.DurationVar(&cfg.loadGCEvery, "loadgcevery", cfg.loadGCEvery, "collect this program's garbage every this long, with GOGC=off (and -loadmemlimit, default 1024, as a guard); 0: the runtime's pacing")
	flag.BoolVar(&cfg.rawClient, "rawclient", false, "with -rate: send the GetItems as pre-signed plain HTTP requests instead of through the SDK (a diagnostic of the SDK client's share)")
	flag.BoolVar(&cfg.sdkDefaults, "sdkdefaults", false, "SDK clients with the default endpoint rules and response CRC32 validation (see newClient)")
	flag.Parse()

	if err := cfg.validate(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/tables:", err)
		os.Exit(2)
	}
	if err := pinSelf(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench/tables:", err)
		os.Exit(1)
	}
	setLoadRuntime(cfg)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench/tables:", err)
		stop()
		os.Exit(1)
	}
}
