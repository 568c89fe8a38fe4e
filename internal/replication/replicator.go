package replication

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Doer sends a request to a region over the peer transport: *peer.Client.
type Doer interface {
	Do(req *http.Request, region string) (*http.Response, error)
}

// Sink is how a service applies what it pulls from one source region.
type Sink interface {
	// Cursor returns the position stored for (source, stream): 0 if there is none.
	Cursor(source, stream string) (uint64, error)
	// Apply applies b's records, pulled from source, and stores b.Next as the cursor
	// of (source, stream) in the same atomic commit. After a crash the records after
	// the stored cursor come again, so applying must be idempotent ([Decide] makes it
	// so). The commit need not wait for the disk — the source keeps the records — if
	// a crash can lose it only together with every later commit of the sink, and the
	// sink never hands out again, after such a crash, a position of its own log that a
	// reader may have passed.
	Apply(source, stream string, b *Batch) error
}

// Subscription is one stream a region pulls from one source region.
type Subscription struct {
	Service string
	Source  string // the region pulled from
	Stream  string
	Sink    Sink
}

func (s Subscription) key() subKey { return subKey{s.Service, s.Source, s.Stream} }

type subKey struct{ service, source, stream string }

// ReplicatorOptions configure a [Replicator]. Region, Peers and Clock are
// required.
type ReplicatorOptions struct {
	// Region is this region's name.
	Region string
	// Peers sends the pulls.
	Peers Doer
	// Clock is the region's hybrid logical clock; it observes every record pulled,
	// so that writes made here afterwards win over what was seen.
	Clock *Clock
	// IdleTimeout ends a pull that got no frame for that long (the source sends
	// heartbeats); 0: 4 × DefaultHeartbeat.
	IdleTimeout time.Duration
	// MaxBackoff bounds the wait between failed pulls; 0: 2 s.
	MaxBackoff time.Duration
	// Metrics receive lag and progress; nil: not recorded.
	Metrics *Metrics
	// Logger receives the replicator's records; nil: discarded.
	Logger *slog.Logger
	// Now is the clock for latency measurements; nil: time.Now.
	Now func() time.Time
}

// Replicator runs this region's pulls: one loop per [Subscription], which asks
// the source for the stream from the stored cursor, applies each frame — with
// the frames that arrived meanwhile, up to 4 MiB, in one Sink.Apply — before
// reading more (so a slow receiver slows the source's writes to this stream's
// pull, not its memory), and reconnects with backoff after any failure. It is
// safe for concurrent use.
type Replicator struct {
	opts ReplicatorOptions

	mu      sync.Mutex
	ctx     context.Context // nil until Run
	wg      sync.WaitGroup
	pulls   map[subKey]*pull
	pending []Subscription // set before Run
}

// NewReplicator returns a Replicator with no subscription.
func NewReplicator(opts ReplicatorOptions) (*Replicator, error) {
	var errs []error
	if opts.Region == "" {
		errs = append(errs, errors.New("replication: Region: required"))
	}
	if opts.Peers == nil {
		errs = append(errs, errors.New("replication: Peers: required"))
	}
	if opts.Clock == nil {
		errs = append(errs, errors.New("replication: Clock: required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 4 * DefaultHeartbeat
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 2 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Replicator{opts: opts, pulls: map[subKey]*pull{}}, nil
}

// Run runs the subscriptions until ctx ends, then stops every pull and waits for
// them.
func (r *Replicator) Run(ctx context.Context) error {
	r.mu.Lock()
	r.ctx = ctx
	pending := r.pending
	r.pending = nil
	r.mu.Unlock()
	r.Set(pending)
	<-ctx.Done()
	r.mu.Lock()
	for k, p := range r.pulls {
		p.cancel()
		delete(r.pulls, k)
	}
	r.mu.Unlock()
	r.wg.Wait()
	return nil
}

// Set makes subs the subscriptions: pulls not in subs stop, new ones start, and
// those in both go on undisturbed.
func (r *Replicator) Set(subs []Subscription) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctx == nil {
		r.pending = slices.Clone(subs)
		return
	}
	if r.ctx.Err() != nil {
		return
	}
	want := map[subKey]Subscription{}
	for _, s := range subs {
		if s.Source != r.opts.Region {
			want[s.key()] = s
		}
	}
	for k, p := range r.pulls {
		if _, ok := want[k]; !ok {
			p.cancel()
			delete(r.pulls, k)
		}
	}
	for k, s := range want {
		if _, ok := r.pulls[k]; ok {
			continue
		}
		ctx, cancel := context.WithCancel(r.ctx)
		p := &pull{sub: s, cancel: cancel, r: r}
		r.pulls[k] = p
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			p.run(ctx)
		}()
	}
}

// Status is the state of one subscription.
type Status struct {
	Service   string `json:"service"`
	Source    string `json:"source"`
	Stream    string `json:"stream"`
	Connected bool   `json:"connected"`
	Cursor    uint64 `json:"cursor"`
	Head      uint64 `json:"head"`    // the source's head at the last frame
	Pending   uint64 `json:"pending"` // Head - Cursor
	// PendingBytes is the source's count, at the last frame, of the bytes of its own
	// writes to the stream after Cursor (see Batch.PendingBytes).
	PendingBytes uint64    `json:"pending_bytes"`
	Watermark    Timestamp `json:"watermark"`           // the last watermark received (zero: none yet)
	LastFrame    time.Time `json:"last_frame,omitzero"` // when the last frame arrived
	// LastLatency is the latency of the last record applied: from its commit at the
	// source to its apply here.
	LastLatency time.Duration `json:"last_latency_ns"`
	Error       string        `json:"error,omitempty"` // why the pull is not connected
}

// Status returns the state of every subscription, sorted.
func (r *Replicator) Status() []Status {
	r.mu.Lock()
	pulls := make([]*pull, 0, len(r.pulls))
	for _, p := range r.pulls {
		pulls = append(pulls, p)
	}
	r.mu.Unlock()
	out := make([]Status, 0, len(pulls))
	for _, p := range pulls {
		out = append(out, p.status())
	}
	slices.SortFunc(out, func(a, b Status) int {
		return strings.Compare(a.Service+"\x00"+a.Stream+"\x00"+a.Source, b.Service+"\x00"+b.Stream+"\x00"+b.Source)
	})
	return out
}

// pull is one subscription's loop.
type pull struct {
	sub    Subscription
	cancel context.CancelFunc
	r      *Replicator

	mu sync.Mutex
	st Status
}

func (p *pull) status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.st
	st.Service, st.Source, st.Stream = p.sub.Service, p.sub.Source, p.sub.Stream
	if st.Head > st.Cursor {
		st.Pending = st.Head - st.Cursor
	}
	return st
}

func (p *pull) setError(err error) {
	p.mu.Lock()
	p.st.Connected = false
	p.st.Error = err.Error()
	p.mu.Unlock()
	if m := p.r.opts.Metrics; m != nil {
		m.connected.WithLabelValues(p.sub.Service, p.sub.Source, p.sub.Stream).Set(0)
	}
}

func (p *pull) run(ctx context.Context) {
	o := &p.r.opts
	log := o.Logger.With("service", p.sub.Service, "source", p.sub.Source, "stream", p.sub.Stream)
	backoff := 50 * time.Millisecond
	defer func() {
		if m := o.Metrics; m != nil {
			m.forget(p.sub)
		}
	}()
	for ctx.Err() == nil {
		began := time.Now()
		err := p.once(ctx)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			backoff = 50 * time.Millisecond
			continue
		}
		p.setError(err)
		wait := retryWait(backoff, time.Since(began))
		log.Debug("replication: pull ended", "err", err, "retry_in", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, o.MaxBackoff)
	}
}

// retryWait is how long to wait before the next pull after one that failed having taken
// took: what is left of the backoff. A pull that hung for the whole backoff or longer (a
// dial into a partition that black-holes bytes, which the peer transport gives up on after
// a few seconds) is retried at once, so that a connection attempt is always under way and
// the pull resumes as soon as the partition heals — its held bytes are delivered then —
// rather than after a backoff that began just before the heal. Quick failures (a refused
// connection, an error status) still wait the whole backoff.
func retryWait(backoff, took time.Duration) time.Duration {
	return max(backoff-took, 0)
}

// errIdle ends a pull whose source went silent.
var errIdle = errors.New("replication: no frame from the source within the idle timeout")

// once runs one pull request until it fails or ctx ends. A pull that applied at
// least one frame and then ended returns nil, so the next starts without delay.
func (p *pull) once(ctx context.Context) error {
	o := &p.r.opts
	cursor, err := p.sub.Sink.Cursor(p.sub.Source, p.sub.Stream)
	if err != nil {
		return fmt.Errorf("reading the cursor: %w", err)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, pullPath(p.sub.Service, p.sub.Stream, cursor), nil)
	if err != nil {
		return err
	}
	resp, err := o.Peers.Do(req, p.sub.Source)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("pull answered %s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	// The watchdog ends the request when no frame comes for IdleTimeout.
	idle := time.AfterFunc(o.IdleTimeout, func() { cancel(errIdle) })
	defer idle.Stop()
	applied := false
	body := bufio.NewReaderSize(resp.Body, coalesceBuffer)
	for {
		b, err := ReadBatch(body)
		if err == nil {
			err = coalesce(body, b)
		}
		if err != nil {
			if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
				err = cause
			}
			if applied && errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		idle.Reset(o.IdleTimeout)
		if b.Next < cursor {
			return fmt.Errorf("source went back from position %d to %d", cursor, b.Next)
		}
		for i := range b.Records {
			o.Clock.Observe(b.Records[i].Version.TS)
		}
		if !b.Watermark.IsZero() {
			// The source's clock read past it: writes made here afterwards are younger
			// than every write the source made before (tombstone collection relies on it).
			o.Clock.Observe(b.Watermark)
		}
		if err := p.sub.Sink.Apply(p.sub.Source, p.sub.Stream, b); err != nil {
			return fmt.Errorf("applying records up to position %d: %w", b.Next, err)
		}
		applied = true
		cursor = b.Next
		p.recordFrame(b)
	}
}

// Frames that have already arrived when one is read are applied with it, in one Sink.Apply
// (one durable commit), up to about coalesceBytes of frames: a source sends a frame per
// commit when it keeps up, and a receiver that committed each on its own would be bound by
// its commit latency (a few hundred frames a second) however small the frames. The buffer
// holds what the transport has delivered; nothing waits for more.
const (
	coalesceBuffer = 256 << 10
	coalesceBytes  = 4 << 20
)

// coalesce appends to b the frames already buffered in r, whole, up to coalesceBytes.
func coalesce(r *bufio.Reader, b *Batch) error {
	for taken := 0; taken < coalesceBytes; {
		n := r.Buffered()
		if n < 4 {
			return nil
		}
		hdr, err := r.Peek(4)
		if err != nil {
			return nil
		}
		size := 4 + int(binary.BigEndian.Uint32(hdr))
		if size > n {
			return nil // not all here: it is read (and waited for) on its own
		}
		next, err := ReadBatch(r)
		if err != nil {
			return err
		}
		if next.Next < b.Next {
			return fmt.Errorf("source went back from position %d to %d", b.Next, next.Next)
		}
		b.Records = append(b.Records, next.Records...)
		b.Next, b.Head = next.Next, max(b.Head, next.Head)
		b.PendingBytes = next.PendingBytes // counted after the later frame's Next
		// An earlier frame's watermark stays true after later frames: it bounds every
		// record after that frame from below.
		if !next.Watermark.IsZero() {
			b.Watermark = next.Watermark
		}
		taken += size
	}
	return nil
}

// recordFrame updates the status and metrics after b was applied.
func (p *pull) recordFrame(b *Batch) {
	o := &p.r.opts
	now := o.Now()
	var last time.Duration
	m := o.Metrics
	var latency prometheus.Observer // the subscription's series, looked up once a frame
	if m != nil && len(b.Records) > 0 {
		latency = m.latency.WithLabelValues(p.sub.Service, p.sub.Source, p.sub.Stream)
	}
	for i := range b.Records {
		r := &b.Records[i]
		if r.Committed != 0 {
			last = now.Sub(time.Unix(0, r.Committed))
		} else {
			last = now.Sub(r.Version.TS.Time())
		}
		if latency != nil {
			latency.Observe(max(last, 0).Seconds())
		}
	}
	p.mu.Lock()
	p.st.Connected, p.st.Error = true, ""
	p.st.Cursor, p.st.Head, p.st.LastFrame = b.Next, max(b.Head, b.Next), now
	p.st.PendingBytes = b.PendingBytes
	if !b.Watermark.IsZero() {
		p.st.Watermark = b.Watermark
	}
	if len(b.Records) > 0 {
		p.st.LastLatency = last
	}
	pending := p.st.Head - p.st.Cursor
	p.mu.Unlock()
	if m != nil {
		labels := []string{p.sub.Service, p.sub.Source, p.sub.Stream}
		m.connected.WithLabelValues(labels...).Set(1)
		m.pending.WithLabelValues(labels...).Set(float64(pending))
		m.pendingBytes.WithLabelValues(labels...).Set(float64(b.PendingBytes))
		m.applied.WithLabelValues(labels...).Add(float64(len(b.Records)))
	}
}
