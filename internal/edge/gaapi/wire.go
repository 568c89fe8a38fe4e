package gaapi

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/polyregion/polyregion/internal/edge"
)

// The JSON shapes of the SDK's types/types.go. Members that may be omitted are pointers.

type tag struct {
	Key   *string `json:"Key"`
	Value *string `json:"Value"`
}

type portRange struct {
	FromPort *int `json:"FromPort"`
	ToPort   *int `json:"ToPort"`
}

type portOverride struct {
	ListenerPort *int `json:"ListenerPort"`
	EndpointPort *int `json:"EndpointPort"`
}

type endpointConfiguration struct {
	EndpointId                  *string `json:"EndpointId"`
	Weight                      *int    `json:"Weight"`
	ClientIPPreservationEnabled *bool   `json:"ClientIPPreservationEnabled"`
	AttachmentArn               *string `json:"AttachmentArn"`
}

type endpointIdentifier struct {
	EndpointId                  *string `json:"EndpointId"`
	ClientIPPreservationEnabled *bool   `json:"ClientIPPreservationEnabled"`
}

type ipSet struct {
	IpFamily        string   `json:"IpFamily"`
	IpAddresses     []string `json:"IpAddresses"`
	IpAddressFamily string   `json:"IpAddressFamily"`
}

type acceleratorOut struct {
	AcceleratorArn   string  `json:"AcceleratorArn"`
	Name             string  `json:"Name"`
	IpAddressType    string  `json:"IpAddressType"`
	Enabled          bool    `json:"Enabled"`
	IpSets           []ipSet `json:"IpSets"`
	DnsName          string  `json:"DnsName"`
	DualStackDnsName string  `json:"DualStackDnsName,omitempty"`
	Status           string  `json:"Status"`
	CreatedTime      epoch   `json:"CreatedTime"`
	LastModifiedTime epoch   `json:"LastModifiedTime"`
}

type listenerOut struct {
	ListenerArn    string           `json:"ListenerArn"`
	PortRanges     []edge.PortRange `json:"PortRanges"`
	Protocol       string           `json:"Protocol"`
	ClientAffinity string           `json:"ClientAffinity"`
}

type endpointDescription struct {
	EndpointId                  string `json:"EndpointId"`
	Weight                      int    `json:"Weight"`
	ClientIPPreservationEnabled bool   `json:"ClientIPPreservationEnabled"`
	HealthState                 string `json:"HealthState"`
	HealthReason                string `json:"HealthReason,omitempty"`
}

type endpointGroupOut struct {
	EndpointGroupArn           string                `json:"EndpointGroupArn"`
	EndpointGroupRegion        string                `json:"EndpointGroupRegion"`
	EndpointDescriptions       []endpointDescription `json:"EndpointDescriptions"`
	TrafficDialPercentage      float64               `json:"TrafficDialPercentage"`
	HealthCheckPort            int                   `json:"HealthCheckPort,omitempty"`
	HealthCheckProtocol        string                `json:"HealthCheckProtocol"`
	HealthCheckPath            string                `json:"HealthCheckPath,omitempty"`
	HealthCheckIntervalSeconds int                   `json:"HealthCheckIntervalSeconds"`
	ThresholdCount             int                   `json:"ThresholdCount"`
	PortOverrides              []edge.PortOverride   `json:"PortOverrides,omitempty"`
}

type attributesOut struct {
	FlowLogsEnabled  bool    `json:"FlowLogsEnabled"`
	FlowLogsS3Bucket *string `json:"FlowLogsS3Bucket,omitempty"`
	FlowLogsS3Prefix *string `json:"FlowLogsS3Prefix,omitempty"`
}

// epoch is a time as the JSON protocols send it: seconds since 1970 as a number.
type epoch time.Time

func (t epoch) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(time.Time(t).UnixMilli())/1000, 'f', -1, 64), nil
}

// DNS names of accelerators: under a name no one else answers for, as polyregion's DNS
// server may serve it.
const dnsSuffix = ".awsglobalaccelerator.polyregion"

func (a *api) acceleratorOut(doc *document) acceleratorOut {
	id := doc.AcceleratorArn[strings.LastIndexByte(doc.AcceleratorArn, '/')+1:]
	var v4, v6 []string
	for _, s := range a.opts.EdgeAddresses() {
		ip, err := netip.ParseAddr(s)
		switch {
		case err != nil:
		case ip.Unmap().Is4():
			v4 = append(v4, ip.Unmap().String())
		default:
			v6 = append(v6, ip.String())
		}
	}
	out := acceleratorOut{
		AcceleratorArn:   doc.AcceleratorArn,
		Name:             doc.Name,
		IpAddressType:    doc.IpAddressType,
		Enabled:          doc.Enabled,
		IpSets:           []ipSet{{IpFamily: "IPv4", IpAddresses: nonNil(v4), IpAddressFamily: "IPv4"}},
		DnsName:          id + dnsSuffix,
		Status:           "DEPLOYED",
		CreatedTime:      epoch(doc.CreatedTime),
		LastModifiedTime: epoch(doc.LastModifiedTime),
	}
	if doc.IpAddressType == "DUAL_STACK" {
		out.IpSets = append(out.IpSets, ipSet{IpFamily: "IPv6", IpAddresses: nonNil(v6), IpAddressFamily: "IPv6"})
		out.DualStackDnsName = id + ".dualstack" + dnsSuffix
	}
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func listenerOutOf(l *edge.Listener) listenerOut {
	return listenerOut{ListenerArn: l.ListenerArn, PortRanges: nonNil(l.PortRanges), Protocol: l.Protocol, ClientAffinity: l.ClientAffinity}
}

func (a *api) endpointGroupOut(l *edge.Listener, g *edge.EndpointGroup) endpointGroupOut {
	out := endpointGroupOut{
		EndpointGroupArn:           g.EndpointGroupArn,
		EndpointGroupRegion:        g.EndpointGroupRegion,
		EndpointDescriptions:       []endpointDescription{},
		TrafficDialPercentage:      g.TrafficDialPercentage,
		HealthCheckPort:            g.HealthCheckPort,
		HealthCheckProtocol:        g.HealthCheckProtocol,
		HealthCheckPath:            g.HealthCheckPath,
		HealthCheckIntervalSeconds: g.HealthCheckIntervalSeconds,
		ThresholdCount:             g.ThresholdCount,
		PortOverrides:              g.PortOverrides,
	}
	if out.HealthCheckPort == 0 {
		if ports := l.Ports(); len(ports) > 0 {
			out.HealthCheckPort = ports[0]
		}
	}
	for i := range g.Endpoints {
		out.EndpointDescriptions = append(out.EndpointDescriptions, a.endpointDescription(g, &g.Endpoints[i]))
	}
	return out
}

// endpointDescription is an endpoint with its health: INITIAL until its check has a
// verdict, then HEALTHY or UNHEALTHY.
func (a *api) endpointDescription(g *edge.EndpointGroup, e *edge.Endpoint) endpointDescription {
	d := endpointDescription{EndpointId: e.EndpointId, Weight: e.Weight, ClientIPPreservationEnabled: e.ClientIPPreservationEnabled,
		HealthState: "INITIAL", HealthReason: "Health checks of the endpoint have not reported yet"}
	if a.opts.HealthStatus == nil {
		return d
	}
	st, ok := a.opts.HealthStatus(edge.HealthCheckID(g.EndpointGroupArn, e.EndpointId))
	switch {
	case !ok:
	case st.Initializing:
		if st.Reason != "" {
			d.HealthReason = st.Reason
		}
	case st.Healthy:
		d.HealthState, d.HealthReason = "HEALTHY", orDefault(st.Reason, "Healthy")
	default:
		d.HealthState, d.HealthReason = "UNHEALTHY", orDefault(st.Reason, "Unhealthy")
	}
	return d
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func attributesOutOf(doc *document) attributesOut {
	out := attributesOut{}
	if at := doc.Attributes; at != nil {
		out.FlowLogsEnabled = at.FlowLogsEnabled
		if at.FlowLogsS3Bucket != "" {
			out.FlowLogsS3Bucket = &at.FlowLogsS3Bucket
		}
		if at.FlowLogsS3Prefix != "" {
			out.FlowLogsS3Prefix = &at.FlowLogsS3Prefix
		}
	}
	return out
}

// intOr returns *p, or def when p is nil.
func intOr(p *int, def int) int {
	if p == nil {
		return def
	}
	return *p
}
