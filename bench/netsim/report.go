package main

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"
)

// percentile returns the p-th percentile (0 < p <= 1) of ds, nearest rank.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s))*p+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d)/1e6) }

func signedMs(d time.Duration) string { return fmt.Sprintf("%+.3f ms", float64(d)/1e6) }

// report prints a table of both paths and what the link adds beyond its
// configured delay: link − configured − direct, where configured is 2×delay
// for a round trip and delay for one way.
func report(out io.Writer, cfg config, direct, link figures) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "metric\tdirect\tlink\tlink − configured\tadded beyond delay\t(link − configured) / direct\t")
	type row struct {
		name       string
		d, l, conf time.Duration
	}
	rows := []row{
		{"echo RTT median", percentile(direct.rtt, 0.5), percentile(link.rtt, 0.5), 2 * cfg.delay},
		{"echo RTT p99", percentile(direct.rtt, 0.99), percentile(link.rtt, 0.99), 2 * cfg.delay},
		{"stream one-way median", percentile(direct.oneWay, 0.5), percentile(link.oneWay, 0.5), cfg.delay},
		{"stream one-way p99", percentile(direct.oneWay, 0.99), percentile(link.oneWay, 0.99), cfg.delay},
	}
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.2f×\t\n", r.name, ms(r.d), ms(r.l), ms(r.l-r.conf),
			signedMs(r.l-r.conf-r.d), float64(r.l-r.conf)/float64(max(r.d, 1)))
	}
	dt, lt := direct.throughputMB(), link.throughputMB()
	fmt.Fprintf(tw, "stream throughput\t%.2f MB/s\t%.2f MB/s\t\t\t%.3f× (link / direct)\t\n", dt, lt, lt/dt)
	tw.Flush()

	addedMedian := rows[2].l - rows[2].conf - rows[2].d
	addedP99 := rows[3].l - rows[3].conf - rows[3].d
	fmt.Fprintf(out, "\nstream: %d records measured per path; beyond its %v delay the link hop added %s median, %s p99 (%s and %s counting the loopback hop itself), at %.2f MB/s\n",
		len(link.oneWay), cfg.delay, signedMs(addedMedian), signedMs(addedP99), signedMs(rows[2].l-rows[2].conf), signedMs(rows[3].l-rows[3].conf), lt)
	fmt.Fprintf(out, "echo: per hop (half the round trip) the link added %s median, %s p99\n",
		signedMs((rows[0].l-rows[0].conf-rows[0].d)/2), signedMs((rows[1].l-rows[1].conf-rows[1].d)/2))

	// The verdict uses link − configured, which includes the loopback hop:
	// it does not depend on the direct figures, which noise can inflate.
	verdict := "met"
	if rows[2].l-rows[2].conf >= target || rows[3].l-rows[3].conf >= target || lt < 0.98*cfg.rateMB {
		verdict = "NOT met"
	}
	fmt.Fprintf(out, "target (stream one-way minus delay under %v, median and p99, at %.0f MB/s): %s\n", target, cfg.rateMB, verdict)
	if rows[3].d >= target/2 || rows[1].d >= target/2 {
		fmt.Fprintf(out, "warning: the machine was busy: direct loopback p99 was %s one-way, %s round trip; p99 figures measure the machine as much as the link\n",
			ms(rows[3].d), ms(rows[1].d))
	}
}
