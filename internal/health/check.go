package health

import (
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Type is the kind of a health check, spelt as in the Route 53 API.
type Type string

// The supported types. Route 53's CLOUDWATCH_METRIC and RECOVERY_CONTROL are not supported.
const (
	TypeHTTP          Type = "HTTP"
	TypeHTTPS         Type = "HTTPS"
	TypeHTTPStrMatch  Type = "HTTP_STR_MATCH"
	TypeHTTPSStrMatch Type = "HTTPS_STR_MATCH"
	TypeTCP           Type = "TCP"
	TypeCalculated    Type = "CALCULATED"
)

var allTypes = []Type{TypeHTTP, TypeHTTPS, TypeHTTPStrMatch, TypeHTTPSStrMatch, TypeTCP, TypeCalculated}

func (t Type) known() bool { return slices.Contains(allTypes, t) }

// isHTTP reports whether t is one of the four HTTP types.
func (t Type) isHTTP() bool {
	return t == TypeHTTP || t == TypeHTTPS || t == TypeHTTPStrMatch || t == TypeHTTPSStrMatch
}

func (t Type) isTLS() bool { return t == TypeHTTPS || t == TypeHTTPSStrMatch }

func (t Type) isStrMatch() bool { return t == TypeHTTPStrMatch || t == TypeHTTPSStrMatch }

// probed reports whether checks of type t are probed (every type but CALCULATED).
func (t Type) probed() bool { return t.isHTTP() || t == TypeTCP }

// defaultPort is the port of an HTTP type's scheme (80 or 443), 0 for the others.
func (t Type) defaultPort() int {
	switch {
	case t.isTLS():
		return 443
	case t.isHTTP():
		return 80
	}
	return 0
}

// Defaults and limits of a [Check].
const (
	DefaultRequestInterval  = 30 * time.Second
	DefaultFailureThreshold = 3
	// MinRequestInterval and MaxRequestInterval bound RequestInterval in polyregion; the
	// Route 53 API allows only 10 s and 30 s ([Check.ValidateRoute53]).
	MinRequestInterval  = 1 * time.Second
	MaxRequestInterval  = 30 * time.Second
	MinFailureThreshold = 1
	MaxFailureThreshold = 10
	// MaxSearchString is the longest SearchString, in bytes.
	MaxSearchString = 255
	// MaxResourcePath is the longest ResourcePath, in bytes.
	MaxResourcePath = 255
	// MaxChildren is the most children a CALCULATED check may have, and MaxHealthThreshold
	// the largest HealthThreshold.
	MaxChildren        = 256
	MaxHealthThreshold = 256
	// MaxIDLength is the longest check id.
	MaxIDLength = 64
	// MaxNameLength is the longest Name, in bytes.
	MaxNameLength = 255
	// maxFQDN is the longest FQDN, as in Route 53.
	maxFQDN = 255
)

// Check is one health check definition. It is stored in the replicated control plane and
// served by polyregion's REST API, hence the JSON names; problems are reported under those
// names.
//
// Which fields a check may set depends on its Type: IPAddress, FQDN and Port belong to the
// probed types (HTTP*, TCP); ResourcePath to HTTP*; SearchString to *_STR_MATCH; EnableSNI
// to HTTPS*; RequestInterval and FailureThreshold to the probed types; ChildHealthChecks and
// HealthThreshold to CALCULATED. Inverted and Disabled apply to every type.
type Check struct {
	// ID names the check: 1 to 64 of A-Z a-z 0-9 . _ -. Records, endpoints and CALCULATED
	// checks refer to it.
	ID string `json:"id"`
	// Name is a free description, at most 255 bytes.
	Name string `json:"name,omitempty"`
	Type Type   `json:"type"`
	// IPAddress is the address probed: IPv4 or IPv6. Unlike Route 53, loopback and private
	// addresses are valid (polyregion often runs on one machine or a private network).
	IPAddress string `json:"ip_address,omitempty"`
	// FQDN is resolved at every probe when there is no IPAddress (IPv4 preferred). It is
	// sent as the Host header (with ":port" unless the port is the scheme's default) and,
	// with EnableSNI, as the TLS server name. Without FQDN the Host header is the IPAddress.
	FQDN string `json:"fqdn,omitempty"`
	// Port defaults to 80 for HTTP and HTTP_STR_MATCH and to 443 for HTTPS and
	// HTTPS_STR_MATCH; TCP checks must set it.
	Port int `json:"port,omitempty"`
	// ResourcePath is the path (and query) requested; it defaults to "/", must start with
	// "/", and is at most 255 bytes without spaces or control characters.
	ResourcePath string `json:"resource_path,omitempty"`
	// SearchString must appear, case-sensitively, wholly within the first 5,120 bytes of
	// the body of a *_STR_MATCH check's response: 1 to 255 bytes of UTF-8.
	SearchString string `json:"search_string,omitempty"`
	// RequestInterval is the time between two probes from one vantage point: 1 s to 30 s,
	// default 30 s.
	RequestInterval Duration `json:"request_interval"`
	// FailureThreshold is how many consecutive probe results that disagree with a vantage
	// point's state flip it, in either direction: 1 to 10, default 3.
	FailureThreshold int `json:"failure_threshold"`
	// Inverted flips every probe result (and a CALCULATED check's result).
	Inverted bool `json:"inverted,omitempty"`
	// Disabled checks are never probed and are always healthy.
	Disabled bool `json:"disabled,omitempty"`
	// EnableSNI sends FQDN as the TLS server name (HTTPS types only). If the handshake
	// fails, the probe tries once more without SNI, as Route 53 does. Unlike the Route 53
	// API, it defaults to false.
	EnableSNI bool `json:"enable_sni,omitempty"`
	// ChildHealthChecks are the ids of a CALCULATED check's children: at least 1, at most
	// 256, no duplicates, none of them CALCULATED.
	ChildHealthChecks []string `json:"child_health_checks,omitempty"`
	// HealthThreshold is how many children must be healthy for a CALCULATED check to be
	// healthy: 0 to 256. 0 makes it always healthy; more than the number of children, always
	// unhealthy.
	HealthThreshold int `json:"health_threshold,omitempty"`
}

// ErrInvalidCheck is wrapped by every error that reports an invalid check or check set;
// test for it with errors.Is, and get the problems with errors.As and [*ValidationError].
var ErrInvalidCheck = errors.New("health: invalid check")

// ValidationError lists every problem found in a check or a set of checks. Each problem
// names its field by its JSON name ("failure_threshold: 11 is outside 1..10"); problems of
// a set also name the check (`check "web": ...`).
type ValidationError struct {
	// ID is the id of the check validated alone; empty for a set.
	ID       string
	Problems []string
}

func (e *ValidationError) Error() string {
	prefix := ErrInvalidCheck.Error()
	if e.ID != "" {
		prefix += " " + strconv.Quote(e.ID)
	}
	return prefix + ": " + strings.Join(e.Problems, "; ")
}

// Unwrap returns [ErrInvalidCheck].
func (e *ValidationError) Unwrap() error { return ErrInvalidCheck }

// problems collects validation problems.
type problems []string

func (p *problems) add(field, format string, args ...any) {
	*p = append(*p, field+": "+fmt.Sprintf(format, args...))
}

func (p problems) err(id string) error {
	if len(p) == 0 {
		return nil
	}
	return &ValidationError{ID: id, Problems: p}
}

// SetDefaults fills the fields left at their zero value: RequestInterval (30 s),
// FailureThreshold (3), Port (80 or 443) and ResourcePath ("/"), each only for the types it
// belongs to. A zero is taken as "not set"; to reject an explicit 0, decode with
// [ParseCheck], which defaults only fields that are absent.
func (c *Check) SetDefaults() {
	c.setDefaults(func(string) bool { return true })
}

// setDefaults fills the zero fields for which unset(jsonName) is true.
func (c *Check) setDefaults(unset func(field string) bool) {
	if c.Type.probed() {
		if c.RequestInterval == 0 && unset("request_interval") {
			c.RequestInterval = Duration(DefaultRequestInterval)
		}
		if c.FailureThreshold == 0 && unset("failure_threshold") {
			c.FailureThreshold = DefaultFailureThreshold
		}
	}
	if c.Type.isHTTP() {
		if c.Port == 0 && unset("port") {
			c.Port = c.Type.defaultPort()
		}
		if c.ResourcePath == "" && unset("resource_path") {
			c.ResourcePath = "/"
		}
	}
}

// Validate reports every problem of the check at once, each naming its field by its JSON
// name. It expects defaults to have been set ([Check.SetDefaults]). The error wraps
// [ErrInvalidCheck] and is a [*ValidationError].
func (c *Check) Validate() error {
	var p problems
	c.validate(&p)
	return p.err(c.ID)
}

// ValidateRoute53 is [Check.Validate] plus the stricter rules of the Route 53 API:
// RequestInterval is 10 s or 30 s, and IPAddress is a public unicast address (not
// loopback, private, link-local or otherwise reserved).
func (c *Check) ValidateRoute53() error {
	var p problems
	c.validate(&p)
	if c.Type.probed() {
		if d := time.Duration(c.RequestInterval); d != 10*time.Second && d != 30*time.Second {
			p.add("request_interval", "%v; Route 53 allows only 10s or 30s", d)
		}
		if a, err := netip.ParseAddr(c.IPAddress); err == nil {
			if why := nonPublic(a); why != "" {
				p.add("ip_address", "%s is %s; Route 53 checks only public addresses", c.IPAddress, why)
			}
		}
	}
	return p.err(c.ID)
}

// nonPublic says why a is not a public unicast address, or returns "".
func nonPublic(a netip.Addr) string {
	a = a.Unmap()
	switch {
	case a.IsLoopback():
		return "a loopback address"
	case a.IsPrivate():
		return "a private address"
	case a.IsLinkLocalUnicast():
		return "a link-local address"
	case a.IsMulticast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast():
		return "a multicast address"
	case a.IsUnspecified():
		return "the unspecified address"
	}
	for _, r := range reserved {
		if r.Contains(a) {
			return "a reserved address (" + r.String() + ")"
		}
	}
	return ""
}

// reserved are special-purpose ranges (RFC 6890 and successors) that netip does not name.
var reserved = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("100::/64"),
}

func (c *Check) validate(p *problems) {
	switch {
	case c.ID == "":
		p.add("id", "required")
	case len(c.ID) > MaxIDLength:
		p.add("id", "%d characters, at most %d", len(c.ID), MaxIDLength)
	case !validID(c.ID):
		p.add("id", "%q has characters other than A-Z a-z 0-9 . _ -", c.ID)
	}
	if len(c.Name) > MaxNameLength {
		p.add("name", "%d bytes, at most %d", len(c.Name), MaxNameLength)
	}
	if !utf8.ValidString(c.Name) {
		p.add("name", "not valid UTF-8")
	}
	switch {
	case c.Type == "":
		p.add("type", "required (one of %s)", typeList())
	case !c.Type.known():
		p.add("type", "%q is not one of %s", c.Type, typeList())
	case c.Type == TypeCalculated:
		c.validateCalculated(p)
	default:
		c.validateProbed(p)
	}
}

func typeList() string {
	s := make([]string, len(allTypes))
	for i, t := range allTypes {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

func validID(id string) bool {
	for i := 0; i < len(id); i++ {
		b := id[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '.' || b == '_' || b == '-') {
			return false
		}
	}
	return true
}

// notFor reports a field set on a type it does not belong to.
func (c *Check) notFor(p *problems, field string, set bool) {
	if set {
		p.add(field, "does not apply to %s", c.Type)
	}
}

func (c *Check) validateProbed(p *problems) {
	t := c.Type
	// Endpoint.
	if c.IPAddress != "" {
		a, err := netip.ParseAddr(c.IPAddress)
		switch {
		case err != nil:
			p.add("ip_address", "%q is not an IPv4 or IPv6 address", c.IPAddress)
		case a.IsUnspecified():
			p.add("ip_address", "%s is the unspecified address", c.IPAddress)
		case a.IsMulticast():
			p.add("ip_address", "%s is a multicast address", c.IPAddress)
		}
	}
	if c.FQDN != "" {
		if why := checkFQDN(c.FQDN); why != "" {
			p.add("fqdn", "%s", why)
		}
	} else if c.IPAddress == "" {
		p.add("fqdn", "required when there is no ip_address")
	}
	switch {
	case c.Port == 0 && t == TypeTCP:
		p.add("port", "required for TCP")
	case c.Port == 0:
		p.add("port", "required (the default for %s is %d)", t, t.defaultPort())
	case c.Port < 1 || c.Port > 65535:
		p.add("port", "%d is outside 1..65535", c.Port)
	}
	// HTTP request.
	if t.isHTTP() {
		switch {
		case c.ResourcePath == "":
			p.add("resource_path", "required (the default is \"/\")")
		case c.ResourcePath[0] != '/':
			p.add("resource_path", "%q does not start with \"/\"", c.ResourcePath)
		case len(c.ResourcePath) > MaxResourcePath:
			p.add("resource_path", "%d bytes, at most %d", len(c.ResourcePath), MaxResourcePath)
		case strings.ContainsFunc(c.ResourcePath, func(r rune) bool { return r <= ' ' || r == 0x7f }):
			p.add("resource_path", "%q contains a space or a control character", c.ResourcePath)
		}
	} else {
		c.notFor(p, "resource_path", c.ResourcePath != "")
	}
	if t.isStrMatch() {
		switch n := len(c.SearchString); {
		case n == 0:
			p.add("search_string", "required for %s", t)
		case n > MaxSearchString:
			p.add("search_string", "%d bytes, at most %d", n, MaxSearchString)
		case !utf8.ValidString(c.SearchString):
			p.add("search_string", "not valid UTF-8")
		}
	} else {
		c.notFor(p, "search_string", c.SearchString != "")
	}
	if !t.isTLS() {
		c.notFor(p, "enable_sni", c.EnableSNI)
	}
	// Timing.
	if d := time.Duration(c.RequestInterval); d < MinRequestInterval || d > MaxRequestInterval {
		p.add("request_interval", "%v is outside %v..%v", d, MinRequestInterval, MaxRequestInterval)
	}
	if n := c.FailureThreshold; n < MinFailureThreshold || n > MaxFailureThreshold {
		p.add("failure_threshold", "%d is outside %d..%d", n, MinFailureThreshold, MaxFailureThreshold)
	}
	c.notFor(p, "child_health_checks", len(c.ChildHealthChecks) > 0)
	c.notFor(p, "health_threshold", c.HealthThreshold != 0)
}

func (c *Check) validateCalculated(p *problems) {
	c.notFor(p, "ip_address", c.IPAddress != "")
	c.notFor(p, "fqdn", c.FQDN != "")
	c.notFor(p, "port", c.Port != 0)
	c.notFor(p, "resource_path", c.ResourcePath != "")
	c.notFor(p, "search_string", c.SearchString != "")
	c.notFor(p, "enable_sni", c.EnableSNI)
	c.notFor(p, "request_interval", c.RequestInterval != 0)
	c.notFor(p, "failure_threshold", c.FailureThreshold != 0)
	switch n := len(c.ChildHealthChecks); {
	case n == 0:
		p.add("type", "CALCULATED needs child_health_checks")
	case n > MaxChildren:
		p.add("child_health_checks", "%d checks, at most %d", n, MaxChildren)
	}
	seen := make(map[string]int, len(c.ChildHealthChecks))
	for i, child := range c.ChildHealthChecks {
		field := fmt.Sprintf("child_health_checks[%d]", i)
		switch first, dup := seen[child]; {
		case child == "":
			p.add(field, "empty id")
		case dup:
			p.add(field, "%q is also child_health_checks[%d]", child, first)
		case child == c.ID:
			p.add(field, "%q is the check itself", child)
		}
		if _, dup := seen[child]; !dup {
			seen[child] = i
		}
	}
	if n := c.HealthThreshold; n < 0 || n > MaxHealthThreshold {
		p.add("health_threshold", "%d is outside 0..%d", n, MaxHealthThreshold)
	}
}

// checkFQDN says what is wrong with a domain name, or returns "".
func checkFQDN(name string) string {
	if len(name) > maxFQDN {
		return fmt.Sprintf("%d characters, at most %d", len(name), maxFQDN)
	}
	trimmed := strings.TrimSuffix(name, ".")
	if trimmed == "" {
		return fmt.Sprintf("%q is not a domain name", name)
	}
	for label := range strings.SplitSeq(trimmed, ".") {
		if len(label) == 0 || len(label) > 63 {
			return fmt.Sprintf("%q has a label of %d characters (1..63)", name, len(label))
		}
		for i := 0; i < len(label); i++ {
			b := label[i]
			if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_') {
				return fmt.Sprintf("%q has a character other than letters, digits, '-' and '_'", name)
			}
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Sprintf("%q has a label that starts or ends with '-'", name)
		}
	}
	return ""
}

// ValidateSet validates every check and the rules across them: ids are unique, and a
// CALCULATED check's children exist and are not CALCULATED themselves. Each problem names
// the check (`check "web": ...`, or `checks[3]: ...` when it has no id) and the field. It
// expects defaults to have been set.
func ValidateSet(checks []Check) error {
	var all problems
	byID := make(map[string]int, len(checks))
	name := func(i int) string {
		if checks[i].ID == "" {
			return fmt.Sprintf("checks[%d]", i)
		}
		return "check " + strconv.Quote(checks[i].ID)
	}
	for i := range checks {
		c := &checks[i]
		var p problems
		c.validate(&p)
		if first, dup := byID[c.ID]; dup && c.ID != "" {
			p.add("id", "duplicate: checks[%d] and checks[%d] have it", first, i)
		} else if c.ID != "" {
			byID[c.ID] = i
		}
		for _, s := range p {
			all = append(all, name(i)+": "+s)
		}
	}
	for i := range checks {
		c := &checks[i]
		if c.Type != TypeCalculated {
			continue
		}
		for j, child := range c.ChildHealthChecks {
			if child == "" || child == c.ID {
				continue // reported by Validate
			}
			field := fmt.Sprintf("%s: child_health_checks[%d]", name(i), j)
			k, ok := byID[child]
			switch {
			case !ok:
				all = append(all, fmt.Sprintf("%s: no check %q", field, child))
			case checks[k].Type == TypeCalculated:
				all = append(all, fmt.Sprintf("%s: check %q is CALCULATED; calculated checks cannot be nested", field, child))
			}
		}
	}
	return all.err("")
}

// equal reports whether two definitions are the same.
func (c *Check) equal(d *Check) bool {
	a, b := *c, *d
	if !slices.Equal(a.ChildHealthChecks, b.ChildHealthChecks) {
		return false
	}
	a.ChildHealthChecks, b.ChildHealthChecks = nil, nil
	return reflect.DeepEqual(a, b)
}

// clone returns a copy of c that shares no memory with it.
func (c *Check) clone() Check {
	d := *c
	d.ChildHealthChecks = slices.Clone(c.ChildHealthChecks)
	return d
}

// Kind is the kind under which health checks are stored in the control plane.
const Kind = "healthcheck"
