package tables

import (
	"hash/maphash"
	"slices"
	"sync"
)

// numItemLocks is the number of stripes of itemLocks.
const numItemLocks = 1024

// itemLocks serialize the read-modify-write of an item: a write holds the stripe of its
// item's key from reading the old item until its commit has returned. Items that share a
// stripe wait for each other, which is harmless.
type itemLocks struct {
	seed    maphash.Seed
	once    sync.Once
	stripes [numItemLocks]sync.Mutex
}

// stripe returns the stripe of a store key.
func (l *itemLocks) stripe(key []byte) int {
	l.once.Do(func() { l.seed = maphash.MakeSeed() })
	return int(maphash.Bytes(l.seed, key) % numItemLocks)
}

// lock locks the stripes of keys, in ascending order so that two writers of overlapping
// sets never deadlock, and returns the func that unlocks them.
func (l *itemLocks) lock(keys ...[]byte) func() {
	idx := make([]int, 0, len(keys))
	for _, k := range keys {
		idx = append(idx, l.stripe(k))
	}
	slices.Sort(idx)
	idx = slices.Compact(idx)
	for _, i := range idx {
		l.stripes[i].Lock()
	}
	return func() {
		for j := len(idx) - 1; j >= 0; j-- {
			l.stripes[idx[j]].Unlock()
		}
	}
}
