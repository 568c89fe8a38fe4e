package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	smithyendpoints "github.com/aws/smithy-go/endpoints"

	"github.com/polyregion/polyregion/bench/internal/procstat"
	"github.com/polyregion/polyregion/internal/netsim"
	"github.com/polyregion/polyregion/internal/testutil/awstest"
)

// regions are up's default regions; the first is where the tables are created and where
// the throughput runs write.
var regions = []string{"us-east", "eu-west", "ap-southeast"}

// fleet is a running `polyregion up`.
type fleet struct {
	dir     string
	cmd     *exec.Cmd
	done    chan error
	out     bytes.Buffer
	ef      *endpointsFile
	ddb     map[string]*dynamodb.Client
	raw     *http.Client // the presigned writers' (-writer presigned)
	streams map[string]*dynamodbstreams.Client
	oneWay  map[[2]string]time.Duration // the model one-way delay of each pair, both orders
}

// startFleet runs `polyregion up --dir dir --ephemeral-ports` and waits until every region
// answers.
func startFleet(ctx context.Context, bin, dir string) (*fleet, error) {
	f := &fleet{dir: dir, done: make(chan error, 1)}
	f.cmd = exec.Command(bin, "up", "--dir", dir, "--ephemeral-ports")
	f.cmd.Stdout, f.cmd.Stderr = &f.out, &f.out
	f.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := f.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { f.done <- f.cmd.Wait() }()
	err := poll(ctx, 60*time.Second, func() error {
		select {
		case err := <-f.done:
			f.done <- err
			return fmt.Errorf("polyregion up exited: %v\n%s", err, f.out.String())
		default:
		}
		ef, err := readEndpoints(dir)
		if err != nil {
			return err
		}
		for _, r := range regions {
			e, ok := ef.Region(r)
			if !ok || e.State != "running" || e.Endpoints["dynamodb"] == "" {
				return fmt.Errorf("region %s not running yet", r)
			}
		}
		f.ef = ef
		return nil
	})
	if err != nil {
		f.stop()
		return nil, err
	}
	creds := credentials.NewStaticCredentialsProvider(f.ef.Credentials.AccessKeyID, f.ef.Credentials.SecretAccessKey, "")
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 0}}
	f.raw = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: time.Minute}
	f.ddb, f.streams = map[string]*dynamodb.Client{}, map[string]*dynamodbstreams.Client{}
	for _, r := range regions {
		e, _ := f.ef.Region(r)
		u, err := url.Parse(e.Endpoints["dynamodb"])
		if err != nil {
			f.stop()
			return nil, fmt.Errorf("endpoint of %s: %w", r, err)
		}
		// The load generator shares the machine with the fleet, so its clients leave out two
		// pieces of per-request work that say nothing about polyregion: the SDK's endpoint
		// rules (evaluated on every call to arrive at the same URL) and the check of the
		// response's CRC32 (polyregion still sends it). Signing, JSON and the other
		// middleware stay as applications have them. They retry only a read on a connection
		// the client itself closed (a race in Go's HTTP client, awstest.Retryer); any answer
		// of polyregion's counts on the first attempt.
		f.ddb[r] = dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(u.String()), Credentials: creds,
			Retryer: awstest.Retryer(), HTTPClient: hc, EndpointResolverV2: fixedEndpoint{u: *u}, DisableValidateResponseChecksum: true})
		f.streams[r] = dynamodbstreams.New(dynamodbstreams.Options{Region: "us-east-1", BaseEndpoint: aws.String(u.String()), Credentials: creds,
			Retryer: awstest.Retryer(), HTTPClient: hc})
	}
	if f.ef.Supervisor == "" {
		f.stop()
		return nil, errors.New("endpoints.json names no supervisor (the chaos API): cannot read the WAN's delays")
	}
	nc := netsimClient(f)
	pairs, err := nc.Pairs(ctx)
	if err != nil {
		f.stop()
		return nil, fmt.Errorf("reading the WAN's pairs: %w", err)
	}
	f.oneWay = map[[2]string]time.Duration{}
	for _, p := range pairs {
		f.oneWay[[2]string{p.A, p.B}], f.oneWay[[2]string{p.B, p.A}] = p.Baseline, p.Baseline
	}
	// Every region answers a request.
	for _, r := range regions {
		if err := poll(ctx, 30*time.Second, func() error {
			_, err := f.ddb[r].ListTables(ctx, &dynamodb.ListTablesInput{})
			return err
		}); err != nil {
			f.stop()
			return nil, fmt.Errorf("region %s: %w", r, err)
		}
	}
	return f, nil
}

// cpuSeconds reads the CPU time each region's process has used.
func (f *fleet) cpuSeconds() (map[string]float64, error) {
	out := map[string]float64{}
	for _, r := range regions {
		e, ok := f.ef.Region(r)
		if !ok || e.PID == 0 {
			return nil, fmt.Errorf("endpoints.json names no process for %s", r)
		}
		s, err := procstat.CPUSeconds(e.PID)
		if err != nil {
			return nil, fmt.Errorf("CPU time of %s: %w", r, err)
		}
		out[r] = s
	}
	return out, nil
}

// fixedEndpoint resolves every DynamoDB operation to one region's URL.
type fixedEndpoint struct{ u url.URL }

var _ dynamodb.EndpointResolverV2 = fixedEndpoint{}

func (f fixedEndpoint) ResolveEndpoint(context.Context, dynamodb.EndpointParameters) (smithyendpoints.Endpoint, error) {
	return smithyendpoints.Endpoint{URI: f.u}, nil
}

// netsimClient returns a client of the fleet's chaos API.
func netsimClient(f *fleet) *netsim.Client {
	return &netsim.Client{BaseURL: f.ef.Supervisor, HTTP: &http.Client{Timeout: 5 * time.Second}}
}

// stop ends up (SIGTERM, then SIGKILL of its process group after 20 s).
func (f *fleet) stop() {
	_ = f.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-f.done:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-f.cmd.Process.Pid, syscall.SIGKILL)
		<-f.done
	}
}

// createTable creates a table with a string hash key pk and a KEYS_ONLY stream in us-east.
func (f *fleet) createTable(ctx context.Context, name string) error {
	c := f.ddb[regions[0]]
	_, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(name), BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
		StreamSpecification:  &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeKeysOnly},
	})
	if err != nil {
		return fmt.Errorf("CreateTable %s: %w", name, err)
	}
	return f.waitActive(ctx, c, name, nil)
}

// makeGlobal adds a replica of table in each other region, one at a time, each waited for
// until ACTIVE.
func (f *fleet) makeGlobal(ctx context.Context, table string) error {
	c := f.ddb[regions[0]]
	for _, r := range regions[1:] {
		if _, err := c.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: aws.String(table),
			ReplicaUpdates: []types.ReplicationGroupUpdate{{Create: &types.CreateReplicationGroupMemberAction{RegionName: aws.String(r)}}}}); err != nil {
			return fmt.Errorf("UpdateTable %s: create replica %s: %w", table, r, err)
		}
		if err := f.waitActive(ctx, c, table, &r); err != nil {
			return err
		}
	}
	for _, r := range regions {
		if err := f.waitActive(ctx, f.ddb[r], table, nil); err != nil {
			return fmt.Errorf("%s: %w", r, err)
		}
	}
	return nil
}

// waitActive waits until the table is ACTIVE (and replica, if not nil, is an ACTIVE replica).
func (f *fleet) waitActive(ctx context.Context, c *dynamodb.Client, table string, replica *string) error {
	return poll(ctx, 2*time.Minute, func() error {
		d, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
		if err != nil {
			return err
		}
		if d.Table.TableStatus != types.TableStatusActive {
			return fmt.Errorf("%s is %s", table, d.Table.TableStatus)
		}
		if replica == nil {
			return nil
		}
		for _, r := range d.Table.Replicas {
			if aws.ToString(r.RegionName) == *replica && r.ReplicaStatus == types.ReplicaStatusActive {
				return nil
			}
		}
		return fmt.Errorf("replica %s of %s not ACTIVE yet", *replica, table)
	})
}

// poll calls f every 50 ms until it returns nil, ctx ends or within has passed.
func poll(ctx context.Context, within time.Duration, f func() error) error {
	deadline := time.Now().Add(within)
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		err := f()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %v: %w", within, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// tempDir makes the fleet's directory.
func tempDir() (string, error) { return os.MkdirTemp("", "polyregion-bench-global-*") }

// endpointsFile is what the benchmark reads of up's DIR/endpoints.json (docs/endpoints.md).
type endpointsFile struct {
	Supervisor  string `json:"supervisor"`
	Credentials struct {
		AccessKeyID     string `json:"access_key_id"`
		SecretAccessKey string `json:"secret_access_key"`
	} `json:"credentials"`
	Regions []endpointsRegion `json:"regions"`
}

type endpointsRegion struct {
	Name      string            `json:"name"`
	State     string            `json:"state"`
	PID       int               `json:"pid"`
	Endpoints map[string]string `json:"endpoints"`
}

// Region returns a region of the file by name.
func (f *endpointsFile) Region(name string) (endpointsRegion, bool) {
	for _, r := range f.Regions {
		if r.Name == name {
			return r, true
		}
	}
	return endpointsRegion{}, false
}

func readEndpoints(dir string) (*endpointsFile, error) {
	b, err := os.ReadFile(filepath.Join(dir, "endpoints.json"))
	if err != nil {
		return nil, err
	}
	var f endpointsFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s/endpoints.json: %w", dir, err)
	}
	return &f, nil
}
