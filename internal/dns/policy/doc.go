// Package policy chooses which record sets answer a DNS query, following Route 53's routing
// policies exactly: simple, weighted, latency, failover, geolocation, geoproximity,
// multivalue answer and IP-based (CIDR collections), each with Route 53's health-aware
// selection and its per-policy fail-open rule, and reports the ECS scope the choice
// depended on.
//
// The functions are pure: no I/O, no clock, no global random source. Everything a choice
// depends on — the client, the answering region, record health, latencies, region
// coordinates, CIDR collections and the random draw — comes in an [Env], so a choice is
// deterministic for a given Env and group, and tests inject every input. The server builds
// the Env per query; [CidrIndex] and [LatencyTable] are the immutable lookup structures it
// builds once per configuration.
//
// README.md in this directory states the rules: the policies, the fail-open table and the
// scope of each answer.
package policy
