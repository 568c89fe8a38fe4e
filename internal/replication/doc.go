// Package replication carries changes between regions: each region's services
// append every change to a durable, ordered log in the same batch as the change
// itself; peers pull each other's logs over the peer transport, apply what they
// pull idempotently and store how far they got in the same batch as the applied
// changes. Concurrent writes to one key resolve by last-writer-wins on a
// [Version] — a hybrid logical clock [Timestamp] with the writing region as the
// tie-break — and the losing write is recorded as a [Conflict], never dropped in
// silence.
//
// The package knows nothing of tables or objects. A service provides a [Log]
// (what it serves to its peers) and a [Sink] (how it applies what it pulls);
// replication provides the clock, the pull protocol with backpressure and
// reconnection, the last-writer-wins decision, conflict records, lag metrics
// and digests for checking convergence. See README.md.
package replication
