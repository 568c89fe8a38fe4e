package tables

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/polyregion/polyregion/internal/awsapi"
	"github.com/polyregion/polyregion/internal/kv"
	"github.com/polyregion/polyregion/internal/replication"
)

// DefaultAccountID is the account id in table ARNs when Options.AccountID is empty.
const DefaultAccountID = "000000000000"

// Options configure a [Service]. Region and Store are required.
type Options struct {
	// Region is the region's name; it appears in table ARNs and in the health answer.
	Region string
	// Store holds the catalog, the items and the change log. The Service does not close it.
	Store kv.Store
	// Credentials are the access keys accepted. With none, every request is refused.
	Credentials []awsapi.Credentials
	// Logger receives the service's records; nil: discarded.
	Logger *slog.Logger
	// Registerer receives the service's metrics; nil: they are not registered.
	Registerer prometheus.Registerer
	// Now is the clock for signatures, creation times and change-log records; nil: time.Now.
	Now func() time.Time
	// AccountID is the account in table ARNs; empty: DefaultAccountID.
	AccountID string

	// Global tables (global.go). Without Control there are none, and UpdateTable's
	// ReplicaUpdates is refused.

	// Control is the control plane holding global-table membership: *control.Node.
	Control ControlPlane
	// Clock is the region's hybrid logical clock; nil: a new one.
	Clock *replication.Clock
	// Replication serves this region's change logs to its peers; New registers the
	// service's log with it as service "tables". nil: the logs are not served.
	Replication *replication.Server
	// Peers reaches the other regions (pulls, backfill snapshots): *peer.Client. nil: no
	// replication.
	Peers replication.Doer
	// Zones maps every region of the fleet to its residency zone.
	Zones map[string]string
	// ReplicationMetrics receive replication's lag and conflicts; nil: none.
	ReplicationMetrics *replication.Metrics
	// PeerCaller names the region a peer request comes from; nil: the region of the peer
	// certificate (peer.RegionFrom). Tests replace it.
	PeerCaller func(*http.Request) (string, bool)

	// tuneReplicator, set by tests, adjusts the replicator's options (shorter timeouts).
	tuneReplicator func(*replication.ReplicatorOptions)
	// tombstoneInterval and conflictsKept, set by tests, replace tombstoneInterval and
	// conflictsKept (tombstones.go).
	tombstoneInterval time.Duration
	conflictsKept     int
	// applySyncDelay, set by tests, replaces applySyncDelay (lazysync.go).
	applySyncDelay time.Duration
}

var (
	regionPattern  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	accountPattern = regexp.MustCompile(`^[0-9]{12}$`)
)

// Validate reports every problem with the options at once, each naming its field. It does
// not apply defaults; New does, before validating.
func (o *Options) Validate() error {
	var errs []error
	if o.Region == "" {
		errs = append(errs, errors.New("tables: Region: required"))
	} else if !regionPattern.MatchString(o.Region) {
		errs = append(errs, fmt.Errorf("tables: Region: %q is not a region name (lower-case letters, digits and dashes)", o.Region))
	}
	if o.Store == nil {
		errs = append(errs, errors.New("tables: Store: required"))
	}
	if o.Control != nil && len(o.Zones) > 0 {
		if _, ok := o.Zones[o.Region]; !ok {
			errs = append(errs, fmt.Errorf("tables: Zones: the region %q has no zone", o.Region))
		}
	}
	if o.AccountID != "" && !accountPattern.MatchString(o.AccountID) {
		errs = append(errs, fmt.Errorf("tables: AccountID: %q is not 12 digits", o.AccountID))
	}
	for i, c := range o.Credentials {
		if c.AccessKeyID == "" || c.SecretAccessKey == "" {
			errs = append(errs, fmt.Errorf("tables: Credentials[%d]: access key id and secret are both required", i))
		}
	}
	return errors.Join(errs...)
}

// Service is one region's table service. Its methods are safe for concurrent use.
type Service struct {
	opts    Options
	store   kv.Store
	logger  *slog.Logger
	now     func() time.Time
	metrics *metrics
	locks   itemLocks
	tokens  *tokenCache

	mu     sync.RWMutex
	tables map[string]*table // by name

	// indexWake wakes Run's index work (backfills, removals); capacity 1.
	indexWake chan struct{}
	// applySync wakes Run's sync of applied writes (lazysync.go); capacity 1.
	applySync chan struct{}
	// backfillHook, when set (by tests), is called before each backfill chunk; an error
	// stops the backfill until the next round.
	backfillHook atomic.Pointer[func(ctx context.Context, index string, chunk int) error]

	// replicaBackfillHook, when set (by tests), is called before each chunk of a replica's
	// backfill is applied; an error ends the backfill (it starts over later).
	replicaBackfillHook atomic.Pointer[func(table string, chunk int) error]

	// Global tables (global.go).
	clock      *replication.Clock
	replicator *replication.Replicator // nil without Peers
	global     globalWork
	tombstones tombstoneWork
}

// New returns a Service over opts.Store, with the table catalog loaded from it.
func New(opts Options) (*Service, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.AccountID == "" {
		opts.AccountID = DefaultAccountID
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("tables: registering metrics: %w", err)
	}
	s := &Service{
		opts:    opts,
		store:   opts.Store,
		logger:  opts.Logger,
		now:     opts.Now,
		metrics: m,
		tokens:  newTokenCache(),
		tables:  map[string]*table{},

		indexWake: make(chan struct{}, 1),
		applySync: make(chan struct{}, 1),
	}
	if err := s.loadCatalog(); err != nil {
		return nil, err
	}
	if err := s.initGlobal(); err != nil {
		return nil, err
	}
	return s, nil
}

// Run does the service's background work until ctx ends, then returns nil once that work
// has stopped: it deletes items whose time to live has passed, forgets transaction
// idempotency tokens older than ten minutes, backfills new global secondary indexes and
// removes deleted ones (resuming the work a previous Run left). Failures are logged and
// retried on the next round.
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(3)
	go func() {
		defer wg.Done()
		s.runIndexWork(ctx)
	}()
	go func() {
		defer wg.Done()
		s.runApplySync(ctx)
	}()
	go func() {
		defer wg.Done()
		s.runGlobal(ctx)
	}()
	t := time.NewTicker(ttlInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			now := s.now()
			s.tokens.expire(now)
			n, err := s.expireItems(ctx, now)
			if err != nil && ctx.Err() == nil {
				s.logger.Warn("expiring items by TTL failed; will retry", "deleted", n, "err", err)
			} else if n > 0 {
				s.logger.Debug("expired items by TTL", "deleted", n)
			}
		}
	}
}

// healthBody is the answer to GET /.
func (s *Service) healthBody() string {
	return "healthy: dynamodb." + s.opts.Region + ".polyregion"
}

// Handler returns the DynamoDB JSON 1.0 API handler. It serves POST / (the operations) and
// GET / (a health answer); mount it at the root of its listener.
func (s *Service) Handler() http.Handler {
	return http.HandlerFunc(s.serveHTTP)
}

// tableARN is the ARN of a table of this region.
func (s *Service) tableARN(name string) string {
	return "arn:aws:dynamodb:" + s.opts.Region + ":" + s.opts.AccountID + ":table/" + name
}

// lookupTable returns the table named name for reads and writes, or
// ResourceNotFoundException: also for a global table's replica still being backfilled here.
// A replica whose backfill is applied serves at once, before this region has seen the
// membership record that says it is ACTIVE: the other regions may already show it ACTIVE.
func (s *Service) lookupTable(name string) (*table, error) {
	t, err := s.lookupAnyTable(name)
	if err != nil {
		return nil, err
	}
	if g := t.currentSettings().global; g != nil && g.Record.replica(s.opts.Region).Status == replicaCreating && !g.Imported {
		return nil, tableNotFound(name)
	}
	return t, nil
}

// lookupAnyTable returns the table named name, whatever its state, or
// ResourceNotFoundException.
func (s *Service) lookupAnyTable(name string) (*table, error) {
	s.mu.RLock()
	t := s.tables[name]
	s.mu.RUnlock()
	if t == nil {
		return nil, tableNotFound(name)
	}
	return t, nil
}

// tableNotFound is DynamoDB's answer for a missing table.
func tableNotFound(name string) *apiError {
	return errorf("ResourceNotFoundException", "Requested resource not found: Table: %s not found", name)
}

// tableNameFromARN accepts a table name or a table ARN, as DynamoDB does in TableName.
func tableNameFromARN(s string) string {
	if strings.HasPrefix(s, "arn:") {
		if i := strings.LastIndex(s, ":table/"); i >= 0 {
			return s[i+len(":table/"):]
		}
	}
	return s
}
