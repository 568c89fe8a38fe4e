package kv_test

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/polyregion/polyregion/internal/kv"
)

// BenchmarkGet reads keys present and absent from a store whose data is on disk, in
// sstables (it is closed and opened again after the load), as a write to a new item reads
// the item it replaces and its stamp.
func BenchmarkGet(b *testing.B) {
	dir := b.TempDir()
	const n = 200_000
	key := func(i int) []byte {
		return binary.BigEndian.AppendUint64([]byte("tables/items/0000000000000001/"), uint64(i))
	}
	s, err := kv.Open(dir, kv.Options{MemTableSize: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	value := make([]byte, 150)
	for i := 0; i < n; i += 1000 {
		batch := s.NewBatch()
		for j := i; j < i+1000; j++ {
			batch.Set(key(2*j), value)
		}
		if err := s.Commit(batch, kv.CommitOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	if s, err = kv.Open(dir, kv.Options{}); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for _, c := range []struct {
		name string
		odd  int
	}{{"present", 0}, {"absent", 1}} {
		b.Run(c.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				i = (i + 7919) % n
				_, err := s.Get(key(2*i + c.odd))
				if c.odd == 0 && err != nil || c.odd == 1 && err != kv.ErrNotFound {
					b.Fatal(fmt.Sprint(i, err))
				}
			}
		})
	}
}
