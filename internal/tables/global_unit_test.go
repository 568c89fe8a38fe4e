package tables

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/polyregion/polyregion/internal/replication"
)

func TestChangeRecordVersionsAndContexts(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	ts := replication.Timestamp{Wall: at.UnixNano(), Logical: 3}
	r := changeRecord{Seq: 7, Event: eventModify, Time: at, Region: "eu-west", Keys: []byte("k"), Old: []byte("o"), New: []byte("n"),
		TS: ts, Context: replication.Context{{TS: ts, Region: "eu-west"}, {TS: replication.Timestamp{Wall: 5}, Region: "us-east"}}}
	got, err := decodeChangeRecord(r.encode())
	if err != nil {
		t.Fatal(err)
	}
	if got.TS != r.TS || len(got.Context) != 2 || got.Context[1] != r.Context[1] || got.version() != (replication.Version{TS: ts, Region: "eu-west"}) {
		t.Fatalf("round trip gave %+v", got)
	}
	// A record of format 1 (no version, no context) still decodes.
	plain := changeRecord{Seq: 8, Event: eventInsert, Time: at, Region: "eu-west", Keys: []byte("k"), New: []byte("n")}
	v3 := plain.encode()
	v1 := append([]byte{changeRecordVersionV1}, v3[1:len(v3)-replication.TimestampSize-2]...)
	got, err = decodeChangeRecord(v1)
	if err != nil {
		t.Fatal(err)
	}
	if got.Seq != 8 || !got.TS.IsZero() || got.Context != nil || !bytes.Equal(got.New, []byte("n")) || !got.version().IsZero() {
		t.Fatalf("format 1 decoded as %+v", got)
	}
}

func TestChangeLogWatermark(t *testing.T) {
	clock := replication.NewClock(nil)
	l := newChangeLog("id", 0)
	f, last, wm := l.position(clock)
	if f != 0 || last != 0 || wm != clock.Peek() {
		t.Fatalf("empty log: %d %d %v", f, last, wm)
	}
	a, tsa, _ := l.reserveStamped(2, 2, clock, nil) // 1, 2: stamped here
	b, tsb, _ := l.reserveStamped(1, 0, clock, nil) // 3: a replicated write
	if a != 1 || b != 3 || len(tsa) != 2 || len(tsb) != 0 || tsa[0].Compare(tsa[1]) >= 0 {
		t.Fatalf("reservations %d %v %d %v", a, tsa, b, tsb)
	}
	if f, last, wm = l.position(clock); f != 0 || last != 3 || wm.Compare(tsa[0]) >= 0 {
		t.Fatalf("with 1 in flight: frontier %d last %d watermark %v (first ts %v)", f, last, wm, tsa[0])
	}
	l.release(a, 2, true, 0)
	if f, _, wm = l.position(clock); f != 2 || wm.Compare(tsa[0]) < 0 {
		t.Fatalf("with 3 in flight: frontier %d watermark %v", f, wm)
	}
	c, tsc, _ := l.reserveStamped(1, 1, clock, nil)
	if wm.Compare(tsc[0]) >= 0 {
		t.Fatalf("a later write (%d at %v) is not above the watermark %v", c, tsc[0], wm)
	}
	if before(replication.Timestamp{Wall: 5}) != (replication.Timestamp{Wall: 4, Logical: ^uint32(0)}) ||
		before(replication.Timestamp{Wall: 5, Logical: 2}) != (replication.Timestamp{Wall: 5, Logical: 1}) {
		t.Error("before is wrong")
	}
}

func TestStampEntryRoundTrip(t *testing.T) {
	ts := replication.Timestamp{Wall: 99, Logical: 1}
	for _, e := range []stampEntry{
		{stamp: replication.Stamp{Version: replication.Version{TS: ts, Region: "a"}, Context: replication.Context{{TS: ts, Region: "a"}}}},
		{stamp: replication.Stamp{Version: replication.Version{TS: ts, Region: "b"}}, deleted: true, zones: []string{"eu", "us"}},
	} {
		got, err := decodeStampEntry(e.encode())
		if err != nil {
			t.Fatal(err)
		}
		if got.stamp.Version != e.stamp.Version || got.deleted != e.deleted || len(got.zones) != len(e.zones) || len(got.stamp.Context) != len(e.stamp.Context) {
			t.Errorf("round trip of %+v gave %+v", e, got)
		}
	}
	if _, err := decodeStampEntry([]byte{1}); err == nil {
		t.Error("a truncated stamp decoded")
	}
}

// FuzzDecodeSnapshotEntries feeds arbitrary bytes to the decoder of a backfill snapshot's
// entry frames, which come from another region.
func FuzzDecodeSnapshotEntries(f *testing.F) {
	e := stampEntry{stamp: replication.Stamp{Version: replication.Version{TS: replication.Timestamp{Wall: 1}, Region: "eu-west"}}, zones: []string{"eu"}}
	body := binary.AppendUvarint(nil, 2)
	body = appendStr(body, []byte("key1"))
	body = appendStr(body, e.encode())
	body = binary.AppendUvarint(body, 3)
	body = append(body, "ab"...)
	body = appendStr(body, []byte("key2"))
	body = appendStr(body, nil)
	body = binary.AppendUvarint(body, 0)
	f.Add(body)
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		ws, err := decodeEntries(b)
		if err != nil {
			return
		}
		for _, w := range ws {
			if w.item == nil && !w.deleted {
				t.Fatalf("an entry without an item is not a tombstone: %+v", w)
			}
		}
	})
}

func TestGlobalTableRecordValidation(t *testing.T) {
	ks := []keySchemaElement{{AttributeName: ptr("pk"), KeyType: ptr("HASH")}}
	ok := globalTable{Name: "t1", Version: globalTableVersion, KeySchema: ks, Replicas: []replicaState{
		{Region: "a", Status: replicaActive}, {Region: "b", Status: replicaCreating, Source: "a"}}}
	if err := ok.validate("t1"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []globalTable{
		{Name: "x", Version: globalTableVersion, KeySchema: ks},
		{Name: "t1", Version: "2017.11.29", KeySchema: ks},
		{Name: "t1", Version: globalTableVersion},
		{Name: "t1", Version: globalTableVersion, KeySchema: ks, Replicas: []replicaState{{Region: "a", Status: replicaActive}, {Region: "a", Status: replicaActive}}},
		{Name: "t1", Version: globalTableVersion, KeySchema: ks, Replicas: []replicaState{{Region: "a", Status: "WEIRD"}}},
		{Name: "t1", Version: globalTableVersion, KeySchema: ks, Replicas: []replicaState{{Region: "a", Status: replicaCreating}}},
		{Name: "t1", Version: globalTableVersion, KeySchema: ks, Replicas: []replicaState{
			{Region: "a", Status: replicaActive}, {Region: "b", Status: replicaCreating, Source: "a"}, {Region: "c", Status: replicaDeleting}}},
	} {
		if err := bad.validate("t1"); err == nil {
			t.Errorf("%+v passed", bad)
		}
	}
}
