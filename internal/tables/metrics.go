package tables

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the service's Prometheus collectors.
type metrics struct {
	requests *prometheus.CounterVec   // operation, outcome ("ok" or the error type)
	duration *prometheus.HistogramVec // operation
	changes  *prometheus.CounterVec   // event
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "polyregion", Subsystem: "tables", Name: "requests_total",
			Help: "DynamoDB API requests answered, by operation and outcome (ok or the error type).",
		}, []string{"operation", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "polyregion", Subsystem: "tables", Name: "request_duration_seconds",
			Help:    "Time to answer a DynamoDB API request, by operation.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"operation"}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "polyregion", Subsystem: "tables", Name: "changes_total",
			Help: "Item changes written to the change log, by event (INSERT, MODIFY, REMOVE).",
		}, []string{"event"}),
	}
	if reg != nil {
		// A second service on the same registry (a restart in a test) shares the collectors.
		var err error
		if m.requests, err = register(reg, m.requests); err != nil {
			return nil, err
		}
		if m.duration, err = register(reg, m.duration); err != nil {
			return nil, err
		}
		if m.changes, err = register(reg, m.changes); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// register registers c, or returns the collector already registered in its place.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, err
	}
	return c, nil
}

func (m *metrics) observe(operation, outcome string, d time.Duration) {
	m.requests.WithLabelValues(operation, outcome).Inc()
	m.duration.WithLabelValues(operation).Observe(d.Seconds())
}
