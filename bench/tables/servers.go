package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	smithyendpoints "github.com/aws/smithy-go/endpoints"

	"github.com/polyregion/polyregion/bench/internal/child"
	fleetcfg "github.com/polyregion/polyregion/internal/config"
)

// server is one table server under test: a child process listening on 127.0.0.1.
type server struct {
	*child.Process
	endpoint string // base URL of its DynamoDB API
	metrics  string // URL of its Prometheus metrics; empty: none
	akid     string // the access key the clients sign with
	secret   string
}

// start runs cmd with its output in logPath.
func start(name string, cmd *exec.Cmd, logPath string) (*server, error) {
	p, err := child.Start(name, cmd, logPath)
	if err != nil {
		return nil, err
	}
	return &server{Process: p}, nil
}

// newClient is an SDK client of the server: no retries (an error is counted, not hidden),
// and enough idle connections that every client goroutine keeps its own.
//
// Unless sdkDefaults, two pieces of per-request client work that say nothing about the
// server are left out, for every server alike:
//   - the endpoint: a fixed one (fixedEndpoint) instead of the SDK's endpoint rules engine,
//     which evaluates the DynamoDB rule set and parses BaseEndpoint again on every call
//     to arrive at the same URL;
//   - the CRC32 of the response body (X-Amz-Crc32), which the DynamoDB client checks by
//     default to catch corruption on the way from AWS; both servers still send it, and
//     on loopback checking it only costs the client.
//
// The request signing, the JSON (de)serialization and every other middleware stay as
// applications have them.
func (s *server) newClient(clients int, sdkDefaults bool) *dynamodb.Client {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        2 * clients,
		MaxIdleConnsPerHost: 2 * clients,
		IdleConnTimeout:     5 * time.Minute,
	}
	opts := dynamodb.Options{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider(s.akid, s.secret, ""),
		BaseEndpoint:     aws.String(s.endpoint),
		HTTPClient:       &http.Client{Transport: tr, Timeout: 10 * time.Second},
		RetryMaxAttempts: 1,
	}
	if !sdkDefaults {
		u, err := url.Parse(s.endpoint)
		if err == nil {
			opts.EndpointResolverV2 = fixedEndpoint{u: *u}
		}
		opts.DisableValidateResponseChecksum = true
	}
	return dynamodb.New(opts)
}

// fixedEndpoint resolves every operation to the server's URL.
type fixedEndpoint struct{ u url.URL }

var _ dynamodb.EndpointResolverV2 = fixedEndpoint{}

func (f fixedEndpoint) ResolveEndpoint(context.Context, dynamodb.EndpointParameters) (smithyendpoints.Endpoint, error) {
	return smithyendpoints.Endpoint{URI: f.u}, nil
}

// waitReady polls the server with ListTables until it answers.
func (s *server) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cl := s.newClient(1, true)
	var last error
	for {
		_, err := cl.ListTables(ctx, &dynamodb.ListTablesInput{})
		if err == nil {
			return nil
		}
		last = err
		select {
		case <-s.Done():
			return fmt.Errorf("%s exited (%v) before it was ready:\n%s", s.Name, s.Err(), s.LogTail())
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %v (%v):\n%s", s.Name, timeout, last, s.LogTail())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// freePort returns a TCP port that is free on 127.0.0.1 when checked; the server binds it a
// moment later.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startPolyregion writes a one-region fleet serving the DynamoDB API on a free port, runs
// `polyregion init` (which generates the fleet's credentials) and `polyregion serve`, learns
// the endpoint from run.json and the credentials from the fleet's polyregion.yaml. Writes
// are synced as in production: nothing here changes that.
func startPolyregion(ctx context.Context, bin, dir, cpus string, gomaxprocs int, gogc string) (*server, error) {
	cfg := fleetcfg.Config{
		Regions: []fleetcfg.Region{{
			Name: "us-east", Lat: 38.9, Lon: -77.4, Zone: "us",
			Listen: fleetcfg.Listen{Peer: "127.0.0.1:0", Control: "127.0.0.1:0", DynamoDB: "127.0.0.1:0"},
		}},
		Log: fleetcfg.Log{Level: "warn", Format: "text"},
	}
	b, err := cfg.Marshal()
	if err != nil {
		return nil, err
	}
	src := filepath.Join(dir, "fleet.yaml")
	if err := os.WriteFile(src, b, 0o600); err != nil {
		return nil, err
	}
	fleet := filepath.Join(dir, "fleet")
	if out, err := exec.CommandContext(ctx, bin, "init", "--config", src, "--dir", fleet).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("polyregion init: %w\n%s", err, out)
	}
	effective := filepath.Join(fleet, "polyregion.yaml")
	written, err := fleetcfg.Load(effective)
	if err != nil {
		return nil, err
	}
	if written.Credentials.AccessKeyID == "" {
		return nil, fmt.Errorf("%s: no credentials", effective)
	}
	cmd := child.Command(cpus, bin, "serve", "--config", effective, "--region", "us-east")
	cmd.Env = os.Environ()
	if gomaxprocs > 0 {
		cmd.Env = append(cmd.Env, "GOMAXPROCS="+strconv.Itoa(gomaxprocs))
	}
	if gogc != "" {
		cmd.Env = append(cmd.Env, "GOGC="+gogc)
	}
	s, err := start("polyregion", cmd, filepath.Join(dir, "polyregion.log"))
	if err != nil {
		return nil, err
	}
	s.akid, s.secret = written.Credentials.AccessKeyID, written.Credentials.SecretAccessKey
	// serve writes run.json, with the bound addresses, once the region is up.
	runJSON := filepath.Join(fleet, "us-east", "run.json")
	deadline := time.Now().Add(30 * time.Second)
	for {
		var rf struct {
			Endpoints struct {
				DynamoDB string `json:"dynamodb"`
				Metrics  string `json:"metrics"`
			} `json:"endpoints"`
		}
		if b, err := os.ReadFile(runJSON); err == nil && json.Unmarshal(b, &rf) == nil && rf.Endpoints.DynamoDB != "" {
			s.endpoint, s.metrics = rf.Endpoints.DynamoDB, rf.Endpoints.Metrics
			return s, nil
		}
		select {
		case <-s.Done():
			return nil, fmt.Errorf("polyregion exited (%v):\n%s", s.Err(), s.LogTail())
		case <-ctx.Done():
			s.Stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("polyregion wrote no %s in 30s:\n%s", runJSON, s.LogTail())
		}
	}
}

// startDynalite runs dynalite on a free port, in memory (its default: it has no durable
// mode short of LevelDB on disk), with tables ACTIVE at once. It accepts any credentials.
func startDynalite(bin, dir, cpus string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s, err := start("dynalite", child.Command(cpus, bin, "--host", "127.0.0.1", "--port", strconv.Itoa(port),
		"--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0"), filepath.Join(dir, "dynalite.log"))
	if err != nil {
		return nil, err
	}
	s.endpoint = "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	s.akid, s.secret = "AKIDBENCHDYNALITE", "dynalite-accepts-any-secret"
	return s, nil
}

// dynaliteVersion reads the version from dynalite's package.json, next to its command.
func dynaliteVersion(bin string) string {
	p, err := filepath.EvalSymlinks(bin)
	if err != nil {
		return "?"
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(p), "package.json"))
	if err != nil {
		return "?"
	}
	var pkg struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(b, &pkg) != nil || pkg.Version == "" {
		return "?"
	}
	return pkg.Version
}

// nodeVersion is `node --version`, or "?".
func nodeVersion() string {
	out, err := exec.Command("node", "--version").Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(out))
}

// pinnedEnv marks this program as already running under taskset.
const pinnedEnv = "BENCH_TABLES_PINNED"

// pinSelf runs this program again under `taskset -c loadCPUs`, once, so that the load
// generator (the SDK clients) and its Go runtime stay off the servers' CPUs; the runtime
// then sizes GOMAXPROCS to the CPUs it may use.
func pinSelf(cfg config) error {
	if cfg.loadCPUs == "" || os.Getenv(pinnedEnv) != "" {
		return nil
	}
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		return errors.New("taskset not found: install util-linux, or run with -loadcpus '' -servercpus ''")
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	args := append([]string{"taskset", "-c", cfg.loadCPUs, self}, os.Args[1:]...)
	return syscall.Exec(taskset, args, append(os.Environ(), pinnedEnv+"=1"))
}
