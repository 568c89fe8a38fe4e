package dns

import (
	"errors"
	"log/slog"
	"strconv"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/polyregion/polyregion/internal/dns/zone"
)

// policies are the routing policies, in the order of the metrics' arrays.
var policies = [...]zone.Policy{
	zone.PolicySimple, zone.PolicyWeighted, zone.PolicyLatency, zone.PolicyFailover,
	zone.PolicyGeolocation, zone.PolicyGeoproximity, zone.PolicyMultivalue, zone.PolicyIPBased,
}

const numPolicies = len(policies)

func policyIndex(p zone.Policy) int {
	for i, q := range policies {
		if q == p {
			return i
		}
	}
	return 0
}

// Transports, in the order of the metrics' arrays.
const (
	transportUDP = iota
	transportTCP
	numTransports
)

var transportNames = [numTransports]string{"udp", "tcp"}

// commonRcodes are the rcodes whose counters are made up front.
var commonRcodes = [...]int{
	dns.RcodeSuccess, dns.RcodeFormatError, dns.RcodeServerFailure, dns.RcodeNameError,
	dns.RcodeNotImplemented, dns.RcodeRefused, dns.RcodeBadVers,
}

// metrics are the server's Prometheus collectors. The counters the hot path touches are
// resolved up front, so that counting allocates nothing.
type metrics struct {
	queries       *prometheus.CounterVec // rcode, transport
	answers       *prometheus.CounterVec // policy
	dropped       *prometheus.CounterVec // transport
	truncated     prometheus.Counter
	panics        prometheus.Counter
	tcpRejected   prometheus.Counter
	snapshotIndex prometheus.Gauge

	byRcode   [numTransports][len(commonRcodes)]prometheus.Counter
	byPolicy  [numPolicies]prometheus.Counter
	byDropped [numTransports]prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, log *slog.Logger) *metrics {
	m := &metrics{
		queries: register(reg, log, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "polyregion_dns_queries_total",
			Help: "DNS queries answered, by response code and transport.",
		}, []string{"rcode", "transport"})),
		answers: register(reg, log, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "polyregion_dns_policy_choices_total",
			Help: "Routing-policy choices made while answering queries, by policy (one query may make several: CNAME chains, aliases).",
		}, []string{"policy"})),
		dropped: register(reg, log, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "polyregion_dns_dropped_total",
			Help: "Packets dropped without an answer: shorter than a DNS header, or responses.",
		}, []string{"transport"})),
		truncated: register(reg, log, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "polyregion_dns_truncated_total",
			Help: "UDP answers sent with the TC bit because they did not fit the client's buffer.",
		})),
		panics: register(reg, log, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "polyregion_dns_panics_total",
			Help: "Panics recovered while answering; each was answered SERVFAIL.",
		})),
		tcpRejected: register(reg, log, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "polyregion_dns_tcp_connections_rejected_total",
			Help: "TCP connections closed on arrival because MaxTCPConnections were open.",
		})),
		snapshotIndex: register(reg, log, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "polyregion_dns_snapshot_index",
			Help: "Control-plane index of the snapshot the server answers from (the zones' SOA serial).",
		})),
	}
	for t := range numTransports {
		m.byDropped[t] = m.dropped.WithLabelValues(transportNames[t])
		for i, rc := range commonRcodes {
			m.byRcode[t][i] = m.queries.WithLabelValues(rcodeName(rc), transportNames[t])
		}
	}
	for i, p := range policies {
		m.byPolicy[i] = m.answers.WithLabelValues(string(p))
	}
	return m
}

// register registers c with reg, if any. When an equal collector is registered already
// (several servers in one process), it returns that one, so that they count together.
func register[T prometheus.Collector](reg prometheus.Registerer, log *slog.Logger, c T) T {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(T); ok {
				return existing
			}
		}
		log.Warn("metric not registered", "err", err)
	}
	return c
}

// rcodeName is an rcode's label value.
func rcodeName(rc int) string {
	if rc == dns.RcodeBadVers {
		return "BADVERS"
	}
	if s, ok := dns.RcodeToString[rc]; ok {
		return s
	}
	return "RCODE" + strconv.Itoa(rc)
}

// count records one answered query and the choices it made (q may be nil: none).
func (m *metrics) count(transport, rcode int, truncated bool, q *query) {
	counted := false
	for i, rc := range commonRcodes {
		if rc == rcode {
			m.byRcode[transport][i].Inc()
			counted = true
			break
		}
	}
	if !counted {
		m.queries.WithLabelValues(rcodeName(rcode), transportNames[transport]).Inc()
	}
	if q != nil {
		for i, n := range q.policies {
			if n > 0 {
				m.byPolicy[i].Add(float64(n))
			}
		}
	}
	if truncated && transport == transportUDP {
		m.truncated.Inc()
	}
}
