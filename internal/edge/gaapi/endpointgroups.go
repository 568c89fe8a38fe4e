package gaapi

import (
	"context"
	"slices"
	"strings"

	"github.com/polyregion/polyregion/internal/edge"
)

type endpointGroupOutput struct {
	EndpointGroup endpointGroupOut `json:"EndpointGroup"`
}

func endpointGroupNotFound(arn string) error {
	return errorf(codeEndpointGroupNotFound, "Endpoint group %s was not found", arn)
}

// groupArnOf parses an endpoint group's ARN.
func (a *api) groupArnOf(arn *string) (resourceArn, error) {
	if err := required("EndpointGroupArn", arn); err != nil {
		return resourceArn{}, err
	}
	r, ok := a.parseArn(*arn)
	if !ok || r.groupArn == "" {
		return resourceArn{}, endpointGroupNotFound(*arn)
	}
	return r, nil
}

// groupSettings are the members CreateEndpointGroup and UpdateEndpointGroup share.
type groupSettings struct {
	EndpointConfigurations     []endpointConfiguration `json:"EndpointConfigurations"`
	HealthCheckIntervalSeconds *int                    `json:"HealthCheckIntervalSeconds"`
	HealthCheckPath            *string                 `json:"HealthCheckPath"`
	HealthCheckPort            *int                    `json:"HealthCheckPort"`
	HealthCheckProtocol        *string                 `json:"HealthCheckProtocol"`
	PortOverrides              []portOverride          `json:"PortOverrides"`
	ThresholdCount             *int                    `json:"ThresholdCount"`
	TrafficDialPercentage      *float64                `json:"TrafficDialPercentage"`
}

// apply sets what the request gives on g; endpoints and port overrides, when given,
// replace the group's.
func (s *groupSettings) apply(g *edge.EndpointGroup) error {
	if s.TrafficDialPercentage != nil {
		g.TrafficDialPercentage = *s.TrafficDialPercentage
	}
	if s.HealthCheckProtocol != nil {
		g.HealthCheckProtocol = *s.HealthCheckProtocol
		if *s.HealthCheckProtocol == "TCP" && s.HealthCheckPath == nil {
			g.HealthCheckPath = ""
		}
	}
	if s.HealthCheckPath != nil {
		g.HealthCheckPath = *s.HealthCheckPath
	}
	if s.HealthCheckPort != nil {
		g.HealthCheckPort = intOr(s.HealthCheckPort, 0)
		if g.HealthCheckPort < 1 || g.HealthCheckPort > 65535 {
			return invalidArgument("HealthCheckPort %d is not a port within 1-65535", g.HealthCheckPort)
		}
	}
	if s.HealthCheckIntervalSeconds != nil {
		g.HealthCheckIntervalSeconds = intOr(s.HealthCheckIntervalSeconds, 0)
		if g.HealthCheckIntervalSeconds != 10 && g.HealthCheckIntervalSeconds != 30 {
			return invalidArgument("HealthCheckIntervalSeconds %d is not 10 or 30", g.HealthCheckIntervalSeconds)
		}
	}
	if s.ThresholdCount != nil {
		g.ThresholdCount = intOr(s.ThresholdCount, 0)
	}
	if s.PortOverrides != nil {
		g.PortOverrides = nil
		for i, o := range s.PortOverrides {
			if o.ListenerPort == nil || o.EndpointPort == nil {
				return invalidArgument("PortOverrides[%d]: ListenerPort and EndpointPort are required", i)
			}
			g.PortOverrides = append(g.PortOverrides, edge.PortOverride{ListenerPort: intOr(o.ListenerPort, 0), EndpointPort: intOr(o.EndpointPort, 0)})
		}
	}
	if s.EndpointConfigurations != nil {
		if len(s.EndpointConfigurations) > edge.MaxEndpointsPerGroup {
			return errorf(codeLimitExceeded, "an endpoint group has at most %d endpoints, not %d", edge.MaxEndpointsPerGroup, len(s.EndpointConfigurations))
		}
		g.Endpoints = nil
		for i, c := range s.EndpointConfigurations {
			e, err := endpointOf(i, c)
			if err != nil {
				return err
			}
			g.Endpoints = append(g.Endpoints, e)
		}
	}
	g.SetDefaults()
	return nil
}

// endpointOf converts the i'th endpoint configuration, with Global Accelerator's defaults.
func endpointOf(i int, c endpointConfiguration) (edge.Endpoint, error) {
	if c.EndpointId == nil || *c.EndpointId == "" {
		return edge.Endpoint{}, invalidArgument("EndpointConfigurations[%d].EndpointId is required", i)
	}
	if deref(c.AttachmentArn) != "" {
		return edge.Endpoint{}, invalidArgument("EndpointConfigurations[%d].AttachmentArn: polyregion has no cross-account attachments", i)
	}
	return edge.Endpoint{
		EndpointId:                  *c.EndpointId,
		Weight:                      intOr(c.Weight, edge.DefaultWeight),
		ClientIPPreservationEnabled: c.ClientIPPreservationEnabled != nil && *c.ClientIPPreservationEnabled,
	}, nil
}

func (a *api) createEndpointGroup(ctx context.Context, rc *requestContext, body []byte) (any, error) {
	var in struct {
		ListenerArn         *string `json:"ListenerArn"`
		EndpointGroupRegion *string `json:"EndpointGroupRegion"`
		IdempotencyToken    *string `json:"IdempotencyToken"`
		groupSettings
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	r, err := a.listenerArnOf(in.ListenerArn)
	if err != nil {
		return nil, err
	}
	if err := required("EndpointGroupRegion", in.EndpointGroupRegion); err != nil {
		return nil, err
	}
	g := edge.EndpointGroup{
		EndpointGroupArn:      r.listenerArn + "/endpoint-group/" + groupID(r.listenerArn, deref(in.IdempotencyToken)),
		EndpointGroupRegion:   *in.EndpointGroupRegion,
		TrafficDialPercentage: edge.DefaultDial,
	}
	if err := in.apply(&g); err != nil {
		return nil, err
	}
	var out endpointGroupOut
	_, err = a.update(ctx, rc, r.acceleratorID, func() error { return listenerNotFound(r.listenerArn) }, func(doc *document) error {
		l := doc.listener(r.listenerArn)
		if l == nil {
			return listenerNotFound(r.listenerArn)
		}
		for i := range l.EndpointGroups {
			existing := &l.EndpointGroups[i]
			if existing.EndpointGroupArn == g.EndpointGroupArn {
				// The same token: the group its first use created.
				out = a.endpointGroupOut(l, existing)
				return errUnchanged
			}
			if existing.EndpointGroupRegion == g.EndpointGroupRegion {
				return errorf(codeEndpointGroupAlreadyExists, "Listener %s already has endpoint group %s in %s: one group per region per listener",
					l.ListenerArn, existing.EndpointGroupArn, g.EndpointGroupRegion)
			}
		}
		l.EndpointGroups = append(l.EndpointGroups, g)
		out = a.endpointGroupOut(l, &g)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return endpointGroupOutput{out}, nil
}

func (a *api) describeEndpointGroup(ctx context.Context, rc *requestContext, body []byte) (any, error) {
	var in struct {
		EndpointGroupArn *string `json:"EndpointGroupArn"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	r, err := a.groupArnOf(in.EndpointGroupArn)
	if err != nil {
		return nil, err
	}
	doc, _, ok, err := load(a.opts.Store.State(), r.acceleratorID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, endpointGroupNotFound(r.groupArn)
	}
	l, g := doc.group(r)
	if g == nil {
		return nil, endpointGroupNotFound(r.groupArn)
	}
	return endpointGroupOutput{a.endpointGroupOut(l, g)}, nil
}

func (a *api) listEndpointGroups(ctx context.Context, rc *requestContext, body []byte) (any, error) {
	var in struct {
		ListenerArn *string `json:"ListenerArn"`
		MaxResults  *int    `json:"MaxResults"`
		NextToken   *string `json:"NextToken"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	_, l, err := a.findListener(in.ListenerArn)
	if err != nil {
		return nil, err
	}
	gs := slices.Clone(l.EndpointGroups)
	slices.SortFunc(gs, func(x, y edge.EndpointGroup) int { return strings.Compare(x.EndpointGroupArn, y.EndpointGroupArn) })
	keys := make([]string, len(gs))
	for i := range gs {
		keys[i] = gs[i].EndpointGroupArn
	}
	from, to, next, err := page(keys, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := struct {
		EndpointGroups []endpointGroupOut `json:"EndpointGroups"`
		NextToken      *string            `json:"NextToken,omitempty"`
	}{EndpointGroups: []endpointGroupOut{}, NextToken: next}
	for i := from; i < to; i++ {
		out.EndpointGroups = append(out.EndpointGroups, a.endpointGroupOut(l, &gs[i]))
	}
	return out, nil
}

// updateGroup changes the group an ARN names with change, and returns the group and its
// listener as written.
func (a *api) updateGroup(ctx context.Context, rc *requestContext, arn *string, change func(l *edge.Listener, g *edge.EndpointGroup) error) (*edge.Listener, *edge.EndpointGroup, error) {
	r, err := a.groupArnOf(arn)
	if err != nil {
		return nil, nil, err
	}
	var l *edge.Listener
	var g *edge.EndpointGroup
	_, err = a.update(ctx, rc, r.acceleratorID, func() error { return endpointGroupNotFound(r.groupArn) }, func(doc *document) error {
		if l, g = doc.group(r); g == nil {
			return endpointGroupNotFound(r.groupArn)
		}
		return change(l, g)
	})
	if err != nil {
		return nil, nil, err
	}
	return l, g, nil
}

func (a *api) updateEndpointGroup(ctx context.Context, rc *requestContext, body []byte) (any, error) {
	var in struct {
		EndpointGroupArn *string `json:"EndpointGroupArn"`
		groupSettings
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	l, g, err := a.updateGroup(ctx, rc, in.EndpointGroupArn, func(_ *edge.Listener, g *edge.EndpointGroup) error {
		return in.apply(g)
	})
	if err != nil {
		return nil, err
	}
	return endpointGroupOutput{a.endpointGroupOut(l, g)}, nil
}

func (a *api) deleteEndpointGroup(ctx context.Context, rc *requestContext, body []byte) (any, error) {
	var in struct {
		EndpointGroupArn *string `json:"EndpointGroupArn"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	r, err := a.groupArnOf(in.EndpointGroupArn)
	if err != nil {
		return nil, err
	}
	_, err = a.update(ctx, rc, r.acceleratorID, func() error { return endpointGroupNotFound(r.groupArn) }, func(doc *document) error {
		l := doc.listener(r.listenerArn)
		if l == nil {
			return endpointGroupNotFound(r.groupArn)
		}
		i := slices.IndexFunc(l.EndpointGroups, func(g edge.EndpointGroup) bool { return g.EndpointGroupArn == r.groupArn })
		if i < 0 {
			return endpointGroupNotFound(r.groupArn)
		}
		l.EndpointGroups = slices.Delete(l.EndpointGroups, i, i+1)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

// addEndpoints adds endpoints to a group; an endpoint already there is updated with the
// members given (Global Accelerator's AddEndpoints has no "already exists" error).
func (a *api) addEndpoints(ctx context.Context, rc *requestContext, body []byte) (any, error) {
	var in struct {
		EndpointGroupArn       *string                 `json:"EndpointGroupArn"`
		EndpointConfigurations []endpointConfiguration `json:"EndpointConfigurations"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if len(in.EndpointConfigurations) == 0 {
		return nil, invalidArgument("EndpointConfigurations must list at least one endpoint")
	}
	if len(in.EndpointConfigurations) > edge.MaxEndpointsPerGroup {
		return nil, errorf(codeLimitExceeded, "AddEndpoints takes at most %d endpoints, not %d", edge.MaxEndpointsPerGroup, len(in.EndpointConfigurations))
	}
	for i, c := range in.EndpointConfigurations {
		if _, err := endpointOf(i, c); err != nil {
			return nil, err
		}
	}
	_, g, err := a.updateGroup(ctx, rc, in.EndpointGroupArn, func(_ *edge.Listener, gg *edge.EndpointGroup) error {
		for i, c := range in.EndpointConfigurations {
			j := slices.IndexFunc(gg.Endpoints, func(e edge.Endpoint) bool { return e.EndpointId == *c.EndpointId })
			if j < 0 {
				e, _ := endpointOf(i, c)
				gg.Endpoints = append(gg.Endpoints, e)
				continue
			}
			if c.Weight != nil {
				gg.Endpoints[j].Weight = intOr(c.Weight, 0)
			}
			if c.ClientIPPreservationEnabled != nil {
				gg.Endpoints[j].ClientIPPreservationEnabled = *c.ClientIPPreservationEnabled
			}
		}
		if len(gg.Endpoints) > edge.MaxEndpointsPerGroup {
			return errorf(codeLimitExceeded, "endpoint group %s would have %d endpoints, at most %d", gg.EndpointGroupArn, len(gg.Endpoints), edge.MaxEndpointsPerGroup)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := struct {
		EndpointDescriptions []endpointDescription `json:"EndpointDescriptions"`
		EndpointGroupArn     string                `json:"EndpointGroupArn"`
	}{EndpointDescriptions: []endpointDescription{}, EndpointGroupArn: g.EndpointGroupArn}
	for _, c := range in.EndpointConfigurations {
		if j := slices.IndexFunc(g.Endpoints, func(e edge.Endpoint) bool { return e.EndpointId == *c.EndpointId }); j >= 0 {
			out.EndpointDescriptions = append(out.EndpointDescriptions, a.endpointDescription(g, &g.Endpoints[j]))
		}
	}
	return out, nil
}

func (a *api) removeEndpoints(ctx context.Context, rc *requestContext, body []byte) (any, error) {
	var in struct {
		EndpointGroupArn    *string              `json:"EndpointGroupArn"`
		EndpointIdentifiers []endpointIdentifier `json:"EndpointIdentifiers"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if len(in.EndpointIdentifiers) == 0 {
		return nil, invalidArgument("EndpointIdentifiers must list at least one endpoint")
	}
	for i, id := range in.EndpointIdentifiers {
		if deref(id.EndpointId) == "" {
			return nil, invalidArgument("EndpointIdentifiers[%d].EndpointId is required", i)
		}
	}
	_, _, err := a.updateGroup(ctx, rc, in.EndpointGroupArn, func(_ *edge.Listener, g *edge.EndpointGroup) error {
		for _, id := range in.EndpointIdentifiers {
			j := slices.IndexFunc(g.Endpoints, func(e edge.Endpoint) bool { return e.EndpointId == *id.EndpointId })
			if j < 0 {
				return errorf(codeEndpointNotFound, "Endpoint %s is not in endpoint group %s", *id.EndpointId, g.EndpointGroupArn)
			}
			g.Endpoints = slices.Delete(g.Endpoints, j, j+1)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}
