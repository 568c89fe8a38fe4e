// Command dns measures polyregion's authoritative DNS server against gdnsd and PowerDNS —
// twice: with a LUA record over the geoip backend, and with the geoip backend alone — all
// serving the same geolocation zone from the same GeoIP database, with dnsperf.
//
// It writes the demo GeoIP database (internal/dns/geoip.WriteDemo), configures the
// servers to give the same answers for www.bench.example. A (a different address per
// continent, country and US state of the demo ranges, and a default), runs each as a child
// process on a free port of 127.0.0.1, checks that they answer every client subnet of the
// query mix alike, and then, in rounds that rotate the order of the servers:
//
//   - peak: dnsperf as fast as the server answers (-c clients, -q outstanding queries);
//   - latency: dnsperf at half of polyregion's peak of the round (-Q), every answer's
//     latency read from dnsperf -v, for p50, p99 and p99.9.
//
// Every query is read from one binary dnsperf datafile (-B) that carries its own EDNS
// Client Subnet option, so one dnsperf process sends the whole mix. The servers are pinned
// to one CPU and dnsperf to another (taskset) unless told otherwise; a measurement during
// which other processes of the machine took more than 10% of either CPU is run again (at
// most -retries times in a run). It prints qps, loss (and where the kernel dropped the
// datagrams), the servers' and dnsperf's CPU use and latency, their medians over the rounds,
// the ratios polyregion/gdnsd and polyregion/PowerDNS — of qps per server CPU core (how
// busy the server's pinned CPU was, softirq included, less other processes), by which
// capacity is judged because one dnsperf cannot always saturate a server, and of raw
// peak qps — and the targets; it stops the servers
// and removes its files at the end. Loopback only; bounded (about 3 minutes with the
// defaults, at most 6 with every retry).
//
// bench/dns/run.sh installs dnsperf, gdnsd and PowerDNS (Debian packages), builds
// bin/polyregion and runs this; on a machine that has them:
//
//	go run ./bench/dns [-polyregion bin/polyregion] [-duration 10s] [-rounds 3] [-c 4] [-q 256]
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
	flag.DurationVar(&cfg.duration, "duration", cfg.duration, "length of each dnsperf run (whole seconds)")
	flag.IntVar(&cfg.rounds, "rounds", cfg.rounds, "rounds; each measures every server's peak, then its latency at half of polyregion's peak")
	flag.IntVar(&cfg.clients, "c", cfg.clients, "dnsperf -c: clients (sockets)")
	flag.IntVar(&cfg.outstanding, "q", cfg.outstanding, "dnsperf -q: queries outstanding at most")
	flag.IntVar(&cfg.queries, "queries", cfg.queries, "queries in the datafile (dnsperf loops over it)")
	flag.StringVar(&cfg.loadCPUs, "loadcpus", cfg.loadCPUs, "CPUs dnsperf runs on (taskset -c); empty with -servercpus empty: no pinning")
	flag.StringVar(&cfg.serverCPUs, "servercpus", cfg.serverCPUs, "CPUs each server runs on (taskset -c)")
	flag.StringVar(&cfg.servers, "servers", cfg.servers, "servers to measure, comma-separated (polyregion is always measured)")
	flag.IntVar(&cfg.retries, "retries", cfg.retries, "measurements to run again (in the whole run) when other processes used more than 10% of a pinned CPU")
	flag.IntVar(&cfg.latencyQPS, "latencyqps", 0, "rate of the latency measurement (-Q); 0: half of polyregion's peak of each round")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the work directory (configurations, logs, datafile)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench/dns:", err)
		stop()
		os.Exit(1)
	}
}
