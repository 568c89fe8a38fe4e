// Package netsim emulates a wide-area network between regions in user space.
//
// A [WAN] holds the condition of the path between every pair of regions: a
// one-way delay, a loss probability and whether the pair is partitioned. Each
// direction of a pair has its own [LinkState]; the setters change both
// directions at once. The owner of the WAN starts one [Link] per ordered pair
// of regions with [WAN.Listen]; region A reaches region B through the address
// of link (A→B), and the link relays every accepted TCP connection to B,
// applying State(A, B) to the bytes going to B and State(B, A) to the bytes
// coming back.
//
// # Delay
//
// Bytes read from one side at time t are written to the other side at
// t+Delay, where Delay is the one in effect when they were read. Bytes are
// always written in the order they were read, so a chunk never overtakes an
// earlier one even when the delay is lowered. Each direction queues at most a
// bounded number of bytes (8 MiB by default); when the bound is reached the
// link stops reading, and TCP flow control slows the sender down. Connection
// setup is not delayed: the first bytes take Delay, not Delay plus a
// handshake round trip.
//
// # Partition
//
// A partition is a black hole that loses nothing, like a cut cable under TCP
// retransmission: no bytes are forwarded in either direction, the link keeps
// reading until its bound is reached and holds what it read. Connections
// accepted during a partition are held too: the link dials the target only
// once the pair is healed (asking target again at that moment), or gives up
// when the client goes away. On heal the held bytes flow again in order; they
// arrive Delay after the heal, as retransmitted segments would.
//
// # Loss
//
// A TCP stream cannot drop bytes, so loss is emulated as the retransmission
// that would repair it: with probability Loss, a chunk of bytes (what one read
// returned) is delayed by an extra max(200ms, 2×Delay), the minimum
// retransmission timeout of Linux TCP or two one-way delays, whichever is
// larger. Bytes behind a late chunk wait for it (head-of-line blocking).
// Nothing is ever lost.
//
// # Control
//
// Every change applies at once to new bytes on existing connections and to
// new connections, and is logged at Info. [WAN.Handler] serves the changes as a
// JSON API under /v1/wan, and [Client] calls it.
package netsim

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// ErrLossRange is returned when a loss probability is not within [0, 1].
var ErrLossRange = errors.New("netsim: loss probability must be within [0, 1]")

// LinkState is the condition of one direction of the path between two regions.
type LinkState struct {
	Delay       time.Duration // one-way delay added to every byte
	Loss        float64       // 0..1, probability that a chunk is "lost" (delayed by a retransmission)
	Partitioned bool
}

// LogValue implements [slog.LogValuer].
func (s LinkState) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Duration("delay", s.Delay),
		slog.Float64("loss", s.Loss),
		slog.Bool("partitioned", s.Partitioned),
	)
}

// PairStatus is the state of the path between two regions. A and B are in
// lexical order: A < B.
type PairStatus struct {
	A, B     string
	Baseline time.Duration // the model one-way delay; Heal returns to it
	AtoB     LinkState     // the direction from A to B
	BtoA     LinkState     // the direction from B to A
}

// WAN is the emulated network between regions. The zero value is not usable;
// call [New]. A WAN is safe for concurrent use.
type WAN struct {
	log *slog.Logger

	mu      sync.Mutex
	pairs   map[pairKey]*PairStatus // guarded by mu; keyed by the ordered names
	regions map[string]bool         // guarded by mu; names given a baseline

	// snap is what the relays read on every chunk: an immutable copy of the
	// per-direction states, replaced (and its changed channel closed) on
	// every change.
	snap atomic.Pointer[snapshot]
}

// pairKey names a pair with a < b.
type pairKey struct{ a, b string }

// dirKey names one direction.
type dirKey struct{ from, to string }

type snapshot struct {
	states  map[dirKey]LinkState
	changed chan struct{} // closed when this snapshot is replaced
}

// New returns a WAN with no pairs: every direction has no delay, no loss and
// no partition until it is configured. A nil logger discards.
func New(logger *slog.Logger) *WAN {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	w := &WAN{
		log:     logger,
		pairs:   make(map[pairKey]*PairStatus),
		regions: make(map[string]bool),
	}
	w.snap.Store(&snapshot{states: map[dirKey]LinkState{}, changed: make(chan struct{})})
	return w
}

// SetBaseline sets the model one-way delay of the pair, both directions, and
// makes it the current delay too. Partition and loss are left as they are.
// Both names become known regions for [WAN.Handler]. A negative delay counts
// as zero.
func (w *WAN) SetBaseline(a, b string, oneWay time.Duration) {
	oneWay = max(oneWay, 0)
	w.change("baseline", a, b, func(p *PairStatus) {
		p.Baseline = oneWay
		p.AtoB.Delay = oneWay
		p.BtoA.Delay = oneWay
	})
}

// SetDelay sets the current one-way delay of the pair, both directions. A
// negative delay counts as zero.
func (w *WAN) SetDelay(a, b string, oneWay time.Duration) {
	oneWay = max(oneWay, 0)
	w.change("delay", a, b, func(p *PairStatus) {
		p.AtoB.Delay = oneWay
		p.BtoA.Delay = oneWay
	})
}

// SetLoss sets the loss probability of the pair, both directions. It returns
// an error wrapping [ErrLossRange] if p is not within [0, 1].
func (w *WAN) SetLoss(a, b string, p float64) error {
	if math.IsNaN(p) || p < 0 || p > 1 {
		return fmt.Errorf("%w: %v for %s-%s", ErrLossRange, p, a, b)
	}
	w.change("loss", a, b, func(ps *PairStatus) {
		ps.AtoB.Loss = p
		ps.BtoA.Loss = p
	})
	return nil
}

// Partition cuts the pair, both directions, at once.
func (w *WAN) Partition(a, b string) {
	w.change("partition", a, b, func(p *PairStatus) {
		p.AtoB.Partitioned = true
		p.BtoA.Partitioned = true
	})
}

// Heal returns the pair to its baseline: no partition, no loss, the baseline
// delay (zero if it has none).
func (w *WAN) Heal(a, b string) {
	w.change("heal", a, b, healPair)
}

// HealAll heals every pair.
func (w *WAN) HealAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, p := range w.sortedLocked() {
		healPair(p)
		w.logChange("heal", p)
	}
	w.publishLocked()
}

func healPair(p *PairStatus) {
	p.AtoB = LinkState{Delay: p.Baseline}
	p.BtoA = LinkState{Delay: p.Baseline}
}

// State returns the condition of the direction from one region to another.
func (w *WAN) State(from, to string) LinkState {
	return w.snap.Load().states[dirKey{from, to}]
}

// Pairs returns every pair that has a baseline or was changed, sorted by A
// then B.
func (w *WAN) Pairs() []PairStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	sorted := w.sortedLocked()
	out := make([]PairStatus, len(sorted))
	for i, p := range sorted {
		out[i] = *p
	}
	return out
}

// Regions returns the names given a baseline, sorted.
func (w *WAN) Regions() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	names := make([]string, 0, len(w.regions))
	for r := range w.regions {
		names = append(names, r)
	}
	slices.Sort(names)
	return names
}

func (w *WAN) knownRegion(name string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.regions[name]
}

// change applies fn to the pair a-b (created if new), publishes the new
// states and logs them.
func (w *WAN) change(what, a, b string, fn func(*PairStatus)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	k := orderedPair(a, b)
	p := w.pairs[k]
	if p == nil {
		p = &PairStatus{A: k.a, B: k.b}
		w.pairs[k] = p
	}
	fn(p)
	if what == "baseline" {
		w.regions[a] = true
		w.regions[b] = true
	}
	w.publishLocked()
	w.logChange(what, p)
}

func (w *WAN) logChange(what string, p *PairStatus) {
	w.log.Info("wan pair changed", "change", what, "a", p.A, "b", p.B,
		"baseline", p.Baseline, "a_to_b", p.AtoB, "b_to_a", p.BtoA)
}

// publishLocked replaces the snapshot and wakes everything watching the old one.
func (w *WAN) publishLocked() {
	states := make(map[dirKey]LinkState, 2*len(w.pairs))
	for _, p := range w.pairs {
		states[dirKey{p.A, p.B}] = p.AtoB
		states[dirKey{p.B, p.A}] = p.BtoA
	}
	old := w.snap.Swap(&snapshot{states: states, changed: make(chan struct{})})
	close(old.changed)
}

func (w *WAN) sortedLocked() []*PairStatus {
	out := make([]*PairStatus, 0, len(w.pairs))
	for _, p := range w.pairs {
		out = append(out, p)
	}
	slices.SortFunc(out, func(x, y *PairStatus) int {
		return cmp.Or(cmp.Compare(x.A, y.A), cmp.Compare(x.B, y.B))
	})
	return out
}

func orderedPair(a, b string) pairKey {
	if b < a {
		a, b = b, a
	}
	return pairKey{a, b}
}

// retransmitPenalty is the extra delay of a "lost" chunk: max(200ms, 2×delay).
func retransmitPenalty(delay time.Duration) time.Duration {
	return max(200*time.Millisecond, 2*delay)
}
