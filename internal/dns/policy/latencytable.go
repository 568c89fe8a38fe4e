package policy

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// LatencyTable maps client networks to measured round trips per region: the self-hosted
// stand-in for the measurements Route 53's latency routing uses. It is immutable and safe
// for concurrent use.
type LatencyTable struct {
	trie    prefixTrie[map[string]time.Duration]
	regions []string
}

// maxTableRTTms bounds a round trip in a latency table: one minute.
const maxTableRTTms = 60_000

// maxTableErrors is how many problems ParseLatencyTable reports before it summarises.
const maxTableErrors = 50

// ParseLatencyTable reads a latency table: one "prefix,region,rtt_ms" line per
// measurement, for example
//
//	# prefix,        region,       rtt_ms
//	192.0.2.0/24,    us-east,      12
//	192.0.2.0/24,    eu-west,      85.5
//	2001:db8::/32,   ap-southeast, 140
//
// Blank lines and everything after a '#' are ignored, fields may be padded with spaces, and
// the first line may be the header "prefix,region,rtt_ms". A prefix is an IPv4 or IPv6
// network in canonical form (no host bits) or a single address; rtt_ms is a decimal number
// of milliseconds, 0 to 60000. A network may list many regions, each once. Every problem
// is reported, each with its line number.
func ParseLatencyTable(r io.Reader) (*LatencyTable, error) {
	type entry struct {
		rtts map[string]time.Duration
		line map[string]int // region → line it was given on
	}
	entries := map[netip.Prefix]*entry{}
	var order []netip.Prefix
	var errs []error
	failed := 0
	fail := func(lineNo int, format string, args ...any) {
		failed++
		if failed <= maxTableErrors {
			errs = append(errs, fmt.Errorf("line %d: %s", lineNo, fmt.Sprintf(format, args...)))
		}
	}

	br := bufio.NewReader(r)
	sawData := false
	for lineNo := 1; ; lineNo++ {
		raw, readErr := br.ReadString('\n')
		if readErr != nil && readErr != io.EOF {
			return nil, fmt.Errorf("latency table: line %d: %w", lineNo, readErr)
		}
		if readErr == io.EOF && raw == "" {
			break
		}
		line, _, _ := strings.Cut(raw, "#")
		line = strings.TrimSpace(line)
		if line != "" {
			fields := strings.Split(line, ",")
			for i := range fields {
				fields[i] = strings.TrimSpace(fields[i])
			}
			header := !sawData && len(fields) == 3 && strings.EqualFold(fields[0], "prefix") &&
				strings.EqualFold(fields[1], "region") && strings.EqualFold(fields[2], "rtt_ms")
			sawData = true
			if !header {
				if p, region, rtt, msg := parseLatencyLine(fields); msg != "" {
					fail(lineNo, "%s", msg)
				} else {
					e := entries[p]
					if e == nil {
						e = &entry{rtts: map[string]time.Duration{}, line: map[string]int{}}
						entries[p] = e
						order = append(order, p)
					}
					if prev, dup := e.line[region]; dup {
						fail(lineNo, "%s %s already given on line %d", p, region, prev)
					} else {
						e.rtts[region], e.line[region] = rtt, lineNo
					}
				}
			}
		}
		if readErr == io.EOF {
			break
		}
	}
	if failed > maxTableErrors {
		errs = append(errs, fmt.Errorf("%d more problems", failed-maxTableErrors))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("latency table: %w", err)
	}

	t := &LatencyTable{}
	seen := map[string]bool{}
	for _, p := range order {
		t.trie.insert(p, entries[p].rtts)
		for region := range entries[p].rtts {
			if !seen[region] {
				seen[region] = true
				t.regions = append(t.regions, region)
			}
		}
	}
	slices.Sort(t.regions)
	return t, nil
}

// parseLatencyLine parses the fields of one data line; msg says what is wrong, "" when
// nothing is.
func parseLatencyLine(fields []string) (p netip.Prefix, region string, rtt time.Duration, msg string) {
	if len(fields) != 3 {
		return p, "", 0, fmt.Sprintf("want 3 comma-separated fields (prefix,region,rtt_ms), have %d", len(fields))
	}
	ps, region, ms := fields[0], fields[1], fields[2]
	var err error
	if strings.Contains(ps, "/") {
		p, err = netip.ParsePrefix(ps)
	} else {
		var a netip.Addr
		a, err = netip.ParseAddr(ps)
		if err == nil && a.Zone() != "" {
			err = errors.New("zones are not allowed")
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	switch {
	case err != nil:
		return p, "", 0, fmt.Sprintf("prefix %q: %v", ps, err)
	case p.Addr().Is4In6():
		return p, "", 0, fmt.Sprintf("prefix %q: write IPv4 networks in IPv4 form", ps)
	case p != p.Masked():
		return p, "", 0, fmt.Sprintf("prefix %q has host bits set (the network is %s)", ps, p.Masked())
	case region == "":
		return p, "", 0, "region is empty"
	case strings.ContainsFunc(region, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }):
		return p, "", 0, fmt.Sprintf("region %q contains spaces or control characters", region)
	}
	v, err := strconv.ParseFloat(ms, 64)
	decimal := ms != "" && strings.Trim(ms, "0123456789.eE+-") == ""
	if err != nil || !decimal || v < 0 || v > maxTableRTTms {
		return p, "", 0, fmt.Sprintf("rtt_ms %q is not a number of milliseconds from 0 to %d", ms, maxTableRTTms)
	}
	return p, region, time.Duration(math.Round(v * float64(time.Millisecond))), ""
}

// Lookup returns the round trips of the longest table network that contains addr, keyed
// by region; the map must not be modified. The prefix is the network the answer holds
// for, which an ECS scope may promise: the matched network, narrowed where longer table
// networks nest inside it so that it never covers an address another entry matches. When
// no entry matches, Lookup returns false and the largest network around addr that holds
// no entry. An IPv4-mapped IPv6 address is looked up as IPv4.
func (t *LatencyTable) Lookup(addr netip.Addr) (map[string]time.Duration, netip.Prefix, bool) {
	if t == nil || !addr.IsValid() {
		return nil, netip.Prefix{}, false
	}
	addr = addr.Unmap().WithZone("")
	rtts, _, scope, ok := t.trie.lookup(netip.PrefixFrom(addr, addr.BitLen()))
	return rtts, netip.PrefixFrom(addr, scope).Masked(), ok
}

// Regions returns the regions the table names, sorted, so that a caller can check them
// against the fleet's.
func (t *LatencyTable) Regions() []string {
	if t == nil {
		return nil
	}
	return slices.Clone(t.regions)
}
