package edge

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/polyregion/polyregion/internal/control"
)

// Kind is the control-plane kind of an accelerator document.
const Kind = "accelerator"

// Limits and defaults, as Global Accelerator has them.
const (
	MaxListeners         = 10
	MaxPortRanges        = 10
	MaxEndpointsPerGroup = 10
	// MaxPortsPerListener bounds the ports a listener's ranges cover in polyregion:
	// each port is a socket at every edge location.
	MaxPortsPerListener = 1024
	DefaultWeight       = 128
	DefaultDial         = 100.0
	DefaultThreshold    = 3
	DefaultInterval     = 30
	MaxNameLength       = 64
)

// Accelerator is an accelerator with its listeners, endpoint groups and
// endpoints: one document in the control plane. Field names are Global
// Accelerator's.
type Accelerator struct {
	AcceleratorArn   string            `json:"AcceleratorArn"`
	Name             string            `json:"Name"`
	Enabled          bool              `json:"Enabled"`
	IpAddressType    string            `json:"IpAddressType"`
	CreatedTime      time.Time         `json:"CreatedTime"`
	LastModifiedTime time.Time         `json:"LastModifiedTime"`
	Tags             map[string]string `json:"Tags,omitempty"`
	Listeners        []Listener        `json:"Listeners,omitempty"`
	// Attributes are the accelerator's attributes (flow logs) as the API stores them;
	// the edge keeps them as they are.
	Attributes json.RawMessage `json:"AcceleratorAttributes,omitempty"`
}

// Listener is a TCP or UDP listener of an accelerator.
type Listener struct {
	ListenerArn    string          `json:"ListenerArn"`
	Protocol       string          `json:"Protocol"`
	PortRanges     []PortRange     `json:"PortRanges"`
	ClientAffinity string          `json:"ClientAffinity"`
	EndpointGroups []EndpointGroup `json:"EndpointGroups,omitempty"`
}

// PortRange is an inclusive range of listener ports.
type PortRange struct {
	FromPort int `json:"FromPort"`
	ToPort   int `json:"ToPort"`
}

// EndpointGroup is a listener's endpoints in one region.
type EndpointGroup struct {
	EndpointGroupArn           string         `json:"EndpointGroupArn"`
	EndpointGroupRegion        string         `json:"EndpointGroupRegion"`
	TrafficDialPercentage      float64        `json:"TrafficDialPercentage"`
	HealthCheckProtocol        string         `json:"HealthCheckProtocol"`
	HealthCheckPort            int            `json:"HealthCheckPort,omitempty"` // 0: see HealthPort
	HealthCheckPath            string         `json:"HealthCheckPath,omitempty"`
	HealthCheckIntervalSeconds int            `json:"HealthCheckIntervalSeconds"`
	ThresholdCount             int            `json:"ThresholdCount"`
	PortOverrides              []PortOverride `json:"PortOverrides,omitempty"`
	Endpoints                  []Endpoint     `json:"EndpointDescriptions,omitempty"`
}

// PortOverride maps a listener port to the port dialled on a group's endpoints.
type PortOverride struct {
	ListenerPort int `json:"ListenerPort"`
	EndpointPort int `json:"EndpointPort"`
}

// Endpoint is one endpoint of a group. EndpointId is its address: an IP
// address, or "ip:port" to dial that port whatever the listener port.
type Endpoint struct {
	EndpointId                  string `json:"EndpointId"`
	Weight                      int    `json:"Weight"`
	ClientIPPreservationEnabled bool   `json:"ClientIPPreservationEnabled"`
}

// SetDefaults fills in what Global Accelerator defaults. Weight is left as it
// is: 0 is a valid weight, so callers apply DefaultWeight where it was omitted.
func (a *Accelerator) SetDefaults() {
	if a.IpAddressType == "" {
		a.IpAddressType = "IPV4"
	}
	for i := range a.Listeners {
		l := &a.Listeners[i]
		if l.ClientAffinity == "" {
			l.ClientAffinity = AffinityNone
		}
		for j := range l.EndpointGroups {
			l.EndpointGroups[j].SetDefaults()
		}
	}
}

// SetDefaults fills in the group's defaults, except TrafficDialPercentage (0 is
// valid; callers apply DefaultDial where it was omitted).
func (g *EndpointGroup) SetDefaults() {
	if g.HealthCheckProtocol == "" {
		g.HealthCheckProtocol = "TCP"
	}
	if g.HealthCheckPath == "" && g.HealthCheckProtocol != "TCP" {
		g.HealthCheckPath = "/"
	}
	if g.HealthCheckIntervalSeconds == 0 {
		g.HealthCheckIntervalSeconds = DefaultInterval
	}
	if g.ThresholdCount == 0 {
		g.ThresholdCount = DefaultThreshold
	}
}

// ErrInvalid is wrapped by every validation error; the message lists each
// problem with its path.
var ErrInvalid = errors.New("edge: invalid accelerator")

// ErrPortConflict is wrapped when listeners' ports overlap (Global
// Accelerator's InvalidPortRangeException).
var ErrPortConflict = errors.New("edge: overlapping listener ports")

// Validate checks an accelerator against Global Accelerator's rules and
// polyregion's: regions are the regions an endpoint group may name.
func (a *Accelerator) Validate(regions []string) error {
	var p []string
	add := func(path, format string, args ...any) { p = append(p, path+": "+fmt.Sprintf(format, args...)) }
	if a.Name == "" || len(a.Name) > MaxNameLength || strings.Trim(a.Name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") != "" ||
		strings.Trim(a.Name[:1]+a.Name[len(a.Name)-1:], "-.") != a.Name[:1]+a.Name[len(a.Name)-1:] {
		add("Name", "%q must be 1 to %d letters, digits, periods and hyphens, not starting or ending with a hyphen or period", a.Name, MaxNameLength)
	}
	if a.IpAddressType != "IPV4" && a.IpAddressType != "DUAL_STACK" {
		add("IpAddressType", "%q is not IPV4 or DUAL_STACK", a.IpAddressType)
	}
	if len(a.Listeners) > MaxListeners {
		add("Listeners", "%d listeners, at most %d", len(a.Listeners), MaxListeners)
	}
	overlap := false
	for i, l := range a.Listeners {
		l.validate(fmt.Sprintf("Listeners[%d]", i), regions, add)
		overlap = overlap || overlaps([]Listener{l}) != nil
	}
	if err := overlaps(a.Listeners); err != nil && !overlap {
		add("Listeners", "%v", err)
		overlap = true
	}
	if len(p) > 0 {
		err := fmt.Errorf("%w %s: %s", ErrInvalid, a.Name, strings.Join(p, "; "))
		if overlap {
			err = fmt.Errorf("%w (%w)", err, ErrPortConflict)
		}
		return err
	}
	return nil
}

// AcceleratorsOf decodes every accelerator of a control-plane state, sorted by id.
func AcceleratorsOf(st *control.State) ([]Accelerator, error) {
	rs := st.List(Kind)
	out := make([]Accelerator, 0, len(rs))
	for _, r := range rs {
		var a Accelerator
		if err := json.Unmarshal(r.Value, &a); err != nil {
			return nil, fmt.Errorf("edge: accelerator %q: %w", r.ID, err)
		}
		out = append(out, a)
	}
	return out, nil
}

// ValidateState checks every accelerator of a control-plane state, and that their ports
// do not overlap: the edge's part of the control plane's validator.
func ValidateState(next *control.State, regions []string) error {
	accs, err := AcceleratorsOf(next)
	if err != nil {
		return err
	}
	for i := range accs {
		if err := accs[i].Validate(regions); err != nil {
			return err
		}
	}
	return ValidateSet(accs)
}

func (l *Listener) validate(path string, regions []string, add func(path, format string, args ...any)) {
	if l.Protocol != TCP && l.Protocol != UDP {
		add(path+".Protocol", "%q is not TCP or UDP", l.Protocol)
	}
	if l.ClientAffinity != AffinityNone && l.ClientAffinity != AffinitySourceIP {
		add(path+".ClientAffinity", "%q is not NONE or SOURCE_IP", l.ClientAffinity)
	}
	if len(l.PortRanges) == 0 || len(l.PortRanges) > MaxPortRanges {
		add(path+".PortRanges", "%d ranges, want 1 to %d", len(l.PortRanges), MaxPortRanges)
	}
	ports := 0
	for i, r := range l.PortRanges {
		if r.FromPort < 1 || r.ToPort > 65535 || r.FromPort > r.ToPort {
			add(fmt.Sprintf("%s.PortRanges[%d]", path, i), "%d-%d is not a range within 1-65535", r.FromPort, r.ToPort)
			continue
		}
		ports += r.ToPort - r.FromPort + 1
	}
	if ports > MaxPortsPerListener {
		add(path+".PortRanges", "%d ports, at most %d in polyregion", ports, MaxPortsPerListener)
	}
	if err := overlaps([]Listener{*l}); err != nil {
		add(path+".PortRanges", "%v", err)
	}
	seen := map[string]bool{}
	for i, g := range l.EndpointGroups {
		gp := fmt.Sprintf("%s.EndpointGroups[%d]", path, i)
		if !slices.Contains(regions, g.EndpointGroupRegion) {
			add(gp+".EndpointGroupRegion", "%q is not a region of the fleet (%s)", g.EndpointGroupRegion, strings.Join(regions, ", "))
		}
		if seen[g.EndpointGroupRegion] {
			add(gp+".EndpointGroupRegion", "a second group in %s: one group per region per listener", g.EndpointGroupRegion)
		}
		seen[g.EndpointGroupRegion] = true
		g.validate(gp, l, add)
	}
}

func (g *EndpointGroup) validate(path string, l *Listener, add func(path, format string, args ...any)) {
	if g.TrafficDialPercentage < 0 || g.TrafficDialPercentage > 100 {
		add(path+".TrafficDialPercentage", "%v is outside 0-100", g.TrafficDialPercentage)
	}
	switch g.HealthCheckProtocol {
	case "TCP":
		if g.HealthCheckPath != "" {
			add(path+".HealthCheckPath", "set for a TCP health check")
		}
	case "HTTP", "HTTPS":
		if !strings.HasPrefix(g.HealthCheckPath, "/") || len(g.HealthCheckPath) > 255 {
			add(path+".HealthCheckPath", "%q must start with / and be at most 255 bytes", g.HealthCheckPath)
		}
	default:
		add(path+".HealthCheckProtocol", "%q is not TCP, HTTP or HTTPS", g.HealthCheckProtocol)
	}
	if l.Protocol == UDP && g.HealthCheckProtocol != "TCP" {
		add(path+".HealthCheckProtocol", "a UDP listener's endpoints are checked over TCP")
	}
	if g.HealthCheckPort < 0 || g.HealthCheckPort > 65535 {
		add(path+".HealthCheckPort", "%d is not a port", g.HealthCheckPort)
	}
	if g.HealthCheckIntervalSeconds < 1 || g.HealthCheckIntervalSeconds > 30 {
		add(path+".HealthCheckIntervalSeconds", "%d is outside 1-30 (Global Accelerator allows 10 or 30)", g.HealthCheckIntervalSeconds)
	}
	if g.ThresholdCount < 1 || g.ThresholdCount > 10 {
		add(path+".ThresholdCount", "%d is outside 1-10", g.ThresholdCount)
	}
	for i, o := range g.PortOverrides {
		op := fmt.Sprintf("%s.PortOverrides[%d]", path, i)
		if !l.covers(o.ListenerPort) {
			add(op+".ListenerPort", "%d is not a port of the listener", o.ListenerPort)
		}
		if o.EndpointPort < 1 || o.EndpointPort > 65535 {
			add(op+".EndpointPort", "%d is not a port", o.EndpointPort)
		}
	}
	if len(g.Endpoints) > MaxEndpointsPerGroup {
		add(path+".EndpointDescriptions", "%d endpoints, at most %d", len(g.Endpoints), MaxEndpointsPerGroup)
	}
	ids := map[string]bool{}
	for i, e := range g.Endpoints {
		ep := fmt.Sprintf("%s.EndpointDescriptions[%d]", path, i)
		if _, _, err := e.hostPort(); err != nil {
			add(ep+".EndpointId", "%v", err)
		}
		if ids[e.EndpointId] {
			add(ep+".EndpointId", "%q twice in the group", e.EndpointId)
		}
		ids[e.EndpointId] = true
		if e.Weight < 0 || e.Weight > 255 {
			add(ep+".Weight", "%d is outside 0-255", e.Weight)
		}
	}
}

// covers reports whether port is one of the listener's.
func (l *Listener) covers(port int) bool {
	for _, r := range l.PortRanges {
		if port >= r.FromPort && port <= r.ToPort {
			return true
		}
	}
	return false
}

// Ports returns the listener's ports in order.
func (l *Listener) Ports() []int {
	var out []int
	for _, r := range l.PortRanges {
		for p := max(r.FromPort, 1); p <= min(r.ToPort, 65535); p++ {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// overlaps reports ports shared by two ranges of the same protocol among the
// listeners, which all listen on the same addresses at each edge location.
func overlaps(ls []Listener) error {
	type span struct {
		proto    string
		from, to int
		who      string
	}
	var spans []span
	for _, l := range ls {
		for _, r := range l.PortRanges {
			spans = append(spans, span{l.Protocol, r.FromPort, r.ToPort, l.ListenerArn})
		}
	}
	for i := range spans {
		for j := i + 1; j < len(spans); j++ {
			a, b := spans[i], spans[j]
			if a.proto == b.proto && a.from <= b.to && b.from <= a.to {
				return fmt.Errorf("%w: %s ports %d-%d and %d-%d overlap", ErrPortConflict, a.proto, a.from, a.to, b.from, b.to)
			}
		}
	}
	return nil
}

// ValidateSet checks what must hold across accelerators: every listener of
// every accelerator listens on each edge location's address, so no two may
// share a port of the same protocol.
func ValidateSet(accs []Accelerator) error {
	var ls []Listener
	for _, a := range accs {
		ls = append(ls, a.Listeners...)
	}
	return overlaps(ls)
}

// hostPort splits an endpoint's id into the address dialled and its fixed port
// (0: the listener port).
func (e *Endpoint) hostPort() (string, uint16, error) {
	if ap, err := netip.ParseAddrPort(e.EndpointId); err == nil {
		if ap.Port() == 0 {
			return "", 0, fmt.Errorf("%q has port 0", e.EndpointId)
		}
		return ap.Addr().String(), ap.Port(), nil
	}
	if a, err := netip.ParseAddr(e.EndpointId); err == nil {
		return a.String(), 0, nil
	}
	return "", 0, fmt.Errorf("%q is not an IP address or ip:port", e.EndpointId)
}

// HealthCheckID is the id of the health check that polyregion derives for an
// endpoint of a group: every region probes it, as for any health check.
func HealthCheckID(groupArn, endpointID string) string {
	sum := sha256.Sum256([]byte(groupArn + "\x00" + endpointID))
	return "edge-" + hex.EncodeToString(sum[:12])
}

// HealthPort is the port an endpoint is checked on: the group's
// HealthCheckPort, else the endpoint's own port, else the listener's first
// port (never overridden, as in Global Accelerator).
func HealthPort(l *Listener, g *EndpointGroup, e *Endpoint) int {
	if g.HealthCheckPort != 0 {
		return g.HealthCheckPort
	}
	if _, p, err := e.hostPort(); err == nil && p != 0 {
		return int(p)
	}
	if ports := l.Ports(); len(ports) > 0 {
		return ports[0]
	}
	return 0
}

// ListenerID returns the last part of a listener's ARN, for names and metrics.
func ListenerID(arn string) string {
	if i := strings.LastIndexByte(arn, '/'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

// Targets returns the dial targets of a group's endpoints.
func (g *EndpointGroup) Targets() GroupTargets {
	t := GroupTargets{PortOverrides: map[uint16]uint16{}, Endpoints: map[string]EndpointTarget{}}
	for _, o := range g.PortOverrides {
		t.PortOverrides[uint16(o.ListenerPort)] = uint16(o.EndpointPort)
	}
	for _, e := range g.Endpoints {
		host, port, err := e.hostPort()
		if err != nil {
			continue
		}
		t.Endpoints[e.EndpointId] = EndpointTarget{Host: host, Port: port, ClientIPPreservation: e.ClientIPPreservationEnabled}
	}
	return t
}

// BuildRoutes returns the routes of a listener at an edge location from which
// the regions in proximity are ordered nearest first. healthy reports an
// endpoint's health check: (healthy, known); an endpoint routes only when both
// hold — a new endpoint must pass first.
func BuildRoutes(l *Listener, proximity []string, healthy func(checkID string) (bool, bool)) *Routes {
	rt := &Routes{Groups: map[string]GroupTargets{}}
	var groups []RouteGroup
	for _, g := range l.EndpointGroups {
		rg := RouteGroup{Region: g.EndpointGroupRegion, Dial: int(g.TrafficDialPercentage + 0.5)}
		for _, e := range g.Endpoints {
			ok, known := healthy(HealthCheckID(g.EndpointGroupArn, e.EndpointId))
			rg.Endpoints = append(rg.Endpoints, RouteEndpoint{ID: e.EndpointId, Weight: e.Weight, Healthy: ok && known})
		}
		groups = append(groups, rg)
		rt.Groups[g.EndpointGroupRegion] = g.Targets()
	}
	rt.Router = NewRouter(l.ClientAffinity, proximity, groups)
	return rt
}

// ListenAddr joins an edge location's host and a listener port.
func ListenAddr(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }
