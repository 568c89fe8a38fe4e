package kv

import (
	"math/rand/v2"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// MemFS is an in-memory filesystem for stores opened with OpenMemFS, the
// twin of a disk that can fail. It remembers which of its data was synced, so
// a test can take the state a machine would come back with after losing
// power (CrashClone) and open a store on it. The zero value is not usable;
// call NewMemFS.
type MemFS struct {
	fs *vfs.MemFS
}

// NewMemFS returns an empty MemFS.
func NewMemFS() *MemFS {
	return &MemFS{fs: vfs.NewCrashableMem()}
}

// CrashClone returns a copy of fs as a machine might find it after losing
// power at this instant: everything that was synced, and of the rest each
// piece (a block of file data or a directory entry) kept with probability
// keepUnsyncedPercent/100, drawn from a random source seeded with seed. With
// keepUnsyncedPercent 0 the copy holds exactly the synced state; values
// outside [0, 100] are clamped. fs itself is unchanged, and a store open on
// it may stay open: the copy is independent of it.
func (m *MemFS) CrashClone(keepUnsyncedPercent int, seed uint64) *MemFS {
	cfg := vfs.CrashCloneCfg{UnsyncedDataPercent: min(max(keepUnsyncedPercent, 0), 100)}
	if cfg.UnsyncedDataPercent > 0 {
		cfg.RNG = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	}
	return &MemFS{fs: m.fs.CrashClone(cfg)}
}
