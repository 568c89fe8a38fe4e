package tables

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/polyregion/polyregion/internal/kv"
	"github.com/polyregion/polyregion/internal/replication"
	"github.com/polyregion/polyregion/internal/tables/attr"
	"github.com/polyregion/polyregion/internal/testutil"
)

// holdStore is a store whose next commit writing a key under a prefix, once armed, waits
// until released: a write in flight for as long as a test wants.
type holdStore struct {
	kv.Store

	mu      sync.Mutex
	prefix  []byte        // armed: hold the next commit that writes a key under it
	held    chan struct{} // closed once that commit waits
	release chan struct{} // closed to let it go on
}

// arm makes the next commit writing under prefix wait: held is closed once it does, and
// release lets it go on (release may be called more than once).
func (s *holdStore) arm(prefix []byte) (held <-chan struct{}, release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prefix, s.held, s.release = prefix, make(chan struct{}), make(chan struct{})
	return s.held, sync.OnceFunc(func() { close(s.release) })
}

func (s *holdStore) NewBatch() kv.Batch { return &holdBatch{Batch: s.Store.NewBatch(), s: s} }

func (s *holdStore) Commit(b kv.Batch, opts kv.CommitOptions) error {
	hb, ok := b.(*holdBatch)
	if !ok {
		return s.Store.Commit(b, opts)
	}
	if hb.hit {
		hb.hit = false
		s.mu.Lock()
		held, release := s.held, s.release
		if s.prefix == nil {
			held = nil
		}
		s.prefix = nil
		s.mu.Unlock()
		if held != nil {
			close(held)
			<-release
		}
	}
	return s.Store.Commit(hb.Batch, opts)
}

// holdBatch notes whether it writes under its store's armed prefix.
type holdBatch struct {
	kv.Batch
	s   *holdStore
	hit bool
}

func (b *holdBatch) Set(key, value []byte) {
	b.s.mu.Lock()
	if b.s.prefix != nil && bytes.HasPrefix(key, b.s.prefix) {
		b.hit = true
	}
	b.s.mu.Unlock()
	b.Batch.Set(key, value)
}

// pullStatus returns n's status of its pull of table from source.
func pullStatus(t *testing.T, n *gnode, table, source string) replication.Status {
	t.Helper()
	for _, st := range n.svc.ReplicationStatus() {
		if st.Stream == table && st.Source == source {
			return st
		}
	}
	t.Fatalf("%s does not pull %s from %s", n.region, table, source)
	return replication.Status{}
}

// checkCountdown reads n's log of table as region to would, one record at a time from
// position after, and fails the test unless every answer's pending bytes are want less the
// bytes of the records' keys and payloads up to there, ending at 0 with want shipped.
func checkCountdown(t *testing.T, n *gnode, table, to string, after, want uint64) {
	t.Helper()
	var shipped uint64
	for {
		b, err := n.svc.Read(table, to, after, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Records) > 1 {
			t.Fatalf("a read of 1 byte after %d gave %d records", after, len(b.Records))
		}
		for _, r := range b.Records {
			shipped += uint64(len(r.Key) + len(r.Data))
		}
		if shipped+b.PendingBytes != want {
			t.Fatalf("read after %d to %d: %d bytes shipped so far and %d pending, want %d in all", after, b.Next, shipped, b.PendingBytes, want)
		}
		if b.Next >= b.Head {
			break
		}
		if b.Next <= after {
			t.Fatalf("a read after %d stayed there, short of the head %d", after, b.Head)
		}
		after = b.Next
	}
	if shipped != want {
		t.Fatalf("shipped %d bytes, want %d", shipped, want)
	}
}

// TestPendingBytesExact: a replica behind the source is told exactly how many bytes of the
// source's writes it has still to pull (keys and payloads as shipped), commits in flight
// included — in its status and in polyregion_replication_pending_bytes — and 0 once caught
// up; the source's count survives a restart.
func TestPendingBytesExact(t *testing.T) {
	f := newGFleet(t)
	hs := &holdStore{Store: f.stores["us-east"]}
	f.stop("us-east")
	f.stores["us-east"] = hs
	f.start("us-east")
	f.createTable("us-east", "pbt", nil)
	f.makeGlobal("pbt", "us-east", "eu-west")
	us, eu := f.node("us-east"), f.node("eu-west")
	tb, err := us.svc.lookupAnyTable("pbt")
	if err != nil {
		t.Fatal(err)
	}
	storeKey := func(pk string) []byte {
		k, err := tb.storeKey(attr.Item{"pk": attr.S(pk)})
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	keySize := func(pk string) uint64 { return uint64(len(storeKey(pk)) - len(tb.items)) }
	// The keys written while "held" is in flight must not share its item-lock stripe.
	var keys []string
	for i := 0; len(keys) < 6; i++ {
		if k := fmt.Sprint("k", i); us.svc.locks.stripe(storeKey(k)) != us.svc.locks.stripe(storeKey("held")) {
			keys = append(keys, k)
		}
	}
	warm, keys := keys[0], keys[1:]
	// A put ships the key, a flags byte and the item; a delete the key and the flags.
	putSize := func(pk, v string) uint64 {
		return keySize(pk) + 1 + uint64(len(attr.EncodeItem(attr.Item{"pk": attr.S(pk), "v": attr.S(v)})))
	}
	// Requests time out rather than hang the test.
	put := func(n *gnode, pk, v string) error {
		_, err := n.ddb.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String("pbt"),
			Item: map[string]types.AttributeValue{"pk": sattr(pk), "v": sattr(v)}})
		return err
	}
	if err := put(us, warm, "warm"); err != nil {
		t.Fatal(err)
	}
	c0, _, _ := tb.log.position(nil)
	testutil.WaitFor(t, 10*time.Second, func() error {
		if st := pullStatus(t, eu, "pbt", "us-east"); !st.Connected || st.Cursor != c0 || st.Pending != 0 {
			return fmt.Errorf("eu-west: connected %v, cursor %d (want %d), %d pending", st.Connected, st.Cursor, c0, st.Pending)
		}
		return nil
	})

	// A write held in flight at the source holds eu-west at the position before it; the
	// writes after it commit.
	held, release := hs.arm([]byte(logPrefix + tb.meta.ID + "/"))
	t.Cleanup(release)
	heldDone := make(chan error, 1)
	hv := strings.Repeat("h", 500)
	go func() { heldDone <- put(us, "held", hv) }()
	select {
	case <-held:
	case <-time.After(10 * time.Second):
		t.Fatal("the write to hold did not reach its commit")
	}
	want := putSize("held", hv)
	for i, k := range keys {
		v := strings.Repeat("x", 37*i+1)
		if err := put(us, k, v); err != nil {
			t.Fatal(err)
		}
		want += putSize(k, v)
	}
	if _, err := us.ddb.DeleteItem(ctx(t), &dynamodb.DeleteItemInput{TableName: aws.String("pbt"),
		Key: map[string]types.AttributeValue{"pk": sattr(warm)}}); err != nil {
		t.Fatal(err)
	}
	want += keySize(warm) + 1
	testutil.WaitFor(t, 10*time.Second, func() error {
		st := pullStatus(t, eu, "pbt", "us-east")
		gauge := eu.metric(t, "polyregion_replication_pending_bytes")
		if !st.Connected || st.Cursor != c0 || st.Pending != 7 || st.PendingBytes != want || gauge != float64(want) {
			return fmt.Errorf("eu-west: connected %v, cursor %d (want %d), %d records and %d bytes pending (gauge %v), want 7 and %d",
				st.Connected, st.Cursor, c0, st.Pending, st.PendingBytes, gauge, want)
		}
		return nil
	})

	release()
	if err := <-heldDone; err != nil {
		t.Fatal(err)
	}
	caughtUp := func() error {
		st := pullStatus(t, eu, "pbt", "us-east")
		gauge := eu.metric(t, "polyregion_replication_pending_bytes")
		if !st.Connected || st.Pending != 0 || st.PendingBytes != 0 || gauge != 0 {
			return fmt.Errorf("eu-west: connected %v, %d records and %d bytes pending (gauge %v)", st.Connected, st.Pending, st.PendingBytes, gauge)
		}
		return nil
	}
	testutil.WaitFor(t, 10*time.Second, caughtUp)
	f.waitConverged("pbt", "us-east", "eu-west")
	// What the source ships from c0 adds up to the count, record by record.
	checkCountdown(t, us, "pbt", "eu-west", c0, want)

	// At reopen the count is restored from the last record: the same answers, and the
	// next write counts on from it.
	shipped := func(n *gnode) uint64 {
		tb, err := n.svc.lookupAnyTable("pbt")
		if err != nil {
			t.Fatal(err)
		}
		return tb.log.readPosition(nil, 0).shipped
	}
	before := shipped(us)
	f.stop("us-east")
	us = f.start("us-east")
	if got := shipped(us); got != before {
		t.Fatalf("shipped bytes after a restart: %d, want %d", got, before)
	}
	checkCountdown(t, us, "pbt", "eu-west", c0, want)
	if err := put(us, "after", "restart"); err != nil {
		t.Fatal(err)
	}
	want += putSize("after", "restart")
	if got := shipped(us); got != before+putSize("after", "restart") {
		t.Fatalf("shipped bytes after a write: %d, want %d", got, before+putSize("after", "restart"))
	}
	checkCountdown(t, us, "pbt", "eu-west", c0, want)
	testutil.WaitFor(t, 10*time.Second, caughtUp)
}
