// Package health runs Route 53-style health checks from every region and decides, for each
// check, whether the endpoint is healthy.
//
// # Model
//
// A [Check] is a definition: HTTP, HTTPS, HTTP_STR_MATCH, HTTPS_STR_MATCH, TCP, or
// CALCULATED (a minimum number of healthy children). Definitions are validated once, with
// every problem reported at once under the field's JSON name ([Check.Validate],
// [ValidateSet], [ParseCheck]).
//
// Every region is a vantage point. Its [Monitor] probes each check on its own, every
// RequestInterval, with a [Prober]. Each vantage point keeps a small state machine per
// check: before the first probe result its state is unknown; the first result sets it;
// afterwards it flips only after FailureThreshold consecutive results that disagree with it,
// in either direction. Inverted flips each result before it enters the machine; Disabled
// checks are never probed and are always healthy.
//
// After each probe the vantage point's state becomes an [Observation], passed to
// Options.Publish; the caller ships it to the other regions, whose monitors take it with
// [Monitor.Observe]. The package knows nothing of the control plane or the network: the
// caller hands it the definitions ([Monitor.SetChecks]) and carries the observations.
//
// A check's overall state comes from the latest observation of every vantage point. An
// observation is reporting while it is fresh: younger than 3 × RequestInterval + 2 s by the
// injected clock (stretched for intervals under 5 s so that one probe running to its
// timeout does not drop out; see [Monitor]). The check is healthy when MORE than Quorum
// (default 0.18, Route 53's 18%) of the reporting vantage points say healthy: 1 of 3 is
// healthy, 0 of 3 is not. A CALCULATED check is healthy when at least HealthThreshold
// children are healthy (0: always; more than its children: never), then Inverted applies.
//
// # Before the first round
//
// Until a vantage point has reported, a check is [StateInitializing]. Consumers read it
// through [Snapshot.Healthy], which returns healthy = true, known = false: initializing fails
// open, as Route 53 treats a new check and as its record selection fails open anyway (a
// DNS answer is not withheld because the monitor has just started). Consumers that must
// see a passing check before sending traffic (the edge accelerator) require known too. A
// CALCULATED check is initializing until the children known so far decide it (enough are
// healthy, or too many unhealthy to reach the threshold); with HealthThreshold 0 or above
// its number of children it is known at once.
//
// # Timings
//
// HTTP types: TCP connect within 4 s, status 200-399 within 2 s of connecting (TLS
// handshake included; redirects are not followed), and for *_STR_MATCH the body within a
// further 2 s, searched in its first 5,120 bytes. TCP: connect within 10 s. The first probe
// of a check starts after a random jitter of up to 10% of its interval. A vantage point
// flips after FailureThreshold × RequestInterval at most; the overall state follows within
// about one more interval, plus the time observations take between regions. Run
// re-evaluates freshness every second.
//
// # Reading health
//
// [Monitor.Snapshot] returns an immutable [Snapshot] without locking; [Monitor.Watch]
// delivers the current one and then a new one on every change of a check's overall state,
// keeping only the latest for a slow reader. [Monitor.Status] gives the details: the reason
// and every vantage point's observation.
//
// # Metrics
//
// polyregion_health_check_healthy{check} is 1, 0, or -1 while initializing;
// polyregion_health_check_vantage_healthy{check,vantage} is 1 or 0 per vantage point that
// reports, -1 once its observation is stale. The series of a removed check are deleted.
package health
