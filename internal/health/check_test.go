package health

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func defaulted(c Check) Check {
	c.SetDefaults()
	return c
}

func httpCheck() Check {
	return defaulted(Check{ID: "web", Type: TypeHTTP, IPAddress: "127.0.0.1"})
}

func strMatchCheck() Check {
	return defaulted(Check{ID: "web", Type: TypeHTTPStrMatch, IPAddress: "127.0.0.1", SearchString: "ok"})
}

func tcpCheck() Check {
	return defaulted(Check{ID: "db", Type: TypeTCP, IPAddress: "127.0.0.1", Port: 5432})
}

func calcCheck(children ...string) Check {
	return Check{ID: "all", Type: TypeCalculated, ChildHealthChecks: children, HealthThreshold: 1}
}

// problemsOf returns the problems of err, which must be a *ValidationError wrapping
// ErrInvalidCheck, or nil for a nil err.
func problemsOf(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	if !errors.Is(err, ErrInvalidCheck) {
		t.Fatalf("error %v does not wrap ErrInvalidCheck", err)
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v is not a *ValidationError", err)
	}
	return ve.Problems
}

func TestSetDefaults(t *testing.T) {
	for _, tc := range []struct {
		in   Check
		want Check
	}{
		{Check{Type: TypeHTTP}, Check{Type: TypeHTTP, Port: 80, ResourcePath: "/", RequestInterval: Duration(30 * time.Second), FailureThreshold: 3}},
		{Check{Type: TypeHTTPStrMatch}, Check{Type: TypeHTTPStrMatch, Port: 80, ResourcePath: "/", RequestInterval: Duration(30 * time.Second), FailureThreshold: 3}},
		{Check{Type: TypeHTTPS}, Check{Type: TypeHTTPS, Port: 443, ResourcePath: "/", RequestInterval: Duration(30 * time.Second), FailureThreshold: 3}},
		{Check{Type: TypeHTTPSStrMatch, Port: 8443, ResourcePath: "/up", RequestInterval: Duration(10 * time.Second), FailureThreshold: 1},
			Check{Type: TypeHTTPSStrMatch, Port: 8443, ResourcePath: "/up", RequestInterval: Duration(10 * time.Second), FailureThreshold: 1}},
		{Check{Type: TypeTCP}, Check{Type: TypeTCP, RequestInterval: Duration(30 * time.Second), FailureThreshold: 3}},
		{Check{Type: TypeCalculated}, Check{Type: TypeCalculated}},
	} {
		got := tc.in
		got.SetDefaults()
		if !got.equal(&tc.want) {
			t.Errorf("SetDefaults(%+v) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestValidateAcceptsValidChecks(t *testing.T) {
	for name, c := range map[string]Check{
		"http":              httpCheck(),
		"http loopback v6":  defaulted(Check{ID: "a", Type: TypeHTTP, IPAddress: "::1"}),
		"http private":      defaulted(Check{ID: "a", Type: TypeHTTP, IPAddress: "10.1.2.3"}),
		"http fqdn only":    defaulted(Check{ID: "a", Type: TypeHTTP, FQDN: "app.example.com."}),
		"https sni":         defaulted(Check{ID: "a", Type: TypeHTTPS, FQDN: "app.example.com", IPAddress: "192.168.1.1", EnableSNI: true}),
		"str match":         strMatchCheck(),
		"str match 255":     defaulted(Check{ID: "a", Type: TypeHTTPSStrMatch, IPAddress: "127.0.0.1", SearchString: strings.Repeat("x", 255)}),
		"path and query":    defaulted(Check{ID: "a", Type: TypeHTTP, IPAddress: "127.0.0.1", ResourcePath: "/health?full=1"}),
		"tcp":               tcpCheck(),
		"interval 1s":       defaulted(Check{ID: "a.b_c-1", Type: TypeTCP, IPAddress: "127.0.0.1", Port: 1, RequestInterval: Duration(time.Second), FailureThreshold: 10}),
		"calculated":        calcCheck("a", "b"),
		"calculated zero":   {ID: "all", Type: TypeCalculated, ChildHealthChecks: []string{"a"}},
		"calculated max":    {ID: "all", Type: TypeCalculated, ChildHealthChecks: []string{"a"}, HealthThreshold: 256, Inverted: true, Disabled: true},
		"inverted disabled": defaulted(Check{ID: "a", Type: TypeTCP, IPAddress: "127.0.0.1", Port: 9, Inverted: true, Disabled: true}),
	} {
		if err := c.Validate(); err != nil {
			t.Errorf("%s: Validate(%+v) = %v, want nil", name, c, err)
		}
	}
}

func TestValidateNamesEveryField(t *testing.T) {
	many := make([]string, 257)
	for i := range many {
		many[i] = fmt.Sprintf("c%d", i)
	}
	for _, tc := range []struct {
		name   string
		check  Check
		change func(*Check)
		want   []string // exactly these problems
	}{
		// The four from the acceptance criteria (the fourth is in TestValidateSet).
		{"interval 0", httpCheck(), func(c *Check) { c.RequestInterval = 0 },
			[]string{"request_interval: 0s is outside 1s..30s"}},
		{"threshold 11", httpCheck(), func(c *Check) { c.FailureThreshold = 11 },
			[]string{"failure_threshold: 11 is outside 1..10"}},
		{"search string 300 bytes", strMatchCheck(), func(c *Check) { c.SearchString = strings.Repeat("a", 300) },
			[]string{"search_string: 300 bytes, at most 255"}},

		{"interval 31s", httpCheck(), func(c *Check) { c.RequestInterval = Duration(31 * time.Second) },
			[]string{"request_interval: 31s is outside 1s..30s"}},
		{"interval 999ms", tcpCheck(), func(c *Check) { c.RequestInterval = Duration(999 * time.Millisecond) },
			[]string{"request_interval: 999ms is outside 1s..30s"}},
		{"threshold 0", httpCheck(), func(c *Check) { c.FailureThreshold = 0 },
			[]string{"failure_threshold: 0 is outside 1..10"}},
		{"no id", httpCheck(), func(c *Check) { c.ID = "" }, []string{"id: required"}},
		{"bad id", httpCheck(), func(c *Check) { c.ID = "a b" },
			[]string{`id: "a b" has characters other than A-Z a-z 0-9 . _ -`}},
		{"long id", httpCheck(), func(c *Check) { c.ID = strings.Repeat("a", 65) },
			[]string{"id: 65 characters, at most 64"}},
		{"long name", httpCheck(), func(c *Check) { c.Name = strings.Repeat("n", 256) },
			[]string{"name: 256 bytes, at most 255"}},
		{"no type", Check{ID: "a"}, nil,
			[]string{"type: required (one of HTTP, HTTPS, HTTP_STR_MATCH, HTTPS_STR_MATCH, TCP, CALCULATED)"}},
		{"unsupported type", Check{ID: "a", Type: "CLOUDWATCH_METRIC"}, nil,
			[]string{`type: "CLOUDWATCH_METRIC" is not one of HTTP, HTTPS, HTTP_STR_MATCH, HTTPS_STR_MATCH, TCP, CALCULATED`}},
		{"bad ip", httpCheck(), func(c *Check) { c.IPAddress = "300.1.1.1" },
			[]string{`ip_address: "300.1.1.1" is not an IPv4 or IPv6 address`}},
		{"unspecified ip", httpCheck(), func(c *Check) { c.IPAddress = "0.0.0.0" },
			[]string{"ip_address: 0.0.0.0 is the unspecified address"}},
		{"multicast ip", httpCheck(), func(c *Check) { c.IPAddress = "ff02::1" },
			[]string{"ip_address: ff02::1 is a multicast address"}},
		{"no endpoint", httpCheck(), func(c *Check) { c.IPAddress = "" },
			[]string{"fqdn: required when there is no ip_address"}},
		{"bad fqdn", httpCheck(), func(c *Check) { c.FQDN = "a..b" },
			[]string{`fqdn: "a..b" has a label of 0 characters (1..63)`}},
		{"fqdn hyphen", httpCheck(), func(c *Check) { c.FQDN = "-a.example" },
			[]string{`fqdn: "-a.example" has a label that starts or ends with '-'`}},
		{"fqdn char", httpCheck(), func(c *Check) { c.FQDN = "a b.example" },
			[]string{`fqdn: "a b.example" has a character other than letters, digits, '-' and '_'`}},
		{"long fqdn", httpCheck(), func(c *Check) { c.FQDN = strings.Repeat("a.", 128) },
			[]string{"fqdn: 256 characters, at most 255"}},
		{"tcp no port", tcpCheck(), func(c *Check) { c.Port = 0 }, []string{"port: required for TCP"}},
		{"port too big", tcpCheck(), func(c *Check) { c.Port = 70000 }, []string{"port: 70000 is outside 1..65535"}},
		{"path without slash", httpCheck(), func(c *Check) { c.ResourcePath = "health" },
			[]string{`resource_path: "health" does not start with "/"`}},
		{"long path", httpCheck(), func(c *Check) { c.ResourcePath = "/" + strings.Repeat("p", 255) },
			[]string{"resource_path: 256 bytes, at most 255"}},
		{"path with space", httpCheck(), func(c *Check) { c.ResourcePath = "/a b" },
			[]string{`resource_path: "/a b" contains a space or a control character`}},
		{"str match without string", strMatchCheck(), func(c *Check) { c.SearchString = "" },
			[]string{"search_string: required for HTTP_STR_MATCH"}},
		{"search string on TCP", tcpCheck(), func(c *Check) { c.SearchString = "x" },
			[]string{"search_string: does not apply to TCP"}},
		{"search string on HTTPS", httpCheck(), func(c *Check) { c.Type = TypeHTTPS; c.SearchString = "x" },
			[]string{"search_string: does not apply to HTTPS"}},
		{"path on TCP", tcpCheck(), func(c *Check) { c.ResourcePath = "/" },
			[]string{"resource_path: does not apply to TCP"}},
		{"sni on HTTP", httpCheck(), func(c *Check) { c.EnableSNI = true },
			[]string{"enable_sni: does not apply to HTTP"}},
		{"children on HTTP", httpCheck(), func(c *Check) { c.ChildHealthChecks = []string{"a"}; c.HealthThreshold = 1 },
			[]string{"child_health_checks: does not apply to HTTP", "health_threshold: does not apply to HTTP"}},
		{"endpoint on CALCULATED", calcCheck("a"), func(c *Check) {
			c.IPAddress, c.FQDN, c.Port, c.ResourcePath, c.SearchString, c.EnableSNI = "127.0.0.1", "a.example", 80, "/", "x", true
			c.RequestInterval, c.FailureThreshold = Duration(time.Second), 3
		}, []string{
			"ip_address: does not apply to CALCULATED", "fqdn: does not apply to CALCULATED",
			"port: does not apply to CALCULATED", "resource_path: does not apply to CALCULATED",
			"search_string: does not apply to CALCULATED", "enable_sni: does not apply to CALCULATED",
			"request_interval: does not apply to CALCULATED", "failure_threshold: does not apply to CALCULATED",
		}},
		{"calculated without children", calcCheck(), nil, []string{"type: CALCULATED needs child_health_checks"}},
		{"calculated 257 children", calcCheck(many...), nil, []string{"child_health_checks: 257 checks, at most 256"}},
		{"duplicate child", calcCheck("a", "b", "a"), nil,
			[]string{`child_health_checks[2]: "a" is also child_health_checks[0]`}},
		{"own child", calcCheck("a", "all"), nil, []string{`child_health_checks[1]: "all" is the check itself`}},
		{"empty child", calcCheck(""), nil, []string{"child_health_checks[0]: empty id"}},
		{"health threshold 257", calcCheck("a"), func(c *Check) { c.HealthThreshold = 257 },
			[]string{"health_threshold: 257 is outside 0..256"}},
		{"health threshold -1", calcCheck("a"), func(c *Check) { c.HealthThreshold = -1 },
			[]string{"health_threshold: -1 is outside 0..256"}},
		{"every problem at once", strMatchCheck(), func(c *Check) {
			c.RequestInterval, c.FailureThreshold, c.SearchString, c.Port = 0, 11, strings.Repeat("a", 300), -1
		}, []string{
			"port: -1 is outside 1..65535", "search_string: 300 bytes, at most 255",
			"request_interval: 0s is outside 1s..30s", "failure_threshold: 11 is outside 1..10",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.check
			if tc.change != nil {
				tc.change(&c)
			}
			err := c.Validate()
			got := problemsOf(t, err)
			if !slices.Equal(got, tc.want) {
				t.Errorf("problems:\n got %q\nwant %q", got, tc.want)
			}
			if err != nil && c.ID != "" && !strings.Contains(err.Error(), fmt.Sprintf("%q", c.ID)) {
				t.Errorf("error %q does not name the check %q", err, c.ID)
			}
		})
	}
}

func TestValidateRoute53(t *testing.T) {
	ok := defaulted(Check{ID: "a", Type: TypeHTTP, IPAddress: "8.8.8.8", RequestInterval: Duration(10 * time.Second)})
	if err := ok.ValidateRoute53(); err != nil {
		t.Errorf("ValidateRoute53(%+v) = %v", ok, err)
	}
	calc := calcCheck("a")
	if err := calc.ValidateRoute53(); err != nil {
		t.Errorf("ValidateRoute53(calculated) = %v", err)
	}
	for _, tc := range []struct {
		change func(*Check)
		want   []string
	}{
		{func(c *Check) { c.RequestInterval = Duration(15 * time.Second) },
			[]string{"request_interval: 15s; Route 53 allows only 10s or 30s"}},
		{func(c *Check) { c.IPAddress = "127.0.0.1" },
			[]string{"ip_address: 127.0.0.1 is a loopback address; Route 53 checks only public addresses"}},
		{func(c *Check) { c.IPAddress = "10.0.0.1" },
			[]string{"ip_address: 10.0.0.1 is a private address; Route 53 checks only public addresses"}},
		{func(c *Check) { c.IPAddress = "192.0.2.1" },
			[]string{"ip_address: 192.0.2.1 is a reserved address (192.0.2.0/24); Route 53 checks only public addresses"}},
		{func(c *Check) { c.IPAddress = "fe80::1" },
			[]string{"ip_address: fe80::1 is a link-local address; Route 53 checks only public addresses"}},
		// The polyregion rules still apply.
		{func(c *Check) { c.RequestInterval = 0 }, []string{
			"request_interval: 0s is outside 1s..30s", "request_interval: 0s; Route 53 allows only 10s or 30s"}},
	} {
		c := ok
		tc.change(&c)
		if err := c.Validate(); err != nil && len(tc.want) == 1 {
			t.Errorf("Validate(%+v) = %v; polyregion allows it", c, err)
		}
		if got := problemsOf(t, c.ValidateRoute53()); !slices.Equal(got, tc.want) {
			t.Errorf("ValidateRoute53 problems:\n got %q\nwant %q", got, tc.want)
		}
	}
}

func TestValidateSet(t *testing.T) {
	a, b := httpCheck(), tcpCheck()
	a.ID, b.ID = "a", "b"
	inner := calcCheck("a")
	inner.ID = "x"
	outer := calcCheck("a", "x", "missing")
	outer.ID = "all"
	if err := ValidateSet([]Check{a, b, calcCheck("a", "b")}); err != nil {
		t.Fatalf("ValidateSet(valid) = %v", err)
	}
	bad := a
	bad.FailureThreshold = 11
	noID := b
	noID.ID = ""
	got := problemsOf(t, ValidateSet([]Check{a, b, inner, outer, a, bad, noID}))
	want := []string{
		`check "a": id: duplicate: checks[0] and checks[4] have it`,
		`check "a": failure_threshold: 11 is outside 1..10`,
		`check "a": id: duplicate: checks[0] and checks[5] have it`,
		`checks[6]: id: required`,
		// The fourth of the acceptance criteria: a calculated child.
		`check "all": child_health_checks[1]: check "x" is CALCULATED; calculated checks cannot be nested`,
		`check "all": child_health_checks[2]: no check "missing"`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n got %q\nwant %q", got, want)
	}
	if err := ValidateSet(nil); err != nil {
		t.Errorf("ValidateSet(nil) = %v", err)
	}
}

func TestValidationErrorMessage(t *testing.T) {
	c := httpCheck()
	c.RequestInterval, c.FailureThreshold = 0, 11
	err := c.Validate()
	want := `health: invalid check "web": request_interval: 0s is outside 1s..30s; failure_threshold: 11 is outside 1..10`
	if err == nil || err.Error() != want {
		t.Errorf("Validate() = %v, want %s", err, want)
	}
}
