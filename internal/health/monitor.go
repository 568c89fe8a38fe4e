package health

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultQuorum is the fraction of reporting vantage points that must say healthy, more
// than which a check is healthy: Route 53's 18%.
const DefaultQuorum = 0.18

// freshnessGrace is added to 3 × RequestInterval to make the freshness window.
const freshnessGrace = 2 * time.Second

// refreshEvery is how often Run re-evaluates freshness, so that a vantage point that stops
// reporting drops out within about a second of its window.
const refreshEvery = time.Second

// Observation is one vantage point's view of one check, after its FailureThreshold: what a
// region publishes after each probe and the others receive through [Monitor.Observe].
type Observation struct {
	CheckID string `json:"check_id"`
	// Region is the vantage point.
	Region string `json:"region"`
	// Healthy is the vantage point's state: it flips only after FailureThreshold
	// consecutive probe results that disagree with it.
	Healthy bool `json:"healthy"`
	// LastResult is the latest probe's own result (Inverted applied).
	LastResult bool `json:"last_result"`
	// Reason is the latest probe's reason ("HTTP 500"), prefixed "inverted: " for inverted
	// checks.
	Reason string `json:"reason,omitempty"`
	// CheckedAt is when the latest probe finished, by the vantage point's clock.
	CheckedAt time.Time `json:"checked_at"`
}

// Options configure a [Monitor].
type Options struct {
	// Region is this vantage point's name; required. It is sent in the User-Agent header
	// and names the observations published.
	Region string
	// Quorum is the fraction of reporting vantage points that must say healthy, MORE than
	// which a check is healthy: 0 < Quorum < 1; 0 means [DefaultQuorum] (0.18).
	Quorum float64
	// Logger receives state changes; nil discards. Pass one scoped to the component.
	Logger *slog.Logger
	// Registerer gets the gauges; nil registers nothing.
	Registerer prometheus.Registerer
	// Prober probes; nil uses the default timeouts. It must not change after New.
	Prober *Prober
	// Now is the clock that stamps observations and judges their freshness; nil is
	// time.Now. (Probe timeouts and intervals use real time.)
	Now func() time.Time
	// Publish, if set, is called with every local observation after each probe, for the
	// caller to ship to the other regions (whose monitors call Observe). It is called from
	// the probe goroutines, concurrently for different checks, never after Run returns; it
	// must not block for long and must not call back into the Monitor synchronously in a
	// way that waits for a probe.
	Publish func(Observation)
}

// Validate reports every problem of the options at once.
func (o *Options) Validate() error {
	var p []string
	if o.Region == "" {
		p = append(p, "region: required")
	}
	if math.IsNaN(o.Quorum) || o.Quorum < 0 || o.Quorum >= 1 {
		p = append(p, fmt.Sprintf("quorum: %v is outside [0, 1) (0 means the default, %v)", o.Quorum, DefaultQuorum))
	}
	if len(p) > 0 {
		return errors.New("health: invalid options: " + strings.Join(p, "; "))
	}
	return nil
}

// Monitor probes the checks from this region, gathers the observations of every region, and
// serves the overall status of each check. Create it with [New]; it is safe for concurrent
// use.
type Monitor struct {
	region  string
	quorum  float64
	logger  *slog.Logger
	prober  *Prober
	now     func() time.Time
	publish func(Observation)
	metrics *metrics

	// Test hooks, set before SetChecks and Run. probe replaces the prober. interval, when
	// positive, replaces every check's RequestInterval (for probing and freshness); grace
	// replaces freshnessGrace; refreshEvery is Run's re-evaluation period.
	probe        func(ctx context.Context, c Check, vantage string) Result
	interval     time.Duration
	grace        time.Duration
	refreshEvery time.Duration

	snap atomic.Pointer[Snapshot]

	mu       sync.Mutex
	checks   map[string]*checkState
	order    []string            // ids, sorted
	parents  map[string][]string // child id → ids of the CALCULATED checks that list it
	watchers map[chan *Snapshot]struct{}
	running  bool
	runCtx   context.Context
	wg       sync.WaitGroup // probe loops
}

// checkState is one check's definition and everything known about it. A changed definition
// gets a new checkState; a probe loop records results only while its checkState is current.
type checkState struct {
	def    Check
	local  machine
	obs    map[string]Observation // latest per region, this one included
	cancel context.CancelFunc     // stops the probe loop; nil without one
	state  State                  // "" until first evaluated
	reason string
	since  time.Time
}

// New returns a Monitor with no checks. It validates opts and registers the gauges.
func New(opts Options) (*Monitor, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	met, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("health: registering metrics: %w", err)
	}
	m := &Monitor{
		region:       opts.Region,
		quorum:       opts.Quorum,
		logger:       opts.Logger,
		prober:       opts.Prober,
		now:          opts.Now,
		publish:      opts.Publish,
		metrics:      met,
		grace:        freshnessGrace,
		refreshEvery: refreshEvery,
		checks:       map[string]*checkState{},
		parents:      map[string][]string{},
		watchers:     map[chan *Snapshot]struct{}{},
	}
	if m.quorum == 0 {
		m.quorum = DefaultQuorum
	}
	if m.logger == nil {
		m.logger = slog.New(slog.DiscardHandler)
	}
	if m.now == nil {
		m.now = time.Now
	}
	m.probe = m.prober.Probe
	m.snap.Store(&Snapshot{Version: 1, states: map[string]State{}})
	return m, nil
}

// needsLoop reports whether a check is probed from here.
func needsLoop(c *Check) bool { return c.Type.probed() && !c.Disabled }

// intervalOf is the time between two probes of c.
func (m *Monitor) intervalOf(c *Check) time.Duration {
	if m.interval > 0 {
		return m.interval
	}
	return time.Duration(c.RequestInterval)
}

// window is how long an observation of c stays fresh: 3 × interval + 2 s, stretched when
// needed so that one probe that runs to its longest timeout does not make its vantage point
// drop out (interval + longest probe + 2 s; this matters only for intervals under 5 s).
func (m *Monitor) window(c *Check) time.Duration {
	iv := m.intervalOf(c)
	return max(3*iv+m.grace, iv+m.prober.longest(c.Type)+m.grace)
}

// SetChecks replaces the set of checks. Each is defaulted ([Check.SetDefaults]) and the set
// validated ([ValidateSet]); if it is invalid, nothing changes and the error says why.
// Otherwise probe loops start for new checks, stop for removed ones, and restart for
// checks whose definition changed (its local state starts again unknown; the other
// regions' latest observations are kept). Removed checks lose their observations and
// metric series. Observations for ids not in the set are dropped.
func (m *Monitor) SetChecks(checks []Check) error {
	defs := make([]Check, len(checks))
	for i := range checks {
		defs[i] = checks[i].clone()
		defs[i].SetDefaults()
	}
	if err := ValidateSet(defs); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	next := make(map[string]*checkState, len(defs))
	for i := range defs {
		d := &defs[i]
		old := m.checks[d.ID]
		if old != nil && old.def.equal(d) {
			next[d.ID] = old
			continue
		}
		cs := &checkState{def: *d, obs: map[string]Observation{}}
		if old != nil {
			m.stopLocked(old)
			if d.Type.probed() {
				for r, o := range old.obs {
					if r != m.region {
						cs.obs[r] = o
					}
				}
			}
			cs.state, cs.since = old.state, old.since
			m.metrics.vantage.DeletePartialMatch(prometheus.Labels{"check": d.ID})
		}
		next[d.ID] = cs
		if m.running && needsLoop(d) {
			m.startLocked(cs)
		}
	}
	for id, old := range m.checks {
		if next[id] == nil {
			m.stopLocked(old)
			m.metrics.forget(id)
		}
	}
	m.checks = next
	m.order = m.order[:0]
	clear(m.parents)
	for id, cs := range next {
		m.order = append(m.order, id)
		for _, child := range cs.def.ChildHealthChecks {
			m.parents[child] = append(m.parents[child], id)
		}
	}
	slices.Sort(m.order)
	m.refreshLocked(true)
	return nil
}

// startLocked starts the probe loop of cs under Run's context.
func (m *Monitor) startLocked(cs *checkState) {
	ctx, cancel := context.WithCancel(m.runCtx)
	cs.cancel = cancel
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.loop(ctx, cs)
	}()
}

func (m *Monitor) stopLocked(cs *checkState) {
	if cs.cancel != nil {
		cs.cancel()
		cs.cancel = nil
	}
}

// loop probes cs.def every interval, the first time after a random jitter of up to 10% of
// the interval, until ctx ends.
func (m *Monitor) loop(ctx context.Context, cs *checkState) {
	iv := m.intervalOf(&cs.def)
	t := time.NewTimer(rand.N(iv/10 + 1))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		start := time.Now()
		res := m.probe(ctx, cs.def, m.region)
		if ctx.Err() != nil {
			return
		}
		m.record(cs, res)
		t.Reset(max(0, iv-time.Since(start)))
	}
}

// record enters a local probe result into cs's state machine, and publishes the
// resulting observation.
func (m *Monitor) record(cs *checkState, res Result) {
	m.mu.Lock()
	if m.checks[cs.def.ID] != cs {
		m.mu.Unlock()
		return // the definition changed or was removed while probing
	}
	ok, reason := res.Healthy, res.Reason
	if cs.def.Inverted {
		ok, reason = !ok, "inverted: "+reason
	}
	cs.local.record(ok, cs.def.FailureThreshold)
	o := Observation{
		CheckID:    cs.def.ID,
		Region:     m.region,
		Healthy:    cs.local.healthy,
		LastResult: ok,
		Reason:     reason,
		CheckedAt:  m.now(),
	}
	cs.obs[m.region] = o
	m.updateLocked(cs)
	m.mu.Unlock()
	if m.publish != nil {
		m.publish(o)
	}
}

// Observe takes another region's observation. Only the newest per (check, region) is kept:
// one not newer (by CheckedAt) than the one held is ignored. Observations of unknown check
// ids, without a region, or claiming to come from this region are dropped.
func (m *Monitor) Observe(o Observation) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cs := m.checks[o.CheckID]
	if cs == nil || o.Region == "" || o.Region == m.region {
		return
	}
	if old, ok := cs.obs[o.Region]; ok && !o.CheckedAt.After(old.CheckedAt) {
		return
	}
	cs.obs[o.Region] = o
	m.updateLocked(cs)
}

// Run runs the probe loops of the current checks (and of the checks SetChecks adds while it
// runs), and re-evaluates freshness every second. It returns nil once ctx has ended and
// every probe goroutine has stopped; Publish is not called after it returns. It may be
// called again after it returns, but not while it runs.
func (m *Monitor) Run(ctx context.Context) error {
	m.mu.Lock()
	if m.running {
		m.mu.Unlock()
		return errors.New("health: Monitor.Run is already running")
	}
	m.running, m.runCtx = true, ctx
	for _, id := range m.order {
		if cs := m.checks[id]; needsLoop(&cs.def) {
			m.startLocked(cs)
		}
	}
	m.mu.Unlock()

	t := time.NewTicker(m.refreshEvery)
	defer t.Stop()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-t.C:
			m.mu.Lock()
			m.refreshLocked(false)
			m.mu.Unlock()
		}
	}
	m.mu.Lock()
	m.running, m.runCtx = false, nil
	for _, cs := range m.checks {
		m.stopLocked(cs)
	}
	m.mu.Unlock()
	m.wg.Wait()
	return nil
}

// evalLocked re-evaluates one check (a CALCULATED one from its children's current states)
// and updates its gauges. It reports whether its state changed.
func (m *Monitor) evalLocked(cs *checkState, now time.Time) bool {
	id := cs.def.ID
	var v verdict
	switch {
	case cs.def.Disabled:
		v = verdict{StateHealthy, "disabled"}
	case cs.def.Type == TypeCalculated:
		states := make([]State, len(cs.def.ChildHealthChecks))
		for i, child := range cs.def.ChildHealthChecks {
			states[i] = StateInitializing
			if c := m.checks[child]; c != nil && c.state != "" {
				states[i] = c.state
			}
		}
		v = calculate(&cs.def, states)
	default:
		obs := cs.sortedObs()
		window := m.window(&cs.def)
		v = aggregate(obs, now, window, m.quorum)
		for _, o := range obs {
			g := -1.0
			if fresh(o, now, window) {
				g = stateOf(o.Healthy).gauge()
			}
			m.metrics.vantage.WithLabelValues(id, o.Region).Set(g)
		}
	}
	cs.reason = v.reason
	m.metrics.healthy.WithLabelValues(id).Set(v.state.gauge())
	if v.state == cs.state {
		return false
	}
	level := slog.LevelDebug
	if cs.state.known() || v.state.known() {
		level = slog.LevelInfo
	}
	m.logger.Log(context.Background(), level, "health check status changed",
		"check", id, "from", cs.state, "to", v.state, "reason", v.reason)
	cs.state, cs.since = v.state, now
	return true
}

func (cs *checkState) sortedObs() []Observation {
	obs := make([]Observation, 0, len(cs.obs))
	for _, o := range cs.obs {
		obs = append(obs, o)
	}
	slices.SortFunc(obs, func(a, b Observation) int { return strings.Compare(a.Region, b.Region) })
	return obs
}

// updateLocked re-evaluates cs and, if its state changed, the CALCULATED checks that list
// it; a new Snapshot goes out if any state changed.
func (m *Monitor) updateLocked(cs *checkState) {
	now := m.now()
	if !m.evalLocked(cs, now) {
		return
	}
	for _, p := range m.parents[cs.def.ID] {
		m.evalLocked(m.checks[p], now)
	}
	m.publishSnapshotLocked()
}

// refreshLocked re-evaluates every check (the CALCULATED ones last) and sends a new
// Snapshot if any state changed, or if force.
func (m *Monitor) refreshLocked(force bool) {
	now := m.now()
	changed := force
	for _, calculated := range []bool{false, true} {
		for _, id := range m.order {
			if cs := m.checks[id]; (cs.def.Type == TypeCalculated) == calculated {
				changed = m.evalLocked(cs, now) || changed
			}
		}
	}
	if changed {
		m.publishSnapshotLocked()
	}
}

// publishSnapshotLocked stores a new Snapshot of every check's state and hands it to every
// watcher, replacing one it has not read yet.
func (m *Monitor) publishSnapshotLocked() {
	states := make(map[string]State, len(m.checks))
	for id, cs := range m.checks {
		states[id] = cs.state
	}
	s := &Snapshot{Version: m.snap.Load().Version + 1, states: states}
	m.snap.Store(s)
	for ch := range m.watchers {
		select {
		case <-ch:
		default:
		}
		ch <- s // cannot block: only this function sends, under m.mu, after emptying ch
	}
}

// VantageStatus is one vantage point's latest observation of a check.
type VantageStatus struct {
	Region    string    `json:"region"`
	Healthy   bool      `json:"healthy"`
	Reason    string    `json:"reason,omitempty"`
	CheckedAt time.Time `json:"checked_at"`
	// Reporting is false once the observation is older than the freshness window
	// (3 × RequestInterval + 2 s); it then no longer counts.
	Reporting bool `json:"reporting"`
}

// CheckStatus is the overall status of a check, with every vantage point's latest
// observation.
type CheckStatus struct {
	ID    string `json:"id"`
	State State  `json:"state"`
	// Healthy fails open: it is true while the check is initializing.
	Healthy bool `json:"healthy"`
	// Initializing is true until a vantage point has reported (for a CALCULATED check:
	// until its children decide it). Consumers that need a passing check (the edge
	// accelerator) test it.
	Initializing bool   `json:"initializing"`
	Reason       string `json:"reason"`
	// Since is when State last changed (by the Monitor's clock).
	Since    time.Time       `json:"since,omitzero"`
	Vantages []VantageStatus `json:"vantages,omitempty"`
}

// Known reports whether the status is healthy or unhealthy rather than initializing.
func (s CheckStatus) Known() bool { return !s.Initializing }

// Status returns the current status of a check, freshness judged now; false if there is no
// such check.
func (m *Monitor) Status(id string) (CheckStatus, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.refreshLocked(false)
	cs := m.checks[id]
	if cs == nil {
		return CheckStatus{}, false
	}
	return m.statusLocked(cs, m.now()), true
}

// Statuses returns the current status of every check, sorted by id.
func (m *Monitor) Statuses() []CheckStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.refreshLocked(false)
	now := m.now()
	out := make([]CheckStatus, 0, len(m.order))
	for _, id := range m.order {
		out = append(out, m.statusLocked(m.checks[id], now))
	}
	return out
}

func (m *Monitor) statusLocked(cs *checkState, now time.Time) CheckStatus {
	s := CheckStatus{
		ID:           cs.def.ID,
		State:        cs.state,
		Healthy:      cs.state.healthy(),
		Initializing: !cs.state.known(),
		Reason:       cs.reason,
		Since:        cs.since,
	}
	window := m.window(&cs.def)
	for _, o := range cs.sortedObs() {
		s.Vantages = append(s.Vantages, VantageStatus{
			Region:    o.Region,
			Healthy:   o.Healthy,
			Reason:    o.Reason,
			CheckedAt: o.CheckedAt,
			Reporting: fresh(o, now, window),
		})
	}
	return s
}

// Snapshot is an immutable view of every check's overall state. A new one, with a higher
// Version, is made whenever a check's state changes or checks are set.
type Snapshot struct {
	// Version increases by one with each new snapshot of a Monitor, starting at 1.
	Version uint64
	states  map[string]State
}

// Healthy reports whether the check is healthy, failing open: an initializing check, and an
// id that is not in the snapshot, are healthy. known is false for both; consumers that need
// a passing check first (the edge accelerator) require healthy && known.
func (s *Snapshot) Healthy(id string) (healthy, known bool) {
	st, ok := s.states[id]
	if !ok {
		return true, false
	}
	return st.healthy(), st.known()
}

// State returns the check's state; false if there is no such check.
func (s *Snapshot) State(id string) (State, bool) {
	st, ok := s.states[id]
	return st, ok
}

// IDs returns the ids of the checks in the snapshot, sorted.
func (s *Snapshot) IDs() []string {
	ids := make([]string, 0, len(s.states))
	for id := range s.states {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Snapshot returns the current snapshot without locking.
func (m *Monitor) Snapshot() *Snapshot { return m.snap.Load() }

// Watch returns a channel that delivers the current snapshot at once, then a new one each
// time a check's overall state changes or the set of checks changes. A reader that falls
// behind gets the latest snapshot, never a backlog, and never blocks the Monitor. The
// channel is closed when ctx ends.
func (m *Monitor) Watch(ctx context.Context) <-chan *Snapshot {
	ch := make(chan *Snapshot, 1)
	m.mu.Lock()
	ch <- m.snap.Load()
	m.watchers[ch] = struct{}{}
	m.mu.Unlock()
	context.AfterFunc(ctx, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(m.watchers, ch)
		close(ch)
	})
	return ch
}
