package control

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/polyregion/polyregion/internal/kv"
)

// Client is what a node needs of the peer transport: streams for Raft and requests for
// forwarding writes to the leader.
type Client interface {
	Dialer
	Do(req *http.Request, region string) (*http.Response, error)
}

// Timing holds Raft's timeouts; the zero value takes defaults suited to a WAN.
type Timing struct {
	HeartbeatTimeout   time.Duration // default 1s
	ElectionTimeout    time.Duration // default 1s
	LeaderLeaseTimeout time.Duration // default 500ms
	// WriteTimeout bounds a control write that cannot reach a leader with a majority;
	// default 5s.
	WriteTimeout time.Duration
}

// Options configure a node.
type Options struct {
	Region string
	// Bootstrap lists the voters of a brand-new fleet (every configured region). A node
	// with no Raft state bootstraps with them unless a peer already has a cluster, in which
	// case it asks to join.
	Bootstrap []string
	// Join forbids bootstrapping: the node only joins an existing cluster.
	Join bool
	// Store holds Raft's log and the applied state; SnapshotDir Raft's snapshots.
	Store       kv.Store
	SnapshotDir string
	Client      Client
	Validate    Validator
	Logger      *slog.Logger
	Registerer  prometheus.Registerer
	Timing      Timing
}

// Node is one region's member of the replicated control plane.
type Node struct {
	opts   Options
	logger *slog.Logger
	fsm    *fsm
	store  *raftStore
	layer  *streamLayer

	mu      sync.Mutex
	raft    *raft.Raft
	started chan struct{}

	// waiters are the goroutines waiting on Raft futures for callers that gave up; Run
	// waits for them after Raft shuts down (which ends every future). closing, under mu,
	// refuses new ones once Run is ending.
	waiters sync.WaitGroup
	closing bool

	metrics *nodeMetrics
}

// Open loads the region's last applied state, which [Node.State] serves at once, before
// and without a quorum. [Node.Run] starts taking part in the cluster.
func Open(opts Options) (*Node, error) {
	if opts.Region == "" || opts.Store == nil || opts.Client == nil || opts.SnapshotDir == "" {
		return nil, errors.New("control: Region, Store, Client and SnapshotDir are required")
	}
	t := &opts.Timing
	if t.HeartbeatTimeout == 0 {
		t.HeartbeatTimeout = time.Second
	}
	if t.ElectionTimeout == 0 {
		t.ElectionTimeout = time.Second
	}
	if t.LeaderLeaseTimeout == 0 {
		t.LeaderLeaseTimeout = 500 * time.Millisecond
	}
	if t.WriteTimeout == 0 {
		t.WriteTimeout = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	f, err := loadFSM(opts.Store, opts.Validate)
	if err != nil {
		return nil, err
	}
	n := &Node{
		opts:    opts,
		logger:  opts.Logger,
		fsm:     f,
		store:   &raftStore{db: opts.Store},
		layer:   newStreamLayer(opts.Region, opts.Client),
		started: make(chan struct{}),
	}
	n.metrics = newNodeMetrics(n, opts.Registerer)
	return n, nil
}

// HandleStream takes a Raft connection from the peer server (register it for StreamProto).
func (n *Node) HandleStream(c net.Conn, region string) { n.layer.handle(c) }

// Run takes part in the cluster until ctx ends, then leaves Raft cleanly.
func (n *Node) Run(ctx context.Context) error {
	if err := os.MkdirAll(n.opts.SnapshotDir, 0o700); err != nil {
		return fmt.Errorf("control: %w", err)
	}
	hl := hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Info, Output: &hclogWriter{logger: n.logger}, DisableTime: true})
	snaps, err := raft.NewFileSnapshotStoreWithLogger(n.opts.SnapshotDir, 2, hl)
	if err != nil {
		return fmt.Errorf("control: snapshots: %w", err)
	}
	trans := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  n.layer,
		MaxPool: 3,
		Timeout: 5 * time.Second,
		Logger:  hl,
	})
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(n.opts.Region)
	rc.Logger = hl
	rc.HeartbeatTimeout = n.opts.Timing.HeartbeatTimeout
	rc.ElectionTimeout = n.opts.Timing.ElectionTimeout
	rc.LeaderLeaseTimeout = n.opts.Timing.LeaderLeaseTimeout
	rc.SnapshotThreshold = 1024
	has, err := raft.HasExistingState(n.store, n.store, snaps)
	if err != nil {
		trans.Close()
		return fmt.Errorf("control: %w", err)
	}
	r, err := raft.NewRaft(rc, n.fsm, n.store, n.store, snaps, trans)
	if err != nil {
		trans.Close()
		return fmt.Errorf("control: starting raft: %w", err)
	}
	n.mu.Lock()
	n.raft = r
	n.mu.Unlock()
	close(n.started)

	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if !has {
			n.bootstrapOrJoin(ctx)
		}
	}()
	go func() {
		defer wg.Done()
		n.watchLeader(ctx)
	}()
	<-ctx.Done()
	wg.Wait()
	n.mu.Lock()
	n.closing = true
	n.mu.Unlock()
	err = r.Shutdown().Error()
	n.waiters.Wait()
	n.layer.Close()
	trans.Close()
	return err
}

// bootstrapOrJoin starts a brand-new node: it bootstraps the fleet's cluster unless a peer
// already runs one, and otherwise asks to join until it is a member.
func (n *Node) bootstrapOrJoin(ctx context.Context) {
	if !n.opts.Join {
		existing, includesMe := n.probePeers(ctx)
		if ctx.Err() != nil {
			return
		}
		switch {
		case !existing:
			var servers []raft.Server
			for _, region := range n.opts.Bootstrap {
				servers = append(servers, raft.Server{ID: raft.ServerID(region), Address: raft.ServerAddress(region), Suffrage: raft.Voter})
			}
			n.logger.Info("bootstrapping the control plane", "voters", n.opts.Bootstrap)
			if err := n.raft.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
				n.logger.Error("bootstrap failed", "err", err)
			}
			return
		case includesMe:
			n.logger.Info("a peer already runs the control plane with this region as a member; waiting for the leader")
			return
		}
	}
	// Join: ask the peers, in turn, until the leader has added this region. A node outside
	// the cluster does not know the leader; any member forwards the request to it.
	body, _ := json.Marshal(memberRequest{Region: n.opts.Region, Add: true})
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for attempt := 0; ; attempt++ {
		if n.isMember() {
			n.logger.Info("joined the control plane")
			return
		}
		var others []string
		for _, r := range n.opts.Bootstrap {
			if r != n.opts.Region {
				others = append(others, r)
			}
		}
		if len(others) > 0 {
			via := others[attempt%len(others)]
			jctx, cancel := context.WithTimeout(ctx, n.opts.Timing.WriteTimeout)
			err := n.call(jctx, via, http.MethodPost, "/peer/v1/control/members", body, nil)
			cancel()
			if err != nil {
				n.logger.Info("asking to join the control plane", "via", via, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// probePeers asks the other regions whether a cluster exists and whether it counts this
// region as a member.
func (n *Node) probePeers(ctx context.Context) (existing, includesMe bool) {
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, region := range n.opts.Bootstrap {
		if region == n.opts.Region {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var info peerInfo
			if err := n.call(pctx, region, http.MethodGet, "/peer/v1/control/info", nil, &info); err != nil || !info.Bootstrapped {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			existing = true
			if slices.Contains(info.Members, n.opts.Region) {
				includesMe = true
			}
		}()
	}
	wg.Wait()
	return existing, includesMe
}

func (n *Node) isMember() bool {
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return false
	}
	for _, s := range f.Configuration().Servers {
		if string(s.ID) == n.opts.Region {
			return true
		}
	}
	return false
}

func (n *Node) watchLeader(ctx context.Context) {
	ch := make(chan raft.Observation, 16)
	obs := raft.NewObserver(ch, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.LeaderObservation)
		return ok
	})
	n.raft.RegisterObserver(obs)
	defer n.raft.DeregisterObserver(obs)
	for {
		select {
		case <-ctx.Done():
			return
		case o := <-ch:
			lo := o.Data.(raft.LeaderObservation)
			if lo.LeaderID == "" {
				n.logger.Warn("control plane has no leader")
			} else {
				n.logger.Info("control plane leader", "leader", string(lo.LeaderID), "term", n.raft.Stats()["term"])
			}
		}
	}
}

// State returns the last applied state. It never waits for the network.
func (n *Node) State() *State {
	s, _, _ := n.fsm.current()
	return s
}

// Watch delivers the current state at once, then each new state, until ctx ends. A slow
// reader skips intermediate states and gets the latest.
func (n *Node) Watch(ctx context.Context) <-chan *State {
	out := make(chan *State, 1)
	go func() {
		defer close(out)
		var last *State
		for {
			s, _, changed := n.fsm.current()
			if s != last {
				select {
				case out <- s:
					last = s
				case <-ctx.Done():
					return
				}
			}
			select {
			case <-changed:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// Apply commits a batch through the leader, from any region, and returns once this region
// has applied it too (so a read here sees the write). It fails with ErrNoQuorum when no
// leader with a majority answers within the write timeout, and with the batch's own error
// (ErrExists, ErrNotFound, ErrConflict, ErrInvalid) when it was rejected.
func (n *Node) Apply(ctx context.Context, b Batch) (Result, error) {
	if b.Token == "" {
		b.Token = newToken()
	}
	data, err := json.Marshal(b)
	if err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, n.opts.Timing.WriteTimeout)
	defer cancel()
	var res Result
	// The batch carries a token, so any failure to hear the outcome may be retried.
	err = n.viaLeader(ctx, func(ctx context.Context) error {
		r, err := n.applyLocal(ctx, data)
		res = r
		return retryAny(err)
	}, func(ctx context.Context, leader string) error {
		return retryAny(n.call(ctx, leader, http.MethodPost, "/peer/v1/control/apply", data, &res))
	})
	if err != nil {
		n.metrics.writes.WithLabelValues("failed").Inc()
		return Result{}, err
	}
	if err := res.Err(); err != nil {
		n.metrics.writes.WithLabelValues("rejected").Inc()
		return res, err
	}
	n.metrics.writes.WithLabelValues("ok").Inc()
	n.waitApplied(ctx, res.Index)
	return res, nil
}

// MembershipChange adds (add true) or removes a region as a voter, through the leader.
func (n *Node) MembershipChange(ctx context.Context, region string, add bool) error {
	body, _ := json.Marshal(memberRequest{Region: region, Add: add})
	return n.viaLeader(ctx, func(ctx context.Context) error {
		return n.changeMembershipLocal(region, add)
	}, func(ctx context.Context, leader string) error {
		return n.call(ctx, leader, http.MethodPost, "/peer/v1/control/members", body, nil)
	})
}

func (n *Node) changeMembershipLocal(region string, add bool) error {
	var f raft.IndexFuture
	if add {
		f = n.raft.AddVoter(raft.ServerID(region), raft.ServerAddress(region), 0, n.opts.Timing.WriteTimeout)
	} else {
		f = n.raft.RemoveServer(raft.ServerID(region), 0, n.opts.Timing.WriteTimeout)
	}
	if err := f.Error(); err != nil {
		return fmt.Errorf("control: %s region %s: %w", map[bool]string{true: "adding", false: "removing"}[add], region, err)
	}
	n.logger.Info("control plane membership changed", "region", region, "added", add)
	return nil
}

// errNotLeader makes viaLeader try again with the current leader.
var errNotLeader = errors.New("control: not the leader")

// viaLeader runs local on the leader, or remote against it, retrying while the leader is
// unknown or moves, until ctx ends.
func (n *Node) viaLeader(ctx context.Context, local func(context.Context) error, remote func(context.Context, string) error) error {
	<-n.started
	var last error
	for {
		leader := n.leader()
		var err error
		switch leader {
		case "":
			err = errors.New("no leader known")
		case n.opts.Region:
			err = local(ctx)
		default:
			err = remote(ctx, leader)
		}
		if err == nil || !retryable(err) {
			return err
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: region %s could not reach a control-plane leader with a majority of %d regions in time (%v); control writes need a majority of regions to be reachable",
				ErrNoQuorum, n.opts.Region, n.memberCount(), last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// retryable reports whether a write may be tried again without risk of applying it twice:
// the leader moved, or the request never reached a leader.
func retryable(err error) bool {
	return errors.Is(err, errNotLeader) || errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) ||
		errors.Is(err, raft.ErrLeadershipTransferInProgress) || strings.Contains(err.Error(), "no leader known") ||
		errors.Is(err, errNotSent) || errors.Is(err, errOutcomeUnknown) || errors.Is(err, context.DeadlineExceeded)
}

func (n *Node) leader() string {
	_, id := n.raft.LeaderWithID()
	return string(id)
}

func (n *Node) memberCount() int {
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return len(n.opts.Bootstrap)
	}
	return len(f.Configuration().Servers)
}

// applyLocal applies a batch on the leader and waits for its result.
func (n *Node) applyLocal(ctx context.Context, data []byte) (Result, error) {
	n.mu.Lock()
	if n.closing {
		n.mu.Unlock()
		return Result{}, errors.New("control: the node is shutting down")
	}
	n.waiters.Add(1)
	n.mu.Unlock()
	f := n.raft.Apply(data, n.opts.Timing.WriteTimeout)
	done := make(chan error, 1)
	go func() {
		defer n.waiters.Done()
		done <- f.Error()
	}()
	select {
	case err := <-done:
		if err != nil {
			return Result{}, err
		}
		res, ok := f.Response().(Result)
		if !ok {
			return Result{}, fmt.Errorf("control: unexpected apply response %T", f.Response())
		}
		return res, nil
	case <-ctx.Done():
		return Result{}, fmt.Errorf("control: write not committed in time; it may still be applied: %w", ctx.Err())
	}
}

// waitApplied waits (until ctx ends) for this region to apply index.
func (n *Node) waitApplied(ctx context.Context, index uint64) {
	for {
		_, applied, changed := n.fsm.current()
		if applied >= index {
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return
		}
	}
}

// errOutcomeUnknown marks a failure after which an idempotent request may be retried.
var errOutcomeUnknown = errors.New("control: outcome not heard")

// retryAny marks any failure of an idempotent request as retryable.
func retryAny(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", errOutcomeUnknown, err)
}

func newToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// errNotSent marks a forwarded request that never reached the leader.
var errNotSent = errors.New("control: request not delivered")

// call sends a JSON request to a region's control peer API and decodes the answer.
func (n *Node) call(ctx context.Context, region, method, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, "https://"+region+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.opts.Client.Do(req, region)
	if err != nil {
		if strings.Contains(err.Error(), "dial") {
			return fmt.Errorf("%w to %s: %v", errNotSent, region, err)
		}
		return fmt.Errorf("control: %s %s at %s: %w", method, path, region, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		if out == nil {
			return nil
		}
		return json.Unmarshal(b, out)
	case http.StatusMisdirectedRequest:
		return fmt.Errorf("%w: %s", errNotLeader, region)
	default:
		return fmt.Errorf("control: %s %s at %s: %s: %s", method, path, region, resp.Status, bytes.TrimSpace(b))
	}
}

// peerInfo is what GET /peer/v1/control/info answers.
type peerInfo struct {
	Region       string   `json:"region"`
	Bootstrapped bool     `json:"bootstrapped"`
	Leader       string   `json:"leader"`
	Members      []string `json:"members"`
}

type memberRequest struct {
	Region string `json:"region"`
	Add    bool   `json:"add"`
}

// Handler serves the control plane's peer API: forwarded writes, membership changes and
// cluster info. Mount it on the peer server under /peer/v1/control/.
func (n *Node) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /peer/v1/control/info", func(w http.ResponseWriter, r *http.Request) {
		<-n.started
		info := peerInfo{Region: n.opts.Region, Leader: n.leader()}
		if f := n.raft.GetConfiguration(); f.Error() == nil {
			for _, s := range f.Configuration().Servers {
				info.Members = append(info.Members, string(s.ID))
			}
		}
		info.Bootstrapped = len(info.Members) > 0
		writeJSON(w, http.StatusOK, info)
	})
	mux.HandleFunc("POST /peer/v1/control/apply", func(w http.ResponseWriter, r *http.Request) {
		<-n.started
		data, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if n.raft.State() != raft.Leader {
			http.Error(w, "not the leader", http.StatusMisdirectedRequest)
			return
		}
		res, err := n.applyLocal(r.Context(), data)
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
			http.Error(w, err.Error(), http.StatusMisdirectedRequest)
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		writeJSON(w, http.StatusOK, res)
	})
	mux.HandleFunc("POST /peer/v1/control/members", func(w http.ResponseWriter, r *http.Request) {
		<-n.started
		var req memberRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil || req.Region == "" {
			http.Error(w, "want {\"region\": ..., \"add\": ...}", http.StatusBadRequest)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), n.opts.Timing.WriteTimeout)
		defer cancel()
		if err := n.MembershipChange(ctx, req.Region, req.Add); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	return mux
}

// Status is a node's view of the control plane.
type Status struct {
	Region      string   `json:"region"`
	State       string   `json:"state"` // Leader, Follower, Candidate, Shutdown
	Leader      string   `json:"leader"`
	Term        string   `json:"term"`
	Members     []string `json:"members"`
	Applied     uint64   `json:"applied_index"`
	LastContact string   `json:"last_contact,omitempty"`
}

// Status reports this node's view of the cluster.
func (n *Node) Status() Status {
	_, applied, _ := n.fsm.current()
	st := Status{Region: n.opts.Region, Applied: applied, State: "Starting"}
	select {
	case <-n.started:
	default:
		return st
	}
	stats := n.raft.Stats()
	st.State = n.raft.State().String()
	st.Leader = n.leader()
	st.Term = stats["term"]
	st.LastContact = stats["last_contact"]
	if f := n.raft.GetConfiguration(); f.Error() == nil {
		for _, s := range f.Configuration().Servers {
			st.Members = append(st.Members, string(s.ID))
		}
	}
	return st
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// hclogWriter sends Raft's log lines to slog, at the level hclog wrote them with.
type hclogWriter struct{ logger *slog.Logger }

func (w *hclogWriter) Write(p []byte) (int, error) {
	sc := bufio.NewScanner(bytes.NewReader(p))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		level := slog.LevelInfo
		switch {
		case strings.HasPrefix(line, "[DEBUG]"), strings.HasPrefix(line, "[TRACE]"):
			level = slog.LevelDebug
		case strings.HasPrefix(line, "[WARN]"):
			level = slog.LevelWarn
		case strings.HasPrefix(line, "[ERROR]"):
			level = slog.LevelError
		}
		if i := strings.Index(line, "]"); i >= 0 {
			line = strings.TrimSpace(line[i+1:])
		}
		w.logger.Log(context.Background(), level, line)
	}
	return len(p), nil
}
