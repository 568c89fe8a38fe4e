package tables

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/polyregion/polyregion/internal/control"
	"github.com/polyregion/polyregion/internal/control/controltest"
	"github.com/polyregion/polyregion/internal/kv"
	"github.com/polyregion/polyregion/internal/replication"
	"github.com/polyregion/polyregion/internal/tables/attr"
	"github.com/polyregion/polyregion/internal/testutil"
	"github.com/polyregion/polyregion/internal/testutil/awstest"
	"github.com/polyregion/polyregion/internal/testutil/linknet"
)

// The global-table harness: three regions in one process, each a Service over its own
// in-memory store, sharing one real single-node control plane, each with a replication
// server and the service's peer handler on a plain-HTTP httptest server, reaching the
// others through a gate that can partition links.

// startControl runs a one-region control plane with the global tables' validator.
func startControl(t testing.TB) *control.Node {
	t.Helper()
	return controltest.Start(t, ValidateGlobalTables)
}

var fleetZones = map[string]string{"us-east": "us", "eu-west": "eu", "ap-southeast": "ap"}

// gfleet is the three-region fleet.
type gfleet struct {
	t       testing.TB
	regions []string
	ctrl    *control.Node
	net     *linknet.Net

	mu     sync.Mutex
	fss    map[string]*kv.MemFS // each region's disk
	stores map[string]kv.Store
	nodes  map[string]*gnode
	zones  map[string]string

	// applySyncDelay is the Options.applySyncDelay of the regions started from now on.
	applySyncDelay time.Duration
}

// gnode is one running region.
type gnode struct {
	region string
	svc    *Service
	reg    *prometheus.Registry // the replication metrics
	api    *httptest.Server
	peer   *httptest.Server
	// peerCancel ends the requests peer serves.
	peerCancel context.CancelFunc
	ddb        *dynamodb.Client
	cancel     context.CancelFunc
	done       chan error
}

func newGFleet(t testing.TB) *gfleet {
	t.Helper()
	return newGFleetIn(t, fleetZones)
}

// newGFleetIn is newGFleet with the regions in zones.
func newGFleetIn(t testing.TB, zones map[string]string) *gfleet {
	t.Helper()
	f := &gfleet{t: t, regions: []string{"us-east", "eu-west", "ap-southeast"}, zones: zones,
		net:    linknet.New(&http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}),
		fss:    map[string]*kv.MemFS{},
		stores: map[string]kv.Store{},
		nodes:  map[string]*gnode{},
	}
	f.ctrl = startControl(t)
	for _, r := range f.regions {
		f.fss[r] = kv.NewMemFS()
		s, err := kv.OpenMemFS(f.fss[r], "db", kv.Options{})
		if err != nil {
			t.Fatal(err)
		}
		f.stores[r] = s
		f.start(r)
	}
	t.Cleanup(func() {
		for _, r := range f.regions {
			f.stop(r)
			f.stores[r].Close()
		}
		f.net.Close()
	})
	return f
}

// start starts region's service on its store.
func (f *gfleet) start(region string) *gnode {
	f.t.Helper()
	log := testutil.NewLog(f.t)
	srv := replication.NewServer(replication.ServerOptions{Heartbeat: 20 * time.Millisecond, Caller: testCaller,
		Logger: log.LoggerAt(slog.LevelWarn)})
	reg := prometheus.NewRegistry()
	svc, err := New(Options{
		Region: region, Store: f.stores[region], Credentials: testCreds, ReplicationMetrics: replication.NewMetrics(reg),
		Logger:  log.LoggerAt(slog.LevelWarn).With("component", "tables", "region", region),
		Control: f.ctrl, Replication: srv, Peers: f.net.Doer(region), Zones: f.zones,
		PeerCaller: testCaller, applySyncDelay: f.applySyncDelay,
		tuneReplicator: func(o *replication.ReplicatorOptions) {
			o.IdleTimeout, o.MaxBackoff = 200*time.Millisecond, 50*time.Millisecond
		},
	})
	if err != nil {
		f.t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(replication.PathPrefix, srv)
	mux.Handle(PeerPrefix, svc.PeerHandler())
	// The pulls served end with peerCtx: a pull accepted while the region stops would
	// otherwise keep httptest's Close waiting.
	peerCtx, peerCancel := context.WithCancel(context.Background())
	peerSrv := httptest.NewUnstartedServer(mux)
	peerSrv.Config.BaseContext = func(net.Listener) context.Context { return peerCtx }
	peerSrv.Start()
	n := &gnode{region: region, svc: svc, reg: reg, api: httptest.NewServer(svc.Handler()), peer: peerSrv, peerCancel: peerCancel, done: make(chan error, 1)}
	n.ddb = dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(testAccessKey, testSecretKey, ""),
		BaseEndpoint: aws.String(n.api.URL),
		HTTPClient:   n.api.Client(),
		Retryer:      awstest.Retryer(), // retries only a closed connection (a client-side race)
	})
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	go func() { n.done <- svc.Run(ctx) }()
	f.mu.Lock()
	f.nodes[region] = n
	f.mu.Unlock()
	f.net.SetAddr(region, n.peer.Listener.Addr().String())
	return n
}

// stop stops a region as a crash would, but for its store, which keeps what was committed.
func (f *gfleet) stop(region string) {
	f.mu.Lock()
	n := f.nodes[region]
	delete(f.nodes, region)
	f.mu.Unlock()
	f.net.SetAddr(region, "")
	if n == nil {
		return
	}
	n.peerCancel()
	n.peer.CloseClientConnections()
	n.peer.Close()
	n.api.Close()
	n.cancel()
	if err := <-n.done; err != nil {
		f.t.Errorf("%s: Run: %v", region, err)
	}
}

// crash stops region as losing power would — its store keeps only what was synced — and
// starts it again.
func (f *gfleet) crash(region string) *gnode {
	f.t.Helper()
	f.crashStop(region)
	return f.start(region)
}

// crashStop stops region as losing power would: its store keeps only what was synced.
func (f *gfleet) crashStop(region string) {
	f.t.Helper()
	crashed := f.fss[region].CrashClone(0, 1) // before stop, which syncs
	f.stop(region)
	if err := f.stores[region].Close(); err != nil {
		f.t.Fatal(err)
	}
	s, err := kv.OpenMemFS(crashed, "db", kv.Options{})
	if err != nil {
		f.t.Fatal(err)
	}
	f.fss[region], f.stores[region] = crashed, s
}

func (f *gfleet) node(region string) *gnode {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.nodes[region]
}

// partition cuts (or heals) the link between a and b, ending the requests under way.
func (f *gfleet) partition(a, b string, cut bool) { f.net.Cut(a, b, cut) }

// isolate cuts (or heals) every link of region.
func (f *gfleet) isolate(region string, cut bool) {
	for _, r := range f.regions {
		if r != region {
			f.partition(region, r, cut)
		}
	}
}

func (f *gfleet) healAll() {
	for i, a := range f.regions {
		for _, b := range f.regions[i+1:] {
			f.partition(a, b, false)
		}
	}
}

func testCaller(r *http.Request) (string, bool) {
	c := r.Header.Get("X-Test-Region")
	return c, c != ""
}

// Helpers over the SDK.

func sattr(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func (n *gnode) put(t testing.TB, table string, item map[string]types.AttributeValue) error {
	t.Helper()
	_, err := n.ddb.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: item})
	return err
}

func (n *gnode) del(t testing.TB, table, pk string) error {
	t.Helper()
	_, err := n.ddb.DeleteItem(context.Background(), &dynamodb.DeleteItemInput{TableName: aws.String(table),
		Key: map[string]types.AttributeValue{"pk": sattr(pk)}})
	return err
}

// value returns the v attribute of item pk ("" if the item is missing).
func (n *gnode) value(t testing.TB, table, pk string) (string, error) {
	t.Helper()
	out, err := n.ddb.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(table),
		Key: map[string]types.AttributeValue{"pk": sattr(pk)}, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return "", err
	}
	if out.Item == nil {
		return "", nil
	}
	if v, ok := out.Item["v"].(*types.AttributeValueMemberS); ok {
		return v.Value, nil
	}
	return "?", nil
}

// createTable makes a table with partition key pk (S) in region.
func (f *gfleet) createTable(region, name string, mod func(*dynamodb.CreateTableInput)) {
	f.t.Helper()
	in := &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
	}
	if mod != nil {
		mod(in)
	}
	if _, err := f.node(region).ddb.CreateTable(context.Background(), in); err != nil {
		f.t.Fatal(err)
	}
}

// addReplica asks from in region from to add a replica in region to.
func (f *gfleet) addReplica(from, table, to string) error {
	_, err := f.node(from).ddb.UpdateTable(context.Background(), &dynamodb.UpdateTableInput{
		TableName:      aws.String(table),
		ReplicaUpdates: []types.ReplicationGroupUpdate{{Create: &types.CreateReplicationGroupMemberAction{RegionName: aws.String(to)}}},
	})
	return err
}

// activeEverywhere reports nil once every region of the fleet describes table with all
// three replicas ACTIVE.
func (f *gfleet) activeEverywhere(table string) error { return f.active(table, f.regions...) }

// waitActive waits until every region of regions describes table with all replicas ACTIVE.
func (f *gfleet) waitActive(table string, regions ...string) {
	f.t.Helper()
	testutil.WaitFor(f.t, 30*time.Second, func() error { return f.active(table, regions...) })
}

// active reports nil when every region of regions describes table with all replicas, as
// many as regions, ACTIVE.
func (f *gfleet) active(table string, regions ...string) error {
	for _, r := range regions {
		n := f.node(r)
		if n == nil {
			return fmt.Errorf("%s is down", r)
		}
		out, err := n.ddb.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(table)})
		if err != nil {
			return fmt.Errorf("%s: %v", r, err)
		}
		if len(out.Table.Replicas) != len(regions) {
			return fmt.Errorf("%s: %d replicas", r, len(out.Table.Replicas))
		}
		for _, rep := range out.Table.Replicas {
			if rep.ReplicaStatus != types.ReplicaStatusActive {
				return fmt.Errorf("%s sees %s %s", r, *rep.RegionName, rep.ReplicaStatus)
			}
		}
	}
	return nil
}

// makeGlobal makes table (in regions[0]) global across regions, one replica at a time.
func (f *gfleet) makeGlobal(table string, regions ...string) {
	f.t.Helper()
	for i := 1; i < len(regions); i++ {
		if err := f.addReplica(regions[0], table, regions[i]); err != nil {
			f.t.Fatalf("adding %s: %v", regions[i], err)
		}
		f.waitActive(table, regions[:i+1]...)
	}
}

// converged reports nil when every running region in regions has the same digest of table,
// and every pull is caught up.
func (f *gfleet) converged(table string, regions ...string) error {
	var first *replication.Digest
	for _, r := range regions {
		n := f.node(r)
		if n == nil {
			return fmt.Errorf("%s is down", r)
		}
		for _, st := range n.svc.ReplicationStatus() {
			if st.Stream == table && (st.Pending > 0 || !st.Connected) {
				return fmt.Errorf("%s: pull from %s: pending %d, connected %v (%s)", r, st.Source, st.Pending, st.Connected, st.Error)
			}
		}
		d, err := n.svc.Digest(table)
		if err != nil {
			return err
		}
		if first == nil {
			first = d
			continue
		}
		if diff := first.Differ(d); len(diff) > 0 {
			return fmt.Errorf("%s differs from %s in %d buckets", r, regions[0], len(diff))
		}
	}
	return nil
}

func (f *gfleet) waitConverged(table string, regions ...string) {
	f.t.Helper()
	testutil.WaitFor(f.t, 30*time.Second, func() error { return f.converged(table, regions...) })
}

// ownVersion returns the version and context of the last write made in region to table,
// from its change log, with its sequence number (0: none).
func ownVersion(n *gnode, table string) (replication.Version, replication.Context, uint64, error) {
	t, err := n.svc.lookupAnyTable(table)
	if err != nil {
		return replication.Version{}, nil, 0, err
	}
	prefix := []byte(logPrefix + t.meta.ID + "/")
	it, err := n.svc.store.ReverseIter(prefix, kv.PrefixEnd(prefix))
	if err != nil {
		return replication.Version{}, nil, 0, err
	}
	defer it.Close()
	for it.Next() {
		rec, err := decodeChangeRecord(it.Value())
		if err != nil {
			return replication.Version{}, nil, 0, err
		}
		if rec.Region == n.region && !rec.TS.IsZero() {
			return rec.version(), rec.Context, binary.BigEndian.Uint64(it.Key()[len(prefix):]), nil
		}
	}
	return replication.Version{}, nil, 0, it.Close()
}

// stampOf returns the stamp region holds for item pk of table.
func stampOf(n *gnode, table, pk string) (stampEntry, error) {
	t, err := n.svc.lookupAnyTable(table)
	if err != nil {
		return stampEntry{}, err
	}
	key, err := t.storeKey(attr.Item{"pk": attr.S(pk)})
	if err != nil {
		return stampEntry{}, err
	}
	return n.svc.readStamp(n.svc.store, t, key)
}

// metric returns the sum of a region's replication metric name over its series.
func (n *gnode) metric(t testing.TB, name string) float64 {
	t.Helper()
	mfs, err := n.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			case m.Histogram != nil:
				sum += float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return sum
}

// ownWrites returns the writes made in region to table, from its change log: key (pk),
// value (v; "" for a removal), version and context.
func ownWrites(t testing.TB, n *gnode, table string) []gack {
	t.Helper()
	tb, err := n.svc.lookupAnyTable(table)
	if err != nil {
		t.Fatal(err)
	}
	prefix := []byte(logPrefix + tb.meta.ID + "/")
	it, err := n.svc.store.Iter(prefix, kv.PrefixEnd(prefix))
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var out []gack
	for it.Next() {
		rec, err := decodeChangeRecord(it.Value())
		if err != nil {
			t.Fatal(err)
		}
		if rec.Region != n.region || rec.TS.IsZero() {
			continue
		}
		keys, err := attr.DecodeItem(rec.Keys)
		if err != nil {
			t.Fatal(err)
		}
		a := gack{key: keys["pk"].S, version: rec.version(), context: rec.Context}
		if rec.New != nil {
			item, err := attr.DecodeItem(rec.New)
			if err != nil {
				t.Fatal(err)
			}
			a.value = item["v"].S
		}
		out = append(out, a)
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkLosers fails the test unless every write in acks that is neither the final one of
// its key, nor in the final one's history, nor overwritten by a write made after seeing
// it, is recorded as a conflict's loser in some region.
func (f *gfleet) checkLosers(t testing.TB, table string, acks []gack) {
	t.Helper()
	final := map[string]gack{}
	for _, a := range acks {
		if cur, ok := final[a.key]; !ok || a.version.Compare(cur.version) > 0 {
			final[a.key] = a
		}
	}
	losers := map[replication.Version]bool{}
	for _, r := range f.regions {
		cs, err := f.node(r).svc.Conflicts(table, replication.Timestamp{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			losers[c.Loser] = true
		}
	}
	for _, a := range acks {
		win := final[a.key]
		if a.version == win.version || win.context.Covers(a.version) || losers[a.version] {
			continue
		}
		superseded := false
		for _, b := range acks {
			if b.key == a.key && b.version != a.version && b.context.Covers(a.version) {
				superseded = true
				break
			}
		}
		if !superseded {
			t.Fatalf("write %v of %s lost to %v without a conflict record", a.version, a.key, win.version)
		}
	}
	for _, r := range f.regions {
		for k, a := range final {
			got, err := f.node(r).value(t, table, k)
			if err != nil || got != a.value {
				t.Fatalf("%s: %s = %q (%v), want %q of %v", r, k, got, err, a.value, a.version)
			}
		}
	}
}
