package edge

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the edge's Prometheus metrics, labelled by listener.
type Metrics struct {
	flows     *prometheus.CounterVec // listener, region, reason
	active    *prometheus.GaugeVec   // listener
	bytes     *prometheus.CounterVec // listener, direction
	refused   *prometheus.CounterVec // listener, why
	dialFails *prometheus.CounterVec // listener, region
}

// NewMetrics returns the metrics, registered with reg unless it is nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		flows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "polyregion_edge_flows_total",
			Help: "New flows by listener, the endpoint group's region chosen, and why it was chosen (nearest, dial, failover, fail-open).",
		}, []string{"listener", "region", "reason"}),
		active: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "polyregion_edge_active_flows",
			Help: "Flows open now.",
		}, []string{"listener"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "polyregion_edge_bytes_total",
			Help: "Bytes relayed: direction=in from clients to endpoints, out back to clients.",
		}, []string{"listener", "direction"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "polyregion_edge_refused_flows_total",
			Help: "Flows refused: why=limit (the listener's concurrent-flow limit), no-endpoint, dial.",
		}, []string{"listener", "why"}),
		dialFails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "polyregion_edge_dial_failures_total",
			Help: "Endpoints that could not be reached for a new flow, by the group's region.",
		}, []string{"listener", "region"}),
	}
	if reg != nil {
		reg.MustRegister(m.flows, m.active, m.bytes, m.refused, m.dialFails)
	}
	return m
}
