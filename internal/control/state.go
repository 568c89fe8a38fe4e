package control

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Resource is one item of the global state: a health check, a hosted zone, an accelerator.
// Value is the resource as its owner encodes it (JSON); control only stores it.
type Resource struct {
	Kind    string          `json:"kind"`
	ID      string          `json:"id"`
	Value   json.RawMessage `json:"value"`
	Version uint64          `json:"version"` // log index of its last change
	Created uint64          `json:"created"` // log index of its creation
}

// State is an immutable snapshot of the global state at one log index. Readers get it from
// [Node.State] or [Node.Watch] and may keep it as long as they like.
type State struct {
	index uint64
	kinds map[string]map[string]*Resource
}

func emptyState() *State { return &State{kinds: map[string]map[string]*Resource{}} }

// Index is the log index of the last change applied.
func (s *State) Index() uint64 { return s.index }

// Get returns one resource.
func (s *State) Get(kind, id string) (Resource, bool) {
	r, ok := s.kinds[kind][id]
	if !ok {
		return Resource{}, false
	}
	return *r, true
}

// List returns every resource of a kind, sorted by id.
func (s *State) List(kind string) []Resource {
	m := s.kinds[kind]
	out := make([]Resource, 0, len(m))
	for _, r := range m {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b Resource) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Decode unmarshals one resource's value into v.
func (s *State) Decode(kind, id string, v any) (bool, error) {
	r, ok := s.kinds[kind][id]
	if !ok {
		return false, nil
	}
	return true, json.Unmarshal(r.Value, v)
}

// Expect is a precondition on a resource, checked when the change is applied.
type Expect int

// Preconditions.
const (
	ExpectAny     Expect = iota // no precondition
	ExpectAbsent                // the resource must not exist (create)
	ExpectPresent               // the resource must exist (update, delete)
	ExpectVersion               // the resource must be at Op.Version (optimistic concurrency)
)

// Op is one change: a put (Value set) or a delete (Delete true) of one resource.
type Op struct {
	Kind    string          `json:"kind"`
	ID      string          `json:"id"`
	Value   json.RawMessage `json:"value,omitempty"`
	Delete  bool            `json:"delete,omitempty"`
	Expect  Expect          `json:"expect,omitempty"`
	Version uint64          `json:"version,omitempty"`
}

// Batch is a set of changes applied atomically: all of them or none.
type Batch struct {
	Ops []Op `json:"ops"`
	// Token makes a batch idempotent: a batch whose token was applied recently (within the
	// last tokenWindow log entries) is not applied again; the first outcome is returned.
	// Node.Apply sets one, so it can retry a write whose outcome it did not hear.
	Token string `json:"token,omitempty"`
}

// Result is the outcome of an applied batch.
type Result struct {
	Index uint64 `json:"index"`
	Code  string `json:"code,omitempty"`
	Error string `json:"error,omitempty"`
}

// Result codes, and the errors they become.
var (
	ErrNotFound = errors.New("control: not found")
	ErrExists   = errors.New("control: already exists")
	ErrConflict = errors.New("control: version conflict")
	ErrInvalid  = errors.New("control: invalid change")
	// ErrNoQuorum is returned when a write cannot reach a leader with a majority in time.
	ErrNoQuorum = errors.New("control: no quorum")
)

var codes = map[string]error{"not_found": ErrNotFound, "exists": ErrExists, "conflict": ErrConflict, "invalid": ErrInvalid}

// Err returns the result's error, wrapping one of the sentinel errors.
func (r Result) Err() error {
	if r.Code == "" || r.Code == "replayed" {
		return nil
	}
	if base, ok := codes[r.Code]; ok {
		return fmt.Errorf("%w: %s", base, r.Error)
	}
	return errors.New(r.Error)
}

func reject(index uint64, code, format string, args ...any) Result {
	return Result{Index: index, Code: code, Error: fmt.Sprintf(format, args...)}
}

// Validator checks a batch against the state it would produce; an error rejects the whole
// batch. It runs inside the replicated state machine, so it must be deterministic.
type Validator func(next *State, ops []Op) error

// apply computes the state after b at index, or a rejection. The receiver is not changed.
func (s *State) apply(index uint64, b Batch, validate Validator) (*State, Result) {
	if len(b.Ops) == 0 {
		return nil, reject(index, "invalid", "empty batch")
	}
	next := &State{index: index, kinds: make(map[string]map[string]*Resource, len(s.kinds)+1)}
	for k, m := range s.kinds {
		next.kinds[k] = m
	}
	copied := map[string]bool{}
	touched := map[[2]string]bool{}
	for i, op := range b.Ops {
		if op.Kind == "" || op.ID == "" {
			return nil, reject(index, "invalid", "ops[%d]: kind and id are required", i)
		}
		key := [2]string{op.Kind, op.ID}
		if touched[key] {
			return nil, reject(index, "invalid", "ops[%d]: %s %q changed twice in one batch", i, op.Kind, op.ID)
		}
		touched[key] = true
		cur, exists := s.kinds[op.Kind][op.ID]
		switch op.Expect {
		case ExpectAbsent:
			if exists {
				return nil, reject(index, "exists", "%s %q already exists", op.Kind, op.ID)
			}
		case ExpectPresent:
			if !exists {
				return nil, reject(index, "not_found", "%s %q does not exist", op.Kind, op.ID)
			}
		case ExpectVersion:
			if !exists {
				return nil, reject(index, "not_found", "%s %q does not exist", op.Kind, op.ID)
			}
			if cur.Version != op.Version {
				return nil, reject(index, "conflict", "%s %q is at version %d, not %d", op.Kind, op.ID, cur.Version, op.Version)
			}
		}
		if op.Delete && !exists {
			return nil, reject(index, "not_found", "%s %q does not exist", op.Kind, op.ID)
		}
		if !op.Delete && !json.Valid(op.Value) {
			return nil, reject(index, "invalid", "ops[%d]: value is not JSON", i)
		}
		if !copied[op.Kind] {
			m := make(map[string]*Resource, len(s.kinds[op.Kind])+1)
			for id, r := range s.kinds[op.Kind] {
				m[id] = r
			}
			next.kinds[op.Kind] = m
			copied[op.Kind] = true
		}
		if op.Delete {
			delete(next.kinds[op.Kind], op.ID)
			continue
		}
		created := index
		if exists {
			created = cur.Created
		}
		next.kinds[op.Kind][op.ID] = &Resource{Kind: op.Kind, ID: op.ID, Value: op.Value, Version: index, Created: created}
	}
	if validate != nil {
		if err := validate(next, b.Ops); err != nil {
			return nil, reject(index, "invalid", "%v", err)
		}
	}
	return next, Result{Index: index}
}
