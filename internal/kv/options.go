package kv

import (
	"errors"
	"fmt"
	"log/slog"
)

// Defaults for the zero fields of Options.
const (
	DefaultCacheSize    = 64 << 20
	DefaultMemTableSize = 16 << 20
)

// Bounds that Options.Validate enforces.
const (
	minMemTableSize = 64 << 10
	maxMemTableSize = 1 << 30
)

// Options configure a Pebble store. The zero value is ready to use: each zero
// field takes its default.
type Options struct {
	// CacheSize is the block cache in bytes: the data read from disk that the
	// store keeps in memory. Default DefaultCacheSize (64 MiB).
	CacheSize int64
	// MemTableSize is the in-memory write buffer in bytes: how much is written
	// before it is flushed to a table on disk. Up to two of them can be in
	// memory at a time. Default DefaultMemTableSize (16 MiB); at least 64 KiB
	// and at most 1 GiB.
	MemTableSize int64
	// Logger receives Pebble's own messages: its routine events (flushes,
	// compactions, WAL recycling) at Debug, the errors it met in background
	// work at Warn. Those errors are retried or surfaced to a caller as a
	// returned error, so they are not logged at Error. Nil discards them.
	Logger *slog.Logger
}

// Validate reports every problem with o at once, each naming its field. Zero
// fields are valid: they take their defaults.
func (o Options) Validate() error {
	var errs []error
	if o.CacheSize < 0 {
		errs = append(errs, fmt.Errorf("kv: CacheSize: %d is negative", o.CacheSize))
	}
	switch {
	case o.MemTableSize < 0:
		errs = append(errs, fmt.Errorf("kv: MemTableSize: %d is negative", o.MemTableSize))
	case o.MemTableSize > 0 && o.MemTableSize < minMemTableSize:
		errs = append(errs, fmt.Errorf("kv: MemTableSize: %d is below the minimum of %d", o.MemTableSize, minMemTableSize))
	case o.MemTableSize > maxMemTableSize:
		errs = append(errs, fmt.Errorf("kv: MemTableSize: %d is above the maximum of %d", o.MemTableSize, maxMemTableSize))
	}
	return errors.Join(errs...)
}

// withDefaults returns o with every zero field set to its default.
func (o Options) withDefaults() Options {
	if o.CacheSize == 0 {
		o.CacheSize = DefaultCacheSize
	}
	if o.MemTableSize == 0 {
		o.MemTableSize = DefaultMemTableSize
	}
	return o
}

// memoryOptions are the sizes OpenMemory uses: small, because tests open
// many stores in one process.
var memoryOptions = Options{CacheSize: 1 << 20, MemTableSize: 256 << 10}
