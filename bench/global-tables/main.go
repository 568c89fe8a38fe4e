// Command global-tables measures polyregion's global tables over the emulated WAN: the
// replication latency between every pair of regions while each region writes at a fixed
// rate, and what replication costs a region's local write throughput.
//
// It starts `polyregion up --dir <tmp> --ephemeral-ports` (the three default regions,
// us-east, eu-west and ap-southeast, with the latency model of the emulated WAN), reads
// endpoints.json for the endpoints and the credentials and the WAN's model one-way delays
// from the supervisor's chaos API, creates the table "bench" in us-east with a KEYS_ONLY
// stream and makes it global with UpdateTable ReplicaUpdates (eu-west, then ap-southeast,
// each waited for until ACTIVE), and creates "solo", the same table without replicas. Then,
// in -rounds rounds:
//
//   - Latency: each region is driven open-loop at -rate PutItem/s (new keys, a 100-byte
//     value) for -duration by -workers goroutines — with -writer presigned (the default)
//     every request of the run is signed with the SDK's SigV4 signer before it starts and
//     sent over net/http, so the load generator takes little of the cores the fleet runs
//     on; with -writer sdk through the SDK's client. With -measure metrics (the default) the
//     latency is what each receiving region's replication histogram records — from the
//     write's commit timestamp at the source to its apply at the receiver, issue 6's
//     definition — read from every region's /metrics (the native histogram, buckets 2%
//     wide; a quantile is its bucket's upper bound) before and after the writes, and the
//     receivers' applied-records counters tell that every write arrived; nothing but the
//     writers loads the fleet. With -measure streams one reader per region tails the
//     region's stream (GetRecords every -poll), and a change's latency from source S to
//     receiver R is the time R's reader saw the key minus the time S's reader saw it —
//     DynamoDB's ReplicationLatency, from one stream to the other — so the readers' polling
//     delay cancels out (the readers' calls load the fleet and the load generator too).
//     The pair's model one-way delay is subtracted: the rest is what replication adds to
//     the wire (the overhead), printed as p50 and p99 per pair.
//   - Throughput: closed-loop PutItem with -c goroutines for -tput against us-east, on
//     "solo" and on "bench" (its replicas in eu-west and ap-southeast applying, nothing
//     written there), in an order that alternates between rounds. The ratio bench/solo is
//     the share of local write throughput left with replication on.
//
// It prints every round and the medians over the rounds, against the targets (issue 6):
// p99 overhead under 25 ms, replication costing under 30% of local write throughput.
// Loopback only; bounded; it stops the fleet and removes its directory at the end.
//
// bench/global-tables/run.sh builds bin/polyregion and runs this under the benchmarks' lock:
//
//	flock /tmp/polyregion-bench.lock go run ./bench/global-tables -polyregion bin/polyregion [-rounds 3] [-duration 20s] [-rate 1000]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"
)

type config struct {
	polyregion string
	rounds     int
	duration   time.Duration
	rate       int
	workers    int
	poll       time.Duration
	tput       time.Duration
	clients    int
	partition  time.Duration
	measure    string
	writer     string
	keep       bool
}

func (c *config) validate() error {
	var errs []error
	if c.polyregion == "" {
		errs = append(errs, errors.New("-polyregion: required (bench/global-tables/run.sh builds bin/polyregion)"))
	}
	if c.rounds < 1 {
		errs = append(errs, fmt.Errorf("-rounds %d: at least 1", c.rounds))
	}
	if c.duration < time.Second {
		errs = append(errs, fmt.Errorf("-duration %v: at least 1s", c.duration))
	}
	if c.rate < 1 || c.workers < 1 || c.clients < 1 {
		errs = append(errs, fmt.Errorf("-rate %d, -workers %d, -c %d: at least 1 each", c.rate, c.workers, c.clients))
	}
	if c.writer != "presigned" && c.writer != "sdk" {
		errs = append(errs, fmt.Errorf("-writer %q: presigned or sdk", c.writer))
	}
	if c.measure != "metrics" && c.measure != "streams" {
		errs = append(errs, fmt.Errorf("-measure %q: metrics or streams", c.measure))
	}
	if c.poll <= 0 || c.tput < time.Second {
		errs = append(errs, fmt.Errorf("-poll %v must be positive and -tput %v at least 1s", c.poll, c.tput))
	}
	return errors.Join(errs...)
}

func main() {
	cfg := config{rounds: 3, duration: 20 * time.Second, rate: 1000, workers: 32, poll: 5 * time.Millisecond, tput: 8 * time.Second, clients: 16, partition: 30 * time.Second, measure: "metrics", writer: "presigned"}
	flag.StringVar(&cfg.polyregion, "polyregion", "", "polyregion binary (required; run.sh builds bin/polyregion)")
	flag.IntVar(&cfg.rounds, "rounds", cfg.rounds, "rounds; the figures are their medians")
	flag.DurationVar(&cfg.duration, "duration", cfg.duration, "length of each round's latency phase")
	flag.IntVar(&cfg.rate, "rate", cfg.rate, "PutItem/s written in each region during the latency phase (open loop)")
	flag.IntVar(&cfg.workers, "workers", cfg.workers, "goroutines per region sending the latency phase's writes")
	flag.DurationVar(&cfg.poll, "poll", cfg.poll, "how often the stream readers call GetRecords when caught up")
	flag.DurationVar(&cfg.tput, "tput", cfg.tput, "length of each closed-loop throughput run")
	flag.IntVar(&cfg.clients, "c", cfg.clients, "goroutines of the closed-loop throughput runs")
	flag.DurationVar(&cfg.partition, "partition", cfg.partition, "after the rounds, cut ap-southeast off for this long under the same write load, heal, and report the catch-up; 0: skip")
	flag.StringVar(&cfg.measure, "measure", cfg.measure, "how the latency phase measures replication latency: metrics (the receivers' replication histograms: commit at the source to apply, nothing else loading the fleet) or streams (stream readers in every region, stream to stream)")
	flag.StringVar(&cfg.writer, "writer", cfg.writer, "how the open-loop writers send PutItem: presigned (every request of a run signed with the SDK's SigV4 signer before it starts, sent over net/http: little load-generator CPU on the fleet's cores) or sdk (the AWS SDK's client, about 100 µs of CPU a call)")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the fleet's directory (logs, data)")
	flag.Parse()
	if err := cfg.validate(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/global-tables:", err)
		os.Exit(2)
	}
	// The load generator's garbage collector runs less often (it is not what is measured,
	// and it shares the machine's two cores with the fleet); its heap stays small.
	debug.SetGCPercent(400)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench/global-tables:", err)
		os.Exit(1)
	}
}
