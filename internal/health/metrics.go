package health

import "github.com/prometheus/client_golang/prometheus"

// metrics are the Prometheus gauges of a Monitor.
type metrics struct {
	// healthy is 1, 0, or -1 while initializing, per check.
	healthy *prometheus.GaugeVec
	// vantage is 1 or 0 per check and vantage point that reports, -1 for one whose latest
	// observation is stale.
	vantage *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		healthy: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "polyregion_health_check_healthy",
			Help: "Overall status of the health check across vantage points: 1 healthy, 0 unhealthy, -1 initializing.",
		}, []string{"check"}),
		vantage: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "polyregion_health_check_vantage_healthy",
			Help: "Status of the health check from one vantage point (region): 1 healthy, 0 unhealthy, -1 not reporting (stale).",
		}, []string{"check", "vantage"}),
	}
	if reg == nil {
		return m, nil
	}
	if err := reg.Register(m.healthy); err != nil {
		return nil, err
	}
	if err := reg.Register(m.vantage); err != nil {
		reg.Unregister(m.healthy)
		return nil, err
	}
	return m, nil
}

// forget removes every series of a check.
func (m *metrics) forget(id string) {
	m.healthy.DeleteLabelValues(id)
	m.vantage.DeletePartialMatch(prometheus.Labels{"check": id})
}
