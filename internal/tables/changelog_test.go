package tables

import (
	"bytes"
	"testing"
	"time"

	"github.com/polyregion/polyregion/internal/kv"
	"github.com/polyregion/polyregion/internal/replication"
)

func TestChangeRecordRoundTrip(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	for _, r := range []changeRecord{
		{Seq: 1, Event: eventInsert, Time: at, Region: "eu-west", Keys: []byte("k"), New: []byte("new")},
		{Seq: 1 << 40, Event: eventModify, Time: at, Region: "us-east", Keys: []byte("k"), Old: []byte{}, New: []byte("n")},
		{Seq: 3, Event: eventRemove, Time: at, Keys: []byte{0, 1}, Old: []byte("old")},
		{Seq: 4, Event: eventRemove, TTL: true, Time: at, Keys: []byte{0, 1}, Old: []byte("old")},
		{Seq: 5, Event: eventInsert, Time: at, Region: "eu-west", Keys: []byte("k"), New: []byte("new"), Shipped: 1<<40 + 3},
	} {
		got, err := decodeChangeRecord(r.encode())
		if err != nil {
			t.Fatalf("%+v: %v", r, err)
		}
		if got.Seq != r.Seq || got.Event != r.Event || got.TTL != r.TTL || !got.Time.Equal(r.Time) || got.Region != r.Region ||
			!bytes.Equal(got.Keys, r.Keys) || (got.Old == nil) != (r.Old == nil) || !bytes.Equal(got.Old, r.Old) ||
			(got.New == nil) != (r.New == nil) || !bytes.Equal(got.New, r.New) || got.Shipped != r.Shipped {
			t.Errorf("round trip of %+v gave %+v", r, got)
		}
		enc := r.encode()
		for i := range enc {
			if _, err := decodeChangeRecord(enc[:i]); err == nil {
				t.Errorf("%+v: a record cut to %d bytes decoded", r, i)
			}
		}
	}
	for _, e := range []changeEvent{eventInsert, eventModify, eventRemove, 9} {
		if e.String() == "" {
			t.Errorf("event %d has no name", e)
		}
	}
}

func TestChangeLogFrontier(t *testing.T) {
	l := newChangeLog("id", 10)
	if l.frontier() != 10 {
		t.Fatalf("frontier %d", l.frontier())
	}
	a, _ := l.reserve(1) // 11
	b, _ := l.reserve(2) // 12, 13
	if a != 11 || b != 12 {
		t.Fatalf("reserved %d, %d", a, b)
	}
	if f := l.frontier(); f != 10 {
		t.Errorf("frontier with 11 in flight: %d", f)
	}
	l.release(b, 2, true, 0)
	if f := l.frontier(); f != 10 {
		t.Errorf("frontier with 11 still in flight: %d", f)
	}
	l.release(a, 1, true, 0)
	if f := l.frontier(); f != 13 {
		t.Errorf("frontier with nothing in flight: %d", f)
	}
	if !bytes.HasPrefix(logKey("id", 1), []byte("tables/log/id/")) || bytes.Compare(logKey("id", 255), logKey("id", 256)) >= 0 {
		t.Error("log keys do not sort by sequence number")
	}
}

// TestChangeRecordFormat2: a record of format 2 (no shipped bytes) still decodes, with
// Shipped 0.
func TestChangeRecordFormat2(t *testing.T) {
	ts := replication.Timestamp{Wall: 99, Logical: 1}
	r := changeRecord{Seq: 9, Event: eventInsert, Time: time.Unix(0, 5).UTC(), Region: "eu-west", Keys: []byte("k"), New: []byte("n"),
		TS: ts, Context: replication.Context{{TS: ts, Region: "eu-west"}}, Shipped: 300}
	v3 := r.encode()
	v2 := append([]byte{changeRecordVersionV2}, v3[1:len(v3)-2]...) // 300 is a 2-byte uvarint
	got, err := decodeChangeRecord(v2)
	if err != nil {
		t.Fatal(err)
	}
	if got.Shipped != 0 || got.TS != ts || len(got.Context) != 1 || !bytes.Equal(got.New, r.New) {
		t.Fatalf("format 2 decoded as %+v", got)
	}
	if _, err := decodeChangeRecord(append([]byte{4}, v3[1:]...)); err == nil {
		t.Error("a record of format 4 decoded")
	}
}

// TestChangeLogShippedBytes: reservations count the shipped bytes of the writes made here
// in sequence order, the counts go with the numbers, and pendingBytes is exact from any
// position, with commits in flight, failed commits and numbers that ship nothing.
func TestChangeLogShippedBytes(t *testing.T) {
	clock := replication.NewClock(nil)
	l := newChangeLog("id", 10)
	l.shipped = 1000 // as restored from record 10

	a, _, sa := l.reserveStamped(2, 2, clock, []uint64{10, 20}) // 11, 12
	b, sb := l.reserve(1)                                       // 13: a regional write
	c, _, sc := l.reserveStamped(1, 0, clock, nil)              // 14: a replicated write
	d, _, sd := l.reserveStamped(1, 1, clock, []uint64{40})     // 15
	if a != 11 || b != 13 || c != 14 || d != 15 {
		t.Fatalf("reserved %d %d %d %d", a, b, c, d)
	}
	if len(sa) != 2 || sa[0] != 1010 || sa[1] != 1030 || sb != 1030 || len(sc) != 1 || sc[0] != 1030 || sd[0] != 1070 {
		t.Fatalf("shipped through each: %v %d %v %v", sa, sb, sc, sd)
	}
	p := l.readPosition(nil, 10)
	if p.frontier != 10 || p.last != 15 || p.shipped != 1070 || p.atFrontier != 1000 {
		t.Fatalf("everything in flight: %+v", p)
	}
	if got := p.pendingBytes(10, p.atFrontier); got != 70 {
		t.Errorf("pending after 10 with 11-15 in flight: %d, want 70", got)
	}
	l.release(a, 2, true, 0)
	l.release(b, 1, true, 0)
	p = l.readPosition(nil, 10)
	if p.frontier != 13 || p.atFrontier != 1030 {
		t.Fatalf("11-13 committed: %+v", p)
	}
	for _, tc := range []struct{ pos, shipped, want uint64 }{
		{10, 1000, 70}, {11, 1010, 60}, {12, 1030, 40}, {13, 1030, 40}, {15, 1070, 0}, {20, 1070, 0},
	} {
		if got := p.pendingBytes(tc.pos, tc.shipped); got != tc.want {
			t.Errorf("pending after %d: %d, want %d", tc.pos, got, tc.want)
		}
	}
	// A reader ahead of the frontier, at a number in flight: its count comes from memory.
	if p := l.readPosition(nil, 14); !p.afterKnown || p.atAfter != 1030 {
		t.Errorf("at 14, before 15 in flight: %+v", p)
	}

	// 14 commits; 15 fails while 16 is in flight: 15 is abandoned, and 16 counts its bytes.
	e, _, se := l.reserveStamped(1, 1, clock, []uint64{5}) // 16
	l.release(c, 1, true, 0)
	l.release(d, 1, false, 0)
	if se[0] != 1075 {
		t.Fatalf("shipped through 16: %d", se[0])
	}
	p = l.readPosition(nil, 13)
	if p.frontier != 15 || p.shipped != 1075 || p.atFrontier != 1070 {
		t.Fatalf("15 abandoned, 16 in flight: %+v", p)
	}
	if got := p.pendingBytes(13, 1030); got != 5 {
		t.Errorf("pending after 13 with 15 abandoned: %d, want 5", got)
	}
	if got := p.pendingBytes(15, p.atFrontier); got != 5 {
		t.Errorf("pending after the frontier 15: %d, want 5", got)
	}
	// 16 fails too, and nothing was handed out after it: its bytes are taken back.
	l.release(e, 1, false, 0)
	p = l.readPosition(nil, 13)
	if p.frontier != 16 || p.shipped != 1070 || p.atFrontier != 1070 {
		t.Fatalf("16 abandoned at the tail: %+v", p)
	}
	if got := p.pendingBytes(13, 1030); got != 0 {
		t.Errorf("pending after 13 with nothing left: %d, want 0", got)
	}
	if f, _, sf := l.reserveStamped(1, 1, clock, []uint64{1}); f != 17 || sf[0] != 1071 {
		t.Errorf("after the tail was taken back: %d through %d", sf[0], f)
	}
}

// TestLastLogSeqRestoresShipped: a log's shipped bytes at open are those of its last
// record (0 for a log written before they were counted), with its number.
func TestLastLogSeqRestoresShipped(t *testing.T) {
	store, err := kv.OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if last, shipped, err := lastLogSeq(store, "id"); err != nil || last != 0 || shipped != 0 {
		t.Fatalf("empty log: %d, %d, %v", last, shipped, err)
	}
	b := store.NewBatch()
	for seq, shipped := range map[uint64]uint64{1: 10, 2: 10, 300: 4321} {
		r := changeRecord{Seq: seq, Event: eventInsert, Region: "eu-west", Keys: []byte("k"), New: []byte("n"), Shipped: shipped}
		b.Set(logKey("id", seq), r.encode())
	}
	b.Set(logKey("other", 301), (&changeRecord{Seq: 301, Shipped: 9}).encode())
	if err := store.Commit(b, kv.CommitOptions{}); err != nil {
		t.Fatal(err)
	}
	last, shipped, err := lastLogSeq(store, "id")
	if err != nil || last != 300 || shipped != 4321 {
		t.Fatalf("restored %d through %d (%v), want 4321 through 300", shipped, last, err)
	}
	l := newChangeLog("id", last)
	l.shipped = shipped // as loadCatalog does
	if first, _, s := l.reserveStamped(1, 1, nil, []uint64{9}); first != 301 || s[0] != 4330 {
		t.Fatalf("the next write: %d through %d, want 4330 through 301", s[0], first)
	}
	// A last record of format 2 carries no count: 0.
	enc := (&changeRecord{Seq: 400, Event: eventInsert, Keys: []byte("k")}).encode()
	v2 := append([]byte{changeRecordVersionV2}, enc[1:len(enc)-1]...)
	b = store.NewBatch()
	b.Set(logKey("id", 400), v2)
	if err := store.Commit(b, kv.CommitOptions{}); err != nil {
		t.Fatal(err)
	}
	if last, shipped, err := lastLogSeq(store, "id"); err != nil || last != 400 || shipped != 0 {
		t.Fatalf("format 2 last record: %d through %d (%v)", shipped, last, err)
	}
}
