package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The table both servers hold. YCSB's records are ordered by key and its scans walk that
// order, which DynamoDB offers only within a partition (Query on a sort-key range); a Scan
// with ExclusiveStartKey follows the order of the partition keys' hashes, which a scan
// starting "at a key" would not mean. So a record user<n> is the item
//
//	p = "g" + n/groupSize (6 digits)   partition key: a group of 1000 consecutive records
//	k = "user" + n (10 digits)         sort key: the YCSB key, zero-padded so it sorts
//	field0 … field9                    ten strings of 100 bytes
//
// and a short scan of L records from user<n> is a Query on n's group with k >= user<n>,
// Limit L, continued in the next group when the group ends first (about 5% of scans).
const (
	tableName = "usertable"
	groupSize = 1000
	fields    = 10
	fieldLen  = 100
	maxScan   = 100 // a scan reads 1 to maxScan records, uniformly
)

func group(n int) string { return fmt.Sprintf("g%06d", n/groupSize) }
func key(n int) string   { return fmt.Sprintf("user%010d", n) }

// workload is a YCSB operation mix; the proportions add up to 1.
type workload struct {
	name                       string
	read, update, scan, insert float64
	about                      string
}

var workloads = []workload{
	{name: "A", read: 0.5, update: 0.5, about: "50% GetItem, 50% UpdateItem"},
	{name: "B", read: 0.95, update: 0.05, about: "95% GetItem, 5% UpdateItem"},
	{name: "C", read: 1, about: "100% GetItem"},
	{name: "E", scan: 0.95, insert: 0.05, about: "95% Query of 1-100 items, 5% PutItem of a new record"},
}

func workloadByName(name string) (workload, bool) {
	for _, w := range workloads {
		if w.name == name {
			return w, true
		}
	}
	return workload{}, false
}

// opKind is one kind of operation of the mixes.
type opKind int

const (
	opRead   opKind = iota // GetItem of a whole record
	opUpdate               // UpdateItem "SET fieldN = :v" of one field
	opScan                 // Query of 1 to maxScan records
	opInsert               // PutItem of a new record
	numKinds
)

var kindNames = [numKinds]string{"GetItem", "UpdateItem", "Query (scan)", "PutItem (insert)"}

func (w workload) pick(r *rand.Rand) opKind {
	u := r.Float64()
	switch {
	case u < w.read:
		return opRead
	case u < w.read+w.update:
		return opUpdate
	case u < w.read+w.update+w.scan:
		return opScan
	}
	return opInsert
}

// randomData is where field values are cut from: random printable bytes.
var randomData = func() []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 1<<16)
	for i := range b {
		b[i] = byte(' ' + r.IntN(95))
	}
	return b
}()

func fieldValue(r *rand.Rand) *types.AttributeValueMemberS {
	off := r.IntN(len(randomData) - fieldLen)
	return &types.AttributeValueMemberS{Value: string(randomData[off : off+fieldLen])}
}

func record(r *rand.Rand, n int) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{
		"p": &types.AttributeValueMemberS{Value: group(n)},
		"k": &types.AttributeValueMemberS{Value: key(n)},
	}
	for f := range fields {
		item["field"+strconv.Itoa(f)] = fieldValue(r)
	}
	return item
}

func itemKey(n int) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"p": &types.AttributeValueMemberS{Value: group(n)},
		"k": &types.AttributeValueMemberS{Value: key(n)},
	}
}

// target is one server as the workloads see it: its client and how many records it holds
// (workload E adds some).
type target struct {
	srv     *server
	client  *dynamodb.Client
	raw     *rawClient // with -client raw: GetItems go through it instead of client
	records atomic.Int64
}

// createTable creates the table and waits until it is ACTIVE.
func (t *target) createTable(ctx context.Context) error {
	_, err := t.client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(tableName),
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("p"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("k"), KeyType: types.KeyTypeRange},
		},
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("p"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("k"), AttributeType: types.ScalarAttributeTypeS},
		},
		BillingMode: types.BillingModePayPerRequest,
	})
	if err != nil {
		return fmt.Errorf("%s: CreateTable: %w", t.srv.Name, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := t.client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(tableName)})
		if err == nil && out.Table.TableStatus == types.TableStatusActive {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: table not ACTIVE after 30s (%v)", t.srv.Name, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// load writes records 0..n-1 with BatchWriteItem (25 records a request), from clients
// goroutines, and checks that one of them reads back.
func (t *target) load(ctx context.Context, n, clients int) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, clients)
	for w := range clients {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for {
				first := int(next.Add(25)) - 25
				if first >= n {
					return
				}
				var reqs []types.WriteRequest
				for i := first; i < min(first+25, n); i++ {
					reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: record(r, i)}})
				}
				for len(reqs) > 0 {
					out, err := t.client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
						RequestItems: map[string][]types.WriteRequest{tableName: reqs},
					})
					if err != nil {
						errs[w] = fmt.Errorf("%s: BatchWriteItem: %w", t.srv.Name, err)
						return
					}
					reqs = out.UnprocessedItems[tableName]
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	t.records.Store(int64(n))
	out, err := t.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(tableName), Key: itemKey(n - 1)})
	if err != nil {
		return fmt.Errorf("%s: GetItem after load: %w", t.srv.Name, err)
	}
	if len(out.Item) != 2+fields {
		return fmt.Errorf("%s: GetItem %s after load: %d attributes, want %d", t.srv.Name, key(n-1), len(out.Item), 2+fields)
	}
	return nil
}

// runSpec is one measured run: a workload against a target.
type runSpec struct {
	w        workload
	duration time.Duration
	clients  int
	rate     float64 // operations per second for all clients together; 0: as fast as answered
}

// latencies holds one worker's samples of a run, in nanoseconds.
type latencies struct {
	kind  [numKinds][]int64 // service time (request sent to answer read), per kind
	sched []int64           // rate-limited runs: from the operation's scheduled start
}

// runResult is what one run measured.
type runResult struct {
	ops      [numKinds]int64
	errs     int64
	firstErr error
	elapsed  time.Duration
	// Latencies: the quantiles only. The samples are dropped once the run ends: kept for
	// every run, they made a live heap of tens of MB by the half-rate runs, whose every
	// collection then took this program's one P for longer (measured: a GetItem p99 of
	// 4.3-4.9 ms at half rate after the full-speed runs, against 3.0-3.5 ms alone).
	kind   [numKinds]dist // service time (request sent to answer read), per kind
	sched  dist           // rate-limited runs: from the operation's scheduled start
	all    dist           // every kind's service time
	usage  usage          // CPU use during the run
	behind int64          // rate-limited runs: operations started more than 1 ms after schedule
	// handler: GetItems polyregion answered during the run by its own histogram, and the
	// shares of them it took more than 1 ms and more than 2.5 ms to answer
	handlerOps  float64
	handlerOver []float64
	// wire: with -wire, the server's share of each request seen on the loopback, request
	// packet to response packet (wireN of them)
	wire        dist
	wireN       int
	clientGCs   uint32 // garbage collections of this program (the SDK clients) during the run
	clientAlloc uint64 // bytes this program allocated during the run
	client      clientRuntime
}

func (r runResult) total() int64 {
	var n int64
	for _, v := range r.ops {
		n += v
	}
	return n
}

func (r runResult) opsPerSec() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.total()) / r.elapsed.Seconds()
}

// run runs spec against t: spec.clients goroutines, each with one operation outstanding,
// for spec.duration; with a rate, operation i is due at start + i/rate and waits for that.
func (t *target) run(ctx context.Context, spec runSpec, seed uint64) runResult {
	n0 := int(t.records.Load())
	keys := newScrambledZipfian(n0)
	type worker struct {
		ops      [numKinds]int64
		lat      latencies
		errs     int64
		firstErr error
		behind   int64
	}
	ws := make([]worker, spec.clients)
	var slot atomic.Int64
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	gc0, alloc0 := ms.NumGC, ms.TotalAlloc
	rt0 := readClientRuntime()
	start := time.Now()
	deadline := start.Add(spec.duration)
	var interval time.Duration
	if spec.rate > 0 {
		interval = time.Duration(float64(time.Second) / spec.rate)
	}
	var wg sync.WaitGroup
	for i := range ws {
		w := &ws[i]
		wg.Go(func() {
			r := rand.New(rand.NewPCG(seed, uint64(i)))
			for ctx.Err() == nil {
				var due time.Time
				if interval > 0 {
					due = start.Add(time.Duration(slot.Add(1)-1) * interval)
					if !due.Before(deadline) {
						return
					}
					if d := time.Until(due); d > 0 {
						time.Sleep(d)
					}
				}
				kind := spec.w.pick(r)
				t0 := time.Now()
				if t0.After(deadline) {
					return
				}
				err := t.do(ctx, r, kind, keys, n0)
				t1 := time.Now()
				if err != nil {
					w.errs++
					if w.firstErr == nil {
						w.firstErr = fmt.Errorf("%s: %w", kindNames[kind], err)
					}
					continue
				}
				w.ops[kind]++
				w.lat.kind[kind] = append(w.lat.kind[kind], int64(t1.Sub(t0)))
				if interval > 0 {
					w.lat.sched = append(w.lat.sched, int64(t1.Sub(due)))
					if t0.Sub(due) > time.Millisecond {
						w.behind++
					}
				}
			}
		})
	}
	wg.Wait()
	// Operations started before the deadline count; the run ends when the last one does.
	res := runResult{elapsed: time.Since(start)}
	runtime.ReadMemStats(&ms)
	res.clientGCs = ms.NumGC - gc0
	res.clientAlloc = ms.TotalAlloc - alloc0
	res.client = readClientRuntime().since(rt0)
	var all, sched []int64
	for k := range numKinds {
		var kind []int64
		for i := range ws {
			kind = append(kind, ws[i].lat.kind[k]...)
		}
		all = append(all, kind...)
		res.kind[k] = distOf(kind)
	}
	for i := range ws {
		w := &ws[i]
		for k := range numKinds {
			res.ops[k] += w.ops[k]
		}
		sched = append(sched, w.lat.sched...)
		res.errs += w.errs
		res.behind += w.behind
		if res.firstErr == nil {
			res.firstErr = w.firstErr
		}
	}
	res.all, res.sched = distOf(all), distOf(sched)
	return res
}

// dist is the quantiles of a run's latencies that the report gives.
type dist struct{ p50, p99, p999, max time.Duration }

// distOf sorts xs (nanoseconds) and takes its quantiles.
func distOf(xs []int64) dist {
	slices.Sort(xs)
	return dist{p50: percentile(xs, 0.5), p99: percentile(xs, 0.99), p999: percentile(xs, 0.999), max: percentile(xs, 1)}
}

// do performs one operation on a record chosen by keys among the first n0.
func (t *target) do(ctx context.Context, r *rand.Rand, kind opKind, keys scrambledZipfian, n0 int) error {
	switch kind {
	case opRead:
		n := keys.next(r)
		if t.raw != nil && n < len(t.raw.reqs) {
			return t.raw.getItem(ctx, n)
		}
		out, err := t.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(tableName), Key: itemKey(n)})
		if err != nil {
			return err
		}
		if len(out.Item) != 2+fields {
			return fmt.Errorf("%s: %d attributes, want %d", key(n), len(out.Item), 2+fields)
		}
	case opUpdate:
		n := keys.next(r)
		_, err := t.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 aws.String(tableName),
			Key:                       itemKey(n),
			UpdateExpression:          aws.String("SET field" + strconv.Itoa(r.IntN(fields)) + " = :v"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": fieldValue(r)},
		})
		return err
	case opInsert:
		n := int(t.records.Add(1) - 1)
		_, err := t.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(tableName), Item: record(r, n)})
		return err
	case opScan:
		n := keys.next(r)
		want := 1 + r.IntN(maxScan)
		got, err := t.scan(ctx, n, want)
		if err != nil {
			return err
		}
		// Fewer only at the end of the table.
		if last := n + want - 1; got < want && int64(last) < t.records.Load() && last < n0 {
			return fmt.Errorf("scan of %d from %s read %d", want, key(n), got)
		}
	}
	return nil
}

// scan reads up to want records in key order from record n: a Query on n's group from its
// key, then on the next group while records are missing and the table has more groups.
func (t *target) scan(ctx context.Context, n, want int) (int, error) {
	got := 0
	g := n / groupSize
	lastGroup := int(t.records.Load()-1) / groupSize
	for got < want && g <= lastGroup {
		in := &dynamodb.QueryInput{
			TableName:                 aws.String(tableName),
			KeyConditionExpression:    aws.String("p = :p"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: fmt.Sprintf("g%06d", g)}},
			Limit:                     aws.Int32(int32(want - got)),
		}
		if got == 0 {
			in.KeyConditionExpression = aws.String("p = :p AND k >= :k")
			in.ExpressionAttributeValues[":k"] = &types.AttributeValueMemberS{Value: key(n)}
		}
		out, err := t.client.Query(ctx, in)
		if err != nil {
			return got, err
		}
		got += len(out.Items)
		if out.LastEvaluatedKey != nil && len(out.Items) > 0 {
			break // the Limit was reached within the group
		}
		g++
	}
	return got, nil
}
