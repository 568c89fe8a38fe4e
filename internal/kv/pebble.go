package kv

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// On disk, every key the caller gives is stored behind userKeyPrefix. Keys
// behind metaKeyPrefix belong to the store itself (its format marker), and
// userKeyLimit is greater than every user key: it is the upper bound that an
// unbounded range becomes, since Pebble has no key greater than all others.
const (
	metaKeyPrefix = 0x00
	userKeyPrefix = 0x01
	userKeyLimit  = 0x02
)

// maxBatchSize is MaxBatchSize, as a variable so that a test can lower it.
var maxBatchSize = MaxBatchSize

// formatKey holds formatValue in every store this package writes. Open
// refuses a store that holds another value, so a change of key encoding
// cannot silently misread old data.
var formatKey = []byte{metaKeyPrefix, 'f', 'o', 'r', 'm', 'a', 't'}

const formatValue = "polyregion-kv/pebble/1"

// formatVersion pins Pebble's on-disk format instead of following the
// library's newest, so that upgrading Pebble never upgrades data silently.
const formatVersion = pebble.FormatValueSeparation

// Open opens the Pebble store in dir, creating it if it does not exist. Only
// one Store may have a directory open at a time; a second Open of it fails.
func Open(dir string, opts Options) (Store, error) {
	if dir == "" {
		return nil, errors.New("kv: open: empty directory name")
	}
	return open(vfs.Default, dir, dir, opts)
}

// OpenMemory opens an empty Pebble store on a filesystem in memory, with a
// small cache and write buffer: the in-memory twin for tests. It behaves like
// a store from Open, except that its data goes away when it is closed.
func OpenMemory() (Store, error) {
	return open(vfs.NewMem(), "", "memory", memoryOptions)
}

// OpenMemoryWith is OpenMemory with opts' sizes (zero fields: Open's defaults) instead
// of its small ones: for benchmarks, whose writes would otherwise spend much of their
// time in the small write buffer's flushes and compactions. Unlike a MemFS, its syncs
// cost nothing.
func OpenMemoryWith(opts Options) (Store, error) {
	return open(vfs.NewMem(), "", "memory", opts)
}

// OpenMemFS opens the store in dir on fs, creating it if it does not exist.
// Closing the store keeps its data in fs: a later OpenMemFS of the same fs
// and dir finds it, like a restart.
func OpenMemFS(fs *MemFS, dir string, opts Options) (Store, error) {
	if fs == nil {
		return nil, errors.New("kv: open: nil MemFS")
	}
	return open(fs.fs, dir, "memfs:"+dir, opts)
}

func open(fs vfs.FS, dir, name string, opts Options) (Store, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()

	cache := pebble.NewCache(opts.CacheSize)
	defer cache.Unref() // the DB holds its own reference
	logger := pebbleLogger{log: opts.Logger}
	po := &pebble.Options{
		FS:                 fs,
		Cache:              cache,
		MemTableSize:       uint64(opts.MemTableSize),
		FormatMajorVersion: formatVersion,
		Logger:             logger,
	}
	if opts.Logger != nil {
		events := pebble.MakeLoggingEventListener(logger)
		po.EventListener = &events
	}
	// A bloom filter in every sstable, L0 included: most point reads of a write are of
	// keys that do not exist yet (a new item, its stamp), and without a filter each one
	// searches the index of every table that may hold the key.
	for i := range po.Levels {
		po.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	db, err := pebble.Open(dir, po)
	if err != nil {
		return nil, fmt.Errorf("kv: open %s: %w", name, err)
	}
	if err := checkFormat(db); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("kv: open %s: %w", name, err)
	}
	s := &pebbleStore{name: name, db: db}
	s.open.init()
	return s, nil
}

// checkFormat writes the format marker into a new store and checks it in an
// existing one.
func checkFormat(db *pebble.DB) error {
	v, closer, err := db.Get(formatKey)
	if errors.Is(err, pebble.ErrNotFound) {
		return db.Set(formatKey, []byte(formatValue), pebble.Sync)
	}
	if err != nil {
		return err
	}
	defer closer.Close()
	if string(v) != formatValue {
		return fmt.Errorf("data format is %q, this build reads %q", v, formatValue)
	}
	return nil
}

// userKey returns key as it is stored.
func userKey(key []byte) []byte {
	k := make([]byte, 1+len(key))
	k[0] = userKeyPrefix
	copy(k[1:], key)
	return k
}

// upperBound returns the stored form of a range's upper bound.
func upperBound(upper []byte) []byte {
	if upper == nil {
		return []byte{userKeyLimit}
	}
	return userKey(upper)
}

// emptyRange reports whether [lower, upper) holds no key.
func emptyRange(lower, upper []byte) bool {
	return upper != nil && bytes.Compare(lower, upper) >= 0
}

// pebbleReader is what *pebble.DB and *pebble.Snapshot have in common.
type pebbleReader interface {
	Get(key []byte) ([]byte, io.Closer, error)
	NewIter(o *pebble.IterOptions) (*pebble.Iterator, error)
}

// scope is what an iterator reads from: the store itself or a snapshot.
// Pebble panics when a closed DB, snapshot or iterator is used, so every use
// of a Pebble object happens under its scope's read lock, and closing a scope
// takes the write lock, then closes every iterator still open in it.
type scope interface {
	readLock()
	readUnlock()
	iterators() *openSet
}

// forceCloser is an iterator or snapshot that its store or snapshot must close
// when it closes. forceClose is called with the owner's write lock held.
type forceCloser interface {
	forceClose()
}

// openSet tracks the iterators and snapshots that are still open.
type openSet struct {
	mu sync.Mutex
	m  map[forceCloser]struct{}
}

func (o *openSet) init() { o.m = make(map[forceCloser]struct{}) }

func (o *openSet) add(c forceCloser) {
	o.mu.Lock()
	o.m[c] = struct{}{}
	o.mu.Unlock()
}

func (o *openSet) remove(c forceCloser) {
	o.mu.Lock()
	delete(o.m, c)
	o.mu.Unlock()
}

// drain empties the set and returns what was in it.
func (o *openSet) drain() []forceCloser {
	o.mu.Lock()
	defer o.mu.Unlock()
	all := make([]forceCloser, 0, len(o.m))
	for c := range o.m {
		all = append(all, c)
	}
	clear(o.m)
	return all
}

// pebbleStore is the Store on Pebble.
type pebbleStore struct {
	name string // the directory, for error messages
	db   *pebble.DB

	// mu is held for reading by every operation that touches db, including
	// those of snapshots and iterators, and for writing by Close.
	mu     sync.RWMutex
	closed bool    // guarded by mu
	open   openSet // snapshots and iterators on the store not yet closed
}

var (
	_ Store    = (*pebbleStore)(nil)
	_ Snapshot = (*pebbleSnapshot)(nil)
	_ Batch    = (*pebbleBatch)(nil)
	_ Iterator = (*pebbleIter)(nil)
)

// rlock takes the read lock if the store is open, and reports whether it did.
func (s *pebbleStore) rlock() bool {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return false
	}
	return true
}

func (s *pebbleStore) readLock()           { s.mu.RLock() }
func (s *pebbleStore) readUnlock()         { s.mu.RUnlock() }
func (s *pebbleStore) iterators() *openSet { return &s.open }

func (s *pebbleStore) Get(key []byte) ([]byte, error) {
	if !s.rlock() {
		return nil, ErrClosed
	}
	defer s.mu.RUnlock()
	return get(s.db, key)
}

func (s *pebbleStore) Iter(lower, upper []byte) (Iterator, error) {
	return s.iter(lower, upper, false)
}

func (s *pebbleStore) ReverseIter(lower, upper []byte) (Iterator, error) {
	return s.iter(lower, upper, true)
}

func (s *pebbleStore) iter(lower, upper []byte, reverse bool) (Iterator, error) {
	if !s.rlock() {
		return nil, ErrClosed
	}
	defer s.mu.RUnlock()
	return newIter(s, s.db, lower, upper, reverse)
}

func (s *pebbleStore) NewBatch() Batch {
	return &pebbleBatch{s: s}
}

func (s *pebbleStore) Commit(b Batch, opts CommitOptions) error {
	pb, ok := b.(*pebbleBatch)
	if !ok || pb == nil || pb.s != s {
		return ErrForeignBatch
	}
	defer pb.reset()
	if pb.err != nil {
		return fmt.Errorf("%w: %d writes of %d bytes, over the limit of %d", pb.err, pb.n, pb.size, maxBatchSize)
	}
	if !s.rlock() {
		return ErrClosed
	}
	defer s.mu.RUnlock()
	if pb.b == nil || pb.b.Empty() {
		return nil
	}
	wo := pebble.NoSync
	if opts.Sync {
		wo = pebble.Sync
	}
	if err := pb.b.Commit(wo); err != nil {
		return fmt.Errorf("kv: commit batch of %d writes, %d bytes: %w", pb.n, pb.size, err)
	}
	return nil
}

func (s *pebbleStore) Sync() error {
	if !s.rlock() {
		return ErrClosed
	}
	defer s.mu.RUnlock()
	// An empty log-only record, synced: the WAL is synced through every commit before it.
	if err := s.db.LogData(nil, pebble.Sync); err != nil {
		return fmt.Errorf("kv: sync %s: %w", s.name, err)
	}
	return nil
}

func (s *pebbleStore) Snapshot() (Snapshot, error) {
	if !s.rlock() {
		return nil, ErrClosed
	}
	defer s.mu.RUnlock()
	sn := &pebbleSnapshot{s: s, snap: s.db.NewSnapshot()}
	sn.iters.init()
	s.open.add(sn)
	return sn, nil
}

func (s *pebbleStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.closed = true
	for _, c := range s.open.drain() {
		c.forceClose()
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("kv: close %s: %w", s.name, err)
	}
	return nil
}

func get(r pebbleReader, key []byte) ([]byte, error) {
	v, closer, err := r.Get(userKey(key))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("kv: get key of %d bytes: %w", len(key), err)
	}
	out := make([]byte, len(v))
	copy(out, v)
	if err := closer.Close(); err != nil {
		return nil, fmt.Errorf("kv: get key of %d bytes: %w", len(key), err)
	}
	return out, nil
}

// pebbleSnapshot is the Snapshot on Pebble.
type pebbleSnapshot struct {
	s    *pebbleStore
	snap *pebble.Snapshot

	// mu is held for reading by every use of snap, including by the
	// snapshot's iterators, and for writing by Close. Take it after s.mu.
	mu     sync.RWMutex
	closed bool    // guarded by mu
	iters  openSet // iterators on the snapshot not yet closed
}

// rlock takes the read locks if the snapshot is open, and reports whether it
// did. A closed store has closed all its snapshots.
func (sn *pebbleSnapshot) rlock() bool {
	sn.readLock()
	if sn.closed {
		sn.readUnlock()
		return false
	}
	return true
}

func (sn *pebbleSnapshot) readLock() {
	sn.s.mu.RLock()
	sn.mu.RLock()
}

func (sn *pebbleSnapshot) readUnlock() {
	sn.mu.RUnlock()
	sn.s.mu.RUnlock()
}

func (sn *pebbleSnapshot) iterators() *openSet { return &sn.iters }

func (sn *pebbleSnapshot) Get(key []byte) ([]byte, error) {
	if !sn.rlock() {
		return nil, ErrClosed
	}
	defer sn.readUnlock()
	return get(sn.snap, key)
}

func (sn *pebbleSnapshot) Iter(lower, upper []byte) (Iterator, error) {
	return sn.iter(lower, upper, false)
}

func (sn *pebbleSnapshot) ReverseIter(lower, upper []byte) (Iterator, error) {
	return sn.iter(lower, upper, true)
}

func (sn *pebbleSnapshot) iter(lower, upper []byte, reverse bool) (Iterator, error) {
	if !sn.rlock() {
		return nil, ErrClosed
	}
	defer sn.readUnlock()
	return newIter(sn, sn.snap, lower, upper, reverse)
}

func (sn *pebbleSnapshot) Close() error {
	sn.s.mu.RLock()
	defer sn.s.mu.RUnlock()
	sn.mu.Lock()
	defer sn.mu.Unlock()
	if sn.closed {
		return ErrClosed
	}
	sn.s.open.remove(sn)
	return sn.closeLocked()
}

// forceClose is called by the store's Close, which holds the store's write
// lock; no reader can hold sn.mu then, so taking it cannot wait.
func (sn *pebbleSnapshot) forceClose() {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	_ = sn.closeLocked()
}

func (sn *pebbleSnapshot) closeLocked() error {
	sn.closed = true
	for _, c := range sn.iters.drain() {
		c.forceClose()
	}
	if err := sn.snap.Close(); err != nil {
		return fmt.Errorf("kv: close snapshot of %s: %w", sn.s.name, err)
	}
	return nil
}

// pebbleIter is the Iterator on Pebble.
type pebbleIter struct {
	sc scope
	// pi is nil once the iteration is over: the range was empty, Next ran
	// off its end or failed, Close was called, or the scope was closed. It
	// and err change only under the scope's read lock (by the iterator's own
	// goroutine) or write lock (by forceClose).
	pi      *pebble.Iterator
	err     error
	reverse bool
	started bool
	key     []byte
	value   []byte
}

func newIter(sc scope, r pebbleReader, lower, upper []byte, reverse bool) (Iterator, error) {
	it := &pebbleIter{sc: sc, reverse: reverse}
	if emptyRange(lower, upper) {
		return it, nil
	}
	pi, err := r.NewIter(&pebble.IterOptions{
		LowerBound: userKey(lower),
		UpperBound: upperBound(upper),
	})
	if err != nil {
		return nil, fmt.Errorf("kv: iterate range with %d-byte lower and %d-byte upper bound: %w", len(lower), len(upper), err)
	}
	it.pi = pi
	sc.iterators().add(it)
	return it, nil
}

func (it *pebbleIter) Next() bool {
	it.sc.readLock()
	defer it.sc.readUnlock()
	it.key, it.value = nil, nil
	if it.pi == nil {
		return false
	}
	var ok bool
	switch {
	case !it.started:
		it.started = true
		if it.reverse {
			ok = it.pi.Last()
		} else {
			ok = it.pi.First()
		}
	case it.reverse:
		ok = it.pi.Prev()
	default:
		ok = it.pi.Next()
	}
	if ok {
		v, err := it.pi.ValueAndErr()
		if err == nil {
			it.key = it.pi.Key()[1:] // drop userKeyPrefix
			it.value = v
			return true
		}
		it.err = fmt.Errorf("kv: read value of a %d-byte key: %w", len(it.pi.Key())-1, err)
	} else if err := it.pi.Error(); err != nil {
		it.err = fmt.Errorf("kv: iterate: %w", err)
	}
	it.finish()
	return false
}

// finish releases the Pebble iterator. Call it under the scope's read lock.
func (it *pebbleIter) finish() {
	if err := it.pi.Close(); err != nil && it.err == nil {
		it.err = fmt.Errorf("kv: close iterator: %w", err)
	}
	it.pi = nil
	it.sc.iterators().remove(it)
}

// forceClose ends the iteration because its scope is closing.
func (it *pebbleIter) forceClose() {
	_ = it.pi.Close()
	it.pi = nil
	if it.err == nil {
		it.err = ErrClosed
	}
}

func (it *pebbleIter) Key() []byte   { return it.key }
func (it *pebbleIter) Value() []byte { return it.value }

func (it *pebbleIter) Err() error {
	it.sc.readLock()
	defer it.sc.readUnlock()
	return it.err
}

func (it *pebbleIter) Close() error {
	it.sc.readLock()
	defer it.sc.readUnlock()
	it.key, it.value = nil, nil
	if it.pi != nil {
		it.finish()
	}
	return it.err
}

// pebbleBatch is the Batch on Pebble. Its Pebble batch is made on the first
// write and handed back after Commit.
type pebbleBatch struct {
	s    *pebbleStore
	b    *pebble.Batch
	n    int
	size int
	err  error // ErrBatchTooLarge once size passed MaxBatchSize
}

// add counts a write of the given size and reports whether to record it.
func (b *pebbleBatch) add(size int) bool {
	b.n++
	b.size += size
	if b.err != nil {
		return false
	}
	if b.size > maxBatchSize {
		b.err = ErrBatchTooLarge
		if b.b != nil {
			_ = b.b.Close() // nothing of it will be committed: free it now
			b.b = nil
		}
		return false
	}
	if b.b == nil {
		b.b = b.s.db.NewBatch() // only allocates: safe on a closed DB
	}
	return true
}

func (b *pebbleBatch) Set(key, value []byte) {
	if !b.add(len(key) + len(value)) {
		return
	}
	op := b.b.SetDeferred(1+len(key), len(value))
	op.Key[0] = userKeyPrefix
	copy(op.Key[1:], key)
	copy(op.Value, value)
	_ = op.Finish() // fails only for indexed batches
}

func (b *pebbleBatch) Delete(key []byte) {
	if !b.add(len(key)) {
		return
	}
	op := b.b.DeleteDeferred(1 + len(key))
	op.Key[0] = userKeyPrefix
	copy(op.Key[1:], key)
	_ = op.Finish()
}

func (b *pebbleBatch) DeleteRange(lower, upper []byte) {
	if !b.add(len(lower)+len(upper)) || emptyRange(lower, upper) {
		return
	}
	hi := upperBound(upper)
	op := b.b.DeleteRangeDeferred(1+len(lower), len(hi))
	op.Key[0] = userKeyPrefix
	copy(op.Key[1:], lower)
	copy(op.Value, hi)
	_ = op.Finish()
}

func (b *pebbleBatch) Len() int  { return b.n }
func (b *pebbleBatch) Size() int { return b.size }

func (b *pebbleBatch) reset() {
	if b.b != nil {
		_ = b.b.Close()
		b.b = nil
	}
	b.n, b.size, b.err = 0, 0, nil
}
