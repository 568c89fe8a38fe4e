package main

import (
	"runtime/metrics"
	"time"
)

// clientRuntime is what this program's Go runtime (the SDK clients' process) did during a
// run, from runtime/metrics: it tells the load generator's own delays apart from the
// server's.
type clientRuntime struct {
	// sched is the histogram of how long goroutines waited, runnable, for a P
	// (/sched/latencies:seconds); gcPauses that of the stop-the-world pauses.
	sched, gcPauses *metrics.Float64Histogram
	// gcCPU and totalCPU are the CPU seconds the GC took and the process's
	// (/cpu/classes/gc/total, /cpu/classes/total: estimates of the runtime).
	gcCPU, totalCPU float64
}

var runtimeSamples = []string{
	"/sched/latencies:seconds",
	"/sched/pauses/total/gc:seconds",
	"/cpu/classes/gc/total:cpu-seconds",
	"/cpu/classes/total:cpu-seconds",
}

func readClientRuntime() clientRuntime {
	s := make([]metrics.Sample, len(runtimeSamples))
	for i, n := range runtimeSamples {
		s[i].Name = n
	}
	metrics.Read(s)
	var r clientRuntime
	if s[0].Value.Kind() == metrics.KindFloat64Histogram {
		r.sched = s[0].Value.Float64Histogram()
	}
	if s[1].Value.Kind() == metrics.KindFloat64Histogram {
		r.gcPauses = s[1].Value.Float64Histogram()
	}
	if s[2].Value.Kind() == metrics.KindFloat64 {
		r.gcCPU = s[2].Value.Float64()
	}
	if s[3].Value.Kind() == metrics.KindFloat64 {
		r.totalCPU = s[3].Value.Float64()
	}
	return r
}

// since is the difference between r, read at the end of a run, and r0, read at its start.
func (r clientRuntime) since(r0 clientRuntime) clientRuntime {
	return clientRuntime{
		sched:    histDiff(r.sched, r0.sched),
		gcPauses: histDiff(r.gcPauses, r0.gcPauses),
		gcCPU:    r.gcCPU - r0.gcCPU,
		totalCPU: r.totalCPU - r0.totalCPU,
	}
}

func histDiff(h, h0 *metrics.Float64Histogram) *metrics.Float64Histogram {
	if h == nil || h0 == nil || len(h.Counts) != len(h0.Counts) {
		return nil
	}
	d := &metrics.Float64Histogram{Counts: make([]uint64, len(h.Counts)), Buckets: h.Buckets}
	for i := range h.Counts {
		d.Counts[i] = h.Counts[i] - h0.Counts[i]
	}
	return d
}

// histQuantile is the upper bound of the bucket holding the q-th quantile (0 < q <= 1) of
// h, and the number of samples.
func histQuantile(h *metrics.Float64Histogram, q float64) (time.Duration, uint64) {
	if h == nil {
		return 0, 0
	}
	var n uint64
	for _, c := range h.Counts {
		n += c
	}
	if n == 0 {
		return 0, 0
	}
	want := uint64(float64(n)*q + 0.999999)
	var seen uint64
	for i, c := range h.Counts {
		seen += c
		if seen >= want {
			return time.Duration(h.Buckets[i+1] * float64(time.Second)), n
		}
	}
	return time.Duration(h.Buckets[len(h.Buckets)-1] * float64(time.Second)), n
}

// histOver is the share of h's samples in buckets that start at or above x seconds.
func histOver(h *metrics.Float64Histogram, x float64) float64 {
	if h == nil {
		return 0
	}
	var n, over uint64
	for i, c := range h.Counts {
		n += c
		if h.Buckets[i] >= x {
			over += c
		}
	}
	if n == 0 {
		return 0
	}
	return float64(over) / float64(n)
}
