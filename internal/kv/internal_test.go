package kv

import (
	"errors"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

var small = Options{CacheSize: 1 << 20, MemTableSize: 256 << 10}

func TestBatchTooLarge(t *testing.T) {
	defer func(old int) { maxBatchSize = old }(maxBatchSize)
	maxBatchSize = 100

	s, err := OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b := s.NewBatch()
	b.Set([]byte("a"), make([]byte, 60))
	b.Set([]byte("b"), make([]byte, 60)) // past the limit
	b.Delete([]byte("c"))
	if b.Len() != 3 || b.Size() != 123 {
		t.Errorf("Len %d Size %d, want 3 123", b.Len(), b.Size())
	}
	if err := s.Commit(b, CommitOptions{}); !errors.Is(err, ErrBatchTooLarge) {
		t.Fatalf("Commit: %v, want ErrBatchTooLarge", err)
	}
	if _, err := s.Get([]byte("a")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a write of a batch too large was committed: %v", err)
	}
	// The batch is empty again and usable.
	b.Set([]byte("a"), []byte("1"))
	if err := s.Commit(b, CommitOptions{}); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get([]byte("a")); err != nil || string(v) != "1" {
		t.Fatalf("a = %q, %v", v, err)
	}
}

// TestFormatMarker checks that Open refuses data in another format, and that
// the marker is not visible as a key.
func TestFormatMarker(t *testing.T) {
	fs := NewMemFS()
	s, err := OpenMemFS(fs, "db", small)
	if err != nil {
		t.Fatal(err)
	}
	it, err := s.Iter(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if it.Next() {
		t.Errorf("new store holds key %q", it.Key())
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := pebble.Open("db", &pebble.Options{FS: fs.fs, FormatMajorVersion: formatVersion, Logger: pebbleLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Set(formatKey, []byte("something-else/9"), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err := OpenMemFS(fs, "db", small); err == nil {
		_ = s.Close()
		t.Fatal("OpenMemFS accepted data in another format")
	} else if want := `kv: open memfs:db: data format is "something-else/9", this build reads "polyregion-kv/pebble/1"`; err.Error() != want {
		t.Fatalf("OpenMemFS: %q, want %q", err, want)
	}
}
