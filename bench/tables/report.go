package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/polyregion/polyregion/bench/internal/procstat"
)

// Targets of the issue, for polyregion: at least 5× dynalite's throughput with a lower p99
// in every workload, and GetItem p99 under 2 ms at half of its own peak.
const (
	targetVsDynalite = 5.0
	targetHalfP99    = 2 * time.Millisecond
)

type table struct{ tw *tabwriter.Writer }

func newTable(out io.Writer) *table {
	return &table{tw: tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)}
}

func (t *table) row(cells ...string) { fmt.Fprintln(t.tw, strings.Join(cells, "\t")) }
func (t *table) flush()              { t.tw.Flush() }

func msf(d time.Duration) string { return fmt.Sprintf("%.3f ms", d.Seconds()*1e3) }

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

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

// cpuNote describes a run's CPU use.
func cpuNote(cfg config, u usage) string {
	s := fmt.Sprintf("server %.2f cores, client %.2f cores", u.cores(), u.clientCores())
	if cfg.serverCPUs != "" {
		s += fmt.Sprintf(" (CPU %s %.0f%% busy, CPU %s %.0f%% busy; others: %.0f%% of CPU %s, %.0f%% of CPU %s; steal %.1f%%)",
			cfg.serverCPUs, 100*u.serverBusy, cfg.loadCPUs, 100*u.loadBusy, 100*u.foreign, cfg.serverCPUs, 100*u.foreignLoad, cfg.loadCPUs, 100*u.steal)
	}
	return s
}

// printRun prints one measured run as it ends.
func printRun(out io.Writer, cfg config, w, server string, r runResult) {
	var per []string
	for k := range numKinds {
		if r.ops[k] > 0 {
			per = append(per, fmt.Sprintf("%s p50 %s p99 %s", kindNames[k], msf(r.kind[k].p50), msf(r.kind[k].p99)))
		}
	}
	fmt.Fprintf(out, "  %s %-10s %8.0f ops/s  p50 %s  p99 %s  [%s]  %s\n", w, server, r.opsPerSec(),
		msf(r.all.p50), msf(r.all.p99), strings.Join(per, "; "), cpuNote(cfg, r.usage))
	if r.errs > 0 {
		fmt.Fprintf(out, "    %d errors, first: %v\n", r.errs, r.firstErr)
	}
}

// printHalf prints one rate-limited run of workload C.
func printHalf(out io.Writer, cfg config, rate float64, server string, r runResult) {
	g := r.kind[opRead]
	fmt.Fprintf(out, "  C at %.0f/s %-10s %8.0f ops/s  GetItem p50 %s  p99 %s  p99.9 %s  max %s  (from schedule: p99 %s; %d started >1 ms late)  %s\n",
		rate, server, r.opsPerSec(), msf(g.p50), msf(g.p99), msf(g.p999), msf(g.max),
		msf(r.sched.p99), r.behind, cpuNote(cfg, r.usage))
	c := r.client
	sched99, _ := histQuantile(c.sched, 0.99)
	sched999, schedN := histQuantile(c.sched, 0.999)
	gcShare := 0.0
	if c.totalCPU > 0 {
		gcShare = c.gcCPU / c.totalCPU
	}
	fmt.Fprintf(out, "    load generator: %.0f KB allocated per operation, %d GCs (%.0f/s, %.0f%% of its CPU time); goroutines waited for its P: p99 %s, p99.9 %s, %.2f%% over 1 ms (%d waits)\n",
		float64(r.clientAlloc)/1024/max(1, float64(r.total())), r.clientGCs, float64(r.clientGCs)/r.elapsed.Seconds(), 100*gcShare, msf(sched99), msf(sched999), 100*histOver(c.sched, 0.001), schedN)
	if r.wireN > 0 {
		fmt.Fprintf(out, "    on the wire (%s's share: request packet to response packet on the loopback, %d GetItems): p50 %s  p99 %s  p99.9 %s  max %s\n",
			server, r.wireN, msf(r.wire.p50), msf(r.wire.p99), msf(r.wire.p999), msf(r.wire.max))
	}
	if r.handlerOps > 0 {
		fmt.Fprintf(out, "    %s's own histogram: %.0f GetItems, %.2f%% answered in more than 1 ms, %.2f%% in more than 2.5 ms (request read to response written)\n",
			server, r.handlerOps, 100*r.handlerOver[0], 100*r.handlerOver[1])
	}
	if r.opsPerSec() < 0.98*rate {
		fmt.Fprintf(out, "    %s did %.0f of the %.0f operations/s asked: overloaded, its latency is queueing\n", server, r.opsPerSec(), rate)
	}
	if r.errs > 0 {
		fmt.Fprintf(out, "    %d errors, first: %v\n", r.errs, r.firstErr)
	}
}

// summary is one server's figures for one workload over the rounds: medians.
type summary struct {
	ops, p50, p99, cores, perCore, client float64
	errs                                  int64
	opsRounds, p99Rounds                  []float64
}

func summarize(rounds []measured, w, server string) summary {
	var s summary
	var ops, p50, p99, cores, perCore, client []float64
	for _, m := range rounds {
		r, ok := m.runs[w][server]
		if !ok {
			continue
		}
		ops = append(ops, r.opsPerSec())
		p50 = append(p50, r.all.p50.Seconds())
		p99 = append(p99, r.all.p99.Seconds())
		cores = append(cores, r.usage.cores())
		client = append(client, r.usage.clientCores())
		if c := r.usage.cores(); c > 0 {
			perCore = append(perCore, r.opsPerSec()/c)
		}
		s.errs += r.errs
	}
	s.ops, s.p50, s.p99, s.cores, s.perCore, s.client = median(ops), median(p50), median(p99), median(cores), median(perCore), median(client)
	s.opsRounds, s.p99Rounds = ops, p99
	return s
}

func secs(v float64) time.Duration { return time.Duration(v * float64(time.Second)) }

// report prints the medians over the rounds, the ratios and the targets.
func report(out io.Writer, cfg config, servers []*server, rounds []measured) {
	fullSpeed := len(cfg.workloadList()) > 0
	if fullSpeed {
		fmt.Fprintf(out, "medians of %d rounds (latency of every operation of the workload, as the SDK client sees it; errors: summed)\n", len(rounds))
		t := newTable(out)
		t.row("workload", "server", "ops/s", "p50", "p99", "server CPU", "ops per server CPU second", "client CPU", "errors")
		for _, w := range cfg.workloadList() {
			for _, s := range servers {
				m := summarize(rounds, w.name, s.Name)
				t.row(w.name, s.Name, fmt.Sprintf("%.0f", m.ops), msf(secs(m.p50)), msf(secs(m.p99)),
					fmt.Sprintf("%.2f cores", m.cores), fmt.Sprintf("%.0f", m.perCore), fmt.Sprintf("%.2f cores", m.client), fmt.Sprint(m.errs))
			}
		}
		t.flush()
	}

	hasDynalite := len(servers) > 1 && fullSpeed
	type ratio struct{ ops, p99, perCore float64 }
	ratios := map[string]ratio{}
	if hasDynalite {
		fmt.Fprintln(out, "\npolyregion / dynalite (medians; rounds in parentheses)")
		t := newTable(out)
		t.row("workload", "ops/s", "p99", "ops per server CPU second")
		for _, w := range cfg.workloadList() {
			p, d := summarize(rounds, w.name, "polyregion"), summarize(rounds, w.name, "dynalite")
			var opsR, p99R []string
			for i := range p.opsRounds {
				opsR = append(opsR, fmt.Sprintf("%.2f", p.opsRounds[i]/d.opsRounds[i]))
				p99R = append(p99R, fmt.Sprintf("%.2f", p.p99Rounds[i]/d.p99Rounds[i]))
			}
			rt := ratio{ops: p.ops / d.ops, p99: p.p99 / d.p99, perCore: p.perCore / d.perCore}
			ratios[w.name] = rt
			t.row(w.name, fmt.Sprintf("%.2f× (%s)", rt.ops, strings.Join(opsR, ", ")),
				fmt.Sprintf("%.2f× (%s)", rt.p99, strings.Join(p99R, ", ")), fmt.Sprintf("%.2f×", rt.perCore))
		}
		t.flush()
	}

	var rates []float64
	for _, m := range rounds {
		if m.rate > 0 {
			rates = append(rates, m.rate)
		}
	}
	var halfP99, wireP99 float64
	var halfP99s, wireP99s []string
	if len(rates) > 0 {
		what := "half of polyregion's C throughput"
		if cfg.rate > 0 {
			what = "a fixed rate (-rate)"
		}
		fmt.Fprintf(out, "\nworkload C at %s (median rate %.0f/s): GetItem latency, medians\n", what, median(rates))
		t := newTable(out)
		t.row("server", "ops/s", "GetItem p50", "p99", "p99.9", "p99 from schedule", "server CPU", "on the wire: p50", "p99", "p99.9")
		for _, s := range servers {
			var ops, p50, p99, p999, sched, cores, w50, w99, w999 []float64
			for _, m := range rounds {
				r, ok := m.half[s.Name]
				if !ok {
					continue
				}
				g := r.kind[opRead]
				ops = append(ops, r.opsPerSec())
				p50 = append(p50, g.p50.Seconds())
				p99 = append(p99, g.p99.Seconds())
				p999 = append(p999, g.p999.Seconds())
				sched = append(sched, r.sched.p99.Seconds())
				cores = append(cores, r.usage.cores())
				if s.Name == "polyregion" {
					halfP99s = append(halfP99s, msf(g.p99))
				}
				if r.wireN > 0 {
					w50, w99, w999 = append(w50, r.wire.p50.Seconds()), append(w99, r.wire.p99.Seconds()), append(w999, r.wire.p999.Seconds())
					if s.Name == "polyregion" {
						wireP99s = append(wireP99s, msf(r.wire.p99))
					}
				}
			}
			if s.Name == "polyregion" {
				halfP99 = median(p99)
				if len(w99) > 0 {
					wireP99 = median(w99)
				}
			}
			wire := []string{"-", "-", "-"}
			if len(w99) > 0 {
				wire = []string{msf(secs(median(w50))), msf(secs(median(w99))), msf(secs(median(w999)))}
			}
			t.row(s.Name, fmt.Sprintf("%.0f", median(ops)), msf(secs(median(p50))), msf(secs(median(p99))), msf(secs(median(p999))),
				msf(secs(median(sched))), fmt.Sprintf("%.2f cores", median(cores)), wire[0], wire[1], wire[2])
		}
		t.flush()
	}

	fmt.Fprintln(out, "\ntargets (medians):")
	if hasDynalite {
		var thr, lat []string
		thrOK, latOK := true, true
		for _, w := range cfg.workloadList() {
			rt := ratios[w.name]
			thr = append(thr, fmt.Sprintf("%s %.2f×", w.name, rt.ops))
			lat = append(lat, fmt.Sprintf("%s %.2f×", w.name, rt.p99))
			thrOK = thrOK && rt.ops >= targetVsDynalite
			latOK = latOK && rt.p99 < 1
		}
		fmt.Fprintf(out, "  throughput at least %.0f× dynalite's in every workload: %s — %s\n", targetVsDynalite, strings.Join(thr, ", "), verdict(thrOK))
		fmt.Fprintf(out, "  p99 lower than dynalite's in every workload (polyregion / dynalite): %s — %s\n", strings.Join(lat, ", "), verdict(latOK))
	}
	if len(rates) > 0 {
		fmt.Fprintf(out, "  GetItem p99 under %v at half of our peak, as the SDK client sees it: %s (rounds: %s) — %s\n", targetHalfP99, msf(secs(halfP99)),
			strings.Join(halfP99s, ", "), verdict(secs(halfP99) < targetHalfP99))
		if len(wireP99s) > 0 {
			fmt.Fprintf(out, "  GetItem p99 under %v at half of our peak, polyregion's share on the wire: %s (rounds: %s) — %s\n", targetHalfP99, msf(secs(wireP99)),
				strings.Join(wireP99s, ", "), verdict(secs(wireP99) < targetHalfP99))
		}
	}

	noisy, noisyLoad, steal := 0.0, 0.0, 0.0
	for _, m := range rounds {
		for _, byServer := range m.runs {
			for _, r := range byServer {
				noisy, noisyLoad, steal = max(noisy, r.usage.foreign), max(noisyLoad, r.usage.foreignLoad), max(steal, r.usage.steal)
			}
		}
		for _, r := range m.half {
			noisy, noisyLoad, steal = max(noisy, r.usage.foreign), max(noisyLoad, r.usage.foreignLoad), max(steal, r.usage.steal)
		}
	}
	if cfg.serverCPUs != "" && (noisy > noiseLimit || noisyLoad > noiseLimit) {
		fmt.Fprintf(out, "warning: other processes used up to %.0f%% of CPU %s and %.0f%% of CPU %s during a measurement kept: the machine was busy, the figures measure it as much as the servers\n",
			100*noisy, cfg.serverCPUs, 100*noisyLoad, cfg.loadCPUs)
	}
	if steal > 0.02 {
		fmt.Fprintf(out, "warning: the hypervisor took up to %.0f%% of the pinned CPUs (steal) during a measurement\n", 100*steal)
	}
	for _, w := range cfg.workloadList() {
		m := summarize(rounds, w.name, "polyregion")
		if cfg.loadCPUs != "" && m.client > 0.9*float64(len(procstat.CPUList(cfg.loadCPUs))) && m.cores < 0.9*float64(len(procstat.CPUList(cfg.serverCPUs))) {
			fmt.Fprintf(out, "note: in workload %s the client used %.2f cores and polyregion %.2f: the load generator, not the server, limited polyregion's throughput\n",
				w.name, m.client, m.cores)
		}
	}
}
