package replication

import (
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestPendingBytesStatusAndGauge: a frame's pending bytes go to the subscription's status
// and to polyregion_replication_pending_bytes, beside the pending records; the series goes
// when the subscription stops.
func TestPendingBytesStatusAndGauge(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	sub := Subscription{Service: "tables", Source: "us-east", Stream: "orders"}
	p := &pull{sub: sub, r: &Replicator{opts: ReplicatorOptions{Metrics: m, Now: time.Now}}}
	// gauge returns the pending-bytes series of sub: its value and whether it exists.
	gauge := func() (float64, bool) {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != "polyregion_replication_pending_bytes" {
				continue
			}
			for _, s := range mf.GetMetric() {
				labels := map[string]string{}
				for _, l := range s.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				if labels["service"] == sub.Service && labels["source"] == sub.Source && labels["stream"] == sub.Stream {
					return s.GetGauge().GetValue(), true
				}
			}
		}
		return 0, false
	}

	p.recordFrame(&Batch{Next: 5, Head: 9, PendingBytes: 3500})
	if st := p.status(); st.Pending != 4 || st.PendingBytes != 3500 {
		t.Fatalf("status after a frame behind: pending %d records, %d bytes", st.Pending, st.PendingBytes)
	}
	if got, ok := gauge(); !ok || got != 3500 {
		t.Fatalf("pending bytes gauge %v (present: %v), want 3500", got, ok)
	}
	p.recordFrame(&Batch{Next: 9, Head: 9})
	if st := p.status(); st.Pending != 0 || st.PendingBytes != 0 {
		t.Fatalf("status caught up: pending %d records, %d bytes", st.Pending, st.PendingBytes)
	}
	if got, ok := gauge(); !ok || got != 0 {
		t.Fatalf("pending bytes gauge caught up %v (present: %v), want 0", got, ok)
	}
	m.forget(sub)
	if _, ok := gauge(); ok {
		t.Fatal("the pending-bytes series outlived its subscription")
	}
}

// TestLatencyNativeBuckets: the latency histogram also keeps native buckets about 2% wide,
// fine enough to tell a WAN's one-way delay from the few milliseconds replication adds.
func TestLatencyNativeBuckets(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	h := m.latency.WithLabelValues("tables", "us-east", "orders")
	for _, v := range []float64{0.1088, 0.1120, 0.1340} {
		h.Observe(v)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "polyregion_replication_latency_seconds" {
			continue
		}
		hist := mf.GetMetric()[0].GetHistogram()
		if len(hist.GetPositiveSpan()) == 0 {
			t.Fatal("no native buckets")
		}
		// Bucket i holds (base^(i-1), base^i], base = 2^(2^-schema).
		base := math.Exp2(math.Exp2(-float64(hist.GetSchema())))
		if base > 1.025 {
			t.Fatalf("schema %d: buckets %.1f%% wide, want about 2%%", hist.GetSchema(), 100*(base-1))
		}
		// Latencies 3% or more apart fall in buckets of their own.
		var counts []int64
		var c int64
		for _, d := range hist.GetPositiveDelta() {
			c += d
			if c > 0 {
				counts = append(counts, c)
			}
		}
		if len(counts) != 3 {
			t.Fatalf("3 latencies 3%% or more apart fell in %d buckets: %v", len(counts), counts)
		}
		return
	}
	t.Fatal("no polyregion_replication_latency_seconds")
}

// TestLatencyFromCommit: a record's latency is measured from its commit at the source when
// the frame says when that was, from its timestamp (read before the commit) otherwise.
func TestLatencyFromCommit(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	sub := Subscription{Service: "tables", Source: "us-east", Stream: "orders"}
	p := &pull{sub: sub, r: &Replicator{opts: ReplicatorOptions{Metrics: NewMetrics(prometheus.NewRegistry()), Now: func() time.Time { return now }}}}
	ts := Timestamp{Wall: now.Add(-time.Second).UnixNano()}
	p.recordFrame(&Batch{Next: 1, Head: 1, Records: []Record{{Seq: 1, Version: Version{TS: ts, Region: "us-east"}, Committed: now.Add(-5 * time.Millisecond).UnixNano()}}})
	if got := p.status().LastLatency; got != 5*time.Millisecond {
		t.Fatalf("latency from the commit: %v, want 5ms", got)
	}
	p.recordFrame(&Batch{Next: 2, Head: 2, Records: []Record{{Seq: 2, Version: Version{TS: ts, Region: "us-east"}}}})
	if got := p.status().LastLatency; got != time.Second {
		t.Fatalf("latency without a commit time: %v, want 1s (from the timestamp)", got)
	}
}
