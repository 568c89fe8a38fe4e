package app

import (
	"fmt"
	"path/filepath"
)

// EndpointsFileName is the file `up` writes into its directory once every region is ready.
const EndpointsFileName = "endpoints.json"

// EndpointsFile is the contract between `up` and everything that talks to a local fleet:
// the CLI, the tests, users' scripts. Services add their keys to each region's Endpoints.
// docs/endpoints.md documents it.
type EndpointsFile struct {
	Version     int                   `json:"version"`
	Supervisor  string                `json:"supervisor,omitempty"`
	Credentials EndpointsCredentials  `json:"credentials"`
	Regions     []EndpointsFileRegion `json:"regions"`
}

// EndpointsCredentials are the access key of the fleet's AWS-style APIs.
type EndpointsCredentials struct {
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`
}

// EndpointsFileRegion is one region of the fleet.
type EndpointsFileRegion struct {
	Name      string            `json:"name"`
	Zone      string            `json:"zone"`
	Lat       float64           `json:"lat"`
	Lon       float64           `json:"lon"`
	PID       int               `json:"pid"`
	State     string            `json:"state"`
	Endpoints map[string]string `json:"endpoints"`
}

// Region states in endpoints.json.
const (
	StateRunning = "running"
	StateDown    = "down"
)

// ReadEndpointsFile reads DIR/endpoints.json.
func ReadEndpointsFile(dir string) (*EndpointsFile, error) {
	var f EndpointsFile
	if err := readJSONFile(filepath.Join(dir, EndpointsFileName), &f); err != nil {
		return nil, fmt.Errorf("%w (is 'polyregion up --dir %s' running?)", err, dir)
	}
	if f.Version != 1 {
		return nil, fmt.Errorf("%s: version %d is not supported", filepath.Join(dir, EndpointsFileName), f.Version)
	}
	return &f, nil
}

// Region returns the named region.
func (f *EndpointsFile) Region(name string) (EndpointsFileRegion, bool) {
	for _, r := range f.Regions {
		if r.Name == name {
			return r, true
		}
	}
	return EndpointsFileRegion{}, false
}

func (e Endpoints) asMap() map[string]string {
	m := map[string]string{"peer": e.Peer, "control": e.Control, "metrics": e.Metrics}
	if e.DNS != "" {
		m["dns"] = e.DNS
	}
	if e.Route53 != "" {
		m["route53"] = e.Route53
	}
	if e.GlobalAccelerator != "" {
		m["globalaccelerator"] = e.GlobalAccelerator
	}
	if e.Edge != "" {
		m["edge"] = e.Edge
	}
	if e.DynamoDB != "" {
		m["dynamodb"] = e.DynamoDB
		m["dynamodbstreams"] = e.DynamoDBStreams
	}
	return m
}
