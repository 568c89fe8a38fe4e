package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/polyregion/polyregion/internal/kv"
	"github.com/polyregion/polyregion/internal/netsim"
	"github.com/polyregion/polyregion/internal/peer"
	"github.com/polyregion/polyregion/internal/testutil"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var testTiming = Timing{
	HeartbeatTimeout:   500 * time.Millisecond,
	ElectionTimeout:    500 * time.Millisecond,
	LeaderLeaseTimeout: 250 * time.Millisecond,
	WriteTimeout:       3 * time.Second,
}

// cluster runs control nodes over the real peer transport, each region reaching the others
// through emulated WAN links.
type cluster struct {
	t       *testing.T
	pki     string
	wan     *netsim.WAN
	regions []string

	mu    sync.Mutex
	nodes map[string]*testNode
	links map[[2]string]*netsim.Link
}

type testNode struct {
	node   *Node
	dir    string
	addr   string
	db     kv.Store
	srv    *peer.Server
	client *peer.Client
	cancel context.CancelFunc
	done   chan struct{}
}

func newCluster(t *testing.T, regions ...string) *cluster {
	c := &cluster{t: t, pki: t.TempDir(), wan: netsim.New(nil), regions: regions, nodes: map[string]*testNode{}, links: map[[2]string]*netsim.Link{}}
	if err := peer.EnsurePKI(c.pki, regions); err != nil {
		t.Fatal(err)
	}
	for i, a := range regions {
		for _, b := range regions[i+1:] {
			c.wan.SetBaseline(a, b, time.Millisecond)
		}
	}
	for _, a := range regions {
		for _, b := range regions {
			if a != b {
				l, err := c.wan.Listen(a, b, "127.0.0.1:0", func() string { return c.addr(b) })
				if err != nil {
					t.Fatal(err)
				}
				c.links[[2]string{a, b}] = l
			}
		}
	}
	t.Cleanup(func() {
		for _, r := range regions {
			c.stop(r)
		}
		for _, l := range c.links {
			l.Close()
		}
	})
	return c
}

func (c *cluster) addr(region string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n, ok := c.nodes[region]; ok {
		return n.addr
	}
	return ""
}

// start starts a region's node on its data directory (kept across restarts); bootstrap
// lists the voters a brand-new cluster starts with.
func (c *cluster) start(region string, bootstrap []string, validate Validator) *Node {
	c.t.Helper()
	dir := c.t.TempDir()
	c.mu.Lock()
	if old, ok := c.nodes[region]; ok {
		dir = old.dir
	}
	c.mu.Unlock()
	db, err := kv.Open(dir+"/kv", kv.Options{CacheSize: 1 << 20, MemTableSize: 1 << 20})
	if err != nil {
		c.t.Fatal(err)
	}
	id, err := peer.LoadIdentity(c.pki, region)
	if err != nil {
		c.t.Fatal(err)
	}
	client := peer.NewClient(id, func(to string) (string, error) {
		if l, ok := c.links[[2]string{region, to}]; ok {
			return l.Addr().String(), nil
		}
		return "", fmt.Errorf("no link %s->%s", region, to)
	})
	n, err := Open(Options{Region: region, Bootstrap: bootstrap, Store: db, SnapshotDir: dir + "/snapshots", Client: client, Validate: validate, Timing: testTiming,
		Logger: testutil.NewLog(c.t).LoggerAt(slog.LevelInfo).With("region", region)})
	if err != nil {
		c.t.Fatal(err)
	}
	srv := peer.NewServer(id, n.Handler(), nil, nil)
	srv.HandleStream(StreamProto, n.HandleStream)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tn := &testNode{node: n, dir: dir, addr: ln.Addr().String(), db: db, srv: srv, client: client, cancel: cancel, done: make(chan struct{})}
	c.mu.Lock()
	c.nodes[region] = tn
	c.mu.Unlock()
	serveDone := make(chan struct{})
	go func() { defer close(serveDone); _ = srv.Serve(ln) }()
	go func() {
		defer close(tn.done)
		if err := n.Run(ctx); err != nil {
			c.t.Logf("%s: Run: %v", region, err)
		}
		_ = srv.Close()
		<-serveDone
		client.CloseIdleConnections()
	}()
	return n
}

func (c *cluster) stop(region string) {
	c.mu.Lock()
	n, ok := c.nodes[region]
	c.mu.Unlock()
	if !ok || n.cancel == nil {
		return
	}
	n.cancel()
	<-n.done
	n.cancel = nil
	_ = n.db.Close()
}

func (c *cluster) node(region string) *Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[region].node
}

func put(kind, id, v string, expect Expect) Batch {
	return Batch{Ops: []Op{{Kind: kind, ID: id, Value: json.RawMessage(v), Expect: expect}}}
}

func hasValue(n *Node, kind, id, want string) func() error {
	return func() error {
		r, ok := n.State().Get(kind, id)
		if !ok {
			return fmt.Errorf("%s: %s/%s missing", n.opts.Region, kind, id)
		}
		if string(r.Value) != want {
			return fmt.Errorf("%s: %s/%s = %s, want %s", n.opts.Region, kind, id, r.Value, want)
		}
		return nil
	}
}

func writeEventually(t *testing.T, n *Node, b Batch) Result {
	t.Helper()
	var res Result
	testutil.WaitFor(t, 20*time.Second, func() error {
		var err error
		res, err = n.Apply(context.Background(), b)
		return err
	})
	return res
}

func TestWritesFromEveryRegion(t *testing.T) {
	regions := []string{"us-east", "eu-west", "ap-southeast"}
	c := newCluster(t, regions...)
	for _, r := range regions {
		c.start(r, regions, nil)
	}
	for i, r := range regions {
		res := writeEventually(t, c.node(r), put("thing", r, fmt.Sprintf(`{"n":%d}`, i), ExpectAbsent))
		// Read-your-write in the region that took the write, at once.
		if err := hasValue(c.node(r), "thing", r, fmt.Sprintf(`{"n":%d}`, i))(); err != nil {
			t.Errorf("right after the write (index %d): %v", res.Index, err)
		}
	}
	for _, r := range regions {
		for i, w := range regions {
			testutil.WaitFor(t, 10*time.Second, hasValue(c.node(r), "thing", w, fmt.Sprintf(`{"n":%d}`, i)))
		}
	}

	n := c.node("eu-west")
	ctx := context.Background()
	if _, err := n.Apply(ctx, put("thing", "us-east", `{}`, ExpectAbsent)); !errors.Is(err, ErrExists) {
		t.Errorf("create of an existing resource: err = %v, want ErrExists", err)
	}
	if _, err := n.Apply(ctx, Batch{Ops: []Op{{Kind: "thing", ID: "nope", Delete: true}}}); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete of a missing resource: err = %v, want ErrNotFound", err)
	}
	r, _ := n.State().Get("thing", "us-east")
	if _, err := n.Apply(ctx, Batch{Ops: []Op{{Kind: "thing", ID: "us-east", Value: json.RawMessage(`{"n":9}`), Expect: ExpectVersion, Version: r.Version + 1}}}); !errors.Is(err, ErrConflict) {
		t.Errorf("stale version: err = %v, want ErrConflict", err)
	}
	// Atomic batch: the second op fails, so the first is not applied either.
	_, err := n.Apply(ctx, Batch{Ops: []Op{
		{Kind: "thing", ID: "new", Value: json.RawMessage(`{}`), Expect: ExpectAbsent},
		{Kind: "thing", ID: "eu-west", Value: json.RawMessage(`{}`), Expect: ExpectAbsent},
	}})
	if !errors.Is(err, ErrExists) {
		t.Errorf("batch with a failing op: err = %v", err)
	}
	if _, ok := n.State().Get("thing", "new"); ok {
		t.Error("half of a rejected batch was applied")
	}
}

func TestValidatorRejects(t *testing.T) {
	regions := []string{"a1", "b1", "c1"}
	c := newCluster(t, regions...)
	validate := func(next *State, ops []Op) error {
		for _, op := range ops {
			if strings.Contains(string(op.Value), "bad") {
				return fmt.Errorf("%s: value may not say bad", op.ID)
			}
		}
		return nil
	}
	for _, r := range regions {
		c.start(r, regions, validate)
	}
	writeEventually(t, c.node("a1"), put("k", "ok", `"fine"`, ExpectAny))
	_, err := c.node("b1").Apply(context.Background(), put("k", "x", `"bad"`, ExpectAny))
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "x: value may not say bad") {
		t.Errorf("err = %v, want ErrInvalid naming the problem", err)
	}
}

// TestKillAndPartition: writes go on through the survivors of a dead region; the dead region
// serves its last state as soon as it opens and catches up when it runs; a partitioned
// region fails writes with ErrNoQuorum in bounded time, keeps serving reads, and catches up
// after the heal.
func TestKillAndPartition(t *testing.T) {
	regions := []string{"us-east", "eu-west", "ap-southeast"}
	c := newCluster(t, regions...)
	for _, r := range regions {
		c.start(r, regions, nil)
	}
	writeEventually(t, c.node("us-east"), put("hc", "one", `1`, ExpectAny))
	testutil.WaitFor(t, 10*time.Second, hasValue(c.node("ap-southeast"), "hc", "one", `1`))

	c.stop("ap-southeast")
	for _, r := range []string{"us-east", "eu-west"} {
		writeEventually(t, c.node(r), put("hc", "from-"+r, `2`, ExpectAny))
	}
	n := c.start("ap-southeast", regions, nil)
	if err := hasValue(n, "hc", "one", `1`)(); err != nil {
		t.Errorf("restarted region lost its state: %v", err)
	}
	testutil.WaitFor(t, 15*time.Second, hasValue(n, "hc", "from-eu-west", `2`))

	// Partition ap-southeast from both others.
	c.wan.Partition("ap-southeast", "us-east")
	c.wan.Partition("ap-southeast", "eu-west")
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := n.Apply(ctx, put("hc", "cut-off", `3`, ExpectAny))
	took := time.Since(start)
	if !errors.Is(err, ErrNoQuorum) {
		t.Errorf("write in a partitioned region: err = %v, want ErrNoQuorum", err)
	}
	if took > testTiming.WriteTimeout+2*time.Second {
		t.Errorf("partitioned write took %v to fail", took)
	}
	t.Logf("partitioned write failed after %v: %v", took, err)
	if err := hasValue(n, "hc", "one", `1`)(); err != nil {
		t.Errorf("partitioned region stopped serving its state: %v", err)
	}
	writeEventually(t, c.node("eu-west"), put("hc", "during", `4`, ExpectAny))
	c.wan.HealAll()
	testutil.WaitFor(t, 20*time.Second, hasValue(n, "hc", "during", `4`))
	writeEventually(t, n, put("hc", "after", `5`, ExpectAny))
}

func TestAddAndRemoveRegion(t *testing.T) {
	all := []string{"r1", "r2", "r3", "r4"}
	c := newCluster(t, all...)
	first := all[:3]
	for _, r := range first {
		c.start(r, first, nil)
	}
	writeEventually(t, c.node("r1"), put("k", "before", `1`, ExpectAny))
	// r4 is new: a cluster exists without it, so it asks to join.
	n4 := c.start("r4", all, nil)
	testutil.WaitFor(t, 20*time.Second, func() error {
		if m := c.node("r1").Status().Members; len(m) != 4 {
			return fmt.Errorf("members %v", m)
		}
		return nil
	})
	testutil.WaitFor(t, 10*time.Second, hasValue(n4, "k", "before", `1`))
	writeEventually(t, n4, put("k", "from-r4", `2`, ExpectAny))

	if err := c.node("r2").MembershipChange(context.Background(), "r3", false); err != nil {
		t.Fatal(err)
	}
	c.stop("r3")
	testutil.WaitFor(t, 10*time.Second, func() error {
		if m := c.node("r4").Status().Members; len(m) != 3 {
			return fmt.Errorf("members %v", m)
		}
		return nil
	})
	writeEventually(t, c.node("r2"), put("k", "after-removal", `3`, ExpectAny))
}
