package gaapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/globalaccelerator"
	"github.com/aws/aws-sdk-go-v2/service/globalaccelerator/types"
	"github.com/aws/smithy-go"
	"go.uber.org/goleak"

	"github.com/polyregion/polyregion/internal/awsapi"
	"github.com/polyregion/polyregion/internal/control"
	"github.com/polyregion/polyregion/internal/control/controltest"
	"github.com/polyregion/polyregion/internal/edge"
	"github.com/polyregion/polyregion/internal/health"
	"github.com/polyregion/polyregion/internal/testutil"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	testAccessKey = "AKIDGLOBALACCELTEST"
	testSecretKey = "global-accelerator-test-secret-key"
)

var testRegions = []string{"eu-west", "us-east", "ap-south"}

// validate is the control plane's validator as internal/app composes it, for the
// accelerators.
func validate(next *control.State, ops []control.Op) error {
	for _, op := range ops {
		if op.Kind == edge.Kind {
			return edge.ValidateState(next, testRegions)
		}
	}
	return nil
}

// startNode runs a one-region control plane with that validator.
func startNode(t testing.TB) *control.Node {
	t.Helper()
	return controltest.Start(t, validate)
}

// faultyStore is a Store whose writes can fail as without a quorum, and that can run a
// function ahead of the next Apply (to race another write in).
type faultyStore struct {
	Store
	noQuorum atomic.Bool
	applies  atomic.Int64
	mu       sync.Mutex
	before   []func()
}

func (s *faultyStore) Apply(ctx context.Context, b control.Batch) (control.Result, error) {
	if s.noQuorum.Load() {
		return control.Result{}, fmt.Errorf("%w: region r1 could not reach a control-plane leader with a majority of 3 regions in time", control.ErrNoQuorum)
	}
	s.mu.Lock()
	var before func()
	if len(s.before) > 0 {
		before, s.before = s.before[0], s.before[1:]
	}
	s.mu.Unlock()
	if before != nil {
		before()
	}
	s.applies.Add(1)
	return s.Store.Apply(ctx, b)
}

func (s *faultyStore) setBefore(f ...func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.before = f
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

// env is one Global Accelerator API over a one-region control plane, with an SDK client.
type env struct {
	t      *testing.T
	node   *control.Node
	store  *faultyStore
	status *statusTable
	srv    *httptest.Server
	client *globalaccelerator.Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, status: &statusTable{m: map[string]health.CheckStatus{}}}
	log := testutil.NewLog(t)
	e.node = startNode(t)
	e.store = &faultyStore{Store: e.node}
	h := New(Options{
		Credentials:   []awsapi.Credentials{{AccessKeyID: testAccessKey, SecretAccessKey: testSecretKey}},
		Store:         e.store,
		Regions:       testRegions,
		EdgeAddresses: func() []string { return []string{"192.0.2.10", "2001:db8::10", "192.0.2.11", "not an address"} },
		HealthStatus:  e.status.get,
		Logger:        log.Logger().With("component", "gaapi"),
	})
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	e.client = e.newClient(testAccessKey, testSecretKey)
	return e
}

func (e *env) newClient(ak, secret string) *globalaccelerator.Client {
	cfg := aws.Config{
		Region:           "us-west-2",
		Credentials:      credentials.NewStaticCredentialsProvider(ak, secret, ""),
		HTTPClient:       e.srv.Client(),
		RetryMaxAttempts: 1,
	}
	return globalaccelerator.NewFromConfig(cfg, func(o *globalaccelerator.Options) {
		o.BaseEndpoint = aws.String(e.srv.URL)
	})
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// wantCode fails the test unless err is an API error with code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("got %v, want %s", err, code)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("got %s (%s), want %s", ae.ErrorCode(), ae.ErrorMessage(), code)
	}
}

// createAccelerator creates an accelerator and returns its ARN.
func (e *env) createAccelerator(name string) string {
	e.t.Helper()
	out, err := e.client.CreateAccelerator(ctx(e.t), &globalaccelerator.CreateAcceleratorInput{Name: aws.String(name)})
	if err != nil {
		e.t.Fatal(err)
	}
	return *out.Accelerator.AcceleratorArn
}

// createListener creates a TCP listener on ports from-to and returns its ARN.
func (e *env) createListener(accArn string, proto types.Protocol, from, to int32) string {
	e.t.Helper()
	out, err := e.client.CreateListener(ctx(e.t), &globalaccelerator.CreateListenerInput{
		AcceleratorArn: aws.String(accArn), Protocol: proto,
		PortRanges: []types.PortRange{{FromPort: aws.Int32(from), ToPort: aws.Int32(to)}},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return *out.Listener.ListenerArn
}

// createGroup creates an endpoint group in region with endpoints and returns its ARN.
func (e *env) createGroup(listenerArn, region string, endpoints ...string) string {
	e.t.Helper()
	in := &globalaccelerator.CreateEndpointGroupInput{ListenerArn: aws.String(listenerArn), EndpointGroupRegion: aws.String(region)}
	for _, ep := range endpoints {
		in.EndpointConfigurations = append(in.EndpointConfigurations, types.EndpointConfiguration{EndpointId: aws.String(ep)})
	}
	out, err := e.client.CreateEndpointGroup(ctx(e.t), in)
	if err != nil {
		e.t.Fatal(err)
	}
	return *out.EndpointGroup.EndpointGroupArn
}

// stored returns the accelerator document as the control plane holds it.
func (e *env) stored(arn string) (edge.Accelerator, bool) {
	e.t.Helper()
	r, ok := New(Options{Store: e.node}).(*api).parseArn(arn)
	if !ok {
		e.t.Fatalf("bad ARN %s", arn)
	}
	var a edge.Accelerator
	found, err := e.node.State().Decode(edge.Kind, r.acceleratorID, &a)
	if err != nil {
		e.t.Fatal(err)
	}
	return a, found
}

// rawCall posts body to the API with X-Amz-Target op, signed with the test credentials
// (as the AWS CLI would send it), and returns the answer.
func rawCall(t testing.TB, h http.Handler, op string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "http://globalaccelerator.test/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", TargetPrefix+op)
	sign(t, req, body, testSecretKey)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// sign signs req (whose body is body) for service globalaccelerator in us-west-2.
func sign(t testing.TB, req *http.Request, body []byte, secret string) {
	t.Helper()
	sum := sha256.Sum256(body)
	signReq := req.Clone(context.Background())
	signReq.URL.Scheme, signReq.URL.Host, signReq.RequestURI = "http", req.Host, ""
	creds := aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, signReq, hex.EncodeToString(sum[:]), "globalaccelerator", "us-west-2", time.Now()); err != nil {
		t.Fatal(err)
	}
	req.Header = signReq.Header
}
