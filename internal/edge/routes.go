package edge

import (
	"net"
	"strconv"
)

// Routes is what a listener consults for each new flow: the router and where
// each of its endpoints is dialled. It is immutable; Listener.SetRoutes swaps it
// for new flows only.
type Routes struct {
	Router *Router
	Groups map[string]GroupTargets // by region
}

// GroupTargets are the dial targets of one endpoint group.
type GroupTargets struct {
	// PortOverrides maps a listener port to the port dialled on the endpoints.
	PortOverrides map[uint16]uint16
	// Endpoints by endpoint ID.
	Endpoints map[string]EndpointTarget
}

// EndpointTarget is how an endpoint is dialled.
type EndpointTarget struct {
	Host string // IP address or host name
	// Port, when not 0, is always dialled; otherwise the listener port (after the
	// group's port override) is.
	Port uint16
	// ClientIPPreservation sends a PROXY protocol v2 header first on TCP, and before
	// every datagram on UDP.
	ClientIPPreservation bool
}

// target returns the address to dial for decision d on listener port lp.
func (rt *Routes) target(d Decision, lp uint16) (string, EndpointTarget, bool) {
	g, ok := rt.Groups[d.Region]
	if !ok {
		return "", EndpointTarget{}, false
	}
	e, ok := g.Endpoints[d.Endpoint]
	if !ok {
		return "", EndpointTarget{}, false
	}
	port := e.Port
	if port == 0 {
		port = lp
		if o, ok := g.PortOverrides[lp]; ok {
			port = o
		}
	}
	return net.JoinHostPort(e.Host, strconv.Itoa(int(port))), e, true
}
