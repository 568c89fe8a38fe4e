// Package control is the control plane replicated across regions: the global resources
// (health checks, hosted zones and records, accelerators, access points, global-table
// membership) as a replicated state machine on hashicorp/raft, one voter per region.
//
// Raft's connections travel over the peer transport (mutual TLS, ALPN StreamProto on the
// peer listener), so region identity and the emulated WAN apply to them. Raft's log and
// stable store live in the region's kv store (Pebble), beside the applied state.
//
// Any region accepts a write: it is forwarded to the leader, committed by a majority, and the
// call returns once the region that took it has applied it. Reads are served from the local
// copy and never wait for the network. Every applied change is persisted with its log index,
// so a region that restarts — even cut off from the others — serves its last state at once
// (static stability); a write without a reachable majority fails with ErrNoQuorum after the
// write timeout rather than hanging.
//
// A brand-new node bootstraps the cluster with every configured region as a voter, unless a
// peer already runs one, in which case it asks the leader to add it; MembershipChange adds
// and removes regions of a running fleet.
package control
