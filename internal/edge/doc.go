// Package edge is polyregion's L4 accelerator: static entry points (TCP and UDP
// listeners at each edge location) that carry every new flow to the nearest
// healthy region, as AWS Global Accelerator does. For each flow it picks the
// nearest endpoint group, applies the group's traffic dial, chooses an endpoint
// by weight with a Maglev table keyed on the flow (or the client, with
// SOURCE_IP affinity), fails over to the three next-closest groups when the
// group has no healthy endpoint, and fails open when nothing is healthy. It
// dials only the endpoints it is configured with, and tells them the client's
// address with a PROXY protocol v2 header. See README.md.
package edge
