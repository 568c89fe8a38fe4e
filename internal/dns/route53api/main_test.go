package route53api

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/miekg/dns"
	"go.uber.org/goleak"

	"github.com/polyregion/polyregion/internal/awsapi"
	"github.com/polyregion/polyregion/internal/control"
	"github.com/polyregion/polyregion/internal/control/controltest"
	"github.com/polyregion/polyregion/internal/health"
	"github.com/polyregion/polyregion/internal/testutil"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	testAccessKey = "AKIDROUTE53TEST"
	testSecretKey = "route53-test-secret-key"
)

// validate is the application's validator as internal/app composes it: the DNS kinds, and
// the health checks as a set.
func validate(next *control.State, ops []control.Op) error {
	if err := ValidateState(next, ops); err != nil {
		return err
	}
	for _, op := range ops {
		if op.Kind == health.Kind {
			checks, _, err := decodeAll[health.Check](next, health.Kind)
			if err != nil {
				return err
			}
			return health.ValidateSet(checks)
		}
	}
	return nil
}

// startNode runs a one-region control plane with the application's validator.
func startNode(t testing.TB) *control.Node {
	t.Helper()
	return controltest.Start(t, validate)
}

// faultyStore is a Store whose writes can be made to fail as without a quorum, and that
// counts applied batches.
type faultyStore struct {
	Store
	noQuorum atomic.Bool
	applies  atomic.Int64
	// before runs ahead of every Apply (to race another write in); nil: nothing.
	mu     sync.Mutex
	before func()
}

func (s *faultyStore) Apply(ctx context.Context, b control.Batch) (control.Result, error) {
	if s.noQuorum.Load() {
		return control.Result{}, fmt.Errorf("%w: region r1 could not reach a control-plane leader with a majority of 3 regions in time", control.ErrNoQuorum)
	}
	s.mu.Lock()
	before := s.before
	s.before = nil
	s.mu.Unlock()
	if before != nil {
		before()
	}
	s.applies.Add(1)
	return s.Store.Apply(ctx, b)
}

func (s *faultyStore) setBefore(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.before = f
}

// stepFleet is a Fleet that reports a change in sync only once the test has stepped it
// there.
type stepFleet struct{ synced atomic.Uint64 }

func (f *stepFleet) InSync(_ context.Context, index uint64) bool { return index <= f.synced.Load() }

// fakeAnswerer answers every query with one A record and records what it was asked.
type fakeAnswerer struct {
	mu       sync.Mutex
	name     string
	qtype    uint16
	resolver netip.Addr
	ecs      netip.Prefix
}

func (f *fakeAnswerer) TestAnswer(_ context.Context, name string, qtype uint16, resolver netip.Addr, ecs netip.Prefix) (*dns.Msg, error) {
	f.mu.Lock()
	f.name, f.qtype, f.resolver, f.ecs = name, qtype, resolver, ecs
	f.mu.Unlock()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	if name == "nx.example.com." {
		m.Rcode = dns.RcodeNameError
		return m, nil
	}
	rr, _ := dns.NewRR(name + " 60 IN A 192.0.2.44")
	m.Answer = append(m.Answer, rr)
	return m, nil
}

func (f *fakeAnswerer) asked() (string, uint16, netip.Addr, netip.Prefix) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.name, f.qtype, f.resolver, f.ecs
}

// env is one Route 53 API over a one-region control plane, with an SDK client.
type env struct {
	t        *testing.T
	node     *control.Node
	store    *faultyStore
	fleet    *stepFleet
	answerer *fakeAnswerer
	status   *statusTable
	srv      *httptest.Server
	client   *route53.Client
	log      *testutil.Log
}

// statusTable holds the health statuses the API reports.
type statusTable struct {
	mu sync.Mutex
	m  map[string]health.CheckStatus
}

func (s *statusTable) get(id string) (health.CheckStatus, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.m[id]
	return st, ok
}

func (s *statusTable) set(st health.CheckStatus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[st.ID] = st
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, fleet: &stepFleet{}, answerer: &fakeAnswerer{}, status: &statusTable{m: map[string]health.CheckStatus{}}}
	e.log = testutil.NewLog(t)
	e.node = startNode(t)
	e.store = &faultyStore{Store: e.node}
	h := New(Options{
		Credentials:  []awsapi.Credentials{{AccessKeyID: testAccessKey, SecretAccessKey: testSecretKey}},
		Store:        e.store,
		Fleet:        e.fleet,
		Answerer:     e.answerer,
		HealthStatus: e.status.get,
		NameServers: func(zoneName string) []string {
			return []string{"ns1.polyregion.test.", "ns2.polyregion.test."}
		},
		Logger: e.log.Logger().With("component", "route53api"),
	})
	mux := http.NewServeMux()
	mux.Handle(Prefix, h)
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	e.client = e.newClient(testAccessKey, testSecretKey)
	return e
}

func (e *env) newClient(ak, secret string) *route53.Client {
	return route53.New(route53.Options{
		Region:           "eu-west",
		Credentials:      credentials.NewStaticCredentialsProvider(ak, secret, ""),
		BaseEndpoint:     aws.String(e.srv.URL),
		HTTPClient:       e.srv.Client(),
		RetryMaxAttempts: 1,
	})
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}
