package control

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/polyregion/polyregion/internal/kv"
)

func TestLogEncoding(t *testing.T) {
	for _, l := range []raft.Log{
		{Index: 1, Term: 1, Type: raft.LogCommand, Data: []byte(`{"ops":[]}`)},
		{Index: 1 << 40, Term: 7, Type: raft.LogConfiguration, Data: []byte{0, 1, 2}, Extensions: []byte("ext"), AppendedAt: time.Unix(1700000000, 123)},
		{Index: 5, Term: 2, Type: raft.LogNoop},
	} {
		var got raft.Log
		if err := decodeLog(encodeLog(&l), &got); err != nil {
			t.Fatal(err)
		}
		if got.Index != l.Index || got.Term != l.Term || got.Type != l.Type || !bytes.Equal(got.Data, l.Data) ||
			!bytes.Equal(got.Extensions, l.Extensions) || !got.AppendedAt.Equal(l.AppendedAt) {
			t.Errorf("round trip: got %+v, want %+v", got, l)
		}
	}
	for _, bad := range [][]byte{nil, {2}, {1, 1}, {1, 1, 1, 0, 0, 200}} {
		var got raft.Log
		if err := decodeLog(bad, &got); err == nil {
			t.Errorf("decodeLog(%v) accepted damaged bytes", bad)
		}
	}
}

func TestRaftStore(t *testing.T) {
	db, err := kv.OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := &raftStore{db: db}
	if i, err := s.LastIndex(); err != nil || i != 0 {
		t.Fatalf("empty LastIndex = %d, %v", i, err)
	}
	var logs []*raft.Log
	for i := uint64(1); i <= 10; i++ {
		logs = append(logs, &raft.Log{Index: i, Term: 1, Data: []byte{byte(i)}})
	}
	if err := s.StoreLogs(logs); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRange(1, 3); err != nil {
		t.Fatal(err)
	}
	first, _ := s.FirstIndex()
	last, _ := s.LastIndex()
	if first != 4 || last != 10 {
		t.Errorf("first, last = %d, %d; want 4, 10", first, last)
	}
	var l raft.Log
	if err := s.GetLog(2, &l); err != raft.ErrLogNotFound {
		t.Errorf("deleted entry: err = %v", err)
	}
	if err := s.GetLog(7, &l); err != nil || l.Data[0] != 7 {
		t.Errorf("GetLog(7) = %+v, %v", l, err)
	}
	if _, err := s.GetUint64([]byte("CurrentTerm")); err == nil || err.Error() != "not found" {
		t.Errorf("missing stable key: err = %v, want exactly \"not found\" (raft relies on it)", err)
	}
	if err := s.SetUint64([]byte("CurrentTerm"), 9); err != nil {
		t.Fatal(err)
	}
	if v, err := s.GetUint64([]byte("CurrentTerm")); v != 9 || err != nil {
		t.Errorf("GetUint64 = %d, %v", v, err)
	}
}

// TestFSMIdempotentAndPersistent pins static stability: the applied state survives a reopen,
// a replayed entry is skipped, and an older snapshot does not roll the state back.
func TestFSMIdempotentAndPersistent(t *testing.T) {
	dir := t.TempDir()
	db, err := kv.Open(dir, kv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := loadFSM(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	entry := func(i uint64, b Batch) *raft.Log {
		data, _ := json.Marshal(b)
		return &raft.Log{Index: i, Term: 1, Type: raft.LogCommand, Data: data}
	}
	f.Apply(entry(3, put("hc", "a", `1`, ExpectAbsent)))
	snap, _ := f.Snapshot()
	f.Apply(entry(4, put("hc", "b", `2`, ExpectAbsent)))
	if res := f.Apply(entry(4, put("hc", "b", `2`, ExpectAbsent))).(Result); res.Err() != nil {
		t.Errorf("replay of entry 4 gave %v; it must be skipped silently", res.Err())
	}
	var buf bytes.Buffer
	sink := &memSink{Buffer: &buf}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	if err := f.Restore(nopCloser{&buf}); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.state.Get("hc", "b"); !ok {
		t.Error("an older snapshot rolled the state back")
	}
	db.Close()

	db, err = kv.Open(dir, kv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	f, err = loadFSM(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, applied, _ := f.current()
	if applied != 4 || len(st.List("hc")) != 2 {
		t.Errorf("after reopen: applied %d, %d checks; want 4 and 2", applied, len(st.List("hc")))
	}
	if r, _ := st.Get("hc", "b"); r.Version != 4 || r.Created != 4 {
		t.Errorf("resource versions after reopen: %+v", r)
	}
}

type memSink struct{ *bytes.Buffer }

func (memSink) ID() string    { return "test" }
func (memSink) Cancel() error { return nil }
func (memSink) Close() error  { return nil }

type nopCloser struct{ *bytes.Buffer }

func (nopCloser) Close() error { return nil }

// TestTokenMakesRetriesIdempotent: a batch retried with the same token after its outcome was
// lost is not applied twice, and the first outcome is returned, across a reopen too.
func TestTokenMakesRetriesIdempotent(t *testing.T) {
	dir := t.TempDir()
	db, err := kv.Open(dir, kv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := loadFSM(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := put("hc", "a", `1`, ExpectAbsent)
	b.Token = "tok-1"
	data, _ := json.Marshal(b)
	first := f.Apply(&raft.Log{Index: 1, Term: 1, Type: raft.LogCommand, Data: data}).(Result)
	again := f.Apply(&raft.Log{Index: 2, Term: 1, Type: raft.LogCommand, Data: data}).(Result)
	if first.Err() != nil || again.Err() != nil || again.Index != first.Index {
		t.Errorf("first %+v, retry %+v: want the retry to return the first outcome", first, again)
	}
	db.Close()
	db, err = kv.Open(dir, kv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	f, err = loadFSM(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res := f.Apply(&raft.Log{Index: 3, Term: 1, Type: raft.LogCommand, Data: data}).(Result); res.Err() != nil || res.Index != 1 {
		t.Errorf("retry after reopen: %+v", res)
	}
	b.Token = "tok-2"
	data, _ = json.Marshal(b)
	if res := f.Apply(&raft.Log{Index: 4, Term: 1, Type: raft.LogCommand, Data: data}).(Result); !errors.Is(res.Err(), ErrExists) {
		t.Errorf("a new token must apply (and fail its precondition): %+v", res)
	}
}
