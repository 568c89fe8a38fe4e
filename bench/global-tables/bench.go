package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	stypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

// Targets of issue 6.
const (
	targetP99Overhead = 25 * time.Millisecond
	targetCost        = 0.30 // replication may cost at most this share of local write throughput
)

var value = strings.Repeat("v", 100)

func run(ctx context.Context, cfg *config) error {
	dir, err := tempDir()
	if err != nil {
		return err
	}
	if !cfg.keep {
		defer os.RemoveAll(dir)
	}
	host, _ := os.Hostname()
	fmt.Printf("bench/global-tables: %s, %d CPUs; %d rounds; latency phase %v at %d PutItem/s per region (%d goroutines each); throughput runs %v with %d goroutines\n",
		host, runtime.NumCPU(), cfg.rounds, cfg.duration, cfg.rate, cfg.workers, cfg.tput, cfg.clients)
	fmt.Printf("== polyregion up --dir %s --ephemeral-ports\n", dir)
	f, err := startFleet(ctx, cfg.polyregion, dir)
	if err != nil {
		return err
	}
	defer f.stop()
	for _, t := range []string{"bench", "solo"} {
		if err := f.createTable(ctx, t); err != nil {
			return err
		}
	}
	start := time.Now()
	if err := f.makeGlobal(ctx, "bench"); err != nil {
		return err
	}
	fmt.Printf("table bench global across %s in %v; solo: us-east only\n", strings.Join(regions, ", "), time.Since(start).Round(time.Millisecond))
	fmt.Println("model one-way delays (subtracted from the latencies):")
	for _, p := range pairs() {
		if p[0] < p[1] {
			fmt.Printf("  %s <-> %s  %v\n", p[0], p[1], f.oneWay[p])
		}
	}

	var rounds []roundResult
	for i := range cfg.rounds {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		fmt.Printf("\n== round %d/%d\n", i+1, cfg.rounds)
		r, err := runRound(ctx, cfg, f, i)
		if err != nil {
			return fmt.Errorf("round %d: %w", i+1, err)
		}
		r.print(f)
		rounds = append(rounds, r)
	}
	summarise(f, rounds)
	if cfg.partition > 0 {
		return catchUp(ctx, cfg, f, cfg.partition)
	}
	return nil
}

// pairs returns every (source, receiver) pair in a fixed order.
func pairs() [][2]string {
	var out [][2]string
	for _, s := range regions {
		for _, r := range regions {
			if s != r {
				out = append(out, [2]string{s, r})
			}
		}
	}
	return out
}

// roundResult is one round's figures.
type roundResult struct {
	p50, p99 map[[2]string]time.Duration // replication latency per pair
	measured map[[2]string]int           // how many latencies each pair's quantiles are of
	missing  map[[2]string]int           // writes of the source that never arrived at the receiver
	written  map[string]int
	failed   map[string]int
	late     map[string]int // writes that started more than 10 ms after their slot
	putP50   map[string]time.Duration
	putP99   map[string]time.Duration
	solo     float64 // PutItem/s, closed loop, no replicas
	global   float64 // the same with two replicas
	// PutItems per CPU second of the us-east process: its local write throughput on a
	// machine of its own, where the replicas' applying runs elsewhere.
	soloPerCPU, globalPerCPU float64
	// CPU seconds per second of the two replicas' processes during the global run.
	replicaCores float64
	duration     time.Duration
}

func runRound(ctx context.Context, cfg *config, f *fleet, round int) (roundResult, error) {
	res := roundResult{p50: map[[2]string]time.Duration{}, p99: map[[2]string]time.Duration{}, measured: map[[2]string]int{},
		missing: map[[2]string]int{}, written: map[string]int{},
		failed: map[string]int{}, late: map[string]int{}, putP50: map[string]time.Duration{}, putP99: map[string]time.Duration{}, duration: cfg.duration}

	var err error
	if cfg.measure == "streams" {
		err = latencyByStreams(ctx, cfg, f, round, &res)
	} else {
		err = latencyByMetrics(ctx, cfg, f, round, &res)
	}
	if err != nil {
		return res, err
	}

	// Throughput, closed loop, alternating the order between rounds.
	order := []string{"solo", "bench"}
	if round%2 == 1 {
		slices.Reverse(order)
	}
	for _, t := range order {
		cpu0, err := f.cpuSeconds()
		if err != nil {
			return res, err
		}
		began := time.Now()
		n := closedLoop(ctx, f.ddb[regions[0]], t, fmt.Sprintf("tput-%d-", round), cfg.clients, cfg.tput)
		took := time.Since(began).Seconds()
		cpu1, err := f.cpuSeconds()
		if err != nil {
			return res, err
		}
		perCPU := n * took / (cpu1[regions[0]] - cpu0[regions[0]])
		if t == "solo" {
			res.solo, res.soloPerCPU = n, perCPU
		} else {
			res.global, res.globalPerCPU = n, perCPU
			for _, r := range regions[1:] {
				res.replicaCores += (cpu1[r] - cpu0[r]) / took
			}
		}
	}
	return res, ctx.Err()
}

// writeAll drives every region open-loop at -rate PutItem/s for -duration, notes what each
// did in res and returns the keys each wrote.
func writeAll(ctx context.Context, cfg *config, f *fleet, round int, res *roundResult) (map[string][]string, error) {
	// Every region's requests are ready before any region starts writing.
	puts := map[string]putter{}
	for _, r := range regions {
		put, err := f.putter(ctx, cfg, r, "bench", fmt.Sprintf("%s-%d-", r, round), int(cfg.duration.Seconds()*float64(cfg.rate)))
		if err != nil {
			return nil, err
		}
		puts[r] = put
	}
	keys := map[string][]string{}
	var kmu sync.Mutex
	var wg sync.WaitGroup
	for _, r := range regions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := openLoop(ctx, puts[r], fmt.Sprintf("%s-%d-", r, round), cfg.rate, cfg.workers, cfg.duration)
			kmu.Lock()
			defer kmu.Unlock()
			keys[r] = w.keys
			res.written[r], res.failed[r], res.late[r] = len(w.keys), w.failed, w.late
			res.putP50[r], res.putP99[r] = pct(w.lat, 0.50), pct(w.lat, 0.99)
		}()
	}
	wg.Wait()
	return keys, nil
}

// latencyByMetrics measures replication latency as each receiving region's replication
// histogram records it — from the write's commit at the source (when it returned) to its
// apply at the receiver (issue 6's definition) — by scraping every region's /metrics (its native
// histogram) before and after the writes; the writes' arrival is counted by the receivers'
// applied-records counters. Nothing but the writers loads the fleet.
func latencyByMetrics(ctx context.Context, cfg *config, f *fleet, round int, res *roundResult) error {
	// Start from a quiet fleet: what the previous round's throughput run wrote may still be
	// replicating, and its latencies are not this round's. A pull's pending count is as of
	// its last frame, and a later frame may still be on the emulated WAN: quiet is nothing
	// pending and nothing applied for longer than the slowest link's one-way delay.
	const settle = 300 * time.Millisecond
	var before map[string]map[string]pullStats
	var settledSince time.Time
	if err := poll(ctx, 60*time.Second, func() error {
		prev := before
		var err error
		if before, err = f.scrapeAll(ctx); err != nil {
			settledSince = time.Time{}
			return err
		}
		for _, p := range pairs() {
			if n := before[p[1]][p[0]].pending; n > 0 {
				settledSince = time.Time{}
				return fmt.Errorf("%s has %.0f records of %s still to apply", p[1], n, p[0])
			}
			if prev != nil && before[p[1]][p[0]].applied != prev[p[1]][p[0]].applied {
				settledSince = time.Time{}
				return fmt.Errorf("%s is still applying records of %s", p[1], p[0])
			}
		}
		if settledSince.IsZero() {
			settledSince = time.Now()
		}
		if time.Since(settledSince) < settle {
			return fmt.Errorf("quiet for %v of %v", time.Since(settledSince).Round(time.Millisecond), settle)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("waiting for the fleet to catch up before the round: %w", err)
	}
	if _, err := writeAll(ctx, cfg, f, round, res); err != nil {
		return err
	}
	var after map[string]map[string]pullStats
	// Let every write reach every region (bounded).
	_ = poll(ctx, 60*time.Second, func() error {
		var err error
		if after, err = f.scrapeAll(ctx); err != nil {
			return err
		}
		for _, p := range pairs() {
			got := after[p[1]][p[0]].applied - before[p[1]][p[0]].applied
			if got < uint64(res.written[p[0]]) {
				return fmt.Errorf("%s has applied %d of %s's %d writes", p[1], got, p[0], res.written[p[0]])
			}
		}
		return nil
	})
	if after == nil {
		return fmt.Errorf("no scrape of the regions' metrics after the writes")
	}
	for _, p := range pairs() {
		b, a := before[p[1]][p[0]], after[p[1]][p[0]]
		l := since(b, a)
		res.p50[p], res.p99[p], res.measured[p] = l.quantile(.5), l.quantile(.99), int(l.n)
		if got := int(a.applied - b.applied); got < res.written[p[0]] {
			res.missing[p] = res.written[p[0]] - got
		}
	}
	return nil
}

// latencyByStreams measures replication latency from stream to stream, as DynamoDB's
// ReplicationLatency does: one reader per region tails the region's stream, and a change's
// latency from S to R is the time R's reader first saw the key minus the time S's reader
// first saw it (the readers' polling delay cancels out). The readers' GetRecords calls load
// the fleet and the load generator alongside the writers.
func latencyByStreams(ctx context.Context, cfg *config, f *fleet, round int, res *roundResult) error {
	readers, stopReaders, err := startReaders(ctx, cfg, f)
	if err != nil {
		return err
	}
	defer stopReaders()
	keys, err := writeAll(ctx, cfg, f, round, res)
	if err != nil {
		return err
	}
	// Let every written key reach every stream (bounded).
	_ = poll(ctx, 60*time.Second, func() error {
		for _, s := range regions {
			for _, r := range regions {
				if n := readers[r].count(keys[s]); n < len(keys[s]) {
					return fmt.Errorf("%s has seen %d of %s's %d keys", r, n, s, len(keys[s]))
				}
			}
		}
		return nil
	})
	stopReaders()
	for _, p := range pairs() {
		src, dst := readers[p[0]], readers[p[1]]
		var l []time.Duration
		for _, k := range keys[p[0]] {
			a, okA := src.seen[k]
			b, okB := dst.seen[k]
			if !okA || !okB {
				res.missing[p]++
				continue
			}
			l = append(l, b.Sub(a))
		}
		slices.Sort(l)
		res.p50[p], res.p99[p], res.measured[p] = pct(l, .5), pct(l, .99), len(l)
	}
	return nil

}

// writes is what an open-loop writer did.
type writes struct {
	keys   []string
	lat    []time.Duration // sorted
	failed int
	late   int
}

// openLoop writes rate new items per second for d, each at its slot, from workers goroutines.
func openLoop(ctx context.Context, put putter, prefix string, rate, workers int, d time.Duration) writes {
	n := int(d.Seconds() * float64(rate))
	interval := time.Second / time.Duration(rate)
	slots := make(chan int, n)
	begin := time.Now()
	var (
		mu  sync.Mutex
		out writes
		wg  sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var keys []string
			var lat []time.Duration
			failed, late := 0, 0
			for i := range slots {
				if time.Since(begin.Add(time.Duration(i)*interval)) > 10*time.Millisecond {
					late++
				}
				k := fmt.Sprintf("%s%d", prefix, i)
				t0 := time.Now()
				if err := put(ctx, i); err != nil {
					failed++
					continue
				}
				lat = append(lat, time.Since(t0))
				keys = append(keys, k)
			}
			mu.Lock()
			out.keys = append(out.keys, keys...)
			out.lat = append(out.lat, lat...)
			out.failed += failed
			out.late += late
			mu.Unlock()
		}()
	}
	// The schedule: slot i is due at begin + i × interval; a tick hands out every slot due.
	tick := time.NewTicker(time.Millisecond)
	next := 0
	for next < n && ctx.Err() == nil {
		<-tick.C
		due := min(n, int(time.Since(begin)/interval)+1)
		for ; next < due; next++ {
			slots <- next
		}
	}
	tick.Stop()
	close(slots)
	wg.Wait()
	slices.Sort(out.lat)
	return out
}

// closedLoop writes new items as fast as clients goroutines can for d and returns PutItem/s.
func closedLoop(ctx context.Context, c *dynamodb.Client, table, prefix string, clients int, d time.Duration) float64 {
	var done atomic.Int64
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for g := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
					"pk": &types.AttributeValueMemberS{Value: fmt.Sprintf("%s%d-%d", prefix, g, i)}, "v": &types.AttributeValueMemberS{Value: value}}})
				if err == nil {
					done.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return float64(done.Load()) / time.Since(start).Seconds()
}

// startReaders starts a reader of the benchmark table's stream in every region; stop ends
// them and waits for them (it may be called more than once).
func startReaders(ctx context.Context, cfg *config, f *fleet) (map[string]*reader, func(), error) {
	rctx, cancel := context.WithCancel(ctx)
	readers := map[string]*reader{}
	var wg sync.WaitGroup
	stop := func() { cancel(); wg.Wait() }
	for _, r := range regions {
		rd, err := newReader(rctx, f.ddb[r], f.streams[r], "bench")
		if err != nil {
			stop()
			return nil, nil, fmt.Errorf("stream reader in %s: %w", r, err)
		}
		readers[r] = rd
		wg.Add(1)
		go func() {
			defer wg.Done()
			rd.run(rctx, cfg.poll)
		}()
	}
	return readers, stop, nil
}

// reader tails a table's stream in one region and notes when it first saw each key.
type reader struct {
	c    *dynamodbstreams.Client
	iter *string

	mu   sync.Mutex
	seen map[string]time.Time
}

func newReader(ctx context.Context, ddb *dynamodb.Client, c *dynamodbstreams.Client, table string) (*reader, error) {
	d, err := ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		return nil, err
	}
	arn := d.Table.LatestStreamArn
	if arn == nil {
		return nil, fmt.Errorf("table %s has no stream", table)
	}
	s, err := c.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: arn})
	if err != nil {
		return nil, err
	}
	if len(s.StreamDescription.Shards) == 0 {
		return nil, fmt.Errorf("stream of %s has no shard", table)
	}
	sh := s.StreamDescription.Shards[len(s.StreamDescription.Shards)-1]
	it, err := c.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{StreamArn: arn, ShardId: sh.ShardId, ShardIteratorType: stypes.ShardIteratorTypeLatest})
	if err != nil {
		return nil, err
	}
	return &reader{c: c, iter: it.ShardIterator, seen: map[string]time.Time{}}, nil
}

func (r *reader) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for ctx.Err() == nil && r.iter != nil {
		out, err := r.c.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: r.iter, Limit: aws.Int32(100)})
		now := time.Now()
		if err != nil {
			if ctx.Err() == nil {
				fmt.Fprintln(os.Stderr, "GetRecords:", err)
			}
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			continue
		}
		r.mu.Lock()
		for _, rec := range out.Records {
			if pk, ok := rec.Dynamodb.Keys["pk"].(*stypes.AttributeValueMemberS); ok {
				if _, dup := r.seen[pk.Value]; !dup {
					r.seen[pk.Value] = now
				}
			}
		}
		r.mu.Unlock()
		r.iter = out.NextShardIterator
		if len(out.Records) == 0 {
			select {
			case <-ctx.Done():
			case <-t.C:
			}
		}
	}
}

// count returns how many of keys the reader has seen.
func (r *reader) count(keys []string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, k := range keys {
		if _, ok := r.seen[k]; ok {
			n++
		}
	}
	return n
}

// pct returns the q-quantile of sorted durations (0 for none).
func pct(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q * float64(len(sorted)-1))
	return sorted[i]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func (r *roundResult) print(f *fleet) {
	for _, reg := range regions {
		fmt.Printf("  %-13s wrote %d (%.0f/s), %d failed, %d late > 10 ms; PutItem p50 %s p99 %s\n", reg, r.written[reg],
			float64(r.written[reg])/r.duration.Seconds(), r.failed[reg], r.late[reg], ms(r.putP50[reg]), ms(r.putP99[reg]))
	}
	fmt.Printf("  %-28s %9s %9s %9s %9s %9s %8s %8s\n", "source -> receiver", "one-way", "p50", "p99", "p50-d", "p99-d", "measured", "missing")
	for _, p := range pairs() {
		d := f.oneWay[p]
		fmt.Printf("  %-28s %9s %9s %9s %9s %9s %8d %8d\n", p[0]+" -> "+p[1], ms(d), ms(r.p50[p]), ms(r.p99[p]), ms(r.p50[p]-d), ms(r.p99[p]-d), r.measured[p], r.missing[p])
	}
	fmt.Printf("  local writes, us-east, closed loop: solo %.0f/s, global (2 replicas) %.0f/s: ratio %.2f\n", r.solo, r.global, r.global/r.solo)
	fmt.Printf("  per CPU second of us-east: solo %.0f, global %.0f: ratio %.2f (the replicas used %.2f cores meanwhile)\n",
		r.soloPerCPU, r.globalPerCPU, r.globalPerCPU/r.soloPerCPU, r.replicaCores)
}

func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func summarise(f *fleet, rounds []roundResult) {
	fmt.Printf("\n== medians over %d rounds\n", len(rounds))
	fmt.Printf("  %-28s %9s %9s %9s %9s %9s\n", "source -> receiver", "one-way", "p50", "p99", "p50-d", "p99-d")
	worst := time.Duration(0)
	for _, p := range pairs() {
		var p50, p99 []float64
		for _, r := range rounds {
			p50 = append(p50, float64(r.p50[p]))
			p99 = append(p99, float64(r.p99[p]))
		}
		d := f.oneWay[p]
		m50, m99 := time.Duration(median(p50)), time.Duration(median(p99))
		worst = max(worst, m99-d)
		fmt.Printf("  %-28s %9s %9s %9s %9s %9s\n", p[0]+" -> "+p[1], ms(d), ms(m50), ms(m99), ms(m50-d), ms(m99-d))
	}
	var solo, global, ratio []float64
	for _, r := range rounds {
		solo, global, ratio = append(solo, r.solo), append(global, r.global), append(ratio, r.global/r.solo)
	}
	mr := median(ratio)
	fmt.Printf("  local writes, us-east, closed loop: solo %.0f/s, global %.0f/s, ratio %.2f (median of the rounds' ratios)\n", median(solo), median(global), mr)
	var cpuRatio []float64
	for _, r := range rounds {
		cpuRatio = append(cpuRatio, r.globalPerCPU/r.soloPerCPU)
	}
	mc := median(cpuRatio)
	fmt.Printf("  per CPU second of us-east: ratio %.2f (median of the rounds' ratios)\n", mc)
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "MISSED"
	}
	fmt.Printf("\ntargets: p99 overhead < %v: worst pair %s — %s\n", targetP99Overhead, ms(worst), verdict(worst < targetP99Overhead))
	fmt.Printf("  replication cost < %.0f%% of local write throughput: %.0f%% of us-east's writes per CPU second — %s; %.0f%% of the shared machine's (the replicas applying on the same cores)\n",
		100*targetCost, 100*(1-mc), verdict(1-mc < targetCost), 100*(1-mr))
}

// catchUp cuts the last region off from the others, writes -rate items/s in every region for
// d, heals, and reports for each cut pair how long after the heal the first and the last of
// the writes made during the cut arrived.
func catchUp(ctx context.Context, cfg *config, f *fleet, d time.Duration) error {
	nc := netsimClient(f)
	cut := regions[len(regions)-1]
	fmt.Printf("\n== catch-up: %s cut off from the others for %v while every region writes %d items/s\n", cut, d, cfg.rate)
	readers, stopReaders, err := startReaders(ctx, cfg, f)
	if err != nil {
		return err
	}
	defer stopReaders()
	puts := map[string]putter{}
	for _, r := range regions {
		put, err := f.putter(ctx, cfg, r, "bench", r+"-cut-", int(d.Seconds()*float64(cfg.rate)))
		if err != nil {
			return err
		}
		puts[r] = put
	}
	for _, r := range regions[:len(regions)-1] {
		if err := nc.Partition(ctx, cut, r); err != nil {
			return fmt.Errorf("partition %s %s: %w", cut, r, err)
		}
	}
	keys := map[string][]string{}
	var kmu sync.Mutex
	var wg sync.WaitGroup
	for _, r := range regions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := openLoop(ctx, puts[r], r+"-cut-", cfg.rate, cfg.workers, d)
			kmu.Lock()
			keys[r] = w.keys
			kmu.Unlock()
		}()
	}
	wg.Wait()
	if err := nc.HealAll(ctx); err != nil {
		return fmt.Errorf("heal: %w", err)
	}
	healed := time.Now()
	err = poll(ctx, 5*time.Minute, func() error {
		for _, s := range regions {
			for _, r := range regions {
				if n := readers[r].count(keys[s]); n < len(keys[s]) {
					return fmt.Errorf("%s has seen %d of %s's %d keys", r, n, s, len(keys[s]))
				}
			}
		}
		return nil
	})
	stopReaders()
	if err != nil {
		return err
	}
	fmt.Printf("  %-28s %8s %14s %14s\n", "source -> receiver", "records", "first (heal+)", "last (heal+)")
	for _, p := range pairs() {
		if p[0] != cut && p[1] != cut {
			continue
		}
		var first, last time.Time
		n := 0
		for _, k := range keys[p[0]] {
			at := readers[p[1]].seen[k]
			if at.Before(healed) {
				continue
			}
			n++
			if first.IsZero() || at.Before(first) {
				first = at
			}
			if at.After(last) {
				last = at
			}
		}
		fmt.Printf("  %-28s %8d %14s %14s\n", p[0]+" -> "+p[1], n, ms(first.Sub(healed)), ms(last.Sub(healed)))
	}
	return nil
}
