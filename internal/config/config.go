// Package config holds the fleet configuration: one YAML file that describes every region,
// where each of its services listens, the latency between regions, the data directory and the
// credentials of the AWS-style APIs.
//
// Loading follows one order: parse, fill defaults, then Validate, which reports every
// problem at once, each with its path (regions[2].zone: ...).
package config

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/polyregion/polyregion/internal/topology"
)

// Config is the whole fleet.
type Config struct {
	// DataDir is the root of the data directories; each region keeps its state in
	// DataDir/<region> and the certificates in DataDir/pki.
	DataDir     string        `yaml:"data_dir"`
	Credentials Credentials   `yaml:"credentials"`
	Zones       []string      `yaml:"zones,omitempty"`
	Regions     []Region      `yaml:"regions"`
	Latency     []LatencyPair `yaml:"latency,omitempty"`
	Health      Health        `yaml:"health,omitempty"`
	DNS         DNS           `yaml:"dns,omitempty"`
	Edge        Edge          `yaml:"edge,omitempty"`
	Log         Log           `yaml:"log,omitempty"`
}

// Edge declares accelerators for the edge locations (every region with listen.edge).
// They are written into the control plane when the fleet starts, where the Global
// Accelerator API manages them like any other. Names and rules are Global Accelerator's,
// in snake case; app checks them (they need the edge's rules).
type Edge struct {
	// Locations are edge-only locations: machines that run no region, only edge
	// listeners (`polyregion serve --edge-location NAME`), at their own coordinates.
	Locations    []EdgeLocation    `yaml:"locations,omitempty"`
	Accelerators []EdgeAccelerator `yaml:"accelerators,omitempty"`
}

// EdgeLocation is an edge-only location.
type EdgeLocation struct {
	Name string  `yaml:"name"`
	Lat  float64 `yaml:"lat"`
	Lon  float64 `yaml:"lon"`
	// Listen is the IP address the location's listeners bind, with each listener's ports.
	Listen string `yaml:"listen"`
	// Control serves /healthz, /readyz, /metrics and /v1/status; empty: none.
	Control string `yaml:"control,omitempty"`
}

// EdgeAccelerator is an accelerator declared in the configuration.
type EdgeAccelerator struct {
	Name      string         `yaml:"name"`
	Enabled   *bool          `yaml:"enabled,omitempty"` // default true
	Listeners []EdgeListener `yaml:"listeners"`
}

// EdgeListener is a listener of an accelerator: ports is a list of "8080" or
// "9000-9010" ranges.
type EdgeListener struct {
	Protocol       string              `yaml:"protocol"`
	Ports          []string            `yaml:"ports"`
	ClientAffinity string              `yaml:"client_affinity,omitempty"`
	EndpointGroups []EdgeEndpointGroup `yaml:"endpoint_groups,omitempty"`
}

// EdgeEndpointGroup is a listener's endpoints in one region.
type EdgeEndpointGroup struct {
	Region        string             `yaml:"region"`
	TrafficDial   *float64           `yaml:"traffic_dial,omitempty"` // default 100
	HealthCheck   EdgeHealthCheck    `yaml:"health_check,omitempty"`
	PortOverrides []EdgePortOverride `yaml:"port_overrides,omitempty"`
	Endpoints     []EdgeEndpoint     `yaml:"endpoints,omitempty"`
}

// EdgeHealthCheck configures how a group's endpoints are checked.
type EdgeHealthCheck struct {
	Protocol  string `yaml:"protocol,omitempty"` // TCP (default), HTTP, HTTPS
	Port      int    `yaml:"port,omitempty"`
	Path      string `yaml:"path,omitempty"`
	Interval  int    `yaml:"interval,omitempty"` // seconds, default 30
	Threshold int    `yaml:"threshold,omitempty"`
}

// EdgePortOverride maps a listener port to the port dialled on the endpoints.
type EdgePortOverride struct {
	ListenerPort int `yaml:"listener_port"`
	EndpointPort int `yaml:"endpoint_port"`
}

// EdgeEndpoint is one endpoint: an IP address, or ip:port.
type EdgeEndpoint struct {
	Address              string `yaml:"address"`
	Weight               *int   `yaml:"weight,omitempty"` // default 128
	ClientIPPreservation bool   `yaml:"client_ip_preservation,omitempty"`
}

// DNS configures the authoritative DNS servers of every region.
type DNS struct {
	// GeoIP names a MaxMind-format City database (.mmdb) used to locate clients. `up`
	// writes a demo database for the documentation address ranges when none is given.
	GeoIP string `yaml:"geoip,omitempty"`
	// LatencyTable names a CSV file of "prefix,region,rtt_ms" lines that latency-based
	// routing prefers over the distance model.
	LatencyTable string `yaml:"latency_table,omitempty"`
	// Zones declared here are created in the control plane (and their record sets upserted)
	// when the fleet starts; the Route 53 API manages them like any other.
	Zones []DNSZone `yaml:"zones,omitempty"`
}

// DNSZone is a hosted zone declared in the configuration.
type DNSZone struct {
	Name    string      `yaml:"name"`
	Records []DNSRecord `yaml:"records,omitempty"`
}

// DNSRecord is a record set declared in the configuration, with the fields of Route 53's
// ResourceRecordSet in snake case.
type DNSRecord struct {
	Name             string         `yaml:"name"`
	Type             string         `yaml:"type"`
	TTL              int64          `yaml:"ttl,omitempty"`
	Values           []string       `yaml:"values,omitempty"`
	SetIdentifier    string         `yaml:"set_identifier,omitempty"`
	HealthCheckID    string         `yaml:"health_check_id,omitempty"`
	Weight           *int64         `yaml:"weight,omitempty"`
	Region           string         `yaml:"region,omitempty"`
	Failover         string         `yaml:"failover,omitempty"`
	MultiValueAnswer bool           `yaml:"multi_value_answer,omitempty"`
	GeoLocation      *DNSGeo        `yaml:"geo_location,omitempty"`
	GeoProximity     *DNSProximity  `yaml:"geo_proximity,omitempty"`
	Alias            *DNSAlias      `yaml:"alias,omitempty"`
	Cidr             *DNSCidrRecord `yaml:"cidr,omitempty"`
}

// DNSGeo is a geolocation: continent, country, US state, or country "*" for the default.
type DNSGeo struct {
	Continent   string `yaml:"continent,omitempty"`
	Country     string `yaml:"country,omitempty"`
	Subdivision string `yaml:"subdivision,omitempty"`
}

// DNSProximity is a geoproximity location: a region or coordinates, and a bias.
type DNSProximity struct {
	Region string   `yaml:"region,omitempty"`
	Lat    *float64 `yaml:"lat,omitempty"`
	Lon    *float64 `yaml:"lon,omitempty"`
	Bias   int32    `yaml:"bias,omitempty"`
}

// DNSAlias points a record at another name in one of the fleet's zones.
type DNSAlias struct {
	Target               string `yaml:"target"`
	EvaluateTargetHealth bool   `yaml:"evaluate_target_health,omitempty"`
}

// DNSCidrRecord ties an IP-based record to a CIDR collection's location.
type DNSCidrRecord struct {
	Collection string `yaml:"collection"`
	Location   string `yaml:"location"`
}

// Health tunes how the regions' health observations combine.
type Health struct {
	// Quorum: a check is healthy when MORE than this fraction of the reporting vantage
	// points (regions) say so. Route 53 uses 0.18.
	Quorum float64 `yaml:"quorum,omitempty"`
}

// Credentials are the access key the AWS-style APIs accept (SigV4).
type Credentials struct {
	AccessKeyID     string `yaml:"access_key_id"`
	SecretAccessKey string `yaml:"secret_access_key"`
}

// Region is one region of the fleet.
type Region struct {
	Name        string  `yaml:"name"`
	DisplayName string  `yaml:"display_name,omitempty"`
	Lat         float64 `yaml:"lat"`
	Lon         float64 `yaml:"lon"`
	Zone        string  `yaml:"zone"`
	// Listen gives the address each of the region's services binds to.
	Listen Listen `yaml:"listen"`
	// PeerAddress is how the other regions reach this region's peer listener; it defaults to
	// Listen.Peer, which only works when that is not a wildcard address.
	PeerAddress string `yaml:"peer_address,omitempty"`
}

// Listen holds the listen addresses of one region's services. Port 0 picks a free port.
type Listen struct {
	// Peer is the mutual-TLS listener for region-to-region traffic.
	Peer string `yaml:"peer"`
	// Control serves polyregion's own API, the Route 53 API (/2013-04-01/), /metrics,
	// /healthz and /readyz.
	Control string `yaml:"control"`
	// DNS is the authoritative DNS server's address, UDP and TCP; empty: no DNS server.
	DNS string `yaml:"dns,omitempty"`
	// DynamoDB serves the DynamoDB-compatible API (and DynamoDB Streams); empty: none.
	DynamoDB string `yaml:"dynamodb,omitempty"`
	// Edge is the IP address the region's edge location listens on, with every
	// accelerator listener's ports; empty: the region runs no edge location.
	Edge string `yaml:"edge,omitempty"`
}

// LatencyPair overrides the modelled one-way latency between two regions.
type LatencyPair struct {
	Between []string `yaml:"between"`
	OneWay  Duration `yaml:"one_way"`
}

// Log sets the log output of every region.
type Log struct {
	Level  string `yaml:"level,omitempty"`  // debug, info, warn, error
	Format string `yaml:"format,omitempty"` // text or json
}

// Duration is a time.Duration written as a Go duration string ("40ms").
type Duration time.Duration

// UnmarshalYAML reads a duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (like 40ms)", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes a duration string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

//go:embed default.yaml
var defaultYAML []byte

// Default returns the embedded three-region fleet that `polyregion up` runs when given no
// configuration.
func Default() *Config {
	c, err := Parse(defaultYAML)
	if err != nil {
		panic(fmt.Sprintf("config: embedded default is invalid: %v", err))
	}
	return c
}

// DefaultYAML returns the text of the embedded default configuration.
func DefaultYAML() []byte { return bytes.Clone(defaultYAML) }

// Load reads, defaults and validates a configuration file.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse decodes YAML (unknown fields are errors), fills defaults and validates.
func Parse(b []byte) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("parse: %w", err)
	}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Marshal writes the configuration as YAML.
func (c *Config) Marshal() ([]byte, error) { return yaml.Marshal(c) }

// SetDefaults fills every field left empty.
func (c *Config) SetDefaults() {
	if c.DataDir == "" {
		c.DataDir = "polyregion-data"
	}
	if c.Health.Quorum == 0 {
		c.Health.Quorum = 0.18
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "text"
	}
	for i := range c.Regions {
		r := &c.Regions[i]
		if r.DisplayName == "" {
			r.DisplayName = r.Name
		}
		if r.PeerAddress == "" {
			r.PeerAddress = r.Listen.Peer
		}
	}
}

var (
	nameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}[a-z0-9]$`)
	zoneRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}$`)
)

// ValidationError lists every problem found in a configuration.
type ValidationError struct{ Problems []string }

func (e *ValidationError) Error() string {
	return fmt.Sprintf("%d problem(s) in configuration:\n  %s", len(e.Problems), strings.Join(e.Problems, "\n  "))
}

// Validate reports every problem in the configuration, each with its path.
func (c *Config) Validate() error {
	var p problems
	if c.DataDir == "" {
		p.add("data_dir", "must not be empty")
	}
	if c.Credentials.AccessKeyID != "" || c.Credentials.SecretAccessKey != "" {
		if len(c.Credentials.AccessKeyID) < 16 || len(c.Credentials.AccessKeyID) > 128 {
			p.add("credentials.access_key_id", "must be 16 to 128 characters, got %d", len(c.Credentials.AccessKeyID))
		}
		if len(c.Credentials.SecretAccessKey) < 16 {
			p.add("credentials.secret_access_key", "must be at least 16 characters")
		}
	}
	zones := map[string]bool{}
	for i, z := range c.Zones {
		if !zoneRE.MatchString(z) {
			p.add(fmt.Sprintf("zones[%d]", i), "%q is not a zone name (lower-case letters, digits and '-')", z)
		}
		if zones[z] {
			p.add(fmt.Sprintf("zones[%d]", i), "zone %q listed twice", z)
		}
		zones[z] = true
	}
	if len(c.Regions) == 0 {
		p.add("regions", "at least one region is required")
	}
	seen := map[string]int{}
	for i, r := range c.Regions {
		path := fmt.Sprintf("regions[%d]", i)
		switch {
		case !nameRE.MatchString(r.Name):
			p.add(path+".name", "%q is not a region name (2 to 32 lower-case letters, digits and '-', starting with a letter)", r.Name)
		case r.Name == "ca":
			p.add(path+".name", `"ca" is reserved (the fleet's certificate authority)`)
		default:
			if j, dup := seen[r.Name]; dup {
				p.add(path+".name", "%q is already the name of regions[%d]", r.Name, j)
			} else {
				seen[r.Name] = i
			}
		}
		if r.Lat < -90 || r.Lat > 90 {
			p.add(path+".lat", "%v is outside -90..90", r.Lat)
		}
		if r.Lon < -180 || r.Lon > 180 {
			p.add(path+".lon", "%v is outside -180..180", r.Lon)
		}
		switch {
		case r.Zone == "":
			p.add(path+".zone", "must not be empty")
		case !zoneRE.MatchString(r.Zone):
			p.add(path+".zone", "%q is not a zone name (lower-case letters, digits and '-')", r.Zone)
		case len(c.Zones) > 0 && !zones[r.Zone]:
			p.add(path+".zone", "unknown zone %q (zones: %s)", r.Zone, strings.Join(c.Zones, ", "))
		}
		p.addr(path+".listen.peer", r.Listen.Peer, true)
		p.addr(path+".listen.control", r.Listen.Control, true)
		if r.Listen.DNS != "" {
			p.addr(path+".listen.dns", r.Listen.DNS, true)
		}
		if r.Listen.DynamoDB != "" {
			p.addr(path+".listen.dynamodb", r.Listen.DynamoDB, true)
		}
		if r.Listen.Edge != "" {
			if _, err := netip.ParseAddr(r.Listen.Edge); err != nil {
				p.add(path+".listen.edge", "%q is not an IP address (the edge listens on each listener's ports at it)", r.Listen.Edge)
			}
		}
		if r.PeerAddress != r.Listen.Peer {
			p.addr(path+".peer_address", r.PeerAddress, false)
		} else if host, _, err := net.SplitHostPort(r.Listen.Peer); err == nil && (host == "" || host == "0.0.0.0" || host == "::") {
			p.add(path+".peer_address", "%q must name a host the other regions can reach: set peer_address when listen.peer is a wildcard", r.Listen.Peer)
		}
	}
	for i, l := range c.Edge.Locations {
		path := fmt.Sprintf("edge.locations[%d]", i)
		switch {
		case !nameRE.MatchString(l.Name) || l.Name == "ca":
			p.add(path+".name", "%q is not a location name (2 to 32 lower-case letters, digits and '-', starting with a letter)", l.Name)
		default:
			if _, dup := seen[l.Name]; dup {
				p.add(path+".name", "%q is already the name of a region or location", l.Name)
			}
			seen[l.Name] = i
		}
		if l.Lat < -90 || l.Lat > 90 {
			p.add(path+".lat", "%v is outside -90..90", l.Lat)
		}
		if l.Lon < -180 || l.Lon > 180 {
			p.add(path+".lon", "%v is outside -180..180", l.Lon)
		}
		if _, err := netip.ParseAddr(l.Listen); err != nil {
			p.add(path+".listen", "%q is not an IP address", l.Listen)
		}
		if l.Control != "" {
			p.addr(path+".control", l.Control, true)
		}
	}
	pairs := map[[2]string]int{}
	for i, l := range c.Latency {
		path := fmt.Sprintf("latency[%d]", i)
		if len(l.Between) != 2 {
			p.add(path+".between", "must name exactly two regions, got %d", len(l.Between))
		} else {
			for j, n := range l.Between {
				if _, ok := seen[n]; !ok {
					p.add(fmt.Sprintf("%s.between[%d]", path, j), "unknown region %q", n)
				}
			}
			if l.Between[0] == l.Between[1] {
				p.add(path+".between", "names region %q twice", l.Between[0])
			}
			k := [2]string{l.Between[0], l.Between[1]}
			sort.Strings(k[:])
			if j, dup := pairs[k]; dup {
				p.add(path, "pair %s-%s already set by latency[%d]", k[0], k[1], j)
			}
			pairs[k] = i
		}
		if l.OneWay < 0 || time.Duration(l.OneWay) > 10*time.Second {
			p.add(path+".one_way", "%v is outside 0..10s", time.Duration(l.OneWay))
		}
	}
	if c.Health.Quorum <= 0 || c.Health.Quorum >= 1 {
		p.add("health.quorum", "%v is outside (0, 1)", c.Health.Quorum)
	}
	for i, z := range c.DNS.Zones {
		path := fmt.Sprintf("dns.zones[%d]", i)
		if z.Name == "" || strings.Contains(strings.TrimSuffix(z.Name, "."), "..") {
			p.add(path+".name", "%q is not a domain name", z.Name)
		}
		for j, rec := range z.Records {
			rp := fmt.Sprintf("%s.records[%d]", path, j)
			if rec.Name == "" {
				p.add(rp+".name", "must not be empty")
			}
			if rec.Type == "" {
				p.add(rp+".type", "must not be empty")
			}
		}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		p.add("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		p.add("log.format", "%q is not one of text, json", c.Log.Format)
	}
	if len(p) > 0 {
		return &ValidationError{Problems: p}
	}
	return nil
}

type problems []string

func (p *problems) add(path, format string, args ...any) {
	*p = append(*p, path+": "+fmt.Sprintf(format, args...))
}

// addr checks a host:port; a listen address may have an empty host or port 0.
func (p *problems) addr(path, a string, listen bool) {
	if a == "" {
		p.add(path, "must not be empty")
		return
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		p.add(path, "%q is not host:port", a)
		return
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 || (!listen && n == 0) {
		p.add(path, "%q has an invalid port", a)
	}
	if !listen && (host == "" || host == "0.0.0.0" || host == "::") {
		p.add(path, "%q must name a host the other regions can reach", a)
	}
}

// Region returns the named region.
func (c *Config) Region(name string) (Region, bool) {
	for _, r := range c.Regions {
		if r.Name == name {
			return r, true
		}
	}
	return Region{}, false
}

// RegionNames returns the region names in configuration order.
func (c *Config) RegionNames() []string {
	out := make([]string, len(c.Regions))
	for i, r := range c.Regions {
		out[i] = r.Name
	}
	return out
}

// EdgeLocation returns an edge-only location by name.
func (c *Config) EdgeLocation(name string) (EdgeLocation, bool) {
	for _, l := range c.Edge.Locations {
		if l.Name == name {
			return l, true
		}
	}
	return EdgeLocation{}, false
}

// Identities lists every name that needs a certificate: the regions, then the edge-only
// locations.
func (c *Config) Identities() []string {
	out := c.RegionNames()
	for _, l := range c.Edge.Locations {
		out = append(out, l.Name)
	}
	return out
}

// Topology builds the latency model of the fleet.
func (c *Config) Topology() (*topology.Topology, error) {
	regions := make([]topology.Region, len(c.Regions))
	for i, r := range c.Regions {
		regions[i] = topology.Region{Name: r.Name, DisplayName: r.DisplayName, Lat: r.Lat, Lon: r.Lon, Zone: r.Zone}
	}
	overrides := map[topology.Pair]time.Duration{}
	for _, l := range c.Latency {
		overrides[topology.Pair{A: l.Between[0], B: l.Between[1]}] = time.Duration(l.OneWay)
	}
	return topology.New(regions, overrides)
}

// Subset keeps only the named regions, in the given order, and the latency overrides
// between them.
func (c *Config) Subset(names []string) (*Config, error) {
	out := *c
	out.Regions = nil
	keep := map[string]bool{}
	for _, n := range names {
		r, ok := c.Region(n)
		if !ok {
			return nil, fmt.Errorf("config: no region %q (regions: %s)", n, strings.Join(c.RegionNames(), ", "))
		}
		out.Regions = append(out.Regions, r)
		keep[n] = true
	}
	out.Latency = nil
	for _, l := range c.Latency {
		if keep[l.Between[0]] && keep[l.Between[1]] {
			out.Latency = append(out.Latency, l)
		}
	}
	return &out, out.Validate()
}
