// Package kv is the ordered key-value store that every stateful polyregion
// service keeps its data in: DynamoDB-style items and their change log,
// control-plane state, replication cursors.
//
// The interface is deliberately small — ordered byte keys, atomic batches,
// point reads, bounded range scans in both directions, consistent snapshots —
// so that a second engine fits behind it. Today there is one engine, Pebble:
// [Open] puts it on disk, [OpenMemory] on an in-memory filesystem for tests,
// and [OpenMemFS] on a [MemFS] that can simulate a crash by dropping what was
// never synced. A PostgreSQL-compatible engine is planned for regions that
// outgrow one machine; nothing Pebble-specific appears in the interface so
// that it can fit behind it.
//
// Keys are arbitrary byte strings, compared with [bytes.Compare]; the empty key
// is a valid key. Every range is half-open, [lower, upper), and a nil bound
// means unbounded on that side. Operations on a closed store, snapshot or
// iterator return [ErrClosed]; they never panic. A Store and a Snapshot may be
// used from many goroutines at once; a Batch and an Iterator belong to one
// goroutine at a time.
//
// The conformance suite every engine must pass is in package kvtest.
package kv

import (
	"errors"
)

// Sentinel errors. Test for them with [errors.Is].
var (
	// ErrNotFound is returned by Get when the key has no value.
	ErrNotFound = errors.New("kv: not found")
	// ErrClosed is returned by any use of a store after its Close, of a
	// snapshot after its Close or its store's Close, and of an iterator whose
	// snapshot or store was closed before the iteration ended.
	ErrClosed = errors.New("kv: closed")
	// ErrBatchTooLarge is returned by Commit for a batch whose Size grew past
	// MaxBatchSize; nothing of that batch was written.
	ErrBatchTooLarge = errors.New("kv: batch too large")
	// ErrForeignBatch is returned by Commit for a batch that the store's own
	// NewBatch did not make.
	ErrForeignBatch = errors.New("kv: batch made by another store")
)

// MaxBatchSize bounds a batch's Size in bytes. It is well inside what both
// Pebble (4 GiB per batch) and PostgreSQL (1 GiB per message) accept.
const MaxBatchSize = 512 << 20

// Reader reads keys and ranges. The Store reads its latest committed state; a
// Snapshot reads the state as of the moment it was taken.
type Reader interface {
	// Get returns a copy of the value stored under key, or ErrNotFound. The
	// caller owns the returned slice.
	Get(key []byte) ([]byte, error)
	// Iter returns an iterator over the keys in [lower, upper), in ascending
	// order. A nil lower starts at the first key; a nil upper runs to the last.
	// An empty or inverted range yields nothing. The iterator sees one
	// consistent state: writes committed after Iter returns are not visible
	// through it.
	Iter(lower, upper []byte) (Iterator, error)
	// ReverseIter is Iter in descending order: it starts at the largest key
	// below upper and stops at lower.
	ReverseIter(lower, upper []byte) (Iterator, error)
}

// Iterator walks a range of keys. Call Next before reading the first pair:
//
//	it, err := r.Iter(lower, upper)
//	if err != nil { ... }
//	defer it.Close()
//	for it.Next() {
//		use(it.Key(), it.Value())
//	}
//	if err := it.Err(); err != nil { ... }
//
// An Iterator is not safe for concurrent use.
type Iterator interface {
	// Next advances to the next pair and reports whether there is one.
	Next() bool
	// Key returns the current key. The slice is valid until the next call to
	// Next or Close (or until the snapshot or store is closed) and must not be
	// modified; copy it to keep it.
	Key() []byte
	// Value returns the current value, under the same rules as Key.
	Value() []byte
	// Err returns the error that ended the iteration early, if any. It is
	// ErrClosed when the snapshot or store was closed before the iteration
	// ended.
	Err() error
	// Close releases the iterator and returns Err. Calling it again is
	// harmless and returns the same error.
	Close() error
}

// Batch collects writes that Commit applies atomically: after a crash or an
// error, either every write in it is visible or none is. Writes apply in the
// order they were added, so a Set after a DeleteRange that covers its key
// survives. A batch may mix writes to any key ranges — an item and its change
// log entry, say.
//
// Set, Delete and DeleteRange copy their arguments; the caller may reuse its
// slices at once. A Batch is bound to the store that made it and is not safe
// for concurrent use.
type Batch interface {
	// Set stores value under key, replacing any previous value.
	Set(key, value []byte)
	// Delete removes key. Deleting a missing key is not an error.
	Delete(key []byte)
	// DeleteRange removes every key in [lower, upper); nil bounds are
	// unbounded, as in Reader.Iter.
	DeleteRange(lower, upper []byte)
	// Len is the number of writes in the batch.
	Len() int
	// Size is the number of key and value bytes in the batch: key and value
	// for Set, key for Delete, both bounds for DeleteRange. It is the same for
	// every engine; use it to cut large write sets into batches.
	Size() int
}

// CommitOptions say how Commit makes a batch durable.
type CommitOptions struct {
	// Sync makes Commit return only once the batch is on stable storage, and
	// with it every batch committed before it. Without Sync, a commit is
	// visible at once but a crash may lose it. Either way a crash loses
	// commits only from the end: what survives is every commit up to some
	// point, never a later commit without an earlier one, and never part of
	// a batch.
	Sync bool
}

// Snapshot is a consistent, read-only view of a store as of the moment it was
// taken, across all key ranges. Close it when done: an open snapshot keeps
// old versions of the data it can see. Closing a snapshot ends its iterators
// (their Err becomes ErrClosed). A Snapshot is safe for concurrent use.
type Snapshot interface {
	Reader
	// Close releases the snapshot. Using it afterwards, or closing it again,
	// returns ErrClosed.
	Close() error
}

// Store is an ordered key-value store. Reads through the Store itself see
// every batch whose Commit has returned. It is safe for concurrent use.
type Store interface {
	Reader
	// NewBatch returns an empty batch for Commit on this store.
	NewBatch() Batch
	// Commit applies b atomically, or returns an error and applies none of
	// it. Whatever the result, b is empty afterwards and may be reused.
	// Committing an empty batch does nothing.
	Commit(b Batch, opts CommitOptions) error
	// Sync returns once every batch committed before it, with Sync or not,
	// is on stable storage: a commit that did not wait for the disk is made
	// durable later, several at once.
	Sync() error
	// Snapshot returns a consistent view of the store as of now.
	Snapshot() (Snapshot, error)
	// Close ends every open iterator and snapshot, then closes the store.
	// Once it returns nil, every batch committed before it, with Sync or
	// not, is on stable storage. A second Close returns ErrClosed.
	Close() error
}

// PrefixEnd returns the smallest key that is greater than every key starting
// with prefix, or nil if there is none (prefix is empty or all 0xff bytes).
// [prefix, PrefixEnd(prefix)) is therefore exactly the keys with that prefix,
// as a range for Reader.Iter or Batch.DeleteRange.
func PrefixEnd(prefix []byte) []byte {
	for i := len(prefix) - 1; i >= 0; i-- {
		if prefix[i] != 0xff {
			end := make([]byte, i+1)
			copy(end, prefix)
			end[i]++
			return end
		}
	}
	return nil
}
