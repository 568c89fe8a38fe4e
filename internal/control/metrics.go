package control

import "github.com/prometheus/client_golang/prometheus"

type nodeMetrics struct {
	writes *prometheus.CounterVec
}

func newNodeMetrics(n *Node, reg prometheus.Registerer) *nodeMetrics {
	m := &nodeMetrics{
		writes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "polyregion_control_writes_total",
			Help: "Control-plane writes submitted in this region, by result (ok, rejected, failed).",
		}, []string{"result"}),
	}
	if reg != nil {
		reg.MustRegister(m.writes,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "polyregion_control_leader",
				Help: "1 when this region leads the control plane.",
			}, func() float64 {
				if n.Status().State == "Leader" {
					return 1
				}
				return 0
			}),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "polyregion_control_applied_index",
				Help: "Log index of the last control-plane change applied in this region.",
			}, func() float64 {
				_, applied, _ := n.fsm.current()
				return float64(applied)
			}),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "polyregion_control_members",
				Help: "Voters in the control plane, as this region sees it.",
			}, func() float64 { return float64(len(n.Status().Members)) }),
		)
	}
	return m
}
