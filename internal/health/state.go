package health

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// State is the overall status of a check.
type State string

const (
	// StateInitializing: no vantage point has reported a fresh observation yet (for a
	// CALCULATED check: its children do not decide it yet). Consumers that fail open treat
	// it as healthy; [CheckStatus.Healthy] and [Snapshot.Healthy] do.
	StateInitializing State = "initializing"
	StateHealthy      State = "healthy"
	StateUnhealthy    State = "unhealthy"
)

// healthy applies the fail-open rule: initializing counts as healthy.
func (s State) healthy() bool { return s != StateUnhealthy }

func (s State) known() bool { return s == StateHealthy || s == StateUnhealthy }

// gauge is the value of the metrics for s: 1, 0, or -1 while initializing.
func (s State) gauge() float64 {
	switch s {
	case StateHealthy:
		return 1
	case StateUnhealthy:
		return 0
	}
	return -1
}

func stateOf(healthy bool) State {
	if healthy {
		return StateHealthy
	}
	return StateUnhealthy
}

// machine is one vantage point's state for one check. Before the first result it is
// unknown; the first result sets the state directly; afterwards the state flips only after
// threshold consecutive results that disagree with it, in either direction.
type machine struct {
	known    bool
	healthy  bool
	disagree int // consecutive results that disagree with healthy
}

// record enters one result (already inverted if the check is).
func (m *machine) record(healthy bool, threshold int) {
	switch {
	case !m.known:
		m.known, m.healthy, m.disagree = true, healthy, 0
	case healthy == m.healthy:
		m.disagree = 0
	default:
		m.disagree++
		if m.disagree >= threshold {
			m.healthy, m.disagree = healthy, 0
		}
	}
}

// verdict is an overall status with the reason for it.
type verdict struct {
	state  State
	reason string
}

// aggregate decides a probed check's status from the latest observation of each vantage
// point (sorted by region). An observation is reporting when it is younger than window at
// now. The check is healthy when more than quorum (a fraction) of the reporting vantage
// points say healthy; with none reporting it is initializing.
func aggregate(obs []Observation, now time.Time, window time.Duration, quorum float64) verdict {
	reporting, healthy := 0, 0
	var bad []string
	for _, o := range obs {
		if !fresh(o, now, window) {
			continue
		}
		reporting++
		if o.Healthy {
			healthy++
		} else {
			bad = append(bad, o.Region+": "+o.Reason)
		}
	}
	if reporting == 0 {
		if len(obs) == 0 {
			return verdict{StateInitializing, "no vantage point has reported yet"}
		}
		return verdict{StateInitializing, fmt.Sprintf("no vantage point has reported in the last %v", window)}
	}
	ok := float64(healthy) > quorum*float64(reporting)
	reason := fmt.Sprintf("%d of %d vantage points report healthy (more than %s needed)",
		healthy, reporting, strconv.FormatFloat(quorum*100, 'f', -1, 64)+"%")
	if !ok && len(bad) > 0 {
		reason += "; " + strings.Join(bad, "; ")
	}
	return verdict{stateOf(ok), reason}
}

// fresh reports whether o is younger than window at now.
func fresh(o Observation, now time.Time, window time.Duration) bool {
	return now.Sub(o.CheckedAt) < window
}

// calculate decides a CALCULATED check's status from its children's states. It is healthy
// when at least HealthThreshold children are healthy (0: always; more than the children:
// never), then Inverted applies. It is known as soon as the children known so far decide
// it: enough healthy ones, or too many unhealthy ones to reach the threshold. Until then it
// is initializing.
func calculate(c *Check, children []State) verdict {
	n, th := len(children), c.HealthThreshold
	var healthy, unhealthy int
	for _, s := range children {
		switch s {
		case StateHealthy:
			healthy++
		case StateUnhealthy:
			unhealthy++
		}
	}
	var v verdict
	switch {
	case th == 0:
		v = verdict{StateHealthy, "health_threshold is 0: always healthy"}
	case th > n:
		v = verdict{StateUnhealthy, fmt.Sprintf("health_threshold %d is more than the %d children: always unhealthy", th, n)}
	default:
		v.reason = fmt.Sprintf("%d of %d children healthy, at least %d needed", healthy, n, th)
		if pending := n - healthy - unhealthy; pending > 0 {
			v.reason += fmt.Sprintf(" (%d initializing)", pending)
		}
		switch {
		case healthy >= th:
			v.state = StateHealthy
		case unhealthy > n-th:
			v.state = StateUnhealthy
		default:
			v.state = StateInitializing
		}
	}
	if c.Inverted && v.state.known() {
		v.state = stateOf(v.state == StateUnhealthy)
		v.reason = "inverted: " + v.reason
	}
	return v
}
