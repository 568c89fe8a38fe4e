package replication

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/polyregion/polyregion/internal/kv"
	"github.com/polyregion/polyregion/internal/testutil/linknet"
)

// regs is a toy service for the tests: a map of registers, key → value, that
// replicates one stream ("regs") through this package exactly as a real service
// must — the change log written with the change, Decide on apply, the cursor
// and conflict records committed with what they describe.
type regs struct {
	region string
	store  kv.Store
	clock  *Clock
	server *Server

	mu  sync.Mutex // serialises writes, applies and log reads
	seq uint64     // last log position
}

const regsService, regsStream = "regs", "regs"

func newRegs(region string, store kv.Store, clock *Clock, server *Server) (*regs, error) {
	r := &regs{region: region, store: store, clock: clock, server: server}
	it, err := store.ReverseIter([]byte("log/"), kv.PrefixEnd([]byte("log/")))
	if err != nil {
		return nil, err
	}
	if it.Next() {
		r.seq = binary.BigEndian.Uint64(it.Key()[4:])
	}
	if err := it.Close(); err != nil {
		return nil, err
	}
	server.Register(regsService, r)
	return r, nil
}

func logKeyOf(seq uint64) []byte { return binary.BigEndian.AppendUint64([]byte("log/"), seq) }

// entry is a register's stored state: its stamp, and its value unless deleted.
type entry struct {
	stamp   Stamp
	deleted bool
	value   string
}

func (r *regs) get(key string) (entry, bool, error) {
	v, err := r.store.Get([]byte("item/" + key))
	if errors.Is(err, kv.ErrNotFound) {
		return entry{}, false, nil
	}
	if err != nil {
		return entry{}, false, err
	}
	st, rest, err := DecodeStamp(v)
	if err != nil || len(rest) == 0 {
		return entry{}, false, fmt.Errorf("item %s: %v", key, err)
	}
	return entry{stamp: st, deleted: rest[0] == 1, value: string(rest[1:])}, true, nil
}

func (e entry) encode() []byte {
	b := AppendStamp(nil, e.stamp)
	if e.deleted {
		return append(b, 1)
	}
	return append(append(b, 0), e.value...)
}

// write sets key to value (del: removes it) and returns the write's version and
// context once it is committed.
func (r *regs) write(key, value string, del bool) (Version, Context, error) {
	r.mu.Lock()
	held, _, err := r.get(key)
	if err != nil {
		r.mu.Unlock()
		return Version{}, nil, err
	}
	v := Version{TS: r.clock.Now(), Region: r.region}
	ctx := held.stamp.Context.With(v)
	e := entry{stamp: Stamp{Version: v, Context: ctx}, deleted: del, value: value}
	rec := Record{Version: v, Context: ctx, Key: []byte(key), Delete: del, Data: []byte(value)}
	b := r.store.NewBatch()
	b.Set([]byte("item/"+key), e.encode())
	r.seq++
	rec.Seq = r.seq
	b.Set(logKeyOf(r.seq), AppendBatch(nil, &Batch{Records: []Record{rec}}))
	err = r.store.Commit(b, kv.CommitOptions{Sync: true})
	r.mu.Unlock()
	if err != nil {
		return Version{}, nil, err
	}
	r.server.Notify(regsService, regsStream)
	return v, ctx, nil
}

// Read serves the records written in this region.
func (r *regs) Read(stream, _ string, after uint64, maxBytes int) (*Batch, error) {
	if stream != regsStream {
		return nil, fmt.Errorf("%w: %q", ErrUnknownStream, stream)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	b := &Batch{Next: after, Head: r.seq}
	it, err := r.store.Iter(logKeyOf(after+1), kv.PrefixEnd([]byte("log/")))
	if err != nil {
		return nil, err
	}
	defer it.Close()
	size := 0
	for it.Next() && (size < maxBytes || len(b.Records) == 0) {
		fb, err := DecodeBatch(it.Value()[4:])
		if err != nil {
			return nil, err
		}
		rec := fb.Records[0]
		b.Next = rec.Seq
		if rec.Version.Region != r.region {
			continue
		}
		rec.Key, rec.Data = append([]byte(nil), rec.Key...), append([]byte(nil), rec.Data...)
		b.Records = append(b.Records, rec)
		size += len(rec.Key) + len(rec.Data) + 64
	}
	if b.Next == r.seq {
		b.Watermark = r.clock.Peek() // every later write reads the clock past it
	}
	return b, it.Close()
}

func (r *regs) Cursor(source, _ string) (uint64, error) {
	v, err := r.store.Get([]byte("cursor/" + source))
	if errors.Is(err, kv.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint64(v), nil
}

func (r *regs) Apply(source, stream string, in *Batch) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.store.NewBatch()
	pending := map[string]entry{} // what this batch already wrote, by key
	for _, rec := range in.Records {
		key := string(rec.Key)
		held, ok := pending[key]
		if !ok {
			var err error
			if held, _, err = r.get(key); err != nil {
				return err
			}
		}
		out := Decide(held.stamp, rec.Version, rec.Context)
		if out == Stale {
			continue
		}
		merged := held.stamp.Context.Merge(rec.Context)
		next := entry{stamp: Stamp{Version: rec.Version, Context: merged}, deleted: rec.Delete, value: string(rec.Data)}
		switch out {
		case ConflictWins:
			AddConflict(b, &Conflict{Service: regsService, Stream: stream, Key: rec.Key,
				Loser: held.stamp.Version, LoserDelete: held.deleted, LoserData: []byte(held.value),
				Winner: rec.Version, Detected: r.clock.Now(), DetectedIn: r.region})
		case ConflictLoses:
			AddConflict(b, &Conflict{Service: regsService, Stream: stream, Key: rec.Key,
				Loser: rec.Version, LoserDelete: rec.Delete, LoserData: rec.Data,
				Winner: held.stamp.Version, Detected: r.clock.Now(), DetectedIn: r.region})
			next = held
			next.stamp.Context = merged
		}
		pending[key] = next
		b.Set([]byte("item/"+key), next.encode())
		if out != ConflictLoses {
			r.seq++
			rec.Seq = r.seq
			b.Set(logKeyOf(r.seq), AppendBatch(nil, &Batch{Records: []Record{rec}}))
		}
	}
	b.Set([]byte("cursor/"+source), binary.BigEndian.AppendUint64(nil, in.Next))
	return r.store.Commit(b, kv.CommitOptions{Sync: true})
}

// state returns every register: key → "value@version" or "deleted@version".
func (r *regs) state() (map[string]string, error) {
	it, err := r.store.Iter([]byte("item/"), kv.PrefixEnd([]byte("item/")))
	if err != nil {
		return nil, err
	}
	defer it.Close()
	out := map[string]string{}
	for it.Next() {
		key := string(it.Key()[5:])
		e, _, err := r.get(key)
		if err != nil {
			return nil, err
		}
		if e.deleted {
			out[key] = "deleted@" + e.stamp.Version.String()
		} else {
			out[key] = e.value + "@" + e.stamp.Version.String()
		}
	}
	return out, it.Close()
}

// fleet is a set of regs regions, each with its store, server and replicator.
type fleet struct {
	t       testing.TB
	regions []string
	net     *linknet.Net

	mu     sync.Mutex
	nodes  map[string]*node
	stores map[string]kv.Store
}

// node is one running region.
type node struct {
	regs   *regs
	repl   *Replicator
	http   *http.Server
	cancel context.CancelFunc
	done   chan struct{}
}

func newFleet(t testing.TB, regions ...string) *fleet {
	f := &fleet{t: t, regions: regions,
		net:    linknet.New(&http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}),
		nodes:  map[string]*node{},
		stores: map[string]kv.Store{},
	}
	for _, r := range regions {
		s, err := kv.OpenMemory()
		if err != nil {
			t.Fatal(err)
		}
		f.stores[r] = s
		f.start(r)
	}
	t.Cleanup(func() {
		for _, r := range regions {
			f.stop(r)
			f.stores[r].Close()
		}
		f.net.Close()
	})
	return f
}

func (f *fleet) start(region string) {
	f.t.Helper()
	clock := NewClock(nil)
	srv := NewServer(ServerOptions{Heartbeat: 20 * time.Millisecond, Caller: func(r *http.Request) (string, bool) {
		c := r.Header.Get("X-Test-Region")
		return c, c != ""
	}})
	rg, err := newRegs(region, f.stores[region], clock, srv)
	if err != nil {
		f.t.Fatal(err)
	}
	// The clock starts past everything the region wrote before a restart.
	if st, err := rg.state(); err == nil {
		for k := range st {
			if e, _, err := rg.get(k); err == nil {
				clock.Observe(e.stamp.Version.TS)
			}
		}
	}
	repl, err := NewReplicator(ReplicatorOptions{Region: region, Peers: f.net.Doer(region), Clock: clock,
		IdleTimeout: 200 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	if err != nil {
		f.t.Fatal(err)
	}
	var subs []Subscription
	for _, src := range f.regions {
		subs = append(subs, Subscription{Service: regsService, Source: src, Stream: regsStream, Sink: rg})
	}
	repl.Set(subs)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.t.Fatal(err)
	}
	hs := &http.Server{Handler: srv}
	ctx, cancel := context.WithCancel(context.Background())
	n := &node{regs: rg, repl: repl, http: hs, cancel: cancel, done: make(chan struct{})}
	go hs.Serve(ln)
	go func() {
		defer close(n.done)
		repl.Run(ctx)
	}()
	f.mu.Lock()
	f.nodes[region] = n
	f.mu.Unlock()
	f.net.SetAddr(region, ln.Addr().String())
}

// stop stops a region as a crash would, but for its store, which keeps what was
// committed (Sync) — the state a kill -9 leaves.
func (f *fleet) stop(region string) {
	f.mu.Lock()
	n := f.nodes[region]
	delete(f.nodes, region)
	f.mu.Unlock()
	f.net.SetAddr(region, "")
	if n == nil {
		return
	}
	n.cancel()
	n.http.Close()
	<-n.done
}

func (f *fleet) node(region string) *node {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.nodes[region]
}

// partition cuts (or heals) the link between a and b, ending pulls under way.
func (f *fleet) partition(a, b string, cut bool) { f.net.Cut(a, b, cut) }

func (f *fleet) healAll() {
	for i, a := range f.regions {
		for _, b := range f.regions[i+1:] {
			f.partition(a, b, false)
		}
	}
}

// converged reports nil when every running region holds the same registers.
func (f *fleet) converged() error {
	var first map[string]string
	var firstRegion string
	for _, r := range f.regions {
		n := f.node(r)
		if n == nil {
			return fmt.Errorf("%s is down", r)
		}
		st, err := n.regs.state()
		if err != nil {
			return err
		}
		if first == nil {
			first, firstRegion = st, r
			continue
		}
		if len(st) != len(first) {
			return fmt.Errorf("%s has %d registers, %s %d", r, len(st), firstRegion, len(first))
		}
		for k, v := range first {
			if st[k] != v {
				return fmt.Errorf("register %s: %s in %s, %s in %s", k, v, firstRegion, st[k], r)
			}
		}
	}
	return nil
}

// quiesced reports nil when every region has pulled everything every other
// region logged, and they hold the same registers.
func (f *fleet) quiesced() error {
	for _, r := range f.regions {
		n := f.node(r)
		if n == nil {
			return fmt.Errorf("%s is down", r)
		}
		for _, src := range f.regions {
			if src == r {
				continue
			}
			cursor, err := n.regs.Cursor(src, regsStream)
			if err != nil {
				return err
			}
			s := f.node(src)
			if s == nil {
				return fmt.Errorf("%s is down", src)
			}
			s.regs.mu.Lock()
			head := s.regs.seq
			s.regs.mu.Unlock()
			if cursor != head {
				return fmt.Errorf("%s has pulled %s up to %d of %d", r, src, cursor, head)
			}
		}
	}
	return f.converged()
}

// conflicts returns every conflict recorded in the fleet.
func (f *fleet) conflicts() ([]Conflict, error) {
	var out []Conflict
	for _, r := range f.regions {
		cs, err := ListConflicts(f.stores[r], regsService, regsStream, Timestamp{}, 0)
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
	}
	return out, nil
}
