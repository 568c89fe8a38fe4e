package replication

import (
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
