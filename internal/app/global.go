package app

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/polyregion/polyregion/internal/control"
	"github.com/polyregion/polyregion/internal/dns/route53api"
	"github.com/polyregion/polyregion/internal/edge"
	"github.com/polyregion/polyregion/internal/health"
	"github.com/polyregion/polyregion/internal/tables"
)

// Kinds of global resources kept in the control plane.
const kindHealthCheck = health.Kind

// globalValidator returns the check of a control-plane change against the state it would
// produce, for a fleet of regions. It runs inside the replicated state machine, in every
// region, so it must be deterministic: every region has the same configuration.
func globalValidator(regions []string) control.Validator {
	return func(next *control.State, ops []control.Op) error {
		return validateGlobalState(next, ops, regions)
	}
}

func validateGlobalState(next *control.State, ops []control.Op, regions []string) error {
	kinds := map[string]bool{}
	for _, op := range ops {
		kinds[op.Kind] = true
	}
	if kinds[kindHealthCheck] {
		checks, err := healthChecksOf(next)
		if err != nil {
			return err
		}
		if err := health.ValidateSet(checks); err != nil {
			return err
		}
		for _, op := range ops {
			if op.Kind == kindHealthCheck && !op.Delete && strings.HasPrefix(op.ID, reservedCheckPrefix) {
				return fmt.Errorf("%w: id: %q: ids starting with %q are the edge's own", health.ErrInvalidCheck, op.ID, reservedCheckPrefix)
			}
		}
	}
	if kinds[tables.GlobalTableKind] {
		if err := tables.ValidateGlobalTables(next, ops); err != nil {
			return err
		}
	}
	if kinds[kindAccelerator] {
		if err := edge.ValidateState(next, regions); err != nil {
			return err
		}
	}
	// The DNS rules: zones, record sets, CIDR collections, and health checks records use.
	return route53api.ValidateState(next, ops)
}

// healthChecksOf decodes every health check of a state, sorted by id.
func healthChecksOf(st *control.State) ([]health.Check, error) {
	rs := st.List(kindHealthCheck)
	out := make([]health.Check, 0, len(rs))
	for _, r := range rs {
		var c health.Check
		if err := json.Unmarshal(r.Value, &c); err != nil {
			return nil, fmt.Errorf("health check %q: %w", r.ID, err)
		}
		out = append(out, c)
	}
	return out, nil
}
