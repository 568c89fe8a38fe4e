package tables

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/polyregion/polyregion/internal/replication"
	"github.com/polyregion/polyregion/internal/testutil"
)

// globalFleet returns a fleet with table "t" global in all three regions.
func globalFleet(t *testing.T) *gfleet {
	f := newGFleet(t)
	f.createTable("us-east", "tbl", nil)
	f.makeGlobal("tbl", f.regions...)
	return f
}

// TestGlobalTableConflictUnderPartition writes one key in two regions cut from each
// other: after the heal every region holds the write with the larger (HLC, region)
// version, and the loser is recorded as a conflict.
func TestGlobalTableConflictUnderPartition(t *testing.T) {
	f := globalFleet(t)
	us, eu := f.node("us-east"), f.node("eu-west")
	f.isolate("us-east", true)
	f.isolate("eu-west", true)
	if err := us.put(t, "tbl", map[string]types.AttributeValue{"pk": sattr("k"), "v": sattr("from-us"), "only-us": sattr("x")}); err != nil {
		t.Fatal(err)
	}
	vUS, _, _, err := ownVersion(us, "tbl")
	if err != nil {
		t.Fatal(err)
	}
	if err := eu.put(t, "tbl", map[string]types.AttributeValue{"pk": sattr("k"), "v": sattr("from-eu")}); err != nil {
		t.Fatal(err)
	}
	vEU, _, _, err := ownVersion(eu, "tbl")
	if err != nil {
		t.Fatal(err)
	}
	f.healAll()
	f.waitConverged("tbl", f.regions...)
	winner, loser, want := vUS, vEU, "from-us"
	if vEU.Compare(vUS) > 0 {
		winner, loser, want = vEU, vUS, "from-eu"
	}
	for _, r := range f.regions {
		n := f.node(r)
		got, err := n.value(t, "tbl", "k")
		if err != nil || got != want {
			t.Fatalf("%s: k = %q (%v), want %q", r, got, err, want)
		}
		st, err := stampOf(n, "tbl", "k")
		if err != nil || st.stamp.Version != winner {
			t.Fatalf("%s: stamp %v (%v), want %v", r, st.stamp.Version, err, winner)
		}
	}
	found := false
	for _, r := range f.regions {
		cs, err := f.node(r).svc.Conflicts("tbl", replication.Timestamp{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if c.Loser == loser && c.Winner == winner && !c.LoserDelete && len(c.LoserData) > 0 {
				found = true
			}
		}
	}
	if !found {
		t.Fatalf("the losing write %v is recorded nowhere", loser)
	}
	counted := 0.0
	for _, r := range f.regions {
		counted += f.node(r).metric(t, "polyregion_replication_conflicts_total")
	}
	if counted < 1 {
		t.Errorf("no conflict counted in polyregion_replication_conflicts_total")
	}
	if us.metric(t, "polyregion_replication_latency_seconds") == 0 {
		t.Errorf("us-east observed no replication latency")
	}
	// Conflict counts are whole-item: the winner's attributes only.
	out, err := f.node("ap-southeast").value(t, "tbl", "k")
	if err != nil || out != want {
		t.Fatalf("ap-southeast: %q %v", out, err)
	}
}

// TestGlobalTableDeleteVersusUpdate races a delete in one region with an update in another
// under a partition, both ways round, and checks every region ends alike.
func TestGlobalTableDeleteVersusUpdate(t *testing.T) {
	f := globalFleet(t)
	us, eu, ap := f.node("us-east"), f.node("eu-west"), f.node("ap-southeast")
	for _, k := range []string{"a", "b"} {
		if err := ap.put(t, "tbl", map[string]types.AttributeValue{"pk": sattr(k), "v": sattr("0")}); err != nil {
			t.Fatal(err)
		}
	}
	f.waitConverged("tbl", f.regions...)
	f.isolate("us-east", true)
	f.isolate("eu-west", true)
	// a: deleted in us, updated later in eu; b: updated in us, deleted later in eu.
	if err := us.del(t, "tbl", "a"); err != nil {
		t.Fatal(err)
	}
	if err := eu.put(t, "tbl", map[string]types.AttributeValue{"pk": sattr("b"), "v": sattr("eu")}); err != nil {
		t.Fatal(err)
	}
	if err := eu.put(t, "tbl", map[string]types.AttributeValue{"pk": sattr("a"), "v": sattr("eu")}); err != nil {
		t.Fatal(err)
	}
	if err := us.put(t, "tbl", map[string]types.AttributeValue{"pk": sattr("b"), "v": sattr("us")}); err != nil {
		t.Fatal(err)
	}
	if err := eu.del(t, "tbl", "b"); err != nil {
		t.Fatal(err)
	}
	f.healAll()
	f.waitConverged("tbl", f.regions...)
	var first []string
	for _, r := range f.regions {
		var got []string
		for _, k := range []string{"a", "b"} {
			v, err := f.node(r).value(t, "tbl", k)
			if err != nil {
				t.Fatal(err)
			}
			st, err := stampOf(f.node(r), "tbl", k)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprintf("%s=%q@%v deleted=%v", k, v, st.stamp.Version, st.deleted))
		}
		if first == nil {
			first = got
		} else if fmt.Sprint(got) != fmt.Sprint(first) {
			t.Fatalf("%s holds %v, us-east %v", r, got, first)
		}
	}
	// A late older write loses to the tombstone: replay b's us write everywhere.
	if v, err := ap.value(t, "tbl", "b"); err != nil || v != "" && v != "us" {
		t.Fatalf("b = %q %v", v, err)
	}
}

// TestGlobalTablePartitionUnderLoad cuts one region off while every region writes, heals,
// and checks that every region converges with every acknowledged write.
func TestGlobalTablePartitionUnderLoad(t *testing.T) {
	f := globalFleet(t)
	var wg sync.WaitGroup
	last := map[string]string{}
	var mu sync.Mutex
	stop := make(chan struct{})
	for _, r := range f.regions {
		n := f.node(r)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key := fmt.Sprintf("%s-%d", n.region, i%20)
				val := fmt.Sprint(i)
				if err := n.put(t, "tbl", map[string]types.AttributeValue{"pk": sattr(key), "v": sattr(val)}); err != nil {
					t.Errorf("%s: %v", n.region, err)
					return
				}
				mu.Lock()
				last[key] = val
				mu.Unlock()
				// Keys every region writes: conflicts while the partition lasts.
				if err := n.put(t, "tbl", map[string]types.AttributeValue{"pk": sattr(fmt.Sprint("shared-", i%5)), "v": sattr(n.region + val)}); err != nil {
					t.Errorf("%s: %v", n.region, err)
					return
				}
			}
		}()
	}
	waitWrites := func(n int) {
		testutil.WaitFor(t, 10*time.Second, func() error {
			mu.Lock()
			defer mu.Unlock()
			if len(last) < n {
				return fmt.Errorf("%d keys written", len(last))
			}
			return nil
		})
	}
	waitWrites(30)
	f.isolate("ap-southeast", true)
	before := f.node("ap-southeast").svc.ReplicationStatus()
	waitWrites(60)
	// Pending grows while cut: the status shows disconnected pulls.
	testutil.WaitFor(t, 10*time.Second, func() error {
		for _, st := range f.node("ap-southeast").svc.ReplicationStatus() {
			if st.Connected {
				return fmt.Errorf("pull from %s still connected", st.Source)
			}
		}
		return nil
	})
	f.isolate("ap-southeast", false)
	close(stop)
	wg.Wait()
	f.waitConverged("tbl", f.regions...)
	for _, r := range f.regions {
		for key, val := range last {
			if got, err := f.node(r).value(t, "tbl", key); err != nil || got != val {
				t.Fatalf("%s: %s = %q (%v), want %q", r, key, got, err, val)
			}
		}
	}
	if len(before) != 2 {
		t.Errorf("ap-southeast pulls %d streams, want 2", len(before))
	}
	// Every acknowledged write of the shared keys is the final one, in its history, or a
	// recorded loser.
	var acks []gack
	for _, r := range f.regions {
		acks = append(acks, ownWrites(t, f.node(r), "tbl")...)
	}
	f.checkLosers(t, "tbl", acks)
}

// TestGlobalTableRestartResumes stops a region, writes elsewhere, starts a new Service on
// the same store, and checks it resumes from its stored cursors.
func TestGlobalTableRestartResumes(t *testing.T) {
	f := globalFleet(t)
	us := f.node("us-east")
	for i := range 20 {
		if err := us.put(t, "tbl", map[string]types.AttributeValue{"pk": sattr(fmt.Sprint("k", i)), "v": sattr("1")}); err != nil {
			t.Fatal(err)
		}
	}
	f.waitConverged("tbl", f.regions...)
	f.stop("eu-west")
	for i := range 20 {
		if err := us.put(t, "tbl", map[string]types.AttributeValue{"pk": sattr(fmt.Sprint("k", i)), "v": sattr("2")}); err != nil {
			t.Fatal(err)
		}
	}
	// The stored cursor is where the region stopped, not 0.
	svc, err := New(Options{Region: "eu-west", Store: f.stores["eu-west"], Control: f.ctrl, Zones: fleetZones})
	if err != nil {
		t.Fatal(err)
	}
	cur, err := svc.Cursor("us-east", "tbl")
	if err != nil || cur == 0 {
		t.Fatalf("cursor after restart: %d %v", cur, err)
	}
	eu := f.start("eu-west")
	f.waitConverged("tbl", f.regions...)
	for i := range 20 {
		if got, err := eu.value(t, "tbl", fmt.Sprint("k", i)); err != nil || got != "2" {
			t.Fatalf("k%d = %q %v", i, got, err)
		}
	}
	// Writes made in the restarted region still win over its earlier ones (its clock
	// starts past its log).
	if err := eu.put(t, "tbl", map[string]types.AttributeValue{"pk": sattr("k0"), "v": sattr("3")}); err != nil {
		t.Fatal(err)
	}
	f.waitConverged("tbl", f.regions...)
	if got, _ := us.value(t, "tbl", "k0"); got != "3" {
		t.Fatalf("k0 = %q in us-east", got)
	}
}

// TestGlobalTableLocalSemantics checks what stays local: conditional writes are evaluated
// on the local copy (two regions both pass attribute_not_exists), and a transaction
// commits in its region, then reaches the others whole.
func TestGlobalTableLocalSemantics(t *testing.T) {
	f := globalFleet(t)
	us, eu, ap := f.node("us-east"), f.node("eu-west"), f.node("ap-southeast")
	f.isolate("us-east", true)
	for _, n := range []*gnode{us, eu} {
		_, err := n.ddb.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String("tbl"),
			Item:                map[string]types.AttributeValue{"pk": sattr("lock"), "v": sattr(n.region)},
			ConditionExpression: aws.String("attribute_not_exists(pk)")})
		if err != nil {
			t.Fatalf("%s: the conditional put failed: %v", n.region, err)
		}
	}
	f.healAll()
	_, err := ap.ddb.TransactWriteItems(context.Background(), &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String("tbl"), Item: map[string]types.AttributeValue{"pk": sattr("tx1"), "v": sattr("1")}}},
		{Put: &types.Put{TableName: aws.String("tbl"), Item: map[string]types.AttributeValue{"pk": sattr("tx2"), "v": sattr("1")}}},
		{Put: &types.Put{TableName: aws.String("tbl"), Item: map[string]types.AttributeValue{"pk": sattr("tx3"), "v": sattr("1")}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	f.waitConverged("tbl", f.regions...)
	var acks []gack
	for _, r := range f.regions {
		acks = append(acks, ownWrites(t, f.node(r), "tbl")...)
	}
	f.checkLosers(t, "tbl", acks)
	for _, r := range f.regions {
		for _, k := range []string{"tx1", "tx2", "tx3"} {
			if v, err := f.node(r).value(t, "tbl", k); err != nil || v != "1" {
				t.Fatalf("%s: %s = %q %v", r, k, v, err)
			}
		}
	}
}
