package replication

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are replication's Prometheus metrics, labelled by service, source
// region and stream; the receiving region is the process's own.
type Metrics struct {
	latency      *prometheus.HistogramVec
	pending      *prometheus.GaugeVec
	pendingBytes *prometheus.GaugeVec
	connected    *prometheus.GaugeVec
	applied      *prometheus.CounterVec
	conflicts    *prometheus.CounterVec
}

// NewMetrics returns the metrics, registered with reg unless it is nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	labels := []string{"service", "source", "stream"}
	m := &Metrics{
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "polyregion_replication_latency_seconds",
			Help:    "Time from a change's commit in the source region to its apply here.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16), // 0.5 ms .. 16 s
			// Also a native histogram (buckets about 2% wide, for scrapers that ask for the
			// protobuf format): a WAN latency plus a few milliseconds falls in one classic
			// bucket, so quantiles of the overhead need the finer ones. Without a bucket
			// limit it never resets: a few hundred buckets at most over 0.5 ms to 16 s.
			NativeHistogramBucketFactor: 1.02,
		}, labels),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "polyregion_replication_pending_records",
			Help: "Records in the source's log after this region's cursor, as of the last frame.",
		}, labels),
		pendingBytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "polyregion_replication_pending_bytes",
			Help: "Bytes of the source's own writes after this region's cursor (keys and payloads as shipped), as of the last frame.",
		}, labels),
		connected: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "polyregion_replication_connected",
			Help: "1 while the pull from the source is connected and applying, 0 otherwise.",
		}, labels),
		applied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "polyregion_replication_applied_records_total",
			Help: "Records pulled from the source and applied here.",
		}, labels),
		conflicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "polyregion_replication_conflicts_total",
			Help: "Writes that lost under last-writer-wins to a concurrent write, as detected here.",
		}, []string{"service", "stream"}),
	}
	if reg != nil {
		reg.MustRegister(m.latency, m.pending, m.pendingBytes, m.connected, m.applied, m.conflicts)
	}
	return m
}

// CountConflicts adds n detected conflicts of stream. A service calls it once
// the conflict records are committed.
func (m *Metrics) CountConflicts(service, stream string, n int) {
	if m != nil && n > 0 {
		m.conflicts.WithLabelValues(service, stream).Add(float64(n))
	}
}

// forget drops a subscription's series when it stops.
func (m *Metrics) forget(s Subscription) {
	labels := []string{s.Service, s.Source, s.Stream}
	m.latency.DeleteLabelValues(labels...)
	m.pending.DeleteLabelValues(labels...)
	m.pendingBytes.DeleteLabelValues(labels...)
	m.connected.DeleteLabelValues(labels...)
	m.applied.DeleteLabelValues(labels...)
}
