package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/polyregion/polyregion/internal/config"
	"github.com/polyregion/polyregion/internal/control"
	"github.com/polyregion/polyregion/internal/edge"
	"github.com/polyregion/polyregion/internal/tables"
)

// configAcceleratorARN gives an accelerator declared in the configuration the same ARN in
// every region, so that regions seeding it at once create it only once.
func configAcceleratorARN(name string) string {
	sum := sha256.Sum256([]byte("accelerator\x00" + name))
	h := hex.EncodeToString(sum[:16])
	return fmt.Sprintf("arn:aws:globalaccelerator::%s:accelerator/%s-%s-%s-%s-%s", tables.DefaultAccountID, h[:8], h[8:12], h[12:16], h[16:20], h[20:32])
}

func shortHash(n int, parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:])[:n]
}

// parsePorts reads "8080" or "9000-9010".
func parsePorts(s string) (edge.PortRange, error) {
	from, to, isRange := strings.Cut(strings.TrimSpace(s), "-")
	f, err := strconv.Atoi(from)
	if err != nil {
		return edge.PortRange{}, fmt.Errorf("%q is not a port or a range of ports", s)
	}
	t := f
	if isRange {
		if t, err = strconv.Atoi(to); err != nil {
			return edge.PortRange{}, fmt.Errorf("%q is not a port or a range of ports", s)
		}
	}
	return edge.PortRange{FromPort: f, ToPort: t}, nil
}

// configAccelerators turns the configuration's accelerators into the edge's model and
// checks them, reporting problems with their paths in the configuration.
func configAccelerators(cfg *config.Config) ([]edge.Accelerator, error) {
	var out []edge.Accelerator
	var problems []string
	for i, ca := range cfg.Edge.Accelerators {
		path := fmt.Sprintf("edge.accelerators[%d]", i)
		a := edge.Accelerator{AcceleratorArn: configAcceleratorARN(ca.Name), Name: ca.Name, Enabled: ca.Enabled == nil || *ca.Enabled,
			Tags: map[string]string{"polyregion:source": "config"}}
		for j, cl := range ca.Listeners {
			l := edge.Listener{Protocol: strings.ToUpper(cl.Protocol), ClientAffinity: strings.ToUpper(cl.ClientAffinity)}
			for k, ps := range cl.Ports {
				r, err := parsePorts(ps)
				if err != nil {
					problems = append(problems, fmt.Sprintf("%s.listeners[%d].ports[%d]: %v", path, j, k, err))
					continue
				}
				l.PortRanges = append(l.PortRanges, r)
			}
			l.ListenerArn = a.AcceleratorArn + "/listener/" + shortHash(8, ca.Name, strconv.Itoa(j))
			for _, cg := range cl.EndpointGroups {
				g := edge.EndpointGroup{
					EndpointGroupArn:           l.ListenerArn + "/endpoint-group/" + shortHash(12, l.ListenerArn, cg.Region),
					EndpointGroupRegion:        cg.Region,
					TrafficDialPercentage:      edge.DefaultDial,
					HealthCheckProtocol:        strings.ToUpper(cg.HealthCheck.Protocol),
					HealthCheckPort:            cg.HealthCheck.Port,
					HealthCheckPath:            cg.HealthCheck.Path,
					HealthCheckIntervalSeconds: cg.HealthCheck.Interval,
					ThresholdCount:             cg.HealthCheck.Threshold,
				}
				if cg.TrafficDial != nil {
					g.TrafficDialPercentage = *cg.TrafficDial
				}
				for _, o := range cg.PortOverrides {
					g.PortOverrides = append(g.PortOverrides, edge.PortOverride{ListenerPort: o.ListenerPort, EndpointPort: o.EndpointPort})
				}
				for _, ce := range cg.Endpoints {
					e := edge.Endpoint{EndpointId: ce.Address, Weight: edge.DefaultWeight, ClientIPPreservationEnabled: ce.ClientIPPreservation}
					if ce.Weight != nil {
						e.Weight = *ce.Weight
					}
					g.Endpoints = append(g.Endpoints, e)
				}
				l.EndpointGroups = append(l.EndpointGroups, g)
			}
			a.Listeners = append(a.Listeners, l)
		}
		a.SetDefaults()
		if err := a.Validate(cfg.RegionNames()); err != nil {
			msg := strings.TrimPrefix(err.Error(), edge.ErrInvalid.Error()+" "+a.Name+": ")
			for _, m := range strings.Split(msg, "; ") {
				problems = append(problems, path+"."+m)
			}
		}
		out = append(out, a)
	}
	if err := edge.ValidateSet(out); err != nil && len(problems) == 0 {
		problems = append(problems, "edge.accelerators: "+err.Error())
	}
	if len(problems) > 0 {
		return nil, &config.ValidationError{Problems: problems}
	}
	return out, nil
}

// configAcceleratorOps returns the control-plane changes that make the state hold the
// configuration's accelerators as declared.
func configAcceleratorOps(accs []edge.Accelerator, st *control.State, now time.Time) []control.Op {
	var ops []control.Op
	for _, a := range accs {
		id := edge.ListenerID(a.AcceleratorArn)
		var cur edge.Accelerator
		ok, err := st.Decode(kindAccelerator, id, &cur)
		if ok && err == nil {
			a.CreatedTime, a.LastModifiedTime = cur.CreatedTime, cur.LastModifiedTime
			a.Attributes = cur.Attributes // set through the API; the configuration has none
			want, _ := json.Marshal(a)
			have, _ := json.Marshal(cur)
			if bytes.Equal(want, have) {
				continue
			}
		}
		if !ok {
			a.CreatedTime = now.UTC().Truncate(time.Second)
		}
		a.LastModifiedTime = now.UTC().Truncate(time.Second)
		v, _ := json.Marshal(a)
		op := control.Op{Kind: kindAccelerator, ID: id, Value: v, Expect: control.ExpectAbsent}
		if ok {
			r, _ := st.Get(kindAccelerator, id)
			op.Expect, op.Version = control.ExpectVersion, r.Version
		}
		ops = append(ops, op)
	}
	return ops
}

// seedConfigAccelerators writes the configuration's accelerators into the control plane,
// retrying until a write succeeds or nothing is left to write.
func (r *Region) seedConfigAccelerators(ctx context.Context) {
	accs, err := configAccelerators(r.cfg)
	if err != nil || len(accs) == 0 {
		return // checked before the fleet started
	}
	for {
		ops := configAcceleratorOps(accs, r.control.State(), time.Now())
		if len(ops) == 0 {
			return
		}
		_, err := r.control.Apply(ctx, control.Batch{Ops: ops})
		switch {
		case err == nil:
			r.logger.Info("accelerators from the configuration written to the control plane", "changes", len(ops))
			return
		case errors.Is(err, control.ErrExists), errors.Is(err, control.ErrConflict):
			// Another region wrote first; look again.
		case errors.Is(err, control.ErrInvalid):
			r.logger.Error("the configuration's accelerators are invalid", "err", err)
			return
		default:
			r.logger.Debug("seeding accelerators: will retry", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}
