package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// Targets of the issue: polyregion carries at least this share of HAProxy's TCP
// throughput, and adds at most this multiple of HAProxy's added p99 latency.
const (
	targetThroughput = 0.8
	targetAddedP99   = 1.5
)

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// series collects one figure of one test and path over the rounds.
func series(rounds []map[string]map[string]sample, test, p string, f func(sample) float64) []float64 {
	var out []float64
	for _, r := range rounds {
		if s, ok := r[test][p]; ok {
			out = append(out, f(s))
		}
	}
	return out
}

// addedP99 is, for each round, the path's p99 minus the direct p99 of the same round.
func addedP99(rounds []map[string]map[string]sample, p string) []float64 {
	var out []float64
	for _, r := range rounds {
		s, ok1 := r[testHTTP][p]
		d, ok2 := r[testHTTP]["direct"]
		if ok1 && ok2 {
			out = append(out, s.p99-d.p99)
		}
	}
	return out
}

func fmtList(xs []float64, f string) string {
	var out []string
	for _, x := range xs {
		out = append(out, fmt.Sprintf(f, x))
	}
	return strings.Join(out, ", ")
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

// report prints the medians over the rounds, the ratios and the targets.
func report(out io.Writer, cfg config, paths []path, tests []string, rounds []map[string]map[string]sample) {
	fmt.Fprintf(out, "medians of %d rounds (rounds in brackets; proxy CPU in cores of the proxy's CPU)\n", len(rounds))
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	gbps := func(s sample) float64 { return s.gbps }
	cores := func(s sample) float64 { return s.proxyCores }
	for _, t := range testNames {
		if !contains(tests, t) {
			continue
		}
		switch t {
		case testTCP1, testTCP4, testUDP:
			head := "Gbit/s"
			if t == testUDP {
				head = "Gbit/s received\tloss %"
			}
			fmt.Fprintf(tw, "%s\t%s\t / direct\trounds\tproxy CPU\n", t, head)
			direct := median(series(rounds, t, "direct", gbps))
			for _, p := range paths {
				v := series(rounds, t, p.name, gbps)
				if len(v) == 0 {
					continue
				}
				loss := ""
				if t == testUDP {
					loss = fmt.Sprintf("\t%.1f", median(series(rounds, t, p.name, func(s sample) float64 { return s.lossPct })))
				}
				fmt.Fprintf(tw, "  %s\t%.2f%s\t%.2f\t[%s]\t%.2f\n", p.name, median(v), loss, median(v)/direct, fmtList(v, "%.2f"),
					median(series(rounds, t, p.name, cores)))
			}
		case testHTTP:
			fmt.Fprintf(tw, "%s\treq/s\tp50\tp99\tadded p99\trounds p99\tproxy CPU\n", t)
			for _, p := range paths {
				rps := series(rounds, t, p.name, func(s sample) float64 { return s.rps })
				p50 := series(rounds, t, p.name, func(s sample) float64 { return s.p50 })
				p99 := series(rounds, t, p.name, func(s sample) float64 { return s.p99 })
				added := "-"
				if p.proxy != nil {
					added = "+" + msf(median(addedP99(rounds, p.name)))
				}
				fmt.Fprintf(tw, "  %s\t%.0f\t%s\t%s\t%s\t[%s]\t%.2f\n", p.name, median(rps), msf(median(p50)), msf(median(p99)), added,
					fmtList(p99, "%.3f"), median(series(rounds, t, p.name, cores)))
			}
		}
	}
	tw.Flush()

	have := map[string]bool{}
	for _, p := range paths {
		have[p.name] = true
	}
	fmt.Fprintln(out)
	for _, peer := range []string{"HAProxy", "nginx"} {
		if !have["polyregion"] || !have[peer] {
			continue
		}
		var parts []string
		for _, t := range []string{testTCP1, testTCP4, testUDP} {
			a, b := series(rounds, t, "polyregion", gbps), series(rounds, t, peer, gbps)
			if len(a) == 0 || len(b) == 0 {
				continue
			}
			parts = append(parts, fmt.Sprintf("%s %.2f× (rounds: %s)", t, median(a)/median(b), roundRatios(a, b)))
		}
		if a, b := series(rounds, testHTTP, "polyregion", func(s sample) float64 { return s.rps }),
			series(rounds, testHTTP, peer, func(s sample) float64 { return s.rps }); len(a) > 0 && len(b) > 0 {
			parts = append(parts, fmt.Sprintf("http req/s %.2f×", median(a)/median(b)))
			pa, pb := median(addedP99(rounds, "polyregion")), median(addedP99(rounds, peer))
			parts = append(parts, fmt.Sprintf("added p99 %.2f× (%s vs %s)", pa/pb, msf(pa), msf(pb)))
		}
		fmt.Fprintf(out, "polyregion / %s: %s\n", peer, strings.Join(parts, "; "))
	}

	if have["polyregion"] && have["HAProxy"] {
		fmt.Fprintln(out, "\ntargets (medians over the rounds):")
		for _, t := range []string{testTCP1, testTCP4} {
			a, b := median(series(rounds, t, "polyregion", gbps)), median(series(rounds, t, "HAProxy", gbps))
			if a == 0 || b == 0 {
				continue
			}
			fmt.Fprintf(out, "  %s throughput at least %.0f%% of HAProxy's: %.0f%% (%.2f vs %.2f Gbit/s) — %s\n",
				t, 100*targetThroughput, 100*a/b, a, b, verdict(a >= targetThroughput*b))
		}
		if pa, pb := addedP99(rounds, "polyregion"), addedP99(rounds, "HAProxy"); len(pa) > 0 && len(pb) > 0 {
			a, b := median(pa), median(pb)
			ok := a <= targetAddedP99*b || a <= 0
			fmt.Fprintf(out, "  added p99 at most %.1f× HAProxy's: %.2f× (%s vs %s; rounds: %s vs %s) — %s\n",
				targetAddedP99, a/b, msf(a), msf(b), fmtList(scale(pa, 1e3), "%.3f"), fmtList(scale(pb, 1e3), "%.3f"), verdict(ok))
		}
	}
	noisy, noisyLoad := 0.0, 0.0
	for _, r := range rounds {
		for _, byPath := range r {
			for _, s := range byPath {
				noisy, noisyLoad = max(noisy, s.foreignProxy), max(noisyLoad, s.foreignLoad)
			}
		}
	}
	if cfg.loadCPUs != "" && (noisy > noiseLimit || noisyLoad > noiseLimit) {
		fmt.Fprintf(out, "warning: other processes used up to %.0f%% of CPU %s and %.0f%% of CPU %s during a measurement kept: the machine was busy, the figures measure it as much as the proxies\n",
			100*noisy, cfg.proxyCPUs, 100*noisyLoad, cfg.loadCPUs)
	}
}

func scale(xs []float64, k float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = x * k
	}
	return out
}

// roundRatios is a/b for each round, formatted.
func roundRatios(a, b []float64) string {
	var out []string
	for i := range min(len(a), len(b)) {
		if b[i] == 0 {
			out = append(out, "-")
			continue
		}
		out = append(out, fmt.Sprintf("%.2f", a[i]/b[i]))
	}
	return strings.Join(out, ", ")
}
