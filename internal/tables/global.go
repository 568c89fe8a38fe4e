package tables

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/polyregion/polyregion/internal/control"
	"github.com/polyregion/polyregion/internal/kv"
	"github.com/polyregion/polyregion/internal/replication"
)

// Global tables (DynamoDB global tables version 2019.11.21: multi-active, last writer
// wins). Membership lives in the control plane (ARCHITECTURE.md, principle 7) as one
// resource of kind GlobalTableKind per table, id the table name; every region watches it
// and acts on its own entry: a CREATING replica creates its table and backfills it from
// the source region, a DELETING one deletes its table and leaves the record. Changes move
// between regions through internal/replication: each region serves the records of its own
// writes (Read) and pulls every other replica's (Cursor, Apply). See docs/global-tables.md
// and docs/design/0003-replication.md.

// GlobalTableKind is the control-plane kind of global-table membership records.
const GlobalTableKind = "globaltable"

const (
	globalTableVersion = "2019.11.21"
	// replicationService is the service name of the tables' streams in internal/replication.
	replicationService = "tables"

	replicaCreating       = "CREATING"
	replicaActive         = "ACTIVE"
	replicaDeleting       = "DELETING"
	replicaCreationFailed = "CREATION_FAILED"

	// globalResync is how often Run looks at the membership again without a change (to
	// retry work that failed: a backfill, a record update).
	globalResync = 500 * time.Millisecond
)

// ControlPlane is what the service needs of the control plane: *control.Node.
type ControlPlane interface {
	State() *control.State
	Apply(context.Context, control.Batch) (control.Result, error)
	Watch(context.Context) <-chan *control.State
}

var _ ControlPlane = (*control.Node)(nil)

// globalTable is a global table's membership record, JSON in the control plane.
type globalTable struct {
	Name                 string                 `json:"name"`
	Version              string                 `json:"version"`
	KeySchema            []keySchemaElement     `json:"keySchema"`
	AttributeDefinitions []attributeDefinition  `json:"attributeDefinitions"`
	BillingMode          string                 `json:"billingMode"`
	Throughput           *provisionedThroughput `json:"throughput,omitempty"`
	// Indexes are the secondary indexes every replica keeps (maintained locally, never
	// replicated); their IDs are the first region's, each region makes its own.
	Indexes        []indexMeta       `json:"indexes,omitempty"`
	TTLAttribute   string            `json:"ttlAttribute,omitempty"`
	StreamViewType string            `json:"streamViewType,omitempty"` // "": no stream
	Tags           map[string]string `json:"tags,omitempty"`
	Replicas       []replicaState    `json:"replicas"`
}

// replicaState is one replica in a membership record.
type replicaState struct {
	Region string `json:"region"`
	// ID is new for every Create, so that a replica added again after it was removed is
	// told from its earlier self (cursors stored for the earlier one are void).
	ID       string `json:"id"`
	Status   string `json:"status"`             // CREATING, ACTIVE, DELETING, CREATION_FAILED
	Source   string `json:"source,omitempty"`   // CREATING: the region the backfill comes from
	Progress int    `json:"progress,omitempty"` // CREATING: percent of the backfill applied
	Message  string `json:"message,omitempty"`  // CREATION_FAILED: why
}

// replica returns region's entry (the zero entry if it is not a replica).
func (g *globalTable) replica(region string) replicaState {
	for _, r := range g.Replicas {
		if r.Region == region {
			return r
		}
	}
	return replicaState{}
}

func (g *globalTable) has(region string) bool { return g.replica(region).Region != "" }

// changing reports whether a replica is being created or deleted.
func (g *globalTable) changing() bool {
	return slices.ContainsFunc(g.Replicas, func(r replicaState) bool {
		return r.Status == replicaCreating || r.Status == replicaDeleting
	})
}

// tableStatus is the TableStatus of the table in region.
func (g *globalTable) tableStatus(region string) string {
	switch {
	case g.replica(region).Status == replicaCreating:
		return "CREATING"
	case g.replica(region).Status == replicaDeleting:
		return "DELETING"
	case g.changing():
		return "UPDATING"
	}
	return "ACTIVE"
}

func (g globalTable) clone() globalTable {
	g.Replicas = slices.Clone(g.Replicas)
	g.Tags = maps.Clone(g.Tags)
	return g
}

// globalLocal is a table's membership as this region last saw it, kept with the table's
// description so that the region keeps replicating from it while the control plane is
// out of reach (principle 3).
type globalLocal struct {
	Record  globalTable `json:"record"`
	Version uint64      `json:"version"` // the record's control-plane version
	// Imported: this region's replica, CREATING, has applied its backfill.
	Imported bool `json:"imported,omitempty"`
	// Since is the last change-log position written before the table became global here:
	// the records up to it are of its regional life (a backfill copies their items) and are
	// never served to the other replicas.
	Since uint64 `json:"since,omitempty"`
}

// replicaOf returns this region's entry.
func (g *globalLocal) replicaOf(region string) replicaState { return g.Record.replica(region) }

// globalWork is the state of Run's global-table work.
type globalWork struct {
	wake chan struct{} // capacity 1: look at the membership again

	subs sync.Mutex // serialises refreshSubscriptions

	mu        sync.Mutex
	ctx       context.Context               // Run's; nil before
	backfills map[string]context.CancelFunc // running replica backfills, by table ID
	wg        sync.WaitGroup
}

// initGlobal prepares the global-table machinery; New calls it after loading the catalog.
func (s *Service) initGlobal() error {
	s.clock = s.opts.Clock
	if s.clock == nil {
		s.clock = replication.NewClock(nil)
	}
	s.global.wake = make(chan struct{}, 1)
	s.global.backfills = map[string]context.CancelFunc{}
	if err := s.initTombstones(); err != nil {
		return err
	}
	// The clock starts past every write this region stamped before a restart.
	for _, t := range s.tables {
		if t.currentSettings().global == nil {
			continue
		}
		if err := s.observeLastRecord(t); err != nil {
			return err
		}
	}
	if s.opts.Peers != nil {
		ro := replication.ReplicatorOptions{
			Region: s.opts.Region, Peers: s.opts.Peers, Clock: s.clock,
			Metrics: s.opts.ReplicationMetrics, Logger: s.logger,
		}
		if s.opts.tuneReplicator != nil {
			s.opts.tuneReplicator(&ro)
		}
		r, err := replication.NewReplicator(ro)
		if err != nil {
			return fmt.Errorf("tables: %w", err)
		}
		s.replicator = r
	}
	if s.opts.Replication != nil {
		s.opts.Replication.Register(replicationService, s)
	}
	return nil
}

// observeLastRecord makes the clock read past the last record of t's log.
func (s *Service) observeLastRecord(t *table) error {
	prefix := []byte(logPrefix + t.meta.ID + "/")
	it, err := s.store.ReverseIter(prefix, kv.PrefixEnd(prefix))
	if err != nil {
		return err
	}
	defer it.Close()
	if it.Next() {
		rec, err := decodeChangeRecord(it.Value())
		if err != nil {
			return fmt.Errorf("tables: table %s: last change-log record: %w", t.meta.Name, err)
		}
		s.clock.Observe(rec.TS)
	}
	return it.Close()
}

// wakeGlobal makes Run look at the membership again.
func (s *Service) wakeGlobal() {
	select {
	case s.global.wake <- struct{}{}:
	default:
	}
}

// runGlobal runs the replication and the replica lifecycle until ctx ends.
func (s *Service) runGlobal(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	if s.replicator != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = s.replicator.Run(ctx)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.runTombstones(ctx)
	}()
	s.global.mu.Lock()
	s.global.ctx = ctx
	s.global.mu.Unlock()
	defer func() {
		s.global.mu.Lock()
		for id, cancel := range s.global.backfills {
			cancel()
			delete(s.global.backfills, id)
		}
		s.global.mu.Unlock()
		s.global.wg.Wait()
	}()
	s.refreshSubscriptions()
	if s.opts.Control == nil {
		<-ctx.Done()
		return
	}
	states := s.opts.Control.Watch(ctx)
	tick := time.NewTicker(globalResync)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-states:
			if !ok {
				return
			}
		case <-tick.C:
		case <-s.global.wake:
		}
		s.reconcile(ctx, s.opts.Control.State())
	}
}

// versioned is a membership record with its control-plane version.
type versioned struct {
	rec     globalTable
	version uint64
}

// reconcile makes this region's tables follow the membership records of st.
func (s *Service) reconcile(ctx context.Context, st *control.State) {
	if st == nil || ctx.Err() != nil {
		return
	}
	self := s.opts.Region
	recs := map[string]versioned{}
	for _, r := range st.List(GlobalTableKind) {
		var g globalTable
		if err := json.Unmarshal(r.Value, &g); err != nil {
			s.logger.Warn("global table: undecodable membership record", "table", r.ID, "err", err)
			continue
		}
		recs[r.ID] = versioned{g, r.Version}
	}
	for _, name := range sortedKeys(recs) {
		rv := recs[name]
		me := rv.rec.replica(self)
		var err error
		switch me.Status {
		case "", replicaCreationFailed:
			continue
		case replicaCreating:
			err = s.reconcileCreating(ctx, name, rv, me)
		case replicaDeleting:
			err = s.reconcileDeleting(ctx, name, me)
		default:
			err = s.adoptRecord(name, rv)
		}
		if err != nil && ctx.Err() == nil {
			s.logger.Warn("global table: acting on the membership failed; will retry", "table", name, "status", me.Status, "err", err)
		}
	}
	// Tables this region no longer replicates (the record was removed after we saw it).
	s.mu.RLock()
	var gone []*table
	for name, t := range s.tables {
		g := t.currentSettings().global
		if g == nil {
			continue
		}
		rv, ok := recs[name]
		if (!ok || rv.rec.replica(self).ID != g.replicaOf(self).ID) && st.Index() > g.Version {
			gone = append(gone, t)
		}
	}
	s.mu.RUnlock()
	for _, t := range gone {
		if err := s.leaveLocally(t); err != nil {
			s.logger.Warn("global table: leaving failed; will retry", "table", t.meta.Name, "err", err)
		}
	}
	s.refreshSubscriptions()
}

// adoptRecord makes an ACTIVE replica's table follow its record: membership, TTL, tags.
func (s *Service) adoptRecord(name string, rv versioned) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tables[name]
	if t == nil {
		return fmt.Errorf("this region is an ACTIVE replica of %s but has no such table", name)
	}
	cur := t.currentSettings()
	if cur.global != nil && cur.global.Version >= rv.version && cur.global.Imported {
		return nil // already seen (or newer: this region changed the record itself)
	}
	return s.setGlobal(t, cur, &globalLocal{Record: rv.rec.clone(), Version: rv.version, Imported: true})
}

// setGlobal saves g as t's membership, with the record's TTL and tags. The caller holds
// s.mu.
func (s *Service) setGlobal(t *table, cur tableSettings, g *globalLocal) error {
	next := cur
	next.global = g
	if g != nil {
		next.ttlAttribute = g.Record.TTLAttribute
		next.tags = maps.Clone(g.Record.Tags)
		if cur.global != nil {
			g.Since = cur.global.Since
		}
	}
	if (cur.global == nil) == (g == nil) {
		return s.saveSettings(t, next)
	}
	// A write is stamped or not throughout: none may be in flight across the change.
	t.live.Lock()
	defer t.live.Unlock()
	if g != nil {
		g.Since = t.log.next() - 1
	}
	return s.saveSettings(t, next)
}

// reconcileCreating creates this region's replica table and backfills it, or, once
// imported, marks it ACTIVE.
func (s *Service) reconcileCreating(ctx context.Context, name string, rv versioned, me replicaState) error {
	s.mu.Lock()
	t := s.tables[name]
	switch {
	case t == nil:
		var err error
		if t, err = s.createReplicaTable(rv); err != nil {
			s.mu.Unlock()
			return err
		}
	case t.currentSettings().global == nil || t.currentSettings().global.replicaOf(s.opts.Region).ID != me.ID:
		s.mu.Unlock()
		_, _, err := s.updateRecord(ctx, name, func(g *globalTable) (bool, error) {
			for i := range g.Replicas {
				if g.Replicas[i].Region == s.opts.Region && g.Replicas[i].ID == me.ID {
					g.Replicas[i].Status, g.Replicas[i].Progress = replicaCreationFailed, 0
					g.Replicas[i].Message = fmt.Sprintf("a table named %s already exists in region %s", name, s.opts.Region)
				}
			}
			return false, nil
		})
		return err
	default:
		cur := t.currentSettings()
		if cur.global.Version < rv.version {
			g := &globalLocal{Record: rv.rec.clone(), Version: rv.version, Imported: cur.global.Imported}
			if err := s.setGlobal(t, cur, g); err != nil {
				s.mu.Unlock()
				return err
			}
		}
	}
	imported := t.currentSettings().global.Imported
	s.mu.Unlock()
	if !imported {
		s.startBackfill(t, me)
		return nil
	}
	_, _, err := s.updateRecord(ctx, name, func(g *globalTable) (bool, error) {
		for i := range g.Replicas {
			if g.Replicas[i].Region == s.opts.Region && g.Replicas[i].ID == me.ID && g.Replicas[i].Status == replicaCreating {
				g.Replicas[i].Status, g.Replicas[i].Source, g.Replicas[i].Progress = replicaActive, "", 0
			}
		}
		return false, nil
	})
	return err
}

// createReplicaTable creates this region's table of a global table from its record: the
// same schema and secondary indexes, a new table ID. The caller holds s.mu.
func (s *Service) createReplicaTable(rv versioned) (*table, error) {
	g := rv.rec
	now := s.now()
	meta := tableMeta{
		Name: g.Name, ID: newTableID(), KeySchema: g.KeySchema, AttributeDefinitions: g.AttributeDefinitions,
		BillingMode: g.BillingMode, Throughput: g.Throughput, Created: now, TTLAttribute: g.TTLAttribute,
		Tags: maps.Clone(g.Tags), Global: &globalLocal{Record: g.clone(), Version: rv.version},
	}
	if g.StreamViewType != "" {
		meta.Stream = newStream(g.StreamViewType, now, 1)
	}
	for _, x := range g.Indexes {
		x.ID, x.Status = newIndexID(), indexStatusActive
		meta.Indexes = append(meta.Indexes, x)
	}
	t, err := newTable(meta, 0)
	if err != nil {
		return nil, err
	}
	enc, err := json.Marshal(meta)
	if err != nil {
		return nil, err
	}
	b := s.store.NewBatch()
	b.Set([]byte(metaPrefix+meta.Name), enc)
	if err := s.store.Commit(b, kv.CommitOptions{Sync: true}); err != nil {
		return nil, fmt.Errorf("creating the replica of %s: %w", meta.Name, err)
	}
	s.tables[meta.Name] = t
	s.logger.Info("global table: replica created; backfilling", "table", meta.Name, "source", g.replica(s.opts.Region).Source)
	return t, nil
}

// reconcileDeleting deletes this region's replica and takes it out of the record.
func (s *Service) reconcileDeleting(ctx context.Context, name string, me replicaState) error {
	s.mu.Lock()
	t := s.tables[name]
	if t != nil {
		if g := t.currentSettings().global; g != nil && g.replicaOf(s.opts.Region).ID == me.ID {
			s.cancelBackfill(t.meta.ID)
			if err := s.dropTable(t); err != nil {
				s.mu.Unlock()
				return err
			}
			s.logger.Info("global table: replica deleted", "table", name)
		}
	}
	s.mu.Unlock()
	s.refreshSubscriptions()
	_, _, err := s.updateRecord(ctx, name, func(g *globalTable) (bool, error) {
		g.Replicas = slices.DeleteFunc(g.Replicas, func(r replicaState) bool { return r.Region == s.opts.Region && r.ID == me.ID })
		return len(g.Replicas) == 0, nil
	})
	if errors.Is(err, errNoRecord) {
		return nil
	}
	return err
}

// leaveLocally handles a table whose membership ended without this region deleting it:
// a replica that was still being created is removed; any other table stays, no longer
// global.
func (s *Service) leaveLocally(t *table) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tables[t.meta.Name] != t {
		return nil
	}
	cur := t.currentSettings()
	if cur.global == nil {
		return nil
	}
	if me := cur.global.replicaOf(s.opts.Region); me.Status == replicaCreating && !cur.global.Imported {
		s.cancelBackfill(t.meta.ID)
		return s.dropTable(t)
	}
	t.live.Lock()
	defer t.live.Unlock()
	b := s.store.NewBatch()
	for _, prefix := range []string{stampPrefix, cursorPrefix} {
		keys := []byte(prefix + t.meta.ID + "/")
		b.DeleteRange(keys, kv.PrefixEnd(keys))
	}
	if err := s.store.Commit(b, kv.CommitOptions{Sync: true}); err != nil {
		return err
	}
	next := cur
	next.global = nil
	return s.saveSettings(t, next)
}

// errNoRecord: the table has no membership record.
var errNoRecord = errors.New("no global table record")

// updateRecord changes a membership record by read-modify-write (control.ExpectVersion),
// retrying when another change came first. change returns true to delete the record.
func (s *Service) updateRecord(ctx context.Context, name string, change func(*globalTable) (bool, error)) (globalTable, uint64, error) {
	for attempt := 0; ; attempt++ {
		r, ok := s.opts.Control.State().Get(GlobalTableKind, name)
		if !ok {
			return globalTable{}, 0, fmt.Errorf("%w: %s", errNoRecord, name)
		}
		var g globalTable
		if err := json.Unmarshal(r.Value, &g); err != nil {
			return globalTable{}, 0, fmt.Errorf("membership record of %s: %w", name, err)
		}
		del, err := change(&g)
		if err != nil {
			return globalTable{}, 0, err
		}
		op := control.Op{Kind: GlobalTableKind, ID: name, Expect: control.ExpectVersion, Version: r.Version, Delete: del}
		if !del {
			if op.Value, err = json.Marshal(g); err != nil {
				return globalTable{}, 0, err
			}
		}
		res, err := s.opts.Control.Apply(ctx, control.Batch{Ops: []control.Op{op}})
		if errors.Is(err, control.ErrConflict) && attempt < 10 {
			continue
		}
		if err != nil {
			return globalTable{}, 0, fmt.Errorf("updating the membership of %s: %w", name, err)
		}
		return g, res.Index, nil
	}
}

// refreshSubscriptions derives the pulls from the tables' membership: for each global
// table where this region is an ACTIVE replica (or a CREATING one after its backfill
// import), one pull from every other replica.
func (s *Service) refreshSubscriptions() {
	if s.replicator == nil {
		return
	}
	s.global.subs.Lock()
	defer s.global.subs.Unlock()
	var subs []replication.Subscription
	s.mu.RLock()
	for name, t := range s.tables {
		g := t.currentSettings().global
		if g == nil {
			continue
		}
		me := g.replicaOf(s.opts.Region)
		if me.Status != replicaActive && (me.Status != replicaCreating || !g.Imported) {
			continue
		}
		for _, r := range g.Record.Replicas {
			if r.Region != s.opts.Region && r.Status != replicaCreationFailed {
				subs = append(subs, replication.Subscription{Service: replicationService, Source: r.Region, Stream: name, Sink: s})
			}
		}
	}
	s.mu.RUnlock()
	s.replicator.Set(subs)
}

// startBackfill starts the backfill of this region's new replica t unless it runs.
func (s *Service) startBackfill(t *table, me replicaState) {
	s.global.mu.Lock()
	defer s.global.mu.Unlock()
	if s.global.ctx == nil || s.global.ctx.Err() != nil {
		return
	}
	if _, ok := s.global.backfills[t.meta.ID]; ok {
		return
	}
	ctx, cancel := context.WithCancel(s.global.ctx)
	s.global.backfills[t.meta.ID] = cancel
	s.global.wg.Add(1)
	go func() {
		defer s.global.wg.Done()
		err := s.backfillReplica(ctx, t, me)
		s.global.mu.Lock()
		delete(s.global.backfills, t.meta.ID)
		s.global.mu.Unlock()
		cancel()
		if err != nil && ctx.Err() == nil {
			s.logger.Warn("global table: backfill failed; will start over", "table", t.meta.Name, "source", me.Source, "err", err)
			return
		}
		s.wakeGlobal()
	}()
}

// cancelBackfill stops the backfill of table id, if one runs.
func (s *Service) cancelBackfill(id string) {
	s.global.mu.Lock()
	defer s.global.mu.Unlock()
	if cancel, ok := s.global.backfills[id]; ok {
		cancel()
		delete(s.global.backfills, id)
	}
}

// ValidateGlobalTables checks the membership records a control-plane batch writes: each
// decodes, is named by its id, has version 2019.11.21 and a key schema, lists each region
// once with a known status (a CREATING one with its source, another replica) and changes
// at most one replica at a time. internal/app composes it into the control plane's
// validator.
func ValidateGlobalTables(next *control.State, ops []control.Op) error {
	for _, op := range ops {
		if op.Kind != GlobalTableKind || op.Delete {
			continue
		}
		var g globalTable
		if _, err := next.Decode(GlobalTableKind, op.ID, &g); err != nil {
			return fmt.Errorf("globaltable %q: %w", op.ID, err)
		}
		if err := g.validate(op.ID); err != nil {
			return fmt.Errorf("globaltable %q: %w", op.ID, err)
		}
	}
	return nil
}

func (g *globalTable) validate(id string) error {
	var errs []error
	if g.Name != id {
		errs = append(errs, fmt.Errorf("name %q is not the id", g.Name))
	}
	if g.Version != globalTableVersion {
		errs = append(errs, fmt.Errorf("version %q is not %s", g.Version, globalTableVersion))
	}
	if len(g.KeySchema) == 0 {
		errs = append(errs, errors.New("no key schema"))
	}
	seen := map[string]bool{}
	changing := 0
	for i, r := range g.Replicas {
		switch {
		case r.Region == "":
			errs = append(errs, fmt.Errorf("replicas[%d]: no region", i))
		case seen[r.Region]:
			errs = append(errs, fmt.Errorf("replicas[%d]: region %s listed twice", i, r.Region))
		}
		seen[r.Region] = true
		switch r.Status {
		case replicaCreating:
			changing++
			if r.Source == "" || r.Source == r.Region {
				errs = append(errs, fmt.Errorf("replicas[%d]: CREATING without another region as its source", i))
			}
		case replicaDeleting:
			changing++
		case replicaActive, replicaCreationFailed:
		default:
			errs = append(errs, fmt.Errorf("replicas[%d]: unknown status %q", i, r.Status))
		}
	}
	if changing > 1 {
		errs = append(errs, fmt.Errorf("%d replicas change at once; one at a time", changing))
	}
	return errors.Join(errs...)
}
