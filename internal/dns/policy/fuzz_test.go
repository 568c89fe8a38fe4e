package policy

import (
	"net/netip"
	"strings"
	"testing"
)

// FuzzParseLatencyTable feeds arbitrary text to the parser: it must never panic, errors
// must name the table and a line, and every line of an accepted table must be found again
// by Lookup. The seed corpus is in testdata/fuzz/FuzzParseLatencyTable.
func FuzzParseLatencyTable(f *testing.F) {
	f.Add(sampleTable)
	f.Add("10.0.0.0/8,us-east,1\n10.0.0.0/8,us-east,2\n")
	f.Add("::/0,eu-west,0\n0.0.0.0/0,eu-west,60000\n")
	f.Fuzz(func(t *testing.T, in string) {
		tbl, err := ParseLatencyTable(strings.NewReader(in))
		if err != nil {
			if tbl != nil {
				t.Fatalf("a table and an error: %v", err)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "latency table: line ") {
				t.Fatalf("error does not name the table and a line: %q", msg)
			}
			return
		}
		regions := map[string]bool{}
		for _, r := range tbl.Regions() {
			regions[r] = true
		}
		for line := range strings.Lines(in) {
			data, _, _ := strings.Cut(line, "#")
			fields := strings.Split(strings.TrimSpace(data), ",")
			for i := range fields {
				fields[i] = strings.TrimSpace(fields[i])
			}
			p, region, _, msg := parseLatencyLine(fields)
			if msg != "" {
				continue // blank, comment or header: the parser accepted the table
			}
			if !regions[region] {
				t.Fatalf("region %q of line %q missing from Regions()", region, line)
			}
			rtts, network, ok := tbl.Lookup(p.Addr())
			if !ok || len(rtts) == 0 || !network.Contains(p.Addr()) || network.Bits() < p.Bits() {
				t.Fatalf("line %q: Lookup(%s) = %v, %s, %v", line, p.Addr(), rtts, network, ok)
			}
			if exact, _, _ := tbl.Lookup(p.Addr()); network.Bits() == p.Bits() {
				if _, has := exact[region]; !has {
					t.Fatalf("line %q: region %s missing from the entry's round trips %v", line, region, exact)
				}
			}
		}
		if rtts, _, ok := tbl.Lookup(netip.Addr{}); ok || rtts != nil {
			t.Fatal("the invalid address was found")
		}
	})
}
