package policy

import (
	"maps"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

const sampleTable = `# measured RTTs, client network → region
prefix,region,rtt_ms
10.0.0.0/8,      us-east,       12
10.0.0.0/8,      eu-west,       85.5   # a fractional millisecond
10.1.0.0/16,     eu-west,       9
2001:db8::/32,   ap-southeast,  140
192.0.2.7,       us-east,       0.25
` + "198.51.100.0/24,us-east,30\r\n" + // CRLF line ending
	"\n   \n" + // blank lines
	"203.0.113.0/24,eu-west,70" // no final newline

func TestParseLatencyTable(t *testing.T) {
	tbl, err := ParseLatencyTable(strings.NewReader(sampleTable))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tbl.Regions(), []string{"ap-southeast", "eu-west", "us-east"}; !slices.Equal(got, want) {
		t.Errorf("Regions() = %v, want %v", got, want)
	}
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	for _, tc := range []struct {
		addr    string
		rtts    map[string]time.Duration
		network string
	}{
		// 10.9/16 parts from the nested 10.1/16 after 12 bits: the answer holds for 10.8/13.
		{"10.9.9.9", map[string]time.Duration{"us-east": ms(12), "eu-west": ms(85.5)}, "10.8.0.0/13"},
		{"10.1.200.1", map[string]time.Duration{"eu-west": ms(9)}, "10.1.0.0/16"},
		{"::ffff:10.1.0.1", map[string]time.Duration{"eu-west": ms(9)}, "10.1.0.0/16"},
		{"2001:db8:ffff::1", map[string]time.Duration{"ap-southeast": ms(140)}, "2001:db8::/32"},
		{"192.0.2.7", map[string]time.Duration{"us-east": ms(0.25)}, "192.0.2.7/32"},
		{"198.51.100.200", map[string]time.Duration{"us-east": ms(30)}, "198.51.100.0/24"},
		{"203.0.113.9", map[string]time.Duration{"eu-west": ms(70)}, "203.0.113.0/24"},
		// Misses return the largest network around the address that holds no entry.
		{"192.0.2.8", nil, "192.0.2.8/29"},
		{"8.8.8.8", nil, "8.0.0.0/7"},
		{"2001:db9::1", nil, "2001:db9::/32"},
	} {
		rtts, network, ok := tbl.Lookup(netip.MustParseAddr(tc.addr))
		if ok != (tc.rtts != nil) || !maps.Equal(rtts, tc.rtts) || network != netip.MustParsePrefix(tc.network) {
			t.Errorf("Lookup(%s) = %v, %s, %v; want %v, %s", tc.addr, rtts, network, ok, tc.rtts, tc.network)
		}
	}
	if _, p, ok := tbl.Lookup(netip.Addr{}); ok || p.IsValid() {
		t.Errorf("Lookup(invalid) = %s, %v", p, ok)
	}
	var none *LatencyTable
	if _, _, ok := none.Lookup(netip.MustParseAddr("10.0.0.1")); ok || none.Regions() != nil {
		t.Error("a nil table answered")
	}
}

func TestParseLatencyTableEmpty(t *testing.T) {
	for _, in := range []string{"", "# nothing yet\n", "prefix,region,rtt_ms\n", "\n\n"} {
		tbl, err := ParseLatencyTable(strings.NewReader(in))
		if err != nil {
			t.Errorf("ParseLatencyTable(%q): %v", in, err)
			continue
		}
		if _, p, ok := tbl.Lookup(netip.MustParseAddr("192.0.2.1")); ok || p != netip.MustParsePrefix("192.0.2.1/0").Masked() {
			t.Errorf("empty table: Lookup = %s, %v; want a miss for everyone (/0)", p, ok)
		}
	}
}

func TestParseLatencyTableErrors(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
	}{
		{"10.0.0.0/8,us-east", "line 1: want 3 comma-separated fields (prefix,region,rtt_ms), have 2"},
		{"# c\n10.0.0.0/8,us-east,1,2", "line 2: want 3 comma-separated fields"},
		{"\n\n10.0.0.0/33,us-east,1", `line 3: prefix "10.0.0.0/33"`},
		{"banana,us-east,1", `line 1: prefix "banana"`},
		{"10.1.2.3/8,us-east,1", `line 1: prefix "10.1.2.3/8" has host bits set (the network is 10.0.0.0/8)`},
		{"fe80::1%eth0,us-east,1", `line 1: prefix "fe80::1%eth0"`},
		{"::ffff:10.0.0.0/104,us-east,1", `line 1: prefix "::ffff:10.0.0.0/104": write IPv4 networks in IPv4 form`},
		{"10.0.0.0/8,,1", "line 1: region is empty"},
		{"10.0.0.0/8,us east,1", `line 1: region "us east" contains spaces or control characters`},
		{"10.0.0.0/8,us-east,fast", `line 1: rtt_ms "fast" is not a number of milliseconds from 0 to 60000`},
		{"10.0.0.0/8,us-east,-1", `line 1: rtt_ms "-1"`},
		{"10.0.0.0/8,us-east,NaN", `line 1: rtt_ms "NaN"`},
		{"10.0.0.0/8,us-east,Inf", `line 1: rtt_ms "Inf"`},
		{"10.0.0.0/8,us-east,60001", `line 1: rtt_ms "60001"`},
		{"10.0.0.0/8,us-east,0x1p4", `line 1: rtt_ms "0x1p4"`},
		{"10.0.0.0/8,us-east,1\n10.0.0.0/8,eu-west,2\n10.0.0.0/8,us-east,3", "line 3: 10.0.0.0/8 us-east already given on line 1"},
		{"10.0.0.0/8,us-east,1\nprefix,region,rtt_ms", `line 2: prefix "prefix"`}, // a header only comes first
	} {
		_, err := ParseLatencyTable(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "latency table: ") {
			t.Errorf("ParseLatencyTable(%q) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
}

func TestParseLatencyTableReportsEveryProblem(t *testing.T) {
	in := "10.0.0.0/8,us-east,1\nbad\n10.0.0.0/8,us-east,x\n# fine\n10.0.0.0/33,eu-west,1\n"
	_, err := ParseLatencyTable(strings.NewReader(in))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"line 2:", "line 3:", "line 5:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not report %s:\n%v", want, err)
		}
	}

	var many strings.Builder
	for range 80 {
		many.WriteString("nope\n")
	}
	_, err = ParseLatencyTable(strings.NewReader(many.String()))
	if err == nil || !strings.Contains(err.Error(), "line 50:") || strings.Contains(err.Error(), "line 51:") ||
		!strings.Contains(err.Error(), "30 more problems") {
		t.Errorf("80 bad lines: want the first 50 and a count of the rest, got:\n%v", err)
	}
}
