package tables

import (
	"bytes"
	"testing"
	"time"
)

func TestChangeRecordRoundTrip(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	for _, r := range []changeRecord{
		{Seq: 1, Event: eventInsert, Time: at, Region: "eu-west", Keys: []byte("k"), New: []byte("new")},
		{Seq: 1 << 40, Event: eventModify, Time: at, Region: "us-east", Keys: []byte("k"), Old: []byte{}, New: []byte("n")},
		{Seq: 3, Event: eventRemove, Time: at, Keys: []byte{0, 1}, Old: []byte("old")},
		{Seq: 4, Event: eventRemove, TTL: true, Time: at, Keys: []byte{0, 1}, Old: []byte("old")},
	} {
		got, err := decodeChangeRecord(r.encode())
		if err != nil {
			t.Fatalf("%+v: %v", r, err)
		}
		if got.Seq != r.Seq || got.Event != r.Event || got.TTL != r.TTL || !got.Time.Equal(r.Time) || got.Region != r.Region ||
			!bytes.Equal(got.Keys, r.Keys) || (got.Old == nil) != (r.Old == nil) || !bytes.Equal(got.Old, r.Old) ||
			(got.New == nil) != (r.New == nil) || !bytes.Equal(got.New, r.New) {
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
	a := l.reserve(1) // 11
	b := l.reserve(2) // 12, 13
	if a != 11 || b != 12 {
		t.Fatalf("reserved %d, %d", a, b)
	}
	if f := l.frontier(); f != 10 {
		t.Errorf("frontier with 11 in flight: %d", f)
	}
	l.release(b, 2)
	if f := l.frontier(); f != 10 {
		t.Errorf("frontier with 11 still in flight: %d", f)
	}
	l.release(a, 1)
	if f := l.frontier(); f != 13 {
		t.Errorf("frontier with nothing in flight: %d", f)
	}
	if !bytes.HasPrefix(logKey("id", 1), []byte("tables/log/id/")) || bytes.Compare(logKey("id", 255), logKey("id", 256)) >= 0 {
		t.Error("log keys do not sort by sequence number")
	}
}
