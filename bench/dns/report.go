package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// Targets of the issue, for polyregion: a share of each peer's peak qps, and at half of
// its own peak no loss and p99 under 1 ms.
const (
	targetVsGdnsd    = 0.5
	targetVsPowerDNS = 1.0
	targetP99        = 0.001 // seconds
)

type table struct{ tw *tabwriter.Writer }

func newTable(out io.Writer) *table {
	return &table{tw: tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)}
}

func (t *table) row(cells string) { fmt.Fprintln(t.tw, cells) }
func (t *table) flush()           { t.tw.Flush() }

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

// summary is a server's figures over the rounds: medians, and loss summed.
type summary struct {
	peak, peakCPU, perCore float64
	peakLoad               float64 // dnsperf's CPU at the peak, in cores
	peakBusy               float64 // how busy the pinned CPUs were at the peak, 0 to 1
	peakLost, peakSent     int64
	halfQPS, halfCPU       float64
	halfLost, halfSent     int64
	p50, p99, p999         float64
	peakRounds, p99Rounds  []float64
	perCoreRounds          []float64
}

func summarize(name string, rounds []map[string]measured) summary {
	var s summary
	var peak, cpu, load, busy, perCore, halfQPS, halfCPU, p50, p99, p999 []float64
	for _, r := range rounds {
		m := r[name]
		peak = append(peak, m.peak.qps)
		cpu = append(cpu, m.peak.coresUsed())
		load = append(load, m.peak.loadCores())
		busy = append(busy, m.peak.pinnedBusy)
		perCore = append(perCore, m.peak.perCore())
		s.peakLost += m.peak.lost
		s.peakSent += m.peak.sent
		halfQPS = append(halfQPS, m.half.qps)
		halfCPU = append(halfCPU, m.half.coresUsed())
		s.halfLost += m.half.lost
		s.halfSent += m.half.sent
		p50 = append(p50, percentile(m.half.latencies, 0.5))
		p99 = append(p99, percentile(m.half.latencies, 0.99))
		p999 = append(p999, percentile(m.half.latencies, 0.999))
	}
	s.peak, s.peakCPU, s.perCore, s.peakBusy = median(peak), median(cpu), median(perCore), median(busy)
	s.halfQPS, s.halfCPU = median(halfQPS), median(halfCPU)
	s.p50, s.p99, s.p999 = median(p50), median(p99), median(p999)
	s.peakRounds, s.p99Rounds, s.perCoreRounds = peak, p99, perCore
	s.peakLoad = median(load)
	return s
}

func pct(lost, sent int64) string {
	if sent == 0 {
		return "-"
	}
	return fmt.Sprintf("%d (%.3f%%)", lost, 100*float64(lost)/float64(sent))
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

// report prints the medians over the rounds, the ratios and the targets.
func report(out io.Writer, cfg config, servers []*server, rounds []map[string]measured) {
	sums := map[string]summary{}
	for _, s := range servers {
		sums[s.Name] = summarize(s.Name, rounds)
	}
	var halves []float64
	for _, r := range rounds {
		halves = append(halves, float64(int(r["polyregion"].peak.qps/2)))
	}
	half := median(halves)
	at := "half of our peak"
	if cfg.latencyQPS > 0 {
		half = float64(cfg.latencyQPS)
		at = fmt.Sprintf("%d qps (-latencyqps; the target is at half of our peak)", cfg.latencyQPS)
	}

	fmt.Fprintf(out, "medians of %d rounds (lost: summed over the rounds)\n", len(rounds))
	t := newTable(out)
	t.row(fmt.Sprintf("server\tpeak qps\tlost at peak\tserver CPU at peak ¹\tdnsperf CPU\tqps per server CPU core\t|\tqps at -Q %.0f\tlost\tserver CPU\tp50\tp99\tp99.9", half))
	for _, s := range servers {
		m := sums[s.Name]
		t.row(fmt.Sprintf("%s\t%.0f\t%s\t%.2f cores\t%.2f cores\t%.0f\t|\t%.0f\t%s\t%.2f cores\t%s\t%s\t%s",
			s.Name, m.peak, pct(m.peakLost, m.peakSent), m.peakCPU, m.peakLoad, m.perCore,
			m.halfQPS, pct(m.halfLost, m.halfSent), m.halfCPU, msf(m.p50), msf(m.p99), msf(m.p999)))
	}
	t.flush()
	fmt.Fprintln(out, "¹ when pinned, how busy the server's CPU was (softirq included) less other processes' time there, and at least the server process's CPU time")

	pr := sums["polyregion"]
	fmt.Fprintln(out)
	for _, s := range servers {
		if s.Name == "polyregion" {
			continue
		}
		m := sums[s.Name]
		fmt.Fprintf(out, "polyregion / %s: qps per server CPU core %.2f× (rounds: %s); peak qps %.2f× (rounds: %s)\n",
			s.Name, pr.perCore/m.perCore, roundRatios(pr.perCoreRounds, m.perCoreRounds),
			pr.peak/m.peak, roundRatios(pr.peakRounds, m.peakRounds))
	}

	// The capacity ratios are judged per server CPU core: one dnsperf on one core cannot
	// always keep a fast server's core busy, and a server that is not saturated shows a
	// peak that is only a lower bound. The raw peaks are printed beside them.
	fmt.Fprintln(out, "\ntargets (medians; capacity judged per server CPU core, raw peak qps beside):")
	if g, ok := sums["gdnsd"]; ok {
		fmt.Fprintf(out, "  at least %.0f%% of gdnsd's capacity: %.0f%% per CPU core (peak qps: %.0f%%) — %s\n",
			100*targetVsGdnsd, 100*pr.perCore/g.perCore, 100*pr.peak/g.peak, verdict(pr.perCore >= targetVsGdnsd*g.perCore))
	}
	for _, name := range []string{"PowerDNS", "PowerDNS-geoip"} {
		if p, ok := sums[name]; ok {
			fmt.Fprintf(out, "  at least %s's capacity: %.2f× per CPU core (peak qps: %.2f×) — %s\n",
				name, pr.perCore/p.perCore, pr.peak/p.peak, verdict(pr.perCore >= targetVsPowerDNS*p.perCore))
		}
	}
	fmt.Fprintf(out, "  no loss at %s: %s lost — %s\n", at, pct(pr.halfLost, pr.halfSent), verdict(pr.halfLost == 0))
	var p99s []string
	for _, v := range pr.p99Rounds {
		p99s = append(p99s, msf(v))
	}
	fmt.Fprintf(out, "  p99 under 1 ms at %s: %s (rounds: %s) — %s\n", at, msf(pr.p99), strings.Join(p99s, ", "), verdict(pr.p99 < targetP99))

	noisy, noisyLoad := 0.0, 0.0
	for _, r := range rounds {
		for _, m := range r {
			noisy = max(noisy, m.peak.foreign, m.half.foreign)
			noisyLoad = max(noisyLoad, m.peak.foreignLoad, m.half.foreignLoad)
		}
	}
	if noisy > noiseLimit || noisyLoad > noiseLimit {
		fmt.Fprintf(out, "warning: other processes used up to %.0f%% of CPU %s and %.0f%% of CPU %s during a measurement kept: the machine was busy, the figures measure it as much as the servers\n",
			100*noisy, cfg.serverCPUs, 100*noisyLoad, cfg.loadCPUs)
	}
	cores := float64(cfg.serverCores())
	for _, s := range servers {
		m := sums[s.Name]
		switch {
		case cfg.serverCPUs != "" && m.peakBusy < 0.9:
			fmt.Fprintf(out, "note: at %s's peak its CPU %s was %.0f%% busy: dnsperf could not load it fully, so its peak is a lower bound\n",
				s.Name, cfg.serverCPUs, 100*m.peakBusy)
		case cfg.serverCPUs == "" && m.peakCPU < 0.9*cores:
			fmt.Fprintf(out, "note: %s used %.2f of the %.0f CPU cores at its peak (dnsperf used the rest, or could not load it fully)\n",
				s.Name, m.peakCPU, cores)
		}
	}
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
