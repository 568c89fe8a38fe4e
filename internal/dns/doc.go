// Package dns is polyregion's authoritative DNS server: it answers for the hosted zones of
// the control plane over UDP and TCP, and picks among a name's record sets with the Route 53
// routing policies of package policy (weighted, latency, failover, geolocation,
// geoproximity, multivalue answer, IP-based), health-aware and fail-open.
//
// The server answers from a [Snapshot]: an immutable, pre-parsed view of the zones, their
// record sets and CIDR collections, and the health of the checks they name. The caller
// builds a new one with [NewSnapshot] (or [Snapshot.WithHealth] when only health changed)
// and installs it with [Server.Swap]; queries in flight finish on the snapshot they
// started with.
//
// [Server.Answer] is the whole answer logic, independent of the transport: [Server.Serve]
// calls it for every query it reads, and the Route 53 API's TestDNSAnswer calls it too, so
// the two always agree.
//
// Behaviour in brief (README.md has the detail): EDNS0 (1232 advertised; the client's
// buffer honoured up to 4096, 512 without EDNS), EDNS Client Subnet per RFC 7871 with the
// policy's scope, AA on authoritative answers and never RA, REFUSED outside the zones,
// NXDOMAIN and NODATA with the zone's SOA (RFC 2308), empty non-terminals, wildcards
// (RFC 4592), delegations, CNAME chains inside the served zones, alias records with
// EvaluateTargetHealth, RFC 8482 answers to ANY, and truncation that never splits an
// RRset.
//
// The package returns errors and logs only what its transports cannot return (a
// recovered panic, a failed write); the caller gives it a logger scoped to the component.
package dns
