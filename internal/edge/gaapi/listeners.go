package gaapi

import (
	"context"
	"slices"
	"strings"

	"github.com/polyregion/polyregion/internal/edge"
)

type listenerOutput struct {
	Listener listenerOut `json:"Listener"`
}

func listenerNotFound(arn string) error {
	return errorf(codeListenerNotFound, "Listener %s was not found", arn)
}

// listenerArnOf parses a listener's ARN.
func (a *api) listenerArnOf(arn *string) (resourceArn, error) {
	if err := required("ListenerArn", arn); err != nil {
		return resourceArn{}, err
	}
	r, ok := a.parseArn(*arn)
	if !ok || r.listenerArn == "" || r.groupArn != "" {
		return resourceArn{}, listenerNotFound(*arn)
	}
	return r, nil
}

// portRanges converts and checks a request's port ranges: invalid numbers are an
// InvalidPortRangeException, too many ranges or ports a LimitExceededException.
func portRanges(in []portRange) ([]edge.PortRange, error) {
	if len(in) == 0 {
		return nil, errorf(codeInvalidPortRange, "PortRanges must list at least one range")
	}
	if len(in) > edge.MaxPortRanges {
		return nil, errorf(codeLimitExceeded, "a listener has at most %d port ranges, not %d", edge.MaxPortRanges, len(in))
	}
	out := make([]edge.PortRange, len(in))
	ports := 0
	for i, r := range in {
		if r.FromPort == nil || r.ToPort == nil {
			return nil, errorf(codeInvalidPortRange, "PortRanges[%d]: FromPort and ToPort are required", i)
		}
		from, to := intOr(r.FromPort, 0), intOr(r.ToPort, 0)
		if from < 1 || to > 65535 || from > to {
			return nil, errorf(codeInvalidPortRange, "PortRanges[%d]: %d-%d is not a range of ports within 1-65535", i, from, to)
		}
		out[i] = edge.PortRange{FromPort: from, ToPort: to}
		ports += to - from + 1
	}
	if ports > edge.MaxPortsPerListener {
		return nil, errorf(codeLimitExceeded, "a listener covers at most %d ports in polyregion (each is a socket at every edge location), not %d", edge.MaxPortsPerListener, ports)
	}
	return out, nil
}

func (a *api) createListener(ctx context.Context, rc *requestContext, body []byte) (any, error) {
	var in struct {
		AcceleratorArn   *string     `json:"AcceleratorArn"`
		IdempotencyToken *string     `json:"IdempotencyToken"`
		PortRanges       []portRange `json:"PortRanges"`
		Protocol         *string     `json:"Protocol"`
		ClientAffinity   *string     `json:"ClientAffinity"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	id, err := a.acceleratorIDOf(in.AcceleratorArn)
	if err != nil {
		return nil, err
	}
	if err := required("Protocol", in.Protocol); err != nil {
		return nil, err
	}
	ranges, err := portRanges(in.PortRanges)
	if err != nil {
		return nil, err
	}
	arn := a.acceleratorArn(id) + "/listener/" + listenerID(a.acceleratorArn(id), deref(in.IdempotencyToken))
	l := edge.Listener{ListenerArn: arn, Protocol: *in.Protocol, PortRanges: ranges, ClientAffinity: deref(in.ClientAffinity)}
	if l.ClientAffinity == "" {
		l.ClientAffinity = edge.AffinityNone
	}
	var out *edge.Listener
	_, err = a.update(ctx, rc, id, func() error { return acceleratorNotFound(*in.AcceleratorArn) }, func(doc *document) error {
		if existing := doc.listener(arn); existing != nil {
			// The same token: the listener its first use created.
			out = existing
			return errUnchanged
		}
		if len(doc.Listeners) >= edge.MaxListeners {
			return errorf(codeLimitExceeded, "Accelerator %s has %d listeners, the most it may have", doc.AcceleratorArn, edge.MaxListeners)
		}
		doc.Listeners = append(doc.Listeners, l)
		out = &doc.Listeners[len(doc.Listeners)-1]
		return nil
	})
	if err != nil {
		return nil, err
	}
	return listenerOutput{listenerOutOf(out)}, nil
}

// findListener returns a listener from the current state.
func (a *api) findListener(arn *string) (*document, *edge.Listener, error) {
	r, err := a.listenerArnOf(arn)
	if err != nil {
		return nil, nil, err
	}
	doc, _, ok, err := load(a.opts.Store.State(), r.acceleratorID)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, listenerNotFound(*arn)
	}
	l := doc.listener(r.listenerArn)
	if l == nil {
		return nil, nil, listenerNotFound(*arn)
	}
	return doc, l, nil
}

func (a *api) describeListener(ctx context.Context, rc *requestContext, body []byte) (any, error) {
	var in struct {
		ListenerArn *string `json:"ListenerArn"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	_, l, err := a.findListener(in.ListenerArn)
	if err != nil {
		return nil, err
	}
	return listenerOutput{listenerOutOf(l)}, nil
}

func (a *api) listListeners(ctx context.Context, rc *requestContext, body []byte) (any, error) {
	var in struct {
		AcceleratorArn *string `json:"AcceleratorArn"`
		MaxResults     *int    `json:"MaxResults"`
		NextToken      *string `json:"NextToken"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	doc, err := a.accelerator(a.opts.Store.State(), in.AcceleratorArn)
	if err != nil {
		return nil, err
	}
	ls := slices.Clone(doc.Listeners)
	slices.SortFunc(ls, func(x, y edge.Listener) int { return strings.Compare(x.ListenerArn, y.ListenerArn) })
	keys := make([]string, len(ls))
	for i := range ls {
		keys[i] = ls[i].ListenerArn
	}
	from, to, next, err := page(keys, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := struct {
		Listeners []listenerOut `json:"Listeners"`
		NextToken *string       `json:"NextToken,omitempty"`
	}{Listeners: []listenerOut{}, NextToken: next}
	for i := from; i < to; i++ {
		out.Listeners = append(out.Listeners, listenerOutOf(&ls[i]))
	}
	return out, nil
}

func (a *api) updateListener(ctx context.Context, rc *requestContext, body []byte) (any, error) {
	var in struct {
		ListenerArn    *string     `json:"ListenerArn"`
		PortRanges     []portRange `json:"PortRanges"`
		Protocol       *string     `json:"Protocol"`
		ClientAffinity *string     `json:"ClientAffinity"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	r, err := a.listenerArnOf(in.ListenerArn)
	if err != nil {
		return nil, err
	}
	var ranges []edge.PortRange
	if in.PortRanges != nil {
		if ranges, err = portRanges(in.PortRanges); err != nil {
			return nil, err
		}
	}
	var out edge.Listener
	_, err = a.update(ctx, rc, r.acceleratorID, func() error { return listenerNotFound(*in.ListenerArn) }, func(doc *document) error {
		l := doc.listener(r.listenerArn)
		if l == nil {
			return listenerNotFound(*in.ListenerArn)
		}
		if ranges != nil {
			l.PortRanges = ranges
		}
		if in.Protocol != nil {
			l.Protocol = *in.Protocol
		}
		if in.ClientAffinity != nil {
			l.ClientAffinity = *in.ClientAffinity
		}
		out = *l
		return nil
	})
	if err != nil {
		return nil, err
	}
	return listenerOutput{listenerOutOf(&out)}, nil
}

func (a *api) deleteListener(ctx context.Context, rc *requestContext, body []byte) (any, error) {
	var in struct {
		ListenerArn *string `json:"ListenerArn"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	r, err := a.listenerArnOf(in.ListenerArn)
	if err != nil {
		return nil, err
	}
	_, err = a.update(ctx, rc, r.acceleratorID, func() error { return listenerNotFound(*in.ListenerArn) }, func(doc *document) error {
		i := slices.IndexFunc(doc.Listeners, func(l edge.Listener) bool { return l.ListenerArn == r.listenerArn })
		if i < 0 {
			return listenerNotFound(*in.ListenerArn)
		}
		if n := len(doc.Listeners[i].EndpointGroups); n > 0 {
			return errorf(codeAssociatedEndpointGroupFound, "Listener %s still has %d endpoint groups: delete them first", r.listenerArn, n)
		}
		doc.Listeners = slices.Delete(doc.Listeners, i, i+1)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}
