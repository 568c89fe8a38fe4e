package replication

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/polyregion/polyregion/internal/kv"
	"github.com/polyregion/polyregion/internal/peer"
	"github.com/polyregion/polyregion/internal/testutil"
)

// TestPullOverThePeerTransport replicates between two regions over the real
// region-to-region transport: HTTP/2 over mutual TLS, one long-lived pull per
// direction.
func TestPullOverThePeerTransport(t *testing.T) {
	regions := []string{"us-east", "eu-west"}
	pki := t.TempDir()
	if err := peer.EnsurePKI(pki, regions); err != nil {
		t.Fatal(err)
	}
	addrs := map[string]string{}
	nodes := map[string]*regs{}
	repls := map[string]*Replicator{}
	for _, r := range regions {
		id, err := peer.LoadIdentity(pki, r)
		if err != nil {
			t.Fatal(err)
		}
		store, err := kv.OpenMemory()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		clock := NewClock(nil)
		src := NewServer(ServerOptions{})
		nodes[r], err = newRegs(r, store, clock, src)
		if err != nil {
			t.Fatal(err)
		}
		ps := peer.NewServer(id, src, nil, testutil.NewLog(t).Logger())
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs[r] = ln.Addr().String()
		go ps.Serve(ln)
		t.Cleanup(func() { ps.Close() })
		client := peer.NewClient(id, func(region string) (string, error) {
			if a, ok := addrs[region]; ok {
				return a, nil
			}
			return "", fmt.Errorf("no region %q", region)
		})
		t.Cleanup(client.CloseIdleConnections)
		repls[r], err = NewReplicator(ReplicatorOptions{Region: r, Peers: client, Clock: clock, Metrics: NewMetrics(nil)})
		if err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, len(regions))
	for _, r := range regions {
		var subs []Subscription
		for _, src := range regions {
			subs = append(subs, Subscription{Service: regsService, Source: src, Stream: regsStream, Sink: nodes[r]})
		}
		repls[r].Set(subs)
		go func() { repls[r].Run(ctx); done <- struct{}{} }()
	}
	t.Cleanup(func() {
		cancel()
		for range regions {
			<-done
		}
	})

	if _, _, err := nodes["us-east"].write("greeting", "hello", false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := nodes["eu-west"].write("reply", "hi", false); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, func() error {
		for _, r := range regions {
			st, err := nodes[r].state()
			if err != nil {
				return err
			}
			if len(st) != 2 {
				return fmt.Errorf("%s holds %v", r, st)
			}
		}
		return nil
	})
	st := repls["eu-west"].Status()
	if len(st) != 1 || st[0].Source != "us-east" || !st[0].Connected || st[0].Cursor != st[0].Head || st[0].Pending != 0 {
		t.Fatalf("eu-west's status: %+v", st)
	}
}
