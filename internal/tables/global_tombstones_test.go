package tables

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/polyregion/polyregion/internal/kv"
	"github.com/polyregion/polyregion/internal/replication"
	"github.com/polyregion/polyregion/internal/testutil"
)

// tombstoneAt reports whether region holds a tombstone for pk.
func tombstoneAt(t *testing.T, n *gnode, table, pk string) bool {
	t.Helper()
	st, err := stampOf(n, table, pk)
	if err != nil {
		t.Fatal(err)
	}
	return st.deleted
}

// collectNow runs one collection pass of table in region and returns how many tombstones
// it dropped.
func collectNow(t *testing.T, n *gnode, table string) int {
	t.Helper()
	tb, err := n.svc.lookupAnyTable(table)
	if err != nil {
		t.Fatal(err)
	}
	c, err := n.svc.collectTombstones(context.Background(), tb)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// waitCollected waits until no region holds a tombstone for pk (Run's background pass).
func (f *gfleet) waitCollected(t *testing.T, table, pk string) {
	t.Helper()
	testutil.WaitFor(t, 20*time.Second, func() error {
		for _, r := range f.regions {
			if tombstoneAt(t, f.node(r), table, pk) {
				return fmt.Errorf("%s still holds the tombstone of %s", r, pk)
			}
		}
		return nil
	})
}

// TestTombstonesCollectedAfterWatermarks: a tombstone stays while a replica that could still
// ship an older write is cut off, whatever the others' watermarks, survives a restart of the
// region holding it with its watermarks, and is dropped everywhere once every replica's
// watermark has passed it.
func TestTombstonesCollectedAfterWatermarks(t *testing.T) {
	f := globalFleet(t)
	us := f.node("us-east")
	if err := us.put(t, "tbl", map[string]types.AttributeValue{"pk": sattr("k"), "v": sattr("1")}); err != nil {
		t.Fatal(err)
	}
	f.waitConverged("tbl", f.regions...)

	f.isolate("ap-southeast", true)
	if err := us.del(t, "tbl", "k"); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, func() error {
		if !tombstoneAt(t, f.node("eu-west"), "tbl", "k") {
			return fmt.Errorf("eu-west has no tombstone of k yet")
		}
		return nil
	})
	// eu-west's watermarks pass the delete; ap-southeast's cannot.
	del, err := stampOf(us, "tbl", "k")
	if err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, func() error {
		for _, st := range us.svc.ReplicationStatus() {
			if st.Source == "eu-west" && st.Watermark.Compare(del.stamp.Version.TS) <= 0 {
				return fmt.Errorf("eu-west's watermark %v is not past the delete %v yet", st.Watermark, del.stamp.Version.TS)
			}
		}
		return nil
	})
	for _, r := range []string{"us-east", "eu-west"} {
		if n := collectNow(t, f.node(r), "tbl"); n != 0 || !tombstoneAt(t, f.node(r), "tbl", "k") {
			t.Fatalf("%s dropped %d tombstones while ap-southeast is cut off", r, n)
		}
	}

	// The watermarks are stored with the cursors: a restart keeps them.
	tb, err := us.svc.lookupAnyTable("tbl")
	if err != nil {
		t.Fatal(err)
	}
	id := tb.currentSettings().global.Record.replica("eu-west").ID
	f.stop("us-east")
	if _, wm, err := readCursorState(f.stores["us-east"], tb, "eu-west", id); err != nil || wm.Compare(del.stamp.Version.TS) <= 0 {
		t.Fatalf("stored watermark of eu-west = %v (%v), want past %v", wm, err, del.stamp.Version.TS)
	}
	us = f.start("us-east")
	if n := collectNow(t, us, "tbl"); n != 0 || !tombstoneAt(t, us, "tbl", "k") {
		t.Fatalf("us-east dropped %d tombstones after its restart while ap-southeast is cut off", n)
	}

	f.isolate("ap-southeast", false)
	f.waitConverged("tbl", f.regions...)
	f.waitCollected(t, "tbl", "k")
	for _, r := range f.regions {
		if v, err := f.node(r).value(t, "tbl", "k"); err != nil || v != "" {
			t.Fatalf("%s: k = %q (%v) after the collection, want none", r, v, err)
		}
	}
}

// TestTombstoneCollectionNeverResurrects: a region cut off updates an item that another
// region then deletes (the delete is the younger write). The tombstone is not collected
// while the older update can still arrive; after the heal the update loses everywhere, and
// once the tombstones are collected the item stays deleted in every region. Then the cut-off
// region is removed from the table: it no longer holds collection back.
func TestTombstoneCollectionNeverResurrects(t *testing.T) {
	f := globalFleet(t)
	us, ap := f.node("us-east"), f.node("ap-southeast")
	if err := us.put(t, "tbl", map[string]types.AttributeValue{"pk": sattr("k"), "v": sattr("1")}); err != nil {
		t.Fatal(err)
	}
	f.waitConverged("tbl", f.regions...)

	f.isolate("ap-southeast", true)
	if err := ap.put(t, "tbl", map[string]types.AttributeValue{"pk": sattr("k"), "v": sattr("late")}); err != nil {
		t.Fatal(err)
	}
	older, _, _, err := ownVersion(ap, "tbl")
	if err != nil {
		t.Fatal(err)
	}
	// us-east's delete is younger than ap-southeast's update (one process, one wall clock).
	testutil.WaitFor(t, 5*time.Second, func() error {
		if now := us.svc.clock.Peek(); now.Compare(older.TS) <= 0 {
			us.svc.clock.Now()
			return fmt.Errorf("us-east's clock %v is not past %v yet", now, older.TS)
		}
		return nil
	})
	if err := us.del(t, "tbl", "k"); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, func() error {
		if !tombstoneAt(t, f.node("eu-west"), "tbl", "k") {
			return fmt.Errorf("eu-west has no tombstone of k yet")
		}
		return nil
	})
	for _, r := range []string{"us-east", "eu-west"} {
		if n := collectNow(t, f.node(r), "tbl"); n != 0 {
			t.Fatalf("%s dropped %d tombstones while ap-southeast is cut off", r, n)
		}
	}

	f.isolate("ap-southeast", false)
	f.waitConverged("tbl", f.regions...)
	f.waitCollected(t, "tbl", "k")
	for _, r := range f.regions {
		if v, err := f.node(r).value(t, "tbl", "k"); err != nil || v != "" {
			t.Fatalf("%s: k = %q (%v), want deleted: the older update must lose to the delete", r, v, err)
		}
	}

	// A removed replica no longer counts: with ap-southeast cut off and then removed, a new
	// tombstone is collected in the two others.
	f.isolate("ap-southeast", true)
	if err := us.put(t, "tbl", map[string]types.AttributeValue{"pk": sattr("k2"), "v": sattr("1")}); err != nil {
		t.Fatal(err)
	}
	if err := us.del(t, "tbl", "k2"); err != nil {
		t.Fatal(err)
	}
	if n := collectNow(t, us, "tbl"); n != 0 {
		t.Fatalf("us-east dropped %d tombstones while ap-southeast is cut off", n)
	}
	if _, err := us.ddb.UpdateTable(context.Background(), removeReplica("tbl", "ap-southeast")); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 30*time.Second, func() error {
		for _, r := range []string{"us-east", "eu-west"} {
			if tombstoneAt(t, f.node(r), "tbl", "k2") {
				return fmt.Errorf("%s still holds the tombstone of k2", r)
			}
		}
		return nil
	})
}

// TestTombstoneHorizonNeedsEveryReplica: the horizon is the smallest watermark of the other
// replicas, and zero while one has none stored.
func TestTombstoneHorizonNeedsEveryReplica(t *testing.T) {
	f := globalFleet(t)
	us := f.node("us-east")
	tb, err := us.svc.lookupAnyTable("tbl")
	if err != nil {
		t.Fatal(err)
	}
	var h replication.Timestamp
	testutil.WaitFor(t, 10*time.Second, func() error {
		h, err = us.svc.tombstoneHorizon(tb)
		if err != nil {
			t.Fatal(err)
		}
		if h.IsZero() {
			return fmt.Errorf("no horizon yet")
		}
		return nil
	})
	g := tb.currentSettings().global
	for _, r := range []string{"eu-west", "ap-southeast"} {
		_, wm, err := readCursorState(us.svc.store, tb, r, g.Record.replica(r).ID)
		if err != nil || wm.Compare(h) < 0 {
			t.Fatalf("watermark of %s = %v (%v) is below the horizon %v", r, wm, err, h)
		}
	}
	// A cursor stored for another incarnation of a replica carries no watermark for this one.
	if _, wm, err := readCursorState(us.svc.store, tb, "eu-west", "another-id"); err != nil || !wm.IsZero() {
		t.Fatalf("watermark for another incarnation = %v (%v), want none", wm, err)
	}
}

// removeReplica is the UpdateTable request that removes region's replica of table.
func removeReplica(table, region string) *dynamodb.UpdateTableInput {
	return &dynamodb.UpdateTableInput{TableName: aws.String(table),
		ReplicaUpdates: []types.ReplicationGroupUpdate{{Delete: &types.DeleteReplicationGroupMemberAction{RegionName: aws.String(region)}}}}
}

// TestTombstonesCollectedInChunks: more tombstones than one chunk are all collected.
func TestTombstonesCollectedInChunks(t *testing.T) {
	f := globalFleet(t)
	us := f.node("us-east")
	n := tombstoneChunk + 50
	for i := range n {
		pk := fmt.Sprintf("k%04d", i)
		if err := us.put(t, "tbl", map[string]types.AttributeValue{"pk": sattr(pk), "v": sattr("1")}); err != nil {
			t.Fatal(err)
		}
		if err := us.del(t, "tbl", pk); err != nil {
			t.Fatal(err)
		}
	}
	f.waitConverged("tbl", f.regions...)
	testutil.WaitFor(t, 20*time.Second, func() error {
		for _, r := range f.regions {
			nd := f.node(r)
			tb, err := nd.svc.lookupAnyTable("tbl")
			if err != nil {
				return err
			}
			it, err := nd.svc.store.Iter(tb.stampsPrefix(), kv.PrefixEnd(tb.stampsPrefix()))
			if err != nil {
				return err
			}
			left := 0
			for it.Next() {
				left++
			}
			if err := it.Close(); err != nil {
				return err
			}
			if left > 0 {
				return fmt.Errorf("%s holds %d stamps of %d deleted keys", r, left, n)
			}
		}
		return nil
	})
}
