// Command netsim measures what an emulated WAN link of internal/netsim adds
// on this machine, compared with direct loopback TCP.
//
// It runs, in one process and over loopback only: a small-message echo (round
// trip time, median and p99) and a stream paced at a fixed rate whose records
// carry their send time (one-way latency at the receiver, median and p99, and
// the throughput achieved); first directly, then through a link with the
// configured delay, alternating the two in rounds. It prints what the link
// adds beyond its delay, and stops by itself (in under 30 s).
//
//	go run ./bench/netsim [-delay 20ms] [-rate 50] [-duration 3s] [-rounds 3] [-rtts 200]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
)

func main() {
	cfg := defaultConfig()
	flag.DurationVar(&cfg.delay, "delay", cfg.delay, "one-way delay of the emulated link")
	flag.Float64Var(&cfg.rateMB, "rate", cfg.rateMB, "stream rate in MB/s (1 MB = 10^6 bytes)")
	flag.DurationVar(&cfg.duration, "duration", cfg.duration, "stream time per path, over all rounds")
	flag.IntVar(&cfg.rounds, "rounds", cfg.rounds, "rounds alternating direct and link")
	flag.IntVar(&cfg.rtts, "rtts", cfg.rtts, "echo round trips per path, over all rounds")
	flag.IntVar(&cfg.msgSize, "msg", cfg.msgSize, "echo message size in bytes")
	flag.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write a CPU profile of the run to this file")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench/netsim:", err)
		stop()
		os.Exit(1)
	}
}
