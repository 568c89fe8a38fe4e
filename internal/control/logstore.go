package control

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"

	"github.com/polyregion/polyregion/internal/kv"
)

// raftStore keeps Raft's log and stable state in the region's kv store (Pebble), beside the
// applied control-plane state. Every write is synced: Raft counts on a stored entry or vote
// surviving a crash.
//
// Keys: "raft/log/" + 8-byte big-endian index, "raft/stable/" + key.
type raftStore struct {
	db kv.Store
}

var (
	_ raft.LogStore    = (*raftStore)(nil)
	_ raft.StableStore = (*raftStore)(nil)

	logPrefix    = []byte("raft/log/")
	stablePrefix = []byte("raft/stable/")
)

// errStableNotFound is the exact error Raft expects from a StableStore for a missing key.
var errStableNotFound = errors.New("not found")

func logKey(index uint64) []byte {
	k := make([]byte, len(logPrefix)+8)
	copy(k, logPrefix)
	binary.BigEndian.PutUint64(k[len(logPrefix):], index)
	return k
}

func (s *raftStore) edgeIndex(reverse bool) (uint64, error) {
	open := s.db.Iter
	if reverse {
		open = s.db.ReverseIter
	}
	it, err := open(logPrefix, kv.PrefixEnd(logPrefix))
	if err != nil {
		return 0, err
	}
	defer it.Close()
	if !it.Next() {
		return 0, it.Err()
	}
	return binary.BigEndian.Uint64(it.Key()[len(logPrefix):]), nil
}

// FirstIndex returns the first index written, 0 for no entries.
func (s *raftStore) FirstIndex() (uint64, error) { return s.edgeIndex(false) }

// LastIndex returns the last index written, 0 for no entries.
func (s *raftStore) LastIndex() (uint64, error) { return s.edgeIndex(true) }

// GetLog reads the entry at index.
func (s *raftStore) GetLog(index uint64, log *raft.Log) error {
	b, err := s.db.Get(logKey(index))
	if errors.Is(err, kv.ErrNotFound) {
		return raft.ErrLogNotFound
	}
	if err != nil {
		return err
	}
	return decodeLog(b, log)
}

// StoreLog stores one entry.
func (s *raftStore) StoreLog(log *raft.Log) error { return s.StoreLogs([]*raft.Log{log}) }

// StoreLogs stores entries in one synced batch.
func (s *raftStore) StoreLogs(logs []*raft.Log) error {
	b := s.db.NewBatch()
	for _, l := range logs {
		b.Set(logKey(l.Index), encodeLog(l))
	}
	return s.db.Commit(b, kv.CommitOptions{Sync: true})
}

// DeleteRange deletes the entries from min to max, both included.
func (s *raftStore) DeleteRange(min, max uint64) error {
	b := s.db.NewBatch()
	b.DeleteRange(logKey(min), logKey(max+1))
	if max == ^uint64(0) {
		b.DeleteRange(logKey(min), kv.PrefixEnd(logPrefix))
	}
	return s.db.Commit(b, kv.CommitOptions{Sync: true})
}

// Set stores a stable value.
func (s *raftStore) Set(key, val []byte) error {
	b := s.db.NewBatch()
	b.Set(append(append([]byte{}, stablePrefix...), key...), val)
	return s.db.Commit(b, kv.CommitOptions{Sync: true})
}

// Get reads a stable value.
func (s *raftStore) Get(key []byte) ([]byte, error) {
	v, err := s.db.Get(append(append([]byte{}, stablePrefix...), key...))
	if errors.Is(err, kv.ErrNotFound) {
		return nil, errStableNotFound
	}
	return v, err
}

// SetUint64 stores a stable integer.
func (s *raftStore) SetUint64(key []byte, val uint64) error {
	return s.Set(key, binary.BigEndian.AppendUint64(nil, val))
}

// GetUint64 reads a stable integer.
func (s *raftStore) GetUint64(key []byte) (uint64, error) {
	v, err := s.Get(key)
	if err != nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("control: stable value %q is %d bytes, want 8", key, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// Log entries are encoded as: version byte 1, index, term (uvarint), type (byte),
// appended-at (varint unix nanoseconds), data and extensions (uvarint length + bytes).
func encodeLog(l *raft.Log) []byte {
	b := make([]byte, 0, 32+len(l.Data)+len(l.Extensions))
	b = append(b, 1)
	b = binary.AppendUvarint(b, l.Index)
	b = binary.AppendUvarint(b, l.Term)
	b = append(b, byte(l.Type))
	var at int64
	if !l.AppendedAt.IsZero() {
		at = l.AppendedAt.UnixNano()
	}
	b = binary.AppendVarint(b, at)
	b = binary.AppendUvarint(b, uint64(len(l.Data)))
	b = append(b, l.Data...)
	b = binary.AppendUvarint(b, uint64(len(l.Extensions)))
	return append(b, l.Extensions...)
}

var errBadLog = errors.New("control: damaged raft log entry")

func decodeLog(b []byte, l *raft.Log) error {
	if len(b) == 0 || b[0] != 1 {
		return errBadLog
	}
	b = b[1:]
	uv := func() uint64 {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			b = nil
			return 0
		}
		b = b[n:]
		return v
	}
	bytesField := func() []byte {
		n := uv()
		if b == nil || uint64(len(b)) < n {
			b = nil
			return nil
		}
		out := append([]byte(nil), b[:n]...)
		b = b[n:]
		return out
	}
	l.Index = uv()
	l.Term = uv()
	if len(b) < 1 {
		return errBadLog
	}
	l.Type = raft.LogType(b[0])
	b = b[1:]
	at, n := binary.Varint(b)
	if n <= 0 {
		return errBadLog
	}
	b = b[n:]
	l.AppendedAt = time.Time{}
	if at != 0 {
		l.AppendedAt = time.Unix(0, at)
	}
	l.Data = bytesField()
	if b == nil {
		return errBadLog
	}
	l.Extensions = bytesField()
	if b == nil {
		return errBadLog
	}
	return nil
}
