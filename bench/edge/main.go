// Command edge measures polyregion's L4 edge accelerator against HAProxy (TCP) and nginx's
// stream module (TCP and UDP), with iperf3 and wrk, all on the same machine in one run.
//
// It starts the backends — an iperf3 server and an nginx serving a 12-byte HTTP answer —
// and three proxies in front of them, each a child process on free ports of 127.0.0.1:
//
//   - polyregion: a one-region fleet (`polyregion init`, then `polyregion serve`) whose
//     configuration declares an accelerator with a TCP listener for iperf3, a TCP listener
//     for HTTP and a UDP listener for iperf3 (on the port of the TCP one, since iperf3's
//     control channel is TCP), client IP preservation off;
//   - HAProxy: `mode tcp`, one frontend per backend;
//   - nginx: `stream`, `listen P` and `listen P udp` for iperf3, `listen P` for HTTP.
//
// Then, in rounds that rotate the order of the paths (direct, then through each proxy):
//
//   - tcp1, tcp4: `iperf3 -c -t D -O 1 -J` with 1 and 4 parallel streams (receiver's rate);
//   - http: `wrk -t1 -c16 -d D --latency` (requests/s, p50, p99) on keep-alive connections;
//   - udp: `iperf3 -u -b 0 -l 1400` (what the server received, and the loss), direct,
//     through polyregion and through nginx (HAProxy has no UDP).
//
// The proxies are pinned to one CPU and the rest (backends, iperf3 client, wrk) to another
// (taskset) unless told otherwise, all at nice -10, so that the machine's other
// processes (run at the default priority) take the CPUs only when the benchmark leaves
// them idle; a measurement during which other processes of the
// machine took more than 10% of either CPU is run again (at most -retries times a run). It
// prints every measurement, the medians over the rounds, the ratios polyregion/HAProxy and
// polyregion/nginx, and the targets: at least 80% of HAProxy's TCP throughput and
// no more than 1.5× HAProxy's added p99 latency (proxy p99 − direct p99).
//
// bench/edge/run.sh installs the tools (Debian packages), builds bin/polyregion and runs
// this; on a machine that has them:
//
//	go run ./bench/edge [-polyregion bin/polyregion] [-duration 5s] [-rounds 3]
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
	flag.DurationVar(&cfg.duration, "duration", cfg.duration, "length of each measurement (whole seconds)")
	flag.IntVar(&cfg.rounds, "rounds", cfg.rounds, "rounds; each measures every test on every path")
	flag.StringVar(&cfg.tests, "tests", cfg.tests, "tests to run, comma-separated: tcp1, tcp4, http, udp")
	flag.StringVar(&cfg.proxies, "proxies", cfg.proxies, "proxies to measure besides the direct path, comma-separated: polyregion, haproxy, nginx")
	flag.IntVar(&cfg.wrkConns, "c", cfg.wrkConns, "wrk -c: connections kept open (one thread)")
	flag.StringVar(&cfg.udpRate, "udprate", cfg.udpRate, "iperf3 -u -b: the UDP rate offered (0: as fast as the client can send)")
	flag.IntVar(&cfg.udpLen, "udplen", cfg.udpLen, "iperf3 -u -l: the UDP payload, bytes")
	flag.StringVar(&cfg.loadCPUs, "loadcpus", cfg.loadCPUs, "CPUs of the load generators and backends (taskset -c); empty with -proxycpus empty: no pinning")
	flag.StringVar(&cfg.proxyCPUs, "proxycpus", cfg.proxyCPUs, "CPUs of each proxy (taskset -c)")
	flag.IntVar(&cfg.retries, "retries", cfg.retries, "measurements to run again (in the whole run) when other processes used more than 10% of a pinned CPU")
	flag.IntVar(&cfg.nice, "nice", cfg.nice, "nice value of the proxies, backends and load generators (negative: ahead of the machine's other processes; needs root); 0: unchanged")
	flag.IntVar(&cfg.rt, "rt", 0, "run the proxies and load generators at this SCHED_FIFO priority (chrt -f; the backends one higher), ahead of every normal process; needs root; 0: the normal scheduler, at -nice")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the work directory (configurations, logs)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench/edge:", err)
		stop()
		os.Exit(1)
	}
}
