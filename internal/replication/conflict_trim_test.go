package replication

import (
	"testing"

	"github.com/polyregion/polyregion/internal/kv"
)

// TestTrimConflicts keeps the newest records of one stream and leaves the others alone.
func TestTrimConflicts(t *testing.T) {
	db, err := kv.OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b := db.NewBatch()
	for i := 1; i <= 30; i++ {
		for _, stream := range []string{"a", "b"} {
			AddConflict(b, &Conflict{Service: "s", Stream: stream, Key: []byte{byte(i)},
				Loser: Version{TS: Timestamp{Wall: int64(i)}, Region: "x"}, Winner: Version{TS: Timestamp{Wall: int64(i)}, Region: "y"},
				Detected: Timestamp{Wall: int64(1000 + i)}, DetectedIn: "y"})
		}
	}
	if err := db.Commit(b, kv.CommitOptions{}); err != nil {
		t.Fatal(err)
	}
	b = db.NewBatch()
	n, err := TrimConflicts(db, b, "s", "a", 10)
	if err != nil || n != 20 {
		t.Fatalf("TrimConflicts = %d, %v; want 20", n, err)
	}
	if err := db.Commit(b, kv.CommitOptions{}); err != nil {
		t.Fatal(err)
	}
	cs, err := ListConflicts(db, "s", "a", Timestamp{}, 0)
	if err != nil || len(cs) != 10 || cs[0].Detected.Wall != 1021 || cs[9].Detected.Wall != 1030 {
		t.Fatalf("after the trim: %d records (%v), first %+v", len(cs), err, cs)
	}
	if cs, _ := ListConflicts(db, "s", "b", Timestamp{}, 0); len(cs) != 30 {
		t.Fatalf("stream b has %d records, want its 30", len(cs))
	}
	if n, err := TrimConflicts(db, db.NewBatch(), "s", "a", 10); err != nil || n != 0 {
		t.Fatalf("second TrimConflicts = %d, %v; want 0", n, err)
	}
}
