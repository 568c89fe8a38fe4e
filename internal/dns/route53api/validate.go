package route53api

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/polyregion/polyregion/internal/control"
	"github.com/polyregion/polyregion/internal/dns/zone"
	"github.com/polyregion/polyregion/internal/health"
)

// ValidateState is the control-plane validator for the DNS kinds (a control.Validator):
// for every zone the ops touch — through its own record sets or itself, a CIDR collection
// its records use, or a health check deleted while its records refer to it — it runs
// zone.ChangeContext.Validate on the zone's complete record-set list in next. It also keeps
// hosted-zone names and caller references unique and refuses to delete a zone that still
// has record sets. The result depends only on next and ops (zones in id order), as the
// replicated state machine requires. The application calls it from its validator.
func ValidateState(next *control.State, ops []control.Op) error {
	zonesTouched := map[string]bool{}
	collections := map[string]bool{}
	deletedChecks := map[string]bool{}
	zoneOps := false
	for _, op := range ops {
		switch op.Kind {
		case zone.KindRecordSet:
			zoneID, _, _ := strings.Cut(op.ID, "|")
			zonesTouched[zoneID] = true
		case zone.KindHostedZone:
			zonesTouched[op.ID] = true
			zoneOps = true
		case zone.KindCidrCollection:
			collections[op.ID] = true
		case health.Kind:
			if op.Delete {
				deletedChecks[op.ID] = true
			}
		}
	}
	if len(zonesTouched) == 0 && len(collections) == 0 && len(deletedChecks) == 0 {
		return nil
	}
	// Every record set, by zone.
	byZone := map[string][]zone.RecordSet{}
	var problems []string
	for _, r := range next.List(zone.KindRecordSet) {
		var s zone.RecordSet
		if err := json.Unmarshal(r.Value, &s); err != nil {
			problems = append(problems, fmt.Sprintf("record set %q is not valid JSON: %v", r.ID, err))
			continue
		}
		zoneID, _, _ := strings.Cut(r.ID, "|")
		if want := zone.RecordSetID(zoneID, &s); want != r.ID {
			problems = append(problems, fmt.Sprintf("record set %q is stored under the wrong id (want %q)", r.ID, want))
		}
		byZone[zoneID] = append(byZone[zoneID], s)
		if c := s.CidrRoutingConfig; c != nil && collections[c.CollectionID] {
			zonesTouched[zoneID] = true
		}
		if deletedChecks[s.HealthCheckID] {
			zonesTouched[zoneID] = true
		}
	}
	if zoneOps {
		problems = append(problems, zoneUniqueness(next)...)
	}
	ids := make([]string, 0, len(zonesTouched))
	for id := range zonesTouched {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		var z zone.HostedZone
		ok, err := next.Decode(zone.KindHostedZone, id, &z)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("hosted zone %s is not valid JSON: %v", id, err))
			continue
		case !ok:
			if n := len(byZone[id]); n > 0 {
				problems = append(problems, fmt.Sprintf("hosted zone %s does not exist but has %d record sets", id, n))
			}
			continue
		}
		err = validationContext(next, z).Validate(byZone[id])
		var ce *zone.ChangeError
		switch {
		case errors.As(err, &ce):
			problems = append(problems, ce.Problems...)
		case err != nil:
			problems = append(problems, err.Error())
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return &zone.ChangeError{Zone: strings.Join(ids, ","), Problems: problems}
}

// zoneUniqueness reports hosted zones that share a name or a caller reference.
func zoneUniqueness(st *control.State) []string {
	var problems []string
	names, refs := map[string]string{}, map[string]string{}
	for _, r := range st.List(zone.KindHostedZone) {
		var z zone.HostedZone
		if err := json.Unmarshal(r.Value, &z); err != nil {
			problems = append(problems, fmt.Sprintf("hosted zone %s is not valid JSON: %v", r.ID, err))
			continue
		}
		name := zone.CanonicalName(z.Name)
		if other, dup := names[name]; dup {
			problems = append(problems, fmt.Sprintf("hosted zones %s and %s are both named %s", other, r.ID, name))
		}
		names[name] = r.ID
		if z.CallerReference != "" {
			if other, dup := refs[z.CallerReference]; dup {
				problems = append(problems, fmt.Sprintf("hosted zones %s and %s have the same caller reference", other, r.ID))
			}
			refs[z.CallerReference] = r.ID
		}
	}
	return problems
}
