package control

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/hashicorp/raft"

	"github.com/polyregion/polyregion/internal/kv"
)

// fsm is the replicated state machine. Every applied batch is written through to the
// region's kv store, synced, with the index it was applied at, so a region that restarts
// serves its last state at once — before Raft has a leader, or without one at all (static
// stability). Applying is idempotent: an entry at or below the persisted index is skipped,
// and a snapshot older than the persisted state is ignored.
type fsm struct {
	db       kv.Store
	validate Validator

	mu      sync.Mutex
	state   *State
	applied uint64
	notify  chan struct{} // closed and replaced on every applied entry
	tokens  map[string]tokenEntry
}

// tokenEntry remembers the outcome of a batch that carried a token.
type tokenEntry struct {
	Token  string `json:"token"`
	Index  uint64 `json:"index"`
	Result Result `json:"result"`
}

// tokenWindow is how many log entries a token is remembered for.
const tokenWindow = 10000

var (
	resPrefix   = []byte("fsm/res/")
	tokenPrefix = []byte("fsm/tok/")
	appliedKey  = []byte("fsm/applied")
)

func tokenKey(token string) []byte { return append(append([]byte{}, tokenPrefix...), token...) }

func resKey(kind, id string) []byte {
	return append(append(append(append([]byte{}, resPrefix...), kind...), 0), id...)
}

// loadFSM reads the persisted state.
func loadFSM(db kv.Store, validate Validator) (*fsm, error) {
	f := &fsm{db: db, validate: validate, state: emptyState(), notify: make(chan struct{}), tokens: map[string]tokenEntry{}}
	if v, err := db.Get(appliedKey); err == nil && len(v) == 8 {
		f.applied = binary.BigEndian.Uint64(v)
	} else if err != nil && !errors.Is(err, kv.ErrNotFound) {
		return nil, fmt.Errorf("control: reading applied index: %w", err)
	}
	it, err := db.Iter(resPrefix, kv.PrefixEnd(resPrefix))
	if err != nil {
		return nil, err
	}
	defer it.Close()
	for it.Next() {
		var r Resource
		if err := json.Unmarshal(it.Value(), &r); err != nil {
			return nil, fmt.Errorf("control: damaged resource %q: %w", it.Key(), err)
		}
		if f.state.kinds[r.Kind] == nil {
			f.state.kinds[r.Kind] = map[string]*Resource{}
		}
		f.state.kinds[r.Kind][r.ID] = &r
		f.state.index = max(f.state.index, r.Version)
	}
	if err := it.Err(); err != nil {
		return nil, err
	}
	tit, err := db.Iter(tokenPrefix, kv.PrefixEnd(tokenPrefix))
	if err != nil {
		return nil, err
	}
	defer tit.Close()
	for tit.Next() {
		var e tokenEntry
		if err := json.Unmarshal(tit.Value(), &e); err != nil {
			return nil, fmt.Errorf("control: damaged token %q: %w", tit.Key(), err)
		}
		f.tokens[e.Token] = e
	}
	return f, tit.Err()
}

// current returns the state and the applied index.
func (f *fsm) current() (*State, uint64, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state, f.applied, f.notify
}

// Apply applies one committed log entry.
func (f *fsm) Apply(l *raft.Log) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	if l.Index <= f.applied {
		return Result{Index: l.Index, Code: "replayed", Error: "entry already applied"}
	}
	var b Batch
	if err := json.Unmarshal(l.Data, &b); err != nil {
		return f.commitLocked(l.Index, nil, Batch{}, reject(l.Index, "invalid", "undecodable batch: %v", err))
	}
	if e, ok := f.tokens[b.Token]; ok && b.Token != "" {
		return f.commitLocked(l.Index, nil, Batch{}, e.Result)
	}
	next, res := f.state.apply(l.Index, b, f.validate)
	return f.commitLocked(l.Index, next, b, res)
}

// commitLocked persists the outcome of one entry and publishes it.
func (f *fsm) commitLocked(index uint64, next *State, b Batch, res Result) Result {
	ops := b.Ops
	batch := f.db.NewBatch()
	if b.Token != "" {
		e := tokenEntry{Token: b.Token, Index: index, Result: res}
		v, _ := json.Marshal(e)
		batch.Set(tokenKey(b.Token), v)
		f.tokens[b.Token] = e
	}
	// Forget tokens that left the window; the rule depends only on the log, so every
	// region forgets the same ones.
	if index > tokenWindow && index%64 == 0 {
		for t, e := range f.tokens {
			if e.Index+tokenWindow < index {
				delete(f.tokens, t)
				batch.Delete(tokenKey(t))
			}
		}
	}
	if next != nil {
		for _, op := range ops {
			if op.Delete {
				batch.Delete(resKey(op.Kind, op.ID))
				continue
			}
			v, _ := json.Marshal(next.kinds[op.Kind][op.ID])
			batch.Set(resKey(op.Kind, op.ID), v)
		}
	}
	batch.Set(appliedKey, binary.BigEndian.AppendUint64(nil, index))
	if err := f.db.Commit(batch, kv.CommitOptions{Sync: true}); err != nil {
		// The entry is committed in the Raft log; failing to persist it locally is fatal for
		// this node's copy. Raft treats a panic in Apply as fatal too.
		panic(fmt.Sprintf("control: persisting applied entry %d: %v", index, err))
	}
	if next != nil {
		f.state = next
	}
	f.applied = index
	close(f.notify)
	f.notify = make(chan struct{})
	return res
}

// snapshotData is the encoding of a snapshot.
type snapshotData struct {
	Applied   uint64       `json:"applied"`
	Resources []Resource   `json:"resources"`
	Tokens    []tokenEntry `json:"tokens,omitempty"`
}

// Snapshot captures the state for Raft's log compaction.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := snapshotData{Applied: f.applied}
	for _, m := range f.state.kinds {
		for _, r := range m {
			d.Resources = append(d.Resources, *r)
		}
	}
	for _, e := range f.tokens {
		d.Tokens = append(d.Tokens, e)
	}
	return &fsmSnapshot{data: d}, nil
}

// Restore replaces the state with a snapshot's, unless the persisted state is newer.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	var d snapshotData
	if err := json.NewDecoder(rc).Decode(&d); err != nil {
		return fmt.Errorf("control: reading snapshot: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if d.Applied <= f.applied {
		return nil
	}
	batch := f.db.NewBatch()
	batch.DeleteRange(resPrefix, kv.PrefixEnd(resPrefix))
	batch.DeleteRange(tokenPrefix, kv.PrefixEnd(tokenPrefix))
	tokens := map[string]tokenEntry{}
	for _, e := range d.Tokens {
		v, _ := json.Marshal(e)
		batch.Set(tokenKey(e.Token), v)
		tokens[e.Token] = e
	}
	st := emptyState()
	for i := range d.Resources {
		r := d.Resources[i]
		v, _ := json.Marshal(r)
		batch.Set(resKey(r.Kind, r.ID), v)
		if st.kinds[r.Kind] == nil {
			st.kinds[r.Kind] = map[string]*Resource{}
		}
		st.kinds[r.Kind][r.ID] = &r
		st.index = max(st.index, r.Version)
	}
	batch.Set(appliedKey, binary.BigEndian.AppendUint64(nil, d.Applied))
	if err := f.db.Commit(batch, kv.CommitOptions{Sync: true}); err != nil {
		return fmt.Errorf("control: persisting snapshot: %w", err)
	}
	f.state, f.applied, f.tokens = st, d.Applied, tokens
	close(f.notify)
	f.notify = make(chan struct{})
	return nil
}

type fsmSnapshot struct{ data snapshotData }

func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := json.NewEncoder(sink).Encode(s.data); err != nil {
		_ = sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s *fsmSnapshot) Release() {}
